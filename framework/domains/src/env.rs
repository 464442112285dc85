//! The environment: a domain's live state plus τ²'s rules for routing and answering tool calls.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::domain::{Domain, DomainState, Requestor};
use crate::error::DomainError;
use crate::message::{Message, ToolCall, ToolMessage};
use crate::task::{EnvAssertion, EnvFunctionCall, InitialState};
use crate::tool::{ToolError, ToolResult};

/// A domain's state for one episode (or one gold replay), with τ²'s `Environment` semantics.
pub struct Environment<D: Domain> {
    domain: Arc<D>,
    state: D::State,
    solo: bool,
}

impl<D: Domain> std::fmt::Debug for Environment<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment").field("domain", &self.domain.name()).field("solo", &self.solo).finish()
    }
}

impl<D: Domain> Environment<D> {
    /// A fresh environment on a clone of the domain's loaded state. Solo mode must be supported by the domain.
    pub fn new(domain: Arc<D>, solo: bool) -> Result<Self, DomainError> {
        if solo && !domain.supports_solo() {
            return Err(DomainError::Unsupported(format!("domain {} does not support solo mode", domain.name())));
        }
        let mut state = domain.initial_state().clone();
        state.sync();
        Ok(Environment { domain, state, solo })
    }

    /// An environment over a given state (e.g. a finished episode's, to run assertions on a copy).
    pub fn from_state(domain: Arc<D>, state: D::State, solo: bool) -> Self {
        Environment { domain, state, solo }
    }

    /// The domain.
    pub fn domain(&self) -> &Arc<D> {
        &self.domain
    }

    /// Whether the agent also holds the user tools.
    pub fn solo(&self) -> bool {
        self.solo
    }

    /// The live state.
    pub fn state(&self) -> &D::State {
        &self.state
    }

    /// The live state, mutably (for tests and tools outside episodes).
    pub fn state_mut(&mut self) -> &mut D::State {
        &mut self.state
    }

    /// Consumes the environment, returning its state.
    pub fn into_state(self) -> D::State {
        self.state
    }

    /// Applies a task's initial state as τ²'s `set_state` does: data patches, initialisation actions (each
    /// followed by a sync), replay of tool calls in the message history (outputs must match), final sync.
    pub fn apply_initial_state(&mut self, init: Option<&InitialState>) -> Result<(), DomainError> {
        let Some(init) = init else {
            self.state.sync();
            return Ok(());
        };
        if let Some(data) = &init.initialization_data {
            if let Some(patch) = &data.agent_data {
                self.state.update_agent_data(patch)?;
            }
            if let Some(patch) = &data.user_data {
                self.state.update_user_data(patch)?;
            }
        }
        for action in init.initialization_actions.iter().flatten() {
            self.run_env_function(action).map_err(|e| {
                DomainError::InitialState(format!("{} ({}): {e}", action.func_name, action.env_type.as_str()))
            })?;
        }
        self.replay_history(init.message_history.as_deref().unwrap_or(&[]))?;
        self.state.sync();
        Ok(())
    }

    fn replay_history(&mut self, history: &[Message]) -> Result<(), DomainError> {
        let mut i = 0;
        while i < history.len() {
            let calls = history[i].tool_calls();
            if let Message::Tool(_) = &history[i] {
                return Err(DomainError::InitialState("tool message without a preceding tool call".to_owned()));
            }
            i += 1;
            for call in calls {
                let Some(Message::Tool(expected)) = history.get(i) else {
                    return Err(DomainError::InitialState(format!("tool message expected after call {}", call.name)));
                };
                i += 1;
                let got = self.respond(call);
                if !json_text_eq(&got.content, &expected.content) {
                    return Err(DomainError::InitialState(format!(
                        "replayed call {} returned {:?}, history says {:?}",
                        call.name, got.content, expected.content
                    )));
                }
            }
        }
        Ok(())
    }

    /// Runs a domain function (initialisation action or assertion) on the named side, then syncs.
    pub fn run_env_function(&mut self, call: &EnvFunctionCall) -> Result<Value, ToolError> {
        self.run_function(call.env_type, &call.func_name, &call.arguments)
    }

    fn run_function(&mut self, side: Requestor, name: &str, args: &Map<String, Value>) -> Result<Value, ToolError> {
        let toolkit = match side {
            Requestor::Assistant => self.domain.agent_toolkit(),
            Requestor::User => self.domain.user_toolkit().ok_or_else(|| ToolError::new("User tools not available"))?,
        };
        let out = toolkit.call_function(&mut self.state, name, args);
        self.state.sync();
        out
    }

    /// Evaluates an env assertion: `Ok(met)`, or the error that prevented evaluating it.
    pub fn run_assertion(&mut self, assertion: &EnvAssertion) -> Result<bool, ToolError> {
        match self.run_function(assertion.env_type, &assertion.func_name, &assertion.arguments)? {
            Value::Bool(b) => Ok(b == assertion.assert_value),
            other => Err(ToolError::new(format!(
                "Function {} returned {} instead of bool",
                assertion.func_name,
                crate::tool::py_type_name(&other)
            ))),
        }
    }

    /// τ²'s `make_tool_call`: routes by requestor (in solo mode, assistant calls of user tools go to the user
    /// toolkit) and runs the tool. Does not sync.
    pub fn make_tool_call(&mut self, name: &str, requestor: Requestor, args: &Map<String, Value>) -> ToolResult {
        match requestor {
            Requestor::User => {
                if self.solo {
                    return Err(ToolError::new("User tool calls are not allowed in solo mode"));
                }
                let toolkit = self.domain.user_toolkit().ok_or_else(|| ToolError::new("User tools not available"))?;
                toolkit.call(&mut self.state, name, args)
            }
            Requestor::Assistant => {
                if self.solo
                    && let Some(user) = self.domain.user_toolkit()
                    && user.has_tool(name)
                {
                    return user.call(&mut self.state, name, args);
                }
                self.domain.agent_toolkit().call(&mut self.state, name, args)
            }
        }
    }

    /// τ²'s `get_response`: executes the call, syncs after a success, renders errors as `Error: <message>`.
    pub fn respond(&mut self, call: &ToolCall) -> ToolMessage {
        let (content, error) = match self.make_tool_call(&call.name, call.requestor, &call.arguments) {
            Ok(out) => {
                self.state.sync();
                (out, false)
            }
            Err(e) => (format!("Error: {e}"), true),
        };
        ToolMessage { id: call.id.clone(), content, requestor: call.requestor, error }
    }

    /// Couples the databases (τ²'s `sync_tools`), as the orchestrator does after every step.
    pub fn sync(&mut self) {
        self.state.sync();
    }
}

/// τ²'s comparison of replayed outputs: equal as JSON when both parse, else as text.
fn json_text_eq(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(x), Ok(y)) => crate::task::py_eq(&x, &y),
        _ => a == b,
    }
}
