//! The comparison of several runs in one table (cl.md §5.3): method, ACC, LA, BWT, F, FWT with intervals, and
//! what each method cost (wall time, memory, buffer).

use serde::Serialize;

use crate::analysis::RunAnalysis;
use crate::figure::Figure;

/// One row of the comparison table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonRow {
    /// Run name.
    pub run: String,
    /// Method label.
    pub method: String,
    /// Whether this row is the joint-training reference rather than a compared run.
    pub reference: bool,
    /// Domains trained.
    pub trained: usize,
    /// Domains in the task order.
    pub domains: usize,
    /// Whether the run finished.
    pub finished: bool,
    /// `ACC_T`.
    pub acc: Figure,
    /// Learning accuracy.
    pub la: Figure,
    /// Backward transfer.
    pub bwt: Figure,
    /// Forgetting.
    pub forgetting: Figure,
    /// Relative forgetting.
    pub relative_forgetting: Figure,
    /// Forward transfer.
    pub fwt: Figure,
    /// Intransigence.
    pub intransigence: Figure,
    /// Wall-clock seconds.
    pub wall_time_s: Option<f64>,
    /// Peak resident memory.
    pub peak_rss_bytes: Option<f64>,
    /// Memory held by strategies.
    pub extra_memory_bytes: Option<f64>,
    /// Trajectory-buffer bytes.
    pub buffer_bytes: Option<f64>,
    /// Trajectories in the buffer.
    pub buffer_items: Option<f64>,
}

impl ComparisonRow {
    /// The row of one analysed run.
    pub fn of(analysis: &RunAnalysis, reference: bool) -> Self {
        let s = &analysis.summary;
        let r = &analysis.resources;
        Self {
            run: analysis.name.clone(),
            method: analysis.method.clone(),
            reference,
            trained: analysis.trained,
            domains: analysis.domains.len(),
            finished: r.finished,
            acc: s.acc,
            la: s.la,
            bwt: s.bwt,
            forgetting: s.forgetting,
            relative_forgetting: s.relative_forgetting,
            fwt: s.fwt,
            intransigence: s.intransigence,
            wall_time_s: r.wall_time_s,
            peak_rss_bytes: r.peak_rss_bytes,
            extra_memory_bytes: r.extra_memory_bytes,
            buffer_bytes: r.buffer_bytes,
            buffer_items: r.buffer_items,
        }
    }
}

/// The rows of the compared runs, then the reference (if any), in the order given.
pub fn comparison_rows(runs: &[RunAnalysis], reference: Option<&RunAnalysis>) -> Vec<ComparisonRow> {
    runs.iter().map(|a| ComparisonRow::of(a, false)).chain(reference.map(|a| ComparisonRow::of(a, true))).collect()
}
