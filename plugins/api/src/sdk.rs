//! The safe side of the API: one trait per plugin kind, a safe wrapper over the host's services, and helpers for
//! errors. A plugin implements [`Strategy`] or [`Reward`] and lists its types in [`crate::export_plugins!`].

use crate::abi::{ErrorKind, HostHandle, LogLevel, OwnedTensor, PluginError, StepContext, TensorView, TensorViewMut};
use crate::contract::{BatchItem, LossTerm};
use abi_stable::std_types::{RStr, RString};
use serde::de::DeserializeOwned;
use serde_json::Value;

impl PluginError {
    /// An error of the given kind with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError { kind, message: RString::from(message.into()) }
    }

    /// A hook failed; the message should say what and how to fix it.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }

    /// The configuration was rejected.
    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidConfig, message)
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

/// Where training is, as given to every strategy hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context<'a> {
    /// Domain being trained.
    pub domain: &'a str,
    /// Its index in the task order.
    pub domain_index: u32,
    /// Number of domains in the task order.
    pub num_domains: u32,
    /// Optimizer step within the domain.
    pub step: u64,
    /// Optimizer step since the start of the run.
    pub global_step: u64,
}

impl<'a> From<&'a StepContext<'a>> for Context<'a> {
    fn from(c: &'a StepContext<'a>) -> Self {
        Context {
            domain: c.domain.as_str(),
            domain_index: c.domain_index,
            num_domains: c.num_domains,
            step: c.step,
            global_step: c.global_step,
        }
    }
}

impl<'a> From<Context<'a>> for StepContext<'a> {
    fn from(c: Context<'a>) -> Self {
        StepContext {
            domain: RStr::from_str(c.domain),
            domain_index: c.domain_index,
            num_domains: c.num_domains,
            step: c.step,
            global_step: c.global_step,
        }
    }
}

impl<'a> TensorView<'a> {
    /// A view of `data` with the given name and shape.
    pub fn new(name: &'a str, shape: &'a [u64], data: &'a [f32]) -> Self {
        TensorView { name: name.into(), shape: shape.into(), data: data.into() }
    }

    /// The parameter name.
    pub fn name(&self) -> &'a str {
        self.name.as_str()
    }

    /// The values.
    pub fn values(&self) -> &'a [f32] {
        self.data.as_slice()
    }

    /// The dimensions.
    pub fn dims(&self) -> &'a [u64] {
        self.shape.as_slice()
    }
}

impl<'a> TensorViewMut<'a> {
    /// A writable view of `data` with the given name and shape.
    pub fn new(name: &'a str, shape: &'a [u64], data: &'a mut [f32]) -> Self {
        TensorViewMut { name: name.into(), shape: shape.into(), data: data.into() }
    }

    /// The parameter name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The values, editable.
    pub fn values_mut(&mut self) -> &mut [f32] {
        self.data.as_mut_slice()
    }

    /// The values.
    pub fn values(&self) -> &[f32] {
        self.data.as_slice()
    }
}

/// A reward's verdict on one trajectory, the safe counterpart of [`crate::abi::RawScore`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Score {
    /// The reward.
    pub value: f64,
    /// Named components (logged as `rewards/<plugin>/<component>`).
    pub components: Vec<(String, f64)>,
}

impl Score {
    /// A score without components.
    pub fn new(value: f64) -> Self {
        Score { value, components: Vec::new() }
    }

    /// Adds a named component.
    pub fn with(mut self, name: impl Into<String>, value: f64) -> Self {
        self.components.push((name.into(), value));
        self
    }
}

/// The host's services, callable from any hook (and from any thread).
#[derive(Clone, Copy)]
pub struct Host {
    handle: HostHandle,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Host")
    }
}

fn parse_json(what: &str, text: &str) -> Result<Value, PluginError> {
    serde_json::from_str(text)
        .map_err(|e| PluginError::failed(format!("the host returned invalid JSON for {what}: {e}")))
}

impl Host {
    /// Wraps the handle the host passed to the constructor.
    pub fn from_handle(handle: HostHandle) -> Self {
        Host { handle }
    }

    /// The raw handle (for hosts and tests).
    pub fn handle(&self) -> HostHandle {
        self.handle
    }

    /// Samples `count` tasks of `domain` from the host's task pool (split `train`): a JSON array of batch items.
    pub fn sample_tasks(&self, domain: &str, count: usize) -> Result<Vec<BatchItem>, PluginError> {
        let query = serde_json::json!({"domain": domain, "count": count, "split": "train"}).to_string();
        let out = (self.handle.vtable.sample_tasks())(self.handle.context, RStr::from_str(&query)).into_result()?;
        serde_json::from_str(&out)
            .map_err(|e| PluginError::failed(format!("the host returned invalid batch items from sample_tasks: {e}")))
    }

    /// Samples stored trajectories of `domain` (at least `min_reward` when given): a JSON array.
    pub fn sample_trajectories(
        &self,
        domain: &str,
        count: usize,
        min_reward: Option<f64>,
    ) -> Result<Vec<Value>, PluginError> {
        let query = serde_json::json!({"domain": domain, "count": count, "min_reward": min_reward}).to_string();
        let out =
            (self.handle.vtable.sample_trajectories())(self.handle.context, RStr::from_str(&query)).into_result()?;
        match parse_json("sample_trajectories", &out)? {
            Value::Array(items) => Ok(items),
            other => Err(PluginError::failed(format!("sample_trajectories returned {other} instead of an array"))),
        }
    }

    /// The diagonal Fisher of the sequence log-probs of `trajectories` at the current parameters (mean over
    /// trajectories of the squared per-trajectory gradient), one tensor per trainable parameter.
    pub fn fisher_diagonal(&self, trajectories: &[Value]) -> Result<Vec<OwnedTensor>, PluginError> {
        let text = Value::Array(trajectories.to_vec()).to_string();
        let out = (self.handle.vtable.fisher_diagonal())(self.handle.context, RStr::from_str(&text)).into_result()?;
        Ok(out.into_vec())
    }

    /// Keeps a frozen copy of the current policy under `name` (for a [`LossTerm::KlToSnapshot`]).
    pub fn snapshot_policy(&self, name: &str) -> Result<(), PluginError> {
        (self.handle.vtable.snapshot_policy())(self.handle.context, RStr::from_str(name)).into_result()
    }

    /// Records a metric; it appears in `metrics.jsonl` as `<plugin>/<name>`.
    pub fn log_metric(&self, name: &str, value: f64) {
        (self.handle.vtable.log_metric())(self.handle.context, RStr::from_str(name), value)
    }

    /// Writes a log line attributed to the plugin.
    pub fn log(&self, level: LogLevel, message: &str) {
        (self.handle.vtable.log_message())(self.handle.context, level, RStr::from_str(message))
    }

    /// The next value of the plugin's seeded random stream (part of the run's RNG state, so resumes reproduce it).
    pub fn next_u64(&self) -> u64 {
        (self.handle.vtable.next_random())(self.handle.context)
    }

    /// A uniform value in `[0, 1)` from the plugin's random stream.
    pub fn next_f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Parses a plugin's configuration JSON into its typed config, with the failing key in the message.
pub fn parse_config<C: DeserializeOwned>(plugin: &str, json: &str) -> Result<C, PluginError> {
    serde_json::from_str(json).map_err(|e| {
        PluginError::invalid_config(format!(
            "invalid configuration for plugin `{plugin}`: {e} (see `retain plugin inspect` for the accepted keys)"
        ))
    })
}

/// A continual-learning strategy. Every hook has a no-op default, so a strategy implements only what it needs.
pub trait Strategy: Send + Sized + 'static {
    /// The name configs use to select it.
    const NAME: &'static str;
    /// One-line description shown by `retain plugin inspect`.
    const DESCRIPTION: &'static str;
    /// The typed configuration (use `#[serde(default, deny_unknown_fields)]`).
    type Config: DeserializeOwned;

    /// A JSON-Schema-style description of [`Self::Config`], shown by `retain plugin inspect`.
    fn config_schema() -> Value;

    /// Creates the strategy; `host` stays valid for the strategy's whole life.
    fn new(config: Self::Config, host: Host) -> Result<Self, PluginError>;

    /// Training on `ctx.domain` starts — or resumes from a mid-domain checkpoint, after `load_state`: make it
    /// idempotent (check your state before taking a snapshot, drawing random numbers or logging), so a resumed run
    /// matches the uninterrupted one.
    fn before_task(&mut self, _ctx: &Context<'_>) -> Result<(), PluginError> {
        Ok(())
    }

    /// May replace the batch (add tasks of earlier domains, reorder); `None` keeps it.
    fn augment_batch(
        &mut self,
        _ctx: &Context<'_>,
        _batch: &[BatchItem],
    ) -> Result<Option<Vec<BatchItem>>, PluginError> {
        Ok(None)
    }

    /// Extra loss terms the trainer adds before backward.
    fn loss_terms(&mut self, _ctx: &Context<'_>, _params: &[TensorView<'_>]) -> Result<Vec<LossTerm>, PluginError> {
        Ok(Vec::new())
    }

    /// Edits gradients in place after backward and before clipping (`grads[i]` belongs to `params[i]`). Called
    /// once per optimiser iteration: with `trainer.num_iterations` μ > 1, μ times per step with the same context.
    /// Writing NaN or infinity is refused by the host.
    fn adjust_gradients(
        &mut self,
        _ctx: &Context<'_>,
        _params: &[TensorView<'_>],
        _grads: &mut [TensorViewMut<'_>],
    ) -> Result<(), PluginError> {
        Ok(())
    }

    /// After the optimizer step, with the step's metrics.
    fn after_step(&mut self, _ctx: &Context<'_>, _metrics: &Value) -> Result<(), PluginError> {
        Ok(())
    }

    /// After an evaluation, with its results.
    fn after_evaluation(&mut self, _ctx: &Context<'_>, _results: &Value) -> Result<(), PluginError> {
        Ok(())
    }

    /// A domain is finished; `params` are the final parameters.
    fn after_task(&mut self, _ctx: &Context<'_>, _params: &[TensorView<'_>]) -> Result<(), PluginError> {
        Ok(())
    }

    /// The state to write into checkpoints.
    fn save_state(&mut self) -> Result<Vec<u8>, PluginError> {
        Ok(Vec::new())
    }

    /// Restores what [`Strategy::save_state`] returned.
    fn load_state(&mut self, _state: &[u8]) -> Result<(), PluginError> {
        Ok(())
    }
}

/// A reward function over trajectories.
pub trait Reward: Send + Sized + 'static {
    /// The name configs use to select it.
    const NAME: &'static str;
    /// One-line description shown by `retain plugin inspect`.
    const DESCRIPTION: &'static str;
    /// The typed configuration (use `#[serde(default, deny_unknown_fields)]`).
    type Config: DeserializeOwned;

    /// A JSON-Schema-style description of [`Self::Config`], shown by `retain plugin inspect`.
    fn config_schema() -> Value;

    /// Creates the reward; `host` stays valid for the reward's whole life.
    fn new(config: Self::Config, host: Host) -> Result<Self, PluginError>;

    /// Scores one trajectory of `task`.
    fn score(&mut self, trajectory: &Value, task: &Value) -> Result<Score, PluginError>;

    /// Scores a batch; override when the score of one item depends on the others (e.g. normalisation).
    fn score_batch(&mut self, items: &[(Value, Value)]) -> Result<Vec<Score>, PluginError> {
        items.iter().map(|(trajectory, task)| self.score(trajectory, task)).collect()
    }
}
