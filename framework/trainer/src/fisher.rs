//! The diagonal empirical Fisher of sequence log-probabilities, the quantity EWC weights its penalty with: the
//! mean over trajectories of the squared gradient of each trajectory's log-probability (its agent tokens only).
//! Trajectories are the policy's own samples, so this is the "sample" estimator, not the gradient of a batch mean
//! squared (which would underestimate the diagonal by averaging gradients before squaring).

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

use retain_model::mode::mix_seed;
use retain_model::{Gradients, Mode, PaddedBatch, Qwen2, token_logprobs};

use crate::encode::Encoded;
use crate::error::Result;

/// `F[name] = mean_n (∂ log p(τ_n) / ∂θ)²` for every trainable parameter of `model`. One backward pass per
/// trajectory (per-sample gradients cannot be batched); `seed` fixes dropout masks, if the model has dropout.
pub fn fisher_diagonal(
    model: &Qwen2,
    pad_id: u32,
    sequences: &[Encoded],
    seed: u64,
) -> Result<BTreeMap<String, Tensor>> {
    let mut sum: BTreeMap<String, Tensor> = BTreeMap::new();
    let mut counted = 0usize;
    for (n, sequence) in sequences.iter().enumerate() {
        if sequence.trainable_tokens() == 0 {
            continue;
        }
        let batch = PaddedBatch::new(
            std::slice::from_ref(&sequence.ids),
            std::slice::from_ref(&sequence.loss_mask),
            pad_id,
            &Device::Cpu,
        )?;
        let logp = token_logprobs(model, &batch, Mode::Train { dropout_seed: mix_seed(seed, n as u64) }, false)?;
        let log_likelihood = (&logp.logprobs * &batch.loss_mask)?.sum_all()?;
        let grads = Gradients::from_loss(&log_likelihood, model.trainable())?;
        for (name, grad) in grads.iter() {
            let squared = grad.sqr()?;
            let entry = match sum.remove(name) {
                Some(total) => (total + squared)?,
                None => squared,
            };
            sum.insert(name.clone(), entry);
        }
        counted += 1;
    }
    if counted == 0 {
        return Ok(sum);
    }
    sum.into_iter().map(|(name, total)| Ok((name, (total / counted as f64)?))).collect()
}
