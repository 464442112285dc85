//! Oracle demonstrations: each generated task's gold actions executed through the real environment, with
//! real tool results, closed by the right final message (ticket mode) or `done` (solo mode), evaluated, and
//! rendered with the chat template. These are the SFT warm-start data and the tokenizer corpus.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use retain_domains::episode::{DONE_TOOL, Episode, EpisodeConfig, Mode};
use retain_domains::evaluation::evaluate_episode;
use retain_domains::{Domain, GoldCache, Message, ParticipantMessage, Requestor, ToolCall};

use crate::error::DataError;
use crate::knobs::Split;
use crate::prompt::PromptStyle;
use crate::protocol::{Rendered, Segment};
use crate::task_builder::GeneratedTask;

/// One demonstration, as written to `demos.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demonstration {
    /// Domain name.
    pub domain: String,
    /// Task id.
    pub task_id: String,
    /// Task family.
    pub family: String,
    /// Split.
    pub split: Split,
    /// τ²'s reward of the trajectory (1.0 for a correct generator).
    pub reward: f64,
    /// The trajectory (system prompt, agent turns, tool results).
    pub messages: Vec<Message>,
    /// The rendered text in role-tagged segments (only `assistant` segments are trained on).
    pub segments: Vec<Segment>,
}

impl Demonstration {
    /// The full rendered text.
    pub fn text(&self) -> String {
        self.segments.iter().map(|s| s.text.as_str()).collect()
    }
}

/// The episode mode for demonstrations of a domain: τ² solo where supported, retain's ticket mode otherwise.
pub fn demo_mode<D: Domain>(domain: &D) -> Mode {
    Mode::default_for(domain.supports_solo())
}

/// Runs the gold trajectory of `generated` through a real episode and renders it.
///
/// Each gold action is one agent turn (a single tool call; in solo mode the user-side actions are made by
/// the agent, as τ²'s solo replay does); then the final message (ticket mode) or `done` (solo mode).
pub fn demonstrate<D: Domain>(
    domain: &Arc<D>,
    gold: &GoldCache<D>,
    generated: &GeneratedTask,
    style: PromptStyle,
) -> Result<Demonstration, DataError> {
    let mode = demo_mode(domain.as_ref());
    let task = Arc::new(generated.task.clone());
    let mut episode = Episode::start(Arc::clone(domain), Arc::clone(&task), EpisodeConfig::new(mode), None)?;
    let actions = task.evaluation_criteria.as_ref().and_then(|c| c.actions.clone()).unwrap_or_default();
    for a in &actions {
        if mode != Mode::Solo && a.requestor == Requestor::User {
            continue;
        }
        let call = ToolCall {
            id: String::new(),
            name: a.name.clone(),
            arguments: a.arguments.clone(),
            requestor: Requestor::Assistant,
        };
        episode.step(ParticipantMessage::calls(vec![call]))?;
        if episode.is_done() {
            break;
        }
    }
    if !episode.is_done() {
        let last = match mode {
            Mode::Solo => ParticipantMessage::calls(vec![ToolCall::assistant(DONE_TOOL, serde_json::Map::new())]),
            _ => ParticipantMessage::text(generated.final_message.clone()),
        };
        episode.step(last)?;
    }
    let evaluation = evaluate_episode(&episode, gold)?;
    let rendered: Rendered = style.render(&task, mode, episode.messages(), &episode.tool_schemas());
    if !evaluation.success() {
        return Err(DataError::GoldFailed {
            task: task.id.clone(),
            reward: evaluation.reward,
            detail: serde_json::to_string(&evaluation).unwrap_or_default(),
        });
    }
    Ok(Demonstration {
        domain: domain.name().to_owned(),
        task_id: task.id.clone(),
        family: generated.family.clone(),
        split: generated.split,
        reward: evaluation.reward,
        messages: episode.messages().to_vec(),
        segments: rendered.segments,
    })
}

/// A text corpus for tokenizer training: every demonstration's rendered text, one after the other.
pub fn corpus(demos: &[Demonstration]) -> String {
    let mut out = String::new();
    for d in demos {
        out.push_str(&d.text());
    }
    out
}
