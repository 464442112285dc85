//! `retain plugin …` (inspect plugin libraries) and `retain bench plugins` (the cost of crossing the plugin
//! boundary, measured on the built-in plugins' real shared libraries).

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use retain_config::PluginSpec;
use retain_plugin_api::{Context, TensorView, TensorViewMut};
use retain_plugin_host::{LibraryReport, NoServices, RewardPlugin, StrategyPlugin, inspect};
use retain_trainer::bench::ewc_overhead;
use serde_json::json;

use super::UsageError;

/// Operations on plugin libraries.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Describe a plugin library: name, version, ABI version, and every exported strategy and reward with its
    /// config schema. LIB is a path to a shared library or the name of a built-in (e.g. `task_success`).
    Inspect {
        /// Library file, or a built-in's name.
        lib: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `retain plugin` command.
pub fn run(cmd: PluginCommand) -> anyhow::Result<()> {
    match cmd {
        PluginCommand::Inspect { lib, json } => {
            let report = inspect(&lib).with_context(|| format!("inspecting {}", lib.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", render(&report)?);
            }
            Ok(())
        }
    }
}

fn render(report: &LibraryReport) -> anyhow::Result<String> {
    let mut out = format!(
        "library:     {} {}\ndescription: {}\nfile:        {}\nABI:         {} (this retain: {})\nexports:\n",
        report.name,
        report.version,
        report.description,
        report.path.display(),
        report.abi_version,
        report.host_abi_version
    );
    for export in &report.exports {
        out.push_str(&format!("  {} `{}`: {}\n", export.kind, export.name, export.description));
        let schema = serde_json::to_string_pretty(&export.config_schema)?;
        for line in schema.lines() {
            out.push_str(&format!("      {line}\n"));
        }
    }
    Ok(out)
}

/// Options of `retain bench plugins`.
#[derive(Debug, Args)]
pub struct BenchPluginsArgs {
    /// Hook calls per measurement.
    #[arg(long, default_value_t = 100_000)]
    pub calls: u32,
    /// Parameters in the tensor passed to `adjust_gradients` (borrowed, so its size should not matter).
    #[arg(long, default_value_t = 5_000_000)]
    pub params: usize,
}

/// A local no-op behind a trait object: the cost of a plain dynamic call, for the ratio.
trait Hook {
    fn call(&mut self, step: u64) -> u64;
}

struct Noop;

impl Hook for Noop {
    fn call(&mut self, step: u64) -> u64 {
        step
    }
}

fn per_call_ns(calls: u32, mut f: impl FnMut(u64)) -> f64 {
    let start = Instant::now();
    for i in 0..calls {
        f(u64::from(i));
    }
    start.elapsed().as_nanos() as f64 / f64::from(calls)
}

/// Measures the plugin boundary on the built-ins `sequential` and `task_success`, and the per-step cost of `ewc`
/// on the tiny default model, and prints JSON.
pub fn bench(args: BenchPluginsArgs) -> anyhow::Result<()> {
    if args.calls == 0 {
        return Err(UsageError("--calls must be at least 1".to_owned()).into());
    }
    let builtin =
        |name: &str| PluginSpec { name: name.to_owned(), path: None, priority: 0, weight: 1.0, config: json!({}) };
    let load_start = Instant::now();
    let mut strategy = StrategyPlugin::load(&builtin("sequential"), Arc::new(NoServices), 0)?;
    let load_ms = load_start.elapsed().as_secs_f64() * 1e3;
    let mut reward = RewardPlugin::load(&builtin("task_success"), Arc::new(NoServices), 0)?;

    let ctx = Context { domain: "airline", domain_index: 0, num_domains: 3, step: 0, global_step: 0 };
    // `black_box` hides the concrete type, so this stays a real virtual call.
    let mut noop = Noop;
    let local: &mut dyn Hook = black_box(&mut noop);
    let local_ns = per_call_ns(args.calls, |i| {
        black_box(local.call(black_box(i)));
    });
    let mut failure = None;
    let before_task_ns = per_call_ns(args.calls, |_| {
        if let Err(e) = strategy.before_task(black_box(&ctx)) {
            failure.get_or_insert(e);
        }
    });

    let params = vec![0.5f32; args.params];
    let mut grads = vec![0.25f32; args.params];
    let shape = [args.params as u64];
    let gradient_calls = (args.calls / 10).max(1);
    let adjust_ns = per_call_ns(gradient_calls, |_| {
        let views = [TensorView::new("model.weight", &shape, &params)];
        let mut grad_views = [TensorViewMut::new("model.weight", &shape, &mut grads)];
        if let Err(e) = strategy.adjust_gradients(&ctx, &views, &mut grad_views) {
            failure.get_or_insert(e);
        }
    });
    let metrics = json!({"loss": 0.5, "reward_mean": 0.25, "kl": 0.01});
    let after_step_ns = per_call_ns(gradient_calls, |_| {
        if let Err(e) = strategy.after_step(&ctx, &metrics) {
            failure.get_or_insert(e);
        }
    });
    let trajectory = json!({
        "domain": "airline", "task_id": "1", "termination": "agent_stop",
        "messages": [{"role": "assistant", "content": "Done."}],
        "evaluation": {"reward": 1.0, "components": {"db": 1.0}}
    })
    .to_string();
    let task = json!({"id": "1"}).to_string();
    let score_ns = per_call_ns(gradient_calls, |_| {
        if let Err(e) = reward.score_batch(&[(&trajectory, &task)]) {
            failure.get_or_insert(e);
        }
    });
    if let Some(e) = failure {
        return Err(e.into());
    }
    let ewc = ewc_overhead()?;
    let report = json!({
        "benchmark": "plugins",
        "library": strategy.library().path,
        "calls": args.calls,
        "library_load_ms": load_ms,
        "local_dyn_call_ns": local_ns,
        "hook_before_task_ns": before_task_ns,
        "hook_before_task_vs_local_dyn_call": before_task_ns / local_ns.max(1e-3),
        "hook_adjust_gradients_ns": adjust_ns,
        "adjust_gradients_params": args.params,
        "hook_after_step_json_ns": after_step_ns,
        "reward_score_one_trajectory_ns": score_ns,
        "ewc_model_params": ewc.params,
        "ewc_plugin_edit_ms": ewc.plugin_edit_ms,
        "ewc_adjust_gradients_with_host_copies_ms": ewc.with_host_copies_ms,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
