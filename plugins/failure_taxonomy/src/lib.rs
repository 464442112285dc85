//! The built-in reward `failure_taxonomy`: detects MAST-style failure modes in a trajectory ([`detectors`]) and
//! rewards `base + α / (1 + failures)`, where `failures` is the number of distinct modes detected and `base` is the
//! τ² task reward from the host's evaluation (or 0). The seeds' formula `base + α / failures` is undefined at zero
//! failures; `1 + failures` keeps it finite and gives the full bonus α to a clean trajectory. The seeds compare
//! α ∈ {0.1, 0.3, 0.5, 1.0}.
//!
//! Components: `base`, `failures`, and `failure/<mode>` (0 or 1) for every enabled detector, so the failure-mode
//! distribution can be logged and compared across runs.
//!
//! The optional LLM judge of the seeds (through an OpenAI-compatible endpoint) is not part of this plugin yet: the
//! detectors here are deterministic rules over text and tool calls.

pub mod detectors;

use detectors::{Evidence, FailureMode};
use retain_plugin_api::contract::{TaskView, Trajectory};
use retain_plugin_api::{Host, PluginError, Reward, Score, export_plugins};
use serde::Deserialize;
use serde_json::{Value, json};

/// Where the base of the reward comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Base {
    /// The τ² reward of the host's evaluation (`evaluation.reward`).
    #[default]
    TaskReward,
    /// 0: the reward is the failure bonus alone (combine it with `task_success` yourself).
    Zero,
}

/// Configuration of `failure_taxonomy`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaxonomyConfig {
    /// Weight α of the failure bonus.
    pub alpha: f64,
    /// Source of the base reward.
    pub base: Base,
    /// Detectors to switch off, by name.
    pub disabled: Vec<String>,
    /// Id values shorter than this are not checked for hallucination (short ids collide with ordinary text).
    pub id_min_length: usize,
}

impl Default for TaxonomyConfig {
    fn default() -> Self {
        TaxonomyConfig { alpha: 0.3, base: Base::TaskReward, disabled: Vec::new(), id_min_length: 4 }
    }
}

/// The failure-taxonomy reward.
#[derive(Debug)]
pub struct FailureTaxonomy {
    alpha: f64,
    base: Base,
    enabled: Vec<FailureMode>,
    id_min_length: usize,
}

impl FailureTaxonomy {
    /// Builds the reward from a checked configuration.
    pub fn from_config(config: TaxonomyConfig) -> Result<Self, PluginError> {
        if !(config.alpha.is_finite() && config.alpha >= 0.0) {
            return Err(PluginError::invalid_config(format!(
                "failure_taxonomy: `alpha` must be a non-negative number, got {}",
                config.alpha
            )));
        }
        for name in &config.disabled {
            if FailureMode::from_name(name).is_none() {
                let known: Vec<&str> = FailureMode::ALL.iter().map(|m| m.name()).collect();
                return Err(PluginError::invalid_config(format!(
                    "failure_taxonomy: unknown detector `{name}` in `disabled` (known: {})",
                    known.join(", ")
                )));
            }
        }
        let enabled = FailureMode::ALL.into_iter().filter(|m| !config.disabled.iter().any(|d| d == m.name())).collect();
        Ok(FailureTaxonomy { alpha: config.alpha, base: config.base, enabled, id_min_length: config.id_min_length })
    }

    /// The detected modes of one trajectory.
    pub fn detect(&self, trajectory: &Trajectory, task: &TaskView, task_json: &Value) -> Vec<FailureMode> {
        let evidence = Evidence::new(trajectory, task, task_json, self.id_min_length);
        self.enabled.iter().copied().filter(|&m| evidence.detect(m)).collect()
    }
}

impl Reward for FailureTaxonomy {
    const NAME: &'static str = "failure_taxonomy";
    const DESCRIPTION: &'static str =
        "MAST-style failure-mode detectors over text and tool calls; reward base + α/(1 + failures).";
    type Config = TaxonomyConfig;

    fn config_schema() -> Value {
        let modes: Vec<Value> = FailureMode::ALL.iter().map(|m| json!({"name": m.name(), "mast": m.mast()})).collect();
        json!({
            "type": "object",
            "properties": {
                "alpha": {"type": "number", "minimum": 0, "default": 0.3,
                          "description": "weight of the failure bonus α/(1 + failures); seeds sweep 0.1, 0.3, 0.5, 1.0"},
                "base": {"enum": ["task_reward", "zero"], "default": "task_reward"},
                "disabled": {"type": "array", "items": {"type": "string"}, "default": [],
                             "description": "detectors to switch off"},
                "id_min_length": {"type": "integer", "minimum": 0, "default": 4}
            },
            "additionalProperties": false,
            "detectors": modes
        })
    }

    fn new(config: TaxonomyConfig, _host: Host) -> Result<Self, PluginError> {
        Self::from_config(config)
    }

    fn score(&mut self, trajectory_json: &Value, task_json: &Value) -> Result<Score, PluginError> {
        let trajectory: Trajectory = serde_json::from_value(trajectory_json.clone())
            .map_err(|e| PluginError::failed(format!("the trajectory does not follow the contract: {e}")))?;
        let task: TaskView = serde_json::from_value(task_json.clone())
            .map_err(|e| PluginError::failed(format!("the task is not a τ² task: {e}")))?;
        let base = match self.base {
            Base::Zero => 0.0,
            Base::TaskReward => trajectory.evaluation.as_ref().map(|e| e.reward).ok_or_else(|| {
                PluginError::failed(format!(
                    "trajectory of task `{}` has no `evaluation` for the base reward; use `base = \"zero\"` or \
                     let the host evaluate episodes first",
                    trajectory.task_id
                ))
            })?,
        };
        let detected = self.detect(&trajectory, &task, task_json);
        let failures = detected.len() as f64;
        let mut score = Score::new(base + self.alpha / (1.0 + failures)).with("base", base).with("failures", failures);
        for mode in &self.enabled {
            score = score.with(format!("failure/{}", mode.name()), if detected.contains(mode) { 1.0 } else { 0.0 });
        }
        Ok(score)
    }
}

export_plugins! {
    description: "The failure-taxonomy reward (MAST-style detectors).",
    strategies: [],
    rewards: [FailureTaxonomy],
}

#[cfg(test)]
mod tests;
