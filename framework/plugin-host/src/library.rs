//! Loading plugin libraries: each file is loaded once per process and never unloaded (abi_stable does not support
//! unloading, and instances may outlive any one user), after abi_stable's version and layout checks.

use crate::error::PluginHostError;
use abi_stable::library::{LibraryError, RootModule, lib_header_from_path};
use retain_plugin_api::PluginKind;
use retain_plugin_api::abi::PluginLibRef;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// One strategy or reward a library exports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportInfo {
    /// `strategy` or `reward`.
    pub kind: &'static str,
    /// The name configs use.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// The accepted configuration, as the plugin describes it.
    pub config_schema: serde_json::Value,
}

/// A loaded plugin library and what it declares about itself.
pub struct Library {
    /// The file it was loaded from (canonical).
    pub path: PathBuf,
    /// Library name.
    pub name: String,
    /// Library version.
    pub version: String,
    /// One-line description.
    pub description: String,
    /// The plugin ABI version the library was built against.
    pub abi_version: String,
    /// Its strategies and rewards.
    pub exports: Vec<ExportInfo>,
    pub(crate) module: PluginLibRef,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("version", &self.version)
            .field("abi_version", &self.abi_version)
            .field("exports", &self.exports)
            .finish_non_exhaustive()
    }
}

impl Library {
    /// The export of this kind and name, if the library has it.
    pub fn export(&self, kind: PluginKind, name: &str) -> Option<&ExportInfo> {
        self.exports.iter().find(|e| e.kind == kind.as_str() && e.name == name)
    }
}

/// Libraries loaded so far, by canonical path.
fn loaded() -> &'static Mutex<HashMap<PathBuf, Arc<Library>>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<Library>>>> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// abi_stable's layout reports run to hundreds of lines; this keeps what differs: for every `Error:` line, the
/// type being compared and the expected and found values (falling back to the report's first lines).
fn summarize_layout_report(report: &str) -> String {
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(error) = line.strip_prefix("Error:") else { continue };
        let ty = lines[..i]
            .iter()
            .rposition(|l| *l == "Layout of expected type:")
            .and_then(|start| lines[start..i].iter().find_map(|l| l.strip_prefix("type:")))
            .unwrap_or("?");
        let value_after = |label: &str| {
            lines[i + 1..]
                .iter()
                .take(6)
                .position(|l| *l == label)
                .and_then(|p| lines.get(i + 2 + p))
                .copied()
                .unwrap_or("?")
        };
        out.push(format!(
            "in type `{ty}`: {error} (expected {}, found {})",
            value_after("Expected:"),
            value_after("Found:")
        ));
    }
    if out.is_empty() {
        let mut first: Vec<&str> = lines.into_iter().take(24).collect();
        first.push("… (report truncated)");
        first.join("\n")
    } else {
        out.join("\n")
    }
}

fn map_load_error(plugin: &str, path: &Path, error: LibraryError) -> PluginHostError {
    let not_a_plugin =
        |reason: String| PluginHostError::NotAPlugin { plugin: plugin.to_owned(), path: path.to_path_buf(), reason };
    match error {
        LibraryError::OpenError { err, .. } => not_a_plugin(format!("it cannot be loaded as a shared library ({err})")),
        LibraryError::GetSymbolError { .. } => not_a_plugin(
            "it exports no plugin root module (a retain plugin is a cdylib that invokes \
             `retain_plugin_api::export_plugins!`)"
                .to_owned(),
        ),
        LibraryError::InvalidAbiHeader(header) => PluginHostError::LayoutMismatch {
            plugin: plugin.to_owned(),
            path: path.to_path_buf(),
            report: format!("the library uses an incompatible abi_stable ({header:?})"),
        },
        LibraryError::IncompatibleVersionNumber { expected_version, actual_version, .. } => {
            PluginHostError::AbiMajorMismatch {
                plugin: plugin.to_owned(),
                path: path.to_path_buf(),
                expected: expected_version.to_string(),
                found: actual_version.to_string(),
            }
        }
        LibraryError::AbiInstability(report) => PluginHostError::LayoutMismatch {
            plugin: plugin.to_owned(),
            path: path.to_path_buf(),
            report: summarize_layout_report(&report.to_string()),
        },
        LibraryError::RootModule { err, .. } => not_a_plugin(format!("its root module failed to initialise: {err}")),
        other => not_a_plugin(other.to_string()),
    }
}

/// Loads (once) the library at `path` for plugin `plugin` (the name used in error messages).
pub fn load_library(plugin: &str, path: &Path) -> Result<Arc<Library>, PluginHostError> {
    if !path.is_file() {
        return Err(PluginHostError::NotFound {
            plugin: plugin.to_owned(),
            searched: vec![path.to_path_buf()],
            hint: String::new(),
        });
    }
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut cache = loaded().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(library) = cache.get(&canonical) {
        return Ok(Arc::clone(library));
    }
    let header = lib_header_from_path(&canonical).map_err(|e| map_load_error(plugin, &canonical, e))?;
    let abi_version = header.version_strings().version.to_string();
    let module: PluginLibRef =
        header.init_root_module::<PluginLibRef>().map_err(|e| map_load_error(plugin, &canonical, e))?;
    let info = (module.library_info())();
    let exports = (module.exports())()
        .into_iter()
        .map(|e| ExportInfo {
            kind: e.kind.as_str(),
            name: e.name.into_string(),
            description: e.description.into_string(),
            config_schema: serde_json::from_str(e.config_schema.as_str())
                .unwrap_or_else(|_| serde_json::Value::String(e.config_schema.into_string())),
        })
        .collect();
    let library = Arc::new(Library {
        path: canonical.clone(),
        name: info.name.into_string(),
        version: info.version.into_string(),
        description: info.description.into_string(),
        abi_version,
        exports,
        module,
    });
    tracing::debug!(plugin, path = %canonical.display(), library = %library.name, "loaded plugin library");
    cache.insert(canonical, Arc::clone(&library));
    Ok(library)
}

/// The ABI version this host speaks (`retain-plugin-api`'s version).
pub fn host_abi_version() -> &'static str {
    <PluginLibRef as RootModule>::VERSION_STRINGS.version.as_str()
}
