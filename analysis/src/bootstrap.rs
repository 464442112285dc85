//! Seeded bootstrap over tasks and trials: resampled accuracy matrices from which every figure gets an interval,
//! so a reader can tell forgetting from evaluation noise.
//!
//! Each replicate draws, per domain, the evaluated tasks with replacement — the same draw for every row when every
//! row evaluated the same task ids, so differences between rows (forgetting, BWT) are paired — and then, per row
//! and drawn task, that task's trials with replacement. A cell is the mean over drawn tasks of the resampled
//! success rates, exactly as the stored success is the mean over tasks of per-task rates.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::cl_metrics::{ScoreMatrix, Unavailable};
use crate::figure::{Figure, Interval};
use crate::matrix::{AccuracyMatrix, EvalRow, TaskTrials};
use crate::pass_k::pass_hat_k;

/// RNG stream of a run's matrix replicates.
pub(crate) const STREAM_MATRIX: u64 = 0;
/// RNG stream of the joint-training reference's replicates.
pub(crate) const STREAM_REFERENCE: u64 = 1;
/// First RNG stream of `pass^k` replicates (one stream per row, domain and k).
pub(crate) const STREAM_PASS_K: u64 = 1 << 32;

/// How intervals are computed; recorded in every report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapConfig {
    /// Number of resampled matrices (0 turns intervals off).
    pub replicates: usize,
    /// Seed of the ChaCha8 generator; the same seed gives the same intervals.
    pub seed: u64,
    /// Coverage of the percentile interval, e.g. 0.95.
    pub confidence: f64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self { replicates: 1000, seed: 0, confidence: 0.95 }
    }
}

/// Resampled success matrices of one run (all the same shape as its stored matrix).
#[derive(Debug, Clone, PartialEq)]
pub struct Replicates {
    /// One matrix per replicate.
    pub matrices: Vec<ScoreMatrix>,
}

impl Replicates {
    /// Draws `config.replicates` matrices on RNG stream `stream`; `None` when some cell lacks per-task outcomes or
    /// no replicates were asked for.
    pub fn draw(matrix: &AccuracyMatrix, config: &BootstrapConfig, stream: u64) -> Option<Self> {
        if config.replicates == 0 || !matrix.has_trials() {
            return None;
        }
        let mut rng = rng_for(config.seed, stream);
        let rows: Vec<&EvalRow> = matrix.rows().collect();
        let domains = matrix.domains.len();
        // Per domain: the task list of every row, and whether all rows share the same task ids.
        let columns: Vec<(Vec<&[TaskTrials]>, bool)> = (0..domains)
            .map(|j| {
                let per_row: Vec<&[TaskTrials]> =
                    rows.iter().map(|r| r.cells[j].tasks.as_deref().unwrap_or(&[])).collect();
                let paired = per_row.windows(2).all(|w| same_ids(w[0], w[1]));
                (per_row, paired)
            })
            .collect();
        let mut matrices = Vec::with_capacity(config.replicates);
        for _ in 0..config.replicates {
            let mut values = vec![vec![0.0; domains]; rows.len()];
            for (j, (per_row, paired)) in columns.iter().enumerate() {
                let shared =
                    if *paired { Some(draw_indices(&mut rng, per_row.first().map_or(0, |t| t.len()))) } else { None };
                for (r, tasks) in per_row.iter().enumerate() {
                    let own;
                    let indices = match &shared {
                        Some(idx) => idx,
                        None => {
                            own = draw_indices(&mut rng, tasks.len());
                            &own
                        }
                    };
                    let total: f64 = indices.iter().map(|&t| resampled_rate(&mut rng, &tasks[t].outcomes)).sum();
                    values[r][j] = total / indices.len() as f64;
                }
            }
            let mut values = values.into_iter();
            let before = if matrix.before.is_some() { values.next() } else { None };
            matrices.push(ScoreMatrix { before, after: values.collect() });
        }
        Some(Self { matrices })
    }

    /// The last row of every replicate (the joint-training reference `R*`).
    pub fn last_rows(&self) -> Vec<Vec<f64>> {
        self.matrices.iter().filter_map(|m| m.after.last().or(m.before.as_ref()).cloned()).collect()
    }
}

/// A figure from its point estimate and, when replicates exist, the percentile interval of the same formula
/// applied to each replicate. Replicates where the formula is undefined are skipped; with fewer than half left
/// the interval is withheld.
pub fn figure_with_interval(
    point: Result<f64, Unavailable>,
    replicate_values: Option<Vec<Result<f64, Unavailable>>>,
    confidence: f64,
) -> Figure {
    let value = match point {
        Ok(v) => v,
        Err(reason) => return Figure::Unavailable(reason),
    };
    let interval = replicate_values.and_then(|values| {
        let total = values.len();
        let mut ok: Vec<f64> = values.into_iter().filter_map(Result::ok).collect();
        if ok.is_empty() || ok.len() * 2 < total {
            return None;
        }
        Some(percentile_interval(&mut ok, confidence))
    });
    Figure::Value { value, interval }
}

/// The central `confidence` percentile interval of `values` (linear interpolation between order statistics).
pub fn percentile_interval(values: &mut [f64], confidence: f64) -> Interval {
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    Interval { low: quantile(values, tail), high: quantile(values, 1.0 - tail) }
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// `pass^k` of one cell with an interval from resampling its tasks (not its trials: drawing trials with
/// replacement would duplicate successes and inflate `pass^k`).
pub fn pass_k_figure(tasks: &[TaskTrials], k: usize, config: &BootstrapConfig, stream: u64) -> Figure {
    let outcomes: Vec<&[bool]> = tasks.iter().map(|t| t.outcomes.as_slice()).collect();
    let point = pass_hat_k(outcomes.iter().copied(), k);
    let replicate_values = (config.replicates > 0 && point.is_ok()).then(|| {
        let mut rng = rng_for(config.seed, stream);
        (0..config.replicates)
            .map(|_| {
                let drawn = draw_indices(&mut rng, outcomes.len());
                pass_hat_k(drawn.iter().map(|&i| outcomes[i]), k)
            })
            .collect()
    });
    figure_with_interval(point, replicate_values, config.confidence)
}

fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

fn draw_indices(rng: &mut ChaCha8Rng, n: usize) -> Vec<usize> {
    (0..n).map(|_| rng.random_range(0..n)).collect()
}

fn resampled_rate(rng: &mut ChaCha8Rng, outcomes: &[bool]) -> f64 {
    let n = outcomes.len();
    let successes = (0..n).filter(|_| outcomes[rng.random_range(0..n)]).count();
    successes as f64 / n as f64
}

fn same_ids(a: &[TaskTrials], b: &[TaskTrials]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.id == y.id)
}
