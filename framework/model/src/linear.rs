//! A linear layer (`y = x Wᵀ + b`) with an optional LoRA adapter on the side.

use candle_core::{Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::mode::{Mode, mix_seed, name_salt};

/// Low-rank adapter `scale · B(A(dropout(x)))` added to a frozen linear layer (PEFT's LoRA).
#[derive(Debug, Clone)]
pub struct LoraAdapter {
    /// `(rank, in_features)`, trainable.
    pub a: Var,
    /// `(out_features, rank)`, trainable, zero at initialisation.
    pub b: Var,
    /// `alpha / rank`.
    pub scale: f64,
    /// Probability of zeroing an input feature in training.
    pub dropout: f32,
}

/// A Hugging Face `nn.Linear`: weight `(out, in)`, optional bias `(out)`.
#[derive(Debug, Clone)]
pub struct Linear {
    /// Weight `(out_features, in_features)`.
    pub weight: Tensor,
    /// Bias `(out_features)`, present on Qwen2's q/k/v projections.
    pub bias: Option<Tensor>,
    /// LoRA adapter, when fine-tuning with adapters.
    pub lora: Option<LoraAdapter>,
    salt: u64,
}

impl Linear {
    /// Builds a layer; `name` (its HF module path) salts the dropout masks so each module gets its own.
    pub fn new(weight: Tensor, bias: Option<Tensor>, name: &str) -> Self {
        Linear { weight, bias, lora: None, salt: name_salt(name) }
    }

    /// Applies the layer to `x` (`(..., in)`).
    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let (weight, bias) = match mode {
            Mode::Train { .. } => (self.weight.clone(), self.bias.clone()),
            Mode::Infer => (self.weight.detach(), self.bias.as_ref().map(Tensor::detach)),
        };
        let mut y = matmul_t(x, &weight)?;
        if let Some(b) = &bias {
            y = y.broadcast_add(b)?;
        }
        if let Some(lora) = &self.lora {
            let (a, b) = match mode {
                Mode::Train { .. } => (lora.a.as_tensor().clone(), lora.b.as_tensor().clone()),
                Mode::Infer => (lora.a.as_detached_tensor(), lora.b.as_detached_tensor()),
            };
            let input = match mode {
                Mode::Train { dropout_seed } if lora.dropout > 0.0 => {
                    dropout(x, lora.dropout, mix_seed(dropout_seed, self.salt))?
                }
                _ => x.clone(),
            };
            let delta = matmul_t(&matmul_t(&input, &a)?, &b)?;
            y = (y + (delta * lora.scale)?)?;
        }
        Ok(y)
    }

    /// The weight with the adapter folded in (`W + scale · B A`), for saving a merged model.
    pub fn merged_weight(&self) -> Result<Tensor> {
        match &self.lora {
            None => Ok(self.weight.detach()),
            Some(lora) => {
                let delta = lora.b.as_detached_tensor().matmul(&lora.a.as_detached_tensor())?;
                Ok((self.weight.detach() + (delta * lora.scale)?)?)
            }
        }
    }
}

/// `x Wᵀ` for `x` of any rank ≥ 2, flattening leading dimensions so one GEMM runs.
pub(crate) fn matmul_t(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let k = dims[dims.len() - 1];
    let rows: usize = dims[..dims.len() - 1].iter().product();
    let out = w.dim(0)?;
    let y = x.reshape((rows, k))?.matmul(&w.t()?)?;
    let mut shape = dims;
    let last = shape.len() - 1;
    shape[last] = out;
    Ok(y.reshape(shape)?)
}

/// Inverted dropout with a mask drawn from a seeded ChaCha stream (candle's own dropout is not seedable).
fn dropout(x: &Tensor, p: f32, seed: u64) -> Result<Tensor> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..x.elem_count()).map(|_| if rng.random::<f32>() < p { 0.0 } else { keep }).collect();
    let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
    Ok((x * mask)?)
}
