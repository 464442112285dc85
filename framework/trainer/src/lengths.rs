//! Episode lengths in the policy's own tokens (`retain data lengths CONFIG`): how long the oracle demonstrations
//! of a run's configuration are, where their tokens go (prompt, agent turns, tool results), and how many do not
//! fit `trainer.max_episode_tokens`. A run's cost grows with every token, and an episode that does not fit the
//! episode budget can never be completed, so these numbers decide database sizes, prompt style and limits.

use std::collections::BTreeMap;

use serde::Serialize;

use retain_config::Config;
use retain_data::demo::Demonstration;
use retain_data::length::LengthStats;
use retain_data::protocol::SegmentKind;
use retain_model::Tokenizer;

use crate::error::{Result, TrainerError};
use crate::run::{Silent, demonstrations_of, load_domains, tiny_tokenizer};

/// Length distribution of one domain's training demonstrations.
#[derive(Debug, Clone, Serialize)]
pub struct DomainLengths {
    /// Domain name.
    pub domain: String,
    /// Whole episodes: system prompt, ticket, agent turns and tool results.
    pub episode: LengthStats,
    /// The system prompt and template scaffolding.
    pub prompt: LengthStats,
    /// The agent's own turns (what the loss covers).
    pub agent: LengthStats,
    /// Tool results.
    pub tool: LengthStats,
    /// `trainer.max_episode_tokens`.
    pub limit: usize,
    /// Episodes longer than `limit` (they cannot be completed within a rollout).
    pub over_limit: usize,
    /// Median episode length per task family (for telecom: per sub-issue, a composed task counting towards each
    /// of its sub-issues).
    pub p50_by_family: BTreeMap<String, usize>,
}

/// Measures the training demonstrations of every domain of `config` with the tokenizer its run would use (the
/// tiny default's is trained on these demonstrations, exactly as `retain run` trains it).
pub fn episode_lengths(config: &Config) -> Result<Vec<DomainLengths>> {
    let domains = load_domains(config)?;
    let demos = demonstrations_of(&domains, &mut Silent)?;
    let tokenizer = match &config.model.pretrained {
        Some(dir) => Tokenizer::from_file(&dir.join("tokenizer.json"))?,
        None => tiny_tokenizer(config, &domains, &demos)?,
    };
    domains
        .iter()
        .zip(&demos)
        .map(|(data, demos)| measure(data.domain.name(), demos, &tokenizer, config.trainer.max_episode_tokens))
        .collect()
}

fn measure(domain: &str, demos: &[Demonstration], tokenizer: &Tokenizer, limit: usize) -> Result<DomainLengths> {
    let (mut episode, mut prompt, mut agent, mut tool) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut by_family: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for demo in demos {
        let mut parts = [0usize; 3];
        for segment in &demo.segments {
            let n = tokenizer.encode(&segment.text)?.len();
            let part = match segment.kind {
                SegmentKind::Prompt | SegmentKind::User => 0,
                SegmentKind::Assistant => 1,
                SegmentKind::ToolOutput => 2,
            };
            parts[part] += n;
        }
        let total = parts.iter().sum();
        episode.push(total);
        prompt.push(parts[0]);
        agent.push(parts[1]);
        tool.push(parts[2]);
        for family in families_of(&demo.family) {
            by_family.entry(family.to_owned()).or_default().push(total);
        }
    }
    if episode.is_empty() {
        return Err(TrainerError::Config(format!(
            "{domain} has no training demonstrations to measure; raise data.train_tasks_per_domain"
        )));
    }
    Ok(DomainLengths {
        domain: domain.to_owned(),
        over_limit: episode.iter().filter(|&&n| n > limit).count(),
        episode: LengthStats::of(&episode),
        prompt: LengthStats::of(&prompt),
        agent: LengthStats::of(&agent),
        tool: LengthStats::of(&tool),
        limit,
        p50_by_family: by_family.into_iter().map(|(f, v)| (f, LengthStats::of(&v).p50)).collect(),
    })
}

/// The families a task belongs to: itself, or for a telecom task (`[intent]issue_a|issue_b`) each sub-issue.
fn families_of(family: &str) -> impl Iterator<Item = &str> {
    let issues = family.rsplit_once(']').map_or(family, |(_, issues)| issues);
    issues.split('|')
}

#[cfg(test)]
mod tests {
    use super::families_of;

    #[test]
    fn telecom_tasks_count_towards_each_sub_issue() {
        let of = |f| families_of(f).collect::<Vec<_>>();
        assert_eq!(of("cancel_allowed"), ["cancel_allowed"]);
        assert_eq!(of("[mms_issue]airplane_mode_on|data_mode_off"), ["airplane_mode_on", "data_mode_off"]);
    }
}
