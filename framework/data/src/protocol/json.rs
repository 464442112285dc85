//! JSON as the Hugging Face chat template's `tojson` filter writes it.
//!
//! Qwen2.5's template renders tool schemas and call arguments with `tojson`, i.e. Python's `json.dumps`
//! with `ensure_ascii=False`: separators `", "` and `": "`, keys in insertion order, non-ASCII characters kept
//! as they are. Rendering our demonstrations the same way keeps the text identical to what a real Qwen2.5
//! tokenizer's template produces, so demonstrations and real-model prompts agree byte for byte.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// `serde_json` formatter with Python's default separators and no ASCII escaping.
#[derive(Debug, Clone, Copy, Default)]
struct ToJsonFormatter;

impl Formatter for ToJsonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

/// Renders `value` as the template's `tojson` filter does. Serialising JSON values and plain structs
/// cannot fail; should it ever, the error text is returned so the caller still gets a string.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(128);
    let mut ser = Serializer::with_formatter(&mut out, ToJsonFormatter);
    match value.serialize(&mut ser) {
        Ok(()) => String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Err(e) => format!("<unserializable value: {e}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_separators_and_unicode_kept() {
        let v = json!({"a": [1, 2.5, "é"], "b": {"c": null}});
        assert_eq!(to_json(&v), r#"{"a": [1, 2.5, "é"], "b": {"c": null}}"#);
    }
}
