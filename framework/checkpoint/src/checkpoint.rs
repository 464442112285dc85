//! Reading one checkpoint: open its manifest, verify its files (presence, size, sha256), check that it fits the
//! configuration and plugins of the run that wants to resume from it, and read its parts.

use crate::error::{CheckpointError, Result};
use crate::hash::{ConfigHash, hash_file, read_hashing};
use crate::manifest::{CheckpointRef, FileEntry, MANIFEST_FILE, Manifest, PluginInfo};
use crate::name::CheckpointName;
use crate::writer::{MODEL_DIR, STATE_FILE, TRAJECTORIES_DIR};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// An opened checkpoint: its directory and its parsed, checksum-checked manifest. Files are checked by
/// [`verify`](Self::verify) (all) or [`read_verified`](Self::read_verified) (one, in the same pass as reading).
#[derive(Debug, Clone)]
pub struct Checkpoint {
    dir: PathBuf,
    manifest: Manifest,
}

/// The outcome of checking one file.
#[derive(Debug)]
pub struct FileCheck {
    /// The file as the manifest lists it.
    pub entry: FileEntry,
    /// `Ok` when present with the right size and sha256.
    pub result: Result<()>,
}

impl Checkpoint {
    /// Opens a checkpoint directory: reads `manifest.json`, refuses a newer format, checks the manifest's own
    /// checksum. Does not read the other files (see [`verify`](Self::verify)).
    pub fn open(dir: &Path) -> Result<Checkpoint> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CheckpointError::NotACheckpoint { dir: dir.to_owned() });
            }
            Err(e) => return Err(CheckpointError::io(&path, e)),
        };
        let manifest = Manifest::parse(&bytes, &path)?;
        for file in &manifest.files {
            crate::fsutil::checked_relative(&file.path)
                .map_err(|e| CheckpointError::InvalidManifest { path: path.clone(), reason: e.to_string() })?;
        }
        Ok(Checkpoint { dir: dir.to_owned(), manifest })
    }

    /// [`open`](Self::open) then [`verify`](Self::verify): the way to load a checkpoint before resuming.
    pub fn open_verified(dir: &Path) -> Result<Checkpoint> {
        let checkpoint = Checkpoint::open(dir)?;
        checkpoint.verify()?;
        Ok(checkpoint)
    }

    pub(crate) fn from_parts(dir: PathBuf, manifest: Manifest) -> Checkpoint {
        Checkpoint { dir, manifest }
    }

    /// The checkpoint directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parsed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The checkpoint's name as recorded in its manifest (independent of where the directory was moved).
    pub fn name(&self) -> Result<CheckpointName> {
        self.manifest.name.parse()
    }

    /// Path of a file of the checkpoint (`/`-separated name as in the manifest).
    pub fn path(&self, file: &str) -> PathBuf {
        file.split('/').fold(self.dir.clone(), |path, part| path.join(part))
    }

    /// A reference to this checkpoint for another manifest's `parent`/`init_from`.
    pub fn reference(&self) -> CheckpointRef {
        CheckpointRef { path: self.manifest.name.clone(), checksum: self.manifest.checksum.clone() }
    }

    /// Checks presence and size of every file without reading them (milliseconds; catches missing and truncated
    /// files, not flipped bytes).
    pub fn check_sizes(&self) -> Result<()> {
        self.manifest.files.iter().try_for_each(|entry| self.check_size(entry))
    }

    fn check_size(&self, entry: &FileEntry) -> Result<()> {
        let path = self.path(&entry.path);
        let meta = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => return Err(self.missing(entry)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(self.missing(entry)),
            Err(e) => return Err(CheckpointError::io(&path, e)),
        };
        if meta.len() != entry.size {
            return Err(CheckpointError::WrongSize {
                checkpoint: self.dir.clone(),
                file: entry.path.clone(),
                expected: entry.size,
                found: meta.len(),
            });
        }
        Ok(())
    }

    fn missing(&self, entry: &FileEntry) -> CheckpointError {
        CheckpointError::MissingFile { checkpoint: self.dir.clone(), file: entry.path.clone() }
    }

    /// Checks one file: presence, size, sha256 (streamed).
    pub fn check_file(&self, entry: &FileEntry) -> Result<()> {
        self.check_size(entry)?;
        let digest = hash_file(&self.path(&entry.path))?;
        self.compare(entry, digest.size, &digest.sha256)
    }

    fn compare(&self, entry: &FileEntry, size: u64, sha256: &str) -> Result<()> {
        if size != entry.size {
            return Err(CheckpointError::WrongSize {
                checkpoint: self.dir.clone(),
                file: entry.path.clone(),
                expected: entry.size,
                found: size,
            });
        }
        if sha256 != entry.sha256 {
            return Err(CheckpointError::WrongHash {
                checkpoint: self.dir.clone(),
                file: entry.path.clone(),
                expected: entry.sha256.clone(),
                found: sha256.to_owned(),
            });
        }
        Ok(())
    }

    /// Checks every file, largest first, on all available cores; one result per file in manifest order.
    pub fn verify_files(&self) -> Vec<FileCheck> {
        let files = &self.manifest.files;
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(files[i].size));
        let results: Vec<Mutex<Option<Result<()>>>> = files.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(files.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = order.get(k) else { break };
                        let result = self.check_file(&files[i]);
                        if let Ok(mut slot) = results[i].lock() {
                            *slot = Some(result);
                        }
                    }
                });
            }
        });
        files
            .iter()
            .zip(results)
            .map(|(entry, slot)| {
                let result = slot.into_inner().ok().flatten().unwrap_or_else(|| {
                    Err(CheckpointError::io(self.path(&entry.path), std::io::Error::other("the check did not run")))
                });
                FileCheck { entry: entry.clone(), result }
            })
            .collect()
    }

    /// Checks every file; the first failure in manifest order is returned.
    pub fn verify(&self) -> Result<()> {
        self.verify_files().into_iter().try_for_each(|check| check.result)
    }

    /// Reads one file and checks its size and sha256 in the same pass (the cheap way to load a big file verified).
    pub fn read_verified(&self, file: &str) -> Result<Vec<u8>> {
        let entry = self.manifest.file(file).ok_or_else(|| CheckpointError::MissingFile {
            checkpoint: self.dir.clone(),
            file: format!("{file} (not listed in the manifest)"),
        })?;
        self.check_size(entry)?;
        let path = self.path(file);
        let mut handle = std::fs::File::open(&path).map_err(|e| CheckpointError::io(&path, e))?;
        let (bytes, digest) = read_hashing(&mut handle, &path, entry.size)?;
        self.compare(entry, digest.size, &digest.sha256)?;
        Ok(bytes)
    }

    /// The trainer's state (`state.json`), read verified.
    pub fn state(&self) -> Result<serde_json::Value> {
        let bytes = self.read_verified(STATE_FILE)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| CheckpointError::InvalidState { path: self.path(STATE_FILE), reason: e.to_string() })
    }

    /// The model directory (Hugging Face layout) and the files the manifest lists in it.
    pub fn model_dir(&self) -> PathBuf {
        self.dir.join(MODEL_DIR)
    }

    /// Every trajectory buffer: `(domain, path)`.
    pub fn trajectories(&self) -> Vec<(String, PathBuf)> {
        let prefix = format!("{TRAJECTORIES_DIR}/");
        self.manifest
            .files
            .iter()
            .filter_map(|f| {
                let domain = f.path.strip_prefix(&prefix)?.strip_suffix(".zst")?;
                Some((domain.to_owned(), self.path(&f.path)))
            })
            .collect()
    }

    /// The saved state of plugin `name`, read verified; `None` when the plugin saved none or is not recorded.
    pub fn plugin_state(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.manifest.plugins.iter().find(|p| p.plugin.name == name).and_then(|p| p.state_file.as_deref()) {
            Some(file) => self.read_verified(file).map(Some),
            None => Ok(None),
        }
    }

    /// Refuses to resume under another configuration than the one the checkpoint was written with.
    pub fn check_config_hash(&self, current: &ConfigHash) -> Result<()> {
        if &self.manifest.config_hash == current {
            return Ok(());
        }
        Err(CheckpointError::ConfigMismatch {
            checkpoint: self.dir.clone(),
            checkpoint_hash: self.manifest.config_hash.to_string(),
            current_hash: current.to_string(),
        })
    }

    /// Refuses to resume with other plugins than the checkpoint's: one missing, one added, another version, or
    /// another call order. `current` is the plugins configured now, in call order.
    pub fn check_plugins(&self, current: &[PluginInfo]) -> Result<()> {
        let recorded: Vec<&PluginInfo> = self.manifest.plugins.iter().map(|p| &p.plugin).collect();
        let find =
            |list: &[&PluginInfo], p: &PluginInfo| list.iter().position(|q| q.kind == p.kind && q.name == p.name);
        let current_refs: Vec<&PluginInfo> = current.iter().collect();
        for old in &recorded {
            match find(&current_refs, old) {
                None => {
                    return Err(CheckpointError::PluginMissing {
                        checkpoint: self.dir.clone(),
                        kind: old.kind.clone(),
                        name: old.name.clone(),
                        version: old.version.clone(),
                    });
                }
                Some(i) if current[i].version != old.version => {
                    return Err(CheckpointError::PluginVersion {
                        checkpoint: self.dir.clone(),
                        kind: old.kind.clone(),
                        name: old.name.clone(),
                        recorded: old.version.clone(),
                        current: current[i].version.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        if let Some(new) = current.iter().find(|p| find(&recorded, p).is_none()) {
            return Err(CheckpointError::PluginAdded {
                checkpoint: self.dir.clone(),
                kind: new.kind.clone(),
                name: new.name.clone(),
            });
        }
        let order =
            |list: &[&PluginInfo]| list.iter().map(|p| format!("{} {}", p.kind, p.name)).collect::<Vec<_>>().join(", ");
        if order(&recorded) != order(&current_refs) {
            return Err(CheckpointError::PluginOrder {
                checkpoint: self.dir.clone(),
                recorded: order(&recorded),
                current: order(&current_refs),
            });
        }
        Ok(())
    }
}
