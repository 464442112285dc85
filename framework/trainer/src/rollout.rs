//! Batched multi-turn episodes: the policy plays many tasks at once, each in its own domain's environment.
//!
//! Token-in/token-out: an episode is one growing token sequence — the rendered prompt, then per turn the tokens
//! the model sampled (kept exactly, never re-tokenised) and the follow-up the template writes after them (tool
//! results, the next generation prompt). Only the sampled tokens carry loss-mask 1. All episodes of a batch
//! share one [`TurnSession`], so each turn feeds only new tokens; a finished episode leaves the batch.

use std::sync::Arc;

use retain_config::Domain;
use retain_data::dataset::DomainData;
use retain_data::environment::AnyEpisode;
use retain_data::protocol::template::GENERATION_PROMPT;
use retain_data::protocol::{ParsedTurn, SegmentKind, parse_output, render_turn_followup};
use retain_data::task_builder::GeneratedTask;
use retain_domains::evaluation::Evaluation;
use retain_domains::{Message, ParticipantMessage, Task, TerminationReason};
use retain_model::{SamplingConfig, TurnSession};

use crate::encode::{Encoded, encode_segments};
use crate::error::{Result, TrainerError};
use crate::policy::Policy;

/// Fewest tokens a turn may be given; an episode with less room left ends (as if its step limit was reached).
const MIN_TURN_TOKENS: usize = 8;

/// Episode length limits (from `trainer.max_turns`, `max_new_tokens`, `max_episode_tokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolloutLimits {
    /// Agent turns per episode.
    pub max_turns: usize,
    /// Tokens per agent turn.
    pub max_new_tokens: usize,
    /// Tokens per episode, prompt included.
    pub max_episode_tokens: usize,
}

/// One episode to play: which domain (index into the domain list), which task, and its sampling seed.
#[derive(Debug, Clone, Copy)]
pub struct EpisodeSpec<'a> {
    /// Index of the task's domain in the `domains` slice given to [`run_episodes`].
    pub domain: usize,
    /// The task.
    pub task: &'a GeneratedTask,
    /// Seed of this episode's sampling RNG (the episode depends on it and its task only).
    pub seed: u64,
}

/// A finished episode: its tokens, how it went, and τ²'s evaluation.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// The task's domain.
    pub domain: Domain,
    /// The task.
    pub task: Arc<Task>,
    /// Task family (for per-family statistics).
    pub family: String,
    /// The whole episode as tokens, with the agent's tokens marked for the loss.
    pub tokens: Encoded,
    /// `log p` of each sampled token under the sampling policy (0 on masked tokens).
    pub sample_logprobs: Vec<f32>,
    /// The conversation as the environment recorded it.
    pub messages: Vec<Message>,
    /// Agent turns taken.
    pub turns: usize,
    /// Tokens the agent generated.
    pub completion_tokens: usize,
    /// Outputs that were not valid tool calls or text (each became an error observation).
    pub parse_errors: usize,
    /// Whether the token budget ended the episode.
    pub truncated: bool,
    /// τ²'s evaluation (reward, components, termination).
    pub evaluation: Evaluation,
}

impl Rollout {
    /// τ²'s success: reward 1.
    pub fn success(&self) -> bool {
        self.evaluation.success()
    }
}

struct Live {
    episode: AnyEpisode,
    tokens: Encoded,
    logprobs: Vec<f32>,
    tool_names: Vec<String>,
    turns: usize,
    completion_tokens: usize,
    parse_errors: usize,
    truncated: bool,
}

/// Plays every episode of `specs` to the end and evaluates it; the rollouts come back in the order of `specs`.
pub fn run_episodes(
    policy: &Policy,
    domains: &[DomainData],
    specs: &[EpisodeSpec<'_>],
    sampling: &SamplingConfig,
    limits: &RolloutLimits,
) -> Result<Vec<Rollout>> {
    let tokenizer = &policy.tokenizer;
    let mut live = Vec::with_capacity(specs.len());
    let mut starts = Vec::with_capacity(specs.len());
    for (key, spec) in specs.iter().enumerate() {
        let data = domain_of(domains, spec.domain)?;
        let task = Arc::new(spec.task.task.clone());
        let episode = data.env.start(Arc::clone(&task), 2 * limits.max_turns)?;
        let mut rendered = data.style.render(&task, episode.mode(), episode.messages(), &episode.tool_schemas());
        rendered.push(SegmentKind::Prompt, GENERATION_PROMPT);
        let tokens = encode_segments(tokenizer, &rendered.segments)?;
        if tokens.len() + MIN_TURN_TOKENS > limits.max_episode_tokens {
            return Err(TrainerError::Config(format!(
                "task {} ({}): its prompt alone is {} tokens, over trainer.max_episode_tokens = {}; raise it or use \
                 data.policy = \"compact\"",
                task.id,
                data.domain.name(),
                tokens.len(),
                limits.max_episode_tokens
            )));
        }
        starts.push((key, tokens.ids.clone(), spec.seed));
        live.push(Live {
            tool_names: episode.tool_names(),
            episode,
            logprobs: vec![0.0; tokens.len()],
            tokens,
            turns: 0,
            completion_tokens: 0,
            parse_errors: 0,
            truncated: false,
        });
    }
    let mut session = TurnSession::new(&policy.model, policy.generation_config(sampling.clone()), starts)?;
    while !session.keys().is_empty() {
        let room =
            |key: usize| limits.max_new_tokens.min(limits.max_episode_tokens.saturating_sub(live[key].tokens.len()));
        let outputs = session.generate_turn(room, Some(tokenizer))?;
        let mut finished = Vec::new();
        for (key, completion) in outputs {
            let l = &mut live[key];
            l.tokens.extend(&completion.tokens, true);
            l.logprobs.extend(&completion.logprobs);
            l.turns += 1;
            l.completion_tokens += completion.tokens.len();
            let text = completion.text.unwrap_or_default();
            let names: Vec<&str> = l.tool_names.iter().map(String::as_str).collect();
            tracing::debug!(task = %l.episode.task().id, turn = l.turns, output = ?text, "agent turn");
            let outcome = match parse_output(&text, &names) {
                ParsedTurn::Invalid(error) => {
                    l.parse_errors += 1;
                    l.episode.record_protocol_error(error.observation)
                }
                ParsedTurn::Calls(message) => l.episode.step(message)?,
                ParsedTurn::Text(text) => l.episode.step(ParticipantMessage::text(text))?,
            };
            if !l.episode.is_done() && l.turns >= limits.max_turns {
                l.episode.abort(TerminationReason::MaxSteps);
            }
            if !l.episode.is_done() {
                let followup = encode_segments(tokenizer, &render_turn_followup(&outcome.observations).segments)?;
                if l.tokens.len() + followup.len() + MIN_TURN_TOKENS > limits.max_episode_tokens {
                    l.truncated = true;
                    l.episode.abort(TerminationReason::MaxSteps);
                } else {
                    l.tokens.extend(&followup.ids, false);
                    l.logprobs.extend(std::iter::repeat_n(0.0, followup.len()));
                    session.push_tokens(key, &followup.ids)?;
                }
            }
            if l.episode.is_done() {
                finished.push(key);
            }
        }
        session.remove(&finished)?;
    }
    live.into_iter()
        .zip(specs)
        .map(|(l, spec)| {
            let data = domain_of(domains, spec.domain)?;
            let evaluation = data.env.evaluate(&l.episode)?;
            Ok(Rollout {
                domain: data.domain,
                task: Arc::clone(l.episode.task()),
                family: spec.task.family.clone(),
                messages: l.episode.messages().to_vec(),
                tokens: l.tokens,
                sample_logprobs: l.logprobs,
                turns: l.turns,
                completion_tokens: l.completion_tokens,
                parse_errors: l.parse_errors,
                truncated: l.truncated,
                evaluation,
            })
        })
        .collect()
}

fn domain_of(domains: &[DomainData], index: usize) -> Result<&DomainData> {
    domains.get(index).ok_or_else(|| {
        TrainerError::Config(format!("episode refers to domain #{index}, but only {} are loaded", domains.len()))
    })
}
