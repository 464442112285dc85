//! Rewards of finished episodes through the reward plugins (`plugins.rewards`): each plugin scores the
//! trajectory in the plugin contract's JSON shape, and the reward is Σ weight · score. τ²'s own evaluation travels
//! with the trajectory, so `task_success` reports it and shaping plugins build on it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use retain_data::dataset::DomainData;
use retain_plugin_host::pipeline::{RewardBreakdown, RewardPipeline};

use crate::error::{Result, TrainerError};
use crate::rollout::Rollout;

/// The run's reward plugins, in call order.
#[derive(Debug)]
pub struct Rewarder {
    pipeline: RewardPipeline,
}

impl Rewarder {
    /// The reward plugins of a loaded plugin set.
    pub fn new(pipeline: RewardPipeline) -> Self {
        Rewarder { pipeline }
    }

    /// Every reward plugin's random stream, by name.
    pub fn rng_states(&self) -> Vec<(String, u64)> {
        self.pipeline.plugins.iter().map(|p| (p.name().to_owned(), p.rng_state())).collect()
    }

    /// Restores the random stream of reward plugin `name` (unknown names are ignored).
    pub fn set_rng_state(&self, name: &str, state: u64) {
        if let Some(plugin) = self.pipeline.plugins.iter().find(|p| p.name() == name) {
            plugin.set_rng_state(state);
        }
    }

    /// Scores every rollout; `domains` supplies each domain's write tools.
    pub fn score(&mut self, rollouts: &[Rollout], domains: &[DomainData]) -> Result<Vec<RewardBreakdown>> {
        let write_tools: BTreeMap<&str, Vec<String>> =
            domains.iter().map(|d| (d.domain.name(), d.env.write_tools())).collect();
        let items = rollouts
            .iter()
            .map(|r| {
                let tools = write_tools.get(r.domain.name()).cloned().unwrap_or_default();
                let task = serde_json::to_value(r.task.as_ref())
                    .map_err(|source| TrainerError::Json { what: format!("task {}", r.task.id), source })?;
                Ok((trajectory_json(r, &tools), task))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self.pipeline.score(&items)?)
    }
}

/// A rollout in the plugin contract's trajectory shape.
pub fn trajectory_json(rollout: &Rollout, write_tools: &[String]) -> Value {
    let components: BTreeMap<String, f64> = rollout
        .evaluation
        .components
        .iter()
        .filter_map(|c| {
            let name = serde_json::to_value(c.reward_type).ok()?.as_str()?.to_lowercase();
            Some((name, c.value?))
        })
        .collect();
    json!({
        "domain": rollout.domain.name(),
        "task_id": rollout.task.id,
        "messages": rollout.messages,
        "termination": rollout.evaluation.termination.as_str(),
        "evaluation": {"reward": rollout.evaluation.reward, "components": components},
        "write_tools": write_tools,
    })
}
