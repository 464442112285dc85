//! The built-in strategy `ewc`: Elastic Weight Consolidation (Kirkpatrick et al. 2017) for a policy trained with
//! RL, domain after domain.
//!
//! **λ semantics.** The penalty is `(λ/2) · Σ_k Σ_i F_k,i (θ_i − θ*_k,i)²`, so `λ` multiplies *half* the Fisher-weighted
//! squared distance and the gradient the strategy adds is exactly `λ · Σ_k F_k ⊙ (θ − θ*_k)` (implementations
//! disagree on the ½: Avalanche and Mammoth omit it, so their λ equals ours / 2).
//!
//! **When.** In `after_task` (a domain ended) the strategy samples `fisher_samples` stored trajectories of that
//! domain, asks the host for the diagonal Fisher of their sequence log-probs at the final parameters (the SAMPLE
//! estimator), optionally normalises it (`normalize`), and keeps it with a copy θ* of the parameters:
//! * `mode = "online"` (Schwarz et al. 2018): one estimate, `F ← γF + F_new`, anchored at the latest θ*;
//! * `mode = "separate"`: one `(F_k, θ*_k)` per finished domain, all penalised.
//!
//! On every later optimiser step `adjust_gradients` adds the penalty's gradient in place (no autograd graph is
//! needed) and logs `penalty`, `penalty_grad_norm` and `task_grad_norm` (the gradient's norm before the edit);
//! `after_step` logs `penalty_to_loss = penalty / |loss|`, the number to watch when choosing λ, since the scale of
//! an LLM's Fisher varies by orders of magnitude (or use `normalize = "mean"` to make λ comparable across models).
//!
//! The state (every `F_k` and `θ*_k`, in f32) is a checksummed binary blob, see [`state`].

pub mod state;

use rayon::prelude::*;
use retain_plugin_api::{Context, Host, LogLevel, PluginError, Strategy, TensorView, TensorViewMut, export_plugins};
use serde::Deserialize;
use serde_json::{Value, json};
use state::{Anchor, DomainRef, Entry, Mode};
use std::collections::HashMap;

/// How each new Fisher estimate is scaled before it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// Keep the host's estimate as it is.
    #[default]
    None,
    /// Scale so that the mean over all entries of all parameters is 1.
    Mean,
    /// Scale so that the largest entry is 1.
    Max,
}

/// Configuration of `ewc`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EwcConfig {
    /// λ: the penalty is `(λ/2) Σ F (θ − θ*)²`.
    pub lambda: f64,
    /// One running estimate (`online`) or one per domain (`separate`).
    pub mode: Mode,
    /// Decay γ of the running estimate in `online` mode (`F ← γF + F_new`).
    pub gamma: f64,
    /// Stored trajectories of a finished domain used for its Fisher estimate.
    pub fisher_samples: usize,
    /// Scaling of each new Fisher estimate.
    pub normalize: Normalize,
}

impl Default for EwcConfig {
    fn default() -> Self {
        EwcConfig { lambda: 1.0, mode: Mode::Online, gamma: 1.0, fisher_samples: 32, normalize: Normalize::None }
    }
}

/// Elastic Weight Consolidation over the host's diagonal Fisher estimates.
#[derive(Debug)]
pub struct Ewc {
    host: Host,
    config: EwcConfig,
    entries: Vec<Entry>,
    /// The penalty computed by this step's `adjust_gradients`, consumed by `after_step`.
    last_penalty: Option<f64>,
}

fn failed(message: String) -> PluginError {
    PluginError::failed(format!("ewc: {message}"))
}

impl Ewc {
    fn consolidated(&self, domain_index: u32) -> bool {
        self.entries.iter().flat_map(|e| &e.domains).any(|d| d.index == domain_index)
    }

    /// Pairs the host's Fisher tensors with the parameters (in the parameters' order), checking names and shapes.
    fn match_fisher(
        &self,
        domain: &str,
        params: &[TensorView<'_>],
        fisher: Vec<retain_plugin_api::OwnedTensor>,
    ) -> Result<Vec<Anchor>, PluginError> {
        let mut by_name: HashMap<String, retain_plugin_api::OwnedTensor> = HashMap::with_capacity(fisher.len());
        for t in fisher {
            let name = t.name.to_string();
            if by_name.insert(name.clone(), t).is_some() {
                return Err(failed(format!(
                    "the host's Fisher estimate for `{domain}` lists parameter `{name}` twice"
                )));
            }
        }
        let mut out = Vec::with_capacity(params.len());
        for p in params {
            let Some(f) = by_name.remove(p.name()) else {
                return Err(failed(format!(
                    "the host's Fisher estimate for `{domain}` has no tensor for parameter `{}`",
                    p.name()
                )));
            };
            if f.shape.as_slice() != p.dims() || f.data.len() != p.values().len() {
                return Err(failed(format!(
                    "the Fisher estimate of parameter `{}` has shape {:?} ({} values) but the parameter has shape \
                     {:?} ({} values)",
                    p.name(),
                    f.shape.as_slice(),
                    f.data.len(),
                    p.dims(),
                    p.values().len()
                )));
            }
            if let Some(bad) = f.data.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                return Err(failed(format!(
                    "the Fisher estimate of parameter `{}` contains {bad}; a diagonal Fisher is finite and ≥ 0",
                    p.name()
                )));
            }
            out.push(Anchor {
                name: p.name().to_owned(),
                shape: p.dims().to_vec(),
                fisher: f.data.into_vec(),
                anchor: p.values().to_vec(),
            });
        }
        if let Some(extra) = by_name.keys().min() {
            return Err(failed(format!(
                "the host's Fisher estimate for `{domain}` has a tensor `{extra}` that is not a trainable parameter"
            )));
        }
        Ok(out)
    }

    /// Scales a new estimate as `normalize` says; returns the factor used.
    fn normalize(&self, tensors: &mut [Anchor]) -> f64 {
        let values = || tensors.iter().flat_map(|t| t.fisher.iter().map(|&v| f64::from(v)));
        let (count, sum, max) = values().fold((0usize, 0.0f64, 0.0f64), |(n, s, m), v| (n + 1, s + v, m.max(v)));
        let scale = match self.config.normalize {
            Normalize::None => return 1.0,
            Normalize::Mean if sum > 0.0 => count as f64 / sum,
            Normalize::Max if max > 0.0 => 1.0 / max,
            Normalize::Mean | Normalize::Max => {
                self.host.log(LogLevel::Warn, "the Fisher estimate is zero everywhere; it is kept unnormalised");
                return 1.0;
            }
        };
        for v in tensors.iter_mut().flat_map(|t| t.fisher.iter_mut()) {
            *v = (f64::from(*v) * scale) as f32;
        }
        scale
    }

    /// Checks that every entry covers exactly the parameters the host passed, with the same shapes.
    fn check_parameters(&self, params: &[TensorView<'_>], grads: &[TensorViewMut<'_>]) -> Result<(), PluginError> {
        for (p, g) in params.iter().zip(grads) {
            if p.name() != g.name() || p.values().len() != g.values().len() {
                return Err(failed(format!(
                    "gradient `{}` ({} values) does not match parameter `{}` ({} values)",
                    g.name(),
                    g.values().len(),
                    p.name(),
                    p.values().len()
                )));
            }
        }
        let present: HashMap<&str, &TensorView<'_>> = params.iter().map(|p| (p.name(), p)).collect();
        for entry in &self.entries {
            for t in &entry.tensors {
                let Some(p) = present.get(t.name.as_str()) else {
                    return Err(failed(format!(
                        "parameter `{}` was anchored after domain {} but the host passed no parameter of that name",
                        t.name,
                        entry.label()
                    )));
                };
                if p.dims() != t.shape.as_slice() || p.values().len() != t.anchor.len() {
                    return Err(failed(format!(
                        "parameter `{}` has shape {:?} but was anchored with shape {:?} after domain {}",
                        t.name,
                        p.dims(),
                        t.shape,
                        entry.label()
                    )));
                }
            }
            if let Some(p) = params.iter().find(|p| entry.get(p.name()).is_none()) {
                return Err(failed(format!(
                    "parameter `{}` has no Fisher estimate from domain {} (the trainable parameters changed)",
                    p.name(),
                    entry.label()
                )));
            }
        }
        Ok(())
    }
}

impl Strategy for Ewc {
    const NAME: &'static str = "ewc";
    const DESCRIPTION: &'static str =
        "Elastic Weight Consolidation: gradient of (λ/2)·Σ F(θ−θ*)² with the diagonal Fisher of finished domains.";
    type Config = EwcConfig;

    fn config_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "lambda": {"type": "number", "minimum": 0, "default": 1.0,
                           "description": "λ in the penalty (λ/2)·Σ_k Σ F_k(θ−θ*_k)²: the gradient added is \
                                           λ·Σ_k F_k(θ−θ*_k) (Avalanche/Mammoth omit the ½: their λ is ours / 2)"},
                "mode": {"enum": ["online", "separate"], "default": "online",
                         "description": "online: one estimate F ← γF + F_new anchored at the latest domain's \
                                         parameters; separate: one (F_k, θ*_k) per finished domain"},
                "gamma": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 1.0,
                          "description": "decay γ of the running Fisher in online mode"},
                "fisher_samples": {"type": "integer", "minimum": 1, "default": 32,
                                   "description": "stored trajectories of the finished domain used to estimate \
                                                   its Fisher"},
                "normalize": {"enum": ["none", "mean", "max"], "default": "none",
                              "description": "scale each new Fisher so its mean (or max) over all entries is 1, \
                                              making λ comparable across models"}
            },
            "additionalProperties": false
        })
    }

    fn new(config: EwcConfig, host: Host) -> Result<Self, PluginError> {
        if !(config.lambda.is_finite() && config.lambda >= 0.0) {
            return Err(PluginError::invalid_config(format!(
                "ewc: `lambda` must be a finite number ≥ 0, got {}",
                config.lambda
            )));
        }
        if !(config.gamma > 0.0 && config.gamma <= 1.0) {
            return Err(PluginError::invalid_config(format!("ewc: `gamma` must be in (0, 1], got {}", config.gamma)));
        }
        if config.fisher_samples == 0 {
            return Err(PluginError::invalid_config("ewc: `fisher_samples` must be at least 1, got 0"));
        }
        Ok(Ewc { host, config, entries: Vec::new(), last_penalty: None })
    }

    fn after_task(&mut self, ctx: &Context<'_>, params: &[TensorView<'_>]) -> Result<(), PluginError> {
        if self.consolidated(ctx.domain_index) {
            self.host.log(
                LogLevel::Warn,
                &format!(
                    "domain `{}` (index {}) is already consolidated; not counted twice",
                    ctx.domain, ctx.domain_index
                ),
            );
            return Ok(());
        }
        let trajectories = self.host.sample_trajectories(ctx.domain, self.config.fisher_samples, None)?;
        if trajectories.is_empty() {
            self.host.log(
                LogLevel::Warn,
                &format!(
                    "no stored trajectories of `{}`: no Fisher estimate, so this domain is not protected",
                    ctx.domain
                ),
            );
            return Ok(());
        }
        let fisher = self.host.fisher_diagonal(&trajectories)?;
        let mut tensors = self.match_fisher(ctx.domain, params, fisher)?;
        let scale = self.normalize(&mut tensors);
        let (count, sum, max) = tensors
            .iter()
            .flat_map(|t| t.fisher.iter().map(|&v| f64::from(v)))
            .fold((0usize, 0.0f64, 0.0f64), |(n, s, m), v| (n + 1, s + v, m.max(v)));
        let domain = DomainRef { name: ctx.domain.to_owned(), index: ctx.domain_index };
        // The running estimate is replaced only once the new one is complete, so a failure keeps the old state.
        let previous = match self.config.mode {
            Mode::Online => self.entries.last(),
            Mode::Separate => None,
        };
        let entry = match previous {
            Some(previous) => {
                let gamma = self.config.gamma;
                for t in &mut tensors {
                    let old = previous.get(&t.name).filter(|o| o.fisher.len() == t.fisher.len()).ok_or_else(|| {
                        failed(format!(
                            "parameter `{}` has no matching running Fisher from domain {} (the trainable \
                             parameters changed)",
                            t.name,
                            previous.label()
                        ))
                    })?;
                    for (new, &old) in t.fisher.iter_mut().zip(&old.fisher) {
                        *new = (gamma * f64::from(old) + f64::from(*new)) as f32;
                    }
                }
                let mut domains = previous.domains.clone();
                domains.push(domain);
                Entry::new(domains, tensors)
            }
            None => Entry::new(vec![domain], tensors),
        }
        .map_err(failed)?;
        if self.config.mode == Mode::Online {
            self.entries.clear();
        }
        self.entries.push(entry);
        self.host.log_metric("fisher_trajectories", trajectories.len() as f64);
        self.host.log_metric("fisher_scale", scale);
        self.host.log_metric("fisher_mean", if count > 0 { sum / count as f64 } else { 0.0 });
        self.host.log_metric("fisher_max", max);
        Ok(())
    }

    fn adjust_gradients(
        &mut self,
        _ctx: &Context<'_>,
        params: &[TensorView<'_>],
        grads: &mut [TensorViewMut<'_>],
    ) -> Result<(), PluginError> {
        self.last_penalty = None;
        if self.entries.is_empty() {
            return Ok(());
        }
        self.check_parameters(params, grads)?;
        let lambda = self.config.lambda as f32;
        // Checked above: every entry has each parameter, with its length.
        let anchors: Vec<Vec<&Anchor>> =
            params.iter().map(|p| self.entries.iter().filter_map(|e| e.get(p.name())).collect()).collect();
        // Parameters are edited in parallel; their sums are added in parameter order, so metrics are reproducible.
        let per_parameter: Vec<EditSums> = params
            .par_iter()
            .zip(grads.par_iter_mut())
            .zip(anchors.par_iter())
            .map(|((p, g), anchors)| edit_parameter(p.values(), g.values_mut(), anchors, lambda))
            .collect();
        let mut sums = EditSums::default();
        for part in per_parameter {
            sums.add(part);
        }
        let (weighted_sq, penalty_grad_sq) = (sums.weighted_sq, sums.pull_sq);
        let task_grad_norm = sums.grad_sq.sqrt();
        let lambda = self.config.lambda;
        let penalty = 0.5 * lambda * weighted_sq;
        self.last_penalty = Some(penalty);
        self.host.log_metric("penalty", penalty);
        self.host.log_metric("penalty_grad_norm", penalty_grad_sq.sqrt());
        self.host.log_metric("task_grad_norm", task_grad_norm);
        Ok(())
    }

    fn after_step(&mut self, _ctx: &Context<'_>, metrics: &Value) -> Result<(), PluginError> {
        let penalty = self.last_penalty.take();
        if let (Some(penalty), Some(loss)) = (penalty, metrics.get("loss").and_then(Value::as_f64))
            && loss.abs() >= 1e-12
        {
            self.host.log_metric("penalty_to_loss", penalty / loss.abs());
        }
        Ok(())
    }

    fn save_state(&mut self) -> Result<Vec<u8>, PluginError> {
        state::encode(self.config.mode, &self.entries).map_err(failed)
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), PluginError> {
        let (mode, entries) = state::decode(bytes).map_err(|e| failed(format!("cannot load the saved state: {e}")))?;
        if mode != self.config.mode {
            return Err(failed(format!(
                "the saved state was written in mode `{}` but the config says `mode = \"{}\"`; resume with the \
                 run's original mode",
                mode.as_str(),
                self.config.mode.as_str()
            )));
        }
        self.entries = entries;
        self.last_penalty = None;
        Ok(())
    }
}

/// Per-parameter sums of one gradient edit, accumulated in f64 across fixed-size chunks (so they are the same on
/// every run): `Σ F (θ − θ*)²`, `Σ pull²` (the penalty gradient) and `Σ g²` (the gradient before the edit).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct EditSums {
    weighted_sq: f64,
    pull_sq: f64,
    grad_sq: f64,
}

impl EditSums {
    fn add(&mut self, other: EditSums) {
        self.weighted_sq += other.weighted_sq;
        self.pull_sq += other.pull_sq;
        self.grad_sq += other.grad_sq;
    }
}

/// Values per chunk: the pull of a chunk stays in L1 while every anchor adds to it.
const CHUNK: usize = 2048;
/// Independent accumulators per chunk, so the compiler can vectorise the sums.
const LANES: usize = 8;

fn lane_sum(lanes: [f32; LANES]) -> f64 {
    lanes.iter().map(|&x| f64::from(x)).sum()
}

/// Adds `λ Σ_k F_k ⊙ (θ − θ*_k)` to `grad` in place, chunk by chunk, and returns the sums the metrics need.
/// Within a chunk the arithmetic is f32 in `LANES` independent accumulators (vectorised); chunks are summed in f64.
fn edit_parameter(theta: &[f32], grad: &mut [f32], anchors: &[&Anchor], lambda: f32) -> EditSums {
    let mut sums = EditSums::default();
    let mut pull = [0.0f32; CHUNK];
    for (c, (theta, grad)) in theta.chunks(CHUNK).zip(grad.chunks_mut(CHUNK)).enumerate() {
        let start = c * CHUNK;
        let n = theta.len();
        let pull = &mut pull[..n];
        pull.fill(0.0);
        let mut weighted = [0.0f32; LANES];
        for anchor in anchors {
            let (fisher, star) = (&anchor.fisher[start..start + n], &anchor.anchor[start..start + n]);
            let mut add = |p: &mut f32, t: f32, f: f32, a: f32, lane: usize| {
                let d = t - a;
                let fd = f * d;
                *p += fd;
                weighted[lane] += fd * d;
            };
            let body = n - n % LANES;
            for (((p, t), f), a) in pull[..body]
                .chunks_exact_mut(LANES)
                .zip(theta[..body].chunks_exact(LANES))
                .zip(fisher[..body].chunks_exact(LANES))
                .zip(star[..body].chunks_exact(LANES))
            {
                for l in 0..LANES {
                    add(&mut p[l], t[l], f[l], a[l], l);
                }
            }
            for j in body..n {
                add(&mut pull[j], theta[j], fisher[j], star[j], 0);
            }
        }
        let (mut pulls, mut grads) = ([0.0f32; LANES], [0.0f32; LANES]);
        let mut finish = |g: &mut f32, p: f32, lane: usize| {
            let step = lambda * p;
            grads[lane] += *g * *g;
            pulls[lane] += step * step;
            *g += step;
        };
        let body = n - n % LANES;
        for (g, p) in grad[..body].chunks_exact_mut(LANES).zip(pull[..body].chunks_exact(LANES)) {
            for l in 0..LANES {
                finish(&mut g[l], p[l], l);
            }
        }
        for j in body..n {
            finish(&mut grad[j], pull[j], 0);
        }
        sums.add(EditSums { weighted_sq: lane_sum(weighted), pull_sq: lane_sum(pulls), grad_sq: lane_sum(grads) });
    }
    sums
}

export_plugins! {
    description: "Elastic Weight Consolidation (online or separate) on the host's diagonal Fisher.",
    strategies: [Ewc],
    rewards: [],
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{Anchor, edit_parameter};

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n).map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    /// The vectorised edit equals the textbook one, for lengths that hit the lane tail and the chunk boundary.
    #[test]
    fn chunked_edit_equals_the_elementwise_definition() {
        for n in [3, 8, 13, super::CHUNK, super::CHUNK + 5, 3 * super::CHUNK + 7] {
            let anchors: Vec<Anchor> = (0..2)
                .map(|k| Anchor {
                    name: "w".to_owned(),
                    shape: vec![n as u64],
                    fisher: values(n, 11 + k).iter().map(|v| v.abs()).collect(),
                    anchor: values(n, 29 + k),
                })
                .collect();
            let refs: Vec<&Anchor> = anchors.iter().collect();
            let (theta, grad) = (values(n, 3), values(n, 7));
            let mut edited = grad.clone();
            let sums = edit_parameter(&theta, &mut edited, &refs, 0.5);
            let (mut weighted, mut pull_sq, mut grad_sq) = (0.0f64, 0.0f64, 0.0f64);
            for j in 0..n {
                let pull: f64 =
                    anchors.iter().map(|a| f64::from(a.fisher[j]) * f64::from(theta[j] - a.anchor[j])).sum::<f64>();
                weighted += anchors
                    .iter()
                    .map(|a| f64::from(a.fisher[j]) * f64::from(theta[j] - a.anchor[j]).powi(2))
                    .sum::<f64>();
                pull_sq += (0.5 * pull).powi(2);
                grad_sq += f64::from(grad[j]).powi(2);
                let expected = f64::from(grad[j]) + 0.5 * pull;
                assert!((f64::from(edited[j]) - expected).abs() < 1e-5, "n {n}, value {j}");
            }
            for (got, want) in [(sums.weighted_sq, weighted), (sums.pull_sq, pull_sq), (sums.grad_sq, grad_sq)] {
                assert!((got - want).abs() <= 1e-4 * want.abs().max(1.0), "n {n}: {got} vs {want}");
            }
        }
    }
}
