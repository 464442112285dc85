//! The Qwen2.5 chat template, rendered into role-tagged segments.
//!
//! The text is exactly what Qwen2.5-Instruct's `chat_template` (with `tools`) produces, so the tiny model and a
//! real Qwen2.5 checkpoint see the same protocol:
//! ```text
//! <|im_start|>system
//! {system prompt}
//!
//! # Tools
//!
//! You may call one or more functions to assist with the user query.
//!
//! You are provided with function signatures within <tools></tools> XML tags:
//! <tools>
//! {one tool schema per line}
//! </tools>
//!
//! For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
//! <tool_call>
//! {"name": <function-name>, "arguments": <args-json-object>}
//! </tool_call><|im_end|>
//! <|im_start|>assistant
//! <tool_call>
//! {"name": "get_user_details", "arguments": {"user_id": "u12"}}
//! </tool_call><|im_end|>
//! <|im_start|>user
//! <tool_response>
//! {...}
//! </tool_response><|im_end|>
//! ```
//! Consecutive tool results share one `user` turn, as in the template. The rendering is split into
//! [`Segment`]s so the trainer can compute the loss on the agent's own tokens only ([`SegmentKind::Assistant`])
//! and mask tool outputs, the prompt and the template scaffolding.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use retain_domains::{Message, ParticipantMessage, Requestor, ToolCall};

use retain_domains::pyjson::to_string_unicode as to_json;

/// Start of a turn.
pub const IM_START: &str = "<|im_start|>";
/// End of a turn; the model's stop token.
pub const IM_END: &str = "<|im_end|>";
/// Qwen2.5's end-of-text token (also a stop token).
pub const END_OF_TEXT: &str = "<|endoftext|>";
/// Opening tag of a tool call.
pub const TOOL_CALL_OPEN: &str = "<tool_call>";
/// Closing tag of a tool call.
pub const TOOL_CALL_CLOSE: &str = "</tool_call>";
/// Opening tag of a tool result.
pub const TOOL_RESPONSE_OPEN: &str = "<tool_response>";
/// Closing tag of a tool result.
pub const TOOL_RESPONSE_CLOSE: &str = "</tool_response>";
/// The system prompt the template uses when a conversation has none.
pub const DEFAULT_SYSTEM: &str = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
/// What the model is prompted with to produce its next turn (`add_generation_prompt=True`).
pub const GENERATION_PROMPT: &str = "<|im_start|>assistant\n";

const TOOLS_HEADER: &str = "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>";
const TOOLS_FOOTER: &str = "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";

/// Whose text a segment is, which decides whether it is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// System prompt, tool schemas and template scaffolding (`<|im_start|>assistant\n`, newlines).
    Prompt,
    /// A user (simulator) message.
    User,
    /// Tool results, wrapped in `<tool_response>` — environment output, never trained on.
    ToolOutput,
    /// What the agent generates: its text and tool calls, ending with `<|im_end|>`.
    Assistant,
}

impl SegmentKind {
    /// Whether the loss covers this segment (only the agent's own output).
    pub fn trainable(self) -> bool {
        self == SegmentKind::Assistant
    }
}

/// A contiguous piece of the rendered conversation with one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Whose text it is.
    pub kind: SegmentKind,
    /// The text.
    pub text: String,
}

/// A conversation rendered with the chat template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    /// Segments in order; their concatenation is the template's output.
    pub segments: Vec<Segment>,
}

impl Rendered {
    /// The whole text.
    pub fn text(&self) -> String {
        self.segments.iter().map(|s| s.text.as_str()).collect()
    }

    /// Appends text, merging with the previous segment when it has the same kind.
    pub fn push(&mut self, kind: SegmentKind, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.segments.last_mut() {
            Some(last) if last.kind == kind => last.text.push_str(text),
            _ => self.segments.push(Segment { kind, text: text.to_owned() }),
        }
    }

    /// Bytes of trainable text (agent output).
    pub fn trainable_bytes(&self) -> usize {
        self.segments.iter().filter(|s| s.kind.trainable()).map(|s| s.text.len()).sum()
    }
}

/// How tool schemas are written in the system prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ToolStyle {
    /// The OpenAI function schemas τ² gives the model, verbatim (real models).
    #[default]
    Full,
    /// One short line per tool: name, first sentence of the description, argument types (tiny model).
    Compact,
}

/// Shortens an OpenAI function schema to `{"name", "arguments": {arg: type}}`.
///
/// Types are short names (`str`, `int`, `float`, `bool`, `[T]` for lists, `{a,b}` for objects, enum values
/// joined by `|`); optional arguments end in `?`. Descriptions are dropped: the compact policy says what
/// the tools are for.
pub fn compact_tool_schema(schema: &Value) -> Value {
    let function = schema.get("function").unwrap_or(schema);
    let name = function.get("name").and_then(Value::as_str).unwrap_or_default();
    let params = function.get("parameters").cloned().unwrap_or(Value::Null);
    let required: Vec<&str> = params
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut args = Map::new();
    if let Some(props) = params.get("properties").and_then(Value::as_object) {
        for (arg, spec) in props {
            let mut ty = type_name(spec, &params);
            if !required.contains(&arg.as_str()) {
                ty.push('?');
            }
            args.insert(arg.clone(), Value::String(ty));
        }
    }
    json!({"name": name, "arguments": args})
}

fn type_name(spec: &Value, root: &Value) -> String {
    if let Some(values) = spec.get("enum").and_then(Value::as_array) {
        return values.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("|");
    }
    if let Some(reference) = spec.get("$ref").and_then(Value::as_str) {
        let key = reference.rsplit('/').next().unwrap_or_default();
        if let Some(def) = root.get("$defs").and_then(|d| d.get(key)) {
            return type_name(def, root);
        }
        return key.to_owned();
    }
    if let Some(any) = spec.get("anyOf").and_then(Value::as_array) {
        let names: Vec<String> = any.iter().map(|s| type_name(s, root)).filter(|t| t != "null").collect();
        let specific: Vec<String> = names.iter().filter(|t| t.as_str() != "object").cloned().collect();
        return if specific.is_empty() { names.join("|") } else { specific.join("|") };
    }
    match spec.get("type").and_then(Value::as_str) {
        Some("array") => match spec.get("items") {
            Some(items) => format!("[{}]", type_name(items, root)),
            None => "[]".to_owned(),
        },
        Some("object") => match spec.get("properties").and_then(Value::as_object) {
            Some(props) => format!("{{{}}}", props.keys().cloned().collect::<Vec<_>>().join(",")),
            None => "object".to_owned(),
        },
        Some("string") => "str".to_owned(),
        Some("integer") => "int".to_owned(),
        Some("number") => "float".to_owned(),
        Some("boolean") => "bool".to_owned(),
        Some(t) => t.to_owned(),
        None => "any".to_owned(),
    }
}

/// The tool schemas as they go into the `<tools>` block, in the chosen style.
pub fn styled_tools(tools: &[Value], style: ToolStyle) -> Vec<Value> {
    match style {
        ToolStyle::Full => tools.to_vec(),
        ToolStyle::Compact => tools.iter().map(compact_tool_schema).collect(),
    }
}

/// The system turn: the prompt, then (when there are tools) the template's `# Tools` block.
pub fn system_turn(system: &str, tools: &[Value]) -> String {
    let mut out = String::with_capacity(system.len() + 256 * tools.len() + 512);
    out.push_str(IM_START);
    out.push_str("system\n");
    out.push_str(system);
    if !tools.is_empty() {
        out.push_str(TOOLS_HEADER);
        for tool in tools {
            out.push('\n');
            out.push_str(&to_json(tool));
        }
        out.push_str(TOOLS_FOOTER);
    }
    out.push_str(IM_END);
    out.push('\n');
    out
}

/// One tool call as the template writes it (`<tool_call>\n{"name": …, "arguments": …}\n</tool_call>`).
pub fn render_tool_call(name: &str, arguments: &Map<String, Value>) -> String {
    format!("{TOOL_CALL_OPEN}\n{{\"name\": \"{name}\", \"arguments\": {}}}\n{TOOL_CALL_CLOSE}", to_json(arguments))
}

/// What the agent generates for a message, without the final `<|im_end|>`: its text (if any), then each
/// tool call, separated by newlines.
pub fn render_assistant_body(message: &ParticipantMessage) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(text) = message.content.as_deref().filter(|t| !t.is_empty()) {
        parts.push(text.to_owned());
    }
    for call in message.tool_calls.iter().flatten() {
        parts.push(render_tool_call(&call.name, &call.arguments));
    }
    parts.join("\n")
}

/// Renders the agent's view of a trajectory: the first system message (with `tools`), then user texts,
/// agent turns and the results of the agent's tool calls. The user simulator's own tool calls and their
/// results are not shown to the agent (as in τ², where they are routed to the user only).
pub fn render_conversation(messages: &[Message], tools: &[Value]) -> Rendered {
    render_conversation_with_system(messages, tools, None)
}

/// [`render_conversation`] with the first system message's text replaced by `system` (compact prompts).
pub fn render_conversation_with_system(messages: &[Message], tools: &[Value], system: Option<&str>) -> Rendered {
    let mut out = Rendered::default();
    let mut rest = messages;
    let first = match messages.first() {
        Some(Message::System { content }) => {
            rest = &messages[1..];
            content.as_str()
        }
        _ => DEFAULT_SYSTEM,
    };
    out.push(SegmentKind::Prompt, &system_turn(system.unwrap_or(first), tools));
    render_messages(&mut out, rest);
    out
}

/// What the agent reads after one of its turns, up to the next generation prompt: the newline closing its turn,
/// the `observations` (tool results, user reply) as [`render_conversation`] writes them, and
/// `<|im_start|>assistant\n`. Appending these tokens to the generated ones keeps a rollout token-in/token-out
/// while matching the template exactly.
pub fn render_turn_followup(observations: &[Message]) -> Rendered {
    let mut out = Rendered::default();
    out.push(SegmentKind::Prompt, "\n");
    render_messages(&mut out, observations);
    out.push(SegmentKind::Prompt, GENERATION_PROMPT);
    out
}

/// Renders the messages after the system turn: user texts, agent turns and the agent's tool results.
fn render_messages(out: &mut Rendered, messages: &[Message]) {
    let mut in_tool_block = false;
    for message in messages {
        let is_agent_tool = matches!(message, Message::Tool(t) if t.requestor == Requestor::Assistant);
        if in_tool_block && !is_agent_tool {
            out.push(SegmentKind::ToolOutput, IM_END);
            out.push(SegmentKind::ToolOutput, "\n");
            in_tool_block = false;
        }
        match message {
            Message::System { content } => {
                out.push(SegmentKind::Prompt, &format!("{IM_START}system\n{content}{IM_END}\n"));
            }
            Message::User(m) => {
                if let Some(text) = m.content.as_deref().filter(|_| !m.is_tool_call()) {
                    out.push(SegmentKind::Prompt, &format!("{IM_START}user\n"));
                    out.push(SegmentKind::User, text);
                    out.push(SegmentKind::Prompt, &format!("{IM_END}\n"));
                }
            }
            Message::Assistant(m) => {
                out.push(SegmentKind::Prompt, GENERATION_PROMPT);
                out.push(SegmentKind::Assistant, &render_assistant_body(m));
                out.push(SegmentKind::Assistant, IM_END);
                out.push(SegmentKind::Prompt, "\n");
            }
            Message::Tool(t) => {
                if t.requestor != Requestor::Assistant {
                    continue;
                }
                if !in_tool_block {
                    out.push(SegmentKind::ToolOutput, &format!("{IM_START}user"));
                    in_tool_block = true;
                }
                out.push(
                    SegmentKind::ToolOutput,
                    &format!("\n{TOOL_RESPONSE_OPEN}\n{}\n{TOOL_RESPONSE_CLOSE}", t.content),
                );
            }
        }
    }
    if in_tool_block {
        out.push(SegmentKind::ToolOutput, IM_END);
        out.push(SegmentKind::ToolOutput, "\n");
    }
}

/// The prompt for the agent's next turn: the conversation so far plus the generation prompt.
pub fn render_prompt(messages: &[Message], tools: &[Value]) -> String {
    let mut text = render_conversation(messages, tools).text();
    text.push_str(GENERATION_PROMPT);
    text
}

/// A tool call by the agent (helper for demonstrations and tests).
pub fn agent_call(name: &str, arguments: Map<String, Value>) -> ToolCall {
    ToolCall::assistant(name, arguments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use retain_domains::ToolMessage;

    #[test]
    fn generated_turn_plus_followup_is_the_rendered_conversation() {
        let call = agent_call("get_user_details", serde_json::Map::from_iter([("user_id".into(), "u1".into())]));
        let result = |content: &str| {
            Message::Tool(ToolMessage {
                id: String::new(),
                content: content.to_owned(),
                requestor: Requestor::Assistant,
                error: false,
            })
        };
        let messages = vec![
            Message::System { content: "policy".into() },
            Message::Assistant(ParticipantMessage::calls(vec![call.clone()])),
            result("{\"name\": \"Ann\"}"),
            result("second"),
        ];
        let full = render_conversation(&messages, &[]).text() + GENERATION_PROMPT;
        // What a rollout holds: the prompt, the generated turn ending at <|im_end|>, then the follow-up.
        let prompt = render_prompt(&messages[..1], &[]);
        let generated = format!("{}{IM_END}", render_assistant_body(&ParticipantMessage::calls(vec![call])));
        let followup = render_turn_followup(&messages[2..]);
        assert_eq!(prompt + &generated + &followup.text(), full);
        assert!(followup.segments.iter().all(|s| !s.kind.trainable()));
    }

    #[test]
    fn matches_qwen_template_layout() {
        let tools = vec![json!({"type": "function", "function": {"name": "f", "description": "d", "parameters": {}}})];
        let mut args = Map::new();
        args.insert("x".into(), json!(1));
        let messages = vec![
            Message::System { content: "SYS".into() },
            Message::User(ParticipantMessage::text("hi")),
            Message::Assistant(ParticipantMessage::calls(vec![agent_call("f", args.clone()), agent_call("f", args)])),
            Message::Tool(ToolMessage {
                id: String::new(),
                content: "A".into(),
                requestor: Requestor::Assistant,
                error: false,
            }),
            Message::Tool(ToolMessage {
                id: String::new(),
                content: "B".into(),
                requestor: Requestor::Assistant,
                error: false,
            }),
            Message::Assistant(ParticipantMessage::text("done")),
        ];
        let r = render_conversation(&messages, &tools);
        let expected = concat!(
            "<|im_start|>system\nSYS\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n",
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n",
            "{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"d\", \"parameters\": {}}}\n</tools>\n\n",
            "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n",
            "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n",
            "<|im_start|>user\nhi<|im_end|>\n",
            "<|im_start|>assistant\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 1}}\n</tool_call>\n",
            "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 1}}\n</tool_call><|im_end|>\n",
            "<|im_start|>user\n<tool_response>\nA\n</tool_response>\n<tool_response>\nB\n</tool_response><|im_end|>\n",
            "<|im_start|>assistant\ndone<|im_end|>\n",
        );
        assert_eq!(r.text(), expected);
        let trained: String = r.segments.iter().filter(|s| s.kind.trainable()).map(|s| s.text.as_str()).collect();
        assert!(trained.contains("done<|im_end|>"));
        assert!(!trained.contains("tool_response"));
        assert!(!trained.contains("SYS"));
    }

    #[test]
    fn compact_schema_is_short() {
        let schema = json!({"type": "function", "function": {"name": "g", "description": "Get a thing. More words.",
            "parameters": {"properties": {"a": {"type": "string"}, "b": {"type": "integer", "default": 1}}, "required": ["a"]}}});
        assert_eq!(compact_tool_schema(&schema), json!({"name": "g", "arguments": {"a": "str", "b": "int?"}}));
    }
}
