//! From file text and overrides to a checked [`Config`].

use crate::locate::{Segment, SourceMap, dotted, line_at};
use crate::overrides::{self, Override};
use crate::validate::{self, ViolationKind};
use crate::{Config, ConfigError, Origin};
use std::path::Path;

/// Reads `path`, applies `overrides` in order, and returns the checked configuration.
pub fn load(path: &Path, overrides: &[Override]) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    load_str(&text, path, overrides)
}

/// Like [`load`] for text already in memory; `path` is only used in error messages.
pub fn load_str(text: &str, path: &Path, overrides: &[Override]) -> Result<Config, ConfigError> {
    let file_origin = |line| Origin::File { path: path.to_owned(), line };
    let spanned = toml::de::DeTable::parse(text).map_err(|e| {
        let line = e.span().map(|s| line_at(text, s.start));
        ConfigError::Syntax { origin: file_origin(line), message: e.message().trim().to_owned() }
    })?;
    let source = SourceMap::new(text, spanned);
    let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        origin: file_origin(e.span().map(|s| line_at(text, s.start))),
        message: e.message().trim().to_owned(),
    })?;
    let mut root = toml::Value::Table(table);
    for ov in overrides {
        overrides::apply(&mut root, ov)?;
    }
    let origin_of = |path: &[Segment]| -> Origin {
        let from_override = overrides.iter().rev().find(|ov| {
            let ov_path: Vec<Segment> = ov.path.iter().map(|s| Segment::Key(s.clone())).collect();
            prefix_matches(&ov_path, path) || prefix_matches(path, &ov_path)
        });
        match from_override {
            Some(ov) => Origin::Override(ov.raw.clone()),
            None => match source.line_of(path) {
                Some(line) => file_origin(Some(line)),
                None if path.is_empty() => file_origin(None),
                None => Origin::Defaults,
            },
        }
    };

    let config: Config = serde_path_to_error::deserialize(root).map_err(|e| {
        let path = to_segments(e.path());
        schema_error(&path, e.inner().message(), &origin_of)
    })?;

    if let Some(violation) = validate::check(&config).into_iter().next() {
        let origin = origin_of(&violation.path);
        let key = dotted(&violation.path);
        return Err(match violation.kind {
            ViolationKind::OutOfRange(expected) => {
                ConfigError::OutOfRange { origin, key, value: violation.value, expected }
            }
            ViolationKind::Invalid(message) => ConfigError::Invalid { origin, key, message },
        });
    }
    Ok(config)
}

/// Segment-wise prefix test; list indices on the override side never occur (overrides name keys).
fn prefix_matches(prefix: &[Segment], path: &[Segment]) -> bool {
    prefix.len() <= path.len()
        && prefix.iter().zip(path).all(|(a, b)| match (a, b) {
            (Segment::Key(x), Segment::Key(y)) => x == y,
            (Segment::Key(x), Segment::Index(i)) | (Segment::Index(i), Segment::Key(x)) => {
                x.parse::<usize>().ok() == Some(*i)
            }
            (Segment::Index(x), Segment::Index(y)) => x == y,
        })
}

fn to_segments(path: &serde_path_to_error::Path) -> Vec<Segment> {
    use serde_path_to_error::Segment as S;
    path.iter()
        .filter_map(|s| match s {
            S::Map { key } => Some(Segment::Key(key.clone())),
            S::Seq { index } => Some(Segment::Index(*index)),
            S::Enum { .. } | S::Unknown => None,
        })
        .collect()
}

/// Turns serde's message for a schema mismatch into the matching [`ConfigError`].
fn schema_error(path: &[Segment], message: &str, origin_of: &dyn Fn(&[Segment]) -> Origin) -> ConfigError {
    if let Some((given, expected)) = parse_unknown(message, "unknown field") {
        // serde_path_to_error already ends the path with the unknown key; older versions stop at its table.
        let mut full = path.to_vec();
        if full.last() != Some(&Segment::Key(given.clone())) {
            full.push(Segment::Key(given.clone()));
        }
        let suggestion = closest(&given, &expected);
        return ConfigError::UnknownKey { origin: origin_of(&full), key: dotted(&full), suggestion, expected };
    }
    if let Some((given, expected)) = parse_unknown(message, "unknown variant") {
        let origin = origin_of(path);
        let key = dotted(path);
        let suggestion = closest(&given, &expected);
        let in_task_order =
            matches!(path, [Segment::Key(s), Segment::Key(t), ..] if s == "sequence" && t == "task_order");
        return if in_task_order {
            ConfigError::UnknownDomain { origin, key, given, suggestion }
        } else {
            ConfigError::UnknownChoice { origin, key, given, suggestion, expected }
        };
    }
    ConfigError::WrongType { origin: origin_of(path), key: dotted(path), message: message.trim().to_owned() }
}

/// Parses serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`", or "there are no fields").
fn parse_unknown(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = message.trim().strip_prefix(prefix)?.trim_start();
    let rest = rest.strip_prefix('`')?;
    let (given, tail) = rest.split_once('`')?;
    let expected = tail.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    Some((given.to_owned(), expected))
}

/// The valid name closest to `given`, if it is close enough to be a plausible typo.
fn closest(given: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(given, c), c))
        .filter(|(d, c)| *d <= (c.len().max(given.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}
