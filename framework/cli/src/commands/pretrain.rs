//! `retain pretrain CONFIG --out DIR`: builds a base model with copy drills (`[pretrain]`), for runs that start
//! from it with `model.pretrained = DIR`. Prints the summary as JSON.

use std::path::PathBuf;

use retain_model::ComputePool;

use super::bench_model::pin_threads;
use super::config::resolve;
use super::run::Bar;

/// Arguments of `retain pretrain`.
#[derive(Debug, clap::Args)]
pub struct PretrainArgs {
    /// The TOML configuration file: its `[model.tiny]`, `[data]` (the tokenizer's corpus) and `[pretrain]`.
    pub config: PathBuf,
    /// Where the base goes (Hugging Face layout: config.json, model.safetensors, tokenizer.json, pretrain.json).
    #[arg(long)]
    pub out: PathBuf,
    /// Override one key, e.g. `--set pretrain.copy_drill_steps=200`; may be repeated.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Replace what `--out` holds (only once the new base is complete).
    #[arg(long)]
    pub overwrite: bool,
}

/// Runs `retain pretrain`.
pub fn run(args: PretrainArgs) -> anyhow::Result<()> {
    let config = resolve(&args.config, &args.overrides)?;
    pin_threads(config.run.threads);
    let pool = ComputePool::new(config.run.threads)?;
    let mut bar = Bar::new();
    let result = pool.install(|| retain_trainer::pretrain::pretrain(&config, &args.out, args.overwrite, &mut bar));
    bar.clear();
    println!("{}", serde_json::to_string(&result?)?);
    Ok(())
}
