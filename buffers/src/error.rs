//! Typed errors of the buffer: each names the file (or source) and, for damage, the byte offset, so a user can
//! find and judge the problem.

use std::path::PathBuf;

/// Everything that can go wrong while writing or reading a trajectory buffer.
#[derive(Debug, thiserror::Error)]
pub enum BufferError {
    /// An operating-system I/O error on the named file.
    #[error("I/O error on {source_name}: {error}")]
    Io {
        /// File path or other source description.
        source_name: String,
        /// The underlying error (shown in the message, so not repeated as a source).
        error: std::io::Error,
    },
    /// The file does not start with the buffer magic: it is something else, or its header is damaged.
    #[error("{source_name} is not a retain trajectory buffer ({reason}); buffers start with the magic `RETAINTB`")]
    NotABuffer {
        /// File path or other source description.
        source_name: String,
        /// What exactly did not match.
        reason: String,
    },
    /// The file was written by a newer (or unknown) format version.
    #[error("{source_name} has buffer format version {found}; this build reads version {supported} — upgrade retain")]
    UnsupportedVersion {
        /// File path or other source description.
        source_name: String,
        /// Version found in the header.
        found: u16,
        /// Version this build understands.
        supported: u16,
    },
    /// A block before the end of the file is damaged. Never skipped silently: records after it could be read, but
    /// the ones inside it are lost, and the user must decide (restore the checkpoint, or cut the file there).
    #[error("{source_name}: corrupt block at byte offset {offset}: {reason}")]
    CorruptBlock {
        /// File path or other source description.
        source_name: String,
        /// Byte offset of the block header in the file.
        offset: u64,
        /// What failed (checksum, length, decompression, record framing…).
        reason: String,
    },
    /// A record id beyond the end of the buffer was requested.
    #[error("{source_name}: no record with id {id} (the buffer holds ids 0..{count})")]
    NoSuchRecord {
        /// File path or other source description.
        source_name: String,
        /// Requested id.
        id: u64,
        /// Number of records in the buffer.
        count: u64,
    },
    /// A record is too large to fit in one block (the bound that keeps decompression memory bounded).
    #[error(
        "record of {size} bytes (task {task_id}) exceeds the block limit of {max} bytes; raise `max_block_bytes` or split the episode"
    )]
    RecordTooLarge {
        /// Encoded size of the record.
        size: usize,
        /// Task id of the record, to find it.
        task_id: String,
        /// The configured limit.
        max: usize,
    },
    /// A record holds a value the format cannot keep faithfully (JSON has no NaN or infinity).
    #[error("record of task {task_id} is invalid: {reason}")]
    InvalidRecord {
        /// Task id of the record, to find it.
        task_id: String,
        /// What is wrong.
        reason: String,
    },
    /// A record could not be encoded or decoded as JSON.
    #[error("{context}: {error}")]
    Json {
        /// Where it happened (file, record id, export line…).
        context: String,
        /// The underlying error (shown in the message, so not repeated as a source).
        error: serde_json::Error,
    },
    /// A configuration value is out of range.
    #[error("invalid buffer configuration: {0}")]
    InvalidConfig(String),
    /// The file to create already exists; appending must be asked for explicitly so nothing is overwritten.
    #[error("{0} already exists; open it for appending or choose another path")]
    AlreadyExists(PathBuf),
}

impl BufferError {
    /// Wraps an I/O error with the name of the file it happened on.
    pub(crate) fn io(source_name: &str, error: std::io::Error) -> Self {
        Self::Io { source_name: source_name.to_owned(), error }
    }

    /// A corrupt-block error at `offset`.
    pub(crate) fn corrupt(source_name: &str, offset: u64, reason: impl Into<String>) -> Self {
        Self::CorruptBlock { source_name: source_name.to_owned(), offset, reason: reason.into() }
    }
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, BufferError>;
