//! The file-system steps that make writes durable and atomic: fsync of files and directories, write-temp-then-
//! rename for small files, and the checks that keep handed-over file names inside the checkpoint.

use crate::error::{CheckpointError, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether writes are flushed to stable storage before they become visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync every file and directory before the rename that publishes it: a power loss or kernel crash at any
    /// moment leaves earlier checkpoints valid. The default.
    #[default]
    Fsync,
    /// Skip fsync. A killed *process* still never leaves a half checkpoint visible (the rename is still last), but
    /// a power loss may. Meant for tests, benchmarks and throw-away runs on slow disks.
    NoSync,
}

impl Durability {
    /// fsyncs `file` (content and metadata) when durable.
    pub(crate) fn sync_file(self, file: &File, path: &Path) -> Result<()> {
        match self {
            Durability::Fsync => file.sync_all().map_err(|e| CheckpointError::io(path, e)),
            Durability::NoSync => Ok(()),
        }
    }

    /// fsyncs a directory, so the entries created or renamed in it are durable.
    pub(crate) fn sync_dir(self, dir: &Path) -> Result<()> {
        match self {
            Durability::Fsync => {
                let handle = File::open(dir).map_err(|e| CheckpointError::io(dir, e))?;
                handle.sync_all().map_err(|e| CheckpointError::io(dir, e))
            }
            Durability::NoSync => Ok(()),
        }
    }
}

/// Replaces `path` atomically with `bytes`: write a temporary sibling, fsync it, rename it over `path`, fsync the
/// directory. A reader sees the old content or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8], durability: Durability) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".tmp.{file_name}.{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&temp).map_err(|e| CheckpointError::io(&temp, e))?;
        file.write_all(bytes).map_err(|e| CheckpointError::io(&temp, e))?;
        durability.sync_file(&file, &temp)?;
        drop(file);
        std::fs::rename(&temp, path).map_err(|e| CheckpointError::io(path, e))?;
        durability.sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Checks that `name` is a plain relative path inside a checkpoint (`/`-separated, no `.`/`..`/empty parts, no
/// leading `/` or `.`-names that would collide with temporary files) and returns it as a native path.
pub(crate) fn checked_relative(name: &str) -> Result<PathBuf> {
    let invalid = |reason| CheckpointError::InvalidFileName { name: name.to_owned(), reason };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.contains('\\') || name.contains('\0') {
        return Err(invalid("it contains a backslash or NUL; use `/` to separate directories"));
    }
    let mut path = PathBuf::new();
    for part in name.split('/') {
        if part.is_empty() {
            return Err(invalid("it has an empty component (leading, trailing or doubled `/`)"));
        }
        if part.starts_with('.') {
            return Err(invalid("a component starts with `.` (`.`/`..` and hidden names are not allowed)"));
        }
        path.push(part);
    }
    if name == crate::manifest::MANIFEST_FILE {
        return Err(invalid("manifest.json is written by the store itself"));
    }
    Ok(path)
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn unix_time_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names_stay_inside_the_checkpoint() {
        assert!(checked_relative("model/model.safetensors").is_ok());
        for bad in ["", "/abs", "a//b", "a/", "../x", "a/../b", "./a", ".hidden", "a\\b", "manifest.json"] {
            assert!(checked_relative(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn atomic_write_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latest");
        write_atomic(&path, b"one\n", Durability::Fsync).unwrap();
        write_atomic(&path, b"two\n", Durability::Fsync).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }
}
