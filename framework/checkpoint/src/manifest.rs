//! `manifest.json`: what a checkpoint holds and how to check it — every file with its size and sha256, where the
//! checkpoint sits in the run, the configuration hash and the plugins in call order. The manifest carries its own
//! checksum, so an edited or damaged manifest is caught as surely as a damaged model file.

use crate::error::{CheckpointError, Result};
use crate::hash::{ConfigHash, hash_bytes};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Newest manifest format this build writes and reads. Older versions stay readable; newer ones are refused with
/// a request to upgrade.
pub const FORMAT_VERSION: u32 = 1;

/// File name of the manifest inside a checkpoint directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The manifest of one checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format of this manifest ([`FORMAT_VERSION`] when written by this build).
    pub format_version: u32,
    /// Directory name the checkpoint was written under (`checkpoint_task_{i}[_step_{s}]`).
    pub name: String,
    /// 0-based index of the domain in the task order.
    pub domain_index: usize,
    /// Name of that domain, when the trainer gave it.
    pub domain: Option<String>,
    /// Optimizer steps done inside the domain for a mid-domain checkpoint; `None` after the domain ended.
    pub step: Option<u64>,
    /// Optimizer steps since the start of the run.
    pub global_step: u64,
    /// The checkpoint of the same run this one continues from (absent for the first one).
    pub parent: Option<CheckpointRef>,
    /// The checkpoint whose weights started this run (`--init-from`), if any.
    pub init_from: Option<CheckpointRef>,
    /// Hash of the resolved configuration the checkpoint was written under.
    pub config_hash: ConfigHash,
    /// Plugins in call order, with versions and where their saved state is.
    pub plugins: Vec<PluginEntry>,
    /// Every file of the checkpoint except the manifest, sorted by path.
    pub files: Vec<FileEntry>,
    /// Who wrote the checkpoint and when.
    pub created: CreationInfo,
    /// sha256 of this manifest serialised compactly with `checksum` set to the empty string.
    pub checksum: String,
}

/// A reference to another checkpoint, pinned by its manifest checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRef {
    /// Directory name (for a parent in the same run) or path as given (for `--init-from`).
    pub path: String,
    /// The referenced manifest's `checksum`.
    pub checksum: String,
}

/// One file of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path inside the checkpoint, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// sha256 of the content, lower-case hex.
    pub sha256: String,
}

/// A plugin as the trainer loaded it: enough to check that a resume calls the same plugins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginInfo {
    /// `strategy` or `reward`.
    pub kind: String,
    /// Name from the config (unique per kind; also the state directory name).
    pub name: String,
    /// Version of the plugin's library.
    pub version: String,
    /// Name of the library that provides it.
    pub library: String,
    /// ABI version the library was built against.
    pub abi_version: String,
    /// Priority from the config (call order is priority, then name).
    pub priority: i32,
}

/// A plugin as recorded in the manifest: its identity plus where its saved state is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    /// The plugin.
    pub plugin: PluginInfo,
    /// `plugins/<name>/state.bin` when the plugin saved state, else `None`.
    pub state_file: Option<String>,
}

/// Who wrote a checkpoint and when (informational; never part of the resume result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreationInfo {
    /// Version of the retain checkpoint store that wrote it.
    pub retain_version: String,
    /// Seconds since the Unix epoch.
    pub unix_time_s: u64,
}

impl Manifest {
    /// The checksum this manifest should carry: sha256 of its compact JSON with `checksum` empty.
    pub fn compute_checksum(&self) -> Result<String> {
        let mut blank = self.clone();
        blank.checksum = String::new();
        let json = serde_json::to_vec(&blank)
            .map_err(|source| CheckpointError::Json { what: "the manifest".into(), source })?;
        Ok(hash_bytes(&json))
    }

    /// Sets `checksum` and serialises the manifest for writing (pretty, so users can read it).
    pub(crate) fn seal(&mut self) -> Result<Vec<u8>> {
        self.checksum = self.compute_checksum()?;
        let mut json = serde_json::to_vec_pretty(self)
            .map_err(|source| CheckpointError::Json { what: "the manifest".into(), source })?;
        json.push(b'\n');
        Ok(json)
    }

    /// Parses and checks a manifest's bytes: format version first (so a newer format gets the upgrade message,
    /// not a parse error), then the shape, then the checksum.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Manifest> {
        let invalid = |reason: String| CheckpointError::InvalidManifest { path: path.to_owned(), reason };
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        let version = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| invalid("no integer `format_version`".into()))?;
        if version > u64::from(FORMAT_VERSION) {
            return Err(CheckpointError::NewerFormat {
                path: path.to_owned(),
                found: u32::try_from(version).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
            });
        }
        let manifest: Manifest = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        let found = manifest.compute_checksum()?;
        if found != manifest.checksum {
            return Err(CheckpointError::ManifestChecksum {
                path: path.to_owned(),
                expected: manifest.checksum.clone(),
                found,
            });
        }
        Ok(manifest)
    }

    /// The entry of a file, by its path inside the checkpoint.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Total size of the checkpoint's files (without the manifest).
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}
