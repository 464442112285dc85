//! Named gradients of the trainable weights: accumulation, scaling and global-norm clipping (none of which
//! candle-nn provides).

use std::collections::BTreeMap;

use candle_core::{Tensor, Var};

use crate::error::{ModelError, Result};

/// One gradient per trainable weight, keyed like [`crate::Qwen2::trainable`].
#[derive(Debug, Clone, Default)]
pub struct Gradients {
    grads: BTreeMap<String, Tensor>,
    missing: Vec<String>,
}

impl Gradients {
    /// Back-propagates `loss` and collects the gradient of every variable in `params`. A variable the loss does
    /// not reach gets a zero gradient and is listed in [`Gradients::missing`].
    pub fn from_loss(loss: &Tensor, params: &BTreeMap<String, Var>) -> Result<Self> {
        let store = loss.backward()?;
        let mut grads = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, var) in params {
            let g = match store.get(var.as_tensor()) {
                Some(g) => g.detach(),
                None => {
                    missing.push(name.clone());
                    var.as_tensor().zeros_like()?.detach()
                }
            };
            grads.insert(name.clone(), g);
        }
        Ok(Gradients { grads, missing })
    }

    /// Names of variables the loss did not reach.
    pub fn missing(&self) -> &[String] {
        &self.missing
    }

    /// The gradient of one weight.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.grads.get(name)
    }

    /// Replaces one weight's gradient (strategies that edit gradients, e.g. EWC, use this).
    pub fn insert(&mut self, name: String, grad: Tensor) {
        self.grads.insert(name, grad);
    }

    /// All gradients by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Tensor)> {
        self.grads.iter()
    }

    /// Adds `other` element-wise (gradient accumulation over micro-batches).
    pub fn accumulate(&mut self, other: &Gradients) -> Result<()> {
        for (name, g) in &other.grads {
            let sum = match self.grads.get(name) {
                Some(mine) => (mine + g)?,
                None => g.clone(),
            };
            self.grads.insert(name.clone(), sum);
        }
        Ok(())
    }

    /// Adds `self` into `total`, or makes it the total when there is none yet (summing micro-batches).
    pub fn add_to(self, total: &mut Option<Gradients>) -> Result<()> {
        match total.as_mut() {
            Some(t) => t.accumulate(&self),
            None => {
                *total = Some(self);
                Ok(())
            }
        }
    }

    /// Multiplies every gradient by `factor`.
    pub fn scale(&mut self, factor: f64) -> Result<()> {
        for g in self.grads.values_mut() {
            *g = (&*g * factor)?;
        }
        Ok(())
    }

    /// `sqrt(Σ ‖g‖²)` over all weights (f64 accumulation).
    pub fn global_norm(&self) -> Result<f64> {
        let mut total = 0f64;
        for g in self.grads.values() {
            total += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
        }
        Ok(total.sqrt())
    }

    /// Scales all gradients so their global norm is at most `max_norm` (PyTorch's `clip_grad_norm_`,
    /// coefficient `max_norm / (norm + 1e-6)`); returns the norm before clipping.
    pub fn clip_global_norm(&mut self, max_norm: f64) -> Result<f64> {
        if max_norm.is_nan() || max_norm <= 0.0 {
            return Err(ModelError::Config(format!("`max_grad_norm` {max_norm} must be positive")));
        }
        let norm = self.global_norm()?;
        let coef = max_norm / (norm + 1e-6);
        if coef < 1.0 {
            self.scale(coef)?;
        }
        Ok(norm)
    }
}

/// Sums micro-batch gradients and releases their mean every `steps` micro-batches.
#[derive(Debug, Clone)]
pub struct GradAccumulator {
    steps: usize,
    seen: usize,
    sum: Option<Gradients>,
}

impl GradAccumulator {
    /// Accumulates over `steps` micro-batches (1 = no accumulation).
    pub fn new(steps: usize) -> Result<Self> {
        if steps == 0 {
            return Err(ModelError::Config("`gradient_accumulation_steps` must be at least 1".to_string()));
        }
        Ok(GradAccumulator { steps, seen: 0, sum: None })
    }

    /// Adds one micro-batch; returns the averaged gradients when `steps` have been added.
    pub fn add(&mut self, grads: Gradients) -> Result<Option<Gradients>> {
        match &mut self.sum {
            Some(sum) => sum.accumulate(&grads)?,
            None => self.sum = Some(grads),
        }
        self.seen += 1;
        if self.seen < self.steps {
            return Ok(None);
        }
        self.seen = 0;
        let mut out = self.sum.take().unwrap_or_default();
        out.scale(1.0 / self.steps as f64)?;
        Ok(Some(out))
    }
}
