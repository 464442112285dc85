//! τ²'s task model (`tasks.json`) and the official splits (`split_tasks.json`).

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::data::read_json;
use crate::domain::Requestor;
use crate::error::DomainError;
use crate::message::{Message, ToolCall};

/// One task: the user's situation, the initial state and how success is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Task id, unique within its domain's task file.
    pub id: String,
    /// What the task tests.
    #[serde(default)]
    pub description: Option<Description>,
    /// What the user simulator is told.
    pub user_scenario: UserScenario,
    /// Solo-mode ticket (telecom).
    #[serde(default)]
    pub ticket: Option<String>,
    /// State changes applied before the episode.
    #[serde(default)]
    pub initial_state: Option<InitialState>,
    /// Success criteria.
    #[serde(default)]
    pub evaluation_criteria: Option<EvaluationCriteria>,
    /// Known issues with the task (kept verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issues: Option<Value>,
    /// Documents the task needs (knowledge domains; kept verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_documents: Option<Value>,
    /// User tools available (`None` = all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_tools: Option<Vec<String>>,
    /// Annotations (airline; kept verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

/// Free-text description of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// What the scenario tests.
    #[serde(default)]
    pub purpose: Option<String>,
    /// Policies involved.
    #[serde(default)]
    pub relevant_policies: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// The user's persona and instructions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserScenario {
    /// General persona.
    #[serde(default)]
    pub persona: Option<String>,
    /// The specific situation.
    pub instructions: UserInstructions,
}

/// Instructions come either as free text or structured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UserInstructions {
    /// Structured instructions (all official tasks).
    Structured(StructuredInstructions),
    /// Free text.
    Text(String),
}

/// Structured user instructions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructuredInstructions {
    /// Domain name.
    pub domain: String,
    /// Why the user calls.
    pub reason_for_call: String,
    /// What the user knows.
    #[serde(default)]
    pub known_info: Option<String>,
    /// What the user does not know.
    #[serde(default)]
    pub unknown_info: Option<String>,
    /// How the user should behave.
    pub task_instructions: String,
}

fn indent(text: &str, prefix: &str) -> String {
    // Python's textwrap.indent: prefix every line that is not whitespace-only.
    text.split_inclusive('\n')
        .map(|line| if line.trim().is_empty() { line.to_owned() } else { format!("{prefix}{line}") })
        .collect()
}

impl std::fmt::Display for StructuredInstructions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut lines = vec![
            format!("Domain: {}", self.domain),
            format!("Reason for call:\n{}", indent(&self.reason_for_call, "\t")),
        ];
        if let Some(k) = &self.known_info {
            lines.push(format!("Known info:\n{}", indent(k, "\t")));
        }
        if let Some(u) = &self.unknown_info {
            lines.push(format!("Unknown info:\n{}", indent(u, "\t")));
        }
        lines.push(format!("Task instructions:\n{}", indent(&self.task_instructions, "\t")));
        f.write_str(&lines.join("\n"))
    }
}

impl std::fmt::Display for UserInstructions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserInstructions::Structured(s) => s.fmt(f),
            UserInstructions::Text(t) => f.write_str(t),
        }
    }
}

impl std::fmt::Display for UserScenario {
    /// τ²'s rendering (`Persona:` / `Instructions:` with tab-indented bodies), as given to the user simulator.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        if let Some(p) = &self.persona {
            let _ = write!(out, "Persona:\n{}\n", indent(p, "\t"));
        }
        let _ = write!(out, "Instructions:\n{}", indent(&self.instructions.to_string(), "\t"));
        f.write_str(&out)
    }
}

/// A call of a domain function during initialisation or as an assertion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvFunctionCall {
    /// Which side's toolkit.
    pub env_type: Requestor,
    /// Function name.
    pub func_name: String,
    /// Arguments.
    #[serde(default)]
    pub arguments: Map<String, Value>,
}

/// An assertion on the final state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvAssertion {
    /// Which side's toolkit.
    pub env_type: Requestor,
    /// Assertion function name.
    pub func_name: String,
    /// Arguments.
    #[serde(default)]
    pub arguments: Map<String, Value>,
    /// Expected result.
    #[serde(default = "default_true")]
    pub assert_value: bool,
    /// Message when it fails.
    #[serde(default)]
    pub message: Option<String>,
}

fn default_true() -> bool {
    true
}

/// Data deep-merged into the databases before the episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitializationData {
    /// Patch for the agent database.
    #[serde(default)]
    pub agent_data: Option<Value>,
    /// Patch for the user database.
    #[serde(default)]
    pub user_data: Option<Value>,
}

/// The initial state of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitialState {
    /// Data patches.
    #[serde(default)]
    pub initialization_data: Option<InitializationData>,
    /// Function calls run in order.
    #[serde(default)]
    pub initialization_actions: Option<Vec<EnvFunctionCall>>,
    /// Messages preceding the episode.
    #[serde(default)]
    pub message_history: Option<Vec<Message>>,
}

/// A gold action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Id within the task.
    pub action_id: String,
    /// Who performs it.
    #[serde(default)]
    pub requestor: Requestor,
    /// Tool name.
    pub name: String,
    /// Arguments.
    #[serde(default)]
    pub arguments: Map<String, Value>,
    /// Free-text info.
    #[serde(default)]
    pub info: Option<String>,
    /// Arguments compared by the ACTION check (`None` = all of the call's arguments, `[]` = name only).
    #[serde(default)]
    pub compare_args: Option<Vec<String>>,
}

impl Action {
    /// τ²'s `compare_with_tool_call`.
    pub fn matches(&self, call: &ToolCall) -> bool {
        if self.name != call.name {
            return false;
        }
        let keys: Vec<&str> = match &self.compare_args {
            None => call.arguments.keys().map(String::as_str).collect(),
            Some(list) => list.iter().map(String::as_str).collect(),
        };
        if keys.is_empty() {
            return true;
        }
        let pick = |m: &Map<String, Value>| -> Vec<(String, Value)> {
            let mut v: Vec<(String, Value)> =
                m.iter().filter(|(k, _)| keys.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let (a, b) = (pick(&call.arguments), pick(&self.arguments));
        a.len() == b.len() && a.iter().zip(&b).all(|((ka, va), (kb, vb))| ka == kb && py_eq(va, vb))
    }
}

/// Python `==` on JSON values (`1 == 1.0`, dict equality ignores order).
pub fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Bool(x), Value::Number(y)) | (Value::Number(y), Value::Bool(x)) => {
            y.as_f64() == Some(f64::from(u8::from(*x)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A component of the reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RewardType {
    /// Final database equals the gold one.
    #[serde(rename = "DB")]
    Db,
    /// Env assertions hold.
    EnvAssertion,
    /// LLM-judged natural-language assertions.
    NlAssertion,
    /// Gold actions were called.
    Action,
    /// Required information appears in the agent's messages.
    Communicate,
}

impl RewardType {
    /// The name τ² uses.
    pub fn as_str(self) -> &'static str {
        match self {
            RewardType::Db => "DB",
            RewardType::EnvAssertion => "ENV_ASSERTION",
            RewardType::NlAssertion => "NL_ASSERTION",
            RewardType::Action => "ACTION",
            RewardType::Communicate => "COMMUNICATE",
        }
    }
}

fn default_reward_basis() -> Vec<RewardType> {
    vec![RewardType::Db, RewardType::Communicate]
}

/// How a task is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationCriteria {
    /// Gold actions.
    #[serde(default)]
    pub actions: Option<Vec<Action>>,
    /// Assertions on the final state.
    #[serde(default)]
    pub env_assertions: Option<Vec<EnvAssertion>>,
    /// Strings the agent must communicate.
    #[serde(default)]
    pub communicate_info: Option<Vec<String>>,
    /// Natural-language assertions (LLM judge).
    #[serde(default)]
    pub nl_assertions: Option<Vec<String>>,
    /// Components multiplied into the reward (default `[DB, COMMUNICATE]`).
    #[serde(default = "default_reward_basis")]
    pub reward_basis: Vec<RewardType>,
}

/// Loads a `tasks*.json` file.
pub fn load_tasks(path: &Path) -> Result<Vec<Task>, DomainError> {
    read_json(path)
}

/// Loads `split_tasks.json`: split name → task ids.
pub fn load_splits(path: &Path) -> Result<indexmap::IndexMap<String, Vec<String>>, DomainError> {
    read_json(path)
}
