//! The buffer benchmark behind `retain bench buffer`: the same synthetic records written and read back as a
//! buffer and as plain JSON Lines (the seeds' format), side by side, so the comparison is a ratio measured in one
//! run on one machine.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{BufferError, Result};
use crate::reader::BufferReader;
use crate::record::Record;
use crate::synthetic::{SyntheticOptions, SyntheticTrajectories};
use crate::writer::{BufferWriter, WriterConfig};

/// What to benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchConfig {
    /// Number of synthetic records.
    pub records: usize,
    /// Seed of the synthetic records.
    pub seed: u64,
    /// Records carry token ids, loss mask and log-probs.
    pub with_tokens: bool,
    /// Writer settings of the buffer under test.
    pub writer: WriterConfig,
    /// Directory for the two files (removed afterwards by the caller).
    pub dir: PathBuf,
    /// Random `get` calls to time.
    pub random_gets: usize,
}

/// Throughput of one side (buffer or JSON Lines) in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Throughput {
    /// Wall-clock seconds taken.
    pub seconds: f64,
    /// MB/s (10^6 bytes) of uncompressed JSON Lines equivalent, wall clock.
    pub mb_per_s: f64,
    /// Records per second, wall clock.
    pub records_per_s: f64,
    /// CPU seconds this thread spent (Linux schedstat), if known: on a shared, loaded machine wall-clock figures
    /// mostly measure the neighbours, CPU time measures the code.
    pub cpu_seconds: Option<f64>,
    /// MB/s of JSON equivalent per CPU second.
    pub cpu_mb_per_s: Option<f64>,
}

/// Wall and CPU clocks started together.
struct Stopwatch {
    wall: Instant,
    cpu_ns: Option<u64>,
}

impl Stopwatch {
    fn start() -> Self {
        Self { wall: Instant::now(), cpu_ns: thread_cpu_ns() }
    }

    fn stop(&self, json_bytes: u64, records: usize) -> Throughput {
        let seconds = self.wall.elapsed().as_secs_f64().max(1e-9);
        let cpu_seconds = match (self.cpu_ns, thread_cpu_ns()) {
            (Some(start), Some(end)) => Some((end.saturating_sub(start) as f64 / 1e9).max(1e-9)),
            _ => None,
        };
        Throughput {
            seconds,
            mb_per_s: json_bytes as f64 / 1e6 / seconds,
            records_per_s: records as f64 / seconds,
            cpu_seconds,
            cpu_mb_per_s: cpu_seconds.map(|cpu| json_bytes as f64 / 1e6 / cpu),
        }
    }
}

/// CPU time of the calling thread in nanoseconds (`/proc/thread-self/schedstat`), Linux only.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Result of a benchmark run, printed as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// The configuration measured (without the directory).
    pub records: usize,
    /// Whether records carried token arrays.
    pub with_tokens: bool,
    /// zstd level used.
    pub compression_level: i32,
    /// Target block size.
    pub block_bytes: usize,
    /// Whether a dictionary was enabled.
    pub dictionary: bool,
    /// Size of the records as plain JSON Lines, one `Record` object per line (the baseline file and the "JSON
    /// equivalent" that throughputs are counted in).
    pub jsonl_bytes: u64,
    /// Size of the buffer file.
    pub buffer_bytes: u64,
    /// `jsonl_bytes / buffer_bytes`: how many times smaller the buffer is (aim ≥ 8).
    pub size_ratio: f64,
    /// Writing the buffer (append all, finish with fsync); aim ≥ 100 MB/s.
    pub buffer_write: Throughput,
    /// Reading the buffer (open, iterate and decode every record); aim ≥ 300 MB/s.
    pub buffer_read: Throughput,
    /// Writing plain JSON Lines (serialise, write, fsync).
    pub jsonl_write: Throughput,
    /// Reading plain JSON Lines (read and parse every line into a record).
    pub jsonl_read: Throughput,
    /// Buffer write speed / JSON Lines write speed (CPU-time based when available).
    pub write_speed_ratio: f64,
    /// Buffer read speed / JSON Lines read speed (CPU-time based when available).
    pub read_speed_ratio: f64,
    /// Random reads by id per second (each decodes one block).
    pub random_get_per_s: f64,
    /// Peak resident memory of the process (Linux `VmHWM`), in MB, if known.
    pub peak_rss_mb: Option<f64>,
}

/// Runs the benchmark: generates the records (untimed), then times buffer write, buffer read, JSON Lines write,
/// JSON Lines read, and random gets. Both files are checked to hold the same records.
pub fn run(config: &BenchConfig) -> Result<BenchReport> {
    let mut generator = SyntheticTrajectories::new(config.seed, SyntheticOptions { with_tokens: config.with_tokens });
    let records: Vec<Record> = (0..config.records).map(|_| generator.next_record()).collect();
    let buffer_path = config.dir.join("bench.rtb");
    let jsonl_path = config.dir.join("bench.jsonl");
    let buffer_name = buffer_path.display().to_string();
    for path in [&buffer_path, &jsonl_path] {
        if path.exists() {
            std::fs::remove_file(path).map_err(|e| BufferError::io(&path.display().to_string(), e))?;
        }
    }

    // Plain JSON Lines (the baseline and the definition of "JSON equivalent" bytes).
    let jsonl_name = jsonl_path.display().to_string();
    let clock = Stopwatch::start();
    let file = File::create(&jsonl_path).map_err(|e| BufferError::io(&jsonl_name, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut jsonl_bytes = 0u64;
    for record in &records {
        line.clear();
        serde_json::to_writer(&mut line, record)
            .map_err(|error| BufferError::Json { context: "bench JSON Lines".into(), error })?;
        line.push(b'\n');
        jsonl_bytes += line.len() as u64;
        out.write_all(&line).map_err(|e| BufferError::io(&jsonl_name, e))?;
    }
    let file = out.into_inner().map_err(|e| BufferError::io(&jsonl_name, e.into_error()))?;
    file.sync_all().map_err(|e| BufferError::io(&jsonl_name, e))?;
    let jsonl_write = clock.stop(jsonl_bytes, records.len());

    let clock = Stopwatch::start();
    let file = File::open(&jsonl_path).map_err(|e| BufferError::io(&jsonl_name, e))?;
    let mut lines = BufReader::with_capacity(1 << 20, file);
    let mut parsed = 0usize;
    let mut text = String::new();
    loop {
        text.clear();
        if lines.read_line(&mut text).map_err(|e| BufferError::io(&jsonl_name, e))? == 0 {
            break;
        }
        let record: Record = serde_json::from_str(&text)
            .map_err(|error| BufferError::Json { context: format!("{jsonl_name} line {}", parsed + 1), error })?;
        std::hint::black_box(&record);
        parsed += 1;
    }
    let jsonl_read = clock.stop(jsonl_bytes, parsed);

    // The buffer.
    let clock = Stopwatch::start();
    let mut writer = BufferWriter::create(&buffer_path, config.writer.clone())?;
    for record in &records {
        writer.append(record)?;
    }
    let summary = writer.finish()?;
    let buffer_write = clock.stop(jsonl_bytes, records.len());

    let clock = Stopwatch::start();
    let mut reader = BufferReader::open(&buffer_path)?;
    let mut read = 0usize;
    for record in reader.iter() {
        std::hint::black_box(record?);
        read += 1;
    }
    let buffer_read = clock.stop(jsonl_bytes, read);
    // Untimed: the buffer must hold exactly the records written.
    for (expected, record) in records.iter().zip(reader.iter()) {
        let record = record?;
        if record.record != *expected {
            return Err(BufferError::corrupt(&buffer_name, 0, format!("record {} reads back different", record.id)));
        }
    }
    if read != records.len() {
        return Err(BufferError::corrupt(&buffer_name, 0, format!("{read} of {} records read back", records.len())));
    }

    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let clock = Stopwatch::start();
    for _ in 0..config.random_gets {
        let id = rng.random_range(0..reader.len().max(1));
        std::hint::black_box(reader.get(id)?);
    }
    let random_get_per_s = config.random_gets as f64 / clock.wall.elapsed().as_secs_f64().max(1e-9);

    Ok(BenchReport {
        records: records.len(),
        with_tokens: config.with_tokens,
        compression_level: config.writer.compression_level,
        block_bytes: config.writer.block_bytes,
        dictionary: config.writer.dictionary.is_some(),
        jsonl_bytes,
        buffer_bytes: summary.file_bytes,
        size_ratio: jsonl_bytes as f64 / summary.file_bytes.max(1) as f64,
        buffer_write,
        buffer_read,
        jsonl_write,
        jsonl_read,
        write_speed_ratio: speed_ratio(&buffer_write, &jsonl_write),
        read_speed_ratio: speed_ratio(&buffer_read, &jsonl_read),
        random_get_per_s,
        peak_rss_mb: peak_rss_mb(),
    })
}

/// Ratio of two throughputs, by CPU time when both have it (stable under load), by wall clock otherwise.
fn speed_ratio(buffer: &Throughput, jsonl: &Throughput) -> f64 {
    match (buffer.cpu_mb_per_s, jsonl.cpu_mb_per_s) {
        (Some(buffer), Some(jsonl)) => buffer / jsonl,
        _ => buffer.mb_per_s / jsonl.mb_per_s,
    }
}

/// Peak resident set size from `/proc/self/status`, Linux only.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
