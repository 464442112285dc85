//! Teacher-forced per-token log-probabilities and entropies of a padded batch — what SFT and GRPO losses use.

use candle_core::{DType, Device, Tensor};

use crate::error::{ModelError, Result};
use crate::mask::SlotValidity;
use crate::mode::Mode;
use crate::qwen2::{ForwardInput, Qwen2};

/// Sequences of different lengths, right-padded, with a per-token loss mask.
#[derive(Debug, Clone)]
pub struct PaddedBatch {
    /// `(batch, t)` u32 token ids.
    pub ids: Tensor,
    /// `(batch, t)` f32: 1 where the token's log-prob counts in the loss, 0 elsewhere (padding always 0).
    pub loss_mask: Tensor,
    validity: SlotValidity,
}

impl PaddedBatch {
    /// Pads `sequences` on the right with `pad_id`. `loss_masks[i][t]` weights token `t` of sequence `i` (the
    /// log-prob of predicting it from its prefix); the first token has no prefix and is always excluded.
    pub fn new(sequences: &[Vec<u32>], loss_masks: &[Vec<f32>], pad_id: u32, device: &Device) -> Result<Self> {
        if sequences.len() != loss_masks.len() || sequences.is_empty() {
            return Err(ModelError::Input(format!(
                "{} sequences but {} loss masks (need the same, non-zero number)",
                sequences.len(),
                loss_masks.len()
            )));
        }
        let t = sequences.iter().map(Vec::len).max().unwrap_or(0);
        if t < 2 {
            return Err(ModelError::Input("every batch needs a sequence of at least two tokens".to_string()));
        }
        let (mut ids, mut mask, mut valid) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (s, m)) in sequences.iter().zip(loss_masks).enumerate() {
            if s.len() != m.len() {
                return Err(ModelError::Input(format!("sequence {i}: {} tokens but {} mask values", s.len(), m.len())));
            }
            ids.extend(s.iter().copied().chain(std::iter::repeat_n(pad_id, t - s.len())));
            mask.extend(m.iter().enumerate().map(|(j, v)| if j == 0 { 0.0 } else { *v }));
            mask.extend(std::iter::repeat_n(0.0, t - s.len()));
            valid.push((0..t).map(|j| j < s.len()).collect());
        }
        let b = sequences.len();
        Ok(PaddedBatch {
            ids: Tensor::from_vec(ids, (b, t), device)?,
            loss_mask: Tensor::from_vec(mask, (b, t), device)?,
            validity: SlotValidity::new(valid)?,
        })
    }

    /// Number of tokens with a non-zero loss weight.
    pub fn counted_tokens(&self) -> Result<f32> {
        Ok(self.loss_mask.ne(0f32)?.to_dtype(DType::F32)?.sum_all()?.to_scalar::<f32>()?)
    }
}

/// Per-token statistics, each `(batch, t)`; column `t` is about token `t` given tokens `< t` (column 0 is 0).
#[derive(Debug, Clone)]
pub struct TokenLogProbs {
    /// `log p(token_t | prefix)`, differentiable in [`Mode::Train`].
    pub logprobs: Tensor,
    /// Entropy of the predictive distribution at each position (detached; for logging and entropy bonuses).
    pub entropies: Option<Tensor>,
    /// The batch's loss mask (same layout).
    pub mask: Tensor,
}

/// Runs the model over the batch and gathers each token's log-probability (and, if asked, entropies).
pub fn token_logprobs(model: &Qwen2, batch: &PaddedBatch, mode: Mode, with_entropy: bool) -> Result<TokenLogProbs> {
    let device = model.device();
    let (b, t) = batch.ids.dims2()?;
    let input = ForwardInput {
        ids: batch.ids.clone(),
        positions: batch.validity.positions(0, device)?,
        mask: batch.validity.mask(0, device)?,
    };
    let hidden = model.forward_hidden(&input, None, mode)?;
    let logits = model.logits(&hidden.narrow(1, 0, t - 1)?, mode)?;
    let targets = batch.ids.narrow(1, 1, t - 1)?;
    let picked = crate::fused::token_logprob(&logits, &targets)?;
    let zeros = Tensor::zeros((b, 1), DType::F32, device)?;
    let logprobs = Tensor::cat(&[&zeros, &picked], 1)?;
    let entropies =
        if with_entropy { Some(Tensor::cat(&[&zeros, &crate::fused::row_entropy(&logits)?], 1)?) } else { None };
    Ok(TokenLogProbs { logprobs, entropies, mask: batch.loss_mask.clone() })
}

/// Mean negative log-likelihood over masked tokens (the SFT loss).
pub fn masked_nll(stats: &TokenLogProbs) -> Result<Tensor> {
    let total = stats.mask.sum_all()?;
    let weighted = (&stats.logprobs * &stats.mask)?.sum_all()?;
    Ok(weighted.neg()?.broadcast_div(&total.maximum(1e-8f32)?)?)
}
