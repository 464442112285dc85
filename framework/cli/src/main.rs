//! `retain`: the command line over retain's library crates. It parses arguments, calls into the libraries, and
//! maps their typed errors to messages and exit codes (0 ok, 1 failure, 2 usage).

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Continual learning of LLM tool-use agents on τ²-bench's airline, retail and telecom domains.
#[derive(Debug, Parser)]
#[command(name = "retain", version, propagate_version = true)]
struct Cli {
    /// More log output on stderr (-v: info, -vv: debug, -vvv: trace); `RETAIN_LOG` overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a policy on the configured sequence of domains (the main job).
    Run(commands::run::RunArgs),
    /// Continue a run from a checkpoint (or a run directory's latest), verified first.
    Resume(commands::run::ResumeArgs),
    /// Build a base model for `model.pretrained`: a tiny model and its tokenizer, taught to copy ids by drills.
    Pretrain(commands::pretrain::PretrainArgs),
    /// Evaluate a checkpoint on its run's test tasks (JSON: success, mean reward, pass^k per domain).
    Eval(commands::eval::EvalArgs),
    /// Inspect and check run configurations.
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Measure performance; every benchmark prints JSON.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
    /// Trajectory buffers: statistics, export, sampling, integrity check.
    #[command(subcommand)]
    Buffer(commands::buffer::BufferCommand),
    /// Forgetting and transfer report of one or more runs: metrics with intervals, plots, comparison, exports.
    Report(commands::report::ReportArgs),
    /// τ² environments: gold replay of the official tasks, scoring of recorded trajectories.
    #[command(subcommand)]
    Tau2(commands::tau2::Tau2Command),
    /// External data: fetch the official τ² data.
    #[command(subcommand)]
    Data(commands::data::DataCommand),
    /// Plugin libraries: inspect what a strategy/reward library exports.
    #[command(subcommand)]
    Plugin(commands::plugin::PluginCommand),
    /// Checkpoints: show a manifest and verify every file (exit 1 on a damaged checkpoint).
    #[command(subcommand)]
    Checkpoint(commands::checkpoint::CheckpointCommand),
}

fn main() -> ExitCode {
    retain_model::tune_allocator_for_tensors();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are "errors" to clap but successes to the user.
            let code = if e.use_stderr() { commands::EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Resume(args) => commands::run::resume(args),
        Command::Pretrain(args) => commands::pretrain::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Config(cmd) => commands::config::run(cmd),
        Command::Bench(cmd) => commands::bench::run(cmd),
        Command::Buffer(cmd) => commands::buffer::run(cmd),
        Command::Report(args) => commands::report::run(args),
        Command::Tau2(cmd) => commands::tau2::run(cmd),
        Command::Data(cmd) => commands::data::run(cmd),
        Command::Plugin(cmd) => commands::plugin::run(cmd),
        Command::Checkpoint(cmd) => commands::checkpoint::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(commands::exit_code(&e))
        }
    }
}

/// Logs go to stderr so that JSON on stdout stays machine-readable.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RETAIN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
