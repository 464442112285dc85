//! The run directory's files as `analysis/RUN_FORMAT.md` defines them: `config.json`, `metrics.jsonl` (one
//! line per event, flushed as written so a killed run keeps everything up to its last step) and `matrix.json`
//! (rewritten atomically after every evaluation row).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value};

use retain_analysis::matrix::MatrixFile;
use retain_analysis::metrics_log::{METRICS_FORMAT_VERSION, keys};
use retain_checkpoint::{Durability, write_atomic};

use crate::error::{Result, TrainerError};

/// `config.json` in a run directory.
pub const CONFIG_FILE: &str = "config.json";
/// `metrics.jsonl` in a run directory.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// `matrix.json` in a run directory.
pub const MATRIX_FILE: &str = "matrix.json";

/// Where a line happened in the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct At<'a> {
    /// Optimiser steps since the run started.
    pub global_step: u64,
    /// Index and name of the current domain (`None` before the first).
    pub domain: Option<(usize, &'a str)>,
    /// Optimiser steps since the domain started.
    pub step: Option<u64>,
}

/// Appends to `metrics.jsonl` and rewrites `matrix.json` of one run.
#[derive(Debug)]
pub struct RunLog {
    dir: PathBuf,
    metrics: File,
    started: Instant,
    earlier_seconds: f64,
}

impl RunLog {
    /// Opens the log of `dir` (creating `metrics.jsonl`) and writes `config.json`.
    pub fn create(dir: &Path, config_json: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| TrainerError::io(dir, e))?;
        write_atomic(&dir.join(CONFIG_FILE), config_json.as_bytes(), Durability::default())?;
        let path = dir.join(METRICS_FILE);
        let metrics =
            OpenOptions::new().create(true).append(true).open(&path).map_err(|e| TrainerError::io(&path, e))?;
        Ok(RunLog { dir: dir.to_path_buf(), metrics, started: Instant::now(), earlier_seconds: 0.0 })
    }

    /// Reopens the log of a run being resumed: appends to `metrics.jsonl` (already restored from the
    /// checkpoint), and counts wall time on from its last line.
    pub fn reopen(dir: &Path) -> Result<Self> {
        let path = dir.join(METRICS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| TrainerError::io(&path, e))?;
        let earlier_seconds = text
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l).ok()?.get(keys::WALL_TIME_S)?.as_f64())
            .unwrap_or(0.0);
        let metrics = OpenOptions::new().append(true).open(&path).map_err(|e| TrainerError::io(&path, e))?;
        Ok(RunLog { dir: dir.to_path_buf(), metrics, started: Instant::now(), earlier_seconds })
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Seconds since the run started.
    pub fn wall_seconds(&self) -> f64 {
        self.earlier_seconds + self.started.elapsed().as_secs_f64()
    }

    /// The `run_start` line.
    pub fn run_start(&mut self) -> Result<()> {
        let mut metrics = Map::new();
        metrics.insert(keys::FORMAT_VERSION.to_owned(), Value::from(METRICS_FORMAT_VERSION));
        self.line("run_start", At::default(), metrics)
    }

    /// Writes one event line: `event`, the position fields, `wall_time_s`, then `metrics`.
    pub fn line(&mut self, event: &str, at: At<'_>, metrics: Map<String, Value>) -> Result<()> {
        let mut line = Map::new();
        line.insert(keys::EVENT.to_owned(), Value::from(event));
        line.insert(keys::GLOBAL_STEP.to_owned(), Value::from(at.global_step));
        line.insert(keys::WALL_TIME_S.to_owned(), Value::from(self.wall_seconds()));
        line.insert(keys::DOMAIN_INDEX.to_owned(), at.domain.map_or(Value::Null, |(i, _)| Value::from(i)));
        line.insert(keys::DOMAIN.to_owned(), at.domain.map_or(Value::Null, |(_, d)| Value::from(d)));
        line.insert(keys::STEP.to_owned(), at.step.map_or(Value::Null, Value::from));
        line.extend(metrics);
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        let path = self.dir.join(METRICS_FILE);
        self.metrics.write_all(text.as_bytes()).map_err(|e| TrainerError::io(&path, e))?;
        self.metrics.flush().map_err(|e| TrainerError::io(&path, e))
    }

    /// Rewrites `matrix.json`.
    pub fn write_matrix(&self, matrix: &MatrixFile) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(matrix)
            .map_err(|source| TrainerError::Json { what: "matrix.json".to_owned(), source })?;
        json.push(b'\n');
        Ok(write_atomic(&self.dir.join(MATRIX_FILE), &json, Durability::default())?)
    }
}
