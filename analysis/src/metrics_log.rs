//! `metrics.jsonl`: one JSON object per training step, evaluation, domain end and run end (RUN_FORMAT.md).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{AnalysisError, Result, read_text};

/// The only `format_version` a `run_start` line may carry.
pub const METRICS_FORMAT_VERSION: u64 = 1;

/// Key names of the format, shared with the trainer that writes them.
pub mod keys {
    /// Event kind of a line.
    pub const EVENT: &str = "event";
    /// Optimizer steps since the start of the run.
    pub const GLOBAL_STEP: &str = "global_step";
    /// 0-based index of the domain in the task order.
    pub const DOMAIN_INDEX: &str = "domain_index";
    /// Domain name.
    pub const DOMAIN: &str = "domain";
    /// Optimizer steps since the start of the current domain.
    pub const STEP: &str = "step";
    /// Seconds since the run started (including time before a resume).
    pub const WALL_TIME_S: &str = "wall_time_s";
    /// Format version on the `run_start` line.
    pub const FORMAT_VERSION: &str = "format_version";
    /// Mean reward of the step's rollouts (TRL).
    pub const REWARD: &str = "reward";
    /// Mean KL to the reference policy (TRL).
    pub const KL: &str = "kl";
    /// Mean token entropy of the policy (TRL).
    pub const ENTROPY: &str = "entropy";
    /// Peak resident memory of the process (run_end).
    pub const PEAK_RSS_BYTES: &str = "peak_rss_bytes";
    /// Bytes of the compressed trajectory buffers (run_end).
    pub const BUFFER_BYTES: &str = "buffer_bytes";
    /// Trajectories held by the buffers (run_end).
    pub const BUFFER_ITEMS: &str = "buffer_items";
    /// Bytes held by strategy plugins beyond model and optimizer: EWC anchors and Fisher, replay state (run_end).
    pub const EXTRA_MEMORY_BYTES: &str = "extra_memory_bytes";

    /// `eval/<domain>/success`.
    pub fn eval_success(domain: &str) -> String {
        format!("eval/{domain}/success")
    }
}

/// What a line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventKind {
    /// First line of a run (optional): carries `format_version`.
    RunStart,
    /// One optimizer step.
    TrainStep,
    /// One evaluation (periodic, or the one that produced a matrix row).
    Eval,
    /// A domain finished (its checkpoint is written).
    DomainEnd,
    /// The run finished.
    RunEnd,
}

impl EventKind {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "run_start" => Self::RunStart,
            "train_step" => Self::TrainStep,
            "eval" => Self::Eval,
            "domain_end" => Self::DomainEnd,
            "run_end" => Self::RunEnd,
            _ => return None,
        })
    }
}

/// One validated line.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricEvent {
    /// 1-based line number in the file, for messages.
    pub line: usize,
    /// What the line records.
    pub kind: EventKind,
    /// Optimizer steps since the start of the run.
    pub global_step: u64,
    /// Domain position in the task order; absent for run-level lines and the evaluation before training.
    pub domain_index: Option<usize>,
    /// Domain name, with `domain_index`.
    pub domain: Option<String>,
    /// Step within the domain.
    pub step: Option<u64>,
    /// Seconds since the run started.
    pub wall_time_s: f64,
    /// Every other numeric field by its name (`reward`, `eval/airline/success`, `plugin/ewc/penalty`, …).
    pub values: BTreeMap<String, f64>,
    /// Every other string or boolean field.
    pub labels: BTreeMap<String, String>,
}

impl MetricEvent {
    /// A numeric field of the line.
    pub fn value(&self, key: &str) -> Option<f64> {
        self.values.get(key).copied()
    }
}

/// The validated content of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsLog {
    /// All lines in file order.
    pub events: Vec<MetricEvent>,
    /// Problems that did not stop the reading (an interrupted last line), for the report.
    pub warnings: Vec<String>,
}

impl MetricsLog {
    /// Reads `metrics.jsonl`. A last line cut short by an interrupted write (no final newline) becomes a warning;
    /// any other malformed line is an error with its line number.
    pub fn read(path: &Path) -> Result<Self> {
        let text = read_text(path, "metrics.jsonl is written by the trainer from its first step")?;
        Self::parse(&text, path)
    }

    /// Parses the text of a `metrics.jsonl`; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut log = MetricsLog::default();
        let lines: Vec<&str> = text.split('\n').collect();
        let last_content = lines.iter().rposition(|l| !l.trim().is_empty());
        let truncated_tail = !text.is_empty() && !text.ends_with('\n');
        for (i, raw) in lines.iter().enumerate() {
            let number = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let parsed = serde_json::from_str::<Value>(raw);
            let value = match parsed {
                Ok(v) => v,
                Err(e) if truncated_tail && Some(i) == last_content => {
                    log.warnings.push(format!(
                        "metrics.jsonl line {number}: incomplete last line ignored ({e}); the run was probably \
                         interrupted while writing it"
                    ));
                    continue;
                }
                Err(e) => {
                    return Err(AnalysisError::Malformed {
                        path: path.to_path_buf(),
                        line: Some(number),
                        message: e.to_string(),
                    });
                }
            };
            let event = parse_event(value, number).map_err(|message| AnalysisError::Invalid {
                path: path.to_path_buf(),
                line: Some(number),
                message,
            })?;
            if event.kind == EventKind::RunStart {
                match event.value(keys::FORMAT_VERSION) {
                    Some(v) if v == METRICS_FORMAT_VERSION as f64 => {}
                    other => {
                        return Err(AnalysisError::Invalid {
                            path: path.to_path_buf(),
                            line: Some(number),
                            message: format!(
                                "run_start has format_version {other:?}; this retain reads version \
                                 {METRICS_FORMAT_VERSION}"
                            ),
                        });
                    }
                }
            }
            log.events.push(event);
        }
        Ok(log)
    }

    /// Lines of one kind, in file order.
    pub fn of_kind(&self, kind: EventKind) -> impl Iterator<Item = &MetricEvent> {
        self.events.iter().filter(move |e| e.kind == kind)
    }

    /// The `run_end` line, if the run finished.
    pub fn run_end(&self) -> Option<&MetricEvent> {
        self.of_kind(EventKind::RunEnd).last()
    }

    /// The latest wall time recorded anywhere (the run's duration so far when it did not finish).
    pub fn last_wall_time_s(&self) -> Option<f64> {
        self.events.iter().map(|e| e.wall_time_s).fold(None, |acc, t| Some(acc.map_or(t, |a: f64| a.max(t))))
    }
}

fn parse_event(value: Value, line: usize) -> std::result::Result<MetricEvent, String> {
    let Value::Object(map) = value else {
        return Err("a line must be a JSON object".into());
    };
    let kind_name = map.get(keys::EVENT).and_then(Value::as_str).ok_or("missing string field `event`")?;
    let kind = EventKind::parse(kind_name).ok_or_else(|| {
        format!("unknown event {kind_name:?}; expected run_start, train_step, eval, domain_end or run_end")
    })?;
    let global_step = required_u64(&map, keys::GLOBAL_STEP)?;
    let wall_time_s = map.get(keys::WALL_TIME_S).and_then(Value::as_f64).ok_or("missing number field `wall_time_s`")?;
    let domain_index = optional_u64(&map, keys::DOMAIN_INDEX)?.map(|v| v as usize);
    let domain = match map.get(keys::DOMAIN) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("`domain` must be a string or null".into()),
    };
    let step = optional_u64(&map, keys::STEP)?;
    if domain_index.is_some() != domain.is_some() {
        return Err("`domain_index` and `domain` must be given together".into());
    }
    if matches!(kind, EventKind::TrainStep | EventKind::DomainEnd) && domain.is_none() {
        return Err(format!("a {kind_name} line needs `domain_index` and `domain`"));
    }
    if kind == EventKind::TrainStep && step.is_none() {
        return Err("a train_step line needs `step`".into());
    }
    let mut values = BTreeMap::new();
    let mut labels = BTreeMap::new();
    for (key, v) in map {
        if matches!(
            key.as_str(),
            keys::EVENT | keys::GLOBAL_STEP | keys::WALL_TIME_S | keys::DOMAIN_INDEX | keys::DOMAIN | keys::STEP
        ) {
            continue;
        }
        match v {
            Value::Null => {}
            Value::Number(n) => {
                let number = n.as_f64().ok_or_else(|| format!("`{key}` is not representable as a number"))?;
                values.insert(key, number);
            }
            Value::String(s) => {
                labels.insert(key, s);
            }
            Value::Bool(b) => {
                labels.insert(key, b.to_string());
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(format!(
                    "`{key}` holds a nested value; the format is flat — write `{key}/<part>` keys instead"
                ));
            }
        }
    }
    Ok(MetricEvent { line, kind, global_step, domain_index, domain, step, wall_time_s, values, labels })
}

fn required_u64(map: &serde_json::Map<String, Value>, key: &str) -> std::result::Result<u64, String> {
    optional_u64(map, key)?.ok_or_else(|| format!("missing field `{key}`"))
}

fn optional_u64(map: &serde_json::Map<String, Value>, key: &str) -> std::result::Result<Option<u64>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| format!("`{key}` must be a non-negative integer, found {v}")),
    }
}
