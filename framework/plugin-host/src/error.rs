//! Every way loading or calling a plugin can fail, each naming the plugin (as named in the config) and saying
//! how to fix it.

use std::path::PathBuf;

/// A plugin failure. `plugin` is the name from the run config (or the file name for `retain plugin inspect`).
#[derive(Debug, thiserror::Error)]
pub enum PluginHostError {
    /// The library file does not exist (or no built-in of that name was found).
    #[error(
        "plugin `{plugin}`: library not found; looked for {}{hint}",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NotFound {
        /// Plugin name.
        plugin: String,
        /// Every path that was tried.
        searched: Vec<PathBuf>,
        /// How to fix it.
        hint: String,
    },
    /// The file is not a retain plugin library (not a shared library, or one without a retain root module).
    #[error("plugin `{plugin}`: {} is not a retain plugin library: {reason}", path.display())]
    NotAPlugin {
        /// Plugin name.
        plugin: String,
        /// The library file.
        path: PathBuf,
        /// What the loader found instead.
        reason: String,
    },
    /// The library was built against a different major version of the plugin ABI.
    #[error(
        "plugin `{plugin}`: {} was built against plugin ABI {found}, but this retain speaks ABI {expected}; \
         rebuild the plugin against retain-plugin-api {expected}",
        path.display()
    )]
    AbiMajorMismatch {
        /// Plugin name.
        plugin: String,
        /// The library file.
        path: PathBuf,
        /// The host's ABI version.
        expected: String,
        /// The library's ABI version.
        found: String,
    },
    /// The library's types do not have the layout the host expects (abi_stable's load-time check).
    #[error(
        "plugin `{plugin}`: {} has an incompatible ABI layout (built against a modified or mismatched \
         retain-plugin-api); rebuild it against this retain's plugin API. Layout check report:\n{report}",
        path.display()
    )]
    LayoutMismatch {
        /// Plugin name.
        plugin: String,
        /// The library file.
        path: PathBuf,
        /// The beginning of abi_stable's report.
        report: String,
    },
    /// The library does not export a strategy/reward of that name.
    #[error("plugin `{plugin}`: {message}")]
    UnknownExport {
        /// Plugin name.
        plugin: String,
        /// The library's explanation, listing what it exports.
        message: String,
    },
    /// The plugin rejected its configuration.
    #[error("plugin `{plugin}`: {message}")]
    InvalidConfig {
        /// Plugin name.
        plugin: String,
        /// What is wrong with the config.
        message: String,
    },
    /// A hook returned an error.
    #[error("plugin `{plugin}` failed in `{hook}`: {message}")]
    Failed {
        /// Plugin name.
        plugin: String,
        /// The hook that failed.
        hook: &'static str,
        /// The plugin's message.
        message: String,
    },
    /// A hook panicked; the panic was caught inside the library and did not cross the boundary.
    #[error("plugin `{plugin}` panicked in `{hook}`: {message}; the plugin is disabled for the rest of the run")]
    Panicked {
        /// Plugin name.
        plugin: String,
        /// The hook that panicked.
        hook: &'static str,
        /// The panic message.
        message: String,
    },
    /// A hook was called on a plugin that panicked before.
    #[error("plugin `{plugin}` cannot run `{hook}`: it panicked earlier and its state may be inconsistent")]
    Poisoned {
        /// Plugin name.
        plugin: String,
        /// The hook that was refused.
        hook: &'static str,
    },
    /// A hook returned something that breaks the ABI contract (invalid JSON, wrong number of scores, …).
    #[error("plugin `{plugin}` returned an invalid result from `{hook}`: {message}")]
    InvalidOutput {
        /// Plugin name.
        plugin: String,
        /// The hook.
        hook: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl PluginHostError {
    /// The plugin the error is about.
    pub fn plugin(&self) -> &str {
        match self {
            PluginHostError::NotFound { plugin, .. }
            | PluginHostError::NotAPlugin { plugin, .. }
            | PluginHostError::AbiMajorMismatch { plugin, .. }
            | PluginHostError::LayoutMismatch { plugin, .. }
            | PluginHostError::UnknownExport { plugin, .. }
            | PluginHostError::InvalidConfig { plugin, .. }
            | PluginHostError::Failed { plugin, .. }
            | PluginHostError::Panicked { plugin, .. }
            | PluginHostError::Poisoned { plugin, .. }
            | PluginHostError::InvalidOutput { plugin, .. } => plugin,
        }
    }
}
