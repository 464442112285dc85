//! LoRA adapters on the linear layers (base frozen), saved merged or in PEFT's adapter layout.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::linear::LoraAdapter;
use crate::mode::{mix_seed, name_salt};
use crate::qwen2::{LINEAR_MODULES, Qwen2};
use crate::weights::{load_file, read_json, save_file, write_json};

/// PEFT adapter config file name.
pub const ADAPTER_CONFIG: &str = "adapter_config.json";
/// PEFT adapter weights file name.
pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";

/// Which linear layers get adapters, and their size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoraConfig {
    /// Rank r.
    pub rank: usize,
    /// Scaling numerator: the update is `alpha / r · B A x`.
    pub alpha: f64,
    /// Dropout on the adapter input during training.
    #[serde(default)]
    pub dropout: f32,
    /// Module names (`q_proj`, `k_proj`, `v_proj`, `o_proj`, `gate_proj`, `up_proj`, `down_proj`).
    pub target_modules: Vec<String>,
}

impl LoraConfig {
    /// Checks rank, dropout and module names.
    pub fn validate(&self) -> Result<()> {
        if self.rank == 0 {
            return Err(ModelError::Config("LoRA `rank` must be positive".to_string()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(ModelError::Config(format!("LoRA `dropout` {} must be in [0, 1)", self.dropout)));
        }
        if self.target_modules.is_empty() {
            return Err(ModelError::Config("LoRA `target_modules` is empty".to_string()));
        }
        for m in &self.target_modules {
            if !LINEAR_MODULES.contains(&m.as_str()) {
                return Err(ModelError::Config(format!(
                    "LoRA target module `{m}` is not one of {}",
                    LINEAR_MODULES.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// Freezes the base weights and attaches fresh adapters (A: PEFT's Kaiming-uniform, B: zeros, so the model's
/// output is unchanged until the first update). Only the adapters are trainable afterwards.
pub fn attach_lora(model: &mut Qwen2, cfg: &LoraConfig, seed: u64) -> Result<()> {
    attach_with(model, cfg, |path, in_dim, out_dim| {
        let device = candle_core::Device::Cpu;
        let bound = 1.0 / (in_dim as f64).sqrt();
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(seed, name_salt(path)));
        let a: Vec<f32> = (0..cfg.rank * in_dim).map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32).collect();
        Ok((
            Tensor::from_vec(a, (cfg.rank, in_dim), &device)?,
            Tensor::zeros((out_dim, cfg.rank), candle_core::DType::F32, &device)?,
        ))
    })
}

fn attach_with(
    model: &mut Qwen2,
    cfg: &LoraConfig,
    mut make: impl FnMut(&str, usize, usize) -> Result<(Tensor, Tensor)>,
) -> Result<()> {
    cfg.validate()?;
    model.freeze_base()?;
    let device = model.device().clone();
    let scale = cfg.alpha / cfg.rank as f64;
    let mut new_vars = Vec::new();
    model.for_each_linear_mut(|path, short, lin| {
        if !cfg.target_modules.iter().any(|m| m == short) {
            lin.lora = None;
            return Ok(());
        }
        let (out_dim, in_dim) = lin.weight.dims2()?;
        let (a, b) = make(path, in_dim, out_dim)?;
        let a = Var::from_tensor(&a.to_device(&device)?)?;
        let b = Var::from_tensor(&b.to_device(&device)?)?;
        new_vars.push((format!("{path}.lora_A.weight"), a.clone()));
        new_vars.push((format!("{path}.lora_B.weight"), b.clone()));
        lin.lora = Some(LoraAdapter { a, b, scale, dropout: cfg.dropout });
        Ok(())
    })?;
    for (name, var) in new_vars {
        model.register_trainable(name, var);
    }
    Ok(())
}

/// PEFT's `adapter_config.json` (the keys PEFT needs to load a LoRA adapter).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeftAdapterConfig {
    /// Always `"LORA"`.
    pub peft_type: String,
    /// Always `"CAUSAL_LM"`.
    pub task_type: String,
    /// Rank.
    pub r: usize,
    /// Alpha.
    pub lora_alpha: f64,
    /// Dropout.
    pub lora_dropout: f32,
    /// Target module names.
    pub target_modules: Vec<String>,
    /// Always `"none"` (biases are not adapted).
    pub bias: String,
    /// Where the base model lives (informational).
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
    /// Other PEFT keys, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn peft_name(trainable_name: &str) -> String {
    format!("base_model.model.{trainable_name}")
}

/// Writes `adapter_config.json` + `adapter_model.safetensors` (PEFT names, e.g.
/// `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`) into `dir`.
pub fn save_peft_adapter(model: &Qwen2, cfg: &LoraConfig, dir: &Path, base_model: Option<&str>) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io("creating directory", dir, e))?;
    let tensors: BTreeMap<String, Tensor> = model
        .trainable()
        .iter()
        .filter(|(n, _)| n.contains(".lora_"))
        .map(|(n, v)| (peft_name(n), v.as_detached_tensor()))
        .collect();
    if tensors.is_empty() {
        return Err(ModelError::Input("the model has no LoRA adapters to save; call attach_lora first".to_string()));
    }
    save_file(&dir.join(ADAPTER_WEIGHTS), &tensors, HashMap::from([("format".to_string(), "pt".to_string())]))?;
    let extra = BTreeMap::from([
        ("inference_mode".to_string(), serde_json::Value::Bool(true)),
        ("fan_in_fan_out".to_string(), serde_json::Value::Bool(false)),
        ("use_rslora".to_string(), serde_json::Value::Bool(false)),
        ("use_dora".to_string(), serde_json::Value::Bool(false)),
        ("init_lora_weights".to_string(), serde_json::Value::Bool(true)),
        ("modules_to_save".to_string(), serde_json::Value::Null),
    ]);
    let pc = PeftAdapterConfig {
        peft_type: "LORA".to_string(),
        task_type: "CAUSAL_LM".to_string(),
        r: cfg.rank,
        lora_alpha: cfg.alpha,
        lora_dropout: cfg.dropout,
        target_modules: cfg.target_modules.clone(),
        bias: "none".to_string(),
        base_model_name_or_path: base_model.map(str::to_string),
        extra,
    };
    write_json(&dir.join(ADAPTER_CONFIG), &pc)
}

/// Loads a PEFT LoRA adapter from `dir` onto `model` (base frozen, adapters trainable); returns its config.
pub fn load_peft_adapter(model: &mut Qwen2, dir: &Path) -> Result<LoraConfig> {
    let pc: PeftAdapterConfig = read_json(&dir.join(ADAPTER_CONFIG))?;
    if pc.peft_type != "LORA" {
        return Err(ModelError::Config(format!(
            "`{}` is a {} adapter; only LORA is supported",
            dir.display(),
            pc.peft_type
        )));
    }
    let cfg =
        LoraConfig { rank: pc.r, alpha: pc.lora_alpha, dropout: pc.lora_dropout, target_modules: pc.target_modules };
    let weights_path = dir.join(ADAPTER_WEIGHTS);
    let mut tensors = load_file(&weights_path, model.device())?;
    attach_with(model, &cfg, |path, in_dim, out_dim| {
        let mut take = |suffix: &str, shape: [usize; 2]| -> Result<Tensor> {
            // PEFT sometimes keeps the adapter name in the key (`lora_A.default.weight`); accept both.
            let plain = peft_name(&format!("{path}.{suffix}.weight"));
            let named = peft_name(&format!("{path}.{suffix}.default.weight"));
            let t = tensors
                .remove(&plain)
                .or_else(|| tensors.remove(&named))
                .ok_or_else(|| ModelError::MissingTensor { name: plain.clone(), dir: dir.to_path_buf() })?;
            if t.dims() != shape {
                return Err(ModelError::ShapeMismatch {
                    name: plain,
                    expected: shape.to_vec(),
                    found: t.dims().to_vec(),
                });
            }
            Ok(t.to_dtype(candle_core::DType::F32)?)
        };
        Ok((take("lora_A", [cfg.rank, in_dim])?, take("lora_B", [out_dim, cfg.rank])?))
    })?;
    Ok(cfg)
}
