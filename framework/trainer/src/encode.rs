//! Rendered conversations to token ids with a loss mask: each segment is encoded on its own, so the boundary
//! between what the agent wrote (trained on) and what it read (masked) is exact, and demonstrations are
//! tokenised the same way rollouts are (prompt and observations encoded as pieces, the agent's turns as tokens).

use retain_data::protocol::Segment;
use retain_model::Tokenizer;

use crate::error::Result;

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
}

/// Encodes `segments` one by one, masking everything but the agent's segments.
pub fn encode_segments(tokenizer: &Tokenizer, segments: &[Segment]) -> Result<Encoded> {
    let mut out = Encoded::default();
    for segment in segments {
        out.extend(&tokenizer.encode(&segment.text)?, segment.kind.trainable());
    }
    Ok(out)
}
