//! Typed errors of the checkpoint store. Each names the checkpoint and the file (or plugin, or hash) at fault and
//! says what the user can do, because a bad checkpoint must never turn into a silent resume from a bad state.

use std::path::PathBuf;

/// What a user can do about a damaged checkpoint; shared by the integrity errors.
const DAMAGED_HINT: &str = "the checkpoint is damaged: restore it from a copy, or resume with --fallback to use the \
                            newest valid checkpoint of the run";

/// Everything that can go wrong while writing, opening or verifying checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// An operating-system I/O error on the named path.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The directory has no `manifest.json`, so it is not a checkpoint (or its write never finished).
    #[error(
        "{dir} is not a checkpoint: it has no manifest.json; pass a checkpoint directory (checkpoint_task_*) or a run \
         directory"
    )]
    NotACheckpoint {
        /// The directory.
        dir: PathBuf,
    },
    /// `manifest.json` is not valid JSON of the expected shape.
    #[error("{path}: invalid manifest: {reason}; {DAMAGED_HINT}")]
    InvalidManifest {
        /// Path of the manifest.
        path: PathBuf,
        /// What failed to parse.
        reason: String,
    },
    /// The manifest parses but its own checksum does not match its content: it was edited or damaged.
    #[error(
        "{path}: the manifest's checksum does not match its content (expected {expected}, computed {found}); {DAMAGED_HINT}"
    )]
    ManifestChecksum {
        /// Path of the manifest.
        path: PathBuf,
        /// Checksum stored in the manifest.
        expected: String,
        /// Checksum of the content.
        found: String,
    },
    /// The manifest was written by a newer retain whose format this build does not understand.
    #[error(
        "{path} has checkpoint format version {found}, but this retain reads versions up to {supported}; upgrade \
         retain to open it"
    )]
    NewerFormat {
        /// Path of the manifest.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Newest version this build reads.
        supported: u32,
    },
    /// A file listed in the manifest is not in the checkpoint.
    #[error("{checkpoint}: file {file} is missing; {DAMAGED_HINT}")]
    MissingFile {
        /// The checkpoint directory.
        checkpoint: PathBuf,
        /// Path of the file inside the checkpoint.
        file: String,
    },
    /// A file has another size than the manifest says (typically truncated by a copy or a full disk).
    #[error(
        "{checkpoint}: file {file} has {found} bytes but the manifest records {expected} (truncated or replaced); {DAMAGED_HINT}"
    )]
    WrongSize {
        /// The checkpoint directory.
        checkpoint: PathBuf,
        /// Path of the file inside the checkpoint.
        file: String,
        /// Size in the manifest.
        expected: u64,
        /// Size on disk.
        found: u64,
    },
    /// A file's content does not match its sha256 in the manifest (a flipped bit, an edit).
    #[error(
        "{checkpoint}: file {file} is corrupted: sha256 {found} does not match {expected} in the manifest; {DAMAGED_HINT}"
    )]
    WrongHash {
        /// The checkpoint directory.
        checkpoint: PathBuf,
        /// Path of the file inside the checkpoint.
        file: String,
        /// sha256 in the manifest (hex).
        expected: String,
        /// sha256 of the file (hex).
        found: String,
    },
    /// The checkpoint was written under another resolved configuration than the one given now.
    #[error(
        "{checkpoint} was written with configuration hash {checkpoint_hash}, but the current configuration hashes to \
         {current_hash}; resuming would mix two configurations. Resume with the checkpoint's own config.json, or \
         start a new run from its weights with --init-from {checkpoint}"
    )]
    ConfigMismatch {
        /// The checkpoint directory.
        checkpoint: PathBuf,
        /// Hash recorded in the manifest.
        checkpoint_hash: String,
        /// Hash of the configuration given now.
        current_hash: String,
    },
    /// The checkpoint used a plugin that is not configured now.
    #[error(
        "{checkpoint} used {kind} plugin `{name}` (version {version}), which is not configured now; add it back to \
         the config to resume, or start a new run with --init-from {checkpoint}"
    )]
    PluginMissing {
        /// The checkpoint directory.
        checkpoint: PathBuf,
        /// `strategy` or `reward`.
        kind: String,
        /// Plugin name.
        name: String,
        /// Version recorded in the checkpoint.
        version: String,
    },
    /// A plugin is configured now that the checkpoint did not use (it would resume without its state).
    #[error(
        "{kind} plugin `{name}` is configured now but was not used by {checkpoint}; remove it to resume, or start a \
         new run with --init-from {checkpoint}"
    )]
    PluginAdded {
        /// The checkpoint directory.
        checkpoint: PathBuf,
        /// `strategy` or `reward`.
        kind: String,
        /// Plugin name.
        name: String,
    },
    /// A plugin's library has another version than the one that wrote the checkpoint (its state may not load).
    #[error(
        "{kind} plugin `{name}` is version {current} now but {checkpoint} was written with version {recorded}; \
         install version {recorded} of the plugin to resume, or start a new run with --init-from {checkpoint}"
    )]
    PluginVersion {
        /// The checkpoint directory.
        checkpoint: PathBuf,
        /// `strategy` or `reward`.
        kind: String,
        /// Plugin name.
        name: String,
        /// Version recorded in the checkpoint.
        recorded: String,
        /// Version configured now.
        current: String,
    },
    /// The plugins are the same but called in another order (priorities changed), which changes the results.
    #[error(
        "{checkpoint} called its plugins in the order [{recorded}] but the current configuration calls them in the \
         order [{current}]; restore the priorities to resume, or start a new run with --init-from {checkpoint}"
    )]
    PluginOrder {
        /// The checkpoint directory.
        checkpoint: PathBuf,
        /// Order in the checkpoint.
        recorded: String,
        /// Order configured now.
        current: String,
    },
    /// A checkpoint directory of that name already exists; checkpoints are never modified after they are written.
    #[error(
        "{path} already exists; checkpoints are immutable, so it is never overwritten (delete it first if it is unwanted)"
    )]
    AlreadyExists {
        /// The existing checkpoint directory.
        path: PathBuf,
    },
    /// A part every checkpoint must hold was not handed to the writer.
    #[error("checkpoint {name} cannot be committed: it has no {part} (the trainer must add it before commit)")]
    MissingPart {
        /// The checkpoint's name.
        name: String,
        /// The missing part.
        part: &'static str,
    },
    /// The `config.json` handed to the writer does not hash to the configuration hash given for the manifest.
    #[error(
        "checkpoint {name}: the copied config.json hashes to {copied} but the checkpoint is declared with \
         configuration hash {given}; copy the resolved configuration the run uses (Config::to_json) into the run \
         directory"
    )]
    InconsistentConfig {
        /// The checkpoint's name.
        name: String,
        /// Hash given in the checkpoint's metadata.
        given: String,
        /// Hash of the copied `config.json`.
        copied: String,
    },
    /// `state.json` is not valid JSON although its sha256 matches (it was written that way).
    #[error("{path}: the trainer state is not valid JSON: {reason}")]
    InvalidState {
        /// Path of `state.json`.
        path: PathBuf,
        /// The parse error.
        reason: String,
    },
    /// A file name handed to the writer is not a plain relative path inside the checkpoint.
    #[error("invalid file name `{name}` for a checkpoint: {reason}")]
    InvalidFileName {
        /// The name as given.
        name: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// The same file was added twice.
    #[error("file {file} was added twice to checkpoint {name}")]
    DuplicateFile {
        /// The checkpoint's name.
        name: String,
        /// The file.
        file: String,
    },
    /// A directory name is not of the form `checkpoint_task_{i}` or `checkpoint_task_{i}_step_{s}`.
    #[error("`{name}` is not a checkpoint name (expected checkpoint_task_<i> or checkpoint_task_<i>_step_<s>)")]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// The run directory's `latest` pointer is missing, empty or names no checkpoint.
    #[error("{run_dir}: {reason}; resume with --fallback to use the newest valid checkpoint instead")]
    BadLatest {
        /// The run directory.
        run_dir: PathBuf,
        /// What is wrong with the pointer.
        reason: String,
    },
    /// `--fallback` found no checkpoint that verifies.
    #[error("{run_dir} holds no valid checkpoint{}", skipped_summary(.skipped))]
    NoValidCheckpoint {
        /// The run directory.
        run_dir: PathBuf,
        /// Every checkpoint tried, with why it was rejected.
        skipped: Vec<(String, String)>,
    },
    /// JSON handed over by the trainer could not be serialised.
    #[error("cannot serialise {what} to JSON: {source}")]
    Json {
        /// What was being serialised.
        what: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A part written by the trainer's own code (e.g. a model saver) failed.
    #[error("writing {file} into checkpoint {name} failed: {reason}")]
    Producer {
        /// The checkpoint's name.
        name: String,
        /// The file being written.
        file: String,
        /// The producer's error message.
        reason: String,
    },
}

fn skipped_summary(skipped: &[(String, String)]) -> String {
    if skipped.is_empty() {
        return " (it has no checkpoints)".to_owned();
    }
    let lines: Vec<String> = skipped.iter().map(|(name, why)| format!("\n  {name}: {why}")).collect();
    format!("; rejected:{}", lines.concat())
}

impl CheckpointError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CheckpointError::Io { path: path.into(), source }
    }

    /// True for errors that mean the checkpoint's bytes are damaged or incomplete (as opposed to a mismatch with
    /// the current configuration or an I/O failure of the machine), i.e. the ones `--fallback` skips over.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            CheckpointError::NotACheckpoint { .. }
                | CheckpointError::InvalidManifest { .. }
                | CheckpointError::ManifestChecksum { .. }
                | CheckpointError::NewerFormat { .. }
                | CheckpointError::MissingFile { .. }
                | CheckpointError::WrongSize { .. }
                | CheckpointError::WrongHash { .. }
        )
    }
}

/// Result type of the checkpoint store.
pub type Result<T, E = CheckpointError> = std::result::Result<T, E>;
