//! The built-in reward `composite`: combines the rewards computed earlier in the pipeline (the host passes them
//! in the trajectory JSON under `rewards.<name>.value`; give `composite` a higher `priority` number than the
//! rewards it combines, and those rewards weight 0 if only the composite should count).
//!
//! * `weighted_sum`: `Σ w_i · r_i`.
//! * `normalize_then_sum` (GDPO): each reward is standardised over the scored batch (a GRPO group or a step),
//!   `(r_i − mean_i) / (std_i + ε)`, before the weighted sum, so a high-variance reward (a judge) cannot swamp a
//!   binary one (task success). A reward that is constant over the batch contributes 0.

use retain_plugin_api::contract::Trajectory;
use retain_plugin_api::{Host, PluginError, Reward, Score, export_plugins};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How the rewards are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `Σ w_i · r_i`.
    #[default]
    WeightedSum,
    /// Standardise each reward over the batch, then `Σ w_i · z_i`.
    NormalizeThenSum,
}

/// Configuration of `composite`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompositeConfig {
    /// How to combine.
    pub mode: Mode,
    /// Weight of each earlier reward, by plugin name (at least one).
    pub weights: BTreeMap<String, f64>,
    /// Added to the standard deviation in `normalize_then_sum`.
    pub epsilon: f64,
}

impl Default for CompositeConfig {
    fn default() -> Self {
        CompositeConfig { mode: Mode::WeightedSum, weights: BTreeMap::new(), epsilon: 1e-6 }
    }
}

/// Combines earlier rewards.
#[derive(Debug)]
pub struct Composite {
    config: CompositeConfig,
}

impl Composite {
    /// The earlier rewards of one trajectory, in the order of `weights`.
    fn inputs(&self, trajectory: &Value) -> Result<Vec<f64>, PluginError> {
        let trajectory: Trajectory = serde_json::from_value(trajectory.clone())
            .map_err(|e| PluginError::failed(format!("the trajectory does not follow the contract: {e}")))?;
        self.config
            .weights
            .keys()
            .map(|name| {
                trajectory.rewards.get(name).map(|r| r.value).ok_or_else(|| {
                    PluginError::failed(format!(
                        "reward `{name}` has not been computed before `composite`: list it in plugins.rewards \
                         with a lower priority number than composite (computed so far: {})",
                        trajectory.rewards.keys().cloned().collect::<Vec<_>>().join(", ")
                    ))
                })
            })
            .collect()
    }
}

/// Combines `rows[i][j]` (reward j of trajectory i) with `weights[j]` according to `mode`.
pub fn combine(mode: Mode, weights: &[f64], epsilon: f64, rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = rows.len() as f64;
    let columns = weights.len();
    let (mut means, mut stds) = (vec![0.0; columns], vec![1.0; columns]);
    if mode == Mode::NormalizeThenSum && !rows.is_empty() {
        for j in 0..columns {
            let mean = rows.iter().map(|r| r[j]).sum::<f64>() / n;
            let var = rows.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / n;
            means[j] = mean;
            stds[j] = var.sqrt() + epsilon;
        }
    }
    rows.iter().map(|row| (0..columns).map(|j| weights[j] * (row[j] - means[j]) / stds[j]).collect()).collect()
}

impl Reward for Composite {
    const NAME: &'static str = "composite";
    const DESCRIPTION: &'static str = "Weighted sum, or normalise-then-sum (GDPO), of rewards computed earlier.";
    type Config = CompositeConfig;

    fn config_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "mode": {"enum": ["weighted_sum", "normalize_then_sum"], "default": "weighted_sum"},
                "weights": {"type": "object", "additionalProperties": {"type": "number"},
                            "description": "weight of each earlier reward, by plugin name"},
                "epsilon": {"type": "number", "default": 1e-6}
            },
            "required": ["weights"],
            "additionalProperties": false
        })
    }

    fn new(config: CompositeConfig, _host: Host) -> Result<Self, PluginError> {
        if config.weights.is_empty() {
            return Err(PluginError::invalid_config(
                "composite needs `weights`, e.g. { task_success = 1.0, failure_taxonomy = 0.3 }",
            ));
        }
        if let Some((name, w)) = config.weights.iter().find(|(_, w)| !w.is_finite()) {
            return Err(PluginError::invalid_config(format!("composite: weight of `{name}` is {w}, not a number")));
        }
        if !(config.epsilon.is_finite() && config.epsilon > 0.0) {
            return Err(PluginError::invalid_config("composite: `epsilon` must be a positive number"));
        }
        Ok(Composite { config })
    }

    fn score(&mut self, trajectory: &Value, task: &Value) -> Result<Score, PluginError> {
        let mut scores = self.score_batch(&[(trajectory.clone(), task.clone())])?;
        scores.pop().ok_or_else(|| PluginError::failed("no score"))
    }

    fn score_batch(&mut self, items: &[(Value, Value)]) -> Result<Vec<Score>, PluginError> {
        let rows = items.iter().map(|(t, _)| self.inputs(t)).collect::<Result<Vec<_>, _>>()?;
        let weights: Vec<f64> = self.config.weights.values().copied().collect();
        let parts = combine(self.config.mode, &weights, self.config.epsilon, &rows);
        Ok(parts
            .into_iter()
            .map(|part| {
                let total = part.iter().sum();
                self.config.weights.keys().zip(part).fold(Score::new(total), |s, (name, v)| s.with(name.clone(), v))
            })
            .collect())
    }
}

export_plugins! {
    description: "The composite reward (weighted or normalised sum of earlier rewards).",
    strategies: [],
    rewards: [Composite],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_sum_and_normalize_then_sum() {
        let rows = vec![vec![1.0, 10.0], vec![0.0, 30.0]];
        let w = combine(Mode::WeightedSum, &[1.0, 0.5], 1e-6, &rows);
        assert_eq!(w, vec![vec![1.0, 5.0], vec![0.0, 15.0]]);
        let z = combine(Mode::NormalizeThenSum, &[1.0, 0.5], 1e-9, &rows);
        // Each column standardised: ±1, then weighted.
        assert!((z[0][0] - 1.0).abs() < 1e-6 && (z[1][0] + 1.0).abs() < 1e-6);
        assert!((z[0][1] + 0.5).abs() < 1e-6 && (z[1][1] - 0.5).abs() < 1e-6);
        let constant = combine(Mode::NormalizeThenSum, &[1.0], 1e-6, &[vec![3.0], vec![3.0]]);
        assert_eq!(constant, vec![vec![0.0], vec![0.0]]);
    }
}
