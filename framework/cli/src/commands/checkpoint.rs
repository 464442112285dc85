//! `retain checkpoint verify` (what a checkpoint holds and whether every file checks out) and
//! `retain bench checkpoint` (store save / verified load next to a plain copy of the same bytes).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use retain_checkpoint::bench::BenchConfig;
use retain_checkpoint::{Checkpoint, resolve};

use super::UsageError;

/// Operations on checkpoints.
#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Print what a checkpoint's manifest holds and check every file (presence, size, sha256); exit 1 if any
    /// check fails. PATH is a checkpoint directory or a run directory (its `latest` checkpoint).
    Verify {
        /// Checkpoint or run directory.
        path: PathBuf,
        /// Print a JSON report instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a checkpoint command.
pub fn run(cmd: CheckpointCommand) -> anyhow::Result<()> {
    match cmd {
        CheckpointCommand::Verify { path, json } => verify(&path, json),
    }
}

fn verify(path: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let checkpoint = resolve(path)?;
    let checks = checkpoint.verify_files();
    let failures: Vec<String> =
        checks.iter().filter_map(|c| c.result.as_ref().err().map(ToString::to_string)).collect();
    if json {
        let files: Vec<serde_json::Value> = checks
            .iter()
            .map(|c| {
                serde_json::json!({
                    "path": c.entry.path,
                    "size": c.entry.size,
                    "sha256": c.entry.sha256,
                    "ok": c.result.is_ok(),
                    "error": c.result.as_ref().err().map(ToString::to_string),
                })
            })
            .collect();
        let report = serde_json::json!({
            "checkpoint": checkpoint.dir(),
            "valid": failures.is_empty(),
            "manifest": checkpoint.manifest(),
            "files": files,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&checkpoint, &checks);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} is damaged ({} bad file(s)):\n  {}",
            checkpoint.dir().display(),
            failures.len(),
            failures.join("\n  ")
        )
    }
}

fn print_text(checkpoint: &Checkpoint, checks: &[retain_checkpoint::FileCheck]) {
    let m = checkpoint.manifest();
    println!("checkpoint     {}", checkpoint.dir().display());
    println!("name           {} (format {})", m.name, m.format_version);
    let step = m.step.map_or_else(|| "end of domain".to_owned(), |s| format!("step {s} of the domain"));
    println!(
        "position       domain {}{} · {step} · global step {}",
        m.domain_index,
        m.domain.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(),
        m.global_step
    );
    println!("config hash    {}", m.config_hash);
    let reference = |r: &Option<retain_checkpoint::CheckpointRef>| {
        r.as_ref().map_or_else(
            || "—".to_owned(),
            |r| format!("{} (manifest {})", r.path, &r.checksum[..r.checksum.len().min(12)]),
        )
    };
    println!("parent         {}", reference(&m.parent));
    println!("init from      {}", reference(&m.init_from));
    println!("created        unix {} by retain {}", m.created.unix_time_s, m.created.retain_version);
    println!("plugins        {}", if m.plugins.is_empty() { "none" } else { "(call order)" });
    for p in &m.plugins {
        println!(
            "  {} {} {} (library {}, ABI {}, priority {}) state: {}",
            p.plugin.kind,
            p.plugin.name,
            p.plugin.version,
            p.plugin.library,
            p.plugin.abi_version,
            p.plugin.priority,
            p.state_file.as_deref().unwrap_or("none")
        );
    }
    println!("files          {} ({} bytes)", m.files.len(), m.total_bytes());
    for check in checks {
        let status = match &check.result {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("BAD: {e}"),
        };
        println!("  {:<40} {:>14}  {}  {status}", check.entry.path, check.entry.size, &check.entry.sha256[..16]);
    }
}

/// Options of `retain bench checkpoint`.
#[derive(Debug, Args)]
pub struct BenchCheckpointArgs {
    /// Parameters of the small case (the tiny model is about 5M).
    #[arg(long, default_value_t = 5_000_000)]
    params: usize,
    /// Also run the ~500M-parameter case (about 6 GB written twice and copied twice; minutes on a slow disk).
    #[arg(long)]
    large: bool,
    /// Parameters of the large case.
    #[arg(long, default_value_t = 500_000_000)]
    large_params: usize,
    /// Repetitions of the small case (medians reported); the large case runs once.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Scratch directory (default: the system temporary directory); removed afterwards.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed of the synthetic parameter values.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Runs the benchmark and prints its JSON report.
pub fn bench(args: BenchCheckpointArgs) -> anyhow::Result<()> {
    if args.params == 0 || args.large_params == 0 {
        return Err(UsageError("--params and --large-params must be at least 1".into()).into());
    }
    let base = args.dir.unwrap_or_else(std::env::temp_dir);
    let mut cases = vec![("tiny", args.params, args.repeats)];
    if args.large {
        cases.push(("large", args.large_params, 1));
    }
    let mut reports = Vec::new();
    for (label, params, repeats) in cases {
        let config = BenchConfig {
            params,
            label: label.to_owned(),
            dir: base.join(format!("retain-bench-checkpoint-{}-{label}", std::process::id())),
            repeats,
            seed: args.seed,
        };
        reports.push(retain_checkpoint::bench::run(&config).with_context(|| format!("benchmark case {label}"))?);
    }
    let report = serde_json::json!({
        "benchmark": "checkpoint",
        "note": "save = serialise model + optimizer (safetensors crate) into a checkpoint, hash, manifest, rename, \
                 latest; load_verified = open + sha256 of every file + decode every tensor to f32; baselines are \
                 std::fs::copy (with/without fsync) and std::fs::read of the same two files; files are in the page \
                 cache when loaded and copied",
        "cases": reports,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
