//! The types that cross the library boundary. Everything here is `#[repr(C)]` and derives [`StableAbi`], so
//! abi_stable compares the host's and the plugin's layouts recursively when a library is loaded.
//!
//! Plugin authors do not use these types directly: the SDK ([`crate::Strategy`], [`crate::Reward`],
//! [`crate::export_plugins!`]) generates the root module and converts to and from these types.

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{ROption, RResult, RSlice, RSliceMut, RStr, RString, RVec},
};

/// What kind of plugin an export is.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// A continual-learning strategy (hooks around training).
    Strategy,
    /// A reward function (scores trajectories).
    Reward,
}

impl PluginKind {
    /// The lowercase name used in configs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Strategy => "strategy",
            PluginKind::Reward => "reward",
        }
    }
}

/// Why a plugin call failed; the host turns each kind into its own typed error.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The configuration JSON did not match the plugin's config type.
    InvalidConfig,
    /// No export of that name and kind in this library.
    UnknownExport,
    /// The plugin returned an error from a hook.
    Failed,
    /// The plugin panicked; the panic was caught at the boundary.
    Panicked,
    /// A host service the plugin asked for is not available in this host (e.g. no trainer during inspection).
    Unavailable,
}

/// An error crossing the boundary in either direction (plugin → host or host service → plugin).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PluginError {
    /// Which failure it is.
    pub kind: ErrorKind,
    /// Human-readable description, naming what went wrong and how to fix it.
    pub message: RString,
}

/// Metadata of a whole library.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LibraryInfo {
    /// Library name (usually the crate name).
    pub name: RString,
    /// Library version (usually the crate version).
    pub version: RString,
    /// One-line description.
    pub description: RString,
}

/// One strategy or reward exported by a library.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ExportDecl {
    /// Strategy or reward.
    pub kind: PluginKind,
    /// The name a config uses to select it.
    pub name: RString,
    /// One-line description.
    pub description: RString,
    /// A JSON document describing the accepted configuration (JSON-Schema style, written by the plugin author).
    pub config_schema: RString,
}

/// Where training is when a strategy hook is called.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct StepContext<'a> {
    /// Name of the domain being trained (e.g. `airline`).
    pub domain: RStr<'a>,
    /// Index of that domain in the task order (0-based).
    pub domain_index: u32,
    /// Number of domains in the task order.
    pub num_domains: u32,
    /// Optimizer step within the current domain.
    pub step: u64,
    /// Optimizer step since the start of the run.
    pub global_step: u64,
}

/// A named, borrowed, read-only `f32` tensor (row-major, contiguous), valid for the duration of one call.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct TensorView<'a> {
    /// Parameter name (e.g. `model.layers.0.mlp.up_proj.weight`).
    pub name: RStr<'a>,
    /// Dimensions.
    pub shape: RSlice<'a, u64>,
    /// Values; `data.len()` is the product of `shape`.
    pub data: RSlice<'a, f32>,
}

/// A named, borrowed, writable `f32` tensor (a gradient the plugin may edit in place), valid for one call.
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct TensorViewMut<'a> {
    /// Parameter name, the same as the matching [`TensorView`].
    pub name: RStr<'a>,
    /// Dimensions.
    pub shape: RSlice<'a, u64>,
    /// Values, editable in place.
    pub data: RSliceMut<'a, f32>,
}

/// A named tensor owned by whoever receives it (host services that compute tensors return these).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct OwnedTensor {
    /// Parameter name.
    pub name: RString,
    /// Dimensions.
    pub shape: RVec<u64>,
    /// Values.
    pub data: RVec<f32>,
}

/// One trajectory to score, with its task; both JSON (see the crate docs for the contract).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct ScoreInput<'a> {
    /// The trajectory JSON.
    pub trajectory: RStr<'a>,
    /// The task JSON (τ² task schema).
    pub task: RStr<'a>,
}

/// A named part of a reward, logged separately (e.g. `failures/step_repetition`).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct ScoreComponent {
    /// Component name.
    pub name: RString,
    /// Component value.
    pub value: f64,
}

/// A reward plugin's verdict on one trajectory.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct RawScore {
    /// The reward.
    pub value: f64,
    /// Named components, for logging and for composite rewards.
    pub components: RVec<ScoreComponent>,
}

/// Severity of a message a plugin logs through the host.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Detailed diagnostics.
    Debug,
    /// Normal progress.
    Info,
    /// Something looks wrong but the run continues.
    Warn,
}

/// Opaque host-side state behind a [`HostHandle`]; only the host knows what it is.
#[repr(C)]
#[derive(StableAbi)]
pub struct HostContext {
    _private: [u8; 0],
}

/// The services the host offers to plugins, as a table of functions taking the host's context.
///
/// A prefix type: fields after the last prefix field may be added in later ABI minors, and a plugin built against
/// an older minor simply does not see them.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = HostVTableRef)))]
#[sabi(missing_field(option))]
pub struct HostVTable {
    /// Samples tasks: `query` is `{"domain": …, "count": n, "split": "train"}`; returns a JSON array of
    /// `{"domain": …, "task": {…}}` items (the shape of a batch item).
    pub sample_tasks: extern "C" fn(*const HostContext, RStr<'_>) -> RResult<RString, PluginError>,
    /// Samples stored trajectories: `query` is `{"domain": …, "count": n, "min_reward": r?}`; returns a JSON array
    /// of trajectories (the shape documented in the crate docs).
    pub sample_trajectories: extern "C" fn(*const HostContext, RStr<'_>) -> RResult<RString, PluginError>,
    /// The diagonal Fisher estimate for the given trajectories (a JSON array): for every trainable parameter, the
    /// mean over trajectories of the squared gradient of the trajectory's sequence log-prob (sum of its action
    /// token log-probs) at the current parameters.
    pub fisher_diagonal: extern "C" fn(*const HostContext, RStr<'_>) -> RResult<RVec<OwnedTensor>, PluginError>,
    /// Keeps a frozen copy of the current policy under a name, so that a `kl_to_snapshot` loss term can use it.
    pub snapshot_policy: extern "C" fn(*const HostContext, RStr<'_>) -> RResult<(), PluginError>,
    /// Records a metric; the host prefixes it with the plugin's name in `metrics.jsonl`.
    pub log_metric: extern "C" fn(*const HostContext, RStr<'_>, f64),
    /// Writes a log line attributed to the plugin.
    pub log_message: extern "C" fn(*const HostContext, LogLevel, RStr<'_>),
    /// The next value of the plugin's own seeded random stream (saved with the run's RNG state).
    #[sabi(last_prefix_field)]
    pub next_random: extern "C" fn(*const HostContext) -> u64,
}

/// The host's services as handed to a plugin instance: the host keeps `context` alive and valid for as long as
/// the instance lives, and its functions may be called from any thread.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostHandle {
    /// Host-side state, passed back to every function of `vtable`.
    pub context: *const HostContext,
    /// The service functions.
    pub vtable: HostVTableRef,
}

// SAFETY: the host promises (see `HostHandle` docs) that the context is thread-safe and outlives the instance.
unsafe impl Send for HostHandle {}
// SAFETY: as above; every service takes `&self`-like access to a thread-safe context.
unsafe impl Sync for HostHandle {}

/// Opaque plugin-side strategy instance.
#[repr(C)]
#[derive(StableAbi)]
pub struct StrategyInstance {
    _private: [u8; 0],
}

/// Opaque plugin-side reward instance.
#[repr(C)]
#[derive(StableAbi)]
pub struct RewardInstance {
    _private: [u8; 0],
}

/// A created strategy, owned by the host until it passes it to `strategy_drop`.
pub type StrategyPtr = *mut StrategyInstance;
/// A created reward, owned by the host until it passes it to `reward_drop`.
pub type RewardPtr = *mut RewardInstance;

/// The root module every retain plugin library exports (one per library). It lists the library's exports and
/// holds one function per hook; instances are opaque pointers created by `strategy_new` / `reward_new`.
///
/// Every fallible function returns `RResult<_, PluginError>`; the SDK catches panics inside the library and
/// returns them as [`ErrorKind::Panicked`], so no unwind ever crosses the boundary.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginLibRef)))]
#[sabi(missing_field(option))]
pub struct PluginLib {
    /// Library name, version and description.
    pub library_info: extern "C" fn() -> LibraryInfo,
    /// The strategies and rewards of this library.
    pub exports: extern "C" fn() -> RVec<ExportDecl>,

    /// Creates the strategy `name` from its configuration JSON.
    pub strategy_new: extern "C" fn(RStr<'_>, RStr<'_>, HostHandle) -> RResult<StrategyPtr, PluginError>,
    /// Destroys a strategy instance.
    pub strategy_drop: extern "C" fn(StrategyPtr),
    /// Called when training on a domain starts (also when it resumes from a mid-domain checkpoint).
    pub strategy_before_task: extern "C" fn(StrategyPtr, &StepContext<'_>) -> RResult<(), PluginError>,
    /// Given the batch (JSON array of `{"domain", "task"}`), returns a new batch, or none to keep it.
    pub strategy_augment_batch:
        extern "C" fn(StrategyPtr, &StepContext<'_>, RStr<'_>) -> RResult<ROption<RString>, PluginError>,
    /// Extra loss terms for this step, as a JSON array of [`crate::LossTerm`] the trainer adds before backward.
    pub strategy_loss_terms:
        extern "C" fn(StrategyPtr, &StepContext<'_>, RSlice<'_, TensorView<'_>>) -> RResult<RString, PluginError>,
    /// After backward, before the optimizer step: may edit the gradients in place (same order as the parameters).
    pub strategy_adjust_gradients: extern "C" fn(
        StrategyPtr,
        &StepContext<'_>,
        RSlice<'_, TensorView<'_>>,
        RSliceMut<'_, TensorViewMut<'_>>,
    ) -> RResult<(), PluginError>,
    /// After the optimizer step, with the step's metrics as a JSON object.
    pub strategy_after_step: extern "C" fn(StrategyPtr, &StepContext<'_>, RStr<'_>) -> RResult<(), PluginError>,
    /// After an evaluation, with its results as a JSON object (`{"domain_index", "per_domain": {name: success}}`).
    pub strategy_after_evaluation: extern "C" fn(StrategyPtr, &StepContext<'_>, RStr<'_>) -> RResult<(), PluginError>,
    /// When a domain is finished, with the final parameters (EWC's anchor; call host services for Fisher).
    pub strategy_after_task:
        extern "C" fn(StrategyPtr, &StepContext<'_>, RSlice<'_, TensorView<'_>>) -> RResult<(), PluginError>,
    /// The strategy's state as bytes, written into the checkpoint.
    pub strategy_save_state: extern "C" fn(StrategyPtr) -> RResult<RVec<u8>, PluginError>,
    /// Restores the state saved by `strategy_save_state` (on resume).
    pub strategy_load_state: extern "C" fn(StrategyPtr, RSlice<'_, u8>) -> RResult<(), PluginError>,

    /// Creates the reward `name` from its configuration JSON.
    pub reward_new: extern "C" fn(RStr<'_>, RStr<'_>, HostHandle) -> RResult<RewardPtr, PluginError>,
    /// Destroys a reward instance.
    pub reward_drop: extern "C" fn(RewardPtr),
    /// Scores a batch (a GRPO group or a whole step), one result per input, in order.
    #[sabi(last_prefix_field)]
    pub reward_score_batch:
        extern "C" fn(RewardPtr, RSlice<'_, ScoreInput<'_>>) -> RResult<RVec<RawScore>, PluginError>,
}

impl RootModule for PluginLibRef {
    declare_root_module_statics! {PluginLibRef}
    const BASE_NAME: &'static str = "retain_plugin";
    const NAME: &'static str = "retain plugin";
    // The crate version is the ABI version: abi_stable refuses a library whose major differs from the host's.
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
