//! `retain bench …`: performance measurements. Each benchmark prints one JSON object on stdout so results can be
//! compared across runs and machines; compare ratios measured in one run, not absolute times.

use clap::Subcommand;

/// The available benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Trajectory buffer vs plain JSON Lines: size ratio, write/read MB/s and records/s.
    Buffer(super::buffer::BenchBufferArgs),
    /// τ² environments: database load time, tool calls/s and gold replays/s per domain.
    Env(super::tau2::BenchEnvArgs),
    /// Plugin boundary: cost of one hook call on the built-in plugins' shared libraries.
    Plugins(super::plugin::BenchPluginsArgs),
    /// Checkpoint store: save and verified load MB/s next to a plain copy of the same bytes.
    Checkpoint(super::checkpoint::BenchCheckpointArgs),
    /// Policy model sampling with the KV cache (batch 32, 128-token prompts, 128 new tokens): tokens/s.
    Generate(super::bench_model::BenchGenerateArgs),
    /// Policy model training, forward + backward + AdamW (batch 32 × 256 tokens): tokens/s.
    Train(super::bench_model::BenchTrainArgs),
    /// One GRPO step, 8 prompts × 4 samples × 128 new tokens, tiny model: sampling and update seconds.
    GrpoStep(super::bench_model::BenchGrpoStepArgs),
}

/// Runs a benchmark and prints its JSON report.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Buffer(args) => super::buffer::bench(args),
        BenchCommand::Env(args) => super::tau2::bench_env(args),
        BenchCommand::Plugins(args) => super::plugin::bench(args),
        BenchCommand::Checkpoint(args) => super::checkpoint::bench(args),
        BenchCommand::Generate(args) => super::bench_model::generate(args),
        BenchCommand::Train(args) => super::bench_model::train(args),
        BenchCommand::GrpoStep(args) => super::bench_model::grpo_step(args),
    }
}
