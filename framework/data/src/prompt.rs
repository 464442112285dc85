//! What the agent sees for a policy choice: the system prompt and the tool list, rendered with the protocol.
//!
//! * `policy: full` — τ²'s prompt as the episode built it (instructions + τ²'s policy document + ticket) and
//!   the tools' full OpenAI schemas: what real models get.
//! * `policy: compact` — a short instruction, the domain's compact policy (which announces itself as
//!   compact) and the ticket, with one-line tool schemas: short episodes for the tiny model.
//! * `policy: minimal` — the short instruction and the ticket only: a model trained from scratch learns tools and
//!   rules from demonstrations, and every prompt token costs training time.

use serde_json::Value;

use retain_config::{Domain, PolicyText};
use retain_domains::episode::{Mode, ticket_text};
use retain_domains::{Message, Task};

use crate::policy::{compact_policy, tool_style};
use crate::protocol::Rendered;
use crate::protocol::template::{GENERATION_PROMPT, render_conversation_with_system, styled_tools};

/// Compact instruction for ticket mode (airline, retail).
pub const COMPACT_TICKET_INSTRUCTION: &str = "You are a customer service agent. Solve the ticket following the policy, one tool call per turn; the ticket's confirmations are given. Then send one final message to the customer.";
/// Compact instruction for solo mode (telecom).
pub const COMPACT_SOLO_INSTRUCTION: &str = "You are a technical support agent. Solve the ticket following the policy with tool calls only, one per turn. When it is solved, call done.";
/// Compact instruction for conversation mode.
pub const COMPACT_CONVERSATION_INSTRUCTION: &str = "You are a customer service agent. Help the user by following the policy. Each turn, either send a message or make one tool call.";

/// The short instruction of the compact and minimal prompts for a mode.
fn instruction_for(mode: Mode) -> &'static str {
    match mode {
        Mode::Solo => COMPACT_SOLO_INSTRUCTION,
        Mode::Ticket => COMPACT_TICKET_INSTRUCTION,
        Mode::Conversation => COMPACT_CONVERSATION_INSTRUCTION,
    }
}

/// The `minimal` system prompt of a ticket-mode or solo episode: the instruction, then the ticket. Copy drills
/// (`crate::copy_drill`) use it too, so what they teach arrives in the prompt the domains use.
pub fn minimal_system(mode: Mode, ticket: &str) -> String {
    format!("{}\n<ticket>\n{ticket}\n</ticket>", instruction_for(mode))
}

/// The agent-facing prompt choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptStyle {
    /// Which domain.
    pub domain: Domain,
    /// Full or compact.
    pub policy: PolicyText,
}

impl PromptStyle {
    /// The style for a domain and a policy choice.
    pub fn new(domain: Domain, policy: PolicyText) -> Self {
        PromptStyle { domain, policy }
    }

    /// The system prompt replacing the episode's, or `None` to keep the episode's (full).
    pub fn system_override(&self, task: &Task, mode: Mode) -> Option<String> {
        match self.policy {
            PolicyText::Full => None,
            PolicyText::Minimal => Some(match mode {
                Mode::Conversation => COMPACT_CONVERSATION_INSTRUCTION.to_owned(),
                _ => minimal_system(mode, &ticket_text(task)),
            }),
            PolicyText::Compact => {
                let instruction = instruction_for(mode);
                let policy = compact_policy(self.domain);
                Some(match mode {
                    Mode::Conversation => format!("{instruction}\n<policy>\n{policy}\n</policy>"),
                    _ => format!(
                        "{instruction}\n<policy>\n{policy}\n</policy>\n<ticket>\n{}\n</ticket>",
                        ticket_text(task)
                    ),
                })
            }
        }
    }

    /// The tool list in this style (none for `minimal`).
    pub fn tools(&self, schemas: &[Value]) -> Vec<Value> {
        match self.policy {
            PolicyText::Minimal => Vec::new(),
            _ => styled_tools(schemas, tool_style(self.policy)),
        }
    }

    /// Renders an episode's messages as the agent sees them.
    pub fn render(&self, task: &Task, mode: Mode, messages: &[Message], schemas: &[Value]) -> Rendered {
        let system = self.system_override(task, mode);
        render_conversation_with_system(messages, &self.tools(schemas), system.as_deref())
    }

    /// The prompt for the agent's next turn.
    pub fn prompt(&self, task: &Task, mode: Mode, messages: &[Message], schemas: &[Value]) -> String {
        let mut text = self.render(task, mode, messages, schemas).text();
        text.push_str(GENERATION_PROMPT);
        text
    }
}
