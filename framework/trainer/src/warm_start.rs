//! Supervised warm start: next-token loss on oracle demonstrations' agent turns, before a domain's RL steps.
//! The loss is the token mean over the whole batch, computed in micro-batches and accumulated exactly.

use candle_core::{DType, Device};

use retain_model::mode::mix_seed;
use retain_model::{AdamW, Gradients, Mode, PaddedBatch, token_logprobs};

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

/// One optimiser step of supervised learning on `batch`, with the strategies' `extras`.
pub fn sft_step(
    policy: &mut Policy,
    optimizer: &mut AdamW,
    batch: &[&Encoded],
    learning_rate: f64,
    max_grad_norm: Option<f64>,
    seed: u64,
    extras: &mut StepExtras<'_>,
) -> Result<SftStats> {
    let active: usize = batch.iter().map(|e| e.trainable_tokens()).sum();
    if batch.is_empty() || active == 0 {
        return Ok(SftStats::default());
    }
    let longest = batch.iter().map(|e| e.len()).max().unwrap_or(1);
    let rows = (MICRO_BATCH_TOKENS / longest.max(1)).max(1);
    let mut total: Option<Gradients> = None;
    let mut loss_sum = 0.0;
    let mut snapshot_kl = 0.0;
    for (c, part) in batch.chunks(rows).enumerate() {
        let ids: Vec<Vec<u32>> = part.iter().map(|e| e.ids.clone()).collect();
        let masks: Vec<Vec<f32>> = part.iter().map(|e| e.loss_mask.clone()).collect();
        let padded = PaddedBatch::new(&ids, &masks, policy.pad_id, &Device::Cpu)?;
        let stats =
            token_logprobs(&policy.model, &padded, Mode::Train { dropout_seed: mix_seed(seed, c as u64) }, false)?;
        // Σ −log p over this chunk's agent tokens, divided by the whole batch's count: chunks add up to the mean.
        let mut loss = ((&stats.logprobs * &padded.loss_mask)?.sum_all()?.neg()? / active as f64)?;
        loss_sum += f64::from(loss.to_dtype(DType::F32)?.to_scalar::<f32>()?);
        if let Some((term, kl)) = extras.snapshot_loss(&stats.logprobs, &padded, active as f64)? {
            loss = (loss + term)?;
            snapshot_kl += kl;
        }
        let grads = Gradients::from_loss(&loss, policy.model.trainable())?;
        match total.as_mut() {
            Some(t) => t.accumulate(&grads)?,
            None => total = Some(grads),
        }
    }
    let Some(mut grads) = total else { return Ok(SftStats::default()) };
    let sft_loss = extras.finish_gradients(&mut grads, &policy.model, policy.pad_id, mix_seed(seed, u64::MAX))?;
    let grad_norm = match max_grad_norm {
        Some(max) => grads.clip_global_norm(max)?,
        None => grads.global_norm()?,
    };
    optimizer.step(policy.model.trainable(), &grads, learning_rate)?;
    Ok(SftStats { loss: loss_sum, grad_norm, trained_tokens: active, extras: ExtraStats { sft_loss, snapshot_kl } })
}
