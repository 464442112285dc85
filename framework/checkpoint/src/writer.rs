//! Writing one checkpoint atomically. The trainer hands over the parts (bytes, files, or a closure that writes a
//! file itself, e.g. a safetensors saver); the writer builds them in a temporary sibling directory, hashes every
//! file (while writing, or in a background thread right after), fsyncs files and directories, renames the
//! directory into place, fsyncs the run directory and only then moves `latest`. A crash at any moment leaves the
//! earlier checkpoints valid and no half checkpoint under a checkpoint name.

use crate::checkpoint::Checkpoint;
use crate::error::{CheckpointError, Result};
use crate::fsutil::{Durability, checked_relative, unix_time_s, write_atomic};
use crate::hash::{CHUNK, ConfigHash, FileDigest, hash_file};
use crate::manifest::{
    CheckpointRef, CreationInfo, FORMAT_VERSION, FileEntry, MANIFEST_FILE, Manifest, PluginEntry, PluginInfo,
};
use crate::name::CheckpointName;
use crate::run_dir::{LATEST_FILE, RunDir, TEMP_PREFIX};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// Path of the resumable state the trainer hands over as JSON (RNG states, data cursors, scheduler state).
pub const STATE_FILE: &str = "state.json";
/// Path of the optimizer state (AdamW moments and step) inside a checkpoint.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// Directory of the model files (Hugging Face layout) inside a checkpoint.
pub const MODEL_DIR: &str = "model";
/// Directory of the trajectory buffers (`<domain>.zst`) inside a checkpoint.
pub const TRAJECTORIES_DIR: &str = "trajectories";
/// Directory of the plugins' saved states (`<name>/state.bin`) inside a checkpoint.
pub const PLUGINS_DIR: &str = "plugins";
/// The run files a checkpoint holds copies of, so it can be reported on alone (see `analysis/RUN_FORMAT.md`).
pub const RUN_FILES: [&str; 3] = ["config.json", "metrics.jsonl", "matrix.json"];

/// Where a part's bytes come from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// Bytes in memory (hashed on a second thread while they are written).
    Bytes(&'a [u8]),
    /// An existing file, copied into the checkpoint.
    File(&'a Path),
}

/// What the trainer knows about the checkpoint it is writing.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointMeta {
    /// Which checkpoint (its directory name).
    pub name: CheckpointName,
    /// Name of the domain `name.domain_index` refers to, for people reading the manifest.
    pub domain: Option<String>,
    /// Optimizer steps since the start of the run.
    pub global_step: u64,
    /// Hash of the resolved configuration ([`ConfigHash::of_config`]); must match the `config.json` handed over.
    pub config_hash: ConfigHash,
}

/// How checkpoints are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// fsync or not (default: fsync).
    pub durability: Durability,
    /// After a commit, keep only the newest K mid-domain checkpoints (`None`: keep all). Domain-end checkpoints
    /// and the one `latest` names are never deleted.
    pub keep_last: Option<usize>,
}

/// The result of a commit.
#[derive(Debug)]
pub struct Committed {
    /// The checkpoint just written, opened (its files are known good: they were hashed as they were written).
    pub checkpoint: Checkpoint,
    /// Mid-domain checkpoints deleted by keep-last-K.
    pub pruned: Vec<CheckpointName>,
}

/// A file being finished in the background: hashed (unless hashed while written) and fsynced.
enum Pending {
    Done(FileEntry),
    Running(JoinHandle<Result<FileEntry>>),
}

/// A checkpoint under construction. Create it with [`RunDir::begin`]; add the parts; [`commit`](Self::commit).
/// Dropping it without committing removes the temporary directory; a killed process leaves the temporary
/// directory behind, which listings ignore and [`RunDir::clean_stale`] removes.
pub struct CheckpointWriter {
    run_dir: RunDir,
    temp: PathBuf,
    meta: CheckpointMeta,
    options: WriteOptions,
    files: BTreeMap<String, Pending>,
    dirs: BTreeSet<PathBuf>,
    plugins: Vec<PluginEntry>,
    parent: Option<CheckpointRef>,
    init_from: Option<CheckpointRef>,
    committed: bool,
}

impl std::fmt::Debug for CheckpointWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointWriter")
            .field("temp", &self.temp)
            .field("name", &self.meta.name)
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl CheckpointWriter {
    /// Starts a checkpoint in a fresh temporary directory of `run_dir` (created if needed).
    pub(crate) fn begin(run_dir: RunDir, meta: CheckpointMeta, options: WriteOptions) -> Result<Self> {
        let final_path = run_dir.checkpoint_dir(meta.name);
        if final_path.exists() {
            return Err(CheckpointError::AlreadyExists { path: final_path });
        }
        std::fs::create_dir_all(run_dir.path()).map_err(|e| CheckpointError::io(run_dir.path(), e))?;
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let temp = run_dir.path().join(format!("{TEMP_PREFIX}{}.{}.{nanos}", meta.name, std::process::id()));
        std::fs::create_dir(&temp).map_err(|e| CheckpointError::io(&temp, e))?;
        Ok(CheckpointWriter {
            run_dir,
            temp,
            meta,
            options,
            files: BTreeMap::new(),
            dirs: BTreeSet::new(),
            plugins: Vec::new(),
            parent: None,
            init_from: None,
            committed: false,
        })
    }

    /// The temporary directory being filled (for tools that must know where the bytes go).
    pub fn temp_dir(&self) -> &Path {
        &self.temp
    }

    /// Records the checkpoint this one continues from (the previous checkpoint of the same run).
    pub fn set_parent(&mut self, parent: &Checkpoint) {
        self.parent =
            Some(CheckpointRef { path: parent.manifest().name.clone(), checksum: parent.manifest().checksum.clone() });
    }

    /// Records the checkpoint whose weights started this run (`--init-from`), by the path the user gave.
    pub fn set_init_from(&mut self, origin: &Checkpoint) {
        self.init_from = Some(CheckpointRef {
            path: origin.dir().to_string_lossy().into_owned(),
            checksum: origin.manifest().checksum.clone(),
        });
    }

    /// Adds a model file (Hugging Face layout: `config.json`, `model.safetensors`, `tokenizer.json`, …) under
    /// `model/`.
    pub fn add_model_file(&mut self, file_name: &str, source: Source<'_>) -> Result<()> {
        self.add(&format!("{MODEL_DIR}/{file_name}"), source)
    }

    /// Adds the optimizer state (`optimizer.safetensors`).
    pub fn add_optimizer(&mut self, source: Source<'_>) -> Result<()> {
        self.add(OPTIMIZER_FILE, source)
    }

    /// Adds the trainer's resumable state as `state.json` (opaque to the store: RNG states, cursors, scheduler).
    pub fn set_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(state)
            .map_err(|source| CheckpointError::Json { what: "the trainer state".into(), source })?;
        json.push(b'\n');
        self.add(STATE_FILE, Source::Bytes(&json))
    }

    /// Adds the trajectory buffer of one domain as `trajectories/<domain>.zst`.
    pub fn add_trajectories(&mut self, domain: &str, source: Source<'_>) -> Result<()> {
        single_component(domain)?;
        self.add(&format!("{TRAJECTORIES_DIR}/{domain}.zst"), source)
    }

    /// Records a plugin and its saved state (`plugins/<name>/state.bin`, when it returned any). Call it in the
    /// plugins' call order: the manifest keeps the order in which they are added.
    pub fn add_plugin(&mut self, plugin: PluginInfo, state: Option<&[u8]>) -> Result<()> {
        single_component(&plugin.name)?;
        let state_file = match state {
            Some(bytes) => {
                let path = format!("{PLUGINS_DIR}/{}/state.bin", plugin.name);
                self.add(&path, Source::Bytes(bytes))?;
                Some(path)
            }
            None => None,
        };
        self.plugins.push(PluginEntry { plugin, state_file });
        Ok(())
    }

    /// Copies `config.json`, `metrics.jsonl` and `matrix.json` from the run directory, as they are now.
    pub fn add_run_files(&mut self, run_dir: &Path) -> Result<()> {
        for name in RUN_FILES {
            self.add(name, Source::File(&run_dir.join(name)))?;
        }
        Ok(())
    }

    /// Adds one file at `path` inside the checkpoint (`/`-separated).
    pub fn add(&mut self, path: &str, source: Source<'_>) -> Result<()> {
        let target = self.prepare(path)?;
        let pending = match source {
            Source::Bytes(bytes) => {
                let (file, digest) = write_hashing(&target, bytes)?;
                self.finish_in_background(path, target, Some((file, digest)))
            }
            Source::File(from) => {
                std::fs::copy(from, &target).map_err(|e| CheckpointError::io(from, e))?;
                self.finish_in_background(path, target, None)
            }
        };
        self.files.insert(path.to_owned(), pending);
        Ok(())
    }

    /// Adds a file that the caller's code writes itself at the given path (e.g. `safetensors::serialize_to_file`
    /// or a model's own saver); the store hashes and fsyncs it afterwards, in the background.
    pub fn add_with<E: std::fmt::Display>(
        &mut self,
        path: &str,
        write: impl FnOnce(&Path) -> Result<(), E>,
    ) -> Result<()> {
        let target = self.prepare(path)?;
        write(&target).map_err(|e| CheckpointError::Producer {
            name: self.meta.name.to_string(),
            file: path.to_owned(),
            reason: e.to_string(),
        })?;
        if !target.is_file() {
            return Err(CheckpointError::Producer {
                name: self.meta.name.to_string(),
                file: path.to_owned(),
                reason: "the writer returned without creating the file".into(),
            });
        }
        let pending = self.finish_in_background(path, target, None);
        self.files.insert(path.to_owned(), pending);
        Ok(())
    }

    /// Adds a file written through a stream (hashed as it is written, no second read).
    pub fn add_stream(&mut self, path: &str, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
        let target = self.prepare(path)?;
        let file = File::create(&target).map_err(|e| CheckpointError::io(&target, e))?;
        let mut sink = HashingWriter { inner: BufWriter::with_capacity(CHUNK, file), hasher: Sha256::new(), size: 0 };
        write(&mut sink).map_err(|e| CheckpointError::Producer {
            name: self.meta.name.to_string(),
            file: path.to_owned(),
            reason: e.to_string(),
        })?;
        let HashingWriter { inner, hasher, size } = sink;
        let file = inner.into_inner().map_err(|e| CheckpointError::io(&target, e.into_error()))?;
        let digest = FileDigest { size, sha256: hex::encode(hasher.finalize()) };
        let pending = self.finish_in_background(path, target, Some((file, digest)));
        self.files.insert(path.to_owned(), pending);
        Ok(())
    }

    /// Validates a new file's name, creates its directories, and returns its path in the temporary directory.
    fn prepare(&mut self, path: &str) -> Result<PathBuf> {
        let relative = checked_relative(path)?;
        if self.files.contains_key(path) {
            return Err(CheckpointError::DuplicateFile { name: self.meta.name.to_string(), file: path.to_owned() });
        }
        let target = self.temp.join(relative);
        if let Some(parent) = target.parent()
            && parent != self.temp
        {
            std::fs::create_dir_all(parent).map_err(|e| CheckpointError::io(parent, e))?;
            let mut dir = parent.to_path_buf();
            while dir != self.temp {
                self.dirs.insert(dir.clone());
                if !dir.pop() {
                    break;
                }
            }
        }
        Ok(target)
    }

    /// Hashes (if not yet hashed) and fsyncs a written file on a background thread, overlapping the disk flush
    /// and the hashing with the trainer producing the next part.
    fn finish_in_background(&self, path: &str, target: PathBuf, written: Option<(File, FileDigest)>) -> Pending {
        let durability = self.options.durability;
        let entry_path = path.to_owned();
        if durability == Durability::NoSync
            && let Some((_, digest)) = &written
        {
            return Pending::Done(FileEntry { path: entry_path, size: digest.size, sha256: digest.sha256.clone() });
        }
        Pending::Running(std::thread::spawn(move || {
            let (file, digest) = match written {
                Some(pair) => pair,
                None => {
                    let digest = hash_file(&target)?;
                    let file = File::open(&target).map_err(|e| CheckpointError::io(&target, e))?;
                    (file, digest)
                }
            };
            durability.sync_file(&file, &target)?;
            Ok(FileEntry { path: entry_path, size: digest.size, sha256: digest.sha256 })
        }))
    }

    /// Finishes the checkpoint: waits for every file's hash and fsync, writes the manifest, fsyncs the
    /// directories, renames the temporary directory into place, fsyncs the run directory, moves `latest` to it
    /// and applies keep-last-K.
    pub fn commit(mut self) -> Result<Committed> {
        let name = self.meta.name.to_string();
        for (part, present) in [
            ("state.json (set_state)", self.files.contains_key(STATE_FILE)),
            ("optimizer.safetensors (add_optimizer)", self.files.contains_key(OPTIMIZER_FILE)),
            ("model file (add_model_file)", self.files.keys().any(|f| f.starts_with("model/"))),
            ("config.json (add_run_files)", self.files.contains_key(RUN_FILES[0])),
            ("metrics.jsonl (add_run_files)", self.files.contains_key(RUN_FILES[1])),
            ("matrix.json (add_run_files)", self.files.contains_key(RUN_FILES[2])),
        ] {
            if !present {
                return Err(CheckpointError::MissingPart { name, part });
            }
        }
        let config_json = self.temp.join(RUN_FILES[0]);
        let text = std::fs::read_to_string(&config_json).map_err(|e| CheckpointError::io(&config_json, e))?;
        let copied = ConfigHash::of_json(&text)?;
        if copied != self.meta.config_hash {
            return Err(CheckpointError::InconsistentConfig {
                name,
                given: self.meta.config_hash.to_string(),
                copied: copied.to_string(),
            });
        }

        let mut entries = Vec::with_capacity(self.files.len());
        for pending in std::mem::take(&mut self.files).into_values() {
            entries.push(match pending {
                Pending::Done(entry) => entry,
                Pending::Running(handle) => handle.join().map_err(|_| CheckpointError::Producer {
                    name: name.clone(),
                    file: "(background hash/fsync)".into(),
                    reason: "the background thread panicked".into(),
                })??,
            });
        }
        let mut manifest = Manifest {
            format_version: FORMAT_VERSION,
            name: name.clone(),
            domain_index: self.meta.name.domain_index,
            domain: self.meta.domain.clone(),
            step: self.meta.name.step,
            global_step: self.meta.global_step,
            parent: self.parent.take(),
            init_from: self.init_from.take(),
            config_hash: self.meta.config_hash.clone(),
            plugins: std::mem::take(&mut self.plugins),
            files: entries,
            created: CreationInfo { retain_version: env!("CARGO_PKG_VERSION").to_owned(), unix_time_s: unix_time_s() },
            checksum: String::new(),
        };
        let bytes = manifest.seal()?;
        let manifest_path = self.temp.join(MANIFEST_FILE);
        let mut file = File::create(&manifest_path).map_err(|e| CheckpointError::io(&manifest_path, e))?;
        file.write_all(&bytes).map_err(|e| CheckpointError::io(&manifest_path, e))?;
        let durability = self.options.durability;
        durability.sync_file(&file, &manifest_path)?;
        drop(file);
        for dir in self.dirs.iter().rev() {
            durability.sync_dir(dir)?;
        }
        durability.sync_dir(&self.temp)?;

        let final_path = self.run_dir.checkpoint_dir(self.meta.name);
        if final_path.exists() {
            return Err(CheckpointError::AlreadyExists { path: final_path });
        }
        std::fs::rename(&self.temp, &final_path).map_err(|e| CheckpointError::io(&final_path, e))?;
        self.committed = true;
        durability.sync_dir(self.run_dir.path())?;
        write_atomic(&self.run_dir.path().join(LATEST_FILE), format!("{name}\n").as_bytes(), durability)?;

        let pruned = match self.options.keep_last {
            Some(keep) => self.run_dir.prune(keep, durability)?,
            None => Vec::new(),
        };
        Ok(Committed { checkpoint: Checkpoint::from_parts(final_path, manifest), pruned })
    }
}

impl Drop for CheckpointWriter {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for pending in std::mem::take(&mut self.files).into_values() {
            if let Pending::Running(handle) = pending {
                let _ = handle.join();
            }
        }
        let _ = std::fs::remove_dir_all(&self.temp);
    }
}

/// Writes `bytes` to a new file at `path` while a second thread hashes them.
fn write_hashing(path: &Path, bytes: &[u8]) -> Result<(File, FileDigest)> {
    let mut file = File::create(path).map_err(|e| CheckpointError::io(path, e))?;
    let sha256 = if bytes.len() < CHUNK {
        file.write_all(bytes).map_err(|e| CheckpointError::io(path, e))?;
        crate::hash::hash_bytes(bytes)
    } else {
        std::thread::scope(|scope| {
            let hasher = scope.spawn(|| crate::hash::hash_bytes(bytes));
            let written = file.write_all(bytes);
            let sha256 = hasher.join().unwrap_or_default();
            written.map(|()| sha256)
        })
        .map_err(|e| CheckpointError::io(path, e))?
    };
    if sha256.is_empty() {
        return Err(CheckpointError::Producer {
            name: path.display().to_string(),
            file: path.display().to_string(),
            reason: "the hashing thread panicked".into(),
        });
    }
    Ok((file, FileDigest { size: bytes.len() as u64, sha256 }))
}

/// A `Write` that hashes what passes through.
struct HashingWriter {
    inner: BufWriter<File>,
    hasher: Sha256,
    size: u64,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A name used as one path component (domain, plugin).
fn single_component(name: &str) -> Result<()> {
    checked_relative(name)?;
    if name.contains('/') {
        return Err(CheckpointError::InvalidFileName {
            name: name.to_owned(),
            reason: "it must be a single name, without `/`",
        });
    }
    Ok(())
}
