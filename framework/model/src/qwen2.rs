//! The Qwen2 causal language model: embeddings, decoder layers, final norm, tied or untied LM head.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device, Tensor, Var};

use crate::attention::{Attention, Mlp};
use crate::config::Qwen2Config;
use crate::error::{ModelError, Result};
use crate::kv_cache::KvCache;
use crate::linear::{Linear, matmul_t};
use crate::mode::Mode;
use crate::norm::RmsNorm;
use crate::rope::Rope;

/// One decoder block: pre-norm attention and pre-norm SwiGLU MLP, each with a residual.
#[derive(Debug, Clone)]
pub struct DecoderLayer {
    /// Norm before attention.
    pub input_layernorm: RmsNorm,
    /// Self-attention.
    pub self_attn: Attention,
    /// Norm before the MLP.
    pub post_attention_layernorm: RmsNorm,
    /// The MLP.
    pub mlp: Mlp,
}

/// Token ids with their positions and attention mask, as one forward pass consumes them.
#[derive(Debug, Clone)]
pub struct ForwardInput {
    /// `(batch, t)` u32 token ids.
    pub ids: Tensor,
    /// `(batch, t)` u32 RoPE positions.
    pub positions: Tensor,
    /// `(batch, 1, t, keys)` additive mask (0 or −∞).
    pub mask: Tensor,
}

/// A Qwen2-architecture causal LM whose weights carry Hugging Face names.
///
/// Trainable weights are candle [`Var`]s listed in [`Qwen2::trainable`]; frozen ones are plain tensors, so the
/// backward pass never computes their gradients.
#[derive(Debug, Clone)]
pub struct Qwen2 {
    config: Qwen2Config,
    embed_tokens: Tensor,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    lm_head: Option<Tensor>,
    rope: Rope,
    trainable: BTreeMap<String, Var>,
    device: Device,
}

/// HF name of the embedding matrix.
pub const EMBED: &str = "model.embed_tokens.weight";
/// HF name of the untied LM head.
pub const LM_HEAD: &str = "lm_head.weight";
/// HF name of the final norm.
pub const FINAL_NORM: &str = "model.norm.weight";
/// Linear module names inside a decoder layer, as PEFT's `target_modules` spells them.
pub const LINEAR_MODULES: [&str; 7] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

impl Qwen2 {
    /// Builds the model from HF-named f32 tensors; every weight becomes trainable. Extra tensors are ignored;
    /// missing or mis-shaped ones are errors naming the tensor (`dir` is only used in messages).
    pub fn from_tensors(
        config: Qwen2Config,
        tensors: &HashMap<String, Tensor>,
        device: &Device,
        dir: &std::path::Path,
    ) -> Result<Self> {
        config.validate()?;
        let h = config.hidden_size;
        let hd = config.head_dim();
        let kv = config.num_key_value_heads * hd;
        let get = |name: &str, shape: &[usize]| -> Result<Tensor> {
            let t = tensors
                .get(name)
                .ok_or_else(|| ModelError::MissingTensor { name: name.to_string(), dir: dir.to_path_buf() })?;
            if t.dims() != shape {
                return Err(ModelError::ShapeMismatch {
                    name: name.to_string(),
                    expected: shape.to_vec(),
                    found: t.dims().to_vec(),
                });
            }
            Ok(t.to_dtype(DType::F32)?.to_device(device)?)
        };
        let linear = |prefix: &str, out: usize, inp: usize, bias: bool| -> Result<Linear> {
            let w = get(&format!("{prefix}.weight"), &[out, inp])?;
            let b = if bias { Some(get(&format!("{prefix}.bias"), &[out])?) } else { None };
            Ok(Linear::new(w, b, prefix))
        };
        let eps = config.rms_norm_eps;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let inter = config.intermediate_size;
            layers.push(DecoderLayer {
                input_layernorm: RmsNorm::new(get(&format!("{p}.input_layernorm.weight"), &[h])?, eps),
                self_attn: Attention {
                    q_proj: linear(&format!("{p}.self_attn.q_proj"), h, h, true)?,
                    k_proj: linear(&format!("{p}.self_attn.k_proj"), kv, h, true)?,
                    v_proj: linear(&format!("{p}.self_attn.v_proj"), kv, h, true)?,
                    o_proj: linear(&format!("{p}.self_attn.o_proj"), h, h, false)?,
                    num_heads: config.num_attention_heads,
                    num_kv_heads: config.num_key_value_heads,
                    head_dim: hd,
                },
                post_attention_layernorm: RmsNorm::new(
                    get(&format!("{p}.post_attention_layernorm.weight"), &[h])?,
                    eps,
                ),
                mlp: Mlp {
                    gate_proj: linear(&format!("{p}.mlp.gate_proj"), inter, h, false)?,
                    up_proj: linear(&format!("{p}.mlp.up_proj"), inter, h, false)?,
                    down_proj: linear(&format!("{p}.mlp.down_proj"), h, inter, false)?,
                },
            });
        }
        let embed_tokens = get(EMBED, &[config.vocab_size, h])?;
        // A checkpoint may carry `lm_head.weight` although tied (some exporters write it); tied wins.
        let lm_head = if config.tie_word_embeddings { None } else { Some(get(LM_HEAD, &[config.vocab_size, h])?) };
        let norm = RmsNorm::new(get(FINAL_NORM, &[h])?, eps);
        let rope = Rope::new(hd, config.rope_theta, device)?;
        let mut model = Qwen2 {
            config,
            embed_tokens,
            layers,
            norm,
            lm_head,
            rope,
            trainable: BTreeMap::new(),
            device: device.clone(),
        };
        model.make_all_trainable()?;
        Ok(model)
    }

    /// The architecture configuration.
    pub fn config(&self) -> &Qwen2Config {
        &self.config
    }

    /// Mutable configuration (token ids, metadata); the architecture numbers must not change.
    pub fn config_mut(&mut self) -> &mut Qwen2Config {
        &mut self.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The decoder layers (read access for adapters and tests).
    pub fn layers(&self) -> &[DecoderLayer] {
        &self.layers
    }

    /// Trainable weights by name (HF names for full fine-tuning; PEFT-style `…lora_A.weight` names for LoRA).
    pub fn trainable(&self) -> &BTreeMap<String, Var> {
        &self.trainable
    }

    /// Visits every base weight with its Hugging Face name (tied head not listed separately).
    pub fn for_each_weight_mut(&mut self, mut f: impl FnMut(&str, &mut Tensor) -> Result<()>) -> Result<()> {
        f(EMBED, &mut self.embed_tokens)?;
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let p = format!("model.layers.{i}");
            f(&format!("{p}.input_layernorm.weight"), &mut layer.input_layernorm.weight)?;
            f(&format!("{p}.post_attention_layernorm.weight"), &mut layer.post_attention_layernorm.weight)?;
            for (module, lin) in layer_linears_mut(layer) {
                let prefix = format!("{p}.{module}");
                f(&format!("{prefix}.weight"), &mut lin.weight)?;
                if let Some(b) = &mut lin.bias {
                    f(&format!("{prefix}.bias"), b)?;
                }
            }
        }
        f(FINAL_NORM, &mut self.norm.weight)?;
        if let Some(head) = &mut self.lm_head {
            f(LM_HEAD, head)?;
        }
        Ok(())
    }

    /// Visits every linear module of every layer with its HF module path (`model.layers.0.self_attn.q_proj`).
    pub fn for_each_linear_mut(&mut self, mut f: impl FnMut(&str, &str, &mut Linear) -> Result<()>) -> Result<()> {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            for (module, lin) in layer_linears_mut(layer) {
                let short = module.rsplit('.').next().unwrap_or(module);
                f(&format!("model.layers.{i}.{module}"), short, lin)?;
            }
        }
        Ok(())
    }

    /// Makes every base weight a trainable variable (full fine-tuning); drops any previous trainable set.
    pub fn make_all_trainable(&mut self) -> Result<()> {
        let mut vars = BTreeMap::new();
        self.for_each_weight_mut(|name, t| {
            let var = Var::from_tensor(&t.detach())?;
            *t = var.as_tensor().clone();
            vars.insert(name.to_string(), var);
            Ok(())
        })?;
        self.trainable = vars;
        Ok(())
    }

    /// Freezes every base weight (they stop receiving gradients); used before attaching LoRA adapters.
    pub fn freeze_base(&mut self) -> Result<()> {
        self.for_each_weight_mut(|_, t| {
            *t = t.detach();
            Ok(())
        })?;
        self.trainable.retain(|name, _| name.contains(".lora_"));
        Ok(())
    }

    /// Registers an extra trainable variable (LoRA adapters use this).
    pub(crate) fn register_trainable(&mut self, name: String, var: Var) {
        self.trainable.insert(name, var);
    }

    /// Every base weight under its HF name as stored (adapters not merged), detached.
    pub fn base_tensors(&self) -> Result<BTreeMap<String, Tensor>> {
        let mut out = BTreeMap::new();
        let mut copy = self.clone();
        copy.for_each_weight_mut(|name, t| {
            out.insert(name.to_string(), t.detach());
            Ok(())
        })?;
        Ok(out)
    }

    /// Every base weight under its HF name, with LoRA adapters merged in — what `model.safetensors` holds.
    pub fn merged_tensors(&self) -> Result<BTreeMap<String, Tensor>> {
        let mut out = BTreeMap::new();
        let mut copy = self.clone();
        let mut merged: HashMap<String, Tensor> = HashMap::new();
        copy.for_each_linear_mut(|path, _, lin| {
            merged.insert(format!("{path}.weight"), lin.merged_weight()?);
            Ok(())
        })?;
        copy.for_each_weight_mut(|name, t| {
            let value = merged.remove(name).unwrap_or_else(|| t.detach());
            out.insert(name.to_string(), value);
            Ok(())
        })?;
        Ok(out)
    }

    /// Runs the decoder on `input` and returns the final-normed hidden states `(batch, t, hidden)`.
    pub fn forward_hidden(&self, input: &ForwardInput, mut cache: Option<&mut KvCache>, mode: Mode) -> Result<Tensor> {
        let (b, t) = input.ids.dims2()?;
        let embed = match mode {
            Mode::Train { .. } => self.embed_tokens.clone(),
            Mode::Infer => self.embed_tokens.detach(),
        };
        let mut x = embed.index_select(&input.ids.flatten_all()?, 0)?.reshape((b, t, self.config.hidden_size))?;
        let tables = self.rope.tables(&input.positions)?;
        for (i, layer) in self.layers.iter().enumerate() {
            let normed = layer.input_layernorm.forward(&x, mode)?;
            let layer_cache = cache.as_deref_mut().map(|c| (c, i));
            let attn = layer.self_attn.forward(&normed, &tables, &input.mask, layer_cache, mode)?;
            x = (x + attn)?;
            let normed = layer.post_attention_layernorm.forward(&x, mode)?;
            x = (&x + layer.mlp.forward(&normed, mode)?)?;
        }
        if let Some(cache) = cache {
            cache.advance(t);
        }
        self.norm.forward(&x, mode)
    }

    /// Projects hidden states `(…, hidden)` to vocabulary logits `(…, vocab)` with the (tied) head.
    pub fn logits(&self, hidden: &Tensor, mode: Mode) -> Result<Tensor> {
        let head = self.lm_head.as_ref().unwrap_or(&self.embed_tokens);
        let head = if mode.is_train() { head.clone() } else { head.detach() };
        matmul_t(hidden, &head)
    }

    /// Allocates a KV cache for `batch` rows and `capacity` slots.
    pub fn new_cache(&self, batch: usize, capacity: usize) -> Result<KvCache> {
        KvCache::new(
            self.config.num_hidden_layers,
            batch,
            self.config.num_key_value_heads,
            self.config.head_dim(),
            capacity,
            &self.device,
        )
    }
}

fn layer_linears_mut(layer: &mut DecoderLayer) -> [(&'static str, &mut Linear); 7] {
    let a = &mut layer.self_attn;
    let m = &mut layer.mlp;
    [
        ("self_attn.q_proj", &mut a.q_proj),
        ("self_attn.k_proj", &mut a.k_proj),
        ("self_attn.v_proj", &mut a.v_proj),
        ("self_attn.o_proj", &mut a.o_proj),
        ("mlp.gate_proj", &mut m.gate_proj),
        ("mlp.up_proj", &mut m.up_proj),
        ("mlp.down_proj", &mut m.down_proj),
    ]
}
