//! `retain tau2 …`: the τ² environments from the command line — gold replay of the official tasks, scoring of
//! recorded trajectories — and `retain bench env`.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use retain_domains::data::{DOMAINS, TaskSet, locate_data};
use retain_domains::registry::LoadedDomain;
use retain_domains::replay::gold_replay;
use retain_domains::trajectory::{Limits, TaskIndex};
use retain_domains::{Domain, Environment, with_domain};
use serde_json::{Value, json};

use super::UsageError;

/// τ² environment commands.
#[derive(Debug, Subcommand)]
pub enum Tau2Command {
    /// Replay the gold actions of every official task (airline/retail in ticket mode, telecom solo) and print
    /// passed/total per domain and task set; exits 1 if any task scores below 1.
    GoldReplay(GoldReplayArgs),
    /// Score trajectories (JSON Lines) with τ² semantics: re-execute the calls live, then evaluate.
    Evaluate(EvaluateArgs),
}

/// Options of `retain tau2 gold-replay`.
#[derive(Debug, Args)]
pub struct GoldReplayArgs {
    /// τ² data directory (holding airline/, retail/, telecom/); default: $RETAIN_TAU2_DATA, ../shared/tau2,
    /// then the `retain data fetch-tau2` destination.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Only this domain (airline, retail or telecom).
    #[arg(long)]
    pub domain: Option<String>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `retain tau2 evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// τ² data directory (default as for gold-replay).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Input JSON Lines: one trajectory per line (`domain`, `task_id`, `solo_mode`, `steps`+`final_message` or
    /// `messages`).
    #[arg(long)]
    pub trajectories: PathBuf,
    /// Output JSON Lines (default: stdout), one line per input line, in input order.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print a JSON summary (to stdout when --out is given, else to stderr).
    #[arg(long)]
    pub json_summary: bool,
    /// Step limit applied while re-executing (τ² default 100).
    #[arg(long, default_value_t = 100)]
    pub max_steps: usize,
    /// Tool-error limit (τ² default 10).
    #[arg(long, default_value_t = 10)]
    pub max_errors: usize,
}

/// Options of `retain bench env`.
#[derive(Debug, Args)]
pub struct BenchEnvArgs {
    /// τ² data directory (default as for gold-replay).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Minimum measuring time per domain and measure, in seconds.
    #[arg(long, default_value_t = 1.0)]
    pub seconds: f64,
    /// Accepted for symmetry with other benches; the output is always JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `retain tau2` command.
pub fn run(cmd: Tau2Command) -> anyhow::Result<()> {
    match cmd {
        Tau2Command::GoldReplay(args) => gold_replay_cmd(args),
        Tau2Command::Evaluate(args) => evaluate_cmd(args),
    }
}

/// The data directory: the flag, else the standard search.
pub fn data_dir(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        if !dir.is_dir() {
            bail!(UsageError(format!("--data {}: not a directory", dir.display())));
        }
        return Ok(dir.to_path_buf());
    }
    let cwd = std::env::current_dir().context("reading the current directory")?;
    Ok(locate_data(Some(&cwd))?)
}

fn selected_domains(domain: Option<&str>) -> anyhow::Result<Vec<&'static str>> {
    match domain {
        None => Ok(DOMAINS.to_vec()),
        Some(d) => match DOMAINS.iter().find(|x| **x == d) {
            Some(x) => Ok(vec![*x]),
            None => bail!(UsageError(format!("unknown domain '{d}' (expected airline, retail or telecom)"))),
        },
    }
}

fn gold_replay_cmd(args: GoldReplayArgs) -> anyhow::Result<()> {
    let data = data_dir(args.data.as_deref())?;
    let mut rows = Vec::new();
    let mut all_passed = true;
    for name in selected_domains(args.domain.as_deref())? {
        let loaded = LoadedDomain::load(&data, name)?;
        let sets: Vec<TaskSet> =
            if name == "telecom" { vec![TaskSet::parse("base"), TaskSet::Small] } else { vec![TaskSet::parse("base")] };
        for set in sets {
            let tasks = loaded.tasks(&data, &set)?;
            let start = Instant::now();
            let mut failed = Vec::new();
            for task in &tasks {
                let run = with_domain!(&loaded, |d, g| gold_replay(d, task, g))?;
                if !run.evaluation.success() {
                    failed.push(
                        json!({"task_id": task.id, "reward": run.evaluation.reward, "note": run.evaluation.note}),
                    );
                }
            }
            let seconds = start.elapsed().as_secs_f64();
            all_passed &= failed.is_empty();
            rows.push(json!({
                "domain": name,
                "task_set": set.name(),
                "passed": tasks.len() - failed.len(),
                "total": tasks.len(),
                "seconds": seconds,
                "failed": failed,
            }));
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json!({"data": data, "results": rows}))?);
    } else {
        println!("{:<10} {:<6} {:>6} {:>9}", "domain", "set", "passed", "seconds");
        for r in &rows {
            println!(
                "{:<10} {:<6} {:>6} {:>9.3}",
                r["domain"].as_str().unwrap_or_default(),
                r["task_set"].as_str().unwrap_or_default(),
                format!("{}/{}", r["passed"], r["total"]),
                r["seconds"].as_f64().unwrap_or_default()
            );
            for f in r["failed"].as_array().into_iter().flatten() {
                println!("  failed: {f}");
            }
        }
    }
    if !all_passed {
        bail!("some gold replays did not score 1.0");
    }
    Ok(())
}

fn evaluate_cmd(args: EvaluateArgs) -> anyhow::Result<()> {
    let data = data_dir(args.data.as_deref())?;
    let input = std::fs::File::open(&args.trajectories)
        .with_context(|| format!("opening --trajectories {}", args.trajectories.display()))?;
    let lines: Vec<String> = std::io::BufReader::new(input)
        .lines()
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", args.trajectories.display()))?;
    let load_start = Instant::now();
    let index = TaskIndex::load(&data, &DOMAINS)?;
    let load_seconds = load_start.elapsed().as_secs_f64();
    let limits = Limits { max_steps: args.max_steps, max_errors: args.max_errors };
    let start = Instant::now();
    let outputs: Vec<Value> =
        lines.iter().filter(|l| !l.trim().is_empty()).map(|line| index.score_line(line, limits)).collect();
    let seconds = start.elapsed().as_secs_f64();
    let mut sink: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating --out {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    for o in &outputs {
        writeln!(sink, "{}", serde_json::to_string(o)?)?;
    }
    sink.flush()?;
    drop(sink);
    let errors = outputs.iter().filter(|o| o.get("error").is_some()).count();
    let scored: Vec<&Value> = outputs.iter().filter(|o| o.get("error").is_none()).collect();
    let mut per_domain = serde_json::Map::new();
    for name in DOMAINS {
        let rewards: Vec<f64> =
            scored.iter().filter(|o| o["domain"] == name).filter_map(|o| o["reward"].as_f64()).collect();
        if !rewards.is_empty() {
            per_domain.insert(
                name.to_owned(),
                json!({"scored": rewards.len(), "mean_reward": rewards.iter().sum::<f64>() / rewards.len() as f64}),
            );
        }
    }
    let summary = json!({
        "lines": outputs.len(),
        "scored": scored.len(),
        "errors": errors,
        "domains": per_domain,
        "load_seconds": load_seconds,
        "score_seconds": seconds,
        "trajectories_per_second": if seconds > 0.0 { outputs.len() as f64 / seconds } else { 0.0 },
    });
    if args.json_summary {
        let text = serde_json::to_string_pretty(&summary)?;
        if args.out.is_some() { println!("{text}") } else { eprintln!("{text}") }
    } else {
        eprintln!("scored {} of {} lines ({} with errors) in {:.3} s", scored.len(), outputs.len(), errors, seconds);
    }
    Ok(())
}

/// Python τ²'s time per gold replay (seconds), measured for the reference report (`reference/tau2.md` §4.2).
const PYTHON_SECONDS_PER_REPLAY: [(&str, f64); 2] = [("airline", 1.7), ("retail", 0.7)];

/// `retain bench env`: per domain, database load time, tool calls per second and gold replays per second.
pub fn bench_env(args: BenchEnvArgs) -> anyhow::Result<()> {
    let data = data_dir(args.data.as_deref())?;
    let mut results = Vec::new();
    for name in DOMAINS {
        let load_start = Instant::now();
        let loaded = LoadedDomain::load(&data, name)?;
        let load_ms = load_start.elapsed().as_secs_f64() * 1e3;
        let tasks = loaded.tasks(&data, &TaskSet::parse("base"))?;
        let r = with_domain!(&loaded, |d, g| bench_domain(d, g, &tasks, args.seconds))?;
        let python = PYTHON_SECONDS_PER_REPLAY.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
        let cold = r["gold_replays_cold_per_s"].as_f64().unwrap_or(0.0);
        results.push(json!({
            "domain": name,
            "tasks": tasks.len(),
            "db_load_ms": load_ms,
            "tool_calls_per_s": r["tool_calls_per_s"],
            "gold_replays_per_s": r["gold_replays_per_s"],
            "gold_replays_cold_per_s": cold,
            "python_seconds_per_replay": python,
            "speedup_vs_python_cold": python.map(|s| s * cold),
        }));
    }
    println!("{}", serde_json::to_string_pretty(&json!({"bench": "env", "data": data, "results": results}))?);
    Ok(())
}

fn bench_domain<D: Domain>(
    domain: &Arc<D>,
    gold: &Arc<retain_domains::GoldCache<D>>,
    tasks: &[Arc<retain_domains::Task>],
    seconds: f64,
) -> anyhow::Result<Value> {
    // Tool calls: every task's gold actions on a fresh environment, repeated until the time is up.
    let mut calls = 0u64;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        for task in tasks {
            let mut env = Environment::new(Arc::clone(domain), false)?;
            env.apply_initial_state(task.initial_state.as_ref())?;
            for action in task.evaluation_criteria.iter().flat_map(|c| c.actions.iter().flatten()) {
                let call = retain_domains::ToolCall {
                    id: String::new(),
                    name: action.name.clone(),
                    arguments: action.arguments.clone(),
                    requestor: action.requestor,
                };
                std::hint::black_box(env.respond(&call));
                calls += 1;
            }
        }
    }
    let tool_calls_per_s = calls as f64 / start.elapsed().as_secs_f64();
    // Gold replays with the gold states cached (the RL situation: many episodes per task).
    let mut replays = 0u64;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        for task in tasks {
            std::hint::black_box(gold_replay(domain, task, gold)?);
            replays += 1;
        }
    }
    let warm = replays as f64 / start.elapsed().as_secs_f64();
    // Cold: a new cache per replay, so the gold state is computed too (what τ² does for every evaluation).
    let mut replays = 0u64;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        for task in tasks {
            let fresh = retain_domains::GoldCache::new(Arc::clone(domain));
            std::hint::black_box(gold_replay(domain, task, &fresh)?);
            replays += 1;
        }
    }
    let cold = replays as f64 / start.elapsed().as_secs_f64();
    Ok(json!({"tool_calls_per_s": tool_calls_per_s, "gold_replays_per_s": warm, "gold_replays_cold_per_s": cold}))
}
