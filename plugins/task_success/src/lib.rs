//! The built-in reward `task_success`: τ²'s own reward for the episode. The host evaluates every episode the τ²
//! way (final database against the gold actions replayed, environment assertions, communicated information, action
//! matches; 0 for episodes ended by the step or error limit) and puts the result in the trajectory JSON as
//! `evaluation.reward` with `evaluation.components`; this plugin returns that value and its components.

use retain_plugin_api::contract::Trajectory;
use retain_plugin_api::{Host, PluginError, Reward, Score, export_plugins};
use serde::Deserialize;
use serde_json::{Value, json};

/// `task_success` takes no options.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskSuccessConfig {}

/// Returns the host's τ² evaluation of the episode.
#[derive(Debug)]
pub struct TaskSuccess;

impl Reward for TaskSuccess {
    const NAME: &'static str = "task_success";
    const DESCRIPTION: &'static str = "The τ² task reward (product of the reward-basis checks) computed by the host.";
    type Config = TaskSuccessConfig;

    fn config_schema() -> Value {
        json!({"type": "object", "properties": {}, "additionalProperties": false})
    }

    fn new(_config: TaskSuccessConfig, _host: Host) -> Result<Self, PluginError> {
        Ok(TaskSuccess)
    }

    fn score(&mut self, trajectory: &Value, _task: &Value) -> Result<Score, PluginError> {
        let trajectory: Trajectory = serde_json::from_value(trajectory.clone())
            .map_err(|e| PluginError::failed(format!("the trajectory does not follow the contract: {e}")))?;
        let evaluation = trajectory.evaluation.ok_or_else(|| {
            PluginError::failed(format!(
                "trajectory of task `{}` has no `evaluation`; the host must evaluate episodes before scoring them",
                trajectory.task_id
            ))
        })?;
        let score = evaluation.components.into_iter().fold(Score::new(evaluation.reward), |s, (k, v)| s.with(k, v));
        Ok(score)
    }
}

export_plugins! {
    description: "The τ² task-success reward.",
    strategies: [],
    rewards: [TaskSuccess],
}
