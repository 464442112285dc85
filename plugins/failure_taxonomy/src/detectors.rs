//! Failure-mode detectors over one tool-use trajectory, after the MAST taxonomy (Cemri et al., 2025: 14 modes in
//! 3 categories). Only the modes that leave a visible trace in text and tool calls are detected, each by a precise
//! rule (documented on its variant), so a detection can be checked by reading the trajectory:
//!
//! | detector | MAST | rule |
//! |---|---|---|
//! | `disobey_specification` | FM-1.1 | the episode ended by a protocol violation of the agent (`agent_error`) |
//! | `step_repetition` | FM-1.3 | a call repeats an earlier *successful* call (name and arguments), or an assistant text repeats |
//! | `unaware_of_termination` | FM-1.5 | the episode hit the step limit or the tool-error limit |
//! | `information_withholding` | FM-2.4 | information the task requires to communicate was in a tool output but never in the agent's text |
//! | `ignored_tool_error` | FM-2.5 | after a failed call, the agent's next call is the very same call |
//! | `reasoning_action_mismatch` | FM-2.6 | a message's text names a tool the same message does not call, while calling another |
//! | `premature_termination` | FM-3.1 | the conversation stopped with a gold write tool never even attempted |
//! | `no_verification` | FM-3.2 | a write call made before any successful read call (nothing was checked first) |
//! | `incorrect_verification` | FM-3.3 | the agent's last text claims success while its last write failed, or no write succeeded although the task needs one |
//! | `hallucinated_ids` | (tool use; FM-1.4 family) | an `id`/`*_id`/`*_ids` argument value that no earlier system, user or tool message contains |
//!
//! Not detected (they need an LLM judge or a second agent): FM-1.2 disobey role specification, FM-1.4 loss of
//! conversation history (beyond ids), FM-2.1 conversation reset, FM-2.2 fail to ask for clarification, FM-2.3 task
//! derailment.

use retain_plugin_api::contract::{Message, TaskView, ToolCall, Trajectory};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A detectable failure mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureMode {
    /// FM-1.1: the episode ended with `agent_error` (the agent broke its specified protocol).
    DisobeySpecification,
    /// FM-1.3: a tool call repeats an earlier successful call unchanged, or an assistant text repeats verbatim.
    StepRepetition,
    /// FM-1.5: the episode ended at the step limit (`max_steps`) or the error limit (`too_many_errors`).
    UnawareOfTermination,
    /// FM-2.4: a `communicate_info` string of the task appears in a tool output but in none of the agent's texts.
    InformationWithholding,
    /// FM-2.5: a tool call failed and the agent's next call repeats it unchanged.
    IgnoredToolError,
    /// FM-2.6: an assistant message with tool calls names (in its text) a tool it does not call.
    ReasoningActionMismatch,
    /// FM-3.1: stopped by the agent or user while a gold write tool was never called.
    PrematureTermination,
    /// FM-3.2: a write call made before any successful read call.
    NoVerification,
    /// FM-3.3: the last assistant text claims success, but the last write failed or no write succeeded while the
    /// task has gold writes.
    IncorrectVerification,
    /// Tool use: an id argument whose value never appeared earlier (fabricated identifier).
    HallucinatedIds,
}

impl FailureMode {
    /// Every detector, in report order.
    pub const ALL: [FailureMode; 10] = [
        FailureMode::DisobeySpecification,
        FailureMode::StepRepetition,
        FailureMode::UnawareOfTermination,
        FailureMode::InformationWithholding,
        FailureMode::IgnoredToolError,
        FailureMode::ReasoningActionMismatch,
        FailureMode::PrematureTermination,
        FailureMode::NoVerification,
        FailureMode::IncorrectVerification,
        FailureMode::HallucinatedIds,
    ];

    /// The name used in configs and component names.
    pub fn name(self) -> &'static str {
        match self {
            FailureMode::DisobeySpecification => "disobey_specification",
            FailureMode::StepRepetition => "step_repetition",
            FailureMode::UnawareOfTermination => "unaware_of_termination",
            FailureMode::InformationWithholding => "information_withholding",
            FailureMode::IgnoredToolError => "ignored_tool_error",
            FailureMode::ReasoningActionMismatch => "reasoning_action_mismatch",
            FailureMode::PrematureTermination => "premature_termination",
            FailureMode::NoVerification => "no_verification",
            FailureMode::IncorrectVerification => "incorrect_verification",
            FailureMode::HallucinatedIds => "hallucinated_ids",
        }
    }

    /// The MAST mode it corresponds to.
    pub fn mast(self) -> &'static str {
        match self {
            FailureMode::DisobeySpecification => "FM-1.1",
            FailureMode::StepRepetition => "FM-1.3",
            FailureMode::UnawareOfTermination => "FM-1.5",
            FailureMode::InformationWithholding => "FM-2.4",
            FailureMode::IgnoredToolError => "FM-2.5",
            FailureMode::ReasoningActionMismatch => "FM-2.6",
            FailureMode::PrematureTermination => "FM-3.1",
            FailureMode::NoVerification => "FM-3.2",
            FailureMode::IncorrectVerification => "FM-3.3",
            FailureMode::HallucinatedIds => "tool-use",
        }
    }

    /// A one-line definition of the mode in terms of behaviour (not of the detector's rule), as the LLM judge is
    /// told it: the judge looks for the mode itself, the detector only for its clearest trace.
    pub fn description(self) -> &'static str {
        match self {
            FailureMode::DisobeySpecification => {
                "the agent breaks its instructions, the domain policy or the required protocol"
            }
            FailureMode::StepRepetition => {
                "the agent needlessly repeats a step it already completed (the same successful tool call with the \
                 same arguments, or the same message again)"
            }
            FailureMode::UnawareOfTermination => {
                "the agent does not recognise that the task is done or cannot progress, and keeps going until the \
                 step or error limit ends the episode"
            }
            FailureMode::InformationWithholding => {
                "the agent obtained information the user needed (e.g. from a tool result) but never told the user"
            }
            FailureMode::IgnoredToolError => {
                "the agent ignores an error returned by a tool, e.g. repeats the identical failed call unchanged"
            }
            FailureMode::ReasoningActionMismatch => {
                "what the agent says it will do differs from what it does (its text announces one action, its tool \
                 calls do another)"
            }
            FailureMode::PrematureTermination => {
                "the conversation ends before the task is done: an action the request requires was never attempted"
            }
            FailureMode::NoVerification => {
                "the agent changes data (a write tool) without first checking the relevant facts with a lookup"
            }
            FailureMode::IncorrectVerification => {
                "the agent tells the user the request was carried out although its own tool results show it failed \
                 or never happened"
            }
            FailureMode::HallucinatedIds => {
                "the agent uses an identifier (user, order, reservation id, ...) that neither the user, the system \
                 prompt nor a tool result ever gave it"
            }
        }
    }

    /// The mode called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Phrases by which an agent claims a request was carried out.
const SUCCESS_CLAIMS: [&str; 7] =
    ["successfully", "has been", "have been", "is now", "completed", "all set", "is done"];

/// One tool call with its position and outcome.
struct CallRecord<'a> {
    message: usize,
    call: &'a ToolCall,
    failed: bool,
}

/// Everything the detectors look at, computed once.
pub struct Evidence<'a> {
    trajectory: &'a Trajectory,
    task: &'a TaskView,
    communicate_info: Vec<String>,
    calls: Vec<CallRecord<'a>>,
    writes: HashSet<&'a str>,
    id_min_length: usize,
}

fn same_call(a: &ToolCall, b: &ToolCall) -> bool {
    a.name == b.name && a.arguments == b.arguments
}

impl<'a> Evidence<'a> {
    /// Indexes a trajectory and its task (`task_json` is read for `communicate_info`).
    pub fn new(trajectory: &'a Trajectory, task: &'a TaskView, task_json: &Value, id_min_length: usize) -> Self {
        let communicate_info = task_json
            .pointer("/evaluation_criteria/communicate_info")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        // Outcome of each call: by id when ids are used, else the next tool message in order.
        let mut calls: Vec<CallRecord<'a>> = Vec::new();
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        let mut pending: Vec<usize> = Vec::new();
        for (i, message) in trajectory.messages.iter().enumerate() {
            for call in message.tool_calls() {
                let index = calls.len();
                calls.push(CallRecord { message: i, call, failed: false });
                if !call.id.is_empty() {
                    by_id.insert(call.id.as_str(), index);
                }
                pending.push(index);
            }
            if let Message::Tool { id, error, .. } = message {
                let index = if id.is_empty() { None } else { by_id.get(id.as_str()).copied() };
                let index = index.or_else(|| (!pending.is_empty()).then(|| pending.remove(0)));
                if let Some(index) = index {
                    pending.retain(|&p| p != index);
                    calls[index].failed = *error;
                }
            }
        }
        let writes = trajectory.write_tools.iter().map(String::as_str).collect();
        Evidence { trajectory, task, communicate_info, calls, writes, id_min_length }
    }

    fn termination(&self) -> &str {
        self.trajectory.termination.as_deref().unwrap_or("")
    }

    fn assistant_texts(&self) -> impl Iterator<Item = (usize, &'a str)> {
        self.trajectory.messages.iter().enumerate().filter_map(|(i, m)| match m {
            Message::Assistant { content: Some(text), .. } if !text.trim().is_empty() => Some((i, text.as_str())),
            _ => None,
        })
    }

    fn is_write(&self, call: &ToolCall) -> bool {
        self.writes.contains(call.name.as_str())
    }

    /// Whether the mode shows in this trajectory.
    pub fn detect(&self, mode: FailureMode) -> bool {
        match mode {
            FailureMode::DisobeySpecification => self.termination() == "agent_error",
            FailureMode::StepRepetition => self.step_repetition(),
            FailureMode::UnawareOfTermination => matches!(self.termination(), "max_steps" | "too_many_errors"),
            FailureMode::InformationWithholding => self.information_withholding(),
            FailureMode::IgnoredToolError => self.ignored_tool_error(),
            FailureMode::ReasoningActionMismatch => self.reasoning_action_mismatch(),
            FailureMode::PrematureTermination => self.premature_termination(),
            FailureMode::NoVerification => self.no_verification(),
            FailureMode::IncorrectVerification => self.incorrect_verification(),
            FailureMode::HallucinatedIds => self.hallucinated_ids(),
        }
    }

    fn step_repetition(&self) -> bool {
        // Retrying a *failed* call is `ignored_tool_error`; repeating a call that already worked is the loop.
        let repeated_call = self
            .calls
            .iter()
            .enumerate()
            .any(|(i, a)| self.calls[..i].iter().any(|b| !b.failed && same_call(a.call, b.call)));
        let mut seen = HashSet::new();
        let repeated_text = self.assistant_texts().any(|(_, text)| !seen.insert(text.trim()));
        repeated_call || repeated_text
    }

    fn information_withholding(&self) -> bool {
        let tool_text: Vec<String> = self
            .trajectory
            .messages
            .iter()
            .filter_map(|m| match m {
                Message::Tool { content, .. } => Some(content.to_lowercase()),
                _ => None,
            })
            .collect();
        let said: Vec<String> = self.assistant_texts().map(|(_, t)| t.to_lowercase()).collect();
        self.communicate_info
            .iter()
            .map(|info| info.to_lowercase())
            .any(|info| tool_text.iter().any(|t| t.contains(&info)) && !said.iter().any(|t| t.contains(&info)))
    }

    fn ignored_tool_error(&self) -> bool {
        self.calls.iter().enumerate().any(|(i, record)| {
            record.failed && self.calls.get(i + 1).is_some_and(|next| same_call(record.call, next.call))
        })
    }

    fn reasoning_action_mismatch(&self) -> bool {
        let known: HashSet<&str> = self
            .calls
            .iter()
            .map(|c| c.call.name.as_str())
            .chain(self.trajectory.write_tools.iter().map(String::as_str))
            .chain(self.task.gold_actions().iter().map(|a| a.name.as_str()))
            .collect();
        self.trajectory.messages.iter().any(|m| {
            let (Message::Assistant { content: Some(text), .. }, calls) = (m, m.tool_calls()) else { return false };
            if calls.is_empty() {
                return false;
            }
            known.iter().any(|tool| mentions_tool(text, tool) && !calls.iter().any(|c| c.name == *tool))
        })
    }

    fn premature_termination(&self) -> bool {
        if !matches!(self.termination(), "agent_stop" | "user_stop") {
            return false;
        }
        self.task
            .gold_actions()
            .iter()
            .filter(|a| self.writes.contains(a.name.as_str()))
            .any(|a| !self.calls.iter().any(|c| c.call.name == a.name))
    }

    fn no_verification(&self) -> bool {
        let first_write = self.calls.iter().position(|c| self.is_write(c.call));
        match first_write {
            Some(w) => !self.calls[..w].iter().any(|c| !self.is_write(c.call) && !c.failed),
            None => false,
        }
    }

    fn incorrect_verification(&self) -> bool {
        let Some((last_index, last_text)) = self.assistant_texts().last() else { return false };
        let text = last_text.to_lowercase();
        if !SUCCESS_CLAIMS.iter().any(|claim| text.contains(claim)) {
            return false;
        }
        let writes_before: Vec<&CallRecord<'_>> =
            self.calls.iter().filter(|c| c.message <= last_index && self.is_write(c.call)).collect();
        let last_write_failed = writes_before.last().is_some_and(|c| c.failed);
        let task_needs_write = self.task.gold_actions().iter().any(|a| self.writes.contains(a.name.as_str()));
        let none_succeeded = !writes_before.iter().any(|c| !c.failed);
        last_write_failed || (task_needs_write && none_succeeded)
    }

    fn hallucinated_ids(&self) -> bool {
        self.calls.iter().any(|record| {
            // Only what the agent was given counts as a source: the system prompt, the user, tool outputs.
            let sources: Vec<&str> = self.trajectory.messages[..record.message]
                .iter()
                .filter(|m| !matches!(m, Message::Assistant { .. }))
                .filter_map(Message::text)
                .collect();
            id_values(&record.call.arguments)
                .into_iter()
                .filter(|v| v.chars().count() >= self.id_min_length)
                .any(|v| !sources.iter().any(|t| t.contains(v)))
        })
    }
}

/// Whether `text` names `tool` as a word (tool names are snake_case identifiers).
fn mentions_tool(text: &str, tool: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|word| word == tool)
}

/// String values of id-like arguments (`id`, `*_id`, `*_ids`), recursively.
fn id_values(arguments: &serde_json::Map<String, Value>) -> Vec<&str> {
    fn walk<'v>(key: &str, value: &'v Value, out: &mut Vec<&'v str>) {
        let id_key = key == "id" || key.ends_with("_id") || key.ends_with("_ids");
        match value {
            Value::String(s) if id_key => out.push(s),
            Value::Array(items) => items.iter().for_each(|v| walk(key, v, out)),
            Value::Object(map) => map.iter().for_each(|(k, v)| walk(k, v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    arguments.iter().for_each(|(k, v)| walk(k, v, &mut out));
    out
}
