//! `retain data generate|demos|bench`: the embedded default data (generated databases, tasks in τ²'s schema,
//! oracle demonstrations) — thin wrappers over `retain_data::dataset`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use retain_config::{Domain, PolicyText};
use retain_data::dataset::{self, DbSource};
use retain_data::demo::corpus;
use retain_data::{GeneratorConfig, Split};

use super::UsageError;

/// `train` or `test`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SplitArg {
    /// Training tasks.
    Train,
    /// Test tasks (entities disjoint from the training tasks).
    Test,
}

impl From<SplitArg> for Split {
    fn from(s: SplitArg) -> Self {
        match s {
            SplitArg::Train => Split::Train,
            SplitArg::Test => Split::Test,
        }
    }
}

/// `full` or `compact`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyArg {
    /// τ²'s policy documents and full tool schemas (needs the τ² data).
    Full,
    /// Short, labelled policies and one-line tool schemas for the tiny model.
    Compact,
    /// The instruction and the ticket only (a model trained from scratch learns tools from demonstrations).
    Minimal,
}

impl From<PolicyArg> for PolicyText {
    fn from(p: PolicyArg) -> Self {
        match p {
            PolicyArg::Full => PolicyText::Full,
            PolicyArg::Compact => PolicyText::Compact,
            PolicyArg::Minimal => PolicyText::Minimal,
        }
    }
}

/// What every data command needs.
#[derive(Debug, Args)]
pub struct Common {
    /// Domain: airline, retail or telecom.
    #[arg(long)]
    pub domain: String,
    /// Number of tasks.
    #[arg(long, default_value_t = 100)]
    pub n: usize,
    /// Seed (fixes the database and every task).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Which split.
    #[arg(long, value_enum, default_value_t = SplitArg::Train)]
    pub split: SplitArg,
    /// Database: `generated` or `tau2:DIR` (τ²'s data root or the domain's folder).
    #[arg(long, default_value = "generated")]
    pub db: String,
    /// Generator settings as a JSON file (`retain_data::GeneratorConfig`; unknown keys are errors).
    #[arg(long)]
    pub generator: Option<PathBuf>,
}

impl Common {
    fn parse(&self) -> anyhow::Result<(Domain, DbSource, GeneratorConfig)> {
        let domain: Domain = self.domain.parse().map_err(|e| UsageError(format!("--domain: {e}")))?;
        let source: DbSource = self.db.parse().map_err(|e| UsageError(format!("{e}")))?;
        let config = match &self.generator {
            None => GeneratorConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("{}: not a valid generator config", path.display()))?
            }
        };
        config.validate().map_err(|e| UsageError(e.to_string()))?;
        Ok((domain, source, config))
    }
}

/// Options of `retain data generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    /// Domain, size, seed, split, database.
    pub common: Common,
    /// Output tasks file (JSON list in τ²'s task schema). A generated database is written next to it.
    #[arg(long)]
    pub out: PathBuf,
}

/// Options of `retain data demos`.
#[derive(Debug, Args)]
pub struct DemosArgs {
    #[command(flatten)]
    /// Domain, size, seed, split, database.
    pub common: Common,
    /// Policy text in the prompts.
    #[arg(long, value_enum, default_value_t = PolicyArg::Compact)]
    pub policy: PolicyArg,
    /// Output JSON Lines file, one demonstration per line.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the rendered texts as a tokenizer-training corpus to this file.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
}

/// Options of `retain data bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Tasks generated per domain.
    #[arg(long, default_value_t = 10_000)]
    pub n: usize,
    /// Demonstrations run per domain.
    #[arg(long, default_value_t = 1_000)]
    pub demos: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// `retain data generate`.
pub fn run_generate(args: GenerateArgs) -> anyhow::Result<()> {
    let (domain, source, config) = args.common.parse()?;
    let data = dataset::generate(domain, args.common.split.into(), args.common.n, args.common.seed, &source, &config)?;
    write_file(&args.out, serde_json::to_string_pretty(&data.tau2_tasks())?.as_bytes())?;
    let db_files = match &data.db {
        Some(db) => db.write_next_to(&args.out)?,
        None => Vec::new(),
    };
    let summary = serde_json::json!({
        "domain": domain, "split": Split::from(args.common.split), "tasks": data.tasks.len(), "out": args.out,
        "db_files": db_files, "families": data.family_counts(),
        "refusals": data.tasks.iter().filter(|t| t.refusal).count(),
    });
    println!("{summary}");
    Ok(())
}

/// `retain data demos`.
pub fn run_demos(args: DemosArgs) -> anyhow::Result<()> {
    let (domain, source, config) = args.common.parse()?;
    let demos = dataset::demos(
        domain,
        args.common.split.into(),
        args.common.n,
        args.common.seed,
        &source,
        &config,
        args.policy.into(),
    )?;
    let mut out = Vec::new();
    for d in &demos {
        serde_json::to_writer(&mut out, d)?;
        out.write_all(b"\n")?;
    }
    write_file(&args.out, &out)?;
    if let Some(path) = &args.corpus {
        write_file(path, corpus(&demos).as_bytes())?;
    }
    let summary = serde_json::json!({
        "domain": domain, "demos": demos.len(), "out": args.out, "corpus": args.corpus,
        "gold_pass_rate": if demos.is_empty() { 0.0 } else { demos.iter().filter(|d| d.reward == 1.0).count() as f64 / demos.len() as f64 },
    });
    println!("{summary}");
    Ok(())
}

/// `retain data bench`: generation speed, gold pass rate and episode lengths per domain (JSON lines).
pub fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    let config = GeneratorConfig::default();
    for domain in Domain::ALL {
        let report = dataset::bench(domain, args.n, args.demos, args.seed, &config)?;
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}
