//! `--set a.b.c=value` overrides, applied to the parsed TOML tree before it is checked against the schema, so an
//! override is type-checked exactly like the same key written in the file.

use crate::ConfigError;
use std::str::FromStr;

/// One `--set key=value` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The key path, e.g. `["trainer", "learning_rate"]`; numeric segments index into arrays.
    pub path: Vec<String>,
    /// The value, parsed as a TOML value when it is one (`3`, `1e-6`, `true`, `["airline"]`) and as a plain
    /// string otherwise (`--set run.name=my-run`).
    pub value: toml::Value,
    /// The argument as typed, for error messages.
    pub raw: String,
}

impl FromStr for Override {
    type Err = ConfigError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let malformed =
            |message: &str| ConfigError::MalformedOverride { given: raw.to_owned(), message: message.to_owned() };
        let (key, value) = raw.split_once('=').ok_or_else(|| malformed("missing `=`; write section.key=value"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(malformed("the key before `=` is empty"));
        }
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        if let Some(bad) =
            path.iter().find(|s| s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        {
            return Err(malformed(&format!(
                "key segment `{bad}` is not a bare TOML key (letters, digits, `_` and `-`, separated by `.`)"
            )));
        }
        Ok(Override { path, value: parse_value(value.trim()), raw: raw.to_owned() })
    }
}

/// A TOML value if the text is one, else the text as a string.
fn parse_value(text: &str) -> toml::Value {
    let wrapped = format!("v = {text}");
    toml::from_str::<toml::Table>(&wrapped)
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

/// Sets `ov.value` at `ov.path` in `root` (the document as a table value), creating intermediate tables as needed.
pub(crate) fn apply(root: &mut toml::Value, ov: &Override) -> Result<(), ConfigError> {
    let not_a_container = |upto: usize| ConfigError::MalformedOverride {
        given: ov.raw.clone(),
        message: format!("`{}` is a plain value, so it has no key `{}`", ov.path[..upto].join("."), ov.path[upto]),
    };
    let (last, parents) = ov.path.split_last().ok_or_else(|| not_a_container(0))?;
    let mut node = root;
    for (i, segment) in parents.iter().enumerate() {
        node = match node {
            toml::Value::Table(t) => t.entry(segment.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new())),
            toml::Value::Array(items) => {
                let len = items.len();
                let index = array_index(segment, len).ok_or_else(|| ConfigError::MalformedOverride {
                    given: ov.raw.clone(),
                    message: format!(
                        "`{}` is a list of {len} entries; `{segment}` is not an index into it",
                        ov.path[..i].join(".")
                    ),
                })?;
                &mut items[index]
            }
            _ => return Err(not_a_container(i)),
        };
    }
    match node {
        toml::Value::Table(t) => {
            t.insert(last.clone(), ov.value.clone());
            Ok(())
        }
        toml::Value::Array(items) => {
            let len = items.len();
            let index = array_index(last, len).ok_or_else(|| not_a_container(parents.len()))?;
            items[index] = ov.value.clone();
            Ok(())
        }
        _ => Err(not_a_container(parents.len())),
    }
}

fn array_index(segment: &str, len: usize) -> Option<usize> {
    segment.parse::<usize>().ok().filter(|&i| i < len)
}
