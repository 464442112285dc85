//! Fused CPU kernels *with* backward passes for the hot spots of training: the attention softmax (with scale and
//! mask), SwiGLU, RMSNorm and the per-token log-probability of the LM head. Composed candle ops would make ~6 passes (and allocations) over
//! `(tokens × vocab)` forward and twice that backward; these make one or two.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, D, Layout, Shape, Tensor, bail};
use rayon::prelude::*;

/// The contiguous f32 slice a layout describes.
fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    let Some((start, end)) = l.contiguous_offsets() else { bail!("{what}: input must be contiguous") };
    match s {
        CpuStorage::F32(v) => Ok(&v[start..end]),
        _ => bail!("{what}: input must be f32"),
    }
}

fn u32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a [u32]> {
    let Some((start, end)) = l.contiguous_offsets() else { bail!("{what}: targets must be contiguous") };
    match s {
        CpuStorage::U32(v) => Ok(&v[start..end]),
        _ => bail!("{what}: targets must be u32"),
    }
}

/// Row max and `log Σ exp(x − max)` of one row.
fn row_lse(row: &[f32]) -> (f32, f32) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
    (max, sum.ln())
}

/// Softmax over the last dimension with a backward pass (`dx = y ⊙ (g − Σ g ⊙ y)`).
struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "retain-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "softmax")?;
        let n = l.dims().last().copied().unwrap_or(1).max(1);
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(n).zip(x.par_chunks(n)).for_each(|(o, row)| {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for (o, v) in o.iter_mut().zip(row) {
                *o = (v - max).exp();
                sum += *o;
            }
            let inv = 1.0 / sum;
            o.iter_mut().for_each(|v| *v *= inv);
        });
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(res.contiguous()?.apply_op2_no_bwd(&grad.contiguous()?, &SoftmaxGrad)?))
    }
}

struct SoftmaxGrad;

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "retain-softmax-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let y = f32_slice(s1, l1, "softmax-grad")?;
        let g = f32_slice(s2, l2, "softmax-grad")?;
        let n = l1.dims().last().copied().unwrap_or(1).max(1);
        let mut out = vec![0f32; y.len()];
        out.par_chunks_mut(n).zip(y.par_chunks(n).zip(g.par_chunks(n))).for_each(|(o, (y, g))| {
            let dot: f32 = y.iter().zip(g).map(|(a, b)| a * b).sum();
            for ((o, y), g) in o.iter_mut().zip(y).zip(g) {
                *o = y * (g - dot);
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Differentiable softmax over the last dimension, fused.
pub fn softmax_last_dim(x: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1(Softmax)
}

/// `softmax(scale · scores + mask)` over the last dimension, where `scores` is `(b, heads, t, keys)` and the
/// additive mask `(b, 1, t, keys)` is shared by the heads; backward to `scores` only.
struct MaskedSoftmax {
    scale: f32,
}

impl CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "retain-masked-softmax"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "masked-softmax")?;
        let m = f32_slice(s2, l2, "masked-softmax")?;
        let [b, h, t, k] = l1.dims() else { bail!("masked-softmax: scores must be 4-D") };
        let (b, h, t, k) = (*b, *h, *t, *k);
        if l2.dims() != [b, 1, t, k] {
            bail!("masked-softmax: mask shape {:?} does not match scores {:?}", l2.dims(), l1.dims())
        }
        let scale = self.scale;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(k).zip(x.par_chunks(k)).enumerate().for_each(|(r, (o, row))| {
            let (bi, ti) = (r / (h * t), r % t);
            let mrow = &m[(bi * t + ti) * k..(bi * t + ti + 1) * k];
            let mut max = f32::NEG_INFINITY;
            for ((o, x), m) in o.iter_mut().zip(row).zip(mrow) {
                *o = x * scale + m;
                max = max.max(*o);
            }
            let mut sum = 0f32;
            for o in o.iter_mut() {
                *o = (*o - max).exp();
                sum += *o;
            }
            let inv = 1.0 / sum;
            o.iter_mut().for_each(|v| *v *= inv);
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _scores: &Tensor,
        _mask: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = res.contiguous()?.apply_op2_no_bwd(&grad.contiguous()?, &SoftmaxGrad)?;
        Ok((Some((g * f64::from(self.scale))?), None))
    }
}

/// Differentiable `softmax(scale · scores + mask)` for attention, fused (see [`MaskedSoftmax`]).
pub fn masked_softmax(scores: &Tensor, mask: &Tensor, scale: f64) -> candle_core::Result<Tensor> {
    scores.contiguous()?.apply_op2(&mask.contiguous()?, MaskedSoftmax { scale: scale as f32 })
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `silu(gate) ⊙ up`, the SwiGLU product, with a backward pass to both inputs.
struct SwiGlu;

impl CustomOp2 for SwiGlu {
    fn name(&self) -> &'static str {
        "retain-swiglu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = f32_slice(s1, l1, "swiglu")?;
        let u = f32_slice(s2, l2, "swiglu")?;
        if l1.shape() != l2.shape() {
            bail!("swiglu: gate {:?} and up {:?} differ", l1.dims(), l2.dims())
        }
        let mut out = vec![0f32; g.len()];
        out.par_chunks_mut(4096).zip(g.par_chunks(4096).zip(u.par_chunks(4096))).for_each(|(o, (g, u))| {
            for ((o, g), u) in o.iter_mut().zip(g).zip(u) {
                *o = g * sigmoid(*g) * u;
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        gate: &Tensor,
        up: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (gate, up, grad) = (gate.contiguous()?, up.contiguous()?, grad.contiguous()?);
        let d_gate = gate.apply_op3_no_bwd(&up, &grad, &SwiGluGrad { wrt_gate: true })?;
        let d_up = gate.apply_op3_no_bwd(&up, &grad, &SwiGluGrad { wrt_gate: false })?;
        Ok((Some(d_gate), Some(d_up)))
    }
}

struct SwiGluGrad {
    wrt_gate: bool,
}

impl CustomOp3 for SwiGluGrad {
    fn name(&self) -> &'static str {
        "retain-swiglu-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = f32_slice(s1, l1, "swiglu-grad")?;
        let u = f32_slice(s2, l2, "swiglu-grad")?;
        let d = f32_slice(s3, l3, "swiglu-grad")?;
        let wrt_gate = self.wrt_gate;
        let mut out = vec![0f32; g.len()];
        out.par_chunks_mut(4096).zip(g.par_chunks(4096)).zip(u.par_chunks(4096).zip(d.par_chunks(4096))).for_each(
            |((o, g), (u, d))| {
                for (((o, g), u), d) in o.iter_mut().zip(g).zip(u).zip(d) {
                    let s = sigmoid(*g);
                    *o = if wrt_gate { d * u * s * (1.0 + g * (1.0 - s)) } else { d * g * s };
                }
            },
        );
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Differentiable `silu(gate) ⊙ up`, fused.
pub fn swiglu(gate: &Tensor, up: &Tensor) -> candle_core::Result<Tensor> {
    gate.contiguous()?.apply_op2(&up.contiguous()?, SwiGlu)
}

/// RMSNorm `x / sqrt(mean(x²) + eps) ⊙ w` over the last dimension, with a backward pass to `x` and `w`.
struct RmsNormOp {
    eps: f32,
}

fn rms_inv(row: &[f32], eps: f32) -> f32 {
    let ms = row.iter().map(|v| v * v).sum::<f32>() / row.len() as f32;
    1.0 / (ms + eps).sqrt()
}

impl CustomOp2 for RmsNormOp {
    fn name(&self) -> &'static str {
        "retain-rms-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "rms-norm")?;
        let w = f32_slice(s2, l2, "rms-norm")?;
        let h = w.len();
        if l1.dims().last() != Some(&h) {
            bail!("rms-norm: weight of {h} for input {:?}", l1.dims())
        }
        let eps = self.eps;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(h).zip(x.par_chunks(h)).for_each(|(o, row)| {
            let r = rms_inv(row, eps);
            for ((o, x), w) in o.iter_mut().zip(row).zip(w) {
                *o = x * r * w;
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (x, w, grad) = (x.contiguous()?, w.contiguous()?, grad.contiguous()?);
        let dx = x.apply_op3_no_bwd(&w, &grad, &RmsNormGrad { eps: self.eps, wrt_x: true })?;
        let dw = x.apply_op3_no_bwd(&w, &grad, &RmsNormGrad { eps: self.eps, wrt_x: false })?;
        Ok((Some(dx), Some(dw)))
    }
}

struct RmsNormGrad {
    eps: f32,
    wrt_x: bool,
}

impl CustomOp3 for RmsNormGrad {
    fn name(&self) -> &'static str {
        "retain-rms-norm-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "rms-norm-grad")?;
        let w = f32_slice(s2, l2, "rms-norm-grad")?;
        let g = f32_slice(s3, l3, "rms-norm-grad")?;
        let h = w.len();
        let eps = self.eps;
        if self.wrt_x {
            let mut out = vec![0f32; x.len()];
            out.par_chunks_mut(h).zip(x.par_chunks(h).zip(g.par_chunks(h))).for_each(|(o, (row, g))| {
                let r = rms_inv(row, eps);
                // n = x r, dn = g w, dx = r (dn − n · mean(dn ⊙ n))
                let mean: f32 = row.iter().zip(g).zip(w).map(|((x, g), w)| g * w * x * r).sum::<f32>() / h as f32;
                for (((o, x), g), w) in o.iter_mut().zip(row).zip(g).zip(w) {
                    *o = r * (g * w - x * r * mean);
                }
            });
            Ok((CpuStorage::F32(out), l1.shape().clone()))
        } else {
            // Fixed blocks of rows, each summed in order, then the block sums added in order: the result does not
            // depend on how rayon schedules the work (a fold/reduce would, in its last bits).
            let partials: Vec<Vec<f32>> = x
                .par_chunks(h * NORM_GRAD_BLOCK_ROWS)
                .zip(g.par_chunks(h * NORM_GRAD_BLOCK_ROWS))
                .map(|(rows, grads)| {
                    let mut acc = vec![0f32; h];
                    for (row, g) in rows.chunks(h).zip(grads.chunks(h)) {
                        let r = rms_inv(row, eps);
                        for ((a, x), g) in acc.iter_mut().zip(row).zip(g) {
                            *a += g * x * r;
                        }
                    }
                    acc
                })
                .collect();
            let mut dw = vec![0f32; h];
            for partial in &partials {
                dw.iter_mut().zip(partial).for_each(|(a, b)| *a += b);
            }
            Ok((CpuStorage::F32(dw), Shape::from(h)))
        }
    }
}

/// Rows per block of the RMSNorm weight-gradient reduction (fixed, so the summation order is too).
const NORM_GRAD_BLOCK_ROWS: usize = 64;

/// Differentiable RMSNorm over the last dimension, fused.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op2(&weight.contiguous()?, RmsNormOp { eps: eps as f32 })
}

/// `log softmax(logits)[target]` per row, with a backward pass to the logits.
struct TokenLogProb;

impl CustomOp2 for TokenLogProb {
    fn name(&self) -> &'static str {
        "retain-token-logprob"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "token-logprob")?;
        let t = u32_slice(s2, l2, "token-logprob")?;
        let v = l1.dims().last().copied().unwrap_or(1).max(1);
        if t.len() * v != x.len() {
            bail!("token-logprob: {} targets for {} rows", t.len(), x.len() / v)
        }
        if let Some(bad) = t.iter().find(|&&id| id as usize >= v) {
            bail!("token-logprob: target {bad} out of the vocabulary ({v})")
        }
        let out: Vec<f32> = x
            .par_chunks(v)
            .zip(t.par_iter())
            .map(|(row, &id)| {
                let (max, lse) = row_lse(row);
                row[id as usize] - max - lse
            })
            .collect();
        Ok((CpuStorage::F32(out), Shape::from(t.len())))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g =
            logits.contiguous()?.apply_op3_no_bwd(&targets.contiguous()?, &grad.contiguous()?, &TokenLogProbGrad)?;
        Ok((Some(g), None))
    }
}

/// `g · (onehot(target) − softmax(logits))` per row.
struct TokenLogProbGrad;

impl CustomOp3 for TokenLogProbGrad {
    fn name(&self) -> &'static str {
        "retain-token-logprob-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "token-logprob-grad")?;
        let t = u32_slice(s2, l2, "token-logprob-grad")?;
        let g = f32_slice(s3, l3, "token-logprob-grad")?;
        let v = l1.dims().last().copied().unwrap_or(1).max(1);
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(v).zip(x.par_chunks(v)).zip(t.par_iter().zip(g.par_iter())).for_each(
            |((o, row), (&id, &g))| {
                if g == 0.0 {
                    return;
                }
                let (max, lse) = row_lse(row);
                let shift = max + lse;
                for (o, x) in o.iter_mut().zip(row) {
                    *o = -g * (x - shift).exp();
                }
                o[id as usize] += g;
            },
        );
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Entropy `−Σ p log p` of each row's softmax (no backward: entropies are for logging and detached bonuses).
struct RowEntropy;

impl CustomOp1 for RowEntropy {
    fn name(&self) -> &'static str {
        "retain-row-entropy"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "row-entropy")?;
        let v = l.dims().last().copied().unwrap_or(1).max(1);
        let out: Vec<f32> = x
            .par_chunks(v)
            .map(|row| {
                let (max, lse) = row_lse(row);
                let shift = max + lse;
                -row.iter().map(|x| (x - shift).exp() * (x - shift)).sum::<f32>()
            })
            .collect();
        let mut dims = l.dims().to_vec();
        dims.pop();
        Ok((CpuStorage::F32(out), Shape::from(dims)))
    }
}

/// Per-row `log softmax(logits)[target]` for logits `(…, vocab)` and u32 targets `(…)`; differentiable.
pub fn token_logprob(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    let dims = logits.dims().to_vec();
    let v = logits.dim(D::Minus1)?;
    let flat = logits.contiguous()?.reshape(((), v))?;
    let out = flat.apply_op2(&targets.contiguous()?.flatten_all()?, TokenLogProb)?;
    out.reshape(&dims[..dims.len() - 1])
}

/// Per-row entropy of `softmax(logits)` (detached).
pub fn row_entropy(logits: &Tensor) -> candle_core::Result<Tensor> {
    logits.detach().contiguous()?.apply_op1_no_bwd(&RowEntropy)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    #[test]
    fn fused_ops_match_composed_ops_forward_and_backward() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&(Tensor::randn(0f32, 2.0, (3, 4, 7), &dev).unwrap())).unwrap();
        let w = Tensor::randn(0f32, 1.0, (3, 4, 7), &dev).unwrap();
        // softmax
        let a = (softmax_last_dim(x.as_tensor()).unwrap() * &w).unwrap().sum_all().unwrap();
        let b = (candle_nn::ops::softmax(x.as_tensor(), D::Minus1).unwrap() * &w).unwrap().sum_all().unwrap();
        let (ga, gb) = (a.backward().unwrap(), b.backward().unwrap());
        let d = (ga.get(x.as_tensor()).unwrap() - gb.get(x.as_tensor()).unwrap()).unwrap().abs().unwrap();
        assert!(d.max_all().unwrap().to_scalar::<f32>().unwrap() < 1e-5);
        // token log-prob + entropy
        let t = Tensor::from_vec(vec![0u32, 6, 3, 2, 1, 5, 4, 0, 6, 6, 1, 2], (3, 4), &dev).unwrap();
        let scale = Tensor::randn(0f32, 1.0, (3, 4), &dev).unwrap();
        let lp = token_logprob(x.as_tensor(), &t).unwrap();
        let logp = candle_nn::ops::log_softmax(x.as_tensor(), D::Minus1).unwrap();
        let reference = logp.gather(&t.unsqueeze(2).unwrap(), 2).unwrap().squeeze(2).unwrap();
        let diff = (&lp - &reference).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-5);
        let ga = (lp * &scale).unwrap().sum_all().unwrap().backward().unwrap();
        let gb = (reference * &scale).unwrap().sum_all().unwrap().backward().unwrap();
        let d = (ga.get(x.as_tensor()).unwrap() - gb.get(x.as_tensor()).unwrap()).unwrap().abs().unwrap();
        assert!(d.max_all().unwrap().to_scalar::<f32>().unwrap() < 1e-5);
        // masked softmax (scores 4-D, mask shared by heads) and SwiGLU
        let s4 = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 3, 4, 5), &dev).unwrap()).unwrap();
        let mask = Tensor::from_vec(
            (0..40).map(|i| if i % 7 == 3 { f32::NEG_INFINITY } else { 0.0 }).collect::<Vec<f32>>(),
            (2, 1, 4, 5),
            &dev,
        )
        .unwrap();
        let w4 = Tensor::randn(0f32, 1.0, (2, 3, 4, 5), &dev).unwrap();
        let fused = masked_softmax(s4.as_tensor(), &mask, 0.5).unwrap();
        let composed =
            candle_nn::ops::softmax(&(s4.as_tensor() * 0.5).unwrap().broadcast_add(&mask).unwrap(), D::Minus1).unwrap();
        assert!((&fused - &composed).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap() < 1e-6);
        let ga = (fused * &w4).unwrap().sum_all().unwrap().backward().unwrap();
        let gb = (composed * &w4).unwrap().sum_all().unwrap().backward().unwrap();
        let d = (ga.get(s4.as_tensor()).unwrap() - gb.get(s4.as_tensor()).unwrap()).unwrap().abs().unwrap();
        assert!(d.max_all().unwrap().to_scalar::<f32>().unwrap() < 1e-5);
        let gate = Var::from_tensor(&Tensor::randn(0f32, 2.0, (3, 9), &dev).unwrap()).unwrap();
        let up = Var::from_tensor(&Tensor::randn(0f32, 1.0, (3, 9), &dev).unwrap()).unwrap();
        let w2 = Tensor::randn(0f32, 1.0, (3, 9), &dev).unwrap();
        let fused = swiglu(gate.as_tensor(), up.as_tensor()).unwrap();
        let composed = (gate.as_tensor().silu().unwrap() * up.as_tensor()).unwrap();
        assert!((&fused - &composed).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap() < 1e-6);
        let ga = (fused * &w2).unwrap().sum_all().unwrap().backward().unwrap();
        let gb = (composed * &w2).unwrap().sum_all().unwrap().backward().unwrap();
        for v in [&gate, &up] {
            let d = (ga.get(v.as_tensor()).unwrap() - gb.get(v.as_tensor()).unwrap()).unwrap().abs().unwrap();
            assert!(d.max_all().unwrap().to_scalar::<f32>().unwrap() < 1e-5);
        }
        // RMSNorm
        let xn = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 3, 8), &dev).unwrap()).unwrap();
        let wn = Var::from_tensor(&Tensor::randn(1f32, 0.1, 8, &dev).unwrap()).unwrap();
        let w3 = Tensor::randn(0f32, 1.0, (2, 3, 8), &dev).unwrap();
        let fused = rms_norm(xn.as_tensor(), wn.as_tensor(), 1e-6).unwrap();
        let composed = candle_nn::ops::rms_norm_slow(xn.as_tensor(), wn.as_tensor(), 1e-6).unwrap();
        assert!((&fused - &composed).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap() < 1e-5);
        let ga = (fused * &w3).unwrap().sum_all().unwrap().backward().unwrap();
        let gb = (composed * &w3).unwrap().sum_all().unwrap().backward().unwrap();
        for v in [&xn, &wn] {
            let d = (ga.get(v.as_tensor()).unwrap() - gb.get(v.as_tensor()).unwrap()).unwrap().abs().unwrap();
            assert!(d.max_all().unwrap().to_scalar::<f32>().unwrap() < 1e-4);
        }
        let ent = row_entropy(x.as_tensor()).unwrap();
        let ref_ent = (logp.exp().unwrap() * &logp).unwrap().sum(D::Minus1).unwrap().neg().unwrap();
        let diff = (ent - ref_ent).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-5);
    }
}
