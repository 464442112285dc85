//! Episodes: start a task, feed assistant messages, get observations, end as τ²'s orchestrator does.
//!
//! Three modes:
//! * [`Mode::Solo`] — τ²'s solo mode (telecom): the agent holds the agent tools, the user/device tools and a
//!   `done` tool; the ticket is in the system prompt; any text that is not a stop is an agent error.
//! * [`Mode::Ticket`] — retain's extension for airline/retail, which τ² cannot run without a user simulator:
//!   the user's scenario is given to the agent as a ticket in the system prompt, the agent acts with the
//!   agent tools, and its first text message is its final answer to the customer; the episode then ends as
//!   a user stop (as if the customer said `###STOP###`), so COMMUNICATE is judged on that message.
//! * [`Mode::Conversation`] — τ²'s default: a [`UserSimulator`] answers the agent's texts (and may call user
//!   tools in dual-control domains); the episode starts with the agent's fixed greeting.
//!
//! Step accounting follows τ²: every routed message (agent message, tool results, user message) is a step;
//! limits are checked whenever the next message goes to the agent or the user, not to the environment;
//! 10 tool errors end the episode. Only agent/user stops are graded.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::{Domain, Requestor};
use crate::env::Environment;
use crate::error::DomainError;
use crate::message::{Message, ParticipantMessage, ToolCall, ToolMessage};
use crate::task::Task;

/// The stop token of τ².
pub const STOP_TOKEN: &str = "###STOP###";
/// User-simulator tokens that end a conversation (τ²: stop, transfer, out of scope).
pub const USER_STOP_TOKENS: [&str; 3] = ["###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###"];
/// The agent's fixed first message in conversational mode.
pub const GREETING: &str = "Hi! How can I help you today?";
/// Name of the solo-mode stop tool.
pub const DONE_TOOL: &str = "done";

/// How the agent meets the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// τ² solo mode (telecom).
    Solo,
    /// Scenario as a ticket, final text ends the episode (airline/retail; retain's extension).
    Ticket,
    /// Conversation with a user simulator.
    Conversation,
}

impl Mode {
    /// The mode retain uses by default for a domain: solo where τ² supports it, ticket otherwise.
    pub fn default_for(supports_solo: bool) -> Self {
        if supports_solo { Mode::Solo } else { Mode::Ticket }
    }
}

/// Episode limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpisodeConfig {
    /// How the agent meets the task.
    pub mode: Mode,
    /// Step limit (τ² orchestrator default 100).
    #[serde(default = "default_max_steps")]
    pub max_steps: usize,
    /// Tool-error limit (τ² default 10).
    #[serde(default = "default_max_errors")]
    pub max_errors: usize,
}

fn default_max_steps() -> usize {
    100
}

fn default_max_errors() -> usize {
    10
}

impl EpisodeConfig {
    /// τ²'s defaults for a mode.
    pub fn new(mode: Mode) -> Self {
        EpisodeConfig { mode, max_steps: default_max_steps(), max_errors: default_max_errors() }
    }
}

/// Why an episode ended (τ²'s `TerminationReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminationReason {
    /// The agent stopped (solo `done`).
    AgentStop,
    /// The user stopped (simulator token, or the agent's final text in ticket mode).
    UserStop,
    /// Step limit reached.
    MaxSteps,
    /// Tool-error limit reached.
    TooManyErrors,
    /// The agent broke the protocol (text in solo mode, empty message).
    AgentError,
    /// The user simulator failed or broke the protocol.
    UserError,
}

impl TerminationReason {
    /// τ² grades only stops; everything else scores 0.
    pub fn is_graded(self) -> bool {
        matches!(self, TerminationReason::AgentStop | TerminationReason::UserStop)
    }

    /// τ²'s string value.
    pub fn as_str(self) -> &'static str {
        match self {
            TerminationReason::AgentStop => "agent_stop",
            TerminationReason::UserStop => "user_stop",
            TerminationReason::MaxSteps => "max_steps",
            TerminationReason::TooManyErrors => "too_many_errors",
            TerminationReason::AgentError => "agent_error",
            TerminationReason::UserError => "user_error",
        }
    }
}

/// The user side of a conversation (an LLM-backed implementation lives elsewhere).
pub trait UserSimulator: Send {
    /// The user's next message given the whole trajectory so far (system prompt, agent and user messages,
    /// tool results of both sides; the simulator picks what its own model sees — in τ², the agent's texts,
    /// its own messages and its own tool results). Text containing one of [`USER_STOP_TOKENS`] ends the
    /// episode; tool calls are executed on the user toolkit.
    fn next_message(&mut self, history: &[Message]) -> Result<ParticipantMessage, String>;
}

/// What one step produced.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    /// Messages the agent observes next (tool results and/or the user's reply).
    pub observations: Vec<Message>,
    /// Set when the episode ended.
    pub termination: Option<TerminationReason>,
}

/// One episode of one task.
pub struct Episode<D: Domain> {
    env: Environment<D>,
    task: Arc<Task>,
    config: EpisodeConfig,
    messages: Vec<Message>,
    step_count: usize,
    num_errors: usize,
    termination: Option<TerminationReason>,
    user: Option<Box<dyn UserSimulator>>,
}

impl<D: Domain> std::fmt::Debug for Episode<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Episode")
            .field("task", &self.task.id)
            .field("mode", &self.config.mode)
            .field("steps", &self.step_count)
            .field("errors", &self.num_errors)
            .field("termination", &self.termination)
            .finish()
    }
}

const AGENT_INSTRUCTION: &str =
    "You are a customer service agent that helps the user according to the <policy> provided below.
In each turn you can either:
- Send a message to the user.
- Make a tool call.
You cannot do both at the same time.

Try to be helpful and always follow the policy. Always make sure you generate valid JSON only.";

const SOLO_INSTRUCTION: &str = "You are a customer service agent that helps the user according to the <policy> provided below.
You will be provided with a ticket that contains the user's request.
You will need to plan and call the appropriate tools to solve the ticket.

You cannot communicate with the user, only make tool calls.
Stop when you consider that you have solved the ticket.
To do so, send a message containing a single tool call to the `done` tool. Do not include any other tool calls in this last message.

Always follow the policy. Always make sure you generate valid JSON only.";

/// retain's ticket-mode instruction (airline/retail without a user simulator).
const TICKET_INSTRUCTION: &str = "You are a customer service agent that helps the user according to the <policy> provided below.
You will be provided with a ticket that describes the customer, their request, what they know and how they answer your questions; take the answers and confirmations the ticket describes as given by the customer.
Plan and make the tool calls needed to resolve the ticket, one call per turn.
When you are done, send a single text message to the customer with the outcome and any information they asked for. That message ends the conversation.

Always follow the policy. Always make sure you generate valid JSON only.";

/// The ticket text of a task in ticket mode: the task's own ticket, else its user scenario.
pub fn ticket_text(task: &Task) -> String {
    task.ticket.clone().unwrap_or_else(|| task.user_scenario.to_string())
}

impl<D: Domain> Episode<D> {
    /// Starts `task`: fresh state, initial state applied, system prompt (and, in conversation mode, the
    /// greeting and the user's first message) recorded. Conversation mode needs `user`.
    pub fn start(
        domain: Arc<D>,
        task: Arc<Task>,
        config: EpisodeConfig,
        user: Option<Box<dyn UserSimulator>>,
    ) -> Result<Self, DomainError> {
        let solo = config.mode == Mode::Solo;
        if solo && task.ticket.is_none() {
            return Err(DomainError::Unsupported(format!("task {} has no ticket; solo mode needs one", task.id)));
        }
        if config.mode == Mode::Conversation && user.is_none() {
            return Err(DomainError::Unsupported("conversation mode needs a user simulator".to_owned()));
        }
        let mut env = Environment::new(domain, solo)?;
        env.apply_initial_state(task.initial_state.as_ref())?;
        let prompt = system_prompt(env.domain().as_ref(), &task, config.mode);
        let mut episode = Episode {
            env,
            task,
            config,
            messages: vec![Message::System { content: prompt }],
            step_count: 0,
            num_errors: 0,
            termination: None,
            user,
        };
        if config.mode == Mode::Conversation {
            // The greeting is the conversation's opening, not a step (τ²'s `initialize`).
            episode.messages.push(Message::Assistant(ParticipantMessage::text(GREETING)));
            episode.run_user_turn();
            episode.check_limits();
        }
        Ok(episode)
    }

    /// The task.
    pub fn task(&self) -> &Arc<Task> {
        &self.task
    }

    /// The configuration.
    pub fn config(&self) -> EpisodeConfig {
        self.config
    }

    /// The environment (live state).
    pub fn env(&self) -> &Environment<D> {
        &self.env
    }

    /// The environment, mutably.
    pub fn env_mut(&mut self) -> &mut Environment<D> {
        &mut self.env
    }

    /// All messages so far (system prompt first).
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Messages the agent sees at the start: system prompt, plus greeting and the user's first message in
    /// conversation mode.
    pub fn initial_messages(&self) -> &[Message] {
        &self.messages
    }

    /// The system prompt.
    pub fn system_prompt(&self) -> &str {
        match self.messages.first() {
            Some(Message::System { content }) => content,
            _ => "",
        }
    }

    /// The OpenAI schemas of the tools the agent holds in this mode.
    pub fn tool_schemas(&self) -> Vec<Value> {
        tool_schemas(self.env.domain().as_ref(), self.config.mode)
    }

    /// Steps taken.
    pub fn step_count(&self) -> usize {
        self.step_count
    }

    /// Tool errors so far.
    pub fn num_errors(&self) -> usize {
        self.num_errors
    }

    /// Why it ended, if it did.
    pub fn termination(&self) -> Option<TerminationReason> {
        self.termination
    }

    /// Whether it ended.
    pub fn is_done(&self) -> bool {
        self.termination.is_some()
    }

    /// All tool calls made by the agent and the user, in order.
    pub fn tool_calls(&self) -> Vec<&ToolCall> {
        self.messages.iter().flat_map(Message::tool_calls).collect()
    }

    /// Feeds the agent's next message. Tool calls are executed in order (in solo mode a `done` call turns
    /// the message into a stop, as τ² does); text goes to the user (or ends the episode, per mode).
    /// Stepping a finished episode is an error.
    pub fn step(&mut self, message: ParticipantMessage) -> Result<StepOutcome, DomainError> {
        if let Some(reason) = self.termination {
            return Err(DomainError::Unsupported(format!("the episode has already ended ({})", reason.as_str())));
        }
        let mut message = message;
        if self.config.mode == Mode::Solo && message.tool_calls.iter().flatten().any(|c| c.name == DONE_TOOL) {
            message = ParticipantMessage::text(STOP_TOKEN);
        }
        let start = self.messages.len();
        if message.is_tool_call() {
            let calls = message.tool_calls.clone().unwrap_or_default();
            self.messages.push(Message::Assistant(message));
            self.step_count += 1;
            for call in &calls {
                let mut call = call.clone();
                call.requestor = Requestor::Assistant;
                let answer = self.env.respond(&call);
                if answer.error {
                    self.num_errors += 1;
                }
                self.messages.push(Message::Tool(answer));
            }
            self.step_count += 1;
            self.env.sync();
            self.check_limits();
        } else {
            let is_stop = message.content.as_deref().is_some_and(|c| c.contains(STOP_TOKEN));
            let has_text = message.has_text();
            self.messages.push(Message::Assistant(message));
            self.step_count += 1;
            self.env.sync();
            if is_stop {
                self.termination = Some(TerminationReason::AgentStop);
            } else if !has_text {
                self.termination = Some(TerminationReason::AgentError);
            } else {
                match self.config.mode {
                    Mode::Solo => self.termination = Some(TerminationReason::AgentError),
                    Mode::Ticket => self.termination = Some(TerminationReason::UserStop),
                    Mode::Conversation => {
                        self.check_limits();
                        if self.termination.is_none() {
                            self.run_user_turn();
                            self.check_limits();
                        }
                    }
                }
            }
        }
        let observations = self.messages[start + 1..].to_vec();
        Ok(StepOutcome { observations, termination: self.termination })
    }

    /// Runs the user simulator until it answers in text (executing its tool calls), recording everything.
    fn run_user_turn(&mut self) -> Option<()> {
        loop {
            let Some(user) = self.user.as_mut() else {
                self.termination = Some(TerminationReason::UserError);
                return None;
            };
            let reply = match user.next_message(&self.messages) {
                Ok(r) => r,
                Err(_) => {
                    self.termination = Some(TerminationReason::UserError);
                    return None;
                }
            };
            self.step_count += 1;
            if reply.is_tool_call() {
                let calls = reply.tool_calls.clone().unwrap_or_default();
                self.messages.push(Message::User(reply));
                for call in &calls {
                    let mut call = call.clone();
                    call.requestor = Requestor::User;
                    let answer: ToolMessage = self.env.respond(&call);
                    if answer.error {
                        self.num_errors += 1;
                    }
                    self.messages.push(Message::Tool(answer));
                }
                self.step_count += 1;
                self.env.sync();
                self.check_limits();
                if self.termination.is_some() {
                    return None;
                }
                continue;
            }
            let stop = reply.content.as_deref().is_some_and(|c| USER_STOP_TOKENS.iter().any(|t| c.contains(t)));
            let has_text = reply.has_text();
            self.messages.push(Message::User(reply));
            self.env.sync();
            if stop {
                self.termination = Some(TerminationReason::UserStop);
            } else if !has_text {
                self.termination = Some(TerminationReason::UserError);
            }
            return Some(());
        }
    }

    fn check_limits(&mut self) {
        if self.termination.is_some() {
            return;
        }
        if self.step_count >= self.config.max_steps {
            self.termination = Some(TerminationReason::MaxSteps);
        }
        if self.num_errors >= self.config.max_errors {
            self.termination = Some(TerminationReason::TooManyErrors);
        }
    }

    /// Ends the episode from outside (e.g. the agent produced unparseable output): records `reason`.
    pub fn abort(&mut self, reason: TerminationReason) {
        if self.termination.is_none() {
            self.termination = Some(reason);
        }
    }

    /// Counts an error that happened before reaching the environment (e.g. an unparseable tool call),
    /// as a step with an error observation; the error limit applies.
    pub fn record_protocol_error(&mut self, observation: String) -> StepOutcome {
        let msg = Message::Tool(ToolMessage {
            id: String::new(),
            content: observation,
            requestor: Requestor::Assistant,
            error: true,
        });
        self.messages.push(msg.clone());
        self.num_errors += 1;
        self.step_count += 2;
        self.check_limits();
        StepOutcome { observations: vec![msg], termination: self.termination }
    }
}

/// The system prompt for a task in a mode (τ²'s wording for the agent and solo modes).
pub fn system_prompt<D: Domain>(domain: &D, task: &Task, mode: Mode) -> String {
    match mode {
        Mode::Conversation => {
            format!(
                "<instructions>\n{AGENT_INSTRUCTION}\n</instructions>\n<policy>\n{}\n</policy>",
                domain.policy(false)
            )
        }
        Mode::Solo => format!(
            "<instructions>\n{SOLO_INSTRUCTION}\n</instructions>\n<policy>\n{}\n</policy>\n<ticket>\n{}\n</ticket>",
            domain.policy(true),
            task.ticket.as_deref().unwrap_or_default()
        ),
        Mode::Ticket => format!(
            "<instructions>\n{TICKET_INSTRUCTION}\n</instructions>\n<policy>\n{}\n</policy>\n<ticket>\n{}\n</ticket>",
            domain.policy(false),
            ticket_text(task)
        ),
    }
}

/// The `done` tool's schema (solo mode).
pub fn done_tool_schema() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": DONE_TOOL,
            "description": "Call this function when you are done with the task.",
            "parameters": {"properties": {}, "title": "parameters", "type": "object"}
        }
    })
}

/// The tools the agent holds in a mode: agent tools; in solo mode also the user tools and `done`.
pub fn tool_schemas<D: Domain>(domain: &D, mode: Mode) -> Vec<Value> {
    let mut out = domain.agent_toolkit().openai_schemas();
    if mode == Mode::Solo {
        if let Some(user) = domain.user_toolkit() {
            out.extend(user.openai_schemas());
        }
        out.push(done_tool_schema());
    }
    out
}
