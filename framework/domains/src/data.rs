//! Where the official τ² data lives and which task sets exist.

use std::path::{Path, PathBuf};

use crate::error::DomainError;
use crate::task::{Task, load_splits, load_tasks};

/// Reads a data file as text; the error names the file.
pub(crate) fn read_text(path: &Path) -> Result<String, DomainError> {
    std::fs::read_to_string(path).map_err(|e| DomainError::io(path, e))
}

/// Reads and parses a JSON data file (databases, tasks, splits); errors name the file.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, DomainError> {
    serde_json::from_str(&read_text(path)?).map_err(|e| DomainError::parse(path, e))
}

/// Environment variable naming the τ² data directory (holding `airline/`, `retail/`, `telecom/`).
pub const DATA_ENV_VAR: &str = "RETAIN_TAU2_DATA";

/// The three official domains, in the continual-learning order.
pub const DOMAINS: [&str; 3] = ["airline", "retail", "telecom"];

/// Default destination of `retain data fetch-tau2`: `$XDG_DATA_HOME/retain/tau2` or `~/.local/share/retain/tau2`.
pub fn default_fetch_dest() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("retain").join("tau2");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".local").join("share").join("retain").join("tau2")
}

/// Whether `dir` looks like a τ² data directory (the three domains' databases present).
pub fn is_data_dir(dir: &Path) -> bool {
    dir.join("airline").join("db.json").is_file()
        && dir.join("retail").join("db.json").is_file()
        && dir.join("telecom").join("db.toml").is_file()
}

/// Finds the data: `$RETAIN_TAU2_DATA`, else `<workspace>/../shared/tau2` (given the workspace root), else
/// the fetch destination. Returns the first candidate that holds the data.
pub fn locate_data(workspace_root: Option<&Path>) -> Result<PathBuf, DomainError> {
    let mut candidates = Vec::new();
    if let Some(v) = std::env::var_os(DATA_ENV_VAR).filter(|v| !v.is_empty()) {
        candidates.push(PathBuf::from(v));
    }
    if let Some(root) = workspace_root {
        candidates.push(root.join("..").join("shared").join("tau2"));
    }
    candidates.push(default_fetch_dest());
    for c in &candidates {
        if is_data_dir(c) {
            return Ok(c.clone());
        }
    }
    let tried: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
    Err(DomainError::DataNotFound(format!(
        "τ² data not found (tried {}); run `retain data fetch-tau2` or set {DATA_ENV_VAR}",
        tried.join(", ")
    )))
}

/// A named set of official tasks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskSet {
    /// A split of `split_tasks.json` over `tasks.json` (`base`, `train`, `test`, telecom `full`).
    Split(String),
    /// Telecom's `small` set: every task of `tasks_small.json`.
    Small,
    /// Every task of `tasks.json`.
    All,
}

impl TaskSet {
    /// Parses `base`, `train`, `test`, `full`, `small` or `all`.
    pub fn parse(name: &str) -> Self {
        match name {
            "small" => TaskSet::Small,
            "all" => TaskSet::All,
            other => TaskSet::Split(other.to_owned()),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            TaskSet::Split(s) => s,
            TaskSet::Small => "small",
            TaskSet::All => "all",
        }
    }
}

/// Loads the tasks of `set` for `domain` from `data_dir/<domain>/` (split order for splits, file order otherwise).
pub fn load_task_set(data_dir: &Path, domain: &str, set: &TaskSet) -> Result<Vec<Task>, DomainError> {
    if !DOMAINS.contains(&domain) {
        return Err(DomainError::UnknownDomain(domain.to_owned()));
    }
    let dir = data_dir.join(domain);
    match set {
        TaskSet::Small => {
            if domain != "telecom" {
                return Err(DomainError::UnknownSplit {
                    domain: domain.to_owned(),
                    split: "small".to_owned(),
                    available: "base, train, test".to_owned(),
                });
            }
            load_tasks(&dir.join("tasks_small.json"))
        }
        TaskSet::All => load_tasks(&dir.join("tasks.json")),
        TaskSet::Split(name) => {
            let splits = load_splits(&dir.join("split_tasks.json"))?;
            let ids = splits.get(name.as_str()).ok_or_else(|| DomainError::UnknownSplit {
                domain: domain.to_owned(),
                split: name.clone(),
                available: splits.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
            let tasks = load_tasks(&dir.join("tasks.json"))?;
            let mut by_id: std::collections::HashMap<&str, &Task> = tasks.iter().map(|t| (t.id.as_str(), t)).collect();
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let task = by_id
                    .remove(id.as_str())
                    .ok_or_else(|| DomainError::UnknownTask { domain: domain.to_owned(), id: id.clone() })?;
                out.push(task.clone());
            }
            Ok(out)
        }
    }
}
