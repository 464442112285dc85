//! Rewards with τ²'s semantics (`evaluate_simulation` with `EvaluationType.ALL`).
//!
//! The reward is the product of the components named in the task's `reward_basis`:
//! * `DB` — the final agent database (and user database, telecom) equals the gold one. τ² rebuilds both by
//!   replay; since both are pure functions of the initial state and the ordered calls, we compare the live
//!   final state against a gold final state computed once per task ([`GoldCache`]).
//! * `ENV_ASSERTION` — every assertion function returns its `assert_value` on the final state.
//! * `COMMUNICATE` — every `communicate_info` string occurs (case-insensitively, commas removed from the
//!   message) in some assistant text message.
//! * `ACTION` — every gold action matches some tool call by name and the compared arguments.
//! * `NL_ASSERTION` — needs an LLM judge; reported as not evaluated and left out of the product.
//!
//! Any ending other than an agent or user stop scores 0 (components are still reported, for diagnosis).
//! A diagnostic partial score gives the fraction of gold *write* actions that were matched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::domain::{DbMatch, Domain, DomainState, Requestor};
use crate::env::Environment;
use crate::episode::{Episode, TerminationReason};
use crate::error::DomainError;
use crate::message::{Message, ToolCall};
use crate::task::{RewardType, Task};

/// The gold final state of a task: initial state, then every gold action (errors ignored, as τ² does).
#[derive(Debug, Clone)]
pub struct GoldState<S> {
    /// The state after the gold actions.
    pub state: S,
    /// Errors raised by gold actions (τ² logs and ignores them).
    pub action_errors: Vec<String>,
}

/// Computes a task's gold final state on a fresh, non-solo environment.
pub fn compute_gold<D: Domain>(domain: &Arc<D>, task: &Task) -> Result<GoldState<D::State>, DomainError> {
    let mut env = Environment::new(Arc::clone(domain), false)?;
    env.apply_initial_state(task.initial_state.as_ref())?;
    let mut action_errors = Vec::new();
    let actions = task.evaluation_criteria.as_ref().and_then(|c| c.actions.as_deref()).unwrap_or(&[]);
    for action in actions {
        if let Err(e) = env.make_tool_call(&action.name, action.requestor, &action.arguments) {
            action_errors.push(format!("{}: {e}", action.action_id));
        }
    }
    Ok(GoldState { state: env.into_state(), action_errors })
}

/// Gold final states computed once per task id and shared.
pub struct GoldCache<D: Domain> {
    domain: Arc<D>,
    states: Mutex<HashMap<String, Arc<GoldState<D::State>>>>,
}

impl<D: Domain> std::fmt::Debug for GoldCache<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoldCache").field("domain", &self.domain.name()).finish_non_exhaustive()
    }
}

impl<D: Domain> GoldCache<D> {
    /// An empty cache for a domain.
    pub fn new(domain: Arc<D>) -> Self {
        GoldCache { domain, states: Mutex::new(HashMap::new()) }
    }

    /// The domain.
    pub fn domain(&self) -> &Arc<D> {
        &self.domain
    }

    /// The gold state of `task`, computing it on first use.
    pub fn get(&self, task: &Task) -> Result<Arc<GoldState<D::State>>, DomainError> {
        if let Some(hit) = self.states.lock().map_err(|_| poisoned())?.get(&task.id) {
            return Ok(Arc::clone(hit));
        }
        let gold = Arc::new(compute_gold(&self.domain, task)?);
        self.states.lock().map_err(|_| poisoned())?.insert(task.id.clone(), Arc::clone(&gold));
        Ok(gold)
    }

    /// Number of cached tasks.
    pub fn len(&self) -> usize {
        self.states.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn poisoned() -> DomainError {
    DomainError::Unsupported("gold cache lock poisoned by a panic in another thread".to_owned())
}

/// One reward component of the task's `reward_basis`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    /// Which component.
    pub reward_type: RewardType,
    /// Its value (0 or 1); `None` when not evaluated (NL assertions without a judge).
    pub value: Option<f64>,
}

/// Outcome of one env assertion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssertionCheck {
    /// Side whose function ran.
    pub env_type: Requestor,
    /// Assertion function.
    pub func_name: String,
    /// Whether it returned its expected value.
    pub met: bool,
    /// Error that prevented evaluating it, if any.
    pub error: Option<String>,
}

/// Outcome of one gold action check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionCheck {
    /// Gold action id.
    pub action_id: String,
    /// Tool name.
    pub name: String,
    /// Whether a matching call was made.
    pub matched: bool,
    /// Whether the tool writes state.
    pub write: bool,
}

/// Outcome of one communicate-info check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommunicateCheck {
    /// The required string.
    pub info: String,
    /// Whether some assistant text contained it.
    pub met: bool,
}

/// The full evaluation of an episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// τ²'s reward (0 unless the episode ended with a stop).
    pub reward: f64,
    /// How the episode ended.
    pub termination: TerminationReason,
    /// The task's reward basis, each component with its value.
    pub components: Vec<Component>,
    /// Final databases vs gold (`None` when the task has neither actions nor assertions: τ² skips the check).
    pub db_match: Option<DbMatch>,
    /// Env assertion results.
    pub env_assertions: Vec<AssertionCheck>,
    /// Gold action matches.
    pub actions: Vec<ActionCheck>,
    /// Communicate-info matches.
    pub communicate: Vec<CommunicateCheck>,
    /// Fraction of gold write actions matched (`None` when the task has none).
    pub partial_write_score: Option<f64>,
    /// Explanation when the reward is forced to 0 or a component is missing.
    pub note: Option<String>,
}

impl Evaluation {
    /// τ²'s success criterion.
    pub fn success(&self) -> bool {
        (self.reward - 1.0).abs() <= 1e-6
    }

    /// The value of one component, if in the basis and evaluated.
    pub fn component(&self, t: RewardType) -> Option<f64> {
        self.components.iter().find(|c| c.reward_type == t).and_then(|c| c.value)
    }
}

/// Evaluates a finished episode against the cached gold state.
pub fn evaluate_episode<D: Domain>(episode: &Episode<D>, gold: &GoldCache<D>) -> Result<Evaluation, DomainError> {
    let termination = episode
        .termination()
        .ok_or_else(|| DomainError::Unsupported("cannot evaluate an episode that has not ended".to_owned()))?;
    let gold_state = gold.get(episode.task())?;
    Ok(evaluate(
        episode.env().domain(),
        episode.task(),
        episode.env().state(),
        episode.env().solo(),
        episode.messages(),
        termination,
        &gold_state.state,
    ))
}

/// Evaluates a final state and trajectory (the core of [`evaluate_episode`]).
pub fn evaluate<D: Domain>(
    domain: &Arc<D>,
    task: &Task,
    final_state: &D::State,
    solo: bool,
    messages: &[Message],
    termination: TerminationReason,
    gold: &D::State,
) -> Evaluation {
    let Some(criteria) = &task.evaluation_criteria else {
        let reward = if termination.is_graded() { 1.0 } else { 0.0 };
        return Evaluation {
            reward,
            termination,
            components: Vec::new(),
            db_match: None,
            env_assertions: Vec::new(),
            actions: Vec::new(),
            communicate: Vec::new(),
            partial_write_score: None,
            note: Some("no evaluation criteria".to_owned()),
        };
    };
    let calls: Vec<&ToolCall> = messages.iter().flat_map(Message::tool_calls).collect();

    // Environment evaluator: DB and assertions.
    let has_env_checks = criteria.actions.is_some() || criteria.env_assertions.is_some();
    let db_match = has_env_checks.then(|| final_state.db_match(gold));
    let mut env_assertions = Vec::new();
    if let Some(list) = &criteria.env_assertions {
        let mut env = Environment::from_state(Arc::clone(domain), final_state.clone(), solo);
        for a in list {
            let (met, error) = match env.run_assertion(a) {
                Ok(met) => (met, None),
                Err(e) => (false, Some(e.to_string())),
            };
            env_assertions.push(AssertionCheck { env_type: a.env_type, func_name: a.func_name.clone(), met, error });
        }
    }
    let db_value = if db_match.is_none_or(|m| m.all()) { 1.0 } else { 0.0 };
    let assertion_value = if env_assertions.iter().all(|a| a.met) { 1.0 } else { 0.0 };

    // Action evaluator.
    let actions: Vec<ActionCheck> = criteria
        .actions
        .iter()
        .flatten()
        .map(|gold_action| ActionCheck {
            action_id: gold_action.action_id.clone(),
            name: gold_action.name.clone(),
            matched: calls.iter().any(|c| gold_action.matches(c)),
            write: is_write(domain.as_ref(), gold_action.requestor, &gold_action.name),
        })
        .collect();
    let action_value = if actions.iter().all(|a| a.matched) { 1.0 } else { 0.0 };
    let writes: Vec<&ActionCheck> = actions.iter().filter(|a| a.write).collect();
    let partial_write_score =
        (!writes.is_empty()).then(|| writes.iter().filter(|a| a.matched).count() as f64 / writes.len() as f64);

    // Communicate evaluator.
    let texts: Vec<String> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Assistant(p) if p.has_text() => p.content.as_ref().map(|c| c.to_lowercase().replace(',', "")),
            _ => None,
        })
        .collect();
    let communicate: Vec<CommunicateCheck> = criteria
        .communicate_info
        .iter()
        .flatten()
        .map(|info| {
            let needle = info.to_lowercase();
            CommunicateCheck { info: info.clone(), met: texts.iter().any(|t| t.contains(&needle)) }
        })
        .collect();
    let communicate_value = if communicate.iter().all(|c| c.met) { 1.0 } else { 0.0 };

    let mut components = Vec::new();
    let mut reward = 1.0;
    let mut note = None;
    for &t in &criteria.reward_basis {
        if components.iter().any(|c: &Component| c.reward_type == t) {
            continue;
        }
        let value = match t {
            RewardType::Db => Some(db_value),
            RewardType::EnvAssertion => Some(assertion_value),
            RewardType::Action => Some(action_value),
            RewardType::Communicate => Some(communicate_value),
            RewardType::NlAssertion => {
                note = Some("NL_ASSERTION needs an LLM judge and was not evaluated".to_owned());
                None
            }
        };
        if let Some(v) = value {
            reward *= v;
        }
        components.push(Component { reward_type: t, value });
    }
    if !termination.is_graded() {
        reward = 0.0;
        note = Some(format!("episode ended prematurely ({}); only stops are graded", termination.as_str()));
    }
    Evaluation {
        reward,
        termination,
        components,
        db_match,
        env_assertions,
        actions,
        communicate,
        partial_write_score,
        note,
    }
}

/// Whether the named tool (on the requestor's side, or either side) mutates state.
fn is_write<D: Domain>(domain: &D, requestor: Requestor, name: &str) -> bool {
    let agent = domain.agent_toolkit().get(name);
    let user = domain.user_toolkit().and_then(|u| u.get(name));
    let tool = match requestor {
        Requestor::Assistant => agent.or(user),
        Requestor::User => user.or(agent),
    };
    tool.is_some_and(|t| t.kind.mutates_state())
}
