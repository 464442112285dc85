//! AdamW (PyTorch's update rule) whose moments and step count are plain data, saved to and restored from
//! safetensors exactly — candle-nn's AdamW keeps them private.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::gradients::Gradients;
use crate::weights::{load_file, read_metadata, save_file};

/// AdamW hyper-parameters (PyTorch defaults except the learning rate, which the schedule supplies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamWConfig {
    /// First-moment decay.
    #[serde(default = "beta1")]
    pub beta1: f64,
    /// Second-moment decay.
    #[serde(default = "beta2")]
    pub beta2: f64,
    /// Denominator epsilon.
    #[serde(default = "eps")]
    pub eps: f64,
    /// Decoupled weight decay.
    #[serde(default = "weight_decay")]
    pub weight_decay: f64,
}

fn beta1() -> f64 {
    0.9
}
fn beta2() -> f64 {
    0.999
}
fn eps() -> f64 {
    1e-8
}
fn weight_decay() -> f64 {
    0.01
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig { beta1: beta1(), beta2: beta2(), eps: eps(), weight_decay: weight_decay() }
    }
}

/// The optimiser with its state: step count and, per weight, first and second moments.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamW {
    config: AdamWConfig,
    step: u64,
    exp_avg: BTreeMap<String, Vec<f32>>,
    exp_avg_sq: BTreeMap<String, Vec<f32>>,
}

const FORMAT: &str = "retain-adamw-v1";

impl AdamW {
    /// A fresh optimiser (step 0, zero moments created on first use).
    pub fn new(config: AdamWConfig) -> Self {
        AdamW { config, step: 0, exp_avg: BTreeMap::new(), exp_avg_sq: BTreeMap::new() }
    }

    /// Optimiser steps taken.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }

    /// Applies one update with learning rate `lr` to every weight in `params` that has a gradient.
    pub fn step(&mut self, params: &BTreeMap<String, Var>, grads: &Gradients, lr: f64) -> Result<()> {
        self.step += 1;
        let c = &self.config;
        let t = self.step as i32;
        let bc1 = 1.0 - c.beta1.powi(t);
        let bc2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
        let step_size = (lr / bc1) as f32;
        let decay = (1.0 - lr * c.weight_decay) as f32;
        let (b1, b2, eps) = (c.beta1 as f32, c.beta2 as f32, c.eps as f32);
        let (one_b1, one_b2, bc2_sqrt) = ((1.0 - c.beta1) as f32, (1.0 - c.beta2) as f32, bc2_sqrt as f32);
        for (name, var) in params {
            let Some(grad) = grads.get(name) else { continue };
            let g = grad.flatten_all()?.to_vec1::<f32>()?;
            let mut p = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            if g.len() != p.len() {
                return Err(ModelError::Input(format!(
                    "gradient of `{name}` has {} values, weight {}",
                    g.len(),
                    p.len()
                )));
            }
            let m = self.exp_avg.entry(name.clone()).or_insert_with(|| vec![0.0; p.len()]);
            let v = self.exp_avg_sq.entry(name.clone()).or_insert_with(|| vec![0.0; p.len()]);
            if m.len() != p.len() || v.len() != p.len() {
                return Err(ModelError::Input(format!("optimiser state of `{name}` does not match the weight's size")));
            }
            for i in 0..p.len() {
                let gi = g[i];
                p[i] *= decay;
                m[i] = b1 * m[i] + one_b1 * gi;
                v[i] = b2 * v[i] + one_b2 * gi * gi;
                let denom = v[i].sqrt() / bc2_sqrt + eps;
                p[i] -= step_size * m[i] / denom;
            }
            var.set(&Tensor::from_vec(p, var.shape(), var.device())?)?;
        }
        Ok(())
    }

    /// Writes the state to a safetensors file: `exp_avg.<name>`, `exp_avg_sq.<name>`, metadata with the step and
    /// hyper-parameters.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors = BTreeMap::new();
        for (prefix, map) in [("exp_avg", &self.exp_avg), ("exp_avg_sq", &self.exp_avg_sq)] {
            for (name, values) in map {
                tensors.insert(format!("{prefix}.{name}"), Tensor::from_slice(values, values.len(), &Device::Cpu)?);
            }
        }
        let config = serde_json::to_string(&self.config)
            .map_err(|source| ModelError::Json { path: path.to_path_buf(), source })?;
        let meta = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("step".to_string(), self.step.to_string()),
            ("config".to_string(), config),
        ]);
        save_file(path, &tensors, meta)
    }

    /// Restores a state written by [`AdamW::save`] (bit-exact).
    pub fn load(path: &Path) -> Result<Self> {
        let meta = read_metadata(path)?;
        let bad = |what: &str| ModelError::safetensors(path, format!("{what}; is this an optimiser state file?"));
        if meta.get("format").map(String::as_str) != Some(FORMAT) {
            return Err(bad(&format!("metadata `format` is not `{FORMAT}`")));
        }
        let step = meta.get("step").and_then(|s| s.parse::<u64>().ok()).ok_or_else(|| bad("missing `step`"))?;
        let config: AdamWConfig = serde_json::from_str(meta.get("config").ok_or_else(|| bad("missing `config`"))?)
            .map_err(|source| ModelError::Json { path: path.to_path_buf(), source })?;
        let mut out = AdamW::new(config);
        out.step = step;
        for (key, t) in load_file(path, &Device::Cpu)? {
            let values = t.to_vec1::<f32>()?;
            if let Some(name) = key.strip_prefix("exp_avg_sq.") {
                out.exp_avg_sq.insert(name.to_string(), values);
            } else if let Some(name) = key.strip_prefix("exp_avg.") {
                out.exp_avg.insert(name.to_string(), values);
            } else {
                return Err(bad(&format!("unexpected tensor `{key}`")));
            }
        }
        Ok(out)
    }
}
