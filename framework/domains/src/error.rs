//! Errors of loading data and setting up episodes (tool-call failures are [`crate::tool::ToolError`]s,
//! which become observations, never Rust errors).

use std::path::PathBuf;

/// Something went wrong outside a tool call: a data file, a task id, an unsupported mode.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// A data file could not be read.
    #[error("cannot read {path}: {source} (fetch the data with `retain data fetch-tau2` or pass --data DIR)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A data file does not have the expected shape.
    #[error("cannot parse {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What did not match (with the JSON path where known).
        message: String,
    },
    /// The domain name is not one of airline, retail, telecom.
    #[error("unknown domain '{0}' (expected airline, retail or telecom)")]
    UnknownDomain(String),
    /// A task id is not in the loaded task set.
    #[error("unknown task '{id}' in domain {domain}")]
    UnknownTask {
        /// Domain name.
        domain: String,
        /// The id asked for.
        id: String,
    },
    /// A split name is not in `split_tasks.json`.
    #[error("unknown split '{split}' for domain {domain} (available: {available})")]
    UnknownSplit {
        /// Domain name.
        domain: String,
        /// The split asked for.
        split: String,
        /// The splits that exist.
        available: String,
    },
    /// The domain or task does not support what was asked (e.g. solo mode in airline).
    #[error("{0}")]
    Unsupported(String),
    /// A task's initial state could not be applied.
    #[error("cannot apply the task's initial state: {0}")]
    InitialState(String),
    /// The official data directory could not be found.
    #[error("{0}")]
    DataNotFound(String),
}

impl DomainError {
    /// Wraps an I/O error with the file it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DomainError::Io { path: path.into(), source }
    }

    /// Wraps a parse failure with the file it concerns.
    pub fn parse(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        DomainError::Parse { path: path.into(), message: message.to_string() }
    }
}
