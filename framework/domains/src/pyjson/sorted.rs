//! A direct writer for `json.dumps(value, sort_keys=True)`: serializes straight into bytes, sorting each
//! object's entries as it closes, instead of building a `serde_json::Value` tree, sorting it and writing it
//! out. Databases are hashed in this form after every gold replay, so the tree's millions of small
//! allocations mattered.
//!
//! The output is exactly what `serde_json::to_value` + [`super::sort_keys`] + [`super::to_string`] give:
//! scalars are written by `serde_json`'s own serializer with [`PyFormatter`] (same escaping, same
//! non-finite floats → `null`), map keys are converted to strings as `serde_json::to_value` converts them,
//! keys are compared as strings (code-point order, as Python's `sort_keys`) and a repeated key keeps its last
//! value (what inserting into a map does).
//!
//! How an object is sorted: its entries are written as they come (`"key": value`, separated by `, `) while
//! their keys and spans are recorded; when the object ends, if the keys were not already in order, that
//! region is copied to a scratch buffer and written back in key order. Each byte is thus copied at most
//! once per enclosing object, with no allocation per value.

use std::borrow::Cow;
use std::fmt::Display;

use serde::ser::{self, Serialize};
use serde_json::Value;

use super::PyFormatter;

/// Serialization error (only custom `Serialize` impls and non-string map keys can fail).
#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error(e.to_string())
    }
}

type Result<T> = std::result::Result<T, Error>;

/// Writes `value` in sorted-keys Python form.
pub fn write<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut writer = SortedWriter { out: Vec::with_capacity(1 << 16), scratch: Vec::new() };
    value.serialize(&mut writer)?;
    Ok(writer.out)
}

/// The output buffer and the scratch buffer objects are reordered through.
struct SortedWriter {
    out: Vec<u8>,
    scratch: Vec<u8>,
}

impl SortedWriter {
    /// `serde_json`'s serializer over our buffer, for scalars.
    fn json(&mut self) -> serde_json::Serializer<&mut Vec<u8>, PyFormatter> {
        serde_json::Serializer::with_formatter(&mut self.out, PyFormatter::ASCII)
    }

    fn write_str(&mut self, s: &str) -> Result<()> {
        write_str(&mut self.out, s)
    }
}

/// Bytes written as they are inside a JSON string: printable ASCII except `"` and `\\`.
static PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        table[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    table
};

/// A JSON string as [`PyFormatter`] writes it. Strings that need no escaping (printable ASCII without `"`
/// and `\`, the usual case) are copied as they are; the others go through `serde_json`.
fn write_str(out: &mut Vec<u8>, s: &str) -> Result<()> {
    let bytes = s.as_bytes();
    let mut plain = true;
    for &b in bytes {
        plain &= PLAIN[usize::from(b)];
    }
    if plain {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return Ok(());
    }
    let mut json = serde_json::Serializer::with_formatter(out, PyFormatter::ASCII);
    ser::Serializer::serialize_str(&mut json, s)?;
    Ok(())
}

/// One object entry: its key and the span of its `"key": value` text in the output buffer.
struct Entry {
    key: Cow<'static, str>,
    start: usize,
    end: usize,
}

/// An object being written; see the module docs.
struct Object<'a> {
    writer: &'a mut SortedWriter,
    /// Where the first entry starts (just after `{`).
    base: usize,
    entries: Vec<Entry>,
    pending_key: Option<Cow<'static, str>>,
    /// Closing bytes after the object (`}` of an enclosing `{"Variant": {...}}`).
    suffix: &'static [u8],
}

impl<'a> Object<'a> {
    fn new(writer: &'a mut SortedWriter, len: Option<usize>, suffix: &'static [u8]) -> Self {
        writer.out.push(b'{');
        let base = writer.out.len();
        Object { writer, base, entries: Vec::with_capacity(len.unwrap_or(0)), pending_key: None, suffix }
    }

    fn value<T: Serialize + ?Sized>(&mut self, key: Cow<'static, str>, value: &T) -> Result<()> {
        if !self.entries.is_empty() {
            self.writer.out.extend_from_slice(b", ");
        }
        let start = self.writer.out.len();
        write_str(&mut self.writer.out, &key)?;
        self.writer.out.extend_from_slice(b": ");
        value.serialize(&mut *self.writer)?;
        self.entries.push(Entry { key, start, end: self.writer.out.len() });
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        let w = self.writer;
        // Entries already in strictly increasing key order are final as written.
        if !self.entries.windows(2).all(|pair| pair[0].key < pair[1].key) {
            w.scratch.clear();
            w.scratch.extend_from_slice(&w.out[self.base..]);
            w.out.truncate(self.base);
            // Stable sort: among equal keys the last one written is the value a map would keep.
            self.entries.sort_by(|a, b| a.key.cmp(&b.key));
            let mut first = true;
            for (i, entry) in self.entries.iter().enumerate() {
                if self.entries.get(i + 1).is_some_and(|next| next.key == entry.key) {
                    continue;
                }
                if !first {
                    w.out.extend_from_slice(b", ");
                }
                first = false;
                w.out.extend_from_slice(&w.scratch[entry.start - self.base..entry.end - self.base]);
            }
        }
        w.out.push(b'}');
        w.out.extend_from_slice(self.suffix);
        Ok(())
    }
}

/// An array being written (no reordering).
struct Array<'a> {
    writer: &'a mut SortedWriter,
    first: bool,
    /// Closing bytes after `]` (`}` of an enclosing `{"Variant": [...]}`).
    suffix: &'static [u8],
}

impl<'a> Array<'a> {
    fn new(writer: &'a mut SortedWriter, suffix: &'static [u8]) -> Self {
        writer.out.push(b'[');
        Array { writer, first: true, suffix }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        if !self.first {
            self.writer.out.extend_from_slice(b", ");
        }
        self.first = false;
        value.serialize(&mut *self.writer)
    }

    fn finish(self) -> Result<()> {
        self.writer.out.push(b']');
        self.writer.out.extend_from_slice(self.suffix);
        Ok(())
    }
}

macro_rules! scalar {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method(self, v: $ty) -> Result<()> {
                ser::Serializer::$method(&mut self.json(), v)?;
                Ok(())
            }
        )*
    };
}

impl<'a> ser::Serializer for &'a mut SortedWriter {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = Array<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    scalar!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
    );

    fn serialize_str(self, v: &str) -> Result<()> {
        self.write_str(v)
    }

    fn serialize_none(self) -> Result<()> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<()> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<()> {
        self.write_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<()> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<()> {
        self.out.push(b'{');
        self.write_str(variant)?;
        self.out.extend_from_slice(b": ");
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Array<'a>> {
        Ok(Array::new(self, b""))
    }

    fn serialize_tuple(self, len: usize) -> Result<Array<'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Array<'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Array<'a>> {
        self.out.push(b'{');
        self.write_str(variant)?;
        self.out.extend_from_slice(b": ");
        Ok(Array::new(self, b"}"))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Object<'a>> {
        Ok(Object::new(self, len, b""))
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Object<'a>> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Object<'a>> {
        self.out.push(b'{');
        self.write_str(variant)?;
        self.out.extend_from_slice(b": ");
        Ok(Object::new(self, Some(len), b"}"))
    }
}

impl ser::SerializeSeq for Array<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTuple for Array<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Array<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Array<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.pending_key = Some(Cow::Owned(map_key(key)?));
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self.pending_key.take().ok_or_else(|| Error("serialize_value called before serialize_key".into()))?;
        self.value(key, value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        self.value(Cow::Borrowed(key), value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        self.value(Cow::Borrowed(key), value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// A map key as the string `serde_json::to_value` would make of it: keys that serialize as strings directly;
/// anything else through `serde_json` itself (a one-entry map turned into a `Value`), so numbers, booleans
/// and enum keys convert, and unsupported keys fail, exactly as there.
fn map_key<T: Serialize + ?Sized>(key: &T) -> Result<String> {
    if let Ok(Value::String(s)) = key.serialize(serde_json::value::Serializer) {
        return Ok(s);
    }
    struct OneEntry<'k, K: ?Sized>(&'k K);
    impl<K: Serialize + ?Sized> Serialize for OneEntry<'_, K> {
        fn serialize<S: ser::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
            use ser::SerializeMap;
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry(self.0, &())?;
            map.end()
        }
    }
    match serde_json::to_value(OneEntry(key))? {
        Value::Object(map) => {
            map.into_iter().next().map(|(k, _)| k).ok_or_else(|| Error("map key vanished".to_owned()))
        }
        _ => Err(Error("map key did not serialize as an object key".to_owned())),
    }
}
