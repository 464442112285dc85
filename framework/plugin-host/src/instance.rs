//! Live plugin instances: a strategy or a reward created from a loaded library, with typed, panic-safe calls.
//! A plugin that panicked once is refused afterwards (its state may be half-updated).

use crate::error::PluginHostError;
use crate::library::{Library, load_library};
use crate::resolve::resolve_library;
use crate::services::{HostServices, PluginContext};
use abi_stable::std_types::{RResult, RSlice, RSliceMut, RStr};
use retain_config::PluginSpec;
use retain_plugin_api::abi::{RewardPtr, ScoreInput, StepContext, StrategyPtr};
use retain_plugin_api::contract::{BatchItem, LossTerm};
use retain_plugin_api::{Context, ErrorKind, PluginError, PluginKind, Score, TensorView, TensorViewMut};
use serde_json::Value;
use std::sync::Arc;

/// What both plugin kinds share: identity, library, host context, poisoning.
struct Core {
    spec: PluginSpec,
    library: Arc<Library>,
    context: Box<PluginContext>,
    poisoned: bool,
}

impl Core {
    fn load(
        spec: &PluginSpec,
        kind: PluginKind,
        services: Arc<dyn HostServices>,
        seed: u64,
    ) -> Result<Self, PluginHostError> {
        let path = resolve_library(&spec.name, spec.path.as_deref())?;
        let library = load_library(&spec.name, &path)?;
        if library.export(kind, &spec.name).is_none() {
            let available: Vec<&str> =
                library.exports.iter().filter(|e| e.kind == kind.as_str()).map(|e| e.name.as_str()).collect();
            return Err(PluginHostError::UnknownExport {
                plugin: spec.name.clone(),
                message: format!(
                    "library {} exports no {} named `{}` (it exports: {})",
                    library.path.display(),
                    kind.as_str(),
                    spec.name,
                    if available.is_empty() { "none".to_owned() } else { available.join(", ") }
                ),
            });
        }
        let context = PluginContext::new(&spec.name, services, seed);
        Ok(Core { spec: spec.clone(), library, context, poisoned: false })
    }

    fn error(&self, hook: &'static str, error: PluginError) -> PluginHostError {
        let plugin = self.spec.name.clone();
        let message = error.message.into_string();
        match error.kind {
            ErrorKind::InvalidConfig => PluginHostError::InvalidConfig { plugin, message },
            ErrorKind::UnknownExport => PluginHostError::UnknownExport { plugin, message },
            ErrorKind::Panicked => PluginHostError::Panicked { plugin, hook, message },
            ErrorKind::Failed | ErrorKind::Unavailable => PluginHostError::Failed { plugin, hook, message },
        }
    }

    /// Checks poisoning, converts the result, and poisons on a panic.
    fn call<T>(
        &mut self,
        hook: &'static str,
        f: impl FnOnce() -> RResult<T, PluginError>,
    ) -> Result<T, PluginHostError> {
        if self.poisoned {
            return Err(PluginHostError::Poisoned { plugin: self.spec.name.clone(), hook });
        }
        f().into_result().map_err(|e| {
            if e.kind == ErrorKind::Panicked {
                self.poisoned = true;
            }
            self.error(hook, e)
        })
    }

    fn invalid(&self, hook: &'static str, message: String) -> PluginHostError {
        PluginHostError::InvalidOutput { plugin: self.spec.name.clone(), hook, message }
    }
}

/// A continual-learning strategy loaded from a plugin library.
pub struct StrategyPlugin {
    core: Core,
    ptr: StrategyPtr,
}

// SAFETY: the SDK requires strategies to be `Send`; the host context is thread-safe; calls take `&mut self`.
unsafe impl Send for StrategyPlugin {}

impl std::fmt::Debug for StrategyPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyPlugin")
            .field("name", &self.core.spec.name)
            .field("library", &self.core.library.path)
            .finish()
    }
}

impl StrategyPlugin {
    /// Loads the library named by `spec` (once per process) and creates the strategy with `spec.config`.
    /// `seed` seeds the plugin's random stream.
    pub fn load(spec: &PluginSpec, services: Arc<dyn HostServices>, seed: u64) -> Result<Self, PluginHostError> {
        let mut core = Core::load(spec, PluginKind::Strategy, services, seed)?;
        let config = spec.config.to_string();
        let module = core.library.module;
        let handle = core.context.handle();
        let name = spec.name.clone();
        let ptr =
            core.call("new", || (module.strategy_new())(RStr::from_str(&name), RStr::from_str(&config), handle))?;
        Ok(StrategyPlugin { core, ptr })
    }

    /// The plugin's name (as in the config).
    pub fn name(&self) -> &str {
        &self.core.spec.name
    }

    /// The spec it was loaded from.
    pub fn spec(&self) -> &PluginSpec {
        &self.core.spec
    }

    /// The library it lives in.
    pub fn library(&self) -> &Arc<Library> {
        &self.core.library
    }

    /// The state of the plugin's random stream (save it with the run's RNG state).
    pub fn rng_state(&self) -> u64 {
        self.core.context.rng_state()
    }

    /// Restores the plugin's random stream.
    pub fn set_rng_state(&self, state: u64) {
        self.core.context.set_rng_state(state)
    }

    /// Training on a domain starts.
    pub fn before_task(&mut self, ctx: &Context<'_>) -> Result<(), PluginHostError> {
        let (module, ptr, c) = (self.core.library.module, self.ptr, StepContext::from(*ctx));
        self.core.call("before_task", || (module.strategy_before_task())(ptr, &c))
    }

    /// The batch after this strategy's changes (the input when it keeps it).
    pub fn augment_batch(&mut self, ctx: &Context<'_>, batch: &[BatchItem]) -> Result<Vec<BatchItem>, PluginHostError> {
        let (module, ptr, c) = (self.core.library.module, self.ptr, StepContext::from(*ctx));
        let text = serde_json::to_string(batch).map_err(|e| self.core.invalid("augment_batch", e.to_string()))?;
        let out =
            self.core.call("augment_batch", || (module.strategy_augment_batch())(ptr, &c, RStr::from_str(&text)))?;
        match out.into_option() {
            None => Ok(batch.to_vec()),
            Some(json) => serde_json::from_str(json.as_str())
                .map_err(|e| self.core.invalid("augment_batch", format!("not a JSON array of batch items: {e}"))),
        }
    }

    /// This step's extra loss terms.
    pub fn loss_terms(
        &mut self,
        ctx: &Context<'_>,
        params: &[TensorView<'_>],
    ) -> Result<Vec<LossTerm>, PluginHostError> {
        let (module, ptr, c) = (self.core.library.module, self.ptr, StepContext::from(*ctx));
        let json =
            self.core.call("loss_terms", || (module.strategy_loss_terms())(ptr, &c, RSlice::from_slice(params)))?;
        serde_json::from_str(json.as_str())
            .map_err(|e| self.core.invalid("loss_terms", format!("not a JSON array of loss terms: {e}")))
    }

    /// Lets the strategy edit the gradients in place (`grads[i]` belongs to `params[i]`).
    pub fn adjust_gradients(
        &mut self,
        ctx: &Context<'_>,
        params: &[TensorView<'_>],
        grads: &mut [TensorViewMut<'_>],
    ) -> Result<(), PluginHostError> {
        let (module, ptr, c) = (self.core.library.module, self.ptr, StepContext::from(*ctx));
        self.core.call("adjust_gradients", || {
            (module.strategy_adjust_gradients())(ptr, &c, RSlice::from_slice(params), RSliceMut::from_mut_slice(grads))
        })
    }

    /// After the optimizer step, with the step's metrics.
    pub fn after_step(&mut self, ctx: &Context<'_>, metrics: &Value) -> Result<(), PluginHostError> {
        let (module, ptr, c) = (self.core.library.module, self.ptr, StepContext::from(*ctx));
        let text = metrics.to_string();
        self.core.call("after_step", || (module.strategy_after_step())(ptr, &c, RStr::from_str(&text)))
    }

    /// After an evaluation, with its results.
    pub fn after_evaluation(&mut self, ctx: &Context<'_>, results: &Value) -> Result<(), PluginHostError> {
        let (module, ptr, c) = (self.core.library.module, self.ptr, StepContext::from(*ctx));
        let text = results.to_string();
        self.core.call("after_evaluation", || (module.strategy_after_evaluation())(ptr, &c, RStr::from_str(&text)))
    }

    /// A domain is finished.
    pub fn after_task(&mut self, ctx: &Context<'_>, params: &[TensorView<'_>]) -> Result<(), PluginHostError> {
        let (module, ptr, c) = (self.core.library.module, self.ptr, StepContext::from(*ctx));
        self.core.call("after_task", || (module.strategy_after_task())(ptr, &c, RSlice::from_slice(params)))
    }

    /// The strategy's state, for the checkpoint.
    pub fn save_state(&mut self) -> Result<Vec<u8>, PluginHostError> {
        let (module, ptr) = (self.core.library.module, self.ptr);
        Ok(self.core.call("save_state", || (module.strategy_save_state())(ptr))?.into_vec())
    }

    /// Restores a state from a checkpoint.
    pub fn load_state(&mut self, state: &[u8]) -> Result<(), PluginHostError> {
        let (module, ptr) = (self.core.library.module, self.ptr);
        self.core.call("load_state", || (module.strategy_load_state())(ptr, RSlice::from_slice(state)))
    }
}

impl Drop for StrategyPlugin {
    fn drop(&mut self) {
        // The instance goes first; the host context (in `core`) is dropped after this body.
        (self.core.library.module.strategy_drop())(self.ptr);
    }
}

/// A reward function loaded from a plugin library.
pub struct RewardPlugin {
    core: Core,
    ptr: RewardPtr,
}

// SAFETY: the SDK requires rewards to be `Send`; the host context is thread-safe; calls take `&mut self`.
unsafe impl Send for RewardPlugin {}

impl std::fmt::Debug for RewardPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RewardPlugin")
            .field("name", &self.core.spec.name)
            .field("library", &self.core.library.path)
            .finish()
    }
}

impl RewardPlugin {
    /// Loads the library named by `spec` (once per process) and creates the reward with `spec.config`.
    pub fn load(spec: &PluginSpec, services: Arc<dyn HostServices>, seed: u64) -> Result<Self, PluginHostError> {
        let mut core = Core::load(spec, PluginKind::Reward, services, seed)?;
        let config = spec.config.to_string();
        let module = core.library.module;
        let handle = core.context.handle();
        let name = spec.name.clone();
        let ptr = core.call("new", || (module.reward_new())(RStr::from_str(&name), RStr::from_str(&config), handle))?;
        Ok(RewardPlugin { core, ptr })
    }

    /// The plugin's name (as in the config).
    pub fn name(&self) -> &str {
        &self.core.spec.name
    }

    /// The spec it was loaded from (its `weight` is used by [`crate::RewardPipeline`]).
    pub fn spec(&self) -> &PluginSpec {
        &self.core.spec
    }

    /// The library it lives in.
    pub fn library(&self) -> &Arc<Library> {
        &self.core.library
    }

    /// The state of the plugin's random stream (save it with the run's RNG state).
    pub fn rng_state(&self) -> u64 {
        self.core.context.rng_state()
    }

    /// Restores the plugin's random stream.
    pub fn set_rng_state(&self, state: u64) {
        self.core.context.set_rng_state(state)
    }

    /// Scores `(trajectory JSON, task JSON)` pairs, one score per pair, in order.
    pub fn score_batch(&mut self, items: &[(&str, &str)]) -> Result<Vec<Score>, PluginHostError> {
        let (module, ptr) = (self.core.library.module, self.ptr);
        let inputs: Vec<ScoreInput<'_>> = items
            .iter()
            .map(|(trajectory, task)| ScoreInput { trajectory: RStr::from_str(trajectory), task: RStr::from_str(task) })
            .collect();
        let raw = self.core.call("score", || (module.reward_score_batch())(ptr, RSlice::from_slice(&inputs)))?;
        if raw.len() != items.len() {
            return Err(self.core.invalid("score", format!("{} scores for {} trajectories", raw.len(), items.len())));
        }
        Ok(raw
            .into_iter()
            .map(|s| Score {
                value: s.value,
                components: s.components.into_iter().map(|c| (c.name.into_string(), c.value)).collect(),
            })
            .collect())
    }

    /// Scores one trajectory.
    pub fn score(&mut self, trajectory: &Value, task: &Value) -> Result<Score, PluginHostError> {
        let (t, k) = (trajectory.to_string(), task.to_string());
        let mut scores = self.score_batch(&[(&t, &k)])?;
        scores.pop().ok_or_else(|| self.core.invalid("score", "no score returned".to_owned()))
    }
}

impl Drop for RewardPlugin {
    fn drop(&mut self) {
        (self.core.library.module.reward_drop())(self.ptr);
    }
}
