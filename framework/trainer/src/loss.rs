//! Policy losses over per-token log-probabilities: the GRPO family (clipped ratio, k3 KL, four aggregations),
//! weighted SFT, plain SFT and A*-PO's regression loss.
//!
//! Inputs are `[batch, tokens]` tensors of log-probabilities of the sampled tokens and a mask that is 1 on tokens
//! the policy generated and 0 on prompt, tool-output and padding tokens — so tool results never receive a loss.
//! Formulas follow TRL's `GRPOTrainer::_compute_loss` (see `reference/rl.md` §1.4) and A*-PO's published code (§4).

use candle_core::{D, DType, Tensor};
use retain_config::LossAggregation;

/// Errors from loss computation: only shape mismatches and tensor-library failures.
#[derive(Debug, thiserror::Error)]
pub enum LossError {
    /// Inputs whose shapes do not agree.
    #[error("loss inputs disagree in shape: {0}")]
    Shape(String),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
}

/// The per-token log-probabilities and weights one loss evaluation needs.
#[derive(Debug, Clone, Copy)]
pub struct TokenBatch<'a> {
    /// Log-probabilities of the sampled tokens under the policy being trained, `[B, T]`, with gradient.
    pub logp: &'a Tensor,
    /// The same under the policy that sampled them (detached), `[B, T]`.
    pub old_logp: &'a Tensor,
    /// The same under the reference policy (detached), `[B, T]`; required when the KL coefficient is not 0.
    pub ref_logp: Option<&'a Tensor>,
    /// 1.0 on tokens that receive a loss, 0.0 elsewhere, `[B, T]` (f32).
    pub mask: &'a Tensor,
    /// One advantage per sequence, `[B]` (f32).
    pub advantages: &'a Tensor,
}

/// How token losses become one scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregation {
    /// Which normalisation.
    pub kind: LossAggregation,
    /// `dr_grpo`'s constant: the maximum completion length L.
    pub max_completion_length: usize,
    /// `dapo`'s normaliser: active tokens in the whole generation batch (all micro-batches); `None` uses this
    /// micro-batch's count.
    pub global_active_tokens: Option<f64>,
    /// Gradient-accumulation steps; `grpo`, `bnpo` and `dr_grpo` divide by it (`dapo` already counts globally).
    pub accumulation_steps: usize,
}

/// Hyper-parameters of the clipped policy-gradient loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipConfig {
    /// The ratio is clipped below at `1 − eps_low`.
    pub eps_low: f64,
    /// The ratio is clipped above at `1 + eps_high`.
    pub eps_high: f64,
    /// KL coefficient β.
    pub kl_coef: f64,
}

/// The loss (with gradient) and the statistics TRL logs next to it.
#[derive(Debug)]
pub struct PolicyLoss {
    /// Scalar loss to call `backward` on.
    pub loss: Tensor,
    /// Masked mean of the k3 KL estimate (`kl`); 0 without a reference.
    pub kl: f64,
    /// Share of tokens clipped at the lower bound with a negative advantage (`clip_ratio/low_mean`).
    pub clip_low: f64,
    /// Share of tokens clipped at the upper bound with a positive advantage (`clip_ratio/high_mean`).
    pub clip_high: f64,
    /// Share of tokens in either clipped region (`clip_ratio/region_mean`).
    pub clip_region: f64,
    /// Masked mean of the probability ratio (1 when on-policy).
    pub ratio_mean: f64,
}

fn check_shapes(b: &TokenBatch<'_>) -> Result<(usize, usize), LossError> {
    let (rows, cols) = b.logp.dims2()?;
    for (name, t) in [("old_logp", Some(b.old_logp)), ("ref_logp", b.ref_logp), ("mask", Some(b.mask))] {
        if let Some(t) = t
            && t.dims() != [rows, cols]
        {
            return Err(LossError::Shape(format!("{name} is {:?}, logp is [{rows}, {cols}]", t.dims())));
        }
    }
    if b.advantages.dims() != [rows] {
        return Err(LossError::Shape(format!("advantages are {:?}, expected [{rows}]", b.advantages.dims())));
    }
    Ok((rows, cols))
}

/// Schulman's k3 estimate of KL(π‖π_ref) per token: `exp(ref − logp) − (ref − logp) − 1` (non-negative; its
/// expectation under π is the exact KL).
pub fn k3_kl(logp: &Tensor, ref_logp: &Tensor) -> candle_core::Result<Tensor> {
    let d = (ref_logp - logp)?;
    (d.exp()? - d)? - 1.0
}

/// Masked mean of a `[B, T]` tensor as a plain number (for logging).
fn masked_mean(values: &Tensor, mask: &Tensor) -> Result<f64, LossError> {
    let active = mask.sum_all()?.to_scalar::<f32>()? as f64;
    if active == 0.0 {
        return Ok(0.0);
    }
    Ok((values.detach() * mask)?.sum_all()?.to_scalar::<f32>()? as f64 / active)
}

/// Reduces per-token losses `[B, T]` to a scalar according to `agg` (TRL's `loss_type`).
pub fn aggregate(per_token: &Tensor, mask: &Tensor, agg: &Aggregation) -> Result<Tensor, LossError> {
    let (rows, _) = per_token.dims2()?;
    let masked = (per_token * mask)?;
    let accumulation = agg.accumulation_steps.max(1) as f64;
    let loss = match agg.kind {
        LossAggregation::Grpo => {
            let per_row_tokens = mask.sum(D::Minus1)?.clamp(1.0, f64::INFINITY)?;
            let per_row = masked.sum(D::Minus1)?.div(&per_row_tokens)?;
            (per_row.mean_all()? / accumulation)?
        }
        LossAggregation::Bnpo => {
            let active = mask.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64;
            (masked.sum_all()? / (active * accumulation))?
        }
        LossAggregation::DrGrpo => {
            let denominator = (rows * agg.max_completion_length.max(1)) as f64 * accumulation;
            (masked.sum_all()? / denominator)?
        }
        LossAggregation::Dapo => {
            let active = match agg.global_active_tokens {
                Some(n) => n.max(1.0),
                None => mask.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64,
            };
            (masked.sum_all()? / active)?
        }
    };
    Ok(loss)
}

/// GRPO's token-level clipped surrogate plus β·k3 KL, aggregated. With `old_logp` equal to `logp` (μ = 1,
/// on-policy) the ratio is exactly 1, nothing is clipped and the gradient is `−A·∇logp` per token.
pub fn clipped_policy_loss(b: &TokenBatch<'_>, clip: &ClipConfig, agg: &Aggregation) -> Result<PolicyLoss, LossError> {
    check_shapes(b)?;
    let advantages = b.advantages.to_dtype(DType::F32)?.unsqueeze(1)?;
    let ratio = (b.logp - b.old_logp.detach())?.exp()?;
    let clipped = ratio.clamp(1.0 - clip.eps_low, 1.0 + clip.eps_high)?;
    let unclipped_obj = ratio.broadcast_mul(&advantages)?;
    let clipped_obj = clipped.broadcast_mul(&advantages)?;
    let mut per_token = unclipped_obj.minimum(&clipped_obj)?.neg()?;

    let mut kl = 0.0;
    if clip.kl_coef != 0.0 {
        let reference = b
            .ref_logp
            .ok_or_else(|| LossError::Shape("kl_coef is not 0 but no reference log-probs were given".to_owned()))?;
        let k3 = k3_kl(b.logp, &reference.detach())?;
        kl = masked_mean(&k3, b.mask)?;
        per_token = (per_token + (k3 * clip.kl_coef)?)?;
    }

    let ratio_d = ratio.detach();
    let negative = advantages.lt(0.0)?.to_dtype(DType::F32)?;
    let positive = advantages.gt(0.0)?.to_dtype(DType::F32)?;
    let low = ratio_d.lt(1.0 - clip.eps_low)?.to_dtype(DType::F32)?.broadcast_mul(&negative)?;
    let high = ratio_d.gt(1.0 + clip.eps_high)?.to_dtype(DType::F32)?.broadcast_mul(&positive)?;
    let region = (&low + &high)?;
    Ok(PolicyLoss {
        loss: aggregate(&per_token, b.mask, agg)?,
        kl,
        clip_low: masked_mean(&low, b.mask)?,
        clip_high: masked_mean(&high, b.mask)?,
        clip_region: masked_mean(&region, b.mask)?,
        ratio_mean: masked_mean(&ratio_d, b.mask)?,
    })
}

/// Weighted SFT: `−w_i · logp` per token (weights from [`crate::advantage::weighted_sft`], passed as the
/// batch's `advantages`), plus β·k3 KL when a reference is given; aggregated like the policy loss.
pub fn weighted_sft_loss(b: &TokenBatch<'_>, kl_coef: f64, agg: &Aggregation) -> Result<PolicyLoss, LossError> {
    check_shapes(b)?;
    let weights = b.advantages.to_dtype(DType::F32)?.unsqueeze(1)?;
    let mut per_token = b.logp.broadcast_mul(&weights)?.neg()?;
    let mut kl = 0.0;
    if kl_coef != 0.0 {
        let reference = b
            .ref_logp
            .ok_or_else(|| LossError::Shape("kl_coef is not 0 but no reference log-probs were given".to_owned()))?;
        let k3 = k3_kl(b.logp, &reference.detach())?;
        kl = masked_mean(&k3, b.mask)?;
        per_token = (per_token + (k3 * kl_coef)?)?;
    }
    Ok(PolicyLoss {
        loss: aggregate(&per_token, b.mask, agg)?,
        kl,
        clip_low: 0.0,
        clip_high: 0.0,
        clip_region: 0.0,
        ratio_mean: 1.0,
    })
}

/// Supervised fine-tuning: mean negative log-likelihood of the masked tokens (demonstrations' assistant turns).
pub fn sft_loss(logp: &Tensor, mask: &Tensor) -> Result<Tensor, LossError> {
    let active = mask.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64;
    Ok(((logp * mask)?.sum_all()?.neg()? / active)?)
}

/// A*-PO's regression loss over one sample per prompt:
/// `mean_x (β2 · (log π_θ(y|x) − log π_ref(y|x)) − (r − V*(x)))²`, with sequence log-probabilities summed over the
/// masked tokens.
pub fn a_star_po_loss(
    logp: &Tensor,
    ref_logp: &Tensor,
    mask: &Tensor,
    rewards_minus_v_star: &Tensor,
    beta2: f64,
) -> Result<Tensor, LossError> {
    let (rows, _) = logp.dims2()?;
    if rewards_minus_v_star.dims() != [rows] {
        return Err(LossError::Shape(format!("targets are {:?}, expected [{rows}]", rewards_minus_v_star.dims())));
    }
    let seq_logp = (logp * mask)?.sum(D::Minus1)?;
    let seq_ref = (ref_logp.detach() * mask)?.sum(D::Minus1)?;
    let implicit = ((seq_logp - seq_ref)? * beta2)?;
    let diff = (implicit - rewards_minus_v_star.to_dtype(DType::F32)?)?;
    Ok(diff.sqr()?.mean_all()?)
}
