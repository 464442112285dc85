//! `retain buffer …` (statistics, export, sampling, integrity check of trajectory buffers) and
//! `retain bench buffer` (buffer vs plain JSON Lines, side by side).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use retain_buffers::bench::BenchConfig;
use retain_buffers::{BufferReader, DictionaryConfig, RecordFilter, SampleStrategy, WriterConfig};

use super::UsageError;

/// Operations on a trajectory buffer file (`trajectories/<domain>.zst` in a checkpoint).
#[derive(Debug, Subcommand)]
pub enum BufferCommand {
    /// Print per-domain statistics as JSON: count, success rate, reward mean/std/min/max, lengths, termination
    /// reasons, failure modes (the seeds' `get_statistics()`).
    Stats {
        /// The buffer file.
        file: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Export matching records to JSON Lines (the seeds' `export_trajectories(path, min_reward=0.7)`).
    Export {
        /// The buffer file.
        file: PathBuf,
        /// Output file (written atomically).
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Print a seeded sample of records as JSON Lines.
    Sample {
        /// The buffer file.
        file: PathBuf,
        /// Number of records.
        #[arg(short = 'n', long)]
        count: usize,
        /// uniform, reservoir, high-reward, recent or balanced (equal shares per domain).
        #[arg(long, default_value = "uniform", value_parser = parse_strategy)]
        strategy: SampleStrategy,
        /// Seed of the sampler: same file, seed and strategy give the same sample.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Read and check every block and record (checksums, decompression, framing, JSON); prints a JSON summary.
    Verify {
        /// The buffer file.
        file: PathBuf,
    },
}

/// Record filters shared by the buffer commands.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only this domain.
    #[arg(long)]
    domain: Option<String>,
    /// Only records with reward >= R.
    #[arg(long, value_name = "R", allow_negative_numbers = true)]
    min_reward: Option<f64>,
    /// Only records with reward <= R.
    #[arg(long, value_name = "R", allow_negative_numbers = true)]
    max_reward: Option<f64>,
    /// Only records produced at training step >= S.
    #[arg(long, value_name = "S")]
    min_step: Option<u64>,
    /// Only records produced at training step <= S.
    #[arg(long, value_name = "S")]
    max_step: Option<u64>,
    /// Only successful (true) or failed (false) episodes.
    #[arg(long, value_name = "BOOL")]
    success: Option<bool>,
}

impl FilterArgs {
    fn to_filter(&self) -> RecordFilter {
        RecordFilter {
            domain: self.domain.clone(),
            min_reward: self.min_reward,
            max_reward: self.max_reward,
            min_step: self.min_step,
            max_step: self.max_step,
            success: self.success,
        }
    }
}

fn parse_strategy(name: &str) -> Result<SampleStrategy, String> {
    name.parse()
}

/// Runs a buffer command.
pub fn run(cmd: BufferCommand) -> anyhow::Result<()> {
    match cmd {
        BufferCommand::Stats { file, filter } => {
            let mut reader = open(&file)?;
            let stats = retain_buffers::statistics(&mut reader, &filter.to_filter())?;
            println!("{}", serde_json::to_string_pretty(&stats)?);
        }
        BufferCommand::Export { file, output, filter } => {
            let mut reader = open(&file)?;
            let summary = retain_buffers::export_jsonl_to_path(&mut reader, &filter.to_filter(), &output)?;
            println!(
                "{}",
                serde_json::json!({"exported": summary.records, "bytes": summary.bytes, "output": output.display().to_string()})
            );
        }
        BufferCommand::Sample { file, count, strategy, seed, output, filter } => {
            let mut reader = open(&file)?;
            let records = retain_buffers::sample(&mut reader, count, strategy, &filter.to_filter(), seed)?;
            let mut text = String::new();
            for record in &records {
                text.push_str(&retain_buffers::to_json_line(record)?);
                text.push('\n');
            }
            match output {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
                None => std::io::stdout().lock().write_all(text.as_bytes()).context("writing to stdout")?,
            }
        }
        BufferCommand::Verify { file } => {
            let mut reader = open(&file)?;
            let records = reader.verify()?;
            println!(
                "{}",
                serde_json::json!({
                    "file": file.display().to_string(),
                    "records": records,
                    "blocks": reader.blocks().len(),
                    "opened_from_index": reader.opened_from_index(),
                    "recovery": reader.recovery().map(ToString::to_string),
                })
            );
        }
    }
    Ok(())
}

/// Opens a buffer, warning on stderr about a dropped torn tail.
fn open(file: &PathBuf) -> anyhow::Result<BufferReader> {
    let reader = BufferReader::open(file)?;
    if let Some(recovery) = reader.recovery() {
        eprintln!("warning: {}: {recovery}", file.display());
    }
    Ok(reader)
}

/// Options of `retain bench buffer`.
#[derive(Debug, Args)]
pub struct BenchBufferArgs {
    /// Number of synthetic τ²-style trajectories.
    #[arg(long, default_value_t = 20_000)]
    records: usize,
    /// Seed of the synthetic trajectories.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Records also carry token ids, loss mask and log-probs.
    #[arg(long)]
    with_tokens: bool,
    /// zstd compression level.
    #[arg(long, default_value_t = WriterConfig::default().compression_level, allow_negative_numbers = true)]
    level: i32,
    /// Target uncompressed block size in KiB.
    #[arg(long, default_value_t = WriterConfig::default().block_bytes / 1024)]
    block_kib: usize,
    /// Do not train a zstd dictionary.
    #[arg(long)]
    no_dictionary: bool,
    /// Random reads by id to time.
    #[arg(long, default_value_t = 2_000)]
    random_gets: usize,
    /// Directory for the temporary files (default: the system temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Runs `retain bench buffer` and prints its JSON report.
pub fn bench(args: BenchBufferArgs) -> anyhow::Result<()> {
    if args.records == 0 {
        return Err(UsageError("--records must be at least 1".into()).into());
    }
    let base = args.dir.unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("retain-bench-buffer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let config = BenchConfig {
        records: args.records,
        seed: args.seed,
        with_tokens: args.with_tokens,
        writer: WriterConfig {
            compression_level: args.level,
            block_bytes: args.block_kib.saturating_mul(1024),
            dictionary: (!args.no_dictionary).then(DictionaryConfig::default),
            ..WriterConfig::default()
        },
        dir: dir.clone(),
        random_gets: args.random_gets,
    };
    let result = retain_buffers::bench::run(&config);
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", serde_json::to_string_pretty(&result?)?);
    Ok(())
}
