//! The one error type of the model crate, so callers can tell file, format and tensor problems apart.

use std::path::PathBuf;

/// Everything that can go wrong while building, loading, saving, training or sampling the policy model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A tensor operation failed (shape mismatch, dtype, out-of-range index); the message names the op.
    #[error("tensor operation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    /// Reading or writing a file failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done ("reading", "writing", "creating directory").
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A JSON file could not be parsed or written.
    #[error("JSON in `{path}`: {source}")]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// The parser's error, with line and column.
        source: serde_json::Error,
    },
    /// A safetensors file is malformed or could not be serialised.
    #[error("safetensors `{path}`: {message}")]
    Safetensors {
        /// The file concerned.
        path: PathBuf,
        /// What the safetensors library reported.
        message: String,
    },
    /// A tensor the architecture needs is absent from the checkpoint.
    #[error("tensor `{name}` is missing from the checkpoint in `{dir}`; is this a Qwen2-architecture model?")]
    MissingTensor {
        /// The Hugging Face tensor name.
        name: String,
        /// The checkpoint directory.
        dir: PathBuf,
    },
    /// A tensor has a shape the configuration does not allow.
    #[error("tensor `{name}` has shape {found:?}, but config.json implies {expected:?}")]
    ShapeMismatch {
        /// The Hugging Face tensor name.
        name: String,
        /// What the configuration implies.
        expected: Vec<usize>,
        /// What the file holds.
        found: Vec<usize>,
    },
    /// The tokenizer library failed (training, loading, encoding).
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A configuration value is unusable; the message names the key and the fix.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A request (batch, prompt, state file) is inconsistent; the message says what and how to fix it.
    #[error("invalid input: {0}")]
    Input(String),
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, ModelError>;

impl ModelError {
    /// Wraps an I/O error with the action and the path, so the message tells the user which file failed.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io { action, path: path.into(), source }
    }

    /// Wraps a safetensors error with the file it concerns.
    pub fn safetensors(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        ModelError::Safetensors { path: path.into(), message: message.to_string() }
    }
}
