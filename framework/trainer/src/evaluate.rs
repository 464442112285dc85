//! Evaluation of a policy on a domain's held-out test tasks: n trials per task, τ²'s success and reward per
//! trial, kept per task so the report can compute pass^k and bootstrap intervals.

use std::collections::BTreeMap;

use retain_analysis::matrix::MatrixCellFile;
use retain_data::dataset::DomainData;
use retain_model::SamplingConfig;
use retain_model::mode::mix_seed;

use crate::error::Result;
use crate::policy::Policy;
use crate::rollout::{EpisodeSpec, Rollout, RolloutLimits, run_episodes};

/// Episodes played in one batch during evaluation.
const EVAL_BATCH: usize = 48;

/// How an evaluation runs.
#[derive(Debug, Clone)]
pub struct EvalSettings {
    /// Trials per task.
    pub trials: usize,
    /// Cap on test tasks (`None`: all).
    pub max_tasks: Option<usize>,
    /// Sampling temperature (0 = greedy).
    pub temperature: f64,
    /// Episode limits (the training ones).
    pub limits: RolloutLimits,
    /// Seed of the trials' sampling (the same for every evaluation, so rows differ only by the policy).
    pub seed: u64,
}

/// Receives every episode an evaluation plays, with its trial number, so a caller can keep what the model did
/// (`retain eval --trajectories`), not only the scores.
pub type EpisodeSink<'a> = dyn FnMut(&Rollout, usize) -> Result<()> + 'a;

/// Evaluates the policy on the test tasks of `domains[index]`; `on_episode` sees each episode played.
///
/// With temperature 0 every trial of a task would replay the same greedy episode, so it is played once (trial 0)
/// and its outcome recorded for each trial.
pub fn evaluate_domain(
    policy: &Policy,
    domains: &[DomainData],
    index: usize,
    settings: &EvalSettings,
    on_episode: &mut EpisodeSink<'_>,
) -> Result<MatrixCellFile> {
    let data = &domains[index];
    let tasks = &data.test[..settings.max_tasks.unwrap_or(data.test.len()).min(data.test.len())];
    let greedy = settings.temperature <= 0.0;
    let played_trials = if greedy { 1 } else { settings.trials };
    let sampling = if greedy {
        SamplingConfig::greedy()
    } else {
        SamplingConfig { temperature: settings.temperature as f32, top_p: 1.0, top_k: 0 }
    };
    let specs: Vec<EpisodeSpec<'_>> = tasks
        .iter()
        .enumerate()
        .flat_map(|(t, task)| {
            (0..played_trials).map(move |trial| EpisodeSpec {
                domain: index,
                task,
                seed: mix_seed(settings.seed, (t * played_trials + trial) as u64),
            })
        })
        .collect();
    let mut outcomes: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut rewards: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (c, chunk) in specs.chunks(EVAL_BATCH).enumerate() {
        for (i, rollout) in run_episodes(policy, domains, chunk, &sampling, &settings.limits)?.into_iter().enumerate() {
            on_episode(&rollout, (c * EVAL_BATCH + i) % played_trials)?;
            let copies = if greedy { settings.trials } else { 1 };
            let success = if rollout.success() { 1.0 } else { 0.0 };
            outcomes.entry(rollout.task.id.clone()).or_default().extend(std::iter::repeat_n(success, copies));
            rewards
                .entry(rollout.task.id.clone())
                .or_default()
                .extend(std::iter::repeat_n(rollout.evaluation.reward, copies));
        }
    }
    let mean_of_means = |m: &BTreeMap<String, Vec<f64>>| {
        if m.is_empty() {
            return 0.0;
        }
        m.values().map(|v| v.iter().sum::<f64>() / v.len().max(1) as f64).sum::<f64>() / m.len() as f64
    };
    Ok(MatrixCellFile {
        success: mean_of_means(&outcomes),
        mean_reward: mean_of_means(&rewards),
        trials: settings.trials,
        per_task: Some(outcomes),
        rewards: Some(rewards),
    })
}

/// `pass^k` for k = 1..=trials from a cell's per-task outcomes (the analysis crate's estimator).
pub fn pass_hat_k(cell: &MatrixCellFile) -> Vec<(usize, f64)> {
    let Some(per_task) = &cell.per_task else { return Vec::new() };
    let tasks: Vec<Vec<bool>> = per_task.values().map(|o| o.iter().map(|v| *v > 0.5).collect()).collect();
    (1..=cell.trials)
        .filter_map(|k| retain_analysis::pass_k::pass_hat_k(tasks.iter().map(Vec::as_slice), k).ok().map(|v| (k, v)))
        .collect()
}
