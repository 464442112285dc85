//! Reading and writing weight files in the Hugging Face layout: `model.safetensors`, or shards with
//! `model.safetensors.index.json`; any stored float dtype (bf16, f16, f32) is converted to f32 on load.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// Single-file weights name.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Shard index name.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// `model.safetensors.index.json`: which shard holds which tensor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardIndex {
    /// `{"total_size": bytes}` as transformers writes it.
    #[serde(default)]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// Tensor name → shard file name.
    pub weight_map: BTreeMap<String, String>,
}

/// Loads every tensor of a checkpoint directory (single file or shards), converted to f32.
pub fn load_dir_tensors(dir: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    let index_path = dir.join(INDEX_FILE);
    let files: Vec<std::path::PathBuf> = if index_path.exists() {
        let index: ShardIndex = read_json(&index_path)?;
        let mut names: Vec<&String> = index.weight_map.values().collect();
        names.sort();
        names.dedup();
        names.into_iter().map(|n| dir.join(n)).collect()
    } else {
        let single = dir.join(WEIGHTS_FILE);
        if !single.exists() {
            return Err(ModelError::Input(format!(
                "`{}` has neither `{WEIGHTS_FILE}` nor `{INDEX_FILE}`; point at a Hugging Face model directory",
                dir.display()
            )));
        }
        vec![single]
    };
    let mut out = HashMap::new();
    for file in files {
        for (name, t) in load_file(&file, device)? {
            let t = if t.dtype() == DType::F32 { t } else { t.to_dtype(DType::F32)? };
            out.insert(name, t);
        }
    }
    Ok(out)
}

/// Loads one safetensors file as-is (no dtype conversion).
pub fn load_file(path: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    if !path.exists() {
        return Err(ModelError::io("reading", path, std::io::Error::from(std::io::ErrorKind::NotFound)));
    }
    candle_core::safetensors::load(path, device).map_err(|e| ModelError::safetensors(path, e))
}

/// Reads the string metadata of a safetensors file header.
pub fn read_metadata(path: &Path) -> Result<HashMap<String, String>> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io("reading", path, e))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| ModelError::safetensors(path, e))?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

/// Writes tensors to one safetensors file with `metadata` (transformers requires `{"format": "pt"}`).
pub fn save_file(path: &Path, tensors: &BTreeMap<String, Tensor>, metadata: HashMap<String, String>) -> Result<()> {
    let contiguous: Vec<(String, Tensor)> =
        tensors.iter().map(|(n, t)| Ok((n.clone(), t.contiguous()?))).collect::<Result<_>>()?;
    safetensors::serialize_to_file(contiguous.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata), path)
        .map_err(|e| ModelError::safetensors(path, e))
}

/// Writes model weights into `dir`: one `model.safetensors`, or, when `max_shard_bytes` is given and exceeded,
/// `model-0000i-of-0000n.safetensors` shards plus the index — the two layouts transformers reads.
pub fn save_dir_tensors(dir: &Path, tensors: &BTreeMap<String, Tensor>, max_shard_bytes: Option<usize>) -> Result<()> {
    let pt = || HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes = |t: &Tensor| t.elem_count() * t.dtype().size_in_bytes();
    let total: usize = tensors.values().map(bytes).sum();
    let limit = max_shard_bytes.unwrap_or(usize::MAX);
    if total <= limit {
        return save_file(&dir.join(WEIGHTS_FILE), tensors, pt());
    }
    let mut shards: Vec<BTreeMap<String, Tensor>> = vec![BTreeMap::new()];
    let mut current = 0usize;
    for (name, t) in tensors {
        let size = bytes(t);
        if current > 0 && current + size > limit {
            shards.push(BTreeMap::new());
            current = 0;
        }
        current += size;
        if let Some(last) = shards.last_mut() {
            last.insert(name.clone(), t.clone());
        }
    }
    let n = shards.len();
    let mut weight_map = BTreeMap::new();
    for (i, shard) in shards.iter().enumerate() {
        let file = format!("model-{:05}-of-{:05}.safetensors", i + 1, n);
        save_file(&dir.join(&file), shard, pt())?;
        for name in shard.keys() {
            weight_map.insert(name.clone(), file.clone());
        }
    }
    let index = ShardIndex {
        metadata: BTreeMap::from([("total_size".to_string(), serde_json::Value::from(total))]),
        weight_map,
    };
    write_json(&dir.join(INDEX_FILE), &index)
}

/// Reads and parses a JSON file, naming it in errors.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io("reading", path, e))?;
    serde_json::from_str(&text).map_err(|source| ModelError::Json { path: path.to_path_buf(), source })
}

/// Writes pretty JSON, naming the file in errors.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text =
        serde_json::to_string_pretty(value).map_err(|source| ModelError::Json { path: path.to_path_buf(), source })?;
    std::fs::write(path, text + "\n").map_err(|e| ModelError::io("writing", path, e))
}
