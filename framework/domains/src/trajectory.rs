//! Scoring recorded trajectories with τ² semantics (`retain tau2 evaluate`).
//!
//! A trajectory comes either as `steps` (tool calls in order plus the agent's `final_message`) or as τ²'s
//! `messages` list. Its calls are executed live on a fresh environment set up from the task's initial state
//! (recorded tool outputs are not trusted), with τ²'s limits, and the result is evaluated like an episode:
//! * airline/retail (and telecom without solo mode) end as a user stop after the final message;
//! * telecom solo ends with the `done` tool (or a text containing `###STOP###`); any other ending is an agent
//!   error, as in τ²'s solo orchestration. In solo mode every call counts as the agent's: calls of
//!   user-side tools are routed to the device by name, whatever `requestor` the step names.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::data::{TaskSet, load_task_set};
use crate::domain::{Domain, Requestor};
use crate::env::Environment;
use crate::episode::{DONE_TOOL, STOP_TOKEN, TerminationReason, USER_STOP_TOKENS};
use crate::error::DomainError;
use crate::evaluation::{Evaluation, GoldCache, evaluate};
use crate::message::{Message, ParticipantMessage, ToolCall, ToolMessage};
use crate::registry::LoadedDomain;
use crate::task::Task;
use crate::with_domain;

/// One call of the `steps` form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Tool name.
    pub name: String,
    /// Arguments object.
    #[serde(default)]
    pub arguments: Map<String, Value>,
    /// Who calls (default assistant).
    #[serde(default)]
    pub requestor: Requestor,
}

/// A trajectory to score.
#[derive(Debug, Clone, PartialEq)]
pub enum Trajectory {
    /// Tool calls and the closing text.
    Steps {
        /// Calls in order.
        steps: Vec<Step>,
        /// The agent's closing text, if any.
        final_message: Option<String>,
    },
    /// τ²'s message list.
    Messages(Vec<Message>),
}

/// Limits applied while re-executing (τ² defaults: 100 steps, 10 tool errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Step limit.
    pub max_steps: usize,
    /// Tool-error limit.
    pub max_errors: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_steps: 100, max_errors: 10 }
    }
}

/// One re-executed step's output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepOutput {
    /// Tool name.
    pub name: String,
    /// Rendered output or `Error: …`.
    pub content: String,
    /// Whether it failed.
    pub error: bool,
}

/// The score of one trajectory.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The evaluation.
    pub evaluation: Evaluation,
    /// Outputs of the executed calls.
    pub outputs: Vec<StepOutput>,
}

struct Runner<D: Domain> {
    env: Environment<D>,
    solo: bool,
    limits: Limits,
    transcript: Vec<Message>,
    outputs: Vec<StepOutput>,
    steps: usize,
    errors: usize,
    termination: Option<TerminationReason>,
}

impl<D: Domain> Runner<D> {
    fn calls(&mut self, calls: Vec<ToolCall>, from_user: bool) {
        if self.termination.is_some() {
            return;
        }
        if !from_user && self.solo && calls.iter().any(|c| c.name == DONE_TOOL) {
            self.text(STOP_TOKEN.to_owned(), false);
            return;
        }
        let msg = ParticipantMessage::calls(calls.clone());
        self.transcript.push(if from_user { Message::User(msg) } else { Message::Assistant(msg) });
        self.steps += 1;
        for call in calls {
            let answer: ToolMessage = self.env.respond(&call);
            if answer.error {
                self.errors += 1;
            }
            self.outputs.push(StepOutput {
                name: call.name.clone(),
                content: answer.content.clone(),
                error: answer.error,
            });
            self.transcript.push(Message::Tool(answer));
        }
        self.steps += 1;
        self.env.sync();
        self.check_limits();
    }

    fn text(&mut self, content: String, from_user: bool) {
        if self.termination.is_some() {
            return;
        }
        let stop =
            if from_user { USER_STOP_TOKENS.iter().any(|t| content.contains(t)) } else { content.contains(STOP_TOKEN) };
        let msg = ParticipantMessage::text(content);
        self.transcript.push(if from_user { Message::User(msg) } else { Message::Assistant(msg) });
        self.steps += 1;
        self.env.sync();
        if stop {
            self.termination = Some(if from_user { TerminationReason::UserStop } else { TerminationReason::AgentStop });
        } else if self.solo && !from_user {
            self.termination = Some(TerminationReason::AgentError);
        } else {
            self.check_limits();
        }
    }

    fn check_limits(&mut self) {
        if self.termination.is_some() {
            return;
        }
        if self.steps >= self.limits.max_steps {
            self.termination = Some(TerminationReason::MaxSteps);
        }
        if self.errors >= self.limits.max_errors {
            self.termination = Some(TerminationReason::TooManyErrors);
        }
    }
}

/// Re-executes and evaluates one trajectory of `task`.
pub fn score<D: Domain>(
    domain: &Arc<D>,
    gold: &GoldCache<D>,
    task: &Task,
    solo: bool,
    trajectory: &Trajectory,
    limits: Limits,
) -> Result<Scored, DomainError> {
    let mut env = Environment::new(Arc::clone(domain), solo)?;
    env.apply_initial_state(task.initial_state.as_ref())?;
    let mut run = Runner {
        env,
        solo,
        limits,
        transcript: Vec::new(),
        outputs: Vec::new(),
        steps: 0,
        errors: 0,
        termination: None,
    };
    match trajectory {
        Trajectory::Steps { steps, final_message } => {
            for (i, s) in steps.iter().enumerate() {
                // In solo mode every call is the agent's; user-side tools are routed to the device by name.
                let from_user = s.requestor == Requestor::User && !solo;
                let requestor = if from_user { Requestor::User } else { Requestor::Assistant };
                let call = ToolCall {
                    id: format!("step_{i}"),
                    name: s.name.clone(),
                    arguments: s.arguments.clone(),
                    requestor,
                };
                run.calls(vec![call], from_user);
            }
            if let Some(text) = final_message {
                run.text(text.clone(), false);
            }
        }
        Trajectory::Messages(messages) => {
            for m in messages {
                match m {
                    Message::Assistant(p) if p.is_tool_call() => {
                        let calls = p.tool_calls.clone().unwrap_or_default();
                        run.calls(
                            calls.into_iter().map(|c| ToolCall { requestor: Requestor::Assistant, ..c }).collect(),
                            false,
                        );
                    }
                    Message::Assistant(p) => run.text(p.content.clone().unwrap_or_default(), false),
                    Message::User(p) if p.is_tool_call() => {
                        let calls = p.tool_calls.clone().unwrap_or_default();
                        run.calls(
                            calls.into_iter().map(|c| ToolCall { requestor: Requestor::User, ..c }).collect(),
                            true,
                        );
                    }
                    Message::User(p) => run.text(p.content.clone().unwrap_or_default(), true),
                    Message::System { .. } | Message::Tool(_) => {}
                }
            }
        }
    }
    let termination =
        run.termination.unwrap_or(if solo { TerminationReason::AgentError } else { TerminationReason::UserStop });
    let gold_state = gold.get(task)?;
    let evaluation = evaluate(domain, task, run.env.state(), solo, &run.transcript, termination, &gold_state.state);
    Ok(Scored { evaluation, outputs: run.outputs })
}

/// The official tasks of the three domains, by id (telecom: `tasks.json` and `tasks_small.json`).
#[derive(Debug)]
pub struct TaskIndex {
    domains: HashMap<String, (LoadedDomain, HashMap<String, Arc<Task>>)>,
}

impl TaskIndex {
    /// Loads the domains and all their official tasks.
    pub fn load(data_dir: &Path, domains: &[&str]) -> Result<Self, DomainError> {
        let mut out = HashMap::new();
        for &name in domains {
            let loaded = LoadedDomain::load(data_dir, name)?;
            let mut tasks: HashMap<String, Arc<Task>> = HashMap::new();
            for t in load_task_set(data_dir, name, &TaskSet::All)? {
                tasks.insert(t.id.clone(), Arc::new(t));
            }
            if name == "telecom" && data_dir.join(name).join("tasks_small.json").is_file() {
                for t in load_task_set(data_dir, name, &TaskSet::Small)? {
                    tasks.entry(t.id.clone()).or_insert_with(|| Arc::new(t));
                }
            }
            out.insert(name.to_owned(), (loaded, tasks));
        }
        Ok(TaskIndex { domains: out })
    }

    /// Scores one input line (JSON); never fails — problems become an `error` field of the output.
    pub fn score_line(&self, line: &str, limits: Limits) -> Value {
        match self.try_score_line(line, limits) {
            Ok(v) => v,
            Err((mut head, message)) => {
                head.insert("error".to_owned(), Value::String(message));
                Value::Object(head)
            }
        }
    }

    fn try_score_line(&self, line: &str, limits: Limits) -> Result<Value, (Map<String, Value>, String)> {
        let mut head = Map::new();
        let input: Value = serde_json::from_str(line).map_err(|e| (head.clone(), format!("invalid JSON: {e}")))?;
        let obj = input.as_object().ok_or_else(|| (head.clone(), "the line is not a JSON object".to_owned()))?;
        let domain_name = obj
            .get("domain")
            .and_then(Value::as_str)
            .ok_or_else(|| (head.clone(), "missing string field 'domain'".to_owned()))?;
        head.insert("domain".to_owned(), json!(domain_name));
        let task_id = match obj.get("task_id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err((head, "missing field 'task_id'".to_owned())),
        };
        head.insert("task_id".to_owned(), json!(task_id));
        let (loaded, tasks) = self.domains.get(domain_name).ok_or_else(|| {
            (head.clone(), format!("unknown domain '{domain_name}' (expected airline, retail or telecom)"))
        })?;
        let task = tasks
            .get(&task_id)
            .ok_or_else(|| (head.clone(), format!("unknown task '{task_id}' in domain {domain_name}")))?;
        let solo = match obj.get("solo_mode") {
            None | Some(Value::Null) => loaded.supports_solo(),
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err((head, format!("'solo_mode' must be a boolean, not {other}"))),
        };
        if solo && !loaded.supports_solo() {
            return Err((head, format!("domain {domain_name} does not support solo mode")));
        }
        let trajectory = parse_trajectory(obj).map_err(|e| (head.clone(), e))?;
        let scored = with_domain!(loaded, |d, g| score(d, g, task, solo, &trajectory, limits))
            .map_err(|e| (head.clone(), e.to_string()))?;
        Ok(output_line(head, &scored))
    }
}

fn parse_trajectory(obj: &Map<String, Value>) -> Result<Trajectory, String> {
    if let Some(steps) = obj.get("steps") {
        let steps = steps.as_array().ok_or("'steps' must be a list")?;
        let mut out = Vec::with_capacity(steps.len());
        for (i, s) in steps.iter().enumerate() {
            let s = s.as_object().ok_or_else(|| format!("step {i} is not an object"))?;
            let name = s.get("name").and_then(Value::as_str).ok_or_else(|| format!("step {i} has no tool name"))?;
            let arguments = match s.get("arguments") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(_) => return Err(format!("step {i} ({name}): arguments are not an object")),
            };
            let requestor = match s.get("requestor") {
                None | Some(Value::Null) => Requestor::Assistant,
                Some(v) => serde_json::from_value(v.clone())
                    .map_err(|_| format!("step {i} ({name}): requestor must be 'assistant' or 'user'"))?,
            };
            out.push(Step { name: name.to_owned(), arguments, requestor });
        }
        let final_message = match obj.get("final_message") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("'final_message' must be a string or null".to_owned()),
        };
        return Ok(Trajectory::Steps { steps: out, final_message });
    }
    if let Some(messages) = obj.get("messages") {
        let list = messages.as_array().ok_or("'messages' must be a list")?;
        let mut out = Vec::with_capacity(list.len());
        for (i, m) in list.iter().enumerate() {
            if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
                for (j, c) in calls.iter().enumerate() {
                    if c.get("name").and_then(Value::as_str).is_none() {
                        return Err(format!("message {i}: tool call {j} has no name"));
                    }
                    if let Some(a) = c.get("arguments")
                        && !a.is_object()
                        && !a.is_null()
                    {
                        return Err(format!("message {i}: tool call {j}: arguments are not an object"));
                    }
                }
            }
            let msg: Message = serde_json::from_value(normalize_message(m)).map_err(|e| format!("message {i}: {e}"))?;
            out.push(msg);
        }
        return Ok(Trajectory::Messages(out));
    }
    Err("the line has neither 'steps' nor 'messages'".to_owned())
}

/// τ² writes `arguments: null`/absent for argument-less calls and `content: null` for tool-call messages; keep
/// only what our message model reads.
fn normalize_message(m: &Value) -> Value {
    let mut m = m.clone();
    if let Some(calls) = m.get_mut("tool_calls").and_then(Value::as_array_mut) {
        for c in calls {
            if let Some(obj) = c.as_object_mut()
                && obj.get("arguments").is_none_or(Value::is_null)
            {
                obj.insert("arguments".to_owned(), Value::Object(Map::new()));
            }
        }
    }
    if let Some(obj) = m.as_object_mut() {
        if obj.get("role").and_then(Value::as_str) == Some("tool") && obj.get("content").is_some_and(Value::is_null) {
            obj.insert("content".to_owned(), Value::String(String::new()));
        }
        if obj.get("tool_calls").is_some_and(Value::is_null) {
            obj.remove("tool_calls");
        }
    }
    m
}

fn output_line(mut head: Map<String, Value>, scored: &Scored) -> Value {
    let e = &scored.evaluation;
    head.insert("reward".to_owned(), json!(e.reward));
    let components: Map<String, Value> = e
        .components
        .iter()
        .map(|c| (c.reward_type.as_str().to_owned(), c.value.map_or(Value::Null, |v| json!(v))))
        .collect();
    head.insert("components".to_owned(), Value::Object(components));
    head.insert("db_match".to_owned(), e.db_match.map_or(Value::Null, |m| json!(m.agent)));
    head.insert("user_db_match".to_owned(), e.db_match.and_then(|m| m.user).map_or(Value::Null, |u| json!(u)));
    head.insert("termination".to_owned(), json!(e.termination.as_str()));
    head.insert("partial_write_score".to_owned(), e.partial_write_score.map_or(Value::Null, |p| json!(p)));
    if let Some(note) = &e.note {
        head.insert("note".to_owned(), json!(note));
    }
    head.insert("steps".to_owned(), serde_json::to_value(&scored.outputs).unwrap_or(Value::Null));
    Value::Object(head)
}
