//! Rotary position embeddings (RoPE) with Qwen2's `rope_theta`, for per-row positions.

use candle_core::{D, DType, Device, Tensor};

use crate::error::Result;
use crate::mode::Mode;

/// Inverse frequencies of one head; the cos/sin tables are computed for the exact positions of each batch, so
/// left-padded rows and KV-cached decoding share one code path.
#[derive(Debug, Clone)]
pub struct Rope {
    inv_freq: Tensor,
}

/// cos and sin for a batch of positions, each `(batch, seq, head_dim / 2)`.
#[derive(Debug, Clone)]
pub struct RopeTables {
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    /// Inverse frequencies `theta^(-2i/d)` for a head of width `head_dim`.
    pub fn new(head_dim: usize, theta: f64, device: &Device) -> Result<Self> {
        let inv: Vec<f32> =
            (0..head_dim).step_by(2).map(|i| 1f32 / theta.powf(i as f64 / head_dim as f64) as f32).collect();
        let n = inv.len();
        Ok(Rope { inv_freq: Tensor::from_vec(inv, (1, n), device)? })
    }

    /// cos/sin for `positions` (`(batch, seq)`, u32).
    pub fn tables(&self, positions: &Tensor) -> Result<RopeTables> {
        let (b, t) = positions.dims2()?;
        let pos = positions.to_dtype(DType::F32)?.reshape((b * t, 1))?;
        let freqs = pos.broadcast_mul(&self.inv_freq)?;
        let half = freqs.dim(1)?;
        Ok(RopeTables { cos: freqs.cos()?.reshape((b, t, half))?, sin: freqs.sin()?.reshape((b, t, half))? })
    }
}

impl RopeTables {
    /// Rotates `x` (`(batch, heads, seq, head_dim)`), halves convention as in Hugging Face Qwen2.
    pub fn apply(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        if mode.is_train() {
            let cos = Tensor::cat(&[&self.cos, &self.cos], D::Minus1)?.unsqueeze(1)?;
            let sin = Tensor::cat(&[&self.sin, &self.sin], D::Minus1)?.unsqueeze(1)?;
            let d = x.dim(D::Minus1)?;
            let x1 = x.narrow(D::Minus1, 0, d / 2)?;
            let x2 = x.narrow(D::Minus1, d / 2, d / 2)?;
            let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
            Ok((x.broadcast_mul(&cos)? + rotated.broadcast_mul(&sin)?)?)
        } else {
            Ok(candle_nn::rotary_emb::rope(&x.contiguous()?, &self.cos, &self.sin)?)
        }
    }
}
