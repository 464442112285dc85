//! `retain bench checkpoint`: save and verified-load throughput of the store on a model-shaped checkpoint (a
//! safetensors model of N f32 parameters plus an optimizer file with two moments), measured next to a plain copy
//! (`std::fs::copy`) and a plain read of the same bytes, with and without fsync, in one run so the ratios hold on
//! a shared machine.

use crate::checkpoint::Checkpoint;
use crate::error::{CheckpointError, Result};
use crate::fsutil::Durability;
use crate::hash::ConfigHash;
use crate::name::CheckpointName;
use crate::run_dir::RunDir;
use crate::writer::{CheckpointMeta, OPTIMIZER_FILE, RUN_FILES, WriteOptions};
use safetensors::tensor::{Dtype, TensorView};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Parameters per tensor of the synthetic model (a 4096 × 4096 matrix), so big models have many tensors.
const TENSOR_PARAMS: usize = 4096 * 4096;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Number of f32 model parameters (the optimizer file holds twice as many).
    pub params: usize,
    /// Label of the case in the report.
    pub label: String,
    /// Scratch directory (created, and everything in it removed afterwards).
    pub dir: PathBuf,
    /// Repetitions; the report gives the median time of each measurement.
    pub repeats: usize,
    /// Seed of the synthetic parameter values.
    pub seed: u64,
}

/// One measured operation.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// Median wall time in seconds.
    pub seconds: f64,
    /// Bytes moved per second, in MB/s (10^6 bytes).
    pub mb_per_s: f64,
}

/// The report of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// Case label.
    pub label: String,
    /// Model parameters.
    pub params: usize,
    /// Bytes of `model/model.safetensors` + `optimizer.safetensors`.
    pub bytes: u64,
    /// Repetitions (medians reported).
    pub repeats: usize,
    /// Store save with fsync: serialise model and optimizer with the `safetensors` crate into the checkpoint,
    /// hash, fsync, manifest, rename, `latest`.
    pub save: Timing,
    /// `std::fs::copy` of the same two files followed by fsync (the durable baseline).
    pub copy_fsync: Timing,
    /// Store save without fsync ([`Durability::NoSync`]).
    pub save_nosync: Timing,
    /// `std::fs::copy` of the same two files, no fsync.
    pub copy: Timing,
    /// `safetensors::serialize_to_file` of the same tensors into a plain directory (no hash, no fsync, no
    /// manifest): what saving costs without the store.
    pub safetensors_write: Timing,
    /// Open the manifest, verify every file's size and sha256, read both safetensors files into memory (one
    /// pass with the hash, the two files in parallel): the store's share of loading.
    pub load_verified: Timing,
    /// Afterwards, decoding every tensor of both files to `f32` vectors (a model loader's share; not in
    /// `load_verified` and not in the ratios).
    pub decode_f32: Timing,
    /// `std::fs::read` of the same two files (no hash, no decode).
    pub read: Timing,
    /// save time / copy_fsync time (aim ≤ 2).
    pub ratio_save_to_copy_fsync: f64,
    /// save_nosync time / copy time.
    pub ratio_save_nosync_to_copy: f64,
    /// save_nosync time / safetensors_write time: the store's own overhead on a save.
    pub ratio_save_nosync_to_safetensors_write: f64,
    /// load_verified time / copy time (aim ≤ 2).
    pub ratio_load_to_copy: f64,
    /// load_verified time / read time.
    pub ratio_load_to_read: f64,
}

/// Runs one case. The scratch directory is removed afterwards, also on failure.
pub fn run(config: &BenchConfig) -> Result<CaseReport> {
    std::fs::create_dir_all(&config.dir).map_err(|e| CheckpointError::io(&config.dir, e))?;
    let result = run_in(config);
    let _ = std::fs::remove_dir_all(&config.dir);
    result
}

fn run_in(config: &BenchConfig) -> Result<CaseReport> {
    let repeats = config.repeats.max(1);
    let model = synthetic_tensors("model", config.params, config.seed);
    let optimizer: Vec<(String, Vec<usize>, Vec<u8>)> = synthetic_tensors("exp_avg", config.params, config.seed ^ 1)
        .into_iter()
        .chain(synthetic_tensors("exp_avg_sq", config.params, config.seed ^ 2))
        .collect();
    let run_files = config.dir.join("run");
    std::fs::create_dir_all(&run_files).map_err(|e| CheckpointError::io(&run_files, e))?;
    let config_json = r#"{"bench": "checkpoint"}"#;
    let config_hash = ConfigHash::of_json(config_json)?;
    for (name, content) in RUN_FILES.iter().zip([config_json, "", r#"{"format_version":1,"domains":[],"rows":[]}"#]) {
        let path = run_files.join(name);
        std::fs::write(&path, content).map_err(|e| CheckpointError::io(&path, e))?;
    }

    let mut save = Vec::new();
    let mut save_nosync = Vec::new();
    let mut copy = Vec::new();
    let mut copy_fsync = Vec::new();
    let mut load = Vec::new();
    let mut read = Vec::new();
    let mut decode_times = Vec::new();
    let mut plain_writes = Vec::new();
    let mut bytes = 0;
    for rep in 0..repeats {
        for durability in [Durability::Fsync, Durability::NoSync] {
            let run = RunDir::new(config.dir.join(format!("ckpt-{rep}-{durability:?}")));
            let meta = CheckpointMeta {
                name: CheckpointName::mid_domain(0, rep as u64),
                domain: None,
                global_step: rep as u64,
                config_hash: config_hash.clone(),
            };
            let start = Instant::now();
            let mut writer = run.begin(meta, WriteOptions { durability, keep_last: None })?;
            writer.add_with("model/model.safetensors", |path| write_safetensors(&model, None, path))?;
            let step = HashMap::from([("step".to_owned(), rep.to_string())]);
            writer.add_with(OPTIMIZER_FILE, |path| write_safetensors(&optimizer, Some(step), path))?;
            writer.set_state(&serde_json::json!({"rng": rep}))?;
            writer.add_run_files(&run_files)?;
            let committed = writer.commit()?;
            let elapsed = start.elapsed().as_secs_f64();
            let checkpoint = committed.checkpoint;
            let sources = [checkpoint.path("model/model.safetensors"), checkpoint.path(OPTIMIZER_FILE)];
            bytes = sources.iter().map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)).sum();
            let copied = config.dir.join(format!("copy-{rep}-{durability:?}"));
            let copy_time = plain_copy(&sources, &copied, durability)?;
            match durability {
                Durability::Fsync => {
                    save.push(elapsed);
                    copy_fsync.push(copy_time);
                }
                Durability::NoSync => {
                    save_nosync.push(elapsed);
                    copy.push(copy_time);
                    read.push(plain_read(&sources)?);
                    plain_writes.push(plain_safetensors(&model, &optimizer, &copied)?);
                    let (loaded, decoded) = load_verified(checkpoint.dir())?;
                    load.push(loaded);
                    decode_times.push(decoded);
                }
            }
            let _ = std::fs::remove_dir_all(&copied);
            let _ = std::fs::remove_dir_all(run.path());
        }
    }
    let timing = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        let seconds = times[times.len() / 2];
        Timing { seconds, mb_per_s: bytes as f64 / 1e6 / seconds.max(1e-9) }
    };
    let (save, copy_fsync, save_nosync, copy, load_verified, read, decode_f32, safetensors_write) = (
        timing(&mut save),
        timing(&mut copy_fsync),
        timing(&mut save_nosync),
        timing(&mut copy),
        timing(&mut load),
        timing(&mut read),
        timing(&mut decode_times),
        timing(&mut plain_writes),
    );
    Ok(CaseReport {
        label: config.label.clone(),
        params: config.params,
        bytes,
        repeats,
        ratio_save_to_copy_fsync: save.seconds / copy_fsync.seconds,
        ratio_save_nosync_to_copy: save_nosync.seconds / copy.seconds,
        ratio_save_nosync_to_safetensors_write: save_nosync.seconds / safetensors_write.seconds,
        ratio_load_to_copy: load_verified.seconds / copy.seconds,
        ratio_load_to_read: load_verified.seconds / read.seconds,
        save,
        copy_fsync,
        save_nosync,
        copy,
        load_verified,
        read,
        decode_f32,
        safetensors_write,
    })
}

/// Deterministic little-endian f32 tensors (values in [-0.1, 0.1)) holding `params` parameters in total.
fn synthetic_tensors(prefix: &str, params: usize, seed: u64) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut tensors = Vec::new();
    let mut left = params;
    while left > 0 {
        let n = left.min(TENSOR_PARAMS);
        let mut data = Vec::with_capacity(n * 4);
        for _ in 0..n {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32;
            data.extend_from_slice(&((unit - 0.5) * 0.2).to_le_bytes());
        }
        tensors.push((format!("{prefix}.{}.weight", tensors.len()), vec![n], data));
        left -= n;
    }
    tensors
}

fn write_safetensors(
    tensors: &[(String, Vec<usize>, Vec<u8>)],
    metadata: Option<HashMap<String, String>>,
    path: &Path,
) -> std::result::Result<(), String> {
    let views = tensors
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data).map(|view| (name.clone(), view)).map_err(|e| e.to_string())
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    safetensors::serialize_to_file(views, metadata, path).map_err(|e| e.to_string())
}

/// Opens and fully verifies the checkpoint, reading each safetensors file into memory once (hash in the same
/// pass, both files in parallel); then, timed separately, decodes every tensor to `f32` (the part a model loader
/// does on top of the store). Returns (load seconds, decode seconds).
fn load_verified(dir: &Path) -> Result<(f64, f64)> {
    let start = Instant::now();
    let checkpoint = Checkpoint::open(dir)?;
    checkpoint.check_sizes()?;
    let big = ["model/model.safetensors", OPTIMIZER_FILE];
    let files = std::thread::scope(|scope| {
        let handles: Vec<_> = big.iter().map(|file| scope.spawn(|| checkpoint.read_verified(file))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(bench_error("a reading thread panicked"))))
            .collect::<Result<Vec<Vec<u8>>>>()
    })?;
    for entry in checkpoint.manifest().files.iter().filter(|f| !big.contains(&f.path.as_str())) {
        checkpoint.check_file(entry)?;
    }
    let loaded = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut count = 0;
    for (file, bytes) in big.iter().zip(&files) {
        count += decode(file, bytes)?;
    }
    if count == 0 {
        return Err(bench_error("decoded no parameters"));
    }
    Ok((loaded, start.elapsed().as_secs_f64()))
}

fn decode(file: &str, bytes: &[u8]) -> Result<usize> {
    let tensors = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bench_error(&format!("{file}: {e}")))?;
    let mut count = 0;
    for (_, view) in tensors.iter() {
        let values: Vec<f32> =
            view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        count += std::hint::black_box(&values).len();
    }
    Ok(count)
}

fn plain_copy(sources: &[PathBuf], dir: &Path, durability: Durability) -> Result<f64> {
    std::fs::create_dir_all(dir).map_err(|e| CheckpointError::io(dir, e))?;
    let start = Instant::now();
    for (i, source) in sources.iter().enumerate() {
        let target = dir.join(format!("{i}.bin"));
        std::fs::copy(source, &target).map_err(|e| CheckpointError::io(source, e))?;
        let file = std::fs::File::open(&target).map_err(|e| CheckpointError::io(&target, e))?;
        durability.sync_file(&file, &target)?;
    }
    Ok(start.elapsed().as_secs_f64())
}

type Tensors = [(String, Vec<usize>, Vec<u8>)];

/// The two safetensors files written straight into `dir`, without the store.
fn plain_safetensors(model: &Tensors, optimizer: &Tensors, dir: &Path) -> Result<f64> {
    std::fs::create_dir_all(dir).map_err(|e| CheckpointError::io(dir, e))?;
    let start = Instant::now();
    write_safetensors(model, None, &dir.join("plain-model.safetensors")).map_err(|e| bench_error(&e))?;
    write_safetensors(optimizer, None, &dir.join("plain-optimizer.safetensors")).map_err(|e| bench_error(&e))?;
    Ok(start.elapsed().as_secs_f64())
}

fn plain_read(sources: &[PathBuf]) -> Result<f64> {
    let start = Instant::now();
    let mut total = 0;
    for source in sources {
        total += std::fs::read(source).map_err(|e| CheckpointError::io(source, e))?.len();
    }
    if total == 0 {
        return Err(bench_error("read no bytes"));
    }
    Ok(start.elapsed().as_secs_f64())
}

fn bench_error(reason: &str) -> CheckpointError {
    CheckpointError::Producer { name: "bench".into(), file: "(bench)".into(), reason: reason.to_owned() }
}
