//! Choosing the next token from one row of logits: greedy, temperature, top-k, top-p — with the caller's RNG,
//! so each sample's randomness is its own.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// Sampling knobs (Hugging Face semantics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingConfig {
    /// Softmax temperature; 0 means greedy (argmax).
    pub temperature: f32,
    /// Nucleus mass kept (1.0 = off).
    #[serde(default = "one")]
    pub top_p: f32,
    /// Keep only the k most likely tokens (0 = off).
    #[serde(default)]
    pub top_k: usize,
}

fn one() -> f32 {
    1.0
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig { temperature: 1.0, top_p: 1.0, top_k: 0 }
    }
}

impl SamplingConfig {
    /// Greedy decoding.
    pub fn greedy() -> Self {
        SamplingConfig { temperature: 0.0, top_p: 1.0, top_k: 0 }
    }

    /// Rejects values outside their ranges, naming the key.
    pub fn validate(&self) -> Result<()> {
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return Err(ModelError::Config(format!("`temperature` {} must be ≥ 0", self.temperature)));
        }
        if self.top_p.is_nan() || self.top_p <= 0.0 || self.top_p > 1.0 {
            return Err(ModelError::Config(format!("`top_p` {} must be in (0, 1]", self.top_p)));
        }
        Ok(())
    }
}

/// Picks a token id from `logits`. Draws exactly one uniform number from `rng` when sampling (none when greedy),
/// so a sample's random stream never depends on anything but its own seed and its own logits.
pub fn sample_token(logits: &[f32], cfg: &SamplingConfig, rng: &mut ChaCha8Rng) -> u32 {
    if cfg.temperature == 0.0 {
        return argmax(logits);
    }
    let inv_t = 1.0 / f64::from(cfg.temperature);
    let restrict = (cfg.top_k > 0 && cfg.top_k < logits.len()) || cfg.top_p < 1.0;
    let mut order: Vec<u32> = (0..logits.len() as u32).collect();
    if restrict {
        let by_logit = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]).then_with(|| a.cmp(b));
        if cfg.top_k > 0 && cfg.top_k < order.len() {
            order.select_nth_unstable_by(cfg.top_k - 1, by_logit);
            order.truncate(cfg.top_k);
        }
        order.sort_unstable_by(by_logit);
    }
    let max = order.iter().map(|&i| logits[i as usize]).fold(f32::NEG_INFINITY, f32::max);
    let mut weights: Vec<f64> = order.iter().map(|&i| ((f64::from(logits[i as usize] - max)) * inv_t).exp()).collect();
    if cfg.top_p < 1.0 {
        let total: f64 = weights.iter().sum();
        let mut cum = 0.0;
        let mut keep = weights.len();
        for (n, w) in weights.iter().enumerate() {
            cum += w / total;
            if cum >= f64::from(cfg.top_p) {
                keep = n + 1;
                break;
            }
        }
        weights.truncate(keep);
        order.truncate(keep);
    }
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (w, id) in weights.iter().zip(&order) {
        if u < *w {
            return *id;
        }
        u -= w;
    }
    // Rounding left `u` past the last weight: the last kept token.
    order.last().copied().unwrap_or_else(|| argmax(logits))
}

/// Index of the largest logit (lowest index on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, v) in logits.iter().enumerate() {
        if *v > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// `log softmax(logits)[id]`, computed in f64.
pub fn log_prob(logits: &[f32], id: u32) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse: f64 = logits.iter().map(|v| f64::from(v - max).exp()).sum::<f64>().ln();
    (f64::from(logits[id as usize] - max) - lse) as f32
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn greedy_top_k_and_top_p_restrict_choices() {
        let logits = [0.0f32, 5.0, 4.9, -3.0, 1.0];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(sample_token(&logits, &SamplingConfig::greedy(), &mut rng), 1);
        let top2 = SamplingConfig { temperature: 1.0, top_p: 1.0, top_k: 2 };
        for _ in 0..200 {
            let id = sample_token(&logits, &top2, &mut rng);
            assert!(id == 1 || id == 2);
        }
        let nucleus = SamplingConfig { temperature: 1.0, top_p: 0.3, top_k: 0 };
        for _ in 0..50 {
            assert_eq!(sample_token(&logits, &nucleus, &mut rng), 1);
        }
        let hot = SamplingConfig { temperature: 100.0, top_p: 1.0, top_k: 0 };
        let seen: std::collections::BTreeSet<u32> = (0..500).map(|_| sample_token(&logits, &hot, &mut rng)).collect();
        assert_eq!(seen.len(), 5);
    }

    #[test]
    fn log_prob_normalises() {
        let logits = [1.0f32, 2.0, 3.0];
        let total: f32 = (0..3).map(|i| log_prob(&logits, i).exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
    }
}
