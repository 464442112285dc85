//! # retain's plugin API
//!
//! Continual-learning **strategies** and **reward functions** are shared libraries (`cdylib`) loaded by retain at
//! run time. This crate is all a plugin depends on: the stable ABI ([`abi`]), the JSON contracts ([`contract`]) and a
//! small safe SDK ([`Strategy`], [`Reward`], [`Host`], [`export_plugins!`]). The built-in plugins use exactly the
//! same path as yours.
//!
//! ## A plugin in a nutshell
//! ```ignore
//! use retain_plugin_api::{Host, PluginError, Strategy, export_plugins};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, Default)]
//! #[serde(default, deny_unknown_fields)]
//! pub struct Config { every: u64 }
//!
//! pub struct LogSteps { host: Host, every: u64 }
//!
//! impl Strategy for LogSteps {
//!     const NAME: &'static str = "log_steps";
//!     const DESCRIPTION: &'static str = "Logs a metric every N steps.";
//!     type Config = Config;
//!     fn config_schema() -> serde_json::Value { serde_json::json!({"type": "object"}) }
//!     fn new(config: Config, host: Host) -> Result<Self, PluginError> { Ok(LogSteps { host, every: config.every.max(1) }) }
//!     fn after_step(&mut self, ctx: &retain_plugin_api::Context<'_>, _m: &serde_json::Value) -> Result<(), PluginError> {
//!         if ctx.step % self.every == 0 { self.host.log_metric("step", ctx.step as f64) }
//!         Ok(())
//!     }
//! }
//!
//! export_plugins! { description: "Example strategies", strategies: [LogSteps], rewards: [] }
//! ```
//! Build it with `crate-type = ["cdylib"]` and name it in a run config:
//! `[[plugins.strategies]] name = "log_steps", path = "target/release/liblog_steps.so"`.
//!
//! ## ABI and versioning
//! * One root module per library ([`abi::PluginLib`]), found through abi_stable's library header. It lists the
//!   library's exports (any number of strategies and rewards, each with a name, a description and a config schema)
//!   and holds one `extern "C"` function per hook; instances are opaque pointers.
//! * **The crate version is the ABI version** ([`ABI_MAJOR`].[`ABI_MINOR`]). At load time abi_stable refuses a
//!   library whose major differs from the host's, then compares the layout of every type reachable from the root
//!   module (a plugin built against an incompatible copy of this crate is refused, never called). A minor release
//!   only appends fields to the prefix types ([`abi::PluginLib`], [`abi::HostVTable`]); code reading a newer field
//!   from an older library gets `None`.
//! * Nothing of a tensor library crosses: parameters and gradients are named, borrowed `f32` slices
//!   ([`abi::TensorView`], [`abi::TensorViewMut`]); configs, batches, trajectories, tasks, metrics and loss terms are
//!   JSON strings; plugin state is bytes.
//! * Every hook returns `RResult<_, PluginError>`. The SDK catches panics inside the library and returns them as
//!   [`abi::ErrorKind::Panicked`]; no unwind ever crosses the boundary. (An abort — stack overflow, `abort()` —
//!   cannot be caught: plugins are trusted native code.)
//!
//! ## Hooks (strategies), in call order
//! `before_task` → per step: `augment_batch` → rollouts and rewards → `loss_terms` → backward → `adjust_gradients`
//! → optimizer step → `after_step`; `after_evaluation` after each evaluation; `after_task` when a domain ends;
//! `save_state`/`load_state` at checkpoints and resumes. Strategies run in (priority, name) order.
//!
//! ## Host services
//! [`Host`]: `sample_tasks` / `sample_trajectories` (from the task pools and trajectory buffers, e.g. earlier
//! domains for replay), `fisher_diagonal` (mean over given trajectories of the squared gradient of each
//! trajectory's sequence log-prob — the SAMPLE Fisher estimator for EWC), `snapshot_policy` (for a
//! [`contract::LossTerm::KlToSnapshot`]), `log_metric` (appears as `<plugin>/<name>` in `metrics.jsonl`), `log`,
//! and a seeded random stream per plugin (`next_u64`), saved with the run's RNG state.
//!
//! ## The trajectory JSON contract (what reward plugins receive)
//! ```json
//! {
//!   "domain": "airline",
//!   "task_id": "12",
//!   "messages": [
//!     {"role": "system", "content": "…"},
//!     {"role": "assistant", "content": "…", "tool_calls": [{"id": "c1", "name": "get_user_details",
//!                                                           "arguments": {"user_id": "…"}}]},
//!     {"role": "tool", "id": "c1", "content": "{…}", "error": false},
//!     {"role": "user", "content": "…"}
//!   ],
//!   "termination": "agent_stop",
//!   "evaluation": {"reward": 1.0, "components": {"db": 1.0, "communicate": 1.0}},
//!   "write_tools": ["book_reservation", "cancel_reservation"],
//!   "rewards": {"task_success": {"value": 1.0, "components": {"db": 1.0}}}
//! }
//! ```
//! * `messages` follow τ²'s message shape; `termination` is τ²'s termination reason.
//! * `evaluation` is the host's τ² evaluation of the episode (reward = product of the reward-basis components;
//!   0 for episodes ended by step limit or too many errors).
//! * `write_tools` names the domain's tools that modify the database (the host knows them from the domain).
//! * `rewards` holds the results of the reward plugins that ran earlier in (priority, name) order, so a composite
//!   reward can combine them. The task JSON is the τ² task ([`contract::TaskView`] reads the gold actions).
//!
//! Unknown fields are ignored by [`contract::Trajectory`], so the host may add fields in a minor release.

pub mod abi;
pub mod contract;
pub mod export;
pub mod sdk;

pub use abi::{ErrorKind, LogLevel, OwnedTensor, PluginError, PluginKind, TensorView, TensorViewMut};
pub use contract::{BatchItem, LossTerm};
pub use sdk::{Context, Host, Reward, Score, Strategy, parse_config};

/// Re-exported so that the code [`export_plugins!`] generates can name it from the plugin crate.
pub use abi_stable;

/// Parses a decimal version component at compile time.
const fn parse_component(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let mut value = 0u32;
    let mut i = 0;
    while i < bytes.len() {
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}

/// ABI major version: a host loads only plugins built against the same major.
pub const ABI_MAJOR: u32 = parse_component(env!("CARGO_PKG_VERSION_MAJOR"));

/// ABI minor version: minors only append hooks, so any minor of the same major loads.
pub const ABI_MINOR: u32 = parse_component(env!("CARGO_PKG_VERSION_MINOR"));

/// The ABI version as text (`major.minor.patch`), as recorded in checkpoint manifests.
pub const ABI_VERSION: &str = env!("CARGO_PKG_VERSION");
