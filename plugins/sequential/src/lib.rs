//! The built-in strategy `sequential`: naive sequential fine-tuning, domain after domain, with no mechanism against
//! forgetting. It is the baseline every continual-learning strategy is compared with, and it goes through the same
//! plugin path as any other strategy (all hooks are the SDK's no-op defaults).

use retain_plugin_api::{Host, PluginError, Strategy, export_plugins};
use serde::Deserialize;
use serde_json::{Value, json};

/// `sequential` takes no options; an empty table is the only valid config.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequentialConfig {}

/// Naive sequential training: every hook keeps the trainer's behaviour unchanged.
#[derive(Debug)]
pub struct Sequential;

impl Strategy for Sequential {
    const NAME: &'static str = "sequential";
    const DESCRIPTION: &'static str = "Naive sequential training: no replay, no regularisation (the baseline).";
    type Config = SequentialConfig;

    fn config_schema() -> Value {
        json!({"type": "object", "properties": {}, "additionalProperties": false})
    }

    fn new(_config: SequentialConfig, _host: Host) -> Result<Self, PluginError> {
        Ok(Sequential)
    }
}

export_plugins! {
    description: "The naive sequential-training baseline strategy.",
    strategies: [Sequential],
    rewards: [],
}
