//! The JSON documents that cross the boundary, as serde types: batch items, loss terms, and a lenient typed view
//! of trajectories and tasks for reward plugins. The host produces exactly these shapes (see the crate docs).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One task of a training batch: `augment_batch` receives and returns a JSON array of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    /// The domain whose environment runs the task (replay adds items of earlier domains).
    pub domain: String,
    /// The task in τ²'s schema.
    pub task: Value,
}

/// An extra objective a strategy asks the trainer to add before backward. Plugins cannot build autograd graphs
/// (no tensor library crosses the boundary), so a loss term is a declarative request the trainer implements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LossTerm {
    /// Supervised (negative log-likelihood) term on the assistant tokens of the given trajectories, e.g. replay of
    /// stored successful trajectories of earlier domains; the trainer adds `weight · mean NLL`.
    Sft {
        /// Coefficient of the term.
        weight: f64,
        /// Trajectories in the contract's shape (typically from the host's `sample_trajectories`).
        trajectories: Vec<Value>,
    },
    /// KL divergence of the current policy to a snapshot taken with the host's `snapshot_policy` (LwF for RL),
    /// estimated on this step's rollouts with the k3 estimator; the trainer adds `coef · KL`.
    KlToSnapshot {
        /// The snapshot's name.
        snapshot: String,
        /// Coefficient of the term.
        coef: f64,
    },
}

/// A tool call as it appears in a trajectory message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id, echoed by the tool message that answers it.
    #[serde(default)]
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments object.
    #[serde(default)]
    pub arguments: Map<String, Value>,
    /// `assistant` or `user` (τ²'s dual control); absent means the assistant.
    #[serde(default)]
    pub requestor: Option<String>,
}

/// One message of a trajectory (τ²'s shape, tagged by `role`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message {
    /// The system prompt.
    System {
        /// Prompt text.
        #[serde(default)]
        content: String,
    },
    /// The agent's turn: text and/or tool calls.
    Assistant {
        /// Text, if any.
        #[serde(default)]
        content: Option<String>,
        /// Tool calls, if any.
        #[serde(default)]
        tool_calls: Option<Vec<ToolCall>>,
    },
    /// The user's turn.
    User {
        /// Text, if any.
        #[serde(default)]
        content: Option<String>,
        /// Tool calls (dual-control domains), if any.
        #[serde(default)]
        tool_calls: Option<Vec<ToolCall>>,
    },
    /// A tool's answer.
    Tool {
        /// The id of the call it answers.
        #[serde(default)]
        id: String,
        /// Rendered output, or `Error: …`.
        #[serde(default)]
        content: String,
        /// Whether the call failed.
        #[serde(default)]
        error: bool,
    },
}

impl Message {
    /// The tool calls carried by an assistant or user message (empty otherwise).
    pub fn tool_calls(&self) -> &[ToolCall] {
        match self {
            Message::Assistant { tool_calls, .. } | Message::User { tool_calls, .. } => {
                tool_calls.as_deref().unwrap_or(&[])
            }
            _ => &[],
        }
    }

    /// The text of the message, if it has any.
    pub fn text(&self) -> Option<&str> {
        match self {
            Message::System { content } | Message::Tool { content, .. } => Some(content),
            Message::Assistant { content, .. } | Message::User { content, .. } => content.as_deref(),
        }
    }
}

/// The host's own evaluation of an episode (τ²'s reward and its components).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Evaluation {
    /// τ²'s reward: the product of the components in the task's reward basis (0 for ungraded terminations).
    pub reward: f64,
    /// Per-check values, e.g. `db`, `env_assertion`, `communicate`, `action`.
    #[serde(default)]
    pub components: BTreeMap<String, f64>,
}

/// A reward already computed for this trajectory by an earlier reward plugin.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PriorScore {
    /// The reward value.
    pub value: f64,
    /// Its components.
    #[serde(default)]
    pub components: BTreeMap<String, f64>,
}

/// A typed, lenient view of the trajectory JSON the host passes to reward plugins (unknown fields are ignored so
/// the host may add more without breaking plugins).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Trajectory {
    /// Domain name.
    #[serde(default)]
    pub domain: String,
    /// Id of the task.
    #[serde(default)]
    pub task_id: String,
    /// The conversation, system prompt first.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// How the episode ended: `agent_stop`, `user_stop`, `max_steps`, `too_many_errors`, `agent_error`,
    /// `user_error`.
    #[serde(default)]
    pub termination: Option<String>,
    /// The host's evaluation, when it ran one.
    #[serde(default)]
    pub evaluation: Option<Evaluation>,
    /// Names of the domain's tools that write to the database.
    #[serde(default)]
    pub write_tools: Vec<String>,
    /// Results of the reward plugins that ran before this one, by plugin name.
    #[serde(default)]
    pub rewards: BTreeMap<String, PriorScore>,
}

/// A gold action of a task (τ²'s `evaluation_criteria.actions[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldAction {
    /// Id within the task.
    #[serde(default)]
    pub action_id: String,
    /// `assistant` or `user`; absent means the assistant.
    #[serde(default)]
    pub requestor: Option<String>,
    /// Tool name.
    pub name: String,
    /// Expected arguments.
    #[serde(default)]
    pub arguments: Map<String, Value>,
    /// Arguments to compare (`None`: all of `arguments`; empty: the name only).
    #[serde(default)]
    pub compare_args: Option<Vec<String>>,
}

impl GoldAction {
    /// τ²'s action match: same tool name, same requestor, and equal values for every compared argument.
    pub fn matches(&self, call: &ToolCall) -> bool {
        let requestor = |r: &Option<String>| r.clone().unwrap_or_else(|| "assistant".to_owned());
        if self.name != call.name || requestor(&self.requestor) != requestor(&call.requestor) {
            return false;
        }
        let keys: Vec<&String> = match &self.compare_args {
            Some(keys) => keys.iter().collect(),
            None => self.arguments.keys().collect(),
        };
        keys.into_iter().all(|k| self.arguments.get(k) == call.arguments.get(k))
    }
}

/// The parts of a τ² task that reward plugins use (lenient: everything else is ignored).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskView {
    /// Task id.
    #[serde(default)]
    pub id: String,
    /// Gold actions, when the task has evaluation criteria.
    #[serde(default)]
    pub evaluation_criteria: Option<EvaluationCriteria>,
}

/// The `evaluation_criteria` of a τ² task, as far as plugins need it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EvaluationCriteria {
    /// The gold actions.
    #[serde(default)]
    pub actions: Option<Vec<GoldAction>>,
}

impl TaskView {
    /// The gold actions (empty when the task has none).
    pub fn gold_actions(&self) -> &[GoldAction] {
        self.evaluation_criteria.as_ref().and_then(|c| c.actions.as_deref()).unwrap_or(&[])
    }
}
