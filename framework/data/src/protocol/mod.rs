//! The agent text protocol shared by the tiny model and real Qwen2.5 checkpoints.
//!
//! * [`template`] — the Qwen2.5 chat template, rendered into role-tagged segments (so tool outputs can be
//!   masked from the loss), with full or compact tool schemas;
//! * [`parse`] — any model output to tool calls, a final text, or an error observation (never a panic).
//!
//! JSON inside the template is written as its `tojson` filter does, by `retain_domains::pyjson::to_string_unicode`.

pub mod parse;
pub mod template;

pub use parse::{ParseError, ParseErrorKind, ParsedTurn, parse_output};
pub use template::{
    Rendered, Segment, SegmentKind, ToolStyle, render_conversation, render_prompt, render_turn_followup,
};
