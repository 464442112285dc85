//! `retain eval CHECKPOINT`: a saved model evaluated on the test tasks of the run it came from. The checkpoint is
//! verified first and is all that is needed: its `config.json` regenerates the same tasks from the run seed, and
//! its `model/` holds the weights and tokenizer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use retain_analysis::matrix::MatrixCellFile;
use retain_config::{Config, Domain};

use crate::error::{Result, TrainerError};
use crate::evaluate::{EpisodeSink, evaluate_domain};
use crate::policy::Policy;
use crate::run::{eval_settings, load_domains};

/// What to evaluate beyond the checkpoint's own settings.
#[derive(Debug, Clone, Default)]
pub struct EvalRequest {
    /// Domains to evaluate (`None`: every domain of the run).
    pub domains: Option<Vec<Domain>>,
    /// Trials per task (`None`: the run's `eval.trials`).
    pub trials: Option<usize>,
}

/// The result: which checkpoint, and one matrix cell per evaluated domain.
#[derive(Debug, Clone)]
pub struct CheckpointEval {
    /// The checkpoint directory evaluated.
    pub checkpoint: PathBuf,
    /// Its global step.
    pub global_step: u64,
    /// Domain → cell (success, mean reward, per-task outcomes).
    pub cells: BTreeMap<String, MatrixCellFile>,
}

/// Evaluates the checkpoint at `path` (a checkpoint directory, or a run directory = its latest checkpoint);
/// `on_episode` sees every episode played.
pub fn evaluate_checkpoint(
    path: &Path,
    request: &EvalRequest,
    on_episode: &mut EpisodeSink<'_>,
) -> Result<CheckpointEval> {
    if request.trials == Some(0) {
        return Err(TrainerError::Config("--trials must be at least 1".to_owned()));
    }
    let checkpoint = retain_checkpoint::resolve(path)?;
    checkpoint.verify()?;
    let text = checkpoint.read_verified("config.json")?;
    let config = Config::from_json(&String::from_utf8_lossy(&text)).map_err(|source| TrainerError::Json {
        what: format!("{}", checkpoint.path("config.json").display()),
        source,
    })?;
    let wanted: Vec<Domain> = request.domains.clone().unwrap_or_else(|| config.sequence.task_order.clone());
    let positions = wanted
        .iter()
        .map(|d| {
            config.sequence.task_order.iter().position(|o| o == d).ok_or_else(|| {
                let known: Vec<&str> = config.sequence.task_order.iter().map(|d| d.name()).collect();
                TrainerError::Config(format!(
                    "domain `{}` was not part of this run; it trained on {}",
                    d.name(),
                    known.join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let domains = load_domains(&config)?;
    let policy = Policy::load(&checkpoint.model_dir(), 0, None)?;
    let mut settings = eval_settings(&config);
    if let Some(trials) = request.trials {
        settings.trials = trials;
    }
    let mut cells = BTreeMap::new();
    for (domain, index) in wanted.iter().zip(positions) {
        cells.insert(domain.name().to_owned(), evaluate_domain(&policy, &domains, index, &settings, on_episode)?);
    }
    Ok(CheckpointEval {
        checkpoint: checkpoint.dir().to_path_buf(),
        global_step: checkpoint.manifest().global_step,
        cells,
    })
}
