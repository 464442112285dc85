//! Building generated tasks in τ²'s task schema, plus what a demonstration needs beyond it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use retain_domains::Requestor;
use retain_domains::task::{
    Action, Description, EvaluationCriteria, InitialState, RewardType, StructuredInstructions, Task, UserInstructions,
    UserScenario,
};

use crate::knobs::Split;

/// A generated task: τ²'s [`Task`] plus the family it belongs to and the agent's right final message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedTask {
    /// The task, in τ²'s schema (this is what `retain data generate` writes).
    pub task: Task,
    /// The family (e.g. `cancel_allowed`, `airplane_mode_on|data_mode_off`).
    pub family: String,
    /// Which split it belongs to.
    pub split: Split,
    /// Whether the right answer is to change nothing (a refusal).
    pub refusal: bool,
    /// The oracle's closing message (ticket mode); contains every `communicate_info` string.
    pub final_message: String,
}

/// A gold action by the assistant.
pub fn action(task_id: &str, index: usize, name: &str, arguments: Map<String, Value>) -> Action {
    Action {
        action_id: format!("{task_id}_{index}"),
        requestor: Requestor::Assistant,
        name: name.to_owned(),
        arguments,
        info: None,
        compare_args: None,
    }
}

/// A gold action compared by name only (τ²'s `compare_args: []`, used for `transfer_to_human_agents`).
pub fn action_name_only(task_id: &str, index: usize, name: &str, arguments: Map<String, Value>) -> Action {
    Action { compare_args: Some(Vec::new()), ..action(task_id, index, name, arguments) }
}

/// Builds an argument object from pairs.
pub fn args<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The pieces of a generated task.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    /// Task id.
    pub id: String,
    /// Domain name.
    pub domain: &'static str,
    /// What the task checks (goes to `description.purpose`).
    pub purpose: String,
    /// The policy rule it exercises (goes to `description.relevant_policies`).
    pub policy: String,
    /// Why the user calls (user simulator).
    pub reason_for_call: String,
    /// What the user knows (user simulator).
    pub known_info: String,
    /// How the user behaves (user simulator).
    pub task_instructions: String,
    /// The short ticket used in ticket/solo mode.
    pub ticket: String,
    /// Gold actions.
    pub actions: Vec<Action>,
    /// Strings the agent must say.
    pub communicate_info: Vec<String>,
    /// Reward components.
    pub reward_basis: Vec<RewardType>,
    /// Initial state (telecom).
    pub initial_state: Option<InitialState>,
    /// Env assertions (telecom).
    pub env_assertions: Option<Vec<retain_domains::task::EnvAssertion>>,
}

impl TaskSpec {
    /// The τ² task.
    pub fn into_task(self) -> Task {
        Task {
            id: self.id,
            description: Some(Description {
                purpose: Some(self.purpose),
                relevant_policies: Some(self.policy),
                notes: None,
            }),
            user_scenario: UserScenario {
                persona: None,
                instructions: UserInstructions::Structured(StructuredInstructions {
                    domain: self.domain.to_owned(),
                    reason_for_call: self.reason_for_call,
                    known_info: Some(self.known_info),
                    unknown_info: None,
                    task_instructions: self.task_instructions,
                }),
            },
            ticket: Some(self.ticket),
            initial_state: self.initial_state,
            evaluation_criteria: Some(EvaluationCriteria {
                actions: Some(self.actions),
                env_assertions: self.env_assertions,
                communicate_info: Some(self.communicate_info),
                nl_assertions: None,
                reward_basis: self.reward_basis,
            }),
            issues: None,
            required_documents: None,
            user_tools: None,
            annotations: None,
        }
    }
}
