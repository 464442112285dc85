//! Learning-rate schedules (candle-nn has none): constant, linear warm-up + linear decay, cosine.

use serde::{Deserialize, Serialize};

/// A multiplier on the base learning rate as a function of the optimiser step (0-based).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// Linear warm-up over `warmup_steps`, then constant.
    Constant {
        /// Warm-up length (0 = none).
        #[serde(default)]
        warmup_steps: u64,
    },
    /// Linear warm-up, then linear decay to 0 at `total_steps` (transformers' `linear`).
    Linear {
        /// Warm-up length.
        #[serde(default)]
        warmup_steps: u64,
        /// Step at which the rate reaches 0.
        total_steps: u64,
    },
    /// Linear warm-up, then half-cosine decay to `min_lr_ratio` at `total_steps`.
    Cosine {
        /// Warm-up length.
        #[serde(default)]
        warmup_steps: u64,
        /// Step at which the decay ends.
        total_steps: u64,
        /// Final fraction of the base rate.
        #[serde(default)]
        min_lr_ratio: f64,
    },
}

impl Default for LrSchedule {
    fn default() -> Self {
        LrSchedule::Constant { warmup_steps: 0 }
    }
}

impl LrSchedule {
    /// The multiplier in `[0, 1]` for `step`.
    pub fn factor(&self, step: u64) -> f64 {
        let warm = |w: u64| if w > 0 && step < w { Some((step + 1) as f64 / w as f64) } else { None };
        match *self {
            LrSchedule::Constant { warmup_steps } => warm(warmup_steps).unwrap_or(1.0),
            LrSchedule::Linear { warmup_steps, total_steps } => warm(warmup_steps).unwrap_or_else(|| {
                let span = total_steps.saturating_sub(warmup_steps).max(1) as f64;
                (1.0 - (step - warmup_steps) as f64 / span).max(0.0)
            }),
            LrSchedule::Cosine { warmup_steps, total_steps, min_lr_ratio } => warm(warmup_steps).unwrap_or_else(|| {
                let span = total_steps.saturating_sub(warmup_steps).max(1) as f64;
                let progress = ((step - warmup_steps) as f64 / span).min(1.0);
                min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }),
        }
    }

    /// `base_lr × factor(step)`.
    pub fn lr(&self, base_lr: f64, step: u64) -> f64 {
        base_lr * self.factor(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_have_the_expected_shape() {
        let c = LrSchedule::Constant { warmup_steps: 4 };
        assert_eq!(c.factor(0), 0.25);
        assert_eq!(c.factor(3), 1.0);
        assert_eq!(c.factor(100), 1.0);
        let l = LrSchedule::Linear { warmup_steps: 2, total_steps: 12 };
        assert_eq!(l.factor(2), 1.0);
        assert!((l.factor(7) - 0.5).abs() < 1e-12);
        assert_eq!(l.factor(12), 0.0);
        let cos = LrSchedule::Cosine { warmup_steps: 0, total_steps: 10, min_lr_ratio: 0.1 };
        assert_eq!(cos.factor(0), 1.0);
        assert!((cos.factor(5) - 0.55).abs() < 1e-12);
        assert!((cos.factor(10) - 0.1).abs() < 1e-12);
        let parsed: LrSchedule = serde_json::from_str(r#"{"kind":"cosine","total_steps":10}"#).unwrap();
        assert_eq!(parsed.factor(10), 0.0);
    }
}
