//! The trainer's error type: every failure names what it concerns (a file, a plugin, a task, a config key).

use std::path::PathBuf;

use crate::advantage::AdvantageError;
use crate::loss::LossError;

/// Why a run, an evaluation or a training step failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainerError {
    /// The model, tokenizer or optimiser failed.
    #[error(transparent)]
    Model(#[from] retain_model::ModelError),
    /// Task generation, an environment or an episode failed.
    #[error(transparent)]
    Data(#[from] retain_data::DataError),
    /// A loss could not be computed.
    #[error(transparent)]
    Loss(#[from] LossError),
    /// Advantages could not be computed.
    #[error(transparent)]
    Advantage(#[from] AdvantageError),
    /// Writing or reading a checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] retain_checkpoint::CheckpointError),
    /// A trajectory buffer could not be written or restored.
    #[error(transparent)]
    Buffer(#[from] retain_buffers::BufferError),
    /// A plugin failed to load or to run.
    #[error(transparent)]
    Plugin(#[from] retain_plugin_host::PluginHostError),
    /// A plugin answered a hook with something the run cannot use; the message says what and how to fix it.
    #[error("plugin `{plugin}` ({hook}): {message}")]
    PluginOutput {
        /// The plugin's name.
        plugin: String,
        /// The hook it answered.
        hook: String,
        /// What is wrong.
        message: String,
    },
    /// An invariant of the trainer itself was broken (a bug in retain, not in the input).
    #[error("internal error (please report it): {0}")]
    Internal(String),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// JSON could not be written or read.
    #[error("{what}: {source}")]
    Json {
        /// What was being (de)serialised.
        what: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// The configuration asks for something this run cannot do; the message says what to change.
    #[error("{0}")]
    Config(String),
    /// The run directory is not usable; the message says how to fix it.
    #[error("{0}")]
    RunDir(String),
}

impl TrainerError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainerError::Io { path: path.into(), source }
    }
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, TrainerError>;
