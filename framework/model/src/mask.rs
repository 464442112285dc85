//! Attention inputs for padded batches: the additive causal + padding mask and per-row positions.

use candle_core::{Device, Tensor};

use crate::error::{ModelError, Result};

/// Which key slots of each row hold real tokens, for every slot written so far (prompt, generated, padding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotValidity {
    rows: Vec<Vec<bool>>,
}

impl SlotValidity {
    /// Starts from explicit per-row flags (all rows the same length).
    pub fn new(rows: Vec<Vec<bool>>) -> Result<Self> {
        let len = rows.first().map_or(0, Vec::len);
        if rows.iter().any(|r| r.len() != len) {
            return Err(ModelError::Input("validity rows differ in length".to_string()));
        }
        Ok(SlotValidity { rows })
    }

    /// Number of rows.
    pub fn batch(&self) -> usize {
        self.rows.len()
    }

    /// Number of slots per row.
    pub fn len(&self) -> usize {
        self.rows.first().map_or(0, Vec::len)
    }

    /// True when no slot has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Real (non-padding) tokens of row `row` so far.
    pub fn real_tokens(&self, row: usize) -> usize {
        self.rows.get(row).map_or(0, |r| r.iter().filter(|v| **v).count())
    }

    /// Appends one slot per row.
    pub fn push(&mut self, valid: &[bool]) {
        for (row, v) in self.rows.iter_mut().zip(valid) {
            row.push(*v);
        }
    }

    /// Keeps only the listed rows, in that order (finished sequences leave the batch).
    pub fn retain_rows(&mut self, keep: &[usize]) {
        self.rows = keep.iter().map(|&i| std::mem::take(&mut self.rows[i])).collect();
    }

    /// Position ids of slots `start..len`: the count of real tokens before each slot (0 for padding).
    pub fn positions(&self, start: usize, device: &Device) -> Result<Tensor> {
        let t = self.len() - start;
        let mut out = Vec::with_capacity(self.batch() * t);
        for row in &self.rows {
            let mut seen = row[..start].iter().filter(|v| **v).count() as u32;
            for v in &row[start..] {
                out.push(if *v { seen } else { 0 });
                if *v {
                    seen += 1;
                }
            }
        }
        Ok(Tensor::from_vec(out, (self.batch(), t), device)?)
    }

    /// Additive mask `(batch, 1, queries, keys)` for queries at slots `start..len` over keys `0..len`: a query
    /// sees earlier-or-equal real keys, and itself (so padding rows never have an empty softmax).
    pub fn mask(&self, start: usize, device: &Device) -> Result<Tensor> {
        let keys = self.len();
        let t = keys - start;
        let mut out = Vec::with_capacity(self.batch() * t * keys);
        for row in &self.rows {
            for i in start..keys {
                for (j, valid) in row.iter().enumerate() {
                    let allowed = j == i || (j < i && *valid);
                    out.push(if allowed { 0f32 } else { f32::NEG_INFINITY });
                }
            }
        }
        Ok(Tensor::from_vec(out, (self.batch(), 1, t, keys), device)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_padding_positions_and_mask() {
        let v = SlotValidity::new(vec![vec![false, true, true], vec![true, true, true]]).unwrap();
        let pos = v.positions(0, &Device::Cpu).unwrap().to_vec2::<u32>().unwrap();
        assert_eq!(pos, vec![vec![0, 0, 1], vec![0, 1, 2]]);
        let m = v.mask(0, &Device::Cpu).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        // row 0, query 2 sees key 1 and 2 but not the padding key 0
        assert_eq!(&m[6..9], &[f32::NEG_INFINITY, 0.0, 0.0]);
        // row 0, query 0 (padding) sees only itself
        assert_eq!(&m[0..3], &[0.0, f32::NEG_INFINITY, f32::NEG_INFINITY]);
    }
}
