//! Turning whatever the model generated into tool calls, a final text, or an error observation.
//!
//! The parser never panics and never guesses silently. Rules:
//! * the output ends at the first `<|im_end|>` or `<|endoftext|>` (anything after is ignored);
//! * each `<tool_call>` must be followed by exactly one JSON object `{"name": str, "arguments": object}`
//!   (an `arguments` given as a JSON-encoded string holding an object is accepted, as OpenAI-style models
//!   emit it; a missing `arguments` means no arguments), then `</tool_call>` — a missing close tag is
//!   tolerated only at the very end of the output (generation cut at the stop token);
//! * several calls are returned in order; prose around calls is kept as the message's text;
//! * a name the agent does not hold is an error naming the closest tool;
//! * text without any `<tool_call>` is a final message, unless it is a bare tool-call JSON object or a
//!   stray `</tool_call>`, which are errors (the agent clearly meant to call a tool);
//! * if any call of a turn is invalid, the whole turn is rejected (nothing is executed) with an
//!   observation that says what was wrong and how the call must look.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use retain_domains::{ParticipantMessage, ToolCall};

use super::template::{END_OF_TEXT, IM_END, TOOL_CALL_CLOSE, TOOL_CALL_OPEN};

/// What kind of mistake made an output unusable (for counting failures by kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParseErrorKind {
    /// Nothing but whitespace.
    Empty,
    /// The JSON after `<tool_call>` ends before the object is complete.
    TruncatedJson,
    /// The JSON after `<tool_call>` is malformed.
    InvalidJson,
    /// The JSON is not an object.
    NotAnObject,
    /// No string `name` field.
    MissingName,
    /// `arguments` is not an object.
    ArgumentsNotObject,
    /// A tool the agent does not hold.
    UnknownTool,
    /// Text between the JSON object and `</tool_call>`.
    TrailingText,
    /// `</tool_call>` without a matching `<tool_call>`.
    StrayCloseTag,
    /// A tool-call JSON object written without `<tool_call>` tags.
    BareJson,
}

/// An unusable output: why, and the observation the agent gets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseError {
    /// The kind of mistake.
    pub kind: ParseErrorKind,
    /// The message shown to the agent as a tool result (starts with `Error:` like τ²'s tool errors).
    pub observation: String,
}

/// The meaning of one model output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ParsedTurn {
    /// One or more valid tool calls, with any surrounding prose kept as text.
    Calls(ParticipantMessage),
    /// A text message to the user (no tool call).
    Text(String),
    /// Unusable output; feed [`ParseError::observation`] back as an error observation.
    Invalid(ParseError),
}

impl ParsedTurn {
    /// The message to give the episode, if the output was usable.
    pub fn message(&self) -> Option<ParticipantMessage> {
        match self {
            ParsedTurn::Calls(m) => Some(m.clone()),
            ParsedTurn::Text(t) => Some(ParticipantMessage::text(t.clone())),
            ParsedTurn::Invalid(_) => None,
        }
    }
}

const FORMAT_HINT: &str = "Write each call as <tool_call>\n{\"name\": <tool-name>, \"arguments\": {<argument-name>: <value>, ...}}\n</tool_call>";

fn invalid(kind: ParseErrorKind, what: String) -> ParsedTurn {
    ParsedTurn::Invalid(ParseError { kind, observation: format!("Error: {what}. {FORMAT_HINT}") })
}

/// Parses a model output. `tools` lists the names the agent holds; an empty slice disables the name check.
pub fn parse_output(output: &str, tools: &[&str]) -> ParsedTurn {
    let end = [IM_END, END_OF_TEXT].iter().filter_map(|stop| output.find(stop)).min().unwrap_or(output.len());
    let text = &output[..end];
    if text.trim().is_empty() {
        return invalid(ParseErrorKind::Empty, "the message is empty; send a tool call or a text message".to_owned());
    }
    let mut calls = Vec::new();
    let mut prose: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(TOOL_CALL_OPEN) {
        let before = &rest[..open];
        if before.contains(TOOL_CALL_CLOSE) {
            return invalid(
                ParseErrorKind::StrayCloseTag,
                format!("found {TOOL_CALL_CLOSE} without a matching {TOOL_CALL_OPEN}"),
            );
        }
        prose.push(before);
        let body = &rest[open + TOOL_CALL_OPEN.len()..];
        let index = calls.len() + 1;
        let mut stream = serde_json::Deserializer::from_str(body).into_iter::<Value>();
        let value = match stream.next() {
            None => {
                return invalid(
                    ParseErrorKind::TruncatedJson,
                    format!("tool call {index} has no JSON object after {TOOL_CALL_OPEN}"),
                );
            }
            Some(Err(e)) if e.is_eof() => {
                return invalid(
                    ParseErrorKind::TruncatedJson,
                    format!("tool call {index} is cut off: its JSON ends early ({e})"),
                );
            }
            Some(Err(e)) => {
                return invalid(ParseErrorKind::InvalidJson, format!("tool call {index} is not valid JSON ({e})"));
            }
            Some(Ok(v)) => v,
        };
        let after = &body[stream.byte_offset()..];
        let after_trim = after.trim_start();
        if let Some(stripped) = after_trim.strip_prefix(TOOL_CALL_CLOSE) {
            rest = stripped;
        } else if after_trim.is_empty() {
            rest = after_trim; // close tag missing at the very end: tolerated
        } else {
            let snippet: String = after_trim.chars().take(30).collect();
            return invalid(
                ParseErrorKind::TrailingText,
                format!("tool call {index} has text after its JSON object instead of {TOOL_CALL_CLOSE}: {snippet:?}"),
            );
        }
        match call_from_value(value, tools, index) {
            Ok(call) => calls.push(call),
            Err(e) => return e,
        }
    }
    if rest.contains(TOOL_CALL_CLOSE) {
        return invalid(
            ParseErrorKind::StrayCloseTag,
            format!("found {TOOL_CALL_CLOSE} without a matching {TOOL_CALL_OPEN}"),
        );
    }
    prose.push(rest);
    if calls.is_empty() {
        let trimmed = text.trim();
        if looks_like_bare_call(trimmed) {
            return invalid(
                ParseErrorKind::BareJson,
                format!("the tool call must be wrapped in {TOOL_CALL_OPEN} and {TOOL_CALL_CLOSE} tags"),
            );
        }
        return ParsedTurn::Text(trimmed.to_owned());
    }
    let prose: String = prose.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).collect::<Vec<_>>().join("\n");
    ParsedTurn::Calls(ParticipantMessage { content: (!prose.is_empty()).then_some(prose), tool_calls: Some(calls) })
}

fn looks_like_bare_call(text: &str) -> bool {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map.contains_key("name") && (map.contains_key("arguments") || map.len() == 1),
        _ => false,
    }
}

fn call_from_value(value: Value, tools: &[&str], index: usize) -> Result<ToolCall, ParsedTurn> {
    let Value::Object(mut map) = value else {
        return Err(invalid(
            ParseErrorKind::NotAnObject,
            format!("tool call {index} must be a JSON object, got {}", kind_of(&value)),
        ));
    };
    let name = match map.remove("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name,
        Some(other) => {
            return Err(invalid(
                ParseErrorKind::MissingName,
                format!("tool call {index} has a \"name\" that is {}, not a tool name", kind_of(&other)),
            ));
        }
        None => return Err(invalid(ParseErrorKind::MissingName, format!("tool call {index} has no \"name\" field"))),
    };
    let arguments = match map.remove("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(args)) => args,
        Some(Value::String(encoded)) => match serde_json::from_str::<Value>(&encoded) {
            Ok(Value::Object(args)) => args,
            _ => {
                return Err(invalid(
                    ParseErrorKind::ArgumentsNotObject,
                    format!("tool call {index} ({name}) has \"arguments\" as a string; it must be a JSON object"),
                ));
            }
        },
        Some(other) => {
            return Err(invalid(
                ParseErrorKind::ArgumentsNotObject,
                format!(
                    "tool call {index} ({name}) has \"arguments\" that is {}; it must be a JSON object",
                    kind_of(&other)
                ),
            ));
        }
    };
    if !tools.is_empty() && !tools.contains(&name.as_str()) {
        let hint = closest(&name, tools).map(|c| format!(" Did you mean {c}?")).unwrap_or_default();
        return Err(invalid(
            ParseErrorKind::UnknownTool,
            format!("tool call {index} names an unknown tool {name:?}.{hint} Available tools: {}", tools.join(", ")),
        ));
    }
    Ok(ToolCall::assistant(name, arguments))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The tool whose name is closest by edit distance, if reasonably close.
fn closest<'a>(name: &str, tools: &[&'a str]) -> Option<&'a str> {
    tools
        .iter()
        .map(|t| (levenshtein(name, t), *t))
        .filter(|(d, t)| *d <= (t.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, t)| t)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(closest("get_user_detail", &["get_user_details", "cancel"]), Some("get_user_details"));
    }
}
