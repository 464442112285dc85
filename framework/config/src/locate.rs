//! Maps a key path back to the line of the config file where it was written, so schema and range errors can point
//! at the line to edit.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// Renders a path the way users write it: `sequence.task_order[1]`.
pub(crate) fn dotted(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The parsed document with spans, kept next to its text.
pub(crate) struct SourceMap<'a> {
    text: &'a str,
    root: Spanned<DeTable<'a>>,
}

impl<'a> SourceMap<'a> {
    pub(crate) fn new(text: &'a str, root: Spanned<DeTable<'a>>) -> Self {
        Self { text, root }
    }

    /// The 1-based line of the deepest part of `path` that the file contains.
    pub(crate) fn line_of(&self, path: &[Segment]) -> Option<usize> {
        let mut best = None;
        let mut table: Option<&DeTable<'a>> = Some(self.root.get_ref());
        let mut value: Option<&Spanned<DeValue<'a>>> = None;
        for segment in path {
            let next = match (segment, table, value) {
                (Segment::Key(k), Some(t), _) => t.get_key_value(k.as_str()).map(|(key, v)| {
                    best = Some(key.span().start);
                    v
                }),
                (Segment::Index(i), None, Some(v)) => v.get_ref().as_array().and_then(|a| a.get(*i)).inspect(|item| {
                    best = Some(item.span().start);
                }),
                _ => None,
            };
            let Some(next) = next else { break };
            value = Some(next);
            table = next.get_ref().as_table();
        }
        best.map(|offset| line_at(self.text, offset))
    }
}

/// The 1-based line of `text` containing byte `offset`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}
