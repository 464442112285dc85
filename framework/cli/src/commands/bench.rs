//! `retain bench …`: performance measurements. Each benchmark prints one JSON object on stdout so results can be
//! compared across runs and machines; compare ratios measured in one run, not absolute times.

use clap::Subcommand;

/// The available benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {}

/// Runs a benchmark and prints its JSON report.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {}
}
