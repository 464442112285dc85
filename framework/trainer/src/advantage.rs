//! Advantage estimators: from the rewards of G samples per prompt to one scalar per sample.
//!
//! Rewards arrive flat, group after group (`rewards[g * G + i]` is sample i of prompt g), which is how rollouts
//! are laid out. Formulas follow TRL's `GRPOTrainer` (group mean baseline, Bessel-corrected standard deviation,
//! `+1e-4` in the denominator), verl's RLOO, A*-PO's optimal-value estimate and the seeds' weighted-SFT weights.

use retain_config::ScaleRewards;

/// Added to standard deviations before dividing, as TRL does, so constant groups give zero, not NaN.
pub const STD_EPSILON: f64 = 1e-4;

/// Why a batch of rewards cannot be turned into advantages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdvantageError {
    /// Groups need at least two samples for a baseline.
    #[error("group size {0} is too small: group advantages need at least 2 samples per prompt")]
    GroupTooSmall(usize),
    /// The flat reward list does not split into whole groups.
    #[error("{len} rewards do not split into groups of {group_size}")]
    RaggedBatch {
        /// Number of rewards given.
        len: usize,
        /// The group size G.
        group_size: usize,
    },
    /// A reward was NaN or infinite (a reward function bug; training on it would corrupt the policy).
    #[error("reward {index} is not finite ({value})")]
    NonFinite {
        /// Position in the flat batch.
        index: usize,
        /// The value.
        value: f64,
    },
}

/// Per-sample advantages plus the group statistics the trainer logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Advantages {
    /// One advantage per sample, in the order of the rewards.
    pub values: Vec<f64>,
    /// For each group, whether all its rewards were equal (such a group carries no GRPO gradient).
    pub zero_std: Vec<bool>,
}

impl Advantages {
    /// Share of groups whose rewards were all equal (TRL's `frac_reward_zero_std`).
    pub fn frac_reward_zero_std(&self) -> f64 {
        if self.zero_std.is_empty() {
            return 0.0;
        }
        self.zero_std.iter().filter(|&&z| z).count() as f64 / self.zero_std.len() as f64
    }
}

/// Checks the batch shape and values, returning the groups.
fn groups(rewards: &[f64], group_size: usize) -> Result<std::slice::Chunks<'_, f64>, AdvantageError> {
    if group_size < 2 {
        return Err(AdvantageError::GroupTooSmall(group_size));
    }
    if !rewards.len().is_multiple_of(group_size) {
        return Err(AdvantageError::RaggedBatch { len: rewards.len(), group_size });
    }
    if let Some((index, &value)) = rewards.iter().enumerate().find(|(_, r)| !r.is_finite()) {
        return Err(AdvantageError::NonFinite { index, value });
    }
    Ok(rewards.chunks(group_size))
}

/// Mean of a non-empty slice.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Bessel-corrected standard deviation (`n - 1` in the denominator), as `torch.std`; 0 for fewer than 2 values.
pub fn sample_std(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

/// GRPO advantages: `R_i − mean_g`, divided by the group's or the batch's standard deviation (+1e-4) or by
/// nothing, according to `scale`.
pub fn grpo(rewards: &[f64], group_size: usize, scale: ScaleRewards) -> Result<Advantages, AdvantageError> {
    let batch_std = sample_std(rewards);
    let mut values = Vec::with_capacity(rewards.len());
    let mut zero_std = Vec::new();
    for group in groups(rewards, group_size)? {
        let m = mean(group);
        let std = sample_std(group);
        zero_std.push(std == 0.0);
        let denominator = match scale {
            ScaleRewards::Group => std + STD_EPSILON,
            ScaleRewards::Batch => batch_std + STD_EPSILON,
            ScaleRewards::None => 1.0,
        };
        values.extend(group.iter().map(|r| (r - m) / denominator));
    }
    Ok(Advantages { values, zero_std })
}

/// RLOO advantages: each sample's reward minus the mean of the *other* samples of its group,
/// `A_i = G/(G−1) · (R_i − mean_g)`.
pub fn rloo(rewards: &[f64], group_size: usize) -> Result<Advantages, AdvantageError> {
    let scale = group_size as f64 / (group_size as f64 - 1.0);
    let mut values = Vec::with_capacity(rewards.len());
    let mut zero_std = Vec::new();
    for group in groups(rewards, group_size)? {
        let m = mean(group);
        zero_std.push(sample_std(group) == 0.0);
        values.extend(group.iter().map(|r| scale * (r - m)));
    }
    Ok(Advantages { values, zero_std })
}

/// Lower clamp of the weighted-SFT weights: a bad sample is still imitated a little, never pushed down.
pub const WEIGHTED_SFT_MIN: f64 = 0.1;
/// Upper clamp of the weighted-SFT weights.
pub const WEIGHTED_SFT_MAX: f64 = 5.0;

/// The seeds' weighted-SFT weights: `clamp(Â_i + 1, 0.1, 5)` with `Â` the GRPO group z-score.
pub fn weighted_sft(rewards: &[f64], group_size: usize) -> Result<Advantages, AdvantageError> {
    let mut adv = grpo(rewards, group_size, ScaleRewards::Group)?;
    for w in &mut adv.values {
        *w = (*w + 1.0).clamp(WEIGHTED_SFT_MIN, WEIGHTED_SFT_MAX);
    }
    Ok(adv)
}

/// A*-PO's estimate of the optimal value of a prompt from rewards of reference-policy samples:
/// `V* = β1 · log((1/N) Σ exp(r_i/β1))` — a smooth maximum that tends to the mean as β1 → 0 and to the maximum as
/// β1 → ∞. `β1 = 0` gives the plain mean and `β1 < 0` gives 0, as in the A*-PO code.
/// Returns `None` for an empty list.
pub fn a_star_value(reference_rewards: &[f64], beta1: f64) -> Option<f64> {
    if reference_rewards.is_empty() {
        return None;
    }
    if beta1 < 0.0 {
        return Some(0.0);
    }
    if beta1 == 0.0 {
        return Some(mean(reference_rewards));
    }
    // log-sum-exp with the maximum factored out, so large r/β1 does not overflow.
    let scaled: Vec<f64> = reference_rewards.iter().map(|r| r / beta1).collect();
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = scaled.iter().map(|s| (s - max).exp()).sum();
    Some(beta1 * (max + sum.ln() - (reference_rewards.len() as f64).ln()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn grpo_group_scaling_by_hand() {
        // Group [1, 0, 0, 1]: mean 0.5, Bessel std sqrt(1/3) = 0.57735.
        let adv = grpo(&[1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], 4, ScaleRewards::Group).unwrap();
        let a = 0.5 / ((1.0f64 / 3.0).sqrt() + STD_EPSILON);
        assert!(close(adv.values[0], a) && close(adv.values[1], -a), "{:?}", adv.values);
        assert!(adv.values[4..].iter().all(|&v| v == 0.0));
        assert_eq!(adv.zero_std, vec![false, true]);
        assert_eq!(adv.frac_reward_zero_std(), 0.5);
    }

    #[test]
    fn grpo_batch_and_no_scaling_by_hand() {
        let rewards = [1.0, 0.0, 0.5, 0.5];
        // Batch: mean 0.5, deviations ±0.5, 0, 0 → Bessel std sqrt(0.5/3).
        let batch_std = (0.5f64 / 3.0).sqrt();
        let adv = grpo(&rewards, 2, ScaleRewards::Batch).unwrap();
        assert!(close(adv.values[0], 0.5 / (batch_std + STD_EPSILON)));
        assert!(close(adv.values[2], 0.0));
        let adv = grpo(&rewards, 2, ScaleRewards::None).unwrap();
        assert_eq!(adv.values, vec![0.5, -0.5, 0.0, 0.0]);
    }

    #[test]
    fn rloo_is_reward_minus_mean_of_others() {
        let adv = rloo(&[1.0, 0.0, 0.0], 3).unwrap();
        assert!(close(adv.values[0], 1.0)); // 1 − mean(0, 0)
        assert!(close(adv.values[1], -0.5)); // 0 − mean(1, 0)
    }

    #[test]
    fn weighted_sft_weights_follow_the_seeds_clamp() {
        // G = 8 with one success: rl.md gives 3.47 for the success and 0.65 for each failure.
        let mut rewards = [0.0; 8];
        rewards[0] = 1.0;
        let w = weighted_sft(&rewards, 8).unwrap();
        assert!((w.values[0] - 3.47).abs() < 0.01, "{}", w.values[0]);
        assert!((w.values[1] - 0.65).abs() < 0.01, "{}", w.values[1]);
        // Half successes: failures clamp to 0.1.
        let w = weighted_sft(&[1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0], 8).unwrap();
        assert_eq!(w.values[2], WEIGHTED_SFT_MIN);
    }

    #[test]
    fn a_star_value_matches_the_closed_form() {
        // Binary rewards with success rate p: V* = β1·log(1 + p(e^{1/β1} − 1)); rl.md: p = 1/2, β1 = 0.5 → 0.72.
        let v = a_star_value(&[1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0], 0.5).unwrap();
        assert!(close(v, 0.5 * (1.0 + 0.5 * (2.0f64.exp() - 1.0)).ln()));
        assert!((v - 0.72).abs() < 0.005);
        assert_eq!(a_star_value(&[0.0; 8], 0.5), Some(0.0));
        assert!(close(a_star_value(&[1.0; 8], 0.5).unwrap(), 1.0));
        assert_eq!(a_star_value(&[1.0, 0.0], 0.0), Some(0.5));
        assert_eq!(a_star_value(&[1.0, 0.0], -1.0), Some(0.0));
        assert_eq!(a_star_value(&[], 0.5), None);
        // No overflow for large r/β1.
        assert!(close(a_star_value(&[1000.0, 1000.0], 1e-3).unwrap(), 1000.0));
    }

    #[test]
    fn bad_batches_are_errors() {
        assert_eq!(grpo(&[1.0], 1, ScaleRewards::Group), Err(AdvantageError::GroupTooSmall(1)));
        assert_eq!(
            grpo(&[1.0, 0.0, 1.0], 2, ScaleRewards::Group),
            Err(AdvantageError::RaggedBatch { len: 3, group_size: 2 })
        );
        assert!(matches!(rloo(&[1.0, f64::NAN], 2), Err(AdvantageError::NonFinite { index: 1, .. })));
    }
}
