//! Supervised warm start: next-token loss on oracle demonstrations' agent turns, before a domain's RL steps.
//! The loss is the token mean over the whole batch, computed in micro-batches and accumulated exactly.

use candle_core::{DType, Device};

use retain_model::mode::mix_seed;
use retain_model::{AdamW, Gradients, Mode, PaddedBatch, Qwen2, token_logprobs};

use crate::encode::Encoded;
use crate::error::Result;
use crate::extras::{ExtraStats, StepExtras};
use crate::policy::Policy;
use crate::update::MICRO_BATCH_TOKENS;

/// What one supervised step measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SftStats {
    /// Mean negative log-likelihood per agent token.
    pub loss: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
    /// Agent tokens in the batch.
    pub trained_tokens: usize,
    /// What the strategies' terms added.
    pub extras: ExtraStats,
}

/// The gradients of `weight · mean NLL` over the agent tokens of `batch` (the token mean over the whole batch,
/// computed in micro-batches that add up to it exactly), plus the strategies' snapshot KL terms when `extras` is
/// given. Returns `None` when the batch has no agent token; else the gradients, the NLL term and the summed KL.
pub(crate) fn supervised_gradients(
    model: &Qwen2,
    pad_id: u32,
    batch: &[&Encoded],
    weight: f64,
    seed: u64,
    extras: Option<&StepExtras<'_>>,
) -> Result<Option<(Gradients, f64, f64)>> {
    let active: usize = batch.iter().map(|e| e.trainable_tokens()).sum();
    if active == 0 {
        return Ok(None);
    }
    let longest = batch.iter().map(|e| e.len()).max().unwrap_or(1);
    let rows = (MICRO_BATCH_TOKENS / longest.max(1)).max(1);
    let mut total: Option<Gradients> = None;
    let (mut loss_sum, mut snapshot_kl) = (0.0, 0.0);
    for (c, part) in batch.chunks(rows).enumerate() {
        let ids: Vec<Vec<u32>> = part.iter().map(|e| e.ids.clone()).collect();
        let masks: Vec<Vec<f32>> = part.iter().map(|e| e.loss_mask.clone()).collect();
        let padded = PaddedBatch::new(&ids, &masks, pad_id, &Device::Cpu)?;
        let logp = token_logprobs(model, &padded, Mode::Train { dropout_seed: mix_seed(seed, c as u64) }, false)?;
        // Σ −log p over this chunk's agent tokens, divided by the whole batch's count: chunks add up to the mean.
        let mut loss = ((&logp.logprobs * &padded.loss_mask)?.sum_all()?.neg()? * (weight / active as f64))?;
        loss_sum += f64::from(loss.to_dtype(DType::F32)?.to_scalar::<f32>()?);
        if let Some((term, kl)) =
            extras.map(|x| x.snapshot_loss(&logp.logprobs, &padded, active as f64)).transpose()?.flatten()
        {
            loss = (loss + term)?;
            snapshot_kl += kl;
        }
        Gradients::from_loss(&loss, model.trainable())?.add_to(&mut total)?;
    }
    Ok(total.map(|g| (g, loss_sum, snapshot_kl)))
}

/// One optimiser step of supervised learning on `batch`, with the strategies' `extras`. A batch without agent
/// tokens takes no step (and applies no extras).
pub fn sft_step(
    policy: &mut Policy,
    optimizer: &mut AdamW,
    batch: &[&Encoded],
    learning_rate: f64,
    max_grad_norm: Option<f64>,
    seed: u64,
    extras: &mut StepExtras<'_>,
) -> Result<SftStats> {
    let Some((mut grads, loss, snapshot_kl)) =
        supervised_gradients(&policy.model, policy.pad_id, batch, 1.0, seed, Some(extras))?
    else {
        return Ok(SftStats::default());
    };
    let sft_loss = extras.finish_gradients(&mut grads, &policy.model, policy.pad_id, mix_seed(seed, u64::MAX))?;
    let grad_norm = match max_grad_norm {
        Some(max) => grads.clip_global_norm(max)?,
        None => grads.global_norm()?,
    };
    optimizer.step(policy.model.trainable(), &grads, learning_rate)?;
    let active = batch.iter().map(|e| e.trainable_tokens()).sum();
    Ok(SftStats { loss, grad_norm, trained_tokens: active, extras: extras.stats(sft_loss, snapshot_kl) })
}
