//! Conversation messages in τ²'s shape (`role`, `content`, `tool_calls`, tool results with `error`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::Requestor;

/// One tool call made by the agent (or the user in dual-control domains).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id, echoed by the tool message.
    #[serde(default)]
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments object.
    #[serde(default)]
    pub arguments: Map<String, Value>,
    /// Who makes the call.
    #[serde(default)]
    pub requestor: Requestor,
}

impl ToolCall {
    /// A call by the assistant with an empty id.
    pub fn assistant(name: impl Into<String>, arguments: Map<String, Value>) -> Self {
        ToolCall { id: String::new(), name: name.into(), arguments, requestor: Requestor::Assistant }
    }
}

/// A tool's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolMessage {
    /// The id of the call it answers.
    #[serde(default)]
    pub id: String,
    /// Rendered output, or `Error: <message>`.
    #[serde(default)]
    pub content: String,
    /// Who made the call.
    #[serde(default)]
    pub requestor: Requestor,
    /// Whether the call failed.
    #[serde(default)]
    pub error: bool,
}

/// A message of the agent or the user: text or tool calls.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ParticipantMessage {
    /// Text content.
    #[serde(default)]
    pub content: Option<String>,
    /// Tool calls.
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCall>>,
}

impl ParticipantMessage {
    /// A text message.
    pub fn text(content: impl Into<String>) -> Self {
        ParticipantMessage { content: Some(content.into()), tool_calls: None }
    }

    /// A message made of tool calls.
    pub fn calls(calls: Vec<ToolCall>) -> Self {
        ParticipantMessage { content: None, tool_calls: Some(calls) }
    }

    /// Whether it carries at least one tool call (τ²'s `is_tool_call`).
    pub fn is_tool_call(&self) -> bool {
        self.tool_calls.as_ref().is_some_and(|c| !c.is_empty())
    }

    /// Whether it has non-empty text (τ²'s `has_text_content`).
    pub fn has_text(&self) -> bool {
        self.content.as_ref().is_some_and(|c| !c.trim().is_empty())
    }
}

/// A message of the trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message {
    /// The system prompt.
    System {
        /// Prompt text.
        content: String,
    },
    /// The agent.
    Assistant(ParticipantMessage),
    /// The user (simulator).
    User(ParticipantMessage),
    /// A tool result.
    Tool(ToolMessage),
}

impl Message {
    /// The tool calls of an assistant or user message.
    pub fn tool_calls(&self) -> &[ToolCall] {
        match self {
            Message::Assistant(m) | Message::User(m) => m.tool_calls.as_deref().unwrap_or(&[]),
            _ => &[],
        }
    }
}
