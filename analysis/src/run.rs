//! A run directory (or a checkpoint directory holding the same three files) read and cross-checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{AnalysisError, Result, read_text};
use crate::matrix::AccuracyMatrix;
use crate::metrics_log::{MetricsLog, keys};

/// File names of the run-directory format.
pub mod files {
    /// The resolved configuration.
    pub const CONFIG: &str = "config.json";
    /// The metrics log.
    pub const METRICS: &str = "metrics.jsonl";
    /// The accuracy matrix.
    pub const MATRIX: &str = "matrix.json";
    /// Present in checkpoint directories only.
    pub const CHECKPOINT_MANIFEST: &str = "manifest.json";
    /// Prefix of per-domain checkpoint directories (`checkpoint_task_{i}`).
    pub const CHECKPOINT_PREFIX: &str = "checkpoint_task_";
}

/// One CL strategy or reward plugin as the config names it.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginEntry {
    /// Plugin name.
    pub name: String,
    /// Its numeric and boolean settings (nested tables flattened one level), for the method label.
    pub settings: BTreeMap<String, String>,
}

impl PluginEntry {
    /// `name(key=value, …)`, or just `name` without settings.
    pub fn label(&self) -> String {
        if self.settings.is_empty() {
            return self.name.clone();
        }
        let settings: Vec<String> = self.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}({})", self.name, settings.join(", "))
    }
}

/// The fields of the resolved config the analysis uses; everything else is ignored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunInfo {
    /// `run.name`.
    pub name: Option<String>,
    /// `run.seed`.
    pub seed: Option<u64>,
    /// `sequence.task_order`.
    pub task_order: Option<Vec<String>>,
    /// `sequence.num_steps_per_task`.
    pub num_steps_per_task: Option<u64>,
    /// `trainer.algorithm`.
    pub algorithm: Option<String>,
    /// `plugins.strategies`, in config order.
    pub strategies: Vec<PluginEntry>,
    /// `plugins.rewards`, in config order.
    pub rewards: Vec<PluginEntry>,
}

impl RunInfo {
    /// Reads the fields the analysis needs from `config.json`; a field of the wrong type is an error naming it.
    pub fn read(path: &Path) -> Result<Self> {
        let text = read_text(
            path,
            "is this a run directory? `retain run` writes config.json, metrics.jsonl and \
                           matrix.json into runs/<name>/ (and copies them into each checkpoint_task_<i>/)",
        )?;
        let value: Value = serde_json::from_str(&text).map_err(|e| AnalysisError::Malformed {
            path: path.to_path_buf(),
            line: None,
            message: e.to_string(),
        })?;
        Self::from_value(&value).map_err(|message| AnalysisError::Invalid {
            path: path.to_path_buf(),
            line: None,
            message,
        })
    }

    /// Extracts the fields from a parsed config.
    pub fn from_value(config: &Value) -> std::result::Result<Self, String> {
        if !config.is_object() {
            return Err("the resolved config must be a JSON object".into());
        }
        let string = |pointer: &str| -> std::result::Result<Option<String>, String> {
            match config.pointer(pointer) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("`{}` must be a string", dotted(pointer))),
            }
        };
        let integer = |pointer: &str| -> std::result::Result<Option<u64>, String> {
            match config.pointer(pointer) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => {
                    v.as_u64().map(Some).ok_or_else(|| format!("`{}` must be a non-negative integer", dotted(pointer)))
                }
            }
        };
        let task_order = match config.pointer("/sequence/task_order") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("`sequence.task_order` must be a list of domain names")?,
            ),
            Some(_) => return Err("`sequence.task_order` must be a list of domain names".into()),
        };
        Ok(Self {
            name: string("/run/name")?,
            seed: integer("/run/seed")?,
            task_order,
            num_steps_per_task: integer("/sequence/num_steps_per_task")?,
            algorithm: string("/trainer/algorithm")?,
            strategies: plugin_list(config, "/plugins/strategies")?,
            rewards: plugin_list(config, "/plugins/rewards")?,
        })
    }

    /// The method as a short label: the strategies (or `naive`), then any reward plugins.
    pub fn method_label(&self) -> String {
        let mut label = if self.strategies.is_empty() {
            "naive".to_owned()
        } else {
            self.strategies.iter().map(PluginEntry::label).collect::<Vec<_>>().join(" + ")
        };
        if !self.rewards.is_empty() {
            let rewards: Vec<String> = self.rewards.iter().map(PluginEntry::label).collect();
            label.push_str(&format!("; reward {}", rewards.join(" + ")));
        }
        label
    }
}

fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

fn plugin_list(config: &Value, pointer: &str) -> std::result::Result<Vec<PluginEntry>, String> {
    let items = match config.pointer(pointer) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(format!("`{}` must be a list of {{name, …}} tables", dotted(pointer))),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`{}[{i}]` needs a string `name`", dotted(pointer)))?;
            let mut settings = BTreeMap::new();
            if let Value::Object(map) = item {
                for (key, v) in map {
                    match v {
                        Value::Object(inner) => {
                            for (inner_key, inner_v) in inner {
                                if let Some(s) = scalar(inner_v) {
                                    settings.insert(inner_key.clone(), s);
                                }
                            }
                        }
                        // A strategy's `weight` means nothing (only rewards are weighted).
                        _ if key == "name"
                            || key == "priority"
                            || (key == "weight" && pointer.ends_with("strategies")) => {}
                        _ => {
                            if let Some(s) = scalar(v) {
                                settings.insert(key.clone(), s);
                            }
                        }
                    }
                }
            }
            Ok(PluginEntry { name: name.to_owned(), settings })
        })
        .collect()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Everything read from one run (or checkpoint) directory.
#[derive(Debug, Clone)]
pub struct Run {
    /// Name used in tables, plots and file names: `run.name`, else the directory name (made unique by the
    /// report when several runs share it).
    pub name: String,
    /// The directory's last path component, for messages and the report (never an absolute path).
    pub dir_name: String,
    /// The directory itself.
    pub dir: PathBuf,
    /// Whether the directory is a checkpoint (holds `manifest.json`) rather than a run directory.
    pub is_checkpoint: bool,
    /// Fields of the resolved config.
    pub info: RunInfo,
    /// The accuracy matrix.
    pub matrix: AccuracyMatrix,
    /// The metrics log.
    pub log: MetricsLog,
    /// Names of the `checkpoint_task_{i}` directories found, in domain order.
    pub checkpoints: Vec<String>,
    /// Problems that did not stop the reading.
    pub warnings: Vec<String>,
}

impl Run {
    /// Reads `config.json`, `matrix.json` and `metrics.jsonl` from `dir` and checks that they agree with each
    /// other (same task order; every domain named in the log is in it, at its index).
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(AnalysisError::MissingFile {
                path: dir.to_path_buf(),
                hint: "expected a run directory (runs/<name>) or a checkpoint directory (checkpoint_task_<i>)".into(),
            });
        }
        let info = RunInfo::read(&dir.join(files::CONFIG))?;
        let matrix_path = dir.join(files::MATRIX);
        let matrix = AccuracyMatrix::read(&matrix_path)?;
        let metrics_path = dir.join(files::METRICS);
        let log = MetricsLog::read(&metrics_path)?;
        if let Some(order) = &info.task_order
            && *order != matrix.domains
        {
            return Err(AnalysisError::Invalid {
                path: matrix_path,
                line: None,
                message: format!(
                    "`domains` {:?} differs from sequence.task_order {:?} of config.json",
                    matrix.domains, order
                ),
            });
        }
        for event in &log.events {
            if let (Some(index), Some(domain)) = (event.domain_index, &event.domain)
                && matrix.domains.get(index) != Some(domain)
            {
                return Err(AnalysisError::Invalid {
                    path: metrics_path,
                    line: Some(event.line),
                    message: format!(
                        "domain {domain:?} at domain_index {index} does not match the task order {:?}",
                        matrix.domains
                    ),
                });
            }
            if let Some(key) = event.values.keys().find(|k| is_unknown_eval_domain(k, &matrix.domains)) {
                return Err(AnalysisError::Invalid {
                    path: metrics_path,
                    line: Some(event.line),
                    message: format!("`{key}` names a domain that is not in the task order {:?}", matrix.domains),
                });
            }
        }
        let dir_name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".to_owned());
        let is_checkpoint = dir.join(files::CHECKPOINT_MANIFEST).is_file();
        let name = info.name.clone().unwrap_or_else(|| dir_name.clone());
        let name = if is_checkpoint && name != dir_name { format!("{name}@{dir_name}") } else { name };
        let warnings = log.warnings.clone();
        Ok(Self {
            name,
            dir_name,
            dir: dir.to_path_buf(),
            is_checkpoint,
            checkpoints: list_checkpoints(dir)?,
            info,
            matrix,
            log,
            warnings,
        })
    }

    /// Total wall time: from `run_end`, else the latest time logged (an unfinished run).
    pub fn wall_time_s(&self) -> Option<f64> {
        self.log.run_end().map(|e| e.wall_time_s).or_else(|| self.log.last_wall_time_s())
    }

    /// A value of the `run_end` line (`peak_rss_bytes`, `buffer_bytes`, …).
    pub fn run_end_value(&self, key: &str) -> Option<f64> {
        self.log.run_end().and_then(|e| e.value(key))
    }

    /// Whether every domain of the task order was trained and the run wrote its `run_end` line.
    pub fn finished(&self) -> bool {
        self.matrix.after.len() == self.matrix.domains.len() && self.log.run_end().is_some()
    }

    /// Peak resident memory in bytes, when the run reported it.
    pub fn peak_rss_bytes(&self) -> Option<f64> {
        self.run_end_value(keys::PEAK_RSS_BYTES)
    }
}

fn is_unknown_eval_domain(key: &str, domains: &[String]) -> bool {
    let mut parts = key.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("eval"), Some(domain), Some(_)) => !domains.iter().any(|d| d == domain),
        _ => false,
    }
}

fn list_checkpoints(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir).map_err(|e| AnalysisError::io(dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| AnalysisError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let index = name.strip_prefix(files::CHECKPOINT_PREFIX).and_then(|rest| rest.parse::<usize>().ok());
        if let Some(index) = index
            && entry.path().is_dir()
        {
            found.push((index, name));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, name)| name).collect())
}
