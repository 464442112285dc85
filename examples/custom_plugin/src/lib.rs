//! An example user plugin: the strategy `layer_freeze` stops training chosen parameters (by name prefix) from a
//! given domain on, by zeroing their gradients — a simple parameter-isolation baseline against forgetting. See
//! `README.md` beside this crate for how to build it and name it in a run config.

use retain_plugin_api::{Context, Host, PluginError, Strategy, TensorView, TensorViewMut, export_plugins};
use serde::Deserialize;
use serde_json::{Value, json};

/// Configuration of `layer_freeze`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayerFreezeConfig {
    /// First domain (0-based index in the task order) whose steps see frozen gradients.
    pub from_domain: u32,
    /// A parameter is frozen when its name starts with one of these.
    pub prefixes: Vec<String>,
}

impl Default for LayerFreezeConfig {
    fn default() -> Self {
        LayerFreezeConfig {
            from_domain: 1,
            prefixes: vec!["model.embed_tokens".to_owned(), "model.layers.0.".to_owned()],
        }
    }
}

/// Zeroes the gradients of the parameters named by `prefixes` from domain `from_domain` on.
#[derive(Debug)]
pub struct LayerFreeze {
    host: Host,
    config: LayerFreezeConfig,
}

impl Strategy for LayerFreeze {
    const NAME: &'static str = "layer_freeze";
    const DESCRIPTION: &'static str =
        "Zeroes the gradients of parameters with the given name prefixes from a domain on.";
    type Config = LayerFreezeConfig;

    fn config_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "from_domain": {"type": "integer", "minimum": 0, "default": 1,
                                "description": "index of the first domain whose gradients are frozen"},
                "prefixes": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
                             "default": ["model.embed_tokens", "model.layers.0."],
                             "description": "parameters whose names start with one of these are frozen"}
            },
            "additionalProperties": false
        })
    }

    fn new(config: LayerFreezeConfig, host: Host) -> Result<Self, PluginError> {
        if config.prefixes.is_empty() || config.prefixes.iter().any(String::is_empty) {
            return Err(PluginError::invalid_config(
                "layer_freeze: `prefixes` must be a non-empty list of non-empty names",
            ));
        }
        Ok(LayerFreeze { host, config })
    }

    fn adjust_gradients(
        &mut self,
        ctx: &Context<'_>,
        _params: &[TensorView<'_>],
        grads: &mut [TensorViewMut<'_>],
    ) -> Result<(), PluginError> {
        if ctx.domain_index < self.config.from_domain {
            return Ok(());
        }
        let mut frozen = 0usize;
        for grad in grads.iter_mut() {
            if self.config.prefixes.iter().any(|p| grad.name().starts_with(p.as_str())) {
                let values = grad.values_mut();
                values.fill(0.0);
                frozen += values.len();
            }
        }
        self.host.log_metric("frozen_parameters", frozen as f64);
        Ok(())
    }
}

export_plugins! {
    description: "Example user plugin: freeze layers by zeroing their gradients.",
    strategies: [LayerFreeze],
    rewards: [],
}
