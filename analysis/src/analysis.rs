//! Every figure of one run, with intervals: the summary row of the comparison, the per-update table, the
//! per-domain table and `pass^k` — computed once, then rendered as tables, plots and exports.

use serde::Serialize;

use crate::bootstrap::{
    BootstrapConfig, Replicates, STREAM_MATRIX, STREAM_PASS_K, STREAM_REFERENCE, figure_with_interval, pass_k_figure,
};
use crate::cl_metrics::{ScoreMatrix, Unavailable};
use crate::error::{AnalysisError, Result};
use crate::figure::{Figure, Interval};
use crate::metrics_log::keys;
use crate::run::Run;

/// The comparison-table figures of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// `ACC_T`.
    pub acc: Figure,
    /// Learning accuracy.
    pub la: Figure,
    /// Backward transfer.
    pub bwt: Figure,
    /// Average (max-based) forgetting.
    pub forgetting: Figure,
    /// Average relative forgetting.
    pub relative_forgetting: Figure,
    /// Forward transfer.
    pub fwt: Figure,
    /// Average intransigence against the joint-training reference.
    pub intransigence: Figure,
}

/// Figures as they stood after `t` domains (Renate's per-update table).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateRow {
    /// Number of domains trained.
    pub t: usize,
    /// The domain just trained.
    pub domain: String,
    /// `ACC_t`.
    pub acc: Figure,
    /// Learning accuracy over the first `t` domains.
    pub la: Figure,
    /// BWT over the first `t` domains.
    pub bwt: Figure,
    /// Forgetting over the first `t − 1` domains.
    pub forgetting: Figure,
    /// FWT over domains `2..=t`.
    pub fwt: Figure,
}

/// Figures of one domain `i` at the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainRow {
    /// Domain name.
    pub domain: String,
    /// Before any training, `R[0][i]`.
    pub before: Figure,
    /// Right after training it, `R[i][i]`.
    pub learned: Figure,
    /// At the end, `R[T][i]`.
    pub last: Figure,
    /// `f_i` (defined for `i < T`).
    pub forgetting: Figure,
    /// `f_i / max_l R[l][i]`.
    pub relative_forgetting: Figure,
    /// Zero-shot transfer to it, `R[i−1][i] − R[0][i]` (defined for `i ≥ 2` with row 0).
    pub forward_transfer: Figure,
    /// `I_i = R*_i − R[i][i]`.
    pub intransigence: Figure,
}

/// `pass^k` of one cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassKRow {
    /// Matrix row (0 = before training).
    pub row: usize,
    /// Domain name.
    pub domain: String,
    /// `k`.
    pub k: usize,
    /// `pass^k`.
    pub value: Figure,
}

/// Cost figures of the run, from its `run_end` line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resources {
    /// Whether the run finished every domain and wrote `run_end`.
    pub finished: bool,
    /// Wall-clock seconds (last logged time when unfinished).
    pub wall_time_s: Option<f64>,
    /// Peak resident memory.
    pub peak_rss_bytes: Option<f64>,
    /// Memory held by CL strategies beyond model and optimizer.
    pub extra_memory_bytes: Option<f64>,
    /// Compressed trajectory-buffer size.
    pub buffer_bytes: Option<f64>,
    /// Trajectories in the buffers.
    pub buffer_items: Option<f64>,
}

/// Everything the report shows about one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunAnalysis {
    /// Run name (unique within a report).
    pub name: String,
    /// Method label from the config.
    pub method: String,
    /// Task order.
    pub domains: Vec<String>,
    /// Domains trained so far.
    pub trained: usize,
    /// Success-rate matrix.
    #[serde(skip)]
    pub success: ScoreMatrix,
    /// Mean-reward matrix.
    #[serde(skip)]
    pub reward: ScoreMatrix,
    /// Success of every cell with its interval; rows as in the matrix (row 0 first when present).
    pub success_cells: Vec<Vec<Figure>>,
    /// Whether `success_cells` starts with row 0.
    pub has_row0: bool,
    /// Comparison-table figures.
    pub summary: Summary,
    /// Figures after each domain.
    pub per_update: Vec<UpdateRow>,
    /// Figures per domain at the end.
    pub per_domain: Vec<DomainRow>,
    /// `pass^k` for every row, domain and `k` up to the trials per task.
    pub pass_k: Vec<PassKRow>,
    /// Cost figures.
    pub resources: Resources,
    /// Why intervals are missing, if they are.
    pub intervals_note: Option<String>,
}

impl RunAnalysis {
    /// Computes every figure of `run`; `reference` is a joint-training run whose last row gives `R*` for
    /// intransigence (matched by domain name).
    pub fn compute(run: &Run, reference: Option<&Run>, config: &BootstrapConfig) -> Result<Self> {
        let matrix = &run.matrix;
        let success = matrix.success();
        let replicates = Replicates::draw(matrix, config, STREAM_MATRIX);
        let intervals_note = match (&replicates, config.replicates) {
            (Some(_), _) => None,
            (None, 0) => Some("intervals turned off (0 bootstrap replicates)".to_owned()),
            (None, _) => Some("no intervals: matrix.json holds no per-task trial outcomes".to_owned()),
        };
        let reference_rows = reference.map(|r| reference_scores(run, r, config)).transpose()?;
        let ctx = Ctx {
            point: &success,
            replicates: replicates.as_ref(),
            reference: reference_rows.as_ref(),
            confidence: config.confidence,
        };

        let t_total = success.trained();
        let summary = Summary {
            acc: ctx.figure(|m, _| m.final_acc()),
            la: ctx.figure(|m, _| m.learning_accuracy()),
            bwt: ctx.figure(|m, _| m.bwt()),
            forgetting: ctx.figure(|m, _| m.forgetting()),
            relative_forgetting: ctx.figure(|m, _| m.relative_forgetting()),
            fwt: ctx.figure(|m, _| m.fwt()),
            intransigence: ctx.figure(|m, r| m.intransigence(r.ok_or(Unavailable::NoReference)?)),
        };
        let per_update = (1..=t_total)
            .map(|t| UpdateRow {
                t,
                domain: matrix.domains[t - 1].clone(),
                acc: ctx.figure(|m, _| m.acc(t)),
                la: ctx.figure(|m, _| m.through(t).learning_accuracy()),
                bwt: ctx.figure(|m, _| m.through(t).bwt()),
                forgetting: ctx.figure(|m, _| m.through(t).forgetting()),
                fwt: ctx.figure(|m, _| m.through(t).fwt()),
            })
            .collect();
        let per_domain = (1..=t_total)
            .map(|i| DomainRow {
                domain: matrix.domains[i - 1].clone(),
                before: ctx.figure(|m, _| m.before.as_ref().map(|b| b[i - 1]).ok_or(Unavailable::NoRowZero)),
                learned: ctx.figure(|m, _| Ok(m.after[i - 1][i - 1])),
                last: ctx.figure(|m, _| Ok(m.after[m.trained() - 1][i - 1])),
                forgetting: ctx.figure(|m, _| m.forgetting_of(i)),
                relative_forgetting: ctx.figure(|m, _| m.relative_forgetting_of(i)),
                forward_transfer: ctx.figure(|m, _| forward_transfer_of(m, i)),
                intransigence: ctx.figure(|m, r| m.intransigence_of(i, r.ok_or(Unavailable::NoReference)?)),
            })
            .collect();

        let mut success_cells = Vec::new();
        let rows_len = matrix.rows().count();
        for r in 0..rows_len {
            let cells = (0..matrix.domains.len()).map(|j| ctx.figure(|m, _| Ok(row_of(m, r)[j]))).collect();
            success_cells.push(cells);
        }

        let row_offset = usize::from(matrix.before.is_none());
        let mut pass_k = Vec::new();
        for (r, row) in matrix.rows().enumerate() {
            for (j, cell) in row.cells.iter().enumerate() {
                let Some(tasks) = &cell.tasks else { continue };
                for k in 1..=cell.trials {
                    let stream = STREAM_PASS_K + ((r * matrix.domains.len() + j) as u64) * 1024 + k as u64;
                    pass_k.push(PassKRow {
                        row: r + row_offset,
                        domain: matrix.domains[j].clone(),
                        k,
                        value: pass_k_figure(tasks, k, config, stream),
                    });
                }
            }
        }

        Ok(Self {
            name: run.name.clone(),
            method: run.info.method_label(),
            domains: matrix.domains.clone(),
            trained: t_total,
            reward: matrix.reward(),
            success,
            success_cells,
            has_row0: matrix.before.is_some(),
            summary,
            per_update,
            per_domain,
            pass_k,
            resources: Resources {
                finished: run.finished(),
                wall_time_s: run.wall_time_s(),
                peak_rss_bytes: run.peak_rss_bytes(),
                extra_memory_bytes: run.run_end_value(keys::EXTRA_MEMORY_BYTES),
                buffer_bytes: run.run_end_value(keys::BUFFER_BYTES),
                buffer_items: run.run_end_value(keys::BUFFER_ITEMS),
            },
            intervals_note,
        })
    }

    /// Label of matrix row `r` as the report prints it.
    pub fn row_label(&self, r: usize) -> String {
        if r == 0 { "before training".to_owned() } else { format!("after {}", self.domains[r - 1]) }
    }

    /// The interval of success cell (row `r` counted as in the matrix, 0 = before training), if any.
    pub fn cell_interval(&self, r: usize, j: usize) -> Option<Interval> {
        let index = if self.has_row0 { r } else { r.checked_sub(1)? };
        self.success_cells.get(index)?.get(j)?.interval()
    }
}

/// `R[i−1][i] − R[0][i]`: what training on the earlier domains did for domain `i` before it was trained.
fn forward_transfer_of(m: &ScoreMatrix, i: usize) -> std::result::Result<f64, Unavailable> {
    if i < 2 || i > m.trained() {
        return Err(Unavailable::NeedsTwoDomains);
    }
    let before = m.before.as_ref().ok_or(Unavailable::NoRowZero)?;
    Ok(m.after[i - 2][i - 1] - before[i - 1])
}

/// Row `r` of the stored order (row 0 first when present).
fn row_of(m: &ScoreMatrix, r: usize) -> &[f64] {
    match &m.before {
        Some(before) if r == 0 => before,
        Some(_) => &m.after[r - 1],
        None => &m.after[r],
    }
}

/// The reference's last row re-ordered to `run`'s domains, with its replicates.
struct ReferenceRows {
    point: Vec<f64>,
    replicates: Option<Vec<Vec<f64>>>,
}

fn reference_scores(run: &Run, reference: &Run, config: &BootstrapConfig) -> Result<ReferenceRows> {
    let positions = run
        .matrix
        .domains
        .iter()
        .map(|d| {
            reference.matrix.domains.iter().position(|rd| rd == d).ok_or_else(|| {
                AnalysisError::Incompatible(format!(
                    "joint-training reference {:?} did not evaluate domain {d:?} of run {:?}",
                    reference.name, run.name
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let last = reference.matrix.last_row().ok_or_else(|| {
        AnalysisError::Incompatible(format!("joint-training reference {:?} has no evaluation row", reference.name))
    })?;
    let pick = |row: &[f64]| positions.iter().map(|&p| row[p]).collect::<Vec<_>>();
    let point = pick(&last.cells.iter().map(|c| c.success).collect::<Vec<_>>());
    let replicates = Replicates::draw(&reference.matrix, config, STREAM_REFERENCE)
        .map(|reps| reps.last_rows().iter().map(|row| pick(row)).collect());
    Ok(ReferenceRows { point, replicates })
}

/// Shared inputs of every figure: the replicates and the reference.
struct Ctx<'a> {
    point: &'a ScoreMatrix,
    replicates: Option<&'a Replicates>,
    reference: Option<&'a ReferenceRows>,
    confidence: f64,
}

impl Ctx<'_> {
    fn figure(
        &self,
        formula: impl Fn(&ScoreMatrix, Option<&[f64]>) -> std::result::Result<f64, Unavailable>,
    ) -> Figure {
        let point = formula(self.point, self.reference.map(|r| r.point.as_slice()));
        let replicate_values = self.replicates.map(|reps| {
            reps.matrices
                .iter()
                .enumerate()
                .map(|(n, m)| {
                    // A reference without trials lends its point row to every replicate.
                    let reference = self
                        .reference
                        .map(|r| r.replicates.as_ref().and_then(|reps| reps.get(n)).unwrap_or(&r.point).as_slice());
                    formula(m, reference)
                })
                .collect()
        });
        figure_with_interval(point, replicate_values, self.confidence)
    }
}
