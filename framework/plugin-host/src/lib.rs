//! # retain-plugin-host
//!
//! The host side of retain's plugin ABI ([`retain_plugin_api`]): finds a plugin's library ([`resolve`]), loads it
//! once per process after abi_stable's version and layout checks ([`library`]), creates strategies and rewards
//! from their config ([`instance`]), orders them by (priority, name) and combines rewards ([`pipeline`]), and
//! offers the trainer's services to plugins ([`services`]). Every failure is a [`PluginHostError`] naming the
//! plugin; plugin panics are caught inside the plugin library and reported, never unwound through the host.
//!
//! Plugins are trusted native code: a plugin can still abort the process (stack overflow, `abort`), and libraries
//! are never unloaded.

pub mod error;
pub mod instance;
pub mod library;
pub mod pipeline;
pub mod resolve;
pub mod services;

pub use error::PluginHostError;
pub use instance::{RewardPlugin, StrategyPlugin};
pub use library::{ExportInfo, Library, host_abi_version, load_library};
pub use pipeline::{PluginRecord, PluginSet, RewardBreakdown, RewardPipeline, call_order};
pub use resolve::{builtin_file_name, builtin_search_dirs, resolve_library};
pub use services::{HostServices, NoServices, PluginRng};

use serde::Serialize;
use std::path::{Path, PathBuf};

/// What `retain plugin inspect` prints about a library.
#[derive(Debug, Clone, Serialize)]
pub struct LibraryReport {
    /// The file.
    pub path: PathBuf,
    /// Library name.
    pub name: String,
    /// Library version.
    pub version: String,
    /// One-line description.
    pub description: String,
    /// ABI version the library was built against.
    pub abi_version: String,
    /// ABI version of this host.
    pub host_abi_version: String,
    /// Strategies and rewards, each with its config schema.
    pub exports: Vec<ExportInfo>,
}

/// Loads the library at `path` (or the built-in named `path` when no such file exists and it is a bare name) and
/// describes it.
pub fn inspect(path: &Path) -> Result<LibraryReport, PluginHostError> {
    let label =
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
    let is_bare_name = path.components().count() == 1 && path.extension().is_none();
    let file = if !path.exists() && is_bare_name { resolve_library(&label, None)? } else { path.to_path_buf() };
    let library = load_library(&label, &file)?;
    Ok(LibraryReport {
        path: library.path.clone(),
        name: library.name.clone(),
        version: library.version.clone(),
        description: library.description.clone(),
        abi_version: library.abi_version.clone(),
        host_abi_version: host_abi_version().to_owned(),
        exports: library.exports.clone(),
    })
}
