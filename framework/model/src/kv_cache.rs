//! Pre-allocated key/value cache: decoding writes one slot per step in place instead of re-concatenating.

use candle_core::{DType, Device, Tensor};

use crate::error::{ModelError, Result};

/// Keys and values of every layer, `(batch, kv_heads, capacity, head_dim)` each, filled up to `len`.
#[derive(Debug)]
pub struct KvCache {
    layers: Vec<(Tensor, Tensor)>,
    len: usize,
    capacity: usize,
}

impl KvCache {
    /// Allocates a zeroed cache for `capacity` slots.
    pub fn new(
        num_layers: usize,
        batch: usize,
        kv_heads: usize,
        head_dim: usize,
        capacity: usize,
        device: &Device,
    ) -> Result<Self> {
        let layers = (0..num_layers)
            .map(|_| {
                let shape = (batch, kv_heads, capacity, head_dim);
                Ok((Tensor::zeros(shape, DType::F32, device)?, Tensor::zeros(shape, DType::F32, device)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KvCache { layers, len: 0, capacity })
    }

    /// Slots filled so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first write.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes `k`, `v` (`(batch, kv_heads, t, head_dim)`) of `layer` after the filled slots and returns views of
    /// all filled slots including them. The caller advances the length once per forward with [`KvCache::advance`].
    pub fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let t = k.dim(2)?;
        if self.len + t > self.capacity {
            return Err(ModelError::Input(format!(
                "KV cache holds {} slots, {} requested; raise the generation capacity",
                self.capacity,
                self.len + t
            )));
        }
        let (ck, cv) = &self.layers[layer];
        ck.slice_set(&k.contiguous()?, 2, self.len)?;
        cv.slice_set(&v.contiguous()?, 2, self.len)?;
        Ok((ck.narrow(2, 0, self.len + t)?, cv.narrow(2, 0, self.len + t)?))
    }

    /// Marks `t` more slots as filled (after every layer has appended them).
    pub fn advance(&mut self, t: usize) {
        self.len += t;
    }

    /// Slots the cache can hold before it must grow.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Makes room for at least `extra` more slots, reallocating (and copying the filled slots) when needed.
    /// Multi-turn sessions cannot know their final length up front, so they grow in chunks.
    pub fn reserve(&mut self, extra: usize) -> Result<()> {
        let needed = self.len + extra;
        if needed <= self.capacity {
            return Ok(());
        }
        let capacity = needed.max(self.capacity * 3 / 2);
        for (k, v) in &mut self.layers {
            for t in [k, v] {
                let (b, h, _, d) = t.dims4()?;
                let grown = Tensor::zeros((b, h, capacity, d), DType::F32, t.device())?;
                grown.slice_set(&t.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                *t = grown;
            }
        }
        self.capacity = capacity;
        Ok(())
    }

    /// Keeps only the rows in `keep` (finished sequences leave the batch, so later steps do less work).
    pub fn select_rows(&mut self, keep: &Tensor) -> Result<()> {
        for (k, v) in &mut self.layers {
            *k = k.index_select(keep, 0)?;
            *v = v.index_select(keep, 0)?;
        }
        Ok(())
    }
}
