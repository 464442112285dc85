//! Rendered conversations to token ids with a loss mask: each segment is encoded on its own, so the boundary
//! between what the agent wrote (trained on) and what it read (masked) is exact, and demonstrations are
//! tokenised the same way rollouts are (prompt and observations encoded as pieces, the agent's turns as tokens).

use candle_core::Device;
use retain_data::protocol::Segment;
use retain_model::{PaddedBatch, Tokenizer};

use crate::error::Result;

/// `rows` as one right-padded batch on the CPU, their loss masks kept: how every forward pass over encoded
/// conversations (warm start, policy update, held-out scoring) builds its input.
pub fn pad<'a>(rows: impl IntoIterator<Item = &'a Encoded>, pad_id: u32) -> Result<PaddedBatch> {
    let (ids, masks): (Vec<Vec<u32>>, Vec<Vec<f32>>) =
        rows.into_iter().map(|e| (e.ids.clone(), e.loss_mask.clone())).unzip();
    Ok(PaddedBatch::new(&ids, &masks, pad_id, &Device::Cpu)?)
}

/// Token ids of a conversation and, per token, whether the loss covers it (1.0) or not (0.0).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Encoded {
    /// Token ids.
    pub ids: Vec<u32>,
    /// 1.0 on the agent's own tokens, 0.0 on prompt, user and tool-output tokens.
    pub loss_mask: Vec<f32>,
}

impl Encoded {
    /// Appends `ids` with one mask value for all of them.
    pub fn extend(&mut self, ids: &[u32], trainable: bool) {
        self.ids.extend_from_slice(ids);
        self.loss_mask.extend(std::iter::repeat_n(if trainable { 1.0 } else { 0.0 }, ids.len()));
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Tokens the loss covers.
    pub fn trainable_tokens(&self) -> usize {
        self.loss_mask.iter().filter(|m| **m > 0.0).count()
    }

    /// The tokens of a trajectory in the plugin contract's JSON, as the host's `sample_trajectories` returns it
    /// (`token_ids`, and `loss_mask` as booleans or 0/1). Plugins pass such trajectories back for a supervised term
    /// or a Fisher estimate; anything else is an error saying what is wrong — a trajectory without tokens (messages
    /// are never re-tokenised, token-in/token-out), ids outside the vocabulary, mask values other than 0 and 1, or a
    /// length outside 2..=`max_len`.
    pub fn from_trajectory_json(
        trajectory: &serde_json::Value,
        vocab_size: usize,
        max_len: usize,
    ) -> std::result::Result<Self, String> {
        let label = || {
            let domain = trajectory.get("domain").and_then(|d| d.as_str()).unwrap_or("?");
            let task = trajectory.get("task_id").and_then(|d| d.as_str()).unwrap_or("?");
            format!("trajectory of task `{task}` ({domain})")
        };
        let missing = |field: &str| {
            format!(
                "{} has no `{field}` array; pass trajectories exactly as host.sample_trajectories returned them",
                label()
            )
        };
        let ids = trajectory.get("token_ids").and_then(|v| v.as_array()).ok_or_else(|| missing("token_ids"))?;
        let mask = trajectory.get("loss_mask").and_then(|v| v.as_array()).ok_or_else(|| missing("loss_mask"))?;
        if ids.len() != mask.len() {
            return Err(format!("{}: {} token ids but {} loss-mask values", label(), ids.len(), mask.len()));
        }
        if ids.len() < 2 || ids.len() > max_len {
            return Err(format!("{}: {} tokens; a trajectory needs 2 to {max_len} tokens", label(), ids.len()));
        }
        let ids = ids
            .iter()
            .map(|v| match v.as_u64() {
                Some(id) if (id as usize) < vocab_size => Ok(id as u32),
                _ => Err(format!("{}: token id {v} is not in the policy's vocabulary of {vocab_size}", label())),
            })
            .collect::<std::result::Result<Vec<u32>, String>>()?;
        let mut loss_mask = mask
            .iter()
            .map(|v| match (v.as_bool(), v.as_u64()) {
                (Some(b), _) => Ok(if b { 1.0 } else { 0.0 }),
                (None, Some(x @ (0 | 1))) => Ok(x as f32),
                _ => Err(format!("{}: loss-mask value {v} is neither a boolean nor 0 or 1", label())),
            })
            .collect::<std::result::Result<Vec<f32>, String>>()?;
        // The first token has no prefix to be predicted from, so it is never trained on.
        loss_mask[0] = 0.0;
        Ok(Encoded { ids, loss_mask })
    }
}

/// Encodes `segments` one by one, masking everything but the agent's segments.
pub fn encode_segments(tokenizer: &Tokenizer, segments: &[Segment]) -> Result<Encoded> {
    let mut out = Encoded::default();
    for segment in segments {
        out.extend(&tokenizer.encode(&segment.text)?, segment.kind.trainable());
    }
    Ok(out)
}
