//! All plugins of a run, in their explicit call order (priority, then name), and the reward pipeline that turns
//! the reward plugins' scores into one reward per trajectory.

use crate::error::PluginHostError;
use crate::instance::{RewardPlugin, StrategyPlugin};
use crate::services::HostServices;
use retain_config::{PluginSpec, PluginsConfig};
use retain_plugin_api::Score;
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Specs sorted into call order: lower priority first, ties broken by name.
pub fn call_order(specs: &[PluginSpec]) -> Vec<PluginSpec> {
    let mut sorted = specs.to_vec();
    sorted.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.name.cmp(&b.name)));
    sorted
}

/// One plugin as recorded in a checkpoint manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginRecord {
    /// `strategy` or `reward`.
    pub kind: &'static str,
    /// Name from the config.
    pub name: String,
    /// Library name and version.
    pub library: String,
    /// Library version.
    pub version: String,
    /// ABI version the library was built against.
    pub abi_version: String,
    /// Priority from the config.
    pub priority: i32,
}

/// The loaded strategies and rewards of a run.
#[derive(Debug)]
pub struct PluginSet {
    /// Strategies in call order.
    pub strategies: Vec<StrategyPlugin>,
    /// Rewards in call order.
    pub rewards: RewardPipeline,
}

impl PluginSet {
    /// Loads every plugin of `config`; the first failure is returned (naming its plugin).
    pub fn load(config: &PluginsConfig, services: Arc<dyn HostServices>, seed: u64) -> Result<Self, PluginHostError> {
        let strategies = call_order(&config.strategies)
            .iter()
            .map(|spec| StrategyPlugin::load(spec, Arc::clone(&services), seed))
            .collect::<Result<Vec<_>, _>>()?;
        let rewards = RewardPipeline::load(&config.rewards, services, seed)?;
        Ok(PluginSet { strategies, rewards })
    }

    /// The call order, for the checkpoint manifest.
    pub fn records(&self) -> Vec<PluginRecord> {
        let strategies = self.strategies.iter().map(|s| record("strategy", s.spec(), s.library()));
        let rewards = self.rewards.plugins.iter().map(|r| record("reward", r.spec(), r.library()));
        strategies.chain(rewards).collect()
    }
}

fn record(kind: &'static str, spec: &PluginSpec, library: &crate::Library) -> PluginRecord {
    PluginRecord {
        kind,
        name: spec.name.clone(),
        library: library.name.clone(),
        version: library.version.clone(),
        abi_version: library.abi_version.clone(),
        priority: spec.priority,
    }
}

/// The reward of one trajectory: the weighted sum and every plugin's score.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardBreakdown {
    /// Σ weight · value over the reward plugins.
    pub total: f64,
    /// Each plugin's score, in call order.
    pub scores: Vec<(String, Score)>,
}

/// Reward plugins in call order. Each plugin sees the scores of the plugins before it under `rewards` in the
/// trajectory JSON (so a composite reward can combine them); the total is Σ weight · value.
#[derive(Debug)]
pub struct RewardPipeline {
    /// The plugins, in call order.
    pub plugins: Vec<RewardPlugin>,
}

impl RewardPipeline {
    /// Loads the reward plugins of `specs`.
    pub fn load(specs: &[PluginSpec], services: Arc<dyn HostServices>, seed: u64) -> Result<Self, PluginHostError> {
        let plugins = call_order(specs)
            .iter()
            .map(|spec| RewardPlugin::load(spec, Arc::clone(&services), seed))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RewardPipeline { plugins })
    }

    /// Scores a batch of `(trajectory, task)` pairs (one GRPO group or a whole step).
    pub fn score(&mut self, items: &[(Value, Value)]) -> Result<Vec<RewardBreakdown>, PluginHostError> {
        let mut trajectories: Vec<Value> = items.iter().map(|(t, _)| t.clone()).collect();
        let tasks: Vec<String> = items.iter().map(|(_, task)| task.to_string()).collect();
        let mut out: Vec<RewardBreakdown> =
            items.iter().map(|_| RewardBreakdown { total: 0.0, scores: Vec::new() }).collect();
        for plugin in &mut self.plugins {
            let texts: Vec<String> = trajectories.iter().map(Value::to_string).collect();
            let pairs: Vec<(&str, &str)> =
                texts.iter().map(String::as_str).zip(tasks.iter().map(String::as_str)).collect();
            let scores = plugin.score_batch(&pairs)?;
            let weight = plugin.spec().weight;
            for ((trajectory, breakdown), score) in trajectories.iter_mut().zip(&mut out).zip(scores) {
                breakdown.total += weight * score.value;
                if let Value::Object(object) = trajectory {
                    let components: Map<String, Value> =
                        score.components.iter().map(|(k, v)| (k.clone(), Value::from(*v))).collect();
                    let entry = serde_json::json!({"value": score.value, "components": components});
                    match object.entry("rewards").or_insert_with(|| Value::Object(Map::new())) {
                        Value::Object(rewards) => {
                            rewards.insert(plugin.name().to_owned(), entry);
                        }
                        other => *other = serde_json::json!({ plugin.name(): entry }),
                    }
                }
                breakdown.scores.push((plugin.name().to_owned(), score));
            }
        }
        Ok(out)
    }
}
