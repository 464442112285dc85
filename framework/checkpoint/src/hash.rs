//! sha256 for checkpoint files (streamed in large chunks, so a multi-gigabyte model never sits in memory twice and
//! the hardware SHA instructions run at full speed) and the configuration hash that ties a checkpoint to the
//! resolved configuration it was written under.

use crate::error::{CheckpointError, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Chunk size of streamed reads: large enough that syscalls are negligible, small enough to stay in cache.
pub(crate) const CHUNK: usize = 4 << 20;

/// Size and sha256 (lower-case hex) of a file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// Bytes read.
    pub size: u64,
    /// sha256 of those bytes, lower-case hex.
    pub sha256: String,
}

/// Streams a file through sha256.
pub fn hash_file(path: &Path) -> Result<FileDigest> {
    let mut file = File::open(path).map_err(|e| CheckpointError::io(path, e))?;
    hash_reader(&mut file, path)
}

/// Streams `reader` through sha256, reading the next chunk on this thread while a second thread hashes the
/// previous one (reading and hashing cost about the same, so this nearly halves the time on two cores).
pub(crate) fn hash_reader(reader: &mut (impl Read + Send), path: &Path) -> Result<FileDigest> {
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, usize)>(2);
    let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(3);
    for _ in 0..3 {
        let _ = empty_tx.send(vec![0u8; CHUNK]);
    }
    std::thread::scope(|scope| {
        let hasher = scope.spawn(move || {
            let mut hasher = Sha256::new();
            for (buf, n) in full_rx {
                hasher.update(&buf[..n]);
                if empty_tx.send(buf).is_err() {
                    break;
                }
            }
            hasher.finalize()
        });
        let mut size = 0u64;
        let read_all = (|| {
            for mut buf in empty_rx.iter() {
                let n = read_full(reader, &mut buf).map_err(|e| CheckpointError::io(path, e))?;
                size += n as u64;
                if n == 0 || full_tx.send((buf, n)).is_err() {
                    break;
                }
            }
            Ok(())
        })();
        drop(full_tx);
        let digest =
            hasher.join().map_err(|_| CheckpointError::io(path, std::io::Error::other("hashing thread panicked")))?;
        read_all.map(|()| FileDigest { size, sha256: hex::encode(digest) })
    })
}

/// Reads until `buf` is full or the reader is exhausted; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads a file of `expected` bytes into memory and hashes it in the same pass: each chunk is read straight into
/// the result on this thread while a second thread hashes the chunks already read (one copy, no second read).
/// A file longer than `expected` is reported with its real size (its digest then covers the first `expected`
/// bytes only, which is irrelevant: the size already fails the check).
pub(crate) fn read_hashing(reader: &mut impl Read, path: &Path, expected: u64) -> Result<(Vec<u8>, FileDigest)> {
    let mut bytes = vec![0u8; usize::try_from(expected).unwrap_or(0)];
    let (tx, rx) = std::sync::mpsc::sync_channel::<&[u8]>(4);
    let (filled, digest) = std::thread::scope(|scope| {
        let hasher = scope.spawn(move || {
            let mut hasher = Sha256::new();
            for chunk in rx {
                hasher.update(chunk);
            }
            hasher.finalize()
        });
        let mut filled = 0usize;
        let mut read_all = Ok(());
        for chunk in bytes.chunks_mut(CHUNK) {
            let n = match read_full(reader, chunk) {
                Ok(n) => n,
                Err(e) => {
                    read_all = Err(CheckpointError::io(path, e));
                    break;
                }
            };
            filled += n;
            let short = n < chunk.len();
            if tx.send(&chunk[..n]).is_err() || short {
                break;
            }
        }
        drop(tx);
        let digest =
            hasher.join().map_err(|_| CheckpointError::io(path, std::io::Error::other("hashing thread panicked")));
        read_all.and(digest).map(|digest| (filled, digest))
    })?;
    let extra = std::io::copy(reader, &mut std::io::sink()).map_err(|e| CheckpointError::io(path, e))?;
    bytes.truncate(filled);
    Ok((bytes, FileDigest { size: filled as u64 + extra, sha256: hex::encode(digest) }))
}

/// sha256 of an in-memory byte slice, lower-case hex.
pub fn hash_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The hash of a resolved configuration: sha256 of its canonical JSON (keys sorted at every level, no whitespace),
/// so the same configuration gives the same hash whether it comes from a TOML file, from `--set` overrides or from
/// a checkpoint's `config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ConfigHash(pub String);

impl std::fmt::Display for ConfigHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl ConfigHash {
    /// Hash of a resolved configuration, through [`retain_config::Config::to_json`].
    pub fn of_config(config: &retain_config::Config) -> Result<Self> {
        let json =
            config.to_json().map_err(|source| CheckpointError::Json { what: "the configuration".into(), source })?;
        Self::of_json(&json)
    }

    /// Hash of a configuration given as JSON text (e.g. a checkpoint's `config.json`).
    pub fn of_json(json: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|source| CheckpointError::Json { what: "the configuration JSON".into(), source })?;
        Ok(Self::of_value(&value))
    }

    /// Hash of a configuration given as a JSON value.
    pub fn of_value(value: &serde_json::Value) -> Self {
        let mut canonical = String::new();
        write_canonical(value, &mut canonical);
        ConfigHash(format!("sha256:{}", hash_bytes(canonical.as_bytes())))
    }
}

/// Canonical JSON: object keys sorted by their UTF-8 bytes at every level, no insignificant whitespace, numbers
/// and strings as serde_json prints them.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_ignores_key_order_and_whitespace() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2.5], "x": "s"}}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":{"x":"s","y":[1,2.5]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":{"x":"s","y":[1,2.5]},"b":1}"#);
        assert_eq!(ConfigHash::of_value(&a), ConfigHash::of_value(&b));
        let c: serde_json::Value = serde_json::from_str(r#"{"a":{"x":"s","y":[1,2.5]},"b":2}"#).unwrap();
        assert_ne!(ConfigHash::of_value(&a), ConfigHash::of_value(&c));
    }

    #[test]
    fn file_hash_matches_known_vector() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let digest = hash_file(&path).unwrap();
        assert_eq!(digest.size, 3);
        assert_eq!(digest.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
