//! `retain run CONFIG`: a whole continual-learning run with a live progress bar, then the accuracy matrix and
//! where the outputs are.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use retain_model::ComputePool;
use retain_trainer::{Progress, RunOptions, RunSummary};

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
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// `auto`: when the run directory already holds checkpoints of this configuration, continue from the latest.
    #[arg(long, value_enum, default_value = "never")]
    pub resume: ResumeMode,
    /// Start a new run from this checkpoint's weights and tokenizer (e.g. branch two strategies from
    /// `checkpoint_task_0`); the new checkpoints record it as their origin.
    #[arg(long, value_name = "CHECKPOINT")]
    pub init_from: Option<PathBuf>,
}

/// Whether `retain run` continues an existing run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ResumeMode {
    /// Always start fresh (an occupied run directory is an error).
    Never,
    /// Continue from the run directory's latest checkpoint when there is one.
    Auto,
}

/// Arguments of `retain resume`.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// A checkpoint directory, or a run directory (its latest checkpoint).
    pub path: PathBuf,
    /// When the checkpoint is damaged, resume from the newest valid one instead (and say which).
    #[arg(long)]
    pub fallback: bool,
    /// Compute threads (default: the run's `run.threads`, else all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// A progress bar per phase on stderr; notes are printed above it and stay.
pub(crate) struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    /// No bar until the first phase starts.
    pub(crate) fn new() -> Self {
        Bar { bar: None }
    }

    /// Removes the bar from the terminal.
    pub(crate) fn clear(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
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
    let options = RunOptions { init_from: args.init_from };
    let mut bar = Bar::new();
    let result = pool.install(|| match args.resume {
        ResumeMode::Never => retain_trainer::run_with(&config, &options, &mut bar),
        ResumeMode::Auto => retain_trainer::run_or_resume(&config, &options, &mut bar),
    });
    finish(bar, result)
}

/// Runs `retain resume`.
pub fn resume(args: ResumeArgs) -> anyhow::Result<()> {
    pin_threads(args.threads);
    let pool = ComputePool::new(args.threads)?;
    let mut bar = Bar::new();
    let result = pool.install(|| retain_trainer::resume(&args.path, args.fallback, &mut bar));
    finish(bar, result)
}

fn finish(mut bar: Bar, result: retain_trainer::Result<RunSummary>) -> anyhow::Result<()> {
    bar.clear();
    print_summary(&result?);
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
