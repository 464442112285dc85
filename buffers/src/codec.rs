//! Encoding of records inside a block payload (see `FORMAT.md`, "Record encoding"): a small prefix with the fields
//! filters look at (so filtering and sampling decisions decode nothing else), then the remaining fields and the
//! messages in a compact binary form of JSON values (no escaping, no number formatting: several times faster than
//! JSON text to write and to read), then the token arrays in binary.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::format::{le_u32, le_u64};
use crate::record::{Record, TerminationReason};

/// Marks an absent optional array.
const ABSENT: u32 = u32::MAX;
/// Deepest nesting of JSON values accepted (serde_json's own parser limit), so hostile input cannot overflow the
/// stack.
pub const MAX_VALUE_DEPTH: usize = 128;

/// Value tags of the binary JSON encoding.
mod tag {
    pub const NULL: u8 = 0;
    pub const FALSE: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const U64: u8 = 3;
    pub const I64: u8 = 4;
    pub const F64: u8 = 5;
    pub const STRING: u8 = 6;
    pub const ARRAY: u8 = 7;
    pub const OBJECT: u8 = 8;
}

/// Appends the encoding of `record` (with its `u32` length prefix) to `out`. Fails only on JSON values nested
/// deeper than [`MAX_VALUE_DEPTH`].
pub fn encode_record(record: &Record, out: &mut Vec<u8>) -> Result<(), String> {
    let start = out.len();
    out.extend_from_slice(&0u32.to_le_bytes());
    put_str(out, &record.domain);
    out.extend_from_slice(&record.step.to_le_bytes());
    out.extend_from_slice(&record.reward.to_le_bytes());
    out.push(u8::from(record.success));
    put_str(out, &record.task_id);
    put_varint(out, u64::from(record.sample_index));
    put_str(out, record.termination.as_str());
    put_varint(out, record.failure_modes.len() as u64);
    for mode in &record.failure_modes {
        put_str(out, mode);
    }
    match &record.checkpoint_id {
        Some(id) => {
            out.push(1);
            put_str(out, id);
        }
        None => out.push(0),
    }
    out.extend_from_slice(&record.timestamp_unix_ms.to_le_bytes());
    put_varint(out, record.reward_components.len() as u64);
    for (name, value) in &record.reward_components {
        put_str(out, name);
        out.extend_from_slice(&value.to_le_bytes());
    }
    put_varint(out, record.messages.len() as u64);
    for message in &record.messages {
        encode_value(message, out, 0)?;
    }
    match &record.token_ids {
        Some(ids) => {
            out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
            for id in ids {
                out.extend_from_slice(&id.to_le_bytes());
            }
        }
        None => out.extend_from_slice(&ABSENT.to_le_bytes()),
    }
    match &record.loss_mask {
        Some(mask) => {
            out.extend_from_slice(&(mask.len() as u32).to_le_bytes());
            out.extend(mask.iter().map(|&m| u8::from(m)));
        }
        None => out.extend_from_slice(&ABSENT.to_le_bytes()),
    }
    match &record.logprobs {
        Some(logprobs) => {
            out.extend_from_slice(&(logprobs.len() as u32).to_le_bytes());
            for value in logprobs {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        None => out.extend_from_slice(&ABSENT.to_le_bytes()),
    }
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Appends the binary encoding of a JSON value.
fn encode_value(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    if depth >= MAX_VALUE_DEPTH {
        return Err(format!("JSON value nested deeper than {MAX_VALUE_DEPTH} levels"));
    }
    match value {
        Value::Null => out.push(tag::NULL),
        Value::Bool(false) => out.push(tag::FALSE),
        Value::Bool(true) => out.push(tag::TRUE),
        Value::Number(number) => {
            if let Some(u) = number.as_u64() {
                out.push(tag::U64);
                out.extend_from_slice(&u.to_le_bytes());
            } else if let Some(i) = number.as_i64() {
                out.push(tag::I64);
                out.extend_from_slice(&i.to_le_bytes());
            } else {
                let f = number.as_f64().ok_or_else(|| format!("number {number} is not representable"))?;
                out.push(tag::F64);
                out.extend_from_slice(&f.to_le_bytes());
            }
        }
        Value::String(s) => {
            out.push(tag::STRING);
            put_str(out, s);
        }
        Value::Array(items) => {
            out.push(tag::ARRAY);
            put_varint(out, items.len() as u64);
            for item in items {
                encode_value(item, out, depth + 1)?;
            }
        }
        Value::Object(map) => {
            out.push(tag::OBJECT);
            put_varint(out, map.len() as u64);
            for (key, item) in map {
                put_str(out, key);
                encode_value(item, out, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// A record inside a decompressed block, with the cheap fields decoded and the rest left as bytes until asked for.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    /// Domain of the record.
    pub domain: &'a str,
    /// Training step.
    pub step: u64,
    /// Total reward.
    pub reward: f64,
    /// Whether the task was solved.
    pub success: bool,
    rest: &'a [u8],
}

/// A cursor over the records of one decompressed block payload.
pub struct BlockRecords<'a> {
    rest: &'a [u8],
}

impl<'a> BlockRecords<'a> {
    /// Iterates the records of `payload`.
    pub fn new(payload: &'a [u8]) -> Self {
        Self { rest: payload }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next record, `None` at the end, an error message if the framing is broken.
    pub fn next_view(&mut self) -> Option<Result<RecordView<'a>, String>> {
        if self.rest.is_empty() {
            return None;
        }
        Some(self.split_next())
    }

    fn split_next(&mut self) -> Result<RecordView<'a>, String> {
        let len = take_u32(&mut self.rest, "record length")? as usize;
        let mut body = take(&mut self.rest, len, "record")?;
        let domain = take_str(&mut body, "domain")?;
        let step = le_u64(take(&mut body, 8, "step")?);
        let reward = take_f64(&mut body, "reward")?;
        let success = take_flag(&mut body, "success flag")?;
        Ok(RecordView { domain, step, reward, success, rest: body })
    }
}

impl RecordView<'_> {
    /// Decodes the whole record.
    pub fn decode(&self) -> Result<Record, String> {
        let mut rest = self.rest;
        let input = &mut rest;
        let task_id = take_str(input, "task id")?.to_owned();
        let sample_index =
            u32::try_from(take_varint(input, "sample index")?).map_err(|_| "sample index exceeds u32".to_owned())?;
        let termination = termination_from_name(take_str(input, "termination reason")?);
        let count = take_count(input, "failure modes")?;
        let mut failure_modes = Vec::with_capacity(count);
        for _ in 0..count {
            failure_modes.push(take_str(input, "failure mode")?.to_owned());
        }
        let checkpoint_id = match take_flag(input, "checkpoint flag")? {
            true => Some(take_str(input, "checkpoint id")?.to_owned()),
            false => None,
        };
        let timestamp_unix_ms = le_u64(take(input, 8, "timestamp")?);
        let count = take_count(input, "reward components")?;
        let mut reward_components = BTreeMap::new();
        for _ in 0..count {
            let name = take_str(input, "reward component name")?.to_owned();
            reward_components.insert(name, take_f64(input, "reward component")?);
        }
        let count = take_count(input, "messages")?;
        let mut messages = Vec::with_capacity(count);
        for _ in 0..count {
            messages.push(decode_value(input, 0)?);
        }
        let token_ids =
            take_array(input, 4, "token ids")?.map(|bytes| bytes.chunks_exact(4).map(le_u32).collect::<Vec<u32>>());
        let loss_mask = match take_array(input, 1, "loss mask")? {
            Some(bytes) => Some(
                bytes
                    .iter()
                    .map(|&b| match b {
                        0 => Ok(false),
                        1 => Ok(true),
                        other => Err(format!("loss mask has invalid value {other}")),
                    })
                    .collect::<Result<Vec<bool>, String>>()?,
            ),
            None => None,
        };
        let logprobs = take_array(input, 4, "log-probs")?
            .map(|bytes| bytes.chunks_exact(4).map(|c| f32::from_bits(le_u32(c))).collect::<Vec<f32>>());
        if !input.is_empty() {
            return Err(format!("{} unexpected bytes after the record", input.len()));
        }
        Ok(Record {
            domain: self.domain.to_owned(),
            task_id,
            step: self.step,
            sample_index,
            messages,
            token_ids,
            loss_mask,
            logprobs,
            reward: self.reward,
            reward_components,
            success: self.success,
            termination,
            failure_modes,
            checkpoint_id,
            timestamp_unix_ms,
        })
    }
}

fn termination_from_name(name: &str) -> TerminationReason {
    match name {
        "agent_stop" => TerminationReason::AgentStop,
        "user_stop" => TerminationReason::UserStop,
        "max_steps" => TerminationReason::MaxSteps,
        "too_many_errors" => TerminationReason::TooManyErrors,
        "agent_error" => TerminationReason::AgentError,
        "user_error" => TerminationReason::UserError,
        "timeout" => TerminationReason::Timeout,
        other => TerminationReason::Other(other.to_owned()),
    }
}

/// Decodes one binary JSON value.
fn decode_value(input: &mut &[u8], depth: usize) -> Result<Value, String> {
    if depth >= MAX_VALUE_DEPTH {
        return Err(format!("JSON value nested deeper than {MAX_VALUE_DEPTH} levels"));
    }
    let kind = take(input, 1, "value tag")?[0];
    Ok(match kind {
        tag::NULL => Value::Null,
        tag::FALSE => Value::Bool(false),
        tag::TRUE => Value::Bool(true),
        tag::U64 => Value::Number(le_u64(take(input, 8, "integer")?).into()),
        tag::I64 => Value::Number((le_u64(take(input, 8, "integer")?) as i64).into()),
        tag::F64 => {
            let value = take_f64(input, "number")?;
            Value::Number(Number::from_f64(value).ok_or_else(|| format!("number {value} is not finite"))?)
        }
        tag::STRING => Value::String(take_str(input, "string")?.to_owned()),
        tag::ARRAY => {
            let count = take_count(input, "array")?;
            let mut items = Vec::with_capacity(count);
            for _ in 0..count {
                items.push(decode_value(input, depth + 1)?);
            }
            Value::Array(items)
        }
        tag::OBJECT => {
            let count = take_count(input, "object")?;
            let mut map = Map::with_capacity(count);
            for _ in 0..count {
                let key = take_str(input, "object key")?.to_owned();
                let value = decode_value(input, depth + 1)?;
                if map.insert(key, value).is_some() {
                    return Err("object has a duplicate key".into());
                }
            }
            Value::Object(map)
        }
        other => return Err(format!("unknown value tag {other}")),
    })
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn take<'a>(rest: &mut &'a [u8], len: usize, what: &str) -> Result<&'a [u8], String> {
    if rest.len() < len {
        return Err(format!("{what} truncated: needs {len} bytes, {} left", rest.len()));
    }
    let (head, tail) = rest.split_at(len);
    *rest = tail;
    Ok(head)
}

fn take_u32(rest: &mut &[u8], what: &str) -> Result<u32, String> {
    take(rest, 4, what).map(le_u32)
}

fn take_f64(rest: &mut &[u8], what: &str) -> Result<f64, String> {
    take(rest, 8, what).map(|b| f64::from_bits(le_u64(b)))
}

fn take_flag(rest: &mut &[u8], what: &str) -> Result<bool, String> {
    match take(rest, 1, what)?[0] {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(format!("{what} has invalid value {other}")),
    }
}

fn take_varint(rest: &mut &[u8], what: &str) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = take(rest, 1, what)?[0];
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(format!("{what}: varint longer than 10 bytes"))
}

/// An element count; never more than the bytes left (each element takes at least one), so a hostile count cannot
/// trigger a huge allocation.
fn take_count(rest: &mut &[u8], what: &str) -> Result<usize, String> {
    let count = take_varint(rest, what)?;
    if count > rest.len() as u64 {
        return Err(format!("{what}: count {count} exceeds the {} bytes left", rest.len()));
    }
    Ok(count as usize)
}

fn take_str<'a>(rest: &mut &'a [u8], what: &str) -> Result<&'a str, String> {
    let len = take_varint(rest, what)?;
    let len = usize::try_from(len).map_err(|_| format!("{what}: length {len} too large"))?;
    std::str::from_utf8(take(rest, len, what)?).map_err(|_| format!("{what} is not UTF-8"))
}

/// An optional array of `count` elements of `width` bytes.
fn take_array<'a>(rest: &mut &'a [u8], width: usize, what: &str) -> Result<Option<&'a [u8]>, String> {
    let count = take_u32(rest, what)?;
    if count == ABSENT {
        return Ok(None);
    }
    let len = (count as usize).checked_mul(width).ok_or_else(|| format!("{what} length overflows"))?;
    take(rest, len, what).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(value: &Value) -> Value {
        let mut bytes = Vec::new();
        encode_value(value, &mut bytes, 0).unwrap();
        let mut input = bytes.as_slice();
        let decoded = decode_value(&mut input, 0).unwrap();
        assert!(input.is_empty());
        decoded
    }

    #[test]
    fn json_values_round_trip_exactly() {
        let value = json!({
            "z": null, "a": [true, false, 0, -1, u64::MAX, i64::MIN, 0.1, 1e300, -2.5e-308],
            "nested": {"s": "é\"\\\n\u{0}", "empty": {}, "list": []},
        });
        let decoded = round_trip(&value);
        assert_eq!(decoded, value);
        assert_eq!(decoded.to_string(), value.to_string(), "key order is preserved");
    }

    #[test]
    fn too_deep_values_are_rejected_both_ways() {
        let mut value = json!(1);
        for _ in 0..MAX_VALUE_DEPTH {
            value = json!([value]);
        }
        assert!(encode_value(&value, &mut Vec::new(), 0).is_err());
        let mut bytes = [tag::ARRAY, 1].repeat(MAX_VALUE_DEPTH + 1);
        bytes.push(tag::NULL);
        assert!(decode_value(&mut bytes.as_slice(), 0).unwrap_err().contains("deeper"));
    }

    #[test]
    fn hostile_counts_do_not_allocate() {
        let mut bytes = vec![tag::ARRAY];
        put_varint(&mut bytes, u64::MAX >> 1);
        assert!(decode_value(&mut bytes.as_slice(), 0).unwrap_err().contains("exceeds"));
    }
}
