//! Supervised warm start: next-token loss on oracle demonstrations' agent turns, before a domain's RL steps.
//! The loss is the token mean over the whole batch, computed in micro-batches and accumulated exactly.

use candle_core::DType;

use retain_model::mode::mix_seed;
use retain_model::{AdamW, Gradients, Mode, Qwen2, token_logprobs};

use crate::encode::{Encoded, pad};
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

/// A row shorter than this share of its micro-batch's longest row starts a new micro-batch.
const BUCKET_SHARE: f64 = 0.75;

/// `batch` in micro-batches of similar length, longest first: each holds at most [`MICRO_BATCH_TOKENS`] padded
/// tokens, and a row much shorter than the micro-batch's first starts the next one. Padding is what a mixed batch
/// (replayed demonstrations of another domain) would otherwise pay for; the loss is a sum over rows, so grouping
/// changes nothing but speed. The order is a pure function of the lengths (stable), so runs stay reproducible.
fn length_buckets<'a>(batch: &[&'a Encoded]) -> Vec<Vec<&'a Encoded>> {
    let mut sorted: Vec<&Encoded> = batch.to_vec();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.len()));
    let mut buckets: Vec<Vec<&Encoded>> = Vec::new();
    for row in sorted {
        let fits = buckets.last().is_some_and(|bucket| {
            let longest = bucket[0].len().max(1);
            (bucket.len() + 1) * longest <= MICRO_BATCH_TOKENS && row.len() as f64 >= BUCKET_SHARE * longest as f64
        });
        match buckets.last_mut() {
            Some(bucket) if fits => bucket.push(row),
            _ => buckets.push(vec![row]),
        }
    }
    buckets
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
    let mut total: Option<Gradients> = None;
    let (mut loss_sum, mut snapshot_kl) = (0.0, 0.0);
    for (c, part) in length_buckets(batch).iter().enumerate() {
        let padded = pad(part.iter().copied(), pad_id)?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{MICRO_BATCH_TOKENS, length_buckets};
    use crate::encode::Encoded;

    fn rows(lengths: &[usize]) -> Vec<Encoded> {
        lengths.iter().map(|&n| Encoded { ids: vec![1; n], loss_mask: vec![1.0; n] }).collect()
    }

    #[test]
    fn buckets_keep_every_row_group_similar_lengths_and_respect_the_token_cap() {
        // A replayed batch: 4 long demonstrations among 12 short ones.
        let batch = rows(&[300, 760, 310, 290, 768, 305, 300, 299, 750, 301, 300, 295, 740, 303, 298, 302]);
        let refs: Vec<&Encoded> = batch.iter().collect();
        let buckets = length_buckets(&refs);
        let lengths: Vec<Vec<usize>> = buckets.iter().map(|b| b.iter().map(|e| e.len()).collect()).collect();
        assert_eq!(
            lengths,
            [vec![768, 760, 750, 740], vec![310, 305, 303, 302, 301, 300, 300, 300, 299, 298, 295, 290]]
        );
        let padded: usize = buckets.iter().map(|b| b.len() * b[0].len()).sum();
        assert!(padded < 16 * 768 / 2 + 768, "padding is not halved: {padded}");

        let many = rows(&[700; 40]);
        let refs: Vec<&Encoded> = many.iter().collect();
        let buckets = length_buckets(&refs);
        assert!(buckets.iter().all(|b| b.len() * 700 <= MICRO_BATCH_TOKENS));
        assert_eq!(buckets.iter().map(Vec::len).sum::<usize>(), 40);
    }
}
