//! Configuration errors. Each says where the problem is (file and line, or the `--set` argument), which key,
//! and what was expected, so that a user can fix the input without reading retain's source.

use std::fmt;
use std::path::PathBuf;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A config file, with the 1-based line of the offending key when it could be located.
    File {
        /// The config file as given on the command line.
        path: PathBuf,
        /// 1-based line number.
        line: Option<usize>,
    },
    /// A `--set key=value` argument, as the user typed it.
    Override(String),
    /// The built-in defaults (a default can only be wrong in combination with other values).
    Defaults,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line: Some(line) } => write!(f, "{}:{line}", path.display()),
            Origin::File { path, line: None } => write!(f, "{}", path.display()),
            Origin::Override(arg) => write!(f, "--set {arg}"),
            Origin::Defaults => f.write_str("built-in defaults"),
        }
    }
}

/// Renders an optional "did you mean" hint.
struct Suggestion<'a>(&'a Option<String>);

impl fmt::Display for Suggestion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, " (did you mean `{s}`?)"),
            None => Ok(()),
        }
    }
}

/// Everything that can be wrong with a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{origin}: not valid TOML: {message}")]
    Syntax {
        /// File and line.
        origin: Origin,
        /// The parser's description.
        message: String,
    },
    /// A key that the schema does not have (usually a typo).
    #[error("{origin}: unknown key `{key}`{}; valid keys in this section: {}", Suggestion(suggestion), expected.join(", "))]
    UnknownKey {
        /// Where the key was written.
        origin: Origin,
        /// The full dotted key.
        key: String,
        /// The closest valid key, if one is close.
        suggestion: Option<String>,
        /// Every valid key of the section.
        expected: Vec<String>,
    },
    /// A domain name in `sequence.task_order` that is not a τ² domain.
    #[error(
        "{origin}: unknown domain `{given}` in `{key}`{}; expected one of: airline, retail, telecom",
        Suggestion(suggestion)
    )]
    UnknownDomain {
        /// Where the name was written.
        origin: Origin,
        /// The key path, e.g. `sequence.task_order[1]`.
        key: String,
        /// The name as written.
        given: String,
        /// The closest domain name, if one is close.
        suggestion: Option<String>,
    },
    /// A value outside a key's fixed set of choices.
    #[error("{origin}: unknown value `{given}` for `{key}`{}; expected one of: {}", Suggestion(suggestion), expected.join(", "))]
    UnknownChoice {
        /// Where the value was written.
        origin: Origin,
        /// The key path.
        key: String,
        /// The value as written.
        given: String,
        /// The closest valid choice, if one is close.
        suggestion: Option<String>,
        /// Every valid choice.
        expected: Vec<String>,
    },
    /// A value of the wrong TOML type (a string where a number belongs, …).
    #[error("{origin}: wrong type for `{key}`: {message}")]
    WrongType {
        /// Where the value was written.
        origin: Origin,
        /// The key path.
        key: String,
        /// What was found and what was expected.
        message: String,
    },
    /// A value of the right type but outside the allowed range.
    #[error("{origin}: `{key}` = {value} is out of range: {expected}")]
    OutOfRange {
        /// Where the value was written (or `Defaults`).
        origin: Origin,
        /// The key path.
        key: String,
        /// The value as it was resolved.
        value: String,
        /// The allowed range, in words.
        expected: String,
    },
    /// A value that is well-typed and in range but contradicts the rest of the config.
    #[error("{origin}: invalid `{key}`: {message}")]
    Invalid {
        /// Where the value was written (or `Defaults`).
        origin: Origin,
        /// The key path.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A `--set` argument that is not `section.key=value`.
    #[error("malformed override `--set {given}`: {message}")]
    MalformedOverride {
        /// The argument as typed.
        given: String,
        /// What is wrong with it.
        message: String,
    },
}
