//! `retain bench generate` / `retain bench train`: the policy model's throughput on the design brief's shapes
//! (tiny default model; sampling batch 32 × 128-token prompts + 128 new tokens; training batch 32 × 256 tokens).
//! Compare against PyTorch with `framework/model/scripts/compare_torch.sh`.

use clap::Args;
use retain_model::bench::{GenerateBenchConfig, TrainBenchConfig, bench_generate, bench_train};

/// Options of `retain bench generate`.
#[derive(Debug, Args)]
pub struct BenchGenerateArgs {
    /// Compute threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Sequences per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Prompt tokens per sequence.
    #[arg(long, default_value_t = 128)]
    pub prompt_tokens: usize,
    /// New tokens per sequence.
    #[arg(long, default_value_t = 128)]
    pub new_tokens: usize,
    /// Timed repetitions (best reported, after one warm-up).
    #[arg(long, default_value_t = 2)]
    pub repeats: usize,
    /// Seed of weights, prompts and samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Options of `retain bench train`.
#[derive(Debug, Args)]
pub struct BenchTrainArgs {
    /// Compute threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Sequences per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Tokens per sequence.
    #[arg(long, default_value_t = 256)]
    pub seq_len: usize,
    /// Timed steps (after one warm-up step).
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    /// Seed of weights and data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// candle sizes its element-wise pool from `CANDLE_NUM_THREADS` (read once) and GEMM splits from
/// `RAYON_NUM_THREADS`; make both follow `--threads` unless the user set them.
pub(crate) fn pin_threads(threads: Option<usize>) {
    let Some(n) = threads else { return };
    for var in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            // SAFETY: the CLI has not started any other thread when a bench command begins, so nothing reads the
            // environment concurrently.
            unsafe { std::env::set_var(var, n.to_string()) };
        }
    }
}

/// Options of `retain bench grpo-step`.
#[derive(Debug, Args)]
pub struct BenchGrpoStepArgs {
    /// Compute threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Prompts per step.
    #[arg(long, default_value_t = 8)]
    pub prompts: usize,
    /// Samples per prompt.
    #[arg(long, default_value_t = 4)]
    pub samples: usize,
    /// New tokens per sample.
    #[arg(long, default_value_t = 128)]
    pub new_tokens: usize,
    /// Prompt text: `compact` (the tiny default's τ²-style prompt) or `minimal` (instruction + ticket).
    #[arg(long, default_value = "compact")]
    pub policy: super::data_gen::PolicyArg,
    /// Seed of tasks, weights and samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write the untrained model and the prompts to this directory (for `compare_trl.sh`).
    #[arg(long)]
    pub export: Option<std::path::PathBuf>,
}

/// Runs the GRPO-step bench and prints its JSON.
pub fn grpo_step(args: BenchGrpoStepArgs) -> anyhow::Result<()> {
    pin_threads(args.threads);
    let cfg = retain_trainer::bench::GrpoBenchConfig {
        prompts: args.prompts,
        samples_per_prompt: args.samples,
        new_tokens: args.new_tokens,
        policy: args.policy.into(),
        threads: args.threads,
        seed: args.seed,
        export: args.export,
    };
    println!("{}", serde_json::to_string_pretty(&retain_trainer::bench::grpo_step(&cfg)?)?);
    Ok(())
}

/// Runs the sampling bench and prints its JSON.
pub fn generate(args: BenchGenerateArgs) -> anyhow::Result<()> {
    pin_threads(args.threads);
    let cfg = GenerateBenchConfig {
        batch: args.batch,
        prompt_tokens: args.prompt_tokens,
        new_tokens: args.new_tokens,
        threads: args.threads,
        repeats: args.repeats,
        seed: args.seed,
    };
    println!("{}", serde_json::to_string_pretty(&bench_generate(&cfg)?)?);
    Ok(())
}

/// Runs the training bench and prints its JSON.
pub fn train(args: BenchTrainArgs) -> anyhow::Result<()> {
    pin_threads(args.threads);
    let cfg = TrainBenchConfig {
        batch: args.batch,
        seq_len: args.seq_len,
        threads: args.threads,
        steps: args.steps,
        seed: args.seed,
    };
    println!("{}", serde_json::to_string_pretty(&bench_train(&cfg)?)?);
    Ok(())
}
