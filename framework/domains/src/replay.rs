//! Scripted episodes: gold replays of official tasks and scoring of recorded trajectories.
//!
//! A gold replay plays a task's gold actions as the agent's tool calls, one per message, in the mode retain
//! uses for the domain (telecom solo: user-side actions are issued by the agent and routed to the device,
//! then `done`; airline/retail ticket mode: a final message carrying every `communicate_info` string), and
//! evaluates the episode like any other. Every official task must score 1.0.

use std::sync::Arc;

use crate::domain::{Domain, Requestor};
use crate::episode::{DONE_TOOL, Episode, EpisodeConfig, Mode, TerminationReason};
use crate::error::DomainError;
use crate::evaluation::{Evaluation, GoldCache, evaluate_episode};
use crate::message::{ParticipantMessage, ToolCall, ToolMessage};
use crate::task::Task;

/// The agent messages of a task's gold trajectory in `mode`.
pub fn gold_messages(task: &Task, mode: Mode) -> Vec<ParticipantMessage> {
    let criteria = task.evaluation_criteria.as_ref();
    let mut out: Vec<ParticipantMessage> = criteria
        .and_then(|c| c.actions.as_deref())
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, action)| {
            ParticipantMessage::calls(vec![ToolCall {
                id: format!("call_{i}"),
                name: action.name.clone(),
                arguments: action.arguments.clone(),
                requestor: Requestor::Assistant,
            }])
        })
        .collect();
    match mode {
        Mode::Solo => out.push(ParticipantMessage::calls(vec![ToolCall::assistant(DONE_TOOL, Default::default())])),
        Mode::Ticket | Mode::Conversation => {
            let infos = criteria.and_then(|c| c.communicate_info.clone()).unwrap_or_default();
            let text = if infos.is_empty() { "Your request has been handled.".to_owned() } else { infos.join("\n") };
            out.push(ParticipantMessage::text(text));
        }
    }
    out
}

/// One scripted episode and its evaluation.
#[derive(Debug, Clone)]
pub struct ScriptedRun {
    /// Task id.
    pub task_id: String,
    /// The evaluation.
    pub evaluation: Evaluation,
    /// Tool results, in order.
    pub tool_messages: Vec<ToolMessage>,
}

/// Plays `messages` as the agent in a fresh episode of `task`; stops early if the episode ends. An episode
/// still running after the last message ends as an agent error (τ²: the agent fell silent).
pub fn run_scripted<D: Domain>(
    domain: &Arc<D>,
    task: &Arc<Task>,
    config: EpisodeConfig,
    messages: Vec<ParticipantMessage>,
    gold: &GoldCache<D>,
) -> Result<ScriptedRun, DomainError> {
    let mut episode = Episode::start(Arc::clone(domain), Arc::clone(task), config, None)?;
    for message in messages {
        if episode.is_done() {
            break;
        }
        episode.step(message)?;
    }
    if !episode.is_done() {
        episode.abort(TerminationReason::AgentError);
    }
    let evaluation = evaluate_episode(&episode, gold)?;
    let tool_messages = episode
        .messages()
        .iter()
        .filter_map(|m| match m {
            crate::message::Message::Tool(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    Ok(ScriptedRun { task_id: task.id.clone(), evaluation, tool_messages })
}

/// Gold-replays one task in the domain's default mode.
pub fn gold_replay<D: Domain>(
    domain: &Arc<D>,
    task: &Arc<Task>,
    gold: &GoldCache<D>,
) -> Result<ScriptedRun, DomainError> {
    let mode = Mode::default_for(domain.supports_solo());
    run_scripted(domain, task, EpisodeConfig::new(mode), gold_messages(task, mode), gold)
}
