//! Test plugins: one that panics, one that fails, a stateful one that uses every host service, and a reward with
//! a strict config. Built by the host's integration test against the real plugin API.

use retain_plugin_api::contract::{BatchItem, LossTerm};
use retain_plugin_api::{
    Context, Host, PluginError, Reward, Score, Strategy, TensorView, TensorViewMut, export_plugins,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Panics in `before_task`.
pub struct Panicky;

impl Strategy for Panicky {
    const NAME: &'static str = "panicky";
    const DESCRIPTION: &'static str = "Panics in before_task.";
    type Config = Value;

    fn config_schema() -> Value {
        json!({})
    }

    fn new(_config: Value, _host: Host) -> Result<Self, PluginError> {
        Ok(Panicky)
    }

    fn before_task(&mut self, _ctx: &Context<'_>) -> Result<(), PluginError> {
        panic!("deliberate panic in before_task")
    }
}

/// Fails in `before_task`.
pub struct Erroring;

impl Strategy for Erroring {
    const NAME: &'static str = "erroring";
    const DESCRIPTION: &'static str = "Returns an error from before_task.";
    type Config = Value;

    fn config_schema() -> Value {
        json!({})
    }

    fn new(_config: Value, _host: Host) -> Result<Self, PluginError> {
        Ok(Erroring)
    }

    fn before_task(&mut self, _ctx: &Context<'_>) -> Result<(), PluginError> {
        Err(PluginError::failed("deliberate failure in before_task"))
    }
}

/// Config of `counter`.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CounterConfig {
    scale: f32,
}

impl Default for CounterConfig {
    fn default() -> Self {
        CounterConfig { scale: 1.0 }
    }
}

/// What `counter` saves.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CounterState {
    steps: u64,
    domains: Vec<String>,
}

/// Counts, edits gradients, and calls every host service.
pub struct Counter {
    host: Host,
    scale: f32,
    state: CounterState,
}

impl Strategy for Counter {
    const NAME: &'static str = "counter";
    const DESCRIPTION: &'static str = "Stateful test strategy.";
    type Config = CounterConfig;

    fn config_schema() -> Value {
        json!({"type": "object", "properties": {"scale": {"type": "number"}}})
    }

    fn new(config: CounterConfig, host: Host) -> Result<Self, PluginError> {
        Ok(Counter { host, scale: config.scale, state: CounterState::default() })
    }

    fn before_task(&mut self, ctx: &Context<'_>) -> Result<(), PluginError> {
        self.state.domains.push(ctx.domain.to_owned());
        self.host.log_metric("random", (self.host.next_u64() >> 11) as f64);
        Ok(())
    }

    fn augment_batch(
        &mut self,
        _ctx: &Context<'_>,
        batch: &[BatchItem],
    ) -> Result<Option<Vec<BatchItem>>, PluginError> {
        let mut out = batch.to_vec();
        out.extend(self.host.sample_tasks("airline", 1)?);
        Ok(Some(out))
    }

    fn loss_terms(&mut self, _ctx: &Context<'_>, _params: &[TensorView<'_>]) -> Result<Vec<LossTerm>, PluginError> {
        self.host.snapshot_policy("previous")?;
        Ok(vec![LossTerm::KlToSnapshot { snapshot: "previous".to_owned(), coef: 0.1 }])
    }

    fn adjust_gradients(
        &mut self,
        _ctx: &Context<'_>,
        params: &[TensorView<'_>],
        grads: &mut [TensorViewMut<'_>],
    ) -> Result<(), PluginError> {
        for (p, g) in params.iter().zip(grads.iter_mut()) {
            if p.name() != g.name() {
                return Err(PluginError::failed(format!("{} != {}", p.name(), g.name())));
            }
            for (gv, pv) in g.values_mut().iter_mut().zip(p.values()) {
                *gv = *gv * self.scale + *pv;
            }
        }
        Ok(())
    }

    fn after_step(&mut self, _ctx: &Context<'_>, metrics: &Value) -> Result<(), PluginError> {
        self.state.steps += metrics["increment"].as_u64().unwrap_or(1);
        self.host.log_metric("steps", self.state.steps as f64);
        Ok(())
    }

    fn after_task(&mut self, _ctx: &Context<'_>, params: &[TensorView<'_>]) -> Result<(), PluginError> {
        let fisher = self.host.fisher_diagonal(&[json!({"task_id": "t"})])?;
        let total: f32 = fisher.iter().flat_map(|t| t.data.iter()).sum();
        self.host.log_metric("fisher_sum", f64::from(total));
        self.host.log_metric("params", params.len() as f64);
        Ok(())
    }

    fn save_state(&mut self) -> Result<Vec<u8>, PluginError> {
        serde_json::to_vec(&self.state).map_err(|e| PluginError::failed(e.to_string()))
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), PluginError> {
        self.state = serde_json::from_slice(state)
            .map_err(|e| PluginError::failed(format!("state bytes are not a counter state: {e}")))?;
        Ok(())
    }
}

/// Config of `strict`: `threshold` is required.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrictConfig {
    threshold: f64,
}

/// A reward with a strict config.
pub struct Strict {
    threshold: f64,
}

impl Reward for Strict {
    const NAME: &'static str = "strict";
    const DESCRIPTION: &'static str = "1 when trajectory.x exceeds the threshold.";
    type Config = StrictConfig;

    fn config_schema() -> Value {
        json!({"type": "object", "required": ["threshold"]})
    }

    fn new(config: StrictConfig, _host: Host) -> Result<Self, PluginError> {
        Ok(Strict { threshold: config.threshold })
    }

    fn score(&mut self, trajectory: &Value, _task: &Value) -> Result<Score, PluginError> {
        let x = trajectory["x"].as_f64().ok_or_else(|| PluginError::failed("trajectory has no number `x`"))?;
        Ok(Score::new(if x > self.threshold { 1.0 } else { 0.0 }).with("x", x))
    }
}

export_plugins! {
    description: "Misbehaving and stateful test plugins.",
    strategies: [Panicky, Erroring, Counter],
    rewards: [Strict],
}
