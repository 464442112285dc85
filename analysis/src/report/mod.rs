//! `retain report`: reads run directories, computes every figure, and writes `report.md`, a self-contained
//! `report.html`, the plots (PNG + SVG) and CSV / JSON exports into one output directory.
//!
//! Layout of the output directory:
//! ```text
//! report.md  report.html  report.json
//! plots/acc_curve.{png,svg}  plots/transfer.{png,svg}  plots/forgetting.{png,svg}
//! plots/<run>/matrix.{png,svg}  plots/<run>/success.{png,svg}  plots/<run>/training.{png,svg}
//! data/comparison.{csv,json}
//! data/<run>/matrix_success.csv  matrix_reward.csv  matrix_cells.csv  per_update.csv  per_domain.csv
//!            pass_k.csv  analysis.json
//! ```
//! Nothing in `report.md` depends on the time or on absolute paths, so the same runs give the same report.

mod content;
pub mod doc;
pub mod export;
pub mod format;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::RunAnalysis;
use crate::bootstrap::BootstrapConfig;
use crate::compare::{ComparisonRow, comparison_rows};
use crate::error::{AnalysisError, Result};
use crate::run::Run;

/// What `retain report` was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Output directory (created if needed; files of a previous report there are overwritten).
    pub out_dir: PathBuf,
    /// Bootstrap settings for every interval.
    pub bootstrap: BootstrapConfig,
    /// Joint-training run whose last row is the reference `R*` for intransigence.
    pub joint: Option<PathBuf>,
}

/// What was written, for the command to print.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOutput {
    /// The output directory.
    pub dir: PathBuf,
    /// `report.md`.
    pub markdown: PathBuf,
    /// `report.html`.
    pub html: PathBuf,
    /// One line per run: its headline figures.
    pub summary: Vec<String>,
}

/// The default output directory: `<run>/report` for one run, `<parent of the first run>/report-<a>-vs-<b>…`
/// for several.
pub fn default_out_dir(run_dirs: &[PathBuf]) -> PathBuf {
    match run_dirs {
        [single] => single.join("report"),
        _ => {
            let names: Vec<String> = run_dirs
                .iter()
                .map(|d| file_stem(&d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()))
                .collect();
            let mut name = format!("report-{}", names.join("-vs-"));
            if name.len() > 80 {
                name = format!("report-{}-runs", run_dirs.len());
            }
            let parent = run_dirs.first().and_then(|d| d.parent()).map(Path::to_path_buf).unwrap_or_default();
            parent.join(name)
        }
    }
}

/// Everything `report.json` holds.
#[derive(Debug, Serialize)]
struct ReportJson<'a> {
    bootstrap: &'a BootstrapConfig,
    comparison: &'a [ComparisonRow],
    runs: &'a [RunAnalysis],
    reference: Option<&'a RunAnalysis>,
}

/// Reads the runs, computes every figure and writes the report.
pub fn write_report(run_dirs: &[PathBuf], options: &ReportOptions) -> Result<ReportOutput> {
    if run_dirs.is_empty() {
        return Err(AnalysisError::Incompatible(
            "no run directory given; pass one or more runs/<name> directories".into(),
        ));
    }
    let mut runs = run_dirs.iter().map(|d| Run::load(d)).collect::<Result<Vec<_>>>()?;
    let mut reference = options.joint.as_deref().map(Run::load).transpose()?;
    make_names_unique(&mut runs, reference.as_mut());

    let analyses = runs
        .iter()
        .map(|run| RunAnalysis::compute(run, reference.as_ref(), &options.bootstrap))
        .collect::<Result<Vec<_>>>()?;
    let reference_analysis =
        reference.as_ref().map(|r| RunAnalysis::compute(r, None, &options.bootstrap)).transpose()?;
    let comparison = comparison_rows(&analyses, reference_analysis.as_ref());

    let out = &options.out_dir;
    let data = out.join("data");
    std::fs::create_dir_all(&data).map_err(|e| AnalysisError::io(&data, e))?;
    let all: Vec<(&Run, &RunAnalysis)> =
        runs.iter().zip(&analyses).chain(reference.iter().zip(reference_analysis.iter())).collect();
    for (run, analysis) in &all {
        export::write_run_exports(analysis, &data.join(file_stem(&run.name)))?;
    }
    content::comparison_csv(&comparison).write(&data.join("comparison.csv"))?;
    export::write_json(&data.join("comparison.json"), &comparison)?;
    export::write_json(
        &out.join("report.json"),
        &ReportJson {
            bootstrap: &options.bootstrap,
            comparison: &comparison,
            runs: &analyses,
            reference: reference_analysis.as_ref(),
        },
    )?;

    let document = content::build(
        &content::Inputs {
            runs: &all,
            reference: reference_analysis.as_ref(),
            comparison: &comparison,
            bootstrap: &options.bootstrap,
        },
        out,
    )?;
    let markdown = out.join("report.md");
    std::fs::write(&markdown, doc::to_markdown(&document)).map_err(|e| AnalysisError::io(&markdown, e))?;
    let html = out.join("report.html");
    std::fs::write(&html, doc::to_html(&document, "retain report")).map_err(|e| AnalysisError::io(&html, e))?;

    Ok(ReportOutput { dir: out.clone(), markdown, html, summary: analyses.iter().map(content::summary_line).collect() })
}

/// Gives every run a distinct name (and so a distinct file stem): a repeated name gets `-2`, `-3`, ….
fn make_names_unique(runs: &mut [Run], reference: Option<&mut Run>) {
    let mut taken = BTreeSet::new();
    for run in runs.iter_mut().chain(reference) {
        let base = run.name.clone();
        let mut candidate = base.clone();
        let mut n = 2;
        while !taken.insert(file_stem(&candidate)) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        run.name = candidate;
    }
}

/// A run name made safe as a file or directory name.
pub(crate) fn file_stem(name: &str) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    if stem.is_empty() || stem.starts_with('.') { format!("run{stem}") } else { stem }
}
