//! The one error type of the crate: every variant names the file (and line or key) at fault and how to fix it.

use std::path::PathBuf;

/// Everything that can go wrong while reading run directories or writing a report.
///
/// Library code never panics on user-controlled input; each failure becomes one of these, with enough context
/// (file, line, key, domain) for a user to fix the run directory or the command line.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A file the run-directory format requires is absent.
    #[error("{}: file not found; {hint}", path.display())]
    MissingFile {
        /// The path that was looked for.
        path: PathBuf,
        /// What the file is and what usually produces it.
        hint: String,
    },
    /// Reading or writing a file failed at the operating-system level.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not the JSON (or JSON Lines) it should be.
    #[error("{}{}: malformed JSON: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number for JSON Lines files.
        line: Option<usize>,
        /// What the parser or the schema check said.
        message: String,
    },
    /// A file parses but its content breaks a rule of `RUN_FORMAT.md`.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line number for JSON Lines files.
        line: Option<usize>,
        /// Which rule is broken, naming the key, row or domain, and how to fix it.
        message: String,
    },
    /// Runs given together cannot be analysed together (e.g. a joint-training reference lacks a domain).
    #[error("{0}")]
    Incompatible(String),
    /// A plot could not be drawn or written.
    #[error("plot {name}: {message}")]
    Plot {
        /// The plot's file stem.
        name: String,
        /// What plotters reported.
        message: String,
    },
}

impl AnalysisError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

/// Reads a required text file; a missing one becomes [`AnalysisError::MissingFile`] with `hint` saying what the
/// file is and what writes it.
pub(crate) fn read_text(path: &std::path::Path, hint: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            AnalysisError::MissingFile { path: path.to_path_buf(), hint: hint.to_owned() }
        } else {
            AnalysisError::io(path, e)
        }
    })
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, AnalysisError>;
