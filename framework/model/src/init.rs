//! Seeded random initialisation of a fresh model (the tiny default starts here).

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::Qwen2Config;
use crate::error::Result;
use crate::mode::{mix_seed, name_salt};
use crate::qwen2::{EMBED, FINAL_NORM, LM_HEAD, Qwen2};

/// How weights are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitStyle {
    /// As transformers initialises Qwen2: matrices N(0, 0.02), biases 0, norm scales 1.
    HuggingFace,
    /// Every tensor random (biases N(0, 0.02), norm scales 1 + N(0, 0.1)): used by tests so that a broken bias
    /// or norm path changes the output.
    AllRandom,
}

/// Draws HF-named tensors for `config`; each tensor's stream is seeded by `seed` and its name, so adding a
/// tensor never changes the others.
pub fn init_tensors(
    config: &Qwen2Config,
    seed: u64,
    style: InitStyle,
    device: &Device,
) -> Result<HashMap<String, Tensor>> {
    let h = config.hidden_size;
    let kv = config.num_key_value_heads * config.head_dim();
    let inter = config.intermediate_size;
    let std = 0.02f32;
    let mut out = HashMap::new();
    let mut add = |name: String, shape: Vec<usize>, kind: Kind| -> Result<()> {
        let n: usize = shape.iter().product();
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(seed, name_salt(&name)));
        let values: Vec<f32> = match (kind, style) {
            (Kind::Matrix, _) => normal(&mut rng, n, 0.0, std),
            (Kind::Bias, InitStyle::HuggingFace) => vec![0.0; n],
            (Kind::Bias, InitStyle::AllRandom) => normal(&mut rng, n, 0.0, std),
            (Kind::Norm, InitStyle::HuggingFace) => vec![1.0; n],
            (Kind::Norm, InitStyle::AllRandom) => normal(&mut rng, n, 1.0, 0.1),
        };
        out.insert(name, Tensor::from_vec(values, shape, device)?);
        Ok(())
    };
    add(EMBED.to_string(), vec![config.vocab_size, h], Kind::Matrix)?;
    for i in 0..config.num_hidden_layers {
        let p = format!("model.layers.{i}");
        add(format!("{p}.input_layernorm.weight"), vec![h], Kind::Norm)?;
        add(format!("{p}.post_attention_layernorm.weight"), vec![h], Kind::Norm)?;
        for (m, out_dim) in [("q_proj", h), ("k_proj", kv), ("v_proj", kv)] {
            add(format!("{p}.self_attn.{m}.weight"), vec![out_dim, h], Kind::Matrix)?;
            add(format!("{p}.self_attn.{m}.bias"), vec![out_dim], Kind::Bias)?;
        }
        add(format!("{p}.self_attn.o_proj.weight"), vec![h, h], Kind::Matrix)?;
        add(format!("{p}.mlp.gate_proj.weight"), vec![inter, h], Kind::Matrix)?;
        add(format!("{p}.mlp.up_proj.weight"), vec![inter, h], Kind::Matrix)?;
        add(format!("{p}.mlp.down_proj.weight"), vec![h, inter], Kind::Matrix)?;
    }
    add(FINAL_NORM.to_string(), vec![h], Kind::Norm)?;
    if !config.tie_word_embeddings {
        add(LM_HEAD.to_string(), vec![config.vocab_size, h], Kind::Matrix)?;
    }
    Ok(out)
}

/// A freshly initialised, fully trainable model.
pub fn random_model(config: Qwen2Config, seed: u64, style: InitStyle, device: &Device) -> Result<Qwen2> {
    config.validate()?;
    let tensors = init_tensors(&config, seed, style, device)?;
    Qwen2::from_tensors(config, &tensors, device, std::path::Path::new("<random init>"))
}

#[derive(Clone, Copy)]
enum Kind {
    Matrix,
    Bias,
    Norm,
}

/// `n` draws from N(mean, std) by Box–Muller (rand 0.9 has no normal distribution without `rand_distr`).
pub(crate) fn normal(rng: &mut ChaCha8Rng, n: usize, mean: f32, std: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        out.push(mean + std * (r * theta.cos()) as f32);
        out.push(mean + std * (r * theta.sin()) as f32);
    }
    out.truncate(n);
    out
}
