//! The run's plugins, and rewards of finished episodes through the reward plugins (`plugins.rewards`): each
//! plugin scores the trajectory in the plugin contract's JSON shape, and the reward is Σ weight · score. τ²'s own
//! evaluation travels with the trajectory, so `task_success` reports it and shaping plugins build on it.
//!
//! Strategy plugins are loaded (so a missing or incompatible library fails before any training), but the run
//! loop calls no strategy hooks yet: only `sequential`, the naive baseline whose hooks change nothing, is
//! accepted; any other strategy is refused with an error rather than silently ignored.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use retain_checkpoint::PluginInfo;
use retain_config::PluginsConfig;
use retain_data::dataset::DomainData;
use retain_plugin_host::pipeline::{PluginSet, RewardBreakdown};
use retain_plugin_host::services::NoServices;

use crate::error::{Result, TrainerError};
use crate::rollout::Rollout;

/// Strategies the run loop can honour today (their hooks change nothing).
const SUPPORTED_STRATEGIES: [&str; 1] = ["sequential"];

/// The plugins of a run, loaded once.
#[derive(Debug)]
pub struct Rewarder {
    plugins: PluginSet,
}

impl Rewarder {
    /// Loads every plugin of `config` (a run needs at least one reward plugin).
    pub fn load(config: &PluginsConfig, seed: u64) -> Result<Self> {
        if let Some(s) = config.strategies.iter().find(|s| !SUPPORTED_STRATEGIES.contains(&s.name.as_str())) {
            return Err(TrainerError::Config(format!(
                "plugins.strategies: `{}` needs strategy hooks the run loop does not call yet; use `sequential` \
                 (naive sequential training) for now",
                s.name
            )));
        }
        if config.rewards.is_empty() {
            return Err(TrainerError::Config(
                "plugins.rewards is empty; add at least one reward plugin, e.g. [[plugins.rewards]] name = \"task_success\""
                    .to_owned(),
            ));
        }
        Ok(Rewarder { plugins: PluginSet::load(config, Arc::new(NoServices), seed)? })
    }

    /// Every plugin in call order, as the checkpoint manifest records them.
    pub fn manifest_entries(&self) -> Vec<PluginInfo> {
        self.plugins
            .records()
            .into_iter()
            .map(|r| PluginInfo {
                kind: r.kind.to_owned(),
                name: r.name,
                version: r.version,
                library: r.library,
                abi_version: r.abi_version,
                priority: r.priority,
            })
            .collect()
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
        Ok(self.plugins.rewards.score(&items)?)
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
