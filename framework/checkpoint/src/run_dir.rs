//! A run directory's checkpoints: listing them in run order, the `latest` pointer, keep-last-K pruning of
//! mid-domain checkpoints, cleanup of temporaries left by a killed writer, and `--fallback`'s search for the
//! newest checkpoint that verifies.

use crate::checkpoint::Checkpoint;
use crate::error::{CheckpointError, Result};
use crate::fsutil::Durability;
use crate::manifest::MANIFEST_FILE;
use crate::name::CheckpointName;
use crate::writer::{CheckpointMeta, CheckpointWriter, WriteOptions};
use std::path::{Path, PathBuf};

/// File name of the run-level pointer to the newest checkpoint (its directory name and a newline).
pub const LATEST_FILE: &str = "latest";

/// Prefix of everything the store writes temporarily inside a run directory; such entries are never checkpoints.
pub const TEMP_PREFIX: &str = ".tmp.";

/// A run directory (`runs/<name>/`) as the checkpoint store sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

/// A checkpoint `--fallback` passed over, and why.
#[derive(Debug)]
pub struct Skipped {
    /// Directory name of the checkpoint.
    pub name: String,
    /// Why it was rejected.
    pub error: CheckpointError,
}

/// The result of [`RunDir::find_latest_valid`].
#[derive(Debug)]
pub struct Fallback {
    /// The newest checkpoint that verified.
    pub checkpoint: Checkpoint,
    /// Newer checkpoints that did not, newest first.
    pub skipped: Vec<Skipped>,
}

impl RunDir {
    /// A run directory at `path` (nothing is read or created yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RunDir { path: path.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where checkpoint `name` lives.
    pub fn checkpoint_dir(&self, name: CheckpointName) -> PathBuf {
        self.path.join(name.to_string())
    }

    /// Starts writing checkpoint `meta.name` (fails if it exists: checkpoints are immutable).
    pub fn begin(&self, meta: CheckpointMeta, options: WriteOptions) -> Result<CheckpointWriter> {
        CheckpointWriter::begin(self.clone(), meta, options)
    }

    /// The checkpoint directories present, oldest first in run order (temporaries and other entries ignored).
    pub fn checkpoints(&self) -> Result<Vec<CheckpointName>> {
        let entries = match std::fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CheckpointError::io(&self.path, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CheckpointError::io(&self.path, e))?;
            let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            if let Ok(name) = file_name.parse::<CheckpointName>()
                && entry.path().is_dir()
            {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// The checkpoint `latest` names; `None` when the run has no `latest` yet. A pointer that is unreadable or
    /// names no checkpoint directory is an error.
    pub fn latest(&self) -> Result<Option<CheckpointName>> {
        let path = self.path.join(LATEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CheckpointError::io(&path, e)),
        };
        let bad = |reason: String| CheckpointError::BadLatest { run_dir: self.path.clone(), reason };
        let name: CheckpointName =
            text.trim().parse().map_err(|_| bad(format!("`latest` holds {:?}, not a checkpoint name", text.trim())))?;
        if !self.checkpoint_dir(name).join(MANIFEST_FILE).is_file() {
            return Err(bad(format!("`latest` names {name}, which is not a complete checkpoint")));
        }
        Ok(Some(name))
    }

    /// Opens (without verifying) the checkpoint `latest` names.
    pub fn open_latest(&self) -> Result<Checkpoint> {
        match self.latest()? {
            Some(name) => Checkpoint::open(&self.checkpoint_dir(name)),
            None => Err(CheckpointError::BadLatest {
                run_dir: self.path.clone(),
                reason: "the run directory has no `latest` checkpoint pointer".into(),
            }),
        }
    }

    /// Removes what a killed writer left behind (temporary checkpoint directories, a temporary `latest`,
    /// half-deleted checkpoints). Call it when a run directory is opened for writing; only one process may
    /// write a run directory at a time. Returns what was removed.
    pub fn clean_stale(&self) -> Result<Vec<PathBuf>> {
        let entries = match std::fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CheckpointError::io(&self.path, e)),
        };
        let mut removed = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CheckpointError::io(&self.path, e))?;
            if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                continue;
            }
            let path = entry.path();
            let result = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            result.map_err(|e| CheckpointError::io(&path, e))?;
            removed.push(path);
        }
        Ok(removed)
    }

    /// Keep-last-K: deletes all but the newest `keep_last` mid-domain checkpoints. Domain-end checkpoints and
    /// the checkpoint `latest` names are never deleted. Each deletion first renames the directory to a
    /// temporary name, so a crash mid-deletion never leaves a half checkpoint under a checkpoint name.
    pub fn prune(&self, keep_last: usize, durability: Durability) -> Result<Vec<CheckpointName>> {
        let latest = self.latest().ok().flatten();
        let mids: Vec<CheckpointName> = self.checkpoints()?.into_iter().filter(CheckpointName::is_mid_domain).collect();
        let doomed: Vec<CheckpointName> =
            mids.iter().rev().skip(keep_last).copied().filter(|name| Some(*name) != latest).collect();
        for name in &doomed {
            let dir = self.checkpoint_dir(*name);
            let trash = self.path.join(format!("{TEMP_PREFIX}deleting.{name}.{}", std::process::id()));
            std::fs::rename(&dir, &trash).map_err(|e| CheckpointError::io(&dir, e))?;
            durability.sync_dir(&self.path)?;
            std::fs::remove_dir_all(&trash).map_err(|e| CheckpointError::io(&trash, e))?;
        }
        Ok(doomed)
    }

    /// For `--fallback`: the newest checkpoint (in run order) that opens and verifies completely, with every
    /// newer one that did not and why.
    pub fn find_latest_valid(&self) -> Result<Fallback> {
        let mut skipped = Vec::new();
        for name in self.checkpoints()?.into_iter().rev() {
            match Checkpoint::open_verified(&self.checkpoint_dir(name)) {
                Ok(checkpoint) => return Ok(Fallback { checkpoint, skipped }),
                Err(error) => skipped.push(Skipped { name: name.to_string(), error }),
            }
        }
        Err(CheckpointError::NoValidCheckpoint {
            run_dir: self.path.clone(),
            skipped: skipped.into_iter().map(|s| (s.name, s.error.to_string())).collect(),
        })
    }
}

/// For `--fallback`: the newest valid checkpoint of the run directory at `run_dir` (see
/// [`RunDir::find_latest_valid`]).
pub fn find_latest_valid(run_dir: &Path) -> Result<Fallback> {
    RunDir::new(run_dir).find_latest_valid()
}

/// What `retain resume PATH` opens: `PATH` itself when it holds a `manifest.json`, else the checkpoint the run
/// directory's `latest` names. Not verified yet.
pub fn resolve(path: &Path) -> Result<Checkpoint> {
    if path.join(MANIFEST_FILE).is_file() {
        return Checkpoint::open(path);
    }
    if path.join(LATEST_FILE).is_file() {
        return RunDir::new(path).open_latest();
    }
    Err(CheckpointError::NotACheckpoint { dir: path.to_owned() })
}
