//! `retain run CONFIG`: a whole continual-learning run with a live progress bar, then the accuracy matrix and
//! where the outputs are.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use retain_model::ComputePool;
use retain_trainer::{Progress, RunSummary};

use super::bench_model::pin_threads;
use super::config::resolve;

/// Arguments of `retain run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The TOML configuration file.
    pub config: PathBuf,
    /// Override one key, e.g. `--set sequence.num_steps_per_task=5`; may be repeated.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Delete an existing run directory of the same name first.
    #[arg(long)]
    pub overwrite: bool,
}

/// A progress bar per phase on stderr; notes are printed above it and stay.
struct Bar {
    bar: Option<ProgressBar>,
}

impl Progress for Bar {
    fn phase(&mut self, label: &str, total: u64) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let style =
            ProgressStyle::with_template("{prefix:>28} [{bar:24}] {pos}/{len} {elapsed_precise} eta {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        let bar = ProgressBar::new(total).with_style(style).with_prefix(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(250));
        self.bar = Some(bar);
    }

    fn tick(&mut self, status: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(status.to_owned());
            bar.inc(1);
        }
    }

    fn note(&mut self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

/// Runs `retain run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let config = resolve(&args.config, &args.overrides)?;
    pin_threads(config.run.threads);
    let dir = config.run.out_dir.join(&config.run.name);
    if args.overwrite && dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {} (--overwrite)", dir.display()))?;
    }
    let pool = ComputePool::new(config.run.threads)?;
    let mut bar = Bar { bar: None };
    let result = pool.install(|| retain_trainer::run(&config, &mut bar));
    if let Some(b) = bar.bar.take() {
        b.finish_and_clear();
    }
    let summary = result?;
    print_summary(&summary);
    Ok(())
}

/// The one-screen summary: R with one row per evaluation, and where the outputs went.
fn print_summary(summary: &RunSummary) {
    let domains = &summary.matrix.domains;
    println!("accuracy matrix R (test success rate; rows: evaluation after training the named domain)");
    print!("{:<18}", "");
    for d in domains {
        print!("{d:>10}");
    }
    println!();
    for row in &summary.matrix.rows {
        let label = row.after.as_deref().map_or("before training".to_owned(), |d| format!("after {d}"));
        print!("{label:<18}");
        for d in domains {
            match row.cells.get(d) {
                Some(cell) => print!("{:>10.3}", cell.success),
                None => print!("{:>10}", "-"),
            }
        }
        println!();
    }
    println!(
        "{} optimiser steps in {:.0} s; outputs in {} (metrics.jsonl, matrix.json, checkpoint_task_*/)",
        summary.global_steps,
        summary.seconds,
        summary.dir.display()
    );
    println!("report: retain report {}", summary.dir.display());
}
