//! What continual-learning strategies add to an optimiser step, as the trainer implements it: the loss terms a
//! strategy requests declaratively (a supervised term on replayed trajectories, a KL term to a policy snapshot)
//! and the in-place gradient edit applied after backward and before clipping. Warm-start and RL steps share this
//! path, so a strategy acts on every optimiser step of a domain.

use candle_core::{DType, Tensor};

use retain_model::mode::mix_seed;
use retain_model::{Gradients, Mode, PaddedBatch, Qwen2, token_logprobs};

use crate::encode::Encoded;
use crate::error::Result;
use crate::loss::k3_kl;
use crate::warm_start::supervised_gradients;

/// A supervised term: `weight · mean NLL` over the agent tokens of `sequences` (replayed trajectories).
#[derive(Debug, Clone)]
pub struct SftTerm {
    /// Coefficient.
    pub weight: f64,
    /// The trajectories' tokens and loss masks.
    pub sequences: Vec<Encoded>,
}

/// A KL term: `coef · KL(π ‖ snapshot)` by the k3 estimator, averaged over the step's agent tokens. On RL steps
/// those are the policy's own samples, so this estimates the KL; on warm-start steps they are demonstration tokens,
/// where the same term acts as a regulariser towards the snapshot's predictions.
#[derive(Debug, Clone)]
pub struct SnapshotTerm {
    /// Coefficient.
    pub coef: f64,
    /// The frozen snapshot (shares nothing with the policy).
    pub model: Qwen2,
}

/// The gradient edit of a step (the strategies' `adjust_gradients`), given the accumulated gradients.
pub type GradientEdit<'a> = &'a mut dyn FnMut(&mut Gradients) -> Result<()>;

/// Everything strategies add to one optimiser step.
#[derive(Default)]
pub struct StepExtras<'a> {
    /// Supervised terms on replayed trajectories.
    pub sft: Vec<SftTerm>,
    /// KL terms to snapshots.
    pub snapshots: Vec<SnapshotTerm>,
    /// Applied to the summed gradients after backward, before clipping.
    pub edit: Option<GradientEdit<'a>>,
}

impl std::fmt::Debug for StepExtras<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepExtras")
            .field("sft", &self.sft.len())
            .field("snapshots", &self.snapshots.len())
            .field("edit", &self.edit.is_some())
            .finish()
    }
}

/// What the extras contributed to a step (logged as `strategy/sft_loss` and `strategy/snapshot_kl`); `None` when
/// the step had no such term (or took no optimiser step).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExtraStats {
    /// Σ weight · mean NLL of the supervised terms.
    pub sft_loss: Option<f64>,
    /// Mean k3 KL to the snapshots (unweighted, summed over snapshots).
    pub snapshot_kl: Option<f64>,
}

impl StepExtras<'_> {
    /// The KL terms for one micro-batch whose policy log-probs are `logp`: `Σ coef · Σ(k3 · mask) / active`, where
    /// `active` counts the agent tokens of the whole step, so micro-batches add up to the token mean. Returns the
    /// loss to add and the unweighted KL it measured.
    pub fn snapshot_loss(&self, logp: &Tensor, batch: &PaddedBatch, active: f64) -> Result<Option<(Tensor, f64)>> {
        let mut total: Option<Tensor> = None;
        let mut kl = 0.0;
        for term in &self.snapshots {
            let snapshot = token_logprobs(&term.model, batch, Mode::Infer, false)?.logprobs.detach();
            let per_token = (k3_kl(logp, &snapshot)? * &batch.loss_mask)?;
            let mean = (per_token.sum_all()? / active.max(1.0))?;
            kl += f64::from(mean.to_dtype(DType::F32)?.to_scalar::<f32>()?);
            let weighted = mean.affine(term.coef, 0.0)?;
            total = Some(match total {
                Some(t) => (t + weighted)?,
                None => weighted,
            });
        }
        Ok(total.map(|t| (t, kl)))
    }

    /// Gradients of the supervised terms at `model`'s current weights, and their summed loss; `None` without
    /// terms (or without agent tokens in them).
    pub fn sft_gradients(&self, model: &Qwen2, pad_id: u32, seed: u64) -> Result<Option<(Gradients, f64)>> {
        let mut total: Option<Gradients> = None;
        let mut loss_sum = 0.0;
        for (t, term) in self.sft.iter().enumerate() {
            let batch: Vec<&Encoded> = term.sequences.iter().collect();
            if let Some((grads, loss, _)) =
                supervised_gradients(model, pad_id, &batch, term.weight, mix_seed(seed, t as u64), None)?
            {
                grads.add_to(&mut total)?;
                loss_sum += loss;
            }
        }
        Ok(total.map(|g| (g, loss_sum)))
    }

    /// What this step's terms measured: each figure only when the step had such terms.
    pub fn stats(&self, sft_loss: f64, snapshot_kl: f64) -> ExtraStats {
        ExtraStats {
            sft_loss: (!self.sft.is_empty()).then_some(sft_loss),
            snapshot_kl: (!self.snapshots.is_empty()).then_some(snapshot_kl),
        }
    }

    /// Adds the supervised terms' gradients to `grads`, then applies the strategies' edit; returns the supervised
    /// loss added.
    pub fn finish_gradients(&mut self, grads: &mut Gradients, model: &Qwen2, pad_id: u32, seed: u64) -> Result<f64> {
        let mut sft_loss = 0.0;
        if let Some((extra, loss)) = self.sft_gradients(model, pad_id, seed)? {
            grads.accumulate(&extra)?;
            sft_loss = loss;
        }
        if let Some(edit) = self.edit.as_mut() {
            edit(grads)?;
        }
        Ok(sft_loss)
    }
}
