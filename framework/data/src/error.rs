//! Errors of the data crate.

use std::path::PathBuf;

/// Everything that can go wrong generating, loading or rendering data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The environment rejected something (loading a database, starting an episode, evaluating).
    #[error(transparent)]
    Domain(#[from] retain_domains::DomainError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// JSON could not be produced or read.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A generator setting makes generation impossible (e.g. no family enabled, database too small).
    #[error("invalid generator setting: {0}")]
    Config(String),
    /// A family found no entity of the database it could build a task on.
    #[error("could not generate a {family} task: {reason}")]
    NoCandidate {
        /// The task family.
        family: String,
        /// Why.
        reason: String,
    },
    /// The domain is not supported by this operation yet.
    #[error("{0}")]
    Unsupported(String),
    /// A gold demonstration did not score 1.0 (a generator bug; the message says which task).
    #[error("gold demonstration of task {task} scored {reward}: {detail}")]
    GoldFailed {
        /// Task id.
        task: String,
        /// Its reward.
        reward: f64,
        /// The evaluation, as JSON.
        detail: String,
    },
}

impl DataError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }
}
