//! A model directory in the Hugging Face layout: `config.json`, weights, `tokenizer.json`,
//! `generation_config.json` — loading a real Qwen2/Qwen2.5 checkpoint and saving one transformers can open.

use std::path::Path;

use candle_core::Device;

use crate::config::{GenerationDefaults, Qwen2Config};
use crate::error::{ModelError, Result};
use crate::qwen2::Qwen2;
use crate::tokenizer::Tokenizer;
use crate::weights::{load_dir_tensors, read_json, save_dir_tensors, write_json};

/// Config file name.
pub const CONFIG_FILE: &str = "config.json";
/// Tokenizer file name.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Generation defaults file name.
pub const GENERATION_CONFIG_FILE: &str = "generation_config.json";

/// Everything a model directory holds.
#[derive(Debug, Clone)]
pub struct Pretrained {
    /// The model, fully trainable.
    pub model: Qwen2,
    /// `tokenizer.json`, when present.
    pub tokenizer: Option<Tokenizer>,
    /// `generation_config.json`, when present.
    pub generation: Option<GenerationDefaults>,
}

/// Loads a Hugging Face Qwen2 directory (single or sharded safetensors; bf16/f16 converted to f32).
pub fn load_pretrained(dir: &Path, device: &Device) -> Result<Pretrained> {
    let config: Qwen2Config = read_json(&dir.join(CONFIG_FILE))?;
    if config.model_type != "qwen2" {
        return Err(ModelError::Config(format!(
            "`{}` has model_type `{}`; only `qwen2` checkpoints are supported",
            dir.join(CONFIG_FILE).display(),
            config.model_type
        )));
    }
    let tensors = load_dir_tensors(dir, device)?;
    let model = Qwen2::from_tensors(config, &tensors, device, dir)?;
    let tk_path = dir.join(TOKENIZER_FILE);
    let tokenizer = if tk_path.exists() { Some(Tokenizer::from_file(&tk_path)?) } else { None };
    let gen_path = dir.join(GENERATION_CONFIG_FILE);
    let generation = if gen_path.exists() { Some(read_json(&gen_path)?) } else { None };
    Ok(Pretrained { model, tokenizer, generation })
}

/// Options for [`save_pretrained`].
#[derive(Debug, Clone, Default)]
pub struct SaveOptions {
    /// Split weights into shards of at most this many bytes (with `model.safetensors.index.json`).
    pub max_shard_bytes: Option<usize>,
}

/// Writes `dir` in the Hugging Face layout (f32 weights, LoRA adapters merged in).
pub fn save_pretrained(
    dir: &Path,
    model: &Qwen2,
    tokenizer: Option<&Tokenizer>,
    generation: Option<&GenerationDefaults>,
    options: &SaveOptions,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io("creating directory", dir, e))?;
    let mut config = model.config().clone();
    config.torch_dtype = Some("float32".to_string());
    write_json(&dir.join(CONFIG_FILE), &config)?;
    save_dir_tensors(dir, &model.merged_tensors()?, options.max_shard_bytes)?;
    if let Some(tk) = tokenizer {
        tk.save(&dir.join(TOKENIZER_FILE))?;
    }
    let generation = generation.cloned().unwrap_or_else(|| GenerationDefaults {
        bos_token_id: config.bos_token_id,
        eos_token_id: config.eos_token_id.clone(),
        pad_token_id: None,
        do_sample: None,
        temperature: None,
        top_p: None,
        top_k: None,
        extra: Default::default(),
    });
    write_json(&dir.join(GENERATION_CONFIG_FILE), &generation)
}
