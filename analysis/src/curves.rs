//! Time series over the global step pulled from `metrics.jsonl` (and `matrix.json` as a fallback), for plots.

use crate::metrics_log::{EventKind, keys};
use crate::run::Run;

/// One named line of `(global_step, value)` points, sorted by step.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points sorted by x.
    pub points: Vec<(f64, f64)>,
}

/// Where each domain's training started and ended on the global-step axis.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainSpan {
    /// Domain name.
    pub domain: String,
    /// First global step of the domain.
    pub start: f64,
    /// Global step at its end.
    pub end: f64,
}

/// Success on each domain across the run, one series per domain in task order: every `eval` line's
/// `eval/<domain>/success`; a run whose log has no evaluation lines falls back to its matrix rows.
pub fn success_series(run: &Run) -> Vec<Series> {
    let from_log: Vec<Series> = run
        .matrix
        .domains
        .iter()
        .map(|d| Series {
            name: d.clone(),
            points: sorted(
                run.log
                    .of_kind(EventKind::Eval)
                    .filter_map(|e| e.value(&keys::eval_success(d)).map(|v| (e.global_step as f64, v)))
                    .collect(),
            ),
        })
        .collect();
    if from_log.iter().any(|s| !s.points.is_empty()) {
        return from_log;
    }
    run.matrix
        .domains
        .iter()
        .enumerate()
        .map(|(j, d)| Series {
            name: d.clone(),
            points: run.matrix.rows().map(|row| (row.global_step as f64, row.cells[j].success)).collect(),
        })
        .collect()
}

/// One training metric (`reward`, `kl`, `entropy`, …) across `train_step` lines.
pub fn train_series(run: &Run, key: &str) -> Series {
    Series {
        name: key.to_owned(),
        points: sorted(
            run.log
                .of_kind(EventKind::TrainStep)
                .filter_map(|e| e.value(key).map(|v| (e.global_step as f64, v)))
                .collect(),
        ),
    }
}

/// The span of every domain that has training lines or a `domain_end` line, in task order.
pub fn domain_spans(run: &Run) -> Vec<DomainSpan> {
    let mut spans: Vec<DomainSpan> = Vec::new();
    for (index, domain) in run.matrix.domains.iter().enumerate() {
        let steps: Vec<f64> = run
            .log
            .events
            .iter()
            .filter(|e| e.domain_index == Some(index) && matches!(e.kind, EventKind::TrainStep | EventKind::DomainEnd))
            .map(|e| e.global_step as f64)
            .collect();
        let matrix_end = run.matrix.after.get(index).map(|row| row.global_step as f64);
        let end = steps.iter().copied().fold(matrix_end, |acc, s| Some(acc.map_or(s, |a| a.max(s))));
        let Some(end) = end else { continue };
        let start = spans.last().map_or(0.0, |s| s.end);
        spans.push(DomainSpan { domain: domain.clone(), start, end });
    }
    spans
}

fn sorted(mut points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}
