//! RMSNorm whose training form is differentiable (candle's fused `rms_norm` has no backward pass; ours has).

use candle_core::Tensor;

use crate::error::Result;
use crate::mode::Mode;

/// `x / sqrt(mean(x²) + eps) * weight`, as in Hugging Face Qwen2.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    /// The learned scale (`hidden_size`).
    pub weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    /// Wraps a scale vector.
    pub fn new(weight: Tensor, eps: f64) -> Self {
        RmsNorm { weight, eps }
    }

    /// Normalises the last dimension.
    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        if mode.is_train() {
            Ok(crate::fused::rms_norm(x, &self.weight, self.eps)?)
        } else {
            Ok(candle_nn::ops::rms_norm(&x.contiguous()?, &self.weight.detach(), self.eps as f32)?)
        }
    }
}
