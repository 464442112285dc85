//! Grouped-query self-attention with QKV biases, RoPE, padding mask and an optional KV cache.

use candle_core::Tensor;

use crate::error::Result;
use crate::kv_cache::KvCache;
use crate::linear::Linear;
use crate::mode::Mode;
use crate::rope::RopeTables;

/// Qwen2 attention: `q_proj`, `k_proj`, `v_proj` with bias, `o_proj` without.
#[derive(Debug, Clone)]
pub struct Attention {
    /// Query projection.
    pub q_proj: Linear,
    /// Key projection.
    pub k_proj: Linear,
    /// Value projection.
    pub v_proj: Linear,
    /// Output projection.
    pub o_proj: Linear,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads.
    pub num_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
}

impl Attention {
    /// `x` is `(batch, t, hidden)`; `mask` is `(batch, 1, t, keys)` additive; with a cache, keys are the cached
    /// slots plus these `t`.
    pub fn forward(
        &self,
        x: &Tensor,
        rope: &RopeTables,
        mask: &Tensor,
        cache: Option<(&mut KvCache, usize)>,
        mode: Mode,
    ) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let (nh, nkv, hd) = (self.num_heads, self.num_kv_heads, self.head_dim);
        let q = self.q_proj.forward(x, mode)?.reshape((b, t, nh, hd))?.transpose(1, 2)?;
        let k = self.k_proj.forward(x, mode)?.reshape((b, t, nkv, hd))?.transpose(1, 2)?;
        let v = self.v_proj.forward(x, mode)?.reshape((b, t, nkv, hd))?.transpose(1, 2)?;
        let q = rope.apply(&q, mode)?.contiguous()?;
        let k = rope.apply(&k, mode)?;
        let (k, v) = match cache {
            Some((cache, layer)) => cache.append(layer, &k, &v)?,
            None => (k.contiguous()?, v.contiguous()?),
        };
        let keys = k.dim(2)?;
        let groups = nh / nkv;
        // Query heads sharing a KV head are stacked along the sequence axis: one GEMM per KV head, no repeat.
        let q = q.reshape((b, nkv, groups * t, hd))?;
        let scale = 1.0 / (hd as f64).sqrt();
        let scores = q.matmul(&k.t()?)?.reshape((b, nh, t, keys))?;
        let probs = if mode.is_train() {
            crate::fused::masked_softmax(&scores, mask, scale)?
        } else {
            candle_nn::ops::softmax_last_dim(&(scores * scale)?.broadcast_add(mask)?)?
        };
        let out = probs.reshape((b, nkv, groups * t, keys))?.matmul(&v)?;
        let out = out.reshape((b, nh, t, hd))?.transpose(1, 2)?.reshape((b, t, nh * hd))?;
        self.o_proj.forward(&out, mode)
    }
}

/// SwiGLU MLP: `down(silu(gate(x)) * up(x))`.
#[derive(Debug, Clone)]
pub struct Mlp {
    /// Gate projection.
    pub gate_proj: Linear,
    /// Up projection.
    pub up_proj: Linear,
    /// Down projection.
    pub down_proj: Linear,
}

impl Mlp {
    /// Applies the MLP to `(batch, t, hidden)`.
    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let gate = self.gate_proj.forward(x, mode)?;
        let up = self.up_proj.forward(x, mode)?;
        self.down_proj.forward(&crate::fused::swiglu(&gate, &up)?, mode)
    }
}
