//! `config.json` of a Hugging Face Qwen2 checkpoint, as a typed struct, plus the tiny embedded default.
//!
//! This mirrors a *foreign* file format, so unknown keys are kept (in `extra`) and written back instead of being
//! rejected: a real Qwen2.5 `config.json` carries keys this crate does not use (`initializer_range`, …).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// One token id or several: HF writes `eos_token_id` either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    /// A single id.
    One(u32),
    /// A list of ids.
    Many(Vec<u32>),
}

impl TokenIds {
    /// The ids as a list, whichever form the file used.
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::Many(ids) => ids.clone(),
        }
    }
}

/// The architecture hyper-parameters of a Qwen2 causal LM, with Hugging Face's key names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Qwen2Config {
    /// Always `["Qwen2ForCausalLM"]` for this architecture; transformers uses it to pick the class.
    #[serde(default = "default_architectures")]
    pub architectures: Vec<String>,
    /// Always `"qwen2"`.
    #[serde(default = "default_model_type")]
    pub model_type: String,
    /// Vocabulary size (rows of the embedding matrix).
    pub vocab_size: usize,
    /// Residual stream width.
    pub hidden_size: usize,
    /// Width of the SwiGLU MLP.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads per layer.
    pub num_attention_heads: usize,
    /// Key/value heads per layer (grouped-query attention); divides `num_attention_heads`.
    pub num_key_value_heads: usize,
    /// Longest position the model was trained for; generation refuses to go beyond it.
    pub max_position_embeddings: usize,
    /// RoPE base frequency (Qwen2.5 uses 1 000 000).
    pub rope_theta: f64,
    /// Epsilon inside RMSNorm.
    pub rms_norm_eps: f64,
    /// Whether the LM head shares the embedding matrix.
    pub tie_word_embeddings: bool,
    /// MLP activation; only `"silu"` (SwiGLU) is supported.
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Sliding-window attention switch; must be false (Qwen2.5 ships it disabled).
    #[serde(default)]
    pub use_sliding_window: bool,
    /// Sliding-window size (unused while `use_sliding_window` is false; kept for transformers).
    #[serde(default)]
    pub sliding_window: Option<usize>,
    /// Layers using full attention when sliding windows are on (kept for transformers).
    #[serde(default)]
    pub max_window_layers: Option<usize>,
    /// Beginning-of-sequence id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token_id: Option<u32>,
    /// End-of-sequence id(s); generation stops on any of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token_id: Option<TokenIds>,
    /// Storage dtype name as written by transformers (`"float32"`, `"bfloat16"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch_dtype: Option<String>,
    /// Keys this crate does not interpret, preserved verbatim on save.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn default_architectures() -> Vec<String> {
    vec!["Qwen2ForCausalLM".to_string()]
}

fn default_model_type() -> String {
    "qwen2".to_string()
}

fn default_act() -> String {
    "silu".to_string()
}

impl Qwen2Config {
    /// The embedded default: hidden 256, 4 layers, 4 query / 2 KV heads, MLP 1024, vocabulary 4096, tied
    /// embeddings (≈5M parameters) — small enough to train on a laptop CPU in minutes.
    pub fn tiny() -> Self {
        Qwen2Config {
            architectures: default_architectures(),
            model_type: default_model_type(),
            vocab_size: 4096,
            hidden_size: 256,
            intermediate_size: 1024,
            num_hidden_layers: 4,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            max_position_embeddings: 4096,
            rope_theta: 1_000_000.0,
            rms_norm_eps: 1e-6,
            tie_word_embeddings: true,
            hidden_act: default_act(),
            use_sliding_window: false,
            sliding_window: Some(4096),
            max_window_layers: Some(4),
            bos_token_id: None,
            eos_token_id: None,
            torch_dtype: Some("float32".to_string()),
            extra: BTreeMap::new(),
        }
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Query heads sharing one key/value head.
    pub fn kv_groups(&self) -> usize {
        self.num_attention_heads / self.num_key_value_heads
    }

    /// End-of-sequence ids named by the config (empty if none).
    pub fn eos_ids(&self) -> Vec<u32> {
        self.eos_token_id.as_ref().map(TokenIds::to_vec).unwrap_or_default()
    }

    /// Checks the numbers fit together, naming the offending key, before any tensor is built.
    pub fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(ModelError::Config(msg));
        for (key, value) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("max_position_embeddings", self.max_position_embeddings),
        ] {
            if value == 0 {
                return fail(format!("`{key}` must be positive"));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return fail(format!(
                "`hidden_size` ({}) must be a multiple of `num_attention_heads` ({})",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !self.head_dim().is_multiple_of(2) {
            return fail(format!("head dimension {} must be even for RoPE", self.head_dim()));
        }
        if !self.num_attention_heads.is_multiple_of(self.num_key_value_heads) {
            return fail(format!(
                "`num_attention_heads` ({}) must be a multiple of `num_key_value_heads` ({})",
                self.num_attention_heads, self.num_key_value_heads
            ));
        }
        if self.hidden_act != "silu" {
            return fail(format!("`hidden_act` is `{}`; only `silu` (SwiGLU) is supported", self.hidden_act));
        }
        if self.use_sliding_window {
            return fail("`use_sliding_window` is true; sliding-window attention is not supported".to_string());
        }
        if self.rope_theta.is_nan() || self.rope_theta <= 0.0 || self.rms_norm_eps.is_nan() || self.rms_norm_eps <= 0.0
        {
            return fail("`rope_theta` and `rms_norm_eps` must be positive".to_string());
        }
        Ok(())
    }

    /// Number of parameters the config implies (tied head counted once).
    pub fn num_parameters(&self) -> usize {
        let h = self.hidden_size;
        let kv = self.num_key_value_heads * self.head_dim();
        let attn = h * h + h + 2 * (h * kv + kv) + h * h;
        let mlp = 3 * h * self.intermediate_size;
        let layer = attn + mlp + 2 * h;
        let head = if self.tie_word_embeddings { 0 } else { self.vocab_size * h };
        self.vocab_size * h + self.num_hidden_layers * layer + h + head
    }
}

/// `generation_config.json`: the sampling defaults transformers reads next to the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationDefaults {
    /// Beginning-of-sequence id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token_id: Option<u32>,
    /// End-of-sequence id(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token_id: Option<TokenIds>,
    /// Padding id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_token_id: Option<u32>,
    /// Whether transformers samples by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_sample: Option<bool>,
    /// Default temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Default nucleus mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Default top-k.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
    /// Keys this crate does not interpret, preserved verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_has_about_five_million_parameters() {
        let cfg = Qwen2Config::tiny();
        cfg.validate().unwrap();
        let n = cfg.num_parameters();
        assert!((4_000_000..6_000_000).contains(&n), "{n}");
    }

    #[test]
    fn real_qwen_config_parses_and_keeps_unknown_keys() {
        let text = r#"{"architectures":["Qwen2ForCausalLM"],"attention_dropout":0.0,"bos_token_id":151643,
        "eos_token_id":151645,"hidden_act":"silu","hidden_size":896,"initializer_range":0.02,
        "intermediate_size":4864,"max_position_embeddings":32768,"max_window_layers":21,"model_type":"qwen2",
        "num_attention_heads":14,"num_hidden_layers":24,"num_key_value_heads":2,"rms_norm_eps":1e-06,
        "rope_theta":1000000.0,"sliding_window":32768,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
        "transformers_version":"4.43.1","use_cache":true,"use_sliding_window":false,"vocab_size":151936}"#;
        let cfg: Qwen2Config = serde_json::from_str(text).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.head_dim(), 64);
        assert_eq!(cfg.eos_ids(), vec![151645]);
        assert!(cfg.extra.contains_key("initializer_range"));
        let back = serde_json::to_value(&cfg).unwrap();
        assert_eq!(back["transformers_version"], "4.43.1");
    }

    #[test]
    fn validation_names_the_key() {
        let mut cfg = Qwen2Config::tiny();
        cfg.num_key_value_heads = 3;
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("num_key_value_heads"), "{err}");
    }
}
