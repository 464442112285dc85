//! Loading a run's plugins: every strategy and reward library is resolved, loaded and instantiated before any
//! data is generated, so a missing, foreign or misconfigured plugin fails the run at once, by name.

use std::collections::BTreeMap;
use std::sync::Arc;

use retain_checkpoint::PluginInfo;
use retain_config::PluginsConfig;
use retain_plugin_host::PluginSet;

use crate::error::{Result, TrainerError};
use crate::host::TrainerServices;
use crate::reward::Rewarder;
use crate::strategies::Strategies;

/// The loaded plugins of a run.
#[derive(Debug)]
pub struct RunPlugins {
    /// Strategies, in call order.
    pub strategies: Strategies,
    /// Reward plugins, in call order.
    pub rewarder: Rewarder,
    /// Every plugin as checkpoint manifests record it.
    pub manifest: Vec<PluginInfo>,
}

impl RunPlugins {
    /// Loads every plugin of `config` with the trainer's `services` (a run needs at least one reward plugin).
    pub fn load(config: &PluginsConfig, services: Arc<TrainerServices>, seed: u64) -> Result<Self> {
        if config.rewards.is_empty() {
            return Err(TrainerError::Config(
                "plugins.rewards is empty; add at least one reward plugin, e.g. [[plugins.rewards]] name = \"task_success\""
                    .to_owned(),
            ));
        }
        let set = PluginSet::load(config, services, seed)?;
        let manifest = set
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
            .collect();
        Ok(RunPlugins { strategies: Strategies::new(set.strategies), rewarder: Rewarder::new(set.rewards), manifest })
    }

    /// Every plugin's random stream, keyed `strategy/<name>` or `reward/<name>` (as `state.json` keeps them).
    pub fn rng_states(&self) -> BTreeMap<String, u64> {
        let strategies = self.strategies.rng_states().into_iter().map(|(n, s)| (format!("strategy/{n}"), s));
        let rewards = self.rewarder.rng_states().into_iter().map(|(n, s)| (format!("reward/{n}"), s));
        strategies.chain(rewards).collect()
    }

    /// Restores the random streams [`RunPlugins::rng_states`] returned.
    pub fn set_rng_states(&self, states: &BTreeMap<String, u64>) {
        for (key, &state) in states {
            if let Some(name) = key.strip_prefix("strategy/") {
                self.strategies.set_rng_state(name, state);
            } else if let Some(name) = key.strip_prefix("reward/") {
                self.rewarder.set_rng_state(name, state);
            }
        }
    }
}
