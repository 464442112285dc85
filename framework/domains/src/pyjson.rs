//! Python-exact JSON rendering, so tool outputs read byte for byte like τ²'s.
//!
//! τ² renders every non-string tool result with `json.dumps(model.model_dump(), default=str)`: separators
//! `", "` and `": "`, non-ASCII characters escaped as `\uXXXX` (`ensure_ascii`), floats in Python `repr`
//! form (`100.0`, `1e-05`, `1.5e+16`) and keys in pydantic field order. Serializing our models (whose
//! fields are declared in pydantic order, maps kept in insertion order) through [`to_string`] reproduces that.
//! [`to_string_sorted`] adds `sort_keys=True`, the form τ² hashes to compare databases. [`to_string_unicode`] is
//! `json.dumps(value, ensure_ascii=False)`, what the Hugging Face chat templates' `tojson` filter writes.

mod sorted;

use std::io;

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{CharEscape, Formatter, Serializer};

/// A `serde_json` formatter that writes what Python's `json.dumps` writes: default separators, Python float
/// `repr`, and — with `ensure_ascii`, Python's default — every character outside printable ASCII as `\uXXXX`.
#[derive(Debug, Clone, Copy)]
pub struct PyFormatter {
    /// Escape non-ASCII characters and DEL (`json.dumps`'s default) instead of writing them as they are.
    pub ensure_ascii: bool,
}

impl PyFormatter {
    /// `json.dumps(value)`: τ²'s tool outputs and database hashes.
    pub const ASCII: PyFormatter = PyFormatter { ensure_ascii: true };
    /// `json.dumps(value, ensure_ascii=False)`: chat templates' `tojson`.
    pub const UNICODE: PyFormatter = PyFormatter { ensure_ascii: false };
}

impl Formatter for PyFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(float_repr(f64::from(value)).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        // Python escapes everything outside ' '..='~' (control characters reach `write_char_escape`; DEL does not).
        if !self.ensure_ascii || (fragment.is_ascii() && !fragment.contains('\u{7f}')) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut units = [0u16; 2];
        for ch in fragment.chars() {
            if ch.is_ascii() && ch != '\u{7f}' {
                writer.write_all(&[ch as u8])?;
            } else {
                for unit in ch.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, writer: &mut W, escape: CharEscape) -> io::Result<()> {
        let s: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(writer, "\\u{byte:04x}"),
        };
        writer.write_all(s)
    }

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

/// Renders `value` as Python's `json.dumps(value)` would (insertion/field order kept).
///
/// Serialization of our own models cannot fail (string keys only); a failure is reported in the output
/// text rather than panicking, so a tool observation always exists.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    render(value, PyFormatter::ASCII)
}

/// Renders `value` as Python's `json.dumps(value, ensure_ascii=False)` would: like [`to_string`] but with
/// non-ASCII characters kept, as chat templates' `tojson` filter writes tool schemas and call arguments.
pub fn to_string_unicode<T: Serialize + ?Sized>(value: &T) -> String {
    render(value, PyFormatter::UNICODE)
}

fn render<T: Serialize + ?Sized>(value: &T, formatter: PyFormatter) -> String {
    let mut out = Vec::with_capacity(256);
    let mut ser = Serializer::with_formatter(&mut out, formatter);
    match value.serialize(&mut ser) {
        Ok(()) => String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Err(e) => format!("<unserializable value: {e}>"),
    }
}

/// Renders `value` as Python's `json.dumps(value, sort_keys=True)` — τ²'s canonical form for hashing.
///
/// Written directly, without an intermediate `Value` tree; the output equals [`sort_keys`] on
/// `serde_json::to_value(value)` followed by [`to_string`].
pub fn to_string_sorted<T: Serialize + ?Sized>(value: &T) -> String {
    match sorted::write(value) {
        Ok(out) => String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Err(e) => format!("<unserializable value: {e}>"),
    }
}

/// Recursively sorts object keys by code point, as Python's `sort_keys=True` does.
pub fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.sort_keys();
            for v in map.values_mut() {
                sort_keys(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// Python's `repr(float)`: the shortest round-tripping digits, fixed notation for decimal exponents in
/// `[-4, 16)`, otherwise scientific with a signed two-digit exponent; integral values keep a trailing `.0`.
pub fn float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity".to_owned() } else { "-Infinity".to_owned() };
    }
    // `{:e}` gives the shortest round-trip digits as `d.ddde<exp>`.
    let sci = format!("{:e}", value.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if value.is_sign_negative() { "-" } else { "" };
    let decpt = exp + 1; // value = 0.DIGITS × 10^decpt
    let n = digits.len() as i32;
    let body = if (-4 < decpt) && (decpt <= 16) {
        if decpt <= 0 {
            format!("0.{}{}", "0".repeat((-decpt) as usize), digits)
        } else if decpt < n {
            format!("{}.{}", &digits[..decpt as usize], &digits[decpt as usize..])
        } else {
            format!("{}{}.0", digits, "0".repeat((decpt - n) as usize))
        }
    } else {
        let mant = if digits.len() == 1 { digits.clone() } else { format!("{}.{}", &digits[..1], &digits[1..]) };
        let e = decpt - 1;
        let esign = if e < 0 { '-' } else { '+' };
        format!("{mant}e{esign}{:02}", e.abs())
    };
    format!("{sign}{body}")
}

/// Python's `round(x, ndigits)` for floats: the correctly rounded decimal (ties to even on the exact
/// binary value), converted back to a float.
pub fn py_round(value: f64, ndigits: usize) -> f64 {
    if !value.is_finite() {
        return value;
    }
    let text = format!("{value:.ndigits$}");
    text.parse().unwrap_or(value)
}

/// Python's `str(x)` for a float (same as `repr`), used where τ² interpolates numbers into messages.
pub fn py_str_float(value: f64) -> String {
    float_repr(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_match_python_repr() {
        let cases = [
            (100.0, "100.0"),
            (0.1, "0.1"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e16, "1.5e+16"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (123456.789, "123456.789"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.23e-7, "1.23e-07"),
            (2.5e100, "2.5e+100"),
        ];
        for (v, want) in cases {
            assert_eq!(float_repr(v), want, "{v}");
        }
    }

    #[test]
    fn dumps_matches_python_defaults() {
        let v = json!({"b": [1, 2.0, "é😀\n"], "a": null, "c": {"x": true}});
        assert_eq!(to_string(&v), r#"{"b": [1, 2.0, "\u00e9\ud83d\ude00\n"], "a": null, "c": {"x": true}}"#);
        assert_eq!(to_string_sorted(&v), r#"{"a": null, "b": [1, 2.0, "\u00e9\ud83d\ude00\n"], "c": {"x": true}}"#);
    }

    #[test]
    fn del_is_escaped_like_python() {
        // json.dumps("a\x7fb") == '"a\\u007fb"'; with ensure_ascii=False the character stays.
        assert_eq!(to_string(&json!("a\u{7f}b")), r#""a\u007fb""#);
        assert_eq!(to_string_sorted(&json!({"k": "\u{7f}"})), r#"{"k": "\u007f"}"#);
        assert_eq!(to_string_unicode(&json!("a\u{7f}b")), "\"a\u{7f}b\"");
    }

    #[test]
    fn unicode_form_keeps_non_ascii_and_python_separators() {
        let v = json!({"a": [1, 2.5, "é"], "b": {"c": null}});
        assert_eq!(to_string_unicode(&v), r#"{"a": [1, 2.5, "é"], "b": {"c": null}}"#);
    }

    /// The direct sorted writer must equal the tree route it replaces, on every shape serde can produce.
    #[test]
    fn sorted_writer_equals_sorting_a_value_tree() {
        #[derive(Serialize)]
        enum E {
            Unit,
            New(f64),
            Tuple(u8, String),
            Struct { z: i32, a: Option<bool> },
        }
        #[derive(Serialize)]
        struct S {
            zeta: Vec<E>,
            alpha: std::collections::BTreeMap<i64, &'static str>,
            mid: indexmap::IndexMap<String, Value>,
            bytes: &'static [u8],
            chars: (char, f32, f64, u64, i128),
        }
        let mut mid = indexmap::IndexMap::new();
        mid.insert("é\"\\\u{7f}\u{1}key".to_owned(), json!({"b": [1, {"d": 1, "c": null}], "a": 1e-7}));
        mid.insert("B".to_owned(), json!("😀\t"));
        mid.insert("a".to_owned(), json!({}));
        let value = S {
            zeta: vec![E::Unit, E::New(f64::NAN), E::Tuple(7, "x".into()), E::Struct { z: -1, a: None }],
            alpha: [(10, "ten"), (9, "nine"), (-1, "minus")].into_iter().collect(),
            mid,
            bytes: b"ab",
            chars: ('\n', 0.1, 1e16, u64::MAX, -5),
        };
        let mut tree = serde_json::to_value(&value).unwrap();
        sort_keys(&mut tree);
        assert_eq!(to_string_sorted(&value), to_string(&tree));
        // A map that yields the same key twice keeps the last value, as inserting into a map does.
        struct Dup;
        impl Serialize for Dup {
            fn serialize<Z: serde::Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("k", &1)?;
                m.serialize_entry("a", &2)?;
                m.serialize_entry("k", &3)?;
                m.end()
            }
        }
        let mut tree = serde_json::to_value(Dup).unwrap();
        sort_keys(&mut tree);
        assert_eq!(to_string_sorted(&Dup), to_string(&tree));
        assert_eq!(to_string_sorted(&Dup), r#"{"a": 2, "k": 3}"#);
    }

    #[test]
    fn round_matches_python() {
        assert_eq!(py_round(2.675, 2), 2.67); // binary value is below the tie
        assert_eq!(py_round(0.125, 2), 0.12); // exact tie → even
        assert_eq!(py_round(0.375, 2), 0.38);
        assert_eq!(py_round(1234.5678, 2), 1234.57);
        assert_eq!(py_round(-1.005, 2), -1.0);
    }
}
