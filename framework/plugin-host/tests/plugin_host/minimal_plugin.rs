//! A minimal plugin, built against a modified copy of the plugin API to test the host's load-time checks.

use retain_plugin_api::{Host, PluginError, Strategy, export_plugins};
use serde_json::{Value, json};

/// Does nothing.
pub struct Minimal;

impl Strategy for Minimal {
    const NAME: &'static str = "minimal";
    const DESCRIPTION: &'static str = "Does nothing.";
    type Config = Value;

    fn config_schema() -> Value {
        json!({"type": "object"})
    }

    fn new(_config: Value, _host: Host) -> Result<Self, PluginError> {
        Ok(Minimal)
    }
}

export_plugins! {
    description: "A minimal plugin.",
    strategies: [Minimal],
    rewards: [],
}
