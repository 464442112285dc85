//! One optimisation step on a batch of rollouts: GRPO / RLOO (clipped surrogate + k3 KL), weighted SFT, or
//! A*-PO's regression — with micro-batches so the logits of long episodes fit in memory, and μ inner iterations
//! over the same rollouts (`trainer.num_iterations`).

use candle_core::{DType, Device, Tensor};

use retain_config::{Algorithm, TrainerConfig};
use retain_model::mode::mix_seed;
use retain_model::{AdamW, Gradients, Mode, token_logprobs};

use crate::encode::{Encoded, pad};
use crate::error::Result;
use crate::extras::{ExtraStats, StepExtras};
use crate::loss::{Aggregation, ClipConfig, TokenBatch, a_star_po_loss, clipped_policy_loss, weighted_sft_loss};
use crate::policy::Policy;

/// Most padded tokens (rows × longest row) one forward/backward pass holds.
pub const MICRO_BATCH_TOKENS: usize = 12_288;

/// What one update measured (TRL's names in the metrics log).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UpdateStats {
    /// The loss (last inner iteration, summed over micro-batches).
    pub loss: f64,
    /// Mean k3 KL to the reference over the agent's tokens.
    pub kl: f64,
    /// Share of tokens clipped low with a negative advantage.
    pub clip_low: f64,
    /// Share of tokens clipped high with a positive advantage.
    pub clip_high: f64,
    /// Share of tokens in either clipped region.
    pub clip_region: f64,
    /// Mean policy entropy over the agent's tokens.
    pub entropy: f64,
    /// Mean probability ratio π/π_old over the agent's tokens (exactly 1 on-policy at the first iteration).
    pub ratio_mean: f64,
    /// Global gradient norm before clipping (last inner iteration).
    pub grad_norm: f64,
    /// Agent tokens the loss covered.
    pub trained_tokens: usize,
    /// What the strategies' terms added (last inner iteration).
    pub extras: ExtraStats,
}

/// The episodes trained on and the per-sequence weights the algorithm needs: advantages (GRPO, RLOO), clamped
/// weights (weighted SFT) or `r − V*` targets (A*-PO), one per episode.
#[derive(Debug, Clone, Copy)]
pub struct UpdateInput<'a> {
    /// The episodes' tokens and loss masks.
    pub sequences: &'a [&'a Encoded],
    /// One value per sequence (meaning depends on the algorithm, see above).
    pub weights: &'a [f64],
    /// Learning rate of this step.
    pub learning_rate: f64,
    /// Seed of this step's dropout masks.
    pub seed: u64,
}

/// Splits `n` rows into micro-batches of equal size (a divisor of `n`) that fit [`MICRO_BATCH_TOKENS`], so the
/// `grpo`/`bnpo` aggregations with gradient accumulation equal the full-batch loss exactly.
fn micro_batch_rows(n: usize, longest: usize) -> usize {
    let fit = (MICRO_BATCH_TOKENS / longest.max(1)).max(1);
    (1..=n).rev().find(|d| n.is_multiple_of(*d) && *d <= fit).unwrap_or(1)
}

/// Applies one optimiser step (μ of them for `num_iterations > 1`) to `policy` from `input`, with the
/// strategies' `extras` in every iteration (so a strategy's gradient edit runs μ times per step). Without
/// sequences to train on (every group filtered) no step is taken and no extra applies.
pub fn policy_update(
    policy: &mut Policy,
    reference: Option<&Policy>,
    optimizer: &mut AdamW,
    config: &TrainerConfig,
    input: &UpdateInput<'_>,
    extras: &mut StepExtras<'_>,
) -> Result<UpdateStats> {
    let sequences = input.sequences;
    if sequences.is_empty() {
        return Ok(UpdateStats::default());
    }
    let device = Device::Cpu;
    let longest = sequences.iter().map(|r| r.len()).max().unwrap_or(1);
    let rows = micro_batch_rows(sequences.len(), longest);
    let chunks: Vec<(usize, usize)> = (0..sequences.len()).step_by(rows).map(|s| (s, rows)).collect();
    let batches = chunks
        .iter()
        .map(|&(start, len)| pad(sequences[start..start + len].iter().copied(), policy.pad_id))
        .collect::<Result<Vec<_>>>()?;
    let active: usize = sequences.iter().map(|r| r.trainable_tokens()).sum();
    let aggregation = Aggregation {
        kind: config.loss_type,
        max_completion_length: (config.max_turns * config.max_new_tokens).min(config.max_episode_tokens),
        global_active_tokens: Some(active as f64),
        accumulation_steps: chunks.len(),
    };
    let clip = ClipConfig { eps_low: config.eps_low, eps_high: config.eps_high, kl_coef: config.kl_coef };
    let needs_reference = config.algorithm == Algorithm::AStarPo || config.kl_coef != 0.0;
    let mut reference_logp = Vec::with_capacity(chunks.len());
    if needs_reference {
        let reference = reference.ok_or_else(|| {
            crate::error::TrainerError::Config("this algorithm needs a reference policy, none was kept".to_owned())
        })?;
        for batch in &batches {
            reference_logp.push(token_logprobs(&reference.model, batch, Mode::Infer, false)?.logprobs);
        }
    }
    let iterations = if config.algorithm == Algorithm::AStarPo { 1 } else { config.num_iterations.max(1) };
    let mut old_logp: Vec<Tensor> = Vec::with_capacity(chunks.len());
    let mut stats = UpdateStats { trained_tokens: active, ..UpdateStats::default() };
    for iteration in 0..iterations {
        let mut total: Option<Gradients> = None;
        let (mut loss_sum, mut kl, mut low, mut high, mut region, mut entropy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        let mut ratio = 0.0;
        let mut snapshot_kl = 0.0;
        for (c, (batch, &(start, len))) in batches.iter().zip(&chunks).enumerate() {
            let mode = Mode::Train { dropout_seed: mix_seed(input.seed, (iteration * chunks.len() + c) as u64) };
            let stats_c = token_logprobs(&policy.model, batch, mode, true)?;
            if iteration == 0 {
                old_logp.push(stats_c.logprobs.detach());
            }
            let weights: Vec<f32> = input.weights[start..start + len].iter().map(|w| *w as f32).collect();
            let weights = Tensor::from_vec(weights, len, &device)?;
            let reference = reference_logp.get(c);
            let mut loss = match config.algorithm {
                Algorithm::AStarPo => {
                    let reference = reference.unwrap_or(&old_logp[c]);
                    let loss =
                        a_star_po_loss(&stats_c.logprobs, reference, &batch.loss_mask, &weights, config.a_star.beta2)?;
                    (loss.affine(1.0 / chunks.len() as f64, 0.0)?, 0.0, 0.0, 0.0, 0.0, 1.0)
                }
                algorithm => {
                    let tokens = TokenBatch {
                        logp: &stats_c.logprobs,
                        old_logp: &old_logp[c],
                        ref_logp: reference,
                        mask: &batch.loss_mask,
                        advantages: &weights,
                    };
                    let out = if algorithm == Algorithm::WeightedSft {
                        weighted_sft_loss(&tokens, config.kl_coef, &aggregation)?
                    } else {
                        clipped_policy_loss(&tokens, &clip, &aggregation)?
                    };
                    (out.loss, out.kl, out.clip_low, out.clip_high, out.clip_region, out.ratio_mean)
                }
            };
            loss_sum += f64::from(loss.0.to_dtype(DType::F32)?.to_scalar::<f32>()?);
            if let Some((term, value)) = extras.snapshot_loss(&stats_c.logprobs, batch, active as f64)? {
                loss.0 = (loss.0 + term)?;
                snapshot_kl += value;
            }
            kl += loss.1;
            low += loss.2;
            high += loss.3;
            region += loss.4;
            ratio += loss.5;
            if let Some(e) = &stats_c.entropies {
                let counted = batch.loss_mask.sum_all()?.to_scalar::<f32>()?.max(1.0);
                entropy += f64::from((e * &batch.loss_mask)?.sum_all()?.to_scalar::<f32>()? / counted);
            }
            Gradients::from_loss(&loss.0, policy.model.trainable())?.add_to(&mut total)?;
        }
        let Some(mut grads) = total else { break };
        let extra_seed = mix_seed(input.seed, (iterations * chunks.len() + iteration) as u64);
        let sft_loss = extras.finish_gradients(&mut grads, &policy.model, policy.pad_id, extra_seed)?;
        stats.extras = extras.stats(sft_loss, snapshot_kl);
        let n = chunks.len() as f64;
        stats.grad_norm = match config.max_grad_norm {
            Some(max) => grads.clip_global_norm(max)?,
            None => grads.global_norm()?,
        };
        optimizer.step(policy.model.trainable(), &grads, input.learning_rate)?;
        stats.loss = loss_sum;
        stats.kl = kl / n;
        stats.clip_low = low / n;
        stats.clip_high = high / n;
        stats.clip_region = region / n;
        stats.entropy = entropy / n;
        stats.ratio_mean = ratio / n;
    }
    Ok(stats)
}
