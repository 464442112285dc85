//! `matrix.json`: the accuracy matrix with per-task trial outcomes (RUN_FORMAT.md), its serde types (which the
//! trainer uses to write it) and the validated in-memory form every metric reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cl_metrics::{ScoreMatrix, mean};
use crate::error::{AnalysisError, Result, read_text};

/// The only `format_version` this crate reads and writes.
pub const MATRIX_FORMAT_VERSION: u32 = 1;

/// How far a stored `success` / `mean_reward` may sit from the value recomputed from its trials.
const CONSISTENCY_TOLERANCE: f64 = 1e-6;

/// `matrix.json` exactly as stored; the trainer serialises this type so writer and reader cannot drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixFile {
    /// Always [`MATRIX_FORMAT_VERSION`].
    pub format_version: u32,
    /// The task order: column `j` of the matrix is `domains[j - 1]`.
    pub domains: Vec<String>,
    /// Row 0 (before training, optional) then one row per trained domain, in order.
    pub rows: Vec<MatrixRowFile>,
}

/// One evaluation of every domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixRowFile {
    /// 0 = before any training, `i` = after training domain `i` (1-based).
    pub index: usize,
    /// `null` for row 0, else the name of the domain just trained (`domains[index - 1]`).
    pub after: Option<String>,
    /// Global training step at which this evaluation ran.
    pub global_step: u64,
    /// One cell per domain, keyed by domain name.
    pub cells: BTreeMap<String, MatrixCellFile>,
}

/// The evaluation of one domain in one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixCellFile {
    /// Mean over tasks of the per-task success rate (τ²: a trial succeeds when its reward is 1).
    pub success: f64,
    /// Mean over tasks of the per-task mean reward.
    pub mean_reward: f64,
    /// Trials per task.
    pub trials: usize,
    /// Task id → one outcome per trial, 0 or 1. Needed for intervals and `pass^k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_task: Option<BTreeMap<String, Vec<f64>>>,
    /// Task id → one reward per trial (same ids and lengths as `per_task`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewards: Option<BTreeMap<String, Vec<f64>>>,
}

/// The validated accuracy matrix of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracyMatrix {
    /// Task order; cells of every row follow it.
    pub domains: Vec<String>,
    /// Row 0, when the untrained model was evaluated.
    pub before: Option<EvalRow>,
    /// One row per trained domain, in task order (fewer than `domains` for an unfinished run).
    pub after: Vec<EvalRow>,
}

/// One validated row.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRow {
    /// Global training step of the evaluation.
    pub global_step: u64,
    /// One cell per domain, in task order.
    pub cells: Vec<Cell>,
}

/// One validated cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Success rate in [0, 1].
    pub success: f64,
    /// Mean reward.
    pub mean_reward: f64,
    /// Trials per task.
    pub trials: usize,
    /// Per-task outcomes sorted by task id, when recorded.
    pub tasks: Option<Vec<TaskTrials>>,
}

/// All trials of one task in one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskTrials {
    /// The task id.
    pub id: String,
    /// Success of each trial.
    pub outcomes: Vec<bool>,
    /// Reward of each trial, when recorded.
    pub rewards: Option<Vec<f64>>,
}

impl AccuracyMatrix {
    /// Reads and validates `matrix.json`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = read_text(
            path,
            "matrix.json is written by the trainer after its first evaluation; \
                           a run that stopped before any evaluation cannot be reported",
        )?;
        let deserializer = &mut serde_json::Deserializer::from_str(&text);
        let file: MatrixFile =
            serde_path_to_error::deserialize(deserializer).map_err(|e| AnalysisError::Malformed {
                path: path.to_path_buf(),
                line: None,
                message: format!("at `{}`: {}", e.path(), e.inner()),
            })?;
        Self::from_file(file).map_err(|message| AnalysisError::Invalid {
            path: path.to_path_buf(),
            line: None,
            message,
        })
    }

    /// Validates a parsed file against the rules of RUN_FORMAT.md; the error names the row, domain and task.
    pub fn from_file(file: MatrixFile) -> std::result::Result<Self, String> {
        if file.format_version != MATRIX_FORMAT_VERSION {
            return Err(format!(
                "format_version {} is not supported; this retain reads version {MATRIX_FORMAT_VERSION}",
                file.format_version
            ));
        }
        if file.domains.is_empty() {
            return Err("`domains` is empty; it must list the task order".into());
        }
        let mut seen = BTreeSet::new();
        for domain in &file.domains {
            if domain.is_empty() || !seen.insert(domain.as_str()) {
                return Err(format!("`domains` must hold distinct, non-empty names; {domain:?} is empty or repeated"));
            }
        }
        let mut before = None;
        let mut after = Vec::new();
        let mut last_step = 0u64;
        for (position, row) in file.rows.into_iter().enumerate() {
            let expected = if before.is_some() || row.index == 0 { position } else { position + 1 };
            if row.index != expected {
                return Err(format!(
                    "rows[{position}] has index {} but {expected} was expected: rows are 0 (optional), 1, 2, … in order",
                    row.index
                ));
            }
            if row.index > file.domains.len() {
                return Err(format!(
                    "row {} is beyond the {} domains of the task order",
                    row.index,
                    file.domains.len()
                ));
            }
            let expected_after = row.index.checked_sub(1).map(|i| file.domains[i].as_str());
            if row.after.as_deref() != expected_after {
                return Err(format!(
                    "row {} has after = {:?} but the task order says {:?}",
                    row.index, row.after, expected_after
                ));
            }
            if row.global_step < last_step {
                return Err(format!(
                    "row {} has global_step {} < {} of the row before; rows must be in training order",
                    row.index, row.global_step, last_step
                ));
            }
            last_step = row.global_step;
            let validated = validate_row(row.index, row.global_step, row.cells, &file.domains)?;
            if row.index == 0 {
                before = Some(validated);
            } else {
                after.push(validated);
            }
        }
        Ok(Self { domains: file.domains, before, after })
    }

    /// The success rates as a plain matrix, for the formulas.
    pub fn success(&self) -> ScoreMatrix {
        self.scores(|cell| cell.success)
    }

    /// The mean rewards as a plain matrix.
    pub fn reward(&self) -> ScoreMatrix {
        self.scores(|cell| cell.mean_reward)
    }

    /// Whether every cell carries per-task outcomes, which intervals and `pass^k` need.
    pub fn has_trials(&self) -> bool {
        self.rows().all(|row| row.cells.iter().all(|c| c.tasks.is_some()))
    }

    /// All rows, row 0 first when present.
    pub fn rows(&self) -> impl Iterator<Item = &EvalRow> {
        self.before.iter().chain(self.after.iter())
    }

    /// The last evaluation (after the last trained domain, or row 0 if none was trained).
    pub fn last_row(&self) -> Option<&EvalRow> {
        self.after.last().or(self.before.as_ref())
    }

    fn scores(&self, value: impl Fn(&Cell) -> f64) -> ScoreMatrix {
        let row = |r: &EvalRow| r.cells.iter().map(&value).collect::<Vec<_>>();
        ScoreMatrix { before: self.before.as_ref().map(row), after: self.after.iter().map(row).collect() }
    }
}

fn validate_row(
    index: usize,
    global_step: u64,
    mut cells: BTreeMap<String, MatrixCellFile>,
    domains: &[String],
) -> std::result::Result<EvalRow, String> {
    let mut ordered = Vec::with_capacity(domains.len());
    for domain in domains {
        let cell = cells.remove(domain).ok_or_else(|| {
            format!("row {index} has no cell for domain {domain:?}; every row evaluates every domain")
        })?;
        ordered.push(validate_cell(cell).map_err(|m| format!("row {index}, domain {domain:?}: {m}"))?);
    }
    if let Some(extra) = cells.keys().next() {
        return Err(format!("row {index} has a cell for {extra:?}, which is not in `domains`"));
    }
    Ok(EvalRow { global_step, cells: ordered })
}

fn validate_cell(cell: MatrixCellFile) -> std::result::Result<Cell, String> {
    if !(0.0..=1.0).contains(&cell.success) {
        return Err(format!("success {} is outside [0, 1]", cell.success));
    }
    if !cell.mean_reward.is_finite() {
        return Err("mean_reward is not a finite number".into());
    }
    if cell.trials == 0 {
        return Err("trials is 0; every task needs at least one trial".into());
    }
    let Some(per_task) = cell.per_task else {
        if cell.rewards.is_some() {
            return Err("`rewards` is given without `per_task`".into());
        }
        return Ok(Cell { success: cell.success, mean_reward: cell.mean_reward, trials: cell.trials, tasks: None });
    };
    if per_task.is_empty() {
        return Err("`per_task` is empty; omit it or list the evaluated tasks".into());
    }
    let mut rewards = cell.rewards;
    if let Some(id) = rewards.as_ref().and_then(|r| r.keys().find(|id| !per_task.contains_key(*id))) {
        return Err(format!("`rewards` has task {id:?} which `per_task` lacks"));
    }
    let mut tasks = Vec::with_capacity(per_task.len());
    for (id, outcomes) in per_task {
        if outcomes.len() != cell.trials {
            return Err(format!("task {id:?} has {} outcomes but trials = {}", outcomes.len(), cell.trials));
        }
        let outcomes = outcomes
            .iter()
            .map(|&o| {
                if o == 0.0 || o == 1.0 {
                    Ok(o == 1.0)
                } else {
                    Err(format!("task {id:?} has outcome {o}; outcomes are 0 or 1"))
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let task_rewards = match rewards.as_mut() {
            None => None,
            Some(map) => {
                let r = map.remove(&id).ok_or_else(|| format!("`rewards` lacks task {id:?} of `per_task`"))?;
                if r.len() != cell.trials {
                    return Err(format!("task {id:?} has {} rewards but trials = {}", r.len(), cell.trials));
                }
                if r.iter().any(|v| !v.is_finite()) {
                    return Err(format!("task {id:?} has a non-finite reward"));
                }
                Some(r)
            }
        };
        tasks.push(TaskTrials { id, outcomes, rewards: task_rewards });
    }
    let recomputed = mean(tasks.iter().map(|t| success_rate(&t.outcomes)));
    if (recomputed - cell.success).abs() > CONSISTENCY_TOLERANCE {
        return Err(format!(
            "success {} disagrees with its per-task outcomes, whose mean of per-task rates is {recomputed}",
            cell.success
        ));
    }
    if tasks.iter().all(|t| t.rewards.is_some()) {
        let recomputed = mean(tasks.iter().filter_map(|t| t.rewards.as_deref()).map(|r| mean(r.iter().copied())));
        if (recomputed - cell.mean_reward).abs() > CONSISTENCY_TOLERANCE {
            return Err(format!(
                "mean_reward {} disagrees with its per-task rewards, whose mean of per-task means is {recomputed}",
                cell.mean_reward
            ));
        }
    }
    Ok(Cell { success: cell.success, mean_reward: cell.mean_reward, trials: cell.trials, tasks: Some(tasks) })
}

/// Fraction of successful trials.
pub(crate) fn success_rate(outcomes: &[bool]) -> f64 {
    outcomes.iter().filter(|&&ok| ok).count() as f64 / outcomes.len() as f64
}
