//! Batched autoregressive generation with a KV cache, left-padded prompts of different lengths, per-sequence
//! limits, EOS and stop strings, and one seeded RNG per sample.

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::mask::SlotValidity;
use crate::mode::Mode;
use crate::qwen2::{ForwardInput, Qwen2};
use crate::sampling::{SamplingConfig, log_prob, sample_token};
use crate::tokenizer::Tokenizer;

/// One sequence to continue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationRequest {
    /// Prompt token ids (at least one).
    pub prompt: Vec<u32>,
    /// Most tokens to generate for this sequence.
    pub max_new_tokens: usize,
    /// Seed of this sample's own RNG: the sample depends on it and its prompt only, not on the batch.
    pub seed: u64,
}

/// Settings shared by a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationConfig {
    /// How tokens are chosen.
    #[serde(default)]
    pub sampling: SamplingConfig,
    /// Generation of a sequence stops once its decoded text contains one of these (kept in the output).
    #[serde(default)]
    pub stop_strings: Vec<String>,
    /// Ids that end a sequence (kept in the output), e.g. `<|im_end|>`.
    #[serde(default)]
    pub eos_token_ids: Vec<u32>,
    /// Id used for left padding (never attended to).
    #[serde(default)]
    pub pad_token_id: u32,
}

/// Why a sequence stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// An EOS id was generated.
    Eos,
    /// A stop string appeared.
    Stop,
    /// `max_new_tokens` reached.
    Length,
}

/// The result for one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// Generated ids (the EOS or stop-completing token included).
    pub tokens: Vec<u32>,
    /// `log p(token)` under the model's untempered distribution, one per token.
    pub logprobs: Vec<f32>,
    /// Why it stopped.
    pub finish_reason: FinishReason,
    /// Decoded text (when a tokenizer was given), cut right after the stop string if one fired.
    pub text: Option<String>,
}

struct Row {
    request: usize,
    rng: ChaCha8Rng,
    tokens: Vec<u32>,
    logprobs: Vec<f32>,
    finish: Option<FinishReason>,
}

/// Generates continuations for all `requests` in one batch.
pub fn generate(
    model: &Qwen2,
    requests: &[GenerationRequest],
    cfg: &GenerationConfig,
    tokenizer: Option<&Tokenizer>,
) -> Result<Vec<Completion>> {
    cfg.sampling.validate()?;
    if !cfg.stop_strings.is_empty() && tokenizer.is_none() {
        return Err(ModelError::Input("stop strings need a tokenizer to decode the generated text".to_string()));
    }
    let vocab = model.config().vocab_size as u32;
    let max_pos = model.config().max_position_embeddings;
    for (i, r) in requests.iter().enumerate() {
        if r.prompt.is_empty() {
            return Err(ModelError::Input(format!("request {i} has an empty prompt")));
        }
        if let Some(bad) = r.prompt.iter().find(|&&t| t >= vocab) {
            return Err(ModelError::Input(format!("request {i}: token id {bad} ≥ vocab_size {vocab}")));
        }
        if r.prompt.len() + r.max_new_tokens > max_pos {
            return Err(ModelError::Input(format!(
                "request {i}: prompt {} + max_new_tokens {} exceeds max_position_embeddings {max_pos}",
                r.prompt.len(),
                r.max_new_tokens
            )));
        }
    }
    let mut rows: Vec<Row> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| Row {
            request: i,
            rng: ChaCha8Rng::seed_from_u64(r.seed),
            tokens: Vec::new(),
            logprobs: Vec::new(),
            finish: if r.max_new_tokens == 0 { Some(FinishReason::Length) } else { None },
        })
        .collect();
    let active: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].finish.is_none()).collect();
    if !active.is_empty() {
        decode_loop(model, requests, cfg, tokenizer, &mut rows, active)?;
    }
    rows.into_iter()
        .map(|row| {
            let finish_reason = row.finish.unwrap_or(FinishReason::Length);
            let text = match tokenizer {
                Some(tk) => Some(cut_at_stop(tk.decode(&row.tokens)?, &cfg.stop_strings, finish_reason)),
                None => None,
            };
            Ok(Completion { tokens: row.tokens, logprobs: row.logprobs, finish_reason, text })
        })
        .collect()
}

fn decode_loop(
    model: &Qwen2,
    requests: &[GenerationRequest],
    cfg: &GenerationConfig,
    tokenizer: Option<&Tokenizer>,
    rows: &mut [Row],
    mut active: Vec<usize>,
) -> Result<()> {
    let device = model.device().clone();
    let longest = active.iter().map(|&i| requests[i].prompt.len()).max().unwrap_or(0);
    let most_new = active.iter().map(|&i| requests[i].max_new_tokens).max().unwrap_or(0);
    let mut cache = model.new_cache(active.len(), longest + most_new)?;
    let mut ids = Vec::with_capacity(active.len() * longest);
    let mut valid = Vec::with_capacity(active.len());
    for &i in &active {
        let p = &requests[i].prompt;
        let pad = longest - p.len();
        ids.extend(std::iter::repeat_n(cfg.pad_token_id, pad).chain(p.iter().copied()));
        valid.push(std::iter::repeat_n(false, pad).chain(std::iter::repeat_n(true, p.len())).collect());
    }
    let mut validity = SlotValidity::new(valid)?;
    let mut input_ids = Tensor::from_vec(ids, (active.len(), longest), &device)?;
    let mut start = 0;
    loop {
        let input = ForwardInput {
            positions: validity.positions(start, &device)?,
            mask: validity.mask(start, &device)?,
            ids: input_ids,
        };
        let hidden = model.forward_hidden(&input, Some(&mut cache), Mode::Infer)?;
        let t = hidden.dim(1)?;
        let logits = model.logits(&hidden.narrow(1, t - 1, 1)?, Mode::Infer)?.squeeze(1)?.to_vec2::<f32>()?;
        let mut next = Vec::with_capacity(active.len());
        for (slot, &i) in active.iter().enumerate() {
            let row = &mut rows[i];
            let token = sample_token(&logits[slot], &cfg.sampling, &mut row.rng);
            row.tokens.push(token);
            row.logprobs.push(log_prob(&logits[slot], token));
            row.finish = finish_of(&row.tokens, requests[row.request].max_new_tokens, cfg, tokenizer)?;
            next.push(token);
        }
        let keep: Vec<usize> = (0..active.len()).filter(|&s| rows[active[s]].finish.is_none()).collect();
        if keep.is_empty() {
            return Ok(());
        }
        if keep.len() < active.len() {
            let idx = Tensor::from_vec(keep.iter().map(|&s| s as u32).collect::<Vec<_>>(), keep.len(), &device)?;
            cache.select_rows(&idx)?;
            validity.retain_rows(&keep);
            active = keep.iter().map(|&s| active[s]).collect();
            next = keep.iter().map(|&s| next[s]).collect();
        }
        start = validity.len();
        validity.push(&vec![true; active.len()]);
        input_ids = Tensor::from_vec(next, (active.len(), 1), &Device::Cpu)?.to_device(&device)?;
    }
}

/// Whether a sequence that has generated `tokens` is finished, and why (EOS, stop string, length limit).
pub(crate) fn finish_of(
    tokens: &[u32],
    max_new_tokens: usize,
    cfg: &GenerationConfig,
    tokenizer: Option<&Tokenizer>,
) -> Result<Option<FinishReason>> {
    let last = tokens.last().copied();
    if last.is_some_and(|t| cfg.eos_token_ids.contains(&t)) {
        return Ok(Some(FinishReason::Eos));
    }
    if let (false, Some(tk)) = (cfg.stop_strings.is_empty(), tokenizer) {
        let text = tk.decode(tokens)?;
        if cfg.stop_strings.iter().any(|s| text.contains(s.as_str())) {
            return Ok(Some(FinishReason::Stop));
        }
    }
    if tokens.len() >= max_new_tokens {
        return Ok(Some(FinishReason::Length));
    }
    Ok(None)
}

/// The decoded text, cut right after the first stop string when one ended the sequence.
pub(crate) fn cut_at_stop(text: String, stops: &[String], reason: FinishReason) -> String {
    if reason != FinishReason::Stop {
        return text;
    }
    let end = stops.iter().filter_map(|s| text.find(s.as_str()).map(|p| p + s.len())).min();
    match end {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}
