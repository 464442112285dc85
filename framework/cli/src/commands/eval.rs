//! `retain eval CHECKPOINT`: evaluate a saved model on its run's test tasks and print the result as JSON.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use serde_json::{Map, Value, json};

use retain_config::Domain;
use retain_model::ComputePool;
use retain_trainer::eval_checkpoint::{EvalRequest, evaluate_checkpoint};
use retain_trainer::evaluate::pass_hat_k;
use retain_trainer::{Rollout, TrainerError};

use super::bench_model::pin_threads;

/// Arguments of `retain eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// A checkpoint directory, or a run directory (its latest checkpoint).
    pub checkpoint: PathBuf,
    /// Domains to evaluate, comma-separated (default: every domain of the run).
    #[arg(long, value_delimiter = ',')]
    pub domains: Vec<String>,
    /// Trials per test task (default: the run's `eval.trials`).
    #[arg(long)]
    pub trials: Option<usize>,
    /// Compute threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also write every episode played (conversation, τ² evaluation) to this JSON Lines file, to see what the
    /// model did, not only how it scored.
    #[arg(long, value_name = "FILE.jsonl")]
    pub trajectories: Option<PathBuf>,
}

/// One line of `--trajectories`.
fn episode_line(rollout: &Rollout, trial: usize) -> Value {
    json!({
        "domain": rollout.domain.name(),
        "task_id": rollout.task.id,
        "family": rollout.family,
        "trial": trial,
        "success": rollout.success(),
        "reward": rollout.evaluation.reward,
        "turns": rollout.turns,
        "parse_errors": rollout.parse_errors,
        "truncated": rollout.truncated,
        "evaluation": rollout.evaluation,
        "messages": rollout.messages,
    })
}

/// Runs `retain eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    pin_threads(args.threads);
    let domains = if args.domains.is_empty() {
        None
    } else {
        Some(args.domains.iter().map(|d| d.parse::<Domain>()).collect::<Result<Vec<_>, _>>()?)
    };
    let request = EvalRequest { domains, trials: args.trials };
    let pool = ComputePool::new(args.threads)?;
    // Created at the first episode, so a mistyped CHECKPOINT leaves an existing file alone.
    let mut out: Option<BufWriter<File>> = None;
    let mut record = |rollout: &Rollout, trial: usize| -> retain_trainer::Result<()> {
        let Some(path) = &args.trajectories else { return Ok(()) };
        let io = |e| TrainerError::io(path.as_path(), e);
        let file = match &mut out {
            Some(file) => file,
            None => out.insert(BufWriter::new(File::create(path).map_err(io)?)),
        };
        serde_json::to_writer(&mut *file, &episode_line(rollout, trial)).map_err(|e| io(e.into()))?;
        file.write_all(b"\n").map_err(io)
    };
    let result = pool
        .install(|| evaluate_checkpoint(&args.checkpoint, &request, &mut record))
        .with_context(|| format!("evaluating {}", args.checkpoint.display()))?;
    if let (Some(path), Some(mut file)) = (&args.trajectories, out) {
        file.flush().with_context(|| format!("writing {}", path.display()))?;
    }
    let mut cells = Map::new();
    for (name, cell) in &result.cells {
        let mut entry = Map::new();
        entry.insert("success".to_owned(), json!(cell.success));
        entry.insert("mean_reward".to_owned(), json!(cell.mean_reward));
        entry.insert("trials".to_owned(), json!(cell.trials));
        entry.insert("tasks".to_owned(), json!(cell.per_task.as_ref().map_or(0, |p| p.len())));
        for (k, value) in pass_hat_k(cell) {
            entry.insert(format!("pass^{k}"), json!(value));
        }
        cells.insert(name.clone(), Value::Object(entry));
    }
    let out = json!({
        "checkpoint": result.checkpoint.display().to_string(),
        "global_step": result.global_step,
        "domains": cells,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
