//! The host services plugins may call, seen from the host: the trainer implements [`HostServices`]; this module
//! turns it into the ABI's function table, one context per plugin instance (so metrics and random streams are the
//! plugin's own), and keeps host-side panics from unwinding into plugin code.

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RErr, ROk, RResult, RStr, RString, RVec};
use retain_plugin_api::abi::{HostContext, HostHandle, HostVTable, HostVTableRef, OwnedTensor};
use retain_plugin_api::{ErrorKind, LogLevel, PluginError};
use serde_json::Value;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};

/// What the trainer offers plugins. Every method has a default: the data services answer "unavailable" (so a
/// host without a trainer, like `retain plugin inspect`, still works) and logging goes to `tracing`.
/// `plugin` is the calling plugin's name. Errors are messages returned to the plugin.
pub trait HostServices: Send + Sync {
    /// Tasks for `query` = `{"domain", "count", "split"}`: a JSON array of `{"domain", "task"}`.
    fn sample_tasks(&self, plugin: &str, query: &Value) -> Result<Value, String> {
        let _ = query;
        Err(format!("sample_tasks is not available to `{plugin}` in this host (no trainer)"))
    }

    /// Stored trajectories for `query` = `{"domain", "count", "min_reward"}`: a JSON array.
    fn sample_trajectories(&self, plugin: &str, query: &Value) -> Result<Value, String> {
        let _ = query;
        Err(format!("sample_trajectories is not available to `{plugin}` in this host (no trainer)"))
    }

    /// The diagonal Fisher of the given trajectories' sequence log-probs at the current parameters.
    fn fisher_diagonal(&self, plugin: &str, trajectories: &Value) -> Result<Vec<OwnedTensor>, String> {
        let _ = trajectories;
        Err(format!("fisher_diagonal is not available to `{plugin}` in this host (no trainer)"))
    }

    /// Keeps a frozen copy of the current policy under `name`.
    fn snapshot_policy(&self, plugin: &str, name: &str) -> Result<(), String> {
        Err(format!("snapshot_policy(`{name}`) is not available to `{plugin}` in this host (no trainer)"))
    }

    /// Records metric `<plugin>/<name>`.
    fn log_metric(&self, plugin: &str, name: &str, value: f64) {
        tracing::info!(plugin, metric = name, value, "plugin metric");
    }

    /// A log line from a plugin.
    fn log_message(&self, plugin: &str, level: LogLevel, message: &str) {
        match level {
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
        }
    }
}

/// Services for hosts without a trainer (inspection, reward-only use): data services are unavailable.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoServices;

impl HostServices for NoServices {}

/// SplitMix64: a tiny, well-mixed generator whose whole state is one `u64`, easy to checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginRng {
    state: u64,
}

impl PluginRng {
    /// The stream of plugin `name` in a run seeded with `seed` (different plugins get unrelated streams).
    pub fn for_plugin(seed: u64, name: &str) -> Self {
        // FNV-1a of the name, so the stream does not depend on the plugin's position in the config.
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for byte in name.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        PluginRng { state: seed ^ hash }
    }

    /// Restores a saved state.
    pub fn from_state(state: u64) -> Self {
        PluginRng { state }
    }

    /// The state to save.
    pub fn state(&self) -> u64 {
        self.state
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The host-side state behind one plugin instance's [`HostHandle`]. Boxed, so its address is stable while the
/// instance lives; dropped only after the instance.
pub(crate) struct PluginContext {
    pub(crate) plugin: String,
    pub(crate) services: Arc<dyn HostServices>,
    pub(crate) rng: Mutex<PluginRng>,
}

impl PluginContext {
    pub(crate) fn new(plugin: &str, services: Arc<dyn HostServices>, seed: u64) -> Box<Self> {
        Box::new(PluginContext {
            plugin: plugin.to_owned(),
            services,
            rng: Mutex::new(PluginRng::for_plugin(seed, plugin)),
        })
    }

    /// The handle given to the plugin; valid while `self` is.
    pub(crate) fn handle(&self) -> HostHandle {
        HostHandle { context: (self as *const PluginContext).cast::<HostContext>(), vtable: vtable() }
    }

    pub(crate) fn rng_state(&self) -> u64 {
        self.rng.lock().unwrap_or_else(|p| p.into_inner()).state()
    }

    pub(crate) fn set_rng_state(&self, state: u64) {
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = PluginRng::from_state(state);
    }
}

fn vtable() -> HostVTableRef {
    struct Table(HostVTableRef);
    // SAFETY: the table is immutable after creation and holds only function pointers.
    unsafe impl Send for Table {}
    // SAFETY: as above.
    unsafe impl Sync for Table {}
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            Table(
                HostVTable {
                    sample_tasks,
                    sample_trajectories,
                    fisher_diagonal,
                    snapshot_policy,
                    log_metric,
                    log_message,
                    next_random,
                }
                .leak_into_prefix(),
            )
        })
        .0
}

/// The context behind a handle this module created.
///
/// # Safety
/// `ctx` must come from [`PluginContext::handle`] of a context that is still alive.
unsafe fn context<'a>(ctx: *const HostContext) -> &'a PluginContext {
    // SAFETY: per the function contract.
    unsafe { &*ctx.cast::<PluginContext>() }
}

/// Runs a service, turning host panics and error messages into a `PluginError` for the plugin.
fn serve<T>(ctx: *const HostContext, f: impl FnOnce(&PluginContext) -> Result<T, String>) -> RResult<T, PluginError> {
    // SAFETY: plugins only get handles from live contexts (the context outlives the instance).
    let context = unsafe { context(ctx) };
    match catch_unwind(AssertUnwindSafe(|| f(context))) {
        Ok(Ok(value)) => ROk(value),
        Ok(Err(message)) => RErr(PluginError::new(ErrorKind::Unavailable, message)),
        Err(_) => RErr(PluginError::failed("the host panicked while serving the request")),
    }
}

fn parse_query(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("invalid JSON query: {e}"))
}

extern "C" fn sample_tasks(ctx: *const HostContext, query: RStr<'_>) -> RResult<RString, PluginError> {
    serve(ctx, |c| {
        let query = parse_query(query.as_str())?;
        Ok(c.services.sample_tasks(&c.plugin, &query)?.to_string().into())
    })
}

extern "C" fn sample_trajectories(ctx: *const HostContext, query: RStr<'_>) -> RResult<RString, PluginError> {
    serve(ctx, |c| {
        let query = parse_query(query.as_str())?;
        Ok(c.services.sample_trajectories(&c.plugin, &query)?.to_string().into())
    })
}

extern "C" fn fisher_diagonal(
    ctx: *const HostContext,
    trajectories: RStr<'_>,
) -> RResult<RVec<OwnedTensor>, PluginError> {
    serve(ctx, |c| {
        let trajectories = parse_query(trajectories.as_str())?;
        Ok(c.services.fisher_diagonal(&c.plugin, &trajectories)?.into())
    })
}

extern "C" fn snapshot_policy(ctx: *const HostContext, name: RStr<'_>) -> RResult<(), PluginError> {
    serve(ctx, |c| c.services.snapshot_policy(&c.plugin, name.as_str()))
}

extern "C" fn log_metric(ctx: *const HostContext, name: RStr<'_>, value: f64) {
    let _ = serve(ctx, |c| {
        c.services.log_metric(&c.plugin, name.as_str(), value);
        Ok(())
    });
}

extern "C" fn log_message(ctx: *const HostContext, level: LogLevel, message: RStr<'_>) {
    let _ = serve(ctx, |c| {
        c.services.log_message(&c.plugin, level, message.as_str());
        Ok(())
    });
}

extern "C" fn next_random(ctx: *const HostContext) -> u64 {
    // SAFETY: plugins only get handles from live contexts.
    let context = unsafe { context(ctx) };
    context.rng.lock().unwrap_or_else(|p| p.into_inner()).next_u64()
}
