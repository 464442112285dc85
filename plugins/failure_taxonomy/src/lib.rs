//! The built-in reward `failure_taxonomy`: detects MAST-style failure modes in a trajectory ([`detectors`]) and
//! rewards `base + α / (1 + failures)`, where `failures` is the number of distinct modes detected and `base` is the
//! τ² task reward from the host's evaluation (or 0). The seeds' formula `base + α / failures` is undefined at zero
//! failures; `1 + failures` keeps it finite and gives the full bonus α to a clean trajectory. The seeds compare
//! α ∈ {0.1, 0.3, 0.5, 1.0}.
//!
//! Components: `base`, `failures`, and `failure/<mode>` (0 or 1) for every enabled detector, so the failure-mode
//! distribution can be logged and compared across runs.
//!
//! Without a judge (the default) everything is deterministic and offline: the detectors are rules over text and
//! tool calls.
//!
//! ## Optional LLM judge
//! A `judge` table adds a chat model behind an OpenAI-compatible endpoint ([`judge`]): for every trajectory it is
//! shown the transcript (roles, tool calls with arguments, tool results cut to a few hundred characters), the task's
//! expected actions and the enabled modes with one-line definitions, and answers `{"failures": ["mode_name", …]}`.
//! ```toml
//! [[plugins.rewards]]
//! name = "failure_taxonomy"
//! config = { alpha = 0.3, judge = { endpoint = "http://localhost:8000/v1", model = "Qwen/Qwen3-8B" } }
//! ```
//! | key | default | meaning |
//! |---|---|---|
//! | `endpoint` | required | base URL; requests go to `{endpoint}/chat/completions` (http, or https through rustls) |
//! | `model` | required | model name of the requests (temperature 0) |
//! | `api_key_env` | `"OPENAI_API_KEY"` | NAME of the environment variable holding the key (`[A-Z_][A-Z0-9_]*`) |
//! | `timeout_seconds` | 30 | time limit of one request |
//! | `max_retries` | 2 | retries after a timeout, connection failure, HTTP 429 or 5xx; pause 1 s, doubling, no jitter |
//! | `mode` | `"add"` | `add`: judge's modes ∪ detectors'; `only`: the judge's modes replace the detectors' |
//! | `on_error` | `"fail"` | `fail`: the score fails, naming the endpoint; `skip`: detectors only, `judge/error` = 1 |
//!
//! **The key** comes only from that environment variable, read once when the reward is created (a missing or empty
//! variable is a config error naming the variable). It is never accepted in the configuration, never logged, never
//! part of an error message, and `Debug` prints it as `<redacted>`.
//!
//! **Cost**: one HTTP request per scored trajectory (more on retries), sent one after another within a batch, so a
//! judge adds its latency × batch size to every step. Entries of the answer that name no enabled mode are ignored
//! and counted.
//!
//! Extra components with a judge (absent without one, so judge-less scores are unchanged): `detectors/failures`
//! (the detectors' count), `judge/failures` (enabled modes the judge reported), `judge/unknown_modes`,
//! `judge/requests` (HTTP requests sent) and `judge/error` (1 when `on_error = "skip"` fell back). `failures` and
//! `failure/<mode>` then describe the combined set that the reward uses.

pub mod detectors;
pub mod judge;

use detectors::{Evidence, FailureMode};
use judge::{Judge, JudgeConfig, JudgeMode, OnError};
use retain_plugin_api::contract::{TaskView, Trajectory};
use retain_plugin_api::{Host, LogLevel, PluginError, Reward, Score, export_plugins};
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
    /// The optional LLM judge; `None` keeps the reward deterministic and offline.
    pub judge: Option<JudgeConfig>,
}

impl Default for TaxonomyConfig {
    fn default() -> Self {
        TaxonomyConfig { alpha: 0.3, base: Base::TaskReward, disabled: Vec::new(), id_min_length: 4, judge: None }
    }
}

/// Judge errors logged as warnings under `on_error = "skip"` before the log falls silent (the component
/// `judge/error` still counts every one).
const LOGGED_JUDGE_ERRORS: u32 = 3;

/// The components a judge adds to a score, by name.
type JudgeComponents = Vec<(&'static str, f64)>;

/// The failure-taxonomy reward.
#[derive(Debug)]
pub struct FailureTaxonomy {
    alpha: f64,
    base: Base,
    enabled: Vec<FailureMode>,
    id_min_length: usize,
    judge: Option<Judge>,
    host: Option<Host>,
    judge_errors: u32,
}

impl FailureTaxonomy {
    /// Builds the reward from a checked configuration; a judge's key is read from the process environment.
    pub fn from_config(config: TaxonomyConfig) -> Result<Self, PluginError> {
        Self::from_config_with_env(config, &|name| std::env::var(name).ok())
    }

    /// Builds the reward, reading a judge's key through `env` (injectable, so tests need not mutate the process
    /// environment).
    pub fn from_config_with_env(
        config: TaxonomyConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, PluginError> {
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
        let judge = config.judge.as_ref().map(|j| Judge::new(j, env)).transpose()?;
        Ok(FailureTaxonomy {
            alpha: config.alpha,
            base: config.base,
            enabled,
            id_min_length: config.id_min_length,
            judge,
            host: None,
            judge_errors: 0,
        })
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
        "MAST-style failure-mode detectors (and an optional LLM judge); reward base + α/(1 + failures).";
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
                "id_min_length": {"type": "integer", "minimum": 0, "default": 4},
                "judge": {
                    "type": ["object", "null"], "default": null,
                    "description": "optional LLM judge (OpenAI-compatible chat API); one request per trajectory",
                    "properties": {
                        "endpoint": {"type": "string", "description": "base URL, e.g. http://localhost:8000/v1"},
                        "model": {"type": "string"},
                        "api_key_env": {"type": "string", "default": "OPENAI_API_KEY",
                                        "description": "NAME of the environment variable holding the key"},
                        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600, "default": 30},
                        "max_retries": {"type": "integer", "minimum": 0, "maximum": judge::MAX_RETRIES_LIMIT,
                                        "default": 2},
                        "mode": {"enum": ["add", "only"], "default": "add"},
                        "on_error": {"enum": ["fail", "skip"], "default": "fail"}
                    },
                    "required": ["endpoint", "model"],
                    "additionalProperties": false
                }
            },
            "additionalProperties": false,
            "detectors": modes
        })
    }

    fn new(config: TaxonomyConfig, host: Host) -> Result<Self, PluginError> {
        let mut reward = Self::from_config(config)?;
        reward.host = Some(host);
        Ok(reward)
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
        let (modes, judge_components) = self.with_judge(detected, &trajectory, &task, task_json)?;
        let failures = modes.len() as f64;
        let mut score = Score::new(base + self.alpha / (1.0 + failures)).with("base", base).with("failures", failures);
        for mode in &self.enabled {
            score = score.with(format!("failure/{}", mode.name()), if modes.contains(mode) { 1.0 } else { 0.0 });
        }
        for (name, value) in judge_components {
            score = score.with(name, value);
        }
        Ok(score)
    }
}

impl FailureTaxonomy {
    /// Asks the judge, if any, and combines its modes with the `detected` ones; returns the modes the reward counts
    /// and the judge's components (none without a judge, so judge-less scores stay as they were).
    fn with_judge(
        &mut self,
        detected: Vec<FailureMode>,
        trajectory: &Trajectory,
        task: &TaskView,
        task_json: &Value,
    ) -> Result<(Vec<FailureMode>, JudgeComponents), PluginError> {
        let Some(judge) = &self.judge else { return Ok((detected, Vec::new())) };
        let detectors = detected.len() as f64;
        match judge.judge(trajectory, task, task_json, &self.enabled) {
            Ok(verdict) => {
                let modes = match judge.mode {
                    JudgeMode::Add => self
                        .enabled
                        .iter()
                        .copied()
                        .filter(|m| detected.contains(m) || verdict.modes.contains(m))
                        .collect(),
                    JudgeMode::Only => verdict.modes.clone(),
                };
                let components = vec![
                    ("detectors/failures", detectors),
                    ("judge/failures", verdict.modes.len() as f64),
                    ("judge/unknown_modes", verdict.unknown as f64),
                    ("judge/requests", f64::from(verdict.requests)),
                    ("judge/error", 0.0),
                ];
                Ok((modes, components))
            }
            Err(failure) => match judge.on_error {
                OnError::Fail => Err(PluginError::failed(failure.message)),
                OnError::Skip => {
                    self.judge_errors += 1;
                    if let Some(host) = self.host
                        && self.judge_errors <= LOGGED_JUDGE_ERRORS
                    {
                        let more = if self.judge_errors == LOGGED_JUDGE_ERRORS {
                            "; further judge errors are not logged (see component `judge/error`)"
                        } else {
                            ""
                        };
                        host.log(
                            LogLevel::Warn,
                            &format!(
                                "{}; scoring task `{}` with the detectors only{more}",
                                failure.message, trajectory.task_id
                            ),
                        );
                    }
                    let components = vec![
                        ("detectors/failures", detectors),
                        ("judge/failures", 0.0),
                        ("judge/unknown_modes", 0.0),
                        ("judge/requests", f64::from(failure.requests)),
                        ("judge/error", 1.0),
                    ];
                    Ok((detected, components))
                }
            },
        }
    }
}

export_plugins! {
    description: "The failure-taxonomy reward (MAST-style detectors).",
    strategies: [],
    rewards: [FailureTaxonomy],
}

#[cfg(test)]
mod tests;
