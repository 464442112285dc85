//! The library side of the ABI: the registry of a library's exports, the `extern "C"` shims that turn root-module
//! calls into trait calls (catching every panic), and the [`crate::export_plugins!`] macro that ties them together.

use crate::abi::{
    ErrorKind, ExportDecl, HostHandle, LibraryInfo, PluginError, PluginKind, PluginLib, PluginLibRef, RawScore,
    RewardPtr, ScoreComponent, ScoreInput, StepContext, StrategyPtr, TensorView, TensorViewMut,
};
use crate::contract::BatchItem;
use crate::sdk::{Context, Host, Reward, Score, Strategy, parse_config};
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RErr, ROk, ROption, RResult, RSlice, RSliceMut, RStr, RString, RVec};
use serde_json::Value;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

/// The symbol abi_stable looks up in every library (`abi_stable::library::ROOT_MODULE_LOADER_NAME`); the export
/// macro defines a static of this name. A unit test keeps it in sync with abi_stable.
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// Name, version and description of a plugin library.
#[derive(Debug, Clone, Copy)]
pub struct LibraryMeta {
    /// Library name (the crate name).
    pub name: &'static str,
    /// Library version (the crate version).
    pub version: &'static str,
    /// One-line description.
    pub description: &'static str,
}

type MakeStrategy = fn(&str, Host) -> Result<Box<dyn DynStrategy>, PluginError>;
type MakeReward = fn(&str, Host) -> Result<Box<dyn DynReward>, PluginError>;

#[derive(Clone, Copy)]
enum Maker {
    Strategy(MakeStrategy),
    Reward(MakeReward),
}

/// One entry of a library's export table, built by [`crate::export_plugins!`].
#[derive(Clone, Copy)]
pub struct Export {
    name: &'static str,
    description: &'static str,
    schema: fn() -> Value,
    maker: Maker,
}

impl Export {
    /// The export entry of strategy `S`.
    pub const fn strategy<S: Strategy>() -> Self {
        Export {
            name: S::NAME,
            description: S::DESCRIPTION,
            schema: S::config_schema,
            maker: Maker::Strategy(make_strategy::<S>),
        }
    }

    /// The export entry of reward `R`.
    pub const fn reward<R: Reward>() -> Self {
        Export {
            name: R::NAME,
            description: R::DESCRIPTION,
            schema: R::config_schema,
            maker: Maker::Reward(make_reward::<R>),
        }
    }

    fn kind(&self) -> PluginKind {
        match self.maker {
            Maker::Strategy(_) => PluginKind::Strategy,
            Maker::Reward(_) => PluginKind::Reward,
        }
    }
}

struct Registry {
    meta: LibraryMeta,
    exports: &'static [Export],
}

/// One registry per library: each cdylib links its own copy of this crate, hence its own static.
static REGISTRY: OnceLock<Registry> = OnceLock::new();

fn registry() -> Result<&'static Registry, PluginError> {
    REGISTRY.get().ok_or_else(|| PluginError::failed("the plugin library was used before its root module was loaded"))
}

/// Builds the library's root module; called once by the loader through the code [`crate::export_plugins!`] emits.
pub fn root_module(meta: LibraryMeta, exports: &'static [Export]) -> PluginLibRef {
    let _ = REGISTRY.set(Registry { meta, exports });
    PluginLib {
        library_info,
        exports: export_decls,
        strategy_new,
        strategy_drop,
        strategy_before_task,
        strategy_augment_batch,
        strategy_loss_terms,
        strategy_adjust_gradients,
        strategy_after_step,
        strategy_after_evaluation,
        strategy_after_task,
        strategy_save_state,
        strategy_load_state,
        reward_new,
        reward_drop,
        reward_score_batch,
    }
    .leak_into_prefix()
}

/// Runs `f`, turning a panic into [`ErrorKind::Panicked`] so that no unwind crosses the boundary.
fn guard<T>(f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => ROk(value),
        Ok(Err(error)) => RErr(error),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            RErr(PluginError::new(ErrorKind::Panicked, message))
        }
    }
}

extern "C" fn library_info() -> LibraryInfo {
    let meta = REGISTRY.get().map(|r| r.meta).unwrap_or(LibraryMeta { name: "", version: "", description: "" });
    LibraryInfo { name: meta.name.into(), version: meta.version.into(), description: meta.description.into() }
}

extern "C" fn export_decls() -> RVec<ExportDecl> {
    let Some(registry) = REGISTRY.get() else { return RVec::new() };
    registry
        .exports
        .iter()
        .map(|e| {
            let schema = catch_unwind(e.schema)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| r#"{"error":"the config schema function panicked"}"#.to_owned());
            ExportDecl {
                kind: e.kind(),
                name: e.name.into(),
                description: e.description.into(),
                config_schema: schema.into(),
            }
        })
        .collect()
}

fn find_export(kind: PluginKind, name: &str) -> Result<&'static Export, PluginError> {
    let registry = registry()?;
    registry.exports.iter().find(|e| e.kind() == kind && e.name == name).ok_or_else(|| {
        let available: Vec<&str> = registry.exports.iter().filter(|e| e.kind() == kind).map(|e| e.name).collect();
        PluginError::new(
            ErrorKind::UnknownExport,
            format!(
                "library `{}` exports no {} named `{name}` (it exports: {})",
                registry.meta.name,
                kind.as_str(),
                if available.is_empty() { "none".to_owned() } else { available.join(", ") }
            ),
        )
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Strategies.

/// The object-safe form of [`Strategy`], used only inside the library that created the object.
trait DynStrategy: Send {
    fn before_task(&mut self, ctx: &Context<'_>) -> Result<(), PluginError>;
    fn augment_batch(&mut self, ctx: &Context<'_>, batch: &str) -> Result<Option<String>, PluginError>;
    fn loss_terms(&mut self, ctx: &Context<'_>, params: &[TensorView<'_>]) -> Result<String, PluginError>;
    fn adjust_gradients(
        &mut self,
        ctx: &Context<'_>,
        params: &[TensorView<'_>],
        grads: &mut [TensorViewMut<'_>],
    ) -> Result<(), PluginError>;
    fn after_step(&mut self, ctx: &Context<'_>, metrics: &str) -> Result<(), PluginError>;
    fn after_evaluation(&mut self, ctx: &Context<'_>, results: &str) -> Result<(), PluginError>;
    fn after_task(&mut self, ctx: &Context<'_>, params: &[TensorView<'_>]) -> Result<(), PluginError>;
    fn save_state(&mut self) -> Result<Vec<u8>, PluginError>;
    fn load_state(&mut self, state: &[u8]) -> Result<(), PluginError>;
}

fn parse_value(what: &str, text: &str) -> Result<Value, PluginError> {
    serde_json::from_str(text).map_err(|e| PluginError::failed(format!("the host passed invalid JSON as {what}: {e}")))
}

fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, PluginError> {
    serde_json::to_string(value).map_err(|e| PluginError::failed(format!("could not serialise {what}: {e}")))
}

impl<S: Strategy> DynStrategy for S {
    fn before_task(&mut self, ctx: &Context<'_>) -> Result<(), PluginError> {
        Strategy::before_task(self, ctx)
    }

    fn augment_batch(&mut self, ctx: &Context<'_>, batch: &str) -> Result<Option<String>, PluginError> {
        let items: Vec<BatchItem> = serde_json::from_str(batch)
            .map_err(|e| PluginError::failed(format!("the host passed an invalid batch: {e}")))?;
        match Strategy::augment_batch(self, ctx, &items)? {
            Some(new_batch) => Ok(Some(to_json("the augmented batch", &new_batch)?)),
            None => Ok(None),
        }
    }

    fn loss_terms(&mut self, ctx: &Context<'_>, params: &[TensorView<'_>]) -> Result<String, PluginError> {
        to_json("loss terms", &Strategy::loss_terms(self, ctx, params)?)
    }

    fn adjust_gradients(
        &mut self,
        ctx: &Context<'_>,
        params: &[TensorView<'_>],
        grads: &mut [TensorViewMut<'_>],
    ) -> Result<(), PluginError> {
        Strategy::adjust_gradients(self, ctx, params, grads)
    }

    fn after_step(&mut self, ctx: &Context<'_>, metrics: &str) -> Result<(), PluginError> {
        Strategy::after_step(self, ctx, &parse_value("step metrics", metrics)?)
    }

    fn after_evaluation(&mut self, ctx: &Context<'_>, results: &str) -> Result<(), PluginError> {
        Strategy::after_evaluation(self, ctx, &parse_value("evaluation results", results)?)
    }

    fn after_task(&mut self, ctx: &Context<'_>, params: &[TensorView<'_>]) -> Result<(), PluginError> {
        Strategy::after_task(self, ctx, params)
    }

    fn save_state(&mut self) -> Result<Vec<u8>, PluginError> {
        Strategy::save_state(self)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), PluginError> {
        Strategy::load_state(self, state)
    }
}

fn make_strategy<S: Strategy>(config: &str, host: Host) -> Result<Box<dyn DynStrategy>, PluginError> {
    let config = parse_config::<S::Config>(S::NAME, config)?;
    Ok(Box::new(S::new(config, host)?))
}

/// The instance behind a pointer the host got from `strategy_new`.
///
/// # Safety
/// `ptr` must come from `strategy_new` of this library and not have been dropped; the host guarantees exclusive
/// access for the duration of a call.
unsafe fn strategy<'a>(ptr: StrategyPtr) -> Result<&'a mut dyn DynStrategy, PluginError> {
    // SAFETY: per the function contract, a non-null pointer is a live `Box<Box<dyn DynStrategy>>`.
    let boxed = unsafe { ptr.cast::<Box<dyn DynStrategy>>().as_mut() };
    boxed.map(|b| b.as_mut()).ok_or_else(|| PluginError::failed("null strategy instance"))
}

extern "C" fn strategy_new(name: RStr<'_>, config: RStr<'_>, host: HostHandle) -> RResult<StrategyPtr, PluginError> {
    guard(|| {
        let export = find_export(PluginKind::Strategy, name.as_str())?;
        let Maker::Strategy(make) = export.maker else { return Err(PluginError::failed("export kind mismatch")) };
        let instance = make(config.as_str(), Host::from_handle(host))?;
        Ok(Box::into_raw(Box::new(instance)).cast())
    })
}

extern "C" fn strategy_drop(ptr: StrategyPtr) {
    if ptr.is_null() {
        return;
    }
    // A panicking destructor must not unwind into the host; the instance is gone either way.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the host calls this once, with a pointer from `strategy_new`.
        drop(unsafe { Box::from_raw(ptr.cast::<Box<dyn DynStrategy>>()) });
    }));
}

extern "C" fn strategy_before_task(ptr: StrategyPtr, ctx: &StepContext<'_>) -> RResult<(), PluginError> {
    // SAFETY: `ptr` comes from `strategy_new` (host contract).
    guard(|| unsafe { strategy(ptr) }?.before_task(&Context::from(ctx)))
}

extern "C" fn strategy_augment_batch(
    ptr: StrategyPtr,
    ctx: &StepContext<'_>,
    batch: RStr<'_>,
) -> RResult<ROption<RString>, PluginError> {
    guard(|| {
        // SAFETY: `ptr` comes from `strategy_new` (host contract).
        let out = unsafe { strategy(ptr) }?.augment_batch(&Context::from(ctx), batch.as_str())?;
        Ok(out.map(RString::from).into())
    })
}

extern "C" fn strategy_loss_terms(
    ptr: StrategyPtr,
    ctx: &StepContext<'_>,
    params: RSlice<'_, TensorView<'_>>,
) -> RResult<RString, PluginError> {
    // SAFETY: `ptr` comes from `strategy_new` (host contract).
    guard(|| Ok(unsafe { strategy(ptr) }?.loss_terms(&Context::from(ctx), params.as_slice())?.into()))
}

extern "C" fn strategy_adjust_gradients(
    ptr: StrategyPtr,
    ctx: &StepContext<'_>,
    params: RSlice<'_, TensorView<'_>>,
    mut grads: RSliceMut<'_, TensorViewMut<'_>>,
) -> RResult<(), PluginError> {
    guard(|| {
        if params.len() != grads.len() {
            return Err(PluginError::failed(format!(
                "adjust_gradients got {} parameters but {} gradients",
                params.len(),
                grads.len()
            )));
        }
        // SAFETY: `ptr` comes from `strategy_new` (host contract).
        unsafe { strategy(ptr) }?.adjust_gradients(&Context::from(ctx), params.as_slice(), grads.as_mut_slice())
    })
}

extern "C" fn strategy_after_step(
    ptr: StrategyPtr,
    ctx: &StepContext<'_>,
    metrics: RStr<'_>,
) -> RResult<(), PluginError> {
    // SAFETY: `ptr` comes from `strategy_new` (host contract).
    guard(|| unsafe { strategy(ptr) }?.after_step(&Context::from(ctx), metrics.as_str()))
}

extern "C" fn strategy_after_evaluation(
    ptr: StrategyPtr,
    ctx: &StepContext<'_>,
    results: RStr<'_>,
) -> RResult<(), PluginError> {
    // SAFETY: `ptr` comes from `strategy_new` (host contract).
    guard(|| unsafe { strategy(ptr) }?.after_evaluation(&Context::from(ctx), results.as_str()))
}

extern "C" fn strategy_after_task(
    ptr: StrategyPtr,
    ctx: &StepContext<'_>,
    params: RSlice<'_, TensorView<'_>>,
) -> RResult<(), PluginError> {
    // SAFETY: `ptr` comes from `strategy_new` (host contract).
    guard(|| unsafe { strategy(ptr) }?.after_task(&Context::from(ctx), params.as_slice()))
}

extern "C" fn strategy_save_state(ptr: StrategyPtr) -> RResult<RVec<u8>, PluginError> {
    // SAFETY: `ptr` comes from `strategy_new` (host contract).
    guard(|| Ok(unsafe { strategy(ptr) }?.save_state()?.into()))
}

extern "C" fn strategy_load_state(ptr: StrategyPtr, state: RSlice<'_, u8>) -> RResult<(), PluginError> {
    // SAFETY: `ptr` comes from `strategy_new` (host contract).
    guard(|| unsafe { strategy(ptr) }?.load_state(state.as_slice()))
}

// ---------------------------------------------------------------------------------------------------------------
// Rewards.

/// The object-safe form of [`Reward`], used only inside the library that created the object.
trait DynReward: Send {
    fn score_batch(&mut self, items: &[(Value, Value)]) -> Result<Vec<Score>, PluginError>;
}

impl<R: Reward> DynReward for R {
    fn score_batch(&mut self, items: &[(Value, Value)]) -> Result<Vec<Score>, PluginError> {
        Reward::score_batch(self, items)
    }
}

fn make_reward<R: Reward>(config: &str, host: Host) -> Result<Box<dyn DynReward>, PluginError> {
    let config = parse_config::<R::Config>(R::NAME, config)?;
    Ok(Box::new(R::new(config, host)?))
}

extern "C" fn reward_new(name: RStr<'_>, config: RStr<'_>, host: HostHandle) -> RResult<RewardPtr, PluginError> {
    guard(|| {
        let export = find_export(PluginKind::Reward, name.as_str())?;
        let Maker::Reward(make) = export.maker else { return Err(PluginError::failed("export kind mismatch")) };
        let instance = make(config.as_str(), Host::from_handle(host))?;
        Ok(Box::into_raw(Box::new(instance)).cast())
    })
}

extern "C" fn reward_drop(ptr: RewardPtr) {
    if ptr.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the host calls this once, with a pointer from `reward_new`.
        drop(unsafe { Box::from_raw(ptr.cast::<Box<dyn DynReward>>()) });
    }));
}

extern "C" fn reward_score_batch(
    ptr: RewardPtr,
    inputs: RSlice<'_, ScoreInput<'_>>,
) -> RResult<RVec<RawScore>, PluginError> {
    guard(|| {
        // SAFETY: a non-null pointer is a live `Box<Box<dyn DynReward>>` from `reward_new` (host contract).
        let reward = unsafe { ptr.cast::<Box<dyn DynReward>>().as_mut() }
            .ok_or_else(|| PluginError::failed("null reward instance"))?;
        let items = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                Ok((
                    parse_value(&format!("trajectory {i}"), input.trajectory.as_str())?,
                    parse_value(&format!("task {i}"), input.task.as_str())?,
                ))
            })
            .collect::<Result<Vec<_>, PluginError>>()?;
        let scores = reward.score_batch(&items)?;
        if scores.len() != items.len() {
            return Err(PluginError::failed(format!(
                "score_batch returned {} scores for {} trajectories",
                scores.len(),
                items.len()
            )));
        }
        Ok(scores
            .into_iter()
            .map(|s| RawScore {
                value: s.value,
                components: s
                    .components
                    .into_iter()
                    .map(|(name, value)| ScoreComponent { name: name.into(), value })
                    .collect(),
            })
            .collect())
    })
}

/// Exports a library's strategies and rewards as a retain plugin library (one root module per library).
///
/// ```ignore
/// retain_plugin_api::export_plugins! {
///     description: "My strategies",
///     strategies: [MyStrategy],
///     rewards: [MyReward],
/// }
/// ```
/// Invoke it once, at the root of a `cdylib` crate. Library name and version come from the crate's manifest.
#[macro_export]
macro_rules! export_plugins {
    (
        description: $description:expr,
        strategies: [$($strategy:ty),* $(,)?],
        rewards: [$($reward:ty),* $(,)?] $(,)?
    ) => {
        /// The library header abi_stable looks up when loading this library (generated by `export_plugins!`).
        #[allow(non_upper_case_globals)]
        #[unsafe(no_mangle)]
        pub static _1as_0lib_1header_0root_bmodule_bloader: $crate::abi_stable::library::LibHeader = {
            extern "C" fn __retain_erased_root_module() -> $crate::abi_stable::library::RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader(__retain_root_module)
            }
            // SAFETY: the constructor returns the root module of type `PluginLibRef`, as declared here.
            unsafe {
                $crate::abi_stable::library::LibHeader::from_constructor::<$crate::abi::PluginLibRef>(
                    __retain_erased_root_module,
                    $crate::abi_stable::library::CheckTypeLayout::Yes,
                )
            }
        };

        fn __retain_root_module() -> $crate::abi::PluginLibRef {
            static EXPORTS: &[$crate::export::Export] = &[
                $($crate::export::Export::strategy::<$strategy>(),)*
                $($crate::export::Export::reward::<$reward>(),)*
            ];
            $crate::export::root_module(
                $crate::export::LibraryMeta {
                    name: env!("CARGO_PKG_NAME"),
                    version: env!("CARGO_PKG_VERSION"),
                    description: $description,
                },
                EXPORTS,
            )
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(ROOT_MODULE_SYMBOL, abi_stable::library::ROOT_MODULE_LOADER_NAME);
    }
}
