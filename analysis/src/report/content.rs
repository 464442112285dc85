//! What the report says, in reading order: the comparison first, the definitions, then each run in detail.
//! Plots are drawn here as they are placed.

use std::path::Path;

use super::doc::{Block, Document};
use super::export::{Csv, figure_cells, figure_header, num};
use super::file_stem;
use super::format::{bytes, count, duration};
use crate::analysis::RunAnalysis;
use crate::bootstrap::BootstrapConfig;
use crate::compare::ComparisonRow;
use crate::curves::{domain_spans, success_series, train_series};
use crate::error::Result;
use crate::figure::{Figure, fmt3};
use crate::metrics_log::keys;
use crate::plots::{AccCurves, Chart, GroupedBars, MatrixHeatmap, SuccessCurves, TrainingCurves, write_chart};
use crate::run::Run;

/// Everything the report is built from.
pub(super) struct Inputs<'a> {
    /// Compared runs, then the reference, each with its analysis.
    pub runs: &'a [(&'a Run, &'a RunAnalysis)],
    /// The joint-training reference's analysis.
    pub reference: Option<&'a RunAnalysis>,
    /// Comparison rows.
    pub comparison: &'a [ComparisonRow],
    /// Bootstrap settings.
    pub bootstrap: &'a BootstrapConfig,
}

/// Builds the document and writes its plots under `out/plots`.
pub(super) fn build(inputs: &Inputs<'_>, out: &Path) -> Result<Document> {
    let mut doc = Document::default();
    let names: Vec<String> = inputs.runs.iter().map(|(r, _)| format!("`{}`", r.name)).collect();
    doc.heading(1, "retain report");
    doc.paragraph(format!("Runs: {}. {}", names.join(", "), interval_sentence(inputs.bootstrap)));

    doc.heading(2, "Comparison");
    doc.table(comparison_header(), inputs.comparison.iter().map(comparison_cells).collect());
    if let Some(reference) = inputs.reference {
        doc.paragraph(format!(
            "Intransigence I is measured against the joint-training reference `{}` (its last evaluation is R*).",
            reference.name
        ));
    }
    let compared: Vec<&RunAnalysis> =
        inputs.runs.iter().map(|(_, a)| *a).filter(|a| inputs.reference.is_none_or(|r| r.name != a.name)).collect();
    let plots = out.join("plots");
    plot(&mut doc, &acc_chart(&compared), &plots, "acc_curve", out)?;
    plot(&mut doc, &transfer_chart(&compared), &plots, "transfer", out)?;
    plot(&mut doc, &forgetting_chart(&compared), &plots, "forgetting", out)?;

    doc.heading(2, "Definitions");
    doc.bullets(definitions());

    for (run, analysis) in inputs.runs {
        run_section(&mut doc, run, analysis, &plots.join(file_stem(&run.name)), out)?;
    }
    Ok(doc)
}

fn interval_sentence(config: &BootstrapConfig) -> String {
    if config.replicates == 0 {
        return "Intervals are turned off.".to_owned();
    }
    format!(
        "Brackets give the {:.0}% bootstrap percentile interval ({} replicates resampling tasks and trials, seed \
         {}); a difference whose interval includes 0 cannot be told from evaluation noise.",
        config.confidence * 100.0,
        config.replicates,
        config.seed
    )
}

fn comparison_header() -> Vec<String> {
    [
        "run",
        "method",
        "domains",
        "ACC",
        "LA",
        "BWT",
        "F",
        "F rel",
        "FWT",
        "I",
        "wall time",
        "peak RSS",
        "extra memory",
        "buffer",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn comparison_cells(row: &ComparisonRow) -> Vec<String> {
    let run = if row.reference { format!("{} (joint reference)", row.run) } else { row.run.clone() };
    let status = if row.finished { "" } else { " (unfinished)" };
    let buffer = match (row.buffer_items, row.buffer_bytes) {
        (Some(items), b) => format!("{} items, {}", count(Some(items)), bytes(b)),
        (None, b) => bytes(b),
    };
    vec![
        run,
        row.method.clone(),
        format!("{}/{}{status}", row.trained, row.domains),
        row.acc.display(),
        row.la.display(),
        row.bwt.display(),
        row.forgetting.display(),
        row.relative_forgetting.display(),
        row.fwt.display(),
        row.intransigence.display(),
        duration(row.wall_time_s),
        bytes(row.peak_rss_bytes),
        bytes(row.extra_memory_bytes),
        buffer,
    ]
}

/// The comparison table as CSV, every figure as value / low / high.
pub(super) fn comparison_csv(rows: &[ComparisonRow]) -> Csv {
    let mut header: Vec<String> =
        ["run", "method", "reference", "trained", "domains", "finished"].map(str::to_owned).to_vec();
    for name in ["acc", "la", "bwt", "forgetting", "relative_forgetting", "fwt", "intransigence"] {
        header.extend(figure_header(name));
    }
    header.extend(
        ["wall_time_s", "peak_rss_bytes", "extra_memory_bytes", "buffer_bytes", "buffer_items"].map(str::to_owned),
    );
    let mut csv = Csv::new(&header);
    for r in rows {
        let mut cells = vec![
            r.run.clone(),
            r.method.clone(),
            r.reference.to_string(),
            r.trained.to_string(),
            r.domains.to_string(),
            r.finished.to_string(),
        ];
        for f in [&r.acc, &r.la, &r.bwt, &r.forgetting, &r.relative_forgetting, &r.fwt, &r.intransigence] {
            cells.extend(figure_cells(f));
        }
        for v in [r.wall_time_s, r.peak_rss_bytes, r.extra_memory_bytes, r.buffer_bytes, r.buffer_items] {
            cells.push(num(v));
        }
        csv.row(&cells);
    }
    csv
}

fn definitions() -> Vec<String> {
    [
        "`R[i][j]`: success rate on domain j after training through domain i (row 0: before any training); T = domains trained.",
        "ACC = ACC_T, with `ACC_t = (1/t)·Σ_{j≤t} R[t][j]`: mean success over the domains seen so far.",
        "LA (learning accuracy) = `(1/T)·Σ_i R[i][i]`: how well each domain was learned when it was new.",
        "BWT (backward transfer) = `1/(T−1)·Σ_{i<T} (R[T][i] − R[i][i])`: negative means forgetting.",
        "F (forgetting) = `1/(T−1)·Σ_{i<T} f_i` with `f_i = max_{l∈[i,T−1]} R[l][i] − R[T][i]`; F rel averages `f_i / max_l R[l][i]` over domains whose peak is above 0.",
        "FWT (forward transfer) = `1/(T−1)·Σ_{i=2..T} (R[i−1][i] − R[0][i])`: what earlier domains did for a domain before it was trained; n/a without row 0.",
        "I (intransigence) = mean over k of `R*_k − R[k][k]`, R* from a joint-training reference run.",
        "pass^k = mean over tasks of `C(c,k)/C(n,k)` for c successes in n trials (τ²-bench); pass^1 is the success rate.",
        "n/a marks a figure that is not defined for the run (never a silent 0).",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn run_section(doc: &mut Document, run: &Run, a: &RunAnalysis, plots: &Path, out: &Path) -> Result<()> {
    doc.heading(2, format!("Run `{}`", a.name));
    let mut facts = Vec::new();
    let kind = if run.is_checkpoint { "checkpoint directory" } else { "directory" };
    facts.push(format!("{kind}: `{}`", run.dir_name));
    facts.push(format!("method: {}", a.method));
    let mut setup = Vec::new();
    if let Some(algorithm) = &run.info.algorithm {
        setup.push(format!("algorithm {algorithm}"));
    }
    if let Some(seed) = run.info.seed {
        setup.push(format!("seed {seed}"));
    }
    setup.push(format!("task order {}", a.domains.join(" → ")));
    if let Some(steps) = run.info.num_steps_per_task {
        setup.push(format!("{steps} steps per domain"));
    }
    facts.push(setup.join(" · "));
    facts.push(if a.resources.finished {
        format!("status: finished, {} domains trained", a.trained)
    } else {
        format!("status: unfinished, {} of {} domains trained", a.trained, a.domains.len())
    });
    if !run.checkpoints.is_empty() {
        facts.push(format!("checkpoints: {}", run.checkpoints.join(", ")));
    }
    if let Some(note) = &a.intervals_note {
        facts.push(note.clone());
    }
    for warning in &run.warnings {
        facts.push(format!("warning: {warning}"));
    }
    facts.extend(reading(a));
    doc.bullets(facts);

    doc.heading(3, "Accuracy matrix R (success rate)");
    let mut header = vec!["after \\ on".to_owned()];
    header.extend(a.domains.iter().cloned());
    let first = usize::from(!a.has_row0);
    let rows = a
        .success_cells
        .iter()
        .enumerate()
        .map(|(n, cells)| {
            let mut row = vec![a.row_label(n + first)];
            row.extend(cells.iter().map(Figure::display));
            row
        })
        .collect();
    doc.table(header.clone(), rows);

    doc.heading(3, "Mean reward");
    let reward_rows = a
        .reward
        .before
        .iter()
        .chain(&a.reward.after)
        .enumerate()
        .map(|(n, values)| {
            let mut row = vec![a.row_label(n + first)];
            row.extend(values.iter().map(|v| fmt3(*v)));
            row
        })
        .collect();
    doc.table(header, reward_rows);

    doc.heading(3, "After each domain");
    doc.table(
        ["t", "domain", "ACC_t", "LA", "BWT", "F", "FWT"].map(str::to_owned).to_vec(),
        a.per_update
            .iter()
            .map(|u| {
                vec![
                    u.t.to_string(),
                    u.domain.clone(),
                    u.acc.display(),
                    u.la.display(),
                    u.bwt.display(),
                    u.forgetting.display(),
                    u.fwt.display(),
                ]
            })
            .collect(),
    );

    doc.heading(3, "Per domain");
    doc.table(
        ["domain", "before R[0][i]", "learned R[i][i]", "last R[T][i]", "forgetting f_i", "f_i rel", "FWT_i", "I_i"]
            .map(str::to_owned)
            .to_vec(),
        a.per_domain
            .iter()
            .map(|d| {
                vec![
                    d.domain.clone(),
                    d.before.display(),
                    d.learned.display(),
                    d.last.display(),
                    d.forgetting.display(),
                    d.relative_forgetting.display(),
                    d.forward_transfer.display(),
                    d.intransigence.display(),
                ]
            })
            .collect(),
    );

    let last_row = a.trained;
    let max_k = a.pass_k.iter().filter(|p| p.row == last_row).map(|p| p.k).max();
    if let Some(max_k) = max_k {
        doc.heading(3, format!("pass^k ({})", a.row_label(last_row)));
        let mut header = vec!["domain".to_owned()];
        header.extend((1..=max_k).map(|k| format!("pass^{k}")));
        let rows = a
            .domains
            .iter()
            .map(|d| {
                let mut row = vec![d.clone()];
                row.extend((1..=max_k).map(|k| {
                    a.pass_k
                        .iter()
                        .find(|p| p.row == last_row && &p.domain == d && p.k == k)
                        .map_or_else(|| "n/a".to_owned(), |p| p.value.display())
                }));
                row
            })
            .collect();
        doc.table(header, rows);
    }

    doc.heading(3, "Plots");
    let heatmap = MatrixHeatmap {
        title: format!("{}: accuracy matrix R", a.name),
        domains: a.domains.clone(),
        rows: a
            .success
            .before
            .iter()
            .chain(&a.success.after)
            .enumerate()
            .map(|(n, values)| (a.row_label(n + first), values.clone()))
            .collect(),
    };
    plot(doc, &heatmap, plots, "matrix", out)?;
    let spans = domain_spans(run);
    let success = SuccessCurves {
        title: format!("{}: success on every domain", a.name),
        series: success_series(run),
        spans: spans.clone(),
    };
    plot(doc, &success, plots, "success", out)?;
    let training = TrainingCurves {
        title: format!("{}: training", a.name),
        panels: [keys::REWARD, keys::KL, keys::ENTROPY].iter().map(|k| train_series(run, k)).collect(),
        spans,
    };
    plot(doc, &training, plots, "training", out)
}

/// One sentence per headline figure saying whether its interval excludes 0 (so it is not evaluation noise).
fn reading(a: &RunAnalysis) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, f) in [("forgetting F", &a.summary.forgetting), ("BWT", &a.summary.bwt), ("FWT", &a.summary.fwt)] {
        let (Some(v), Some(i)) = (f.value(), f.interval()) else { continue };
        let verdict = if i.low > 0.0 || i.high < 0.0 {
            "the interval excludes 0: larger than evaluation noise"
        } else {
            "the interval includes 0: not distinguishable from evaluation noise"
        };
        lines.push(format!("{name} = {} — {verdict}", fmt3(v)));
    }
    lines
}

fn plot(doc: &mut Document, chart: &impl Chart, dir: &Path, stem: &str, out: &Path) -> Result<()> {
    let files = write_chart(chart, dir, stem)?;
    let relative = files
        .png
        .strip_prefix(out)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|_| format!("{stem}.png"));
    doc.blocks.push(Block::Plot { title: chart_title(stem), png: relative, svg: files.svg_text });
    Ok(())
}

fn chart_title(stem: &str) -> String {
    match stem {
        "acc_curve" => "ACC_t against the number of domains seen",
        "transfer" => "BWT, forgetting and FWT per run",
        "forgetting" => "forgetting per domain",
        "matrix" => "accuracy matrix",
        "success" => "success on every domain across training",
        "training" => "reward, KL and entropy",
        other => other,
    }
    .to_owned()
}

fn acc_chart(runs: &[&RunAnalysis]) -> AccCurves {
    AccCurves {
        title: "ACC_t vs domains seen".to_owned(),
        runs: runs.iter().map(|a| (a.name.clone(), a.per_update.iter().map(|u| u.acc).collect())).collect(),
    }
}

fn transfer_chart(runs: &[&RunAnalysis]) -> GroupedBars {
    let pick = |f: fn(&RunAnalysis) -> Figure| runs.iter().map(|a| f(a)).collect::<Vec<_>>();
    GroupedBars {
        title: "BWT, forgetting and FWT per run".to_owned(),
        y_desc: "score difference".to_owned(),
        groups: runs.iter().map(|a| a.name.clone()).collect(),
        series: vec![
            ("BWT".to_owned(), pick(|a| a.summary.bwt)),
            ("F".to_owned(), pick(|a| a.summary.forgetting)),
            ("FWT".to_owned(), pick(|a| a.summary.fwt)),
        ],
    }
}

fn forgetting_chart(runs: &[&RunAnalysis]) -> GroupedBars {
    // Domains that can have been forgotten (all but each run's last), in order of first appearance.
    let mut groups: Vec<String> = Vec::new();
    for a in runs {
        for d in a.per_domain.iter().take(a.trained.saturating_sub(1)) {
            if !groups.contains(&d.domain) {
                groups.push(d.domain.clone());
            }
        }
    }
    GroupedBars {
        title: "forgetting f_i per domain".to_owned(),
        y_desc: "f_i".to_owned(),
        series: runs
            .iter()
            .map(|a| {
                let figures = groups
                    .iter()
                    .map(|g| {
                        a.per_domain
                            .iter()
                            .find(|d| &d.domain == g)
                            .map_or(Figure::Unavailable(crate::cl_metrics::Unavailable::NeedsTwoDomains), |d| {
                                d.forgetting
                            })
                    })
                    .collect();
                (a.name.clone(), figures)
            })
            .collect(),
        groups,
    }
}

/// `name: ACC … · BWT … · F … · FWT … (t/T domains)` for the terminal.
pub(super) fn summary_line(a: &RunAnalysis) -> String {
    format!(
        "{}: ACC {} · BWT {} · F {} · FWT {} ({}/{} domains{})",
        a.name,
        a.summary.acc.display(),
        a.summary.bwt.display(),
        a.summary.forgetting.display(),
        a.summary.fwt.display(),
        a.trained,
        a.domains.len(),
        if a.resources.finished { "" } else { ", unfinished" }
    )
}
