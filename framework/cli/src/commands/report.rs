//! `retain report RUN… [--out DIR]`: the accuracy matrix, forgetting and transfer figures with bootstrap intervals,
//! plots, and a comparison of the runs, written as `report.md`, a self-contained `report.html` and CSV / JSON.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use retain_analysis::{BootstrapConfig, ReportOptions, default_out_dir, write_report};

/// Arguments of `retain report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run directories (`runs/<name>`) or checkpoint directories (`…/checkpoint_task_<i>`) to analyse and compare.
    #[arg(required = true, value_name = "RUN")]
    runs: Vec<PathBuf>,
    /// Output directory [default: `<RUN>/report` for one run, `<parent>/report-<a>-vs-<b>` for several].
    #[arg(short, long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// A joint-training (cumulative) run whose last evaluation is the reference R* for intransigence.
    #[arg(long, value_name = "RUN")]
    joint: Option<PathBuf>,
    /// Bootstrap replicates for the intervals (0 turns intervals off).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    bootstrap: usize,
    /// Seed of the bootstrap: the same runs and seed give the same report.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Coverage of the intervals, between 0 and 1.
    #[arg(long, default_value_t = 0.95, value_parser = parse_confidence)]
    confidence: f64,
}

fn parse_confidence(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(c) if c > 0.0 && c < 1.0 => Ok(c),
        _ => Err(format!("{text:?} is not a number strictly between 0 and 1 (e.g. 0.95)")),
    }
}

/// Writes the report and prints where it went and one summary line per run.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let out_dir = args.out.unwrap_or_else(|| default_out_dir(&args.runs));
    let options = ReportOptions {
        out_dir,
        bootstrap: BootstrapConfig { replicates: args.bootstrap, seed: args.seed, confidence: args.confidence },
        joint: args.joint,
    };
    let output = write_report(&args.runs, &options).context("could not write the report")?;
    println!("report: {}", output.markdown.display());
    println!("        {} (self-contained)", output.html.display());
    println!("        {} (plots/, data/ with CSV and JSON)", output.dir.display());
    for line in &output.summary {
        println!("{line}");
    }
    Ok(())
}
