//! The policy being trained: a Qwen2 model with its tokenizer and the ids generation stops on.
//!
//! The embedded default is a tiny model initialised from the run seed with a byte-level BPE tokenizer trained on
//! the run's own demonstrations (deterministic, about a second); a pretrained Hugging Face directory works the
//! same way. Reference policies (for the KL term) are frozen deep copies, so optimiser updates of the policy's
//! variables can never leak into them.

use std::collections::HashMap;
use std::path::Path;

use candle_core::Device;

use retain_config::{LoraConfig, TinyModelConfig};
use retain_model::lora::LoraConfig as ModelLoraConfig;
use retain_model::tokenizer::{ENDOFTEXT, IM_END};
use retain_model::{
    GenerationConfig, InitStyle, Qwen2, Qwen2Config, SamplingConfig, SaveOptions, Tokenizer, TokenizerTrainConfig,
    attach_lora, load_pretrained, random_model, save_pretrained,
};

use crate::error::{Result, TrainerError};

/// Model, tokenizer and the chat template's stop ids.
#[derive(Debug)]
pub struct Policy {
    /// The network (its trainable variables are what the optimiser updates).
    pub model: Qwen2,
    /// The tokenizer the model reads and writes.
    pub tokenizer: Tokenizer,
    /// Ids that end an agent turn (`<|im_end|>`, `<|endoftext|>`).
    pub stop_ids: Vec<u32>,
    /// Id used for padding (never attended to, never trained on).
    pub pad_id: u32,
}

/// A frozen deep copy of `model`'s current weights (adapters merged); `origin` names it in errors. Strategy
/// snapshots (`host.snapshot_policy`) and KL references are made this way, so later updates never reach them.
pub fn frozen_model(model: &Qwen2, origin: &Path) -> Result<Qwen2> {
    let tensors: HashMap<String, candle_core::Tensor> =
        model.merged_tensors()?.into_iter().map(|(name, t)| Ok((name, t.copy()?))).collect::<Result<_>>()?;
    Ok(Qwen2::from_tensors(model.config().clone(), &tensors, model.device(), origin)?)
}

/// Trains the byte-level BPE of the tiny default on `texts` (the run's demonstrations): up to `config.vocab_size`
/// learned tokens (merges rarer than `config.tokenizer_min_frequency` are not learned), plus `whole_tokens`
/// (entity ids) each registered as one token.
pub fn train_tokenizer(texts: &[String], config: &TinyModelConfig, whole_tokens: &[String]) -> Result<Tokenizer> {
    let config = TokenizerTrainConfig {
        vocab_size: config.vocab_size + whole_tokens.len(),
        min_frequency: config.tokenizer_min_frequency,
        split_digits: config.split_digits,
        extra_tokens: whole_tokens.to_vec(),
    };
    Ok(Tokenizer::train(texts, &config)?)
}

fn chat_ids(tokenizer: &Tokenizer) -> Result<(Vec<u32>, u32)> {
    let id = |token: &str| {
        tokenizer.token_id(token).ok_or_else(|| {
            TrainerError::Config(format!(
                "the tokenizer has no `{token}` token; retain's chat template needs it (use a Qwen2.5 tokenizer)"
            ))
        })
    };
    let im_end = id(IM_END)?;
    let eot = id(ENDOFTEXT)?;
    Ok((vec![im_end, eot], eot))
}

fn model_lora(lora: &LoraConfig) -> ModelLoraConfig {
    ModelLoraConfig {
        rank: lora.rank,
        alpha: lora.alpha,
        dropout: lora.dropout as f32,
        target_modules: lora.target_modules.clone(),
    }
}

impl Policy {
    /// A freshly initialised tiny model sized by `config`, its vocabulary taken from `tokenizer`.
    pub fn tiny(config: &TinyModelConfig, tokenizer: Tokenizer, seed: u64, lora: Option<&LoraConfig>) -> Result<Self> {
        let mut arch = Qwen2Config::tiny();
        arch.vocab_size = tokenizer.vocab_size();
        arch.hidden_size = config.hidden_size;
        arch.intermediate_size = config.intermediate_size;
        arch.num_hidden_layers = config.num_layers;
        arch.num_attention_heads = config.num_heads;
        arch.num_key_value_heads = config.num_kv_heads;
        arch.max_position_embeddings = config.max_position_embeddings;
        arch.rope_theta = config.rope_theta;
        arch.tie_word_embeddings = config.tie_word_embeddings;
        arch.max_window_layers = Some(config.num_layers);
        arch.sliding_window = Some(config.max_position_embeddings);
        let (stop_ids, pad_id) = chat_ids(&tokenizer)?;
        arch.eos_token_id = Some(retain_model::TokenIds::Many(stop_ids.clone()));
        let mut model = random_model(arch, seed, InitStyle::HuggingFace, &Device::Cpu)?;
        if let Some(lora) = lora {
            attach_lora(&mut model, &model_lora(lora), seed)?;
            model.freeze_base()?;
        }
        Ok(Policy { model, tokenizer, stop_ids, pad_id })
    }

    /// A pretrained model directory in the Hugging Face layout (`config.json`, weights, `tokenizer.json`).
    pub fn load(dir: &Path, seed: u64, lora: Option<&LoraConfig>) -> Result<Self> {
        let pretrained = load_pretrained(dir, &Device::Cpu)?;
        let tokenizer = pretrained.tokenizer.ok_or_else(|| {
            TrainerError::Config(format!(
                "{} has no tokenizer.json; a pretrained policy needs its tokenizer next to the weights",
                dir.display()
            ))
        })?;
        let (stop_ids, pad_id) = chat_ids(&tokenizer)?;
        let mut model = pretrained.model;
        if let Some(lora) = lora {
            attach_lora(&mut model, &model_lora(lora), seed)?;
            model.freeze_base()?;
        }
        Ok(Policy { model, tokenizer, stop_ids, pad_id })
    }

    /// Writes the model (adapters merged) and tokenizer to `dir` in the Hugging Face layout.
    pub fn save(&self, dir: &Path) -> Result<()> {
        Ok(save_pretrained(dir, &self.model, Some(&self.tokenizer), None, &SaveOptions::default())?)
    }

    /// A frozen deep copy of the current weights (adapters merged) with the same tokenizer: the KL reference,
    /// and A*-PO's sampler of reference rollouts.
    pub fn frozen_copy(&self) -> Result<Policy> {
        let model = frozen_model(&self.model, Path::new("<reference policy>"))?;
        Ok(Policy { model, tokenizer: self.tokenizer.clone(), stop_ids: self.stop_ids.clone(), pad_id: self.pad_id })
    }

    /// A policy with this one's architecture and tokenizer but the given weights (from `origin`, named in errors):
    /// how a checkpoint's saved reference comes back on resume.
    pub fn with_weights(&self, tensors: &HashMap<String, candle_core::Tensor>, origin: &Path) -> Result<Policy> {
        let model = Qwen2::from_tensors(self.model.config().clone(), tensors, self.model.device(), origin)?;
        Ok(Policy { model, tokenizer: self.tokenizer.clone(), stop_ids: self.stop_ids.clone(), pad_id: self.pad_id })
    }

    /// Generation settings for agent turns: stop at the end of a turn, pad with `<|endoftext|>`.
    pub fn generation_config(&self, sampling: SamplingConfig) -> GenerationConfig {
        GenerationConfig {
            sampling,
            stop_strings: Vec::new(),
            eos_token_ids: self.stop_ids.clone(),
            pad_token_id: self.pad_id,
        }
    }
}
