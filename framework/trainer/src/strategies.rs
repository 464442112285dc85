//! The run's continual-learning strategies (`plugins.strategies`), called in (priority, name) order at the hooks
//! of the plugin contract. This module is the only place that turns trainer values into what crosses the plugin
//! boundary: parameters as named `f32` slices read in place, gradients as named copies the plugins edit and the
//! trainer writes back, batches as [`BatchItem`]s, plugin states as bytes.
//!
//! With no strategy configured every hook returns at once, and no parameter is copied.

use candle_core::{Layout, Storage, StorageRef, Tensor};
use serde_json::Value;

use retain_checkpoint::Checkpoint;
use retain_model::{Gradients, Qwen2};
use retain_plugin_api::contract::{BatchItem, LossTerm};
use retain_plugin_api::{Context, TensorView, TensorViewMut};
use retain_plugin_host::StrategyPlugin;

use crate::error::{Result, TrainerError};
use crate::extras::{SftTerm, SnapshotTerm, StepExtras};

/// Copies of named tensors with the shapes plugins see (`u64` dimensions): how gradients cross, since plugins
/// edit them in place.
struct NamedCopies {
    names: Vec<String>,
    shapes: Vec<Vec<u64>>,
    data: Vec<Vec<f32>>,
}

impl NamedCopies {
    fn of<'t>(tensors: impl Iterator<Item = (&'t String, &'t Tensor)>) -> Result<Self> {
        let mut copies = NamedCopies { names: Vec::new(), shapes: Vec::new(), data: Vec::new() };
        for (name, tensor) in tensors {
            copies.names.push(name.clone());
            copies.shapes.push(tensor.dims().iter().map(|&d| d as u64).collect());
            copies.data.push(tensor.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(copies)
    }
}

/// The model's trainable parameters, read in place: a read lock on each variable's storage for as long as the
/// views live, so plugins see the weights without a copy (5M parameters: 20 MB not copied per hook call).
struct BorrowedParameters<'m> {
    names: Vec<&'m str>,
    shapes: Vec<Vec<u64>>,
    storages: Vec<(StorageRef<'m>, &'m Layout)>,
}

impl<'m> BorrowedParameters<'m> {
    fn of(model: &'m Qwen2) -> Self {
        let mut borrowed = BorrowedParameters { names: Vec::new(), shapes: Vec::new(), storages: Vec::new() };
        for (name, var) in model.trainable() {
            borrowed.names.push(name);
            borrowed.shapes.push(var.as_tensor().dims().iter().map(|&d| d as u64).collect());
            borrowed.storages.push(var.as_tensor().storage_and_layout());
        }
        borrowed
    }

    fn views(&self) -> Result<Vec<TensorView<'_>>> {
        let mut views = Vec::with_capacity(self.names.len());
        for ((name, shape), (storage, layout)) in self.names.iter().zip(&self.shapes).zip(&self.storages) {
            let values = match (&**storage, layout.contiguous_offsets()) {
                (Storage::Cpu(cpu), Some((start, end))) => &cpu.as_slice::<f32>()?[start..end],
                _ => {
                    return Err(TrainerError::Internal(format!(
                        "parameter `{name}` is not a contiguous f32 tensor in CPU memory"
                    )));
                }
            };
            views.push(TensorView::new(name, shape, values));
        }
        Ok(views)
    }
}

/// Whether every value of `tensor` is finite.
fn all_finite(tensor: &Tensor) -> Result<bool> {
    Ok(tensor.flatten_all()?.to_vec1::<f32>()?.iter().all(|x| x.is_finite()))
}

/// The strategies of a run, in call order.
#[derive(Debug)]
pub struct Strategies {
    plugins: Vec<StrategyPlugin>,
}

impl Strategies {
    /// Strategies already loaded, in call order.
    pub fn new(plugins: Vec<StrategyPlugin>) -> Self {
        Strategies { plugins }
    }

    /// Whether no strategy is configured.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// Training on `ctx.domain` starts or resumes.
    pub fn before_task(&mut self, ctx: &Context<'_>) -> Result<()> {
        for plugin in &mut self.plugins {
            plugin.before_task(ctx)?;
        }
        Ok(())
    }

    /// The batch after every strategy's `augment_batch`, each seeing the previous one's output. `resolve` maps an
    /// item back to what the trainer runs, or says why it cannot (the error then names the plugin).
    pub fn augment_batch<T>(
        &mut self,
        ctx: &Context<'_>,
        batch: Vec<BatchItem>,
        resolve: &dyn Fn(&BatchItem) -> std::result::Result<T, String>,
    ) -> Result<Vec<T>> {
        let mut batch = batch;
        for plugin in &mut self.plugins {
            let out = plugin.augment_batch(ctx, &batch)?;
            let problem = if out.is_empty() {
                Some("returned an empty batch; return None to keep it, or at least one task".to_owned())
            } else {
                out.iter().find_map(|item| resolve(item).err())
            };
            if let Some(message) = problem {
                return Err(TrainerError::PluginOutput {
                    plugin: plugin.name().to_owned(),
                    hook: "augment_batch".to_owned(),
                    message,
                });
            }
            batch = out;
        }
        batch
            .iter()
            .map(resolve)
            .collect::<std::result::Result<Vec<T>, String>>()
            .map_err(|m| TrainerError::Internal(format!("the trainer's own batch does not resolve: {m}")))
    }

    /// Every strategy's loss terms, with the name of the plugin that asked for each.
    pub fn loss_terms(&mut self, ctx: &Context<'_>, model: &Qwen2) -> Result<Vec<(String, LossTerm)>> {
        if self.plugins.is_empty() {
            return Ok(Vec::new());
        }
        let params = BorrowedParameters::of(model);
        let views = params.views()?;
        let mut terms = Vec::new();
        for plugin in &mut self.plugins {
            let name = plugin.name().to_owned();
            terms.extend(plugin.loss_terms(ctx, &views)?.into_iter().map(|t| (name.clone(), t)));
        }
        Ok(terms)
    }

    /// Runs `step` (one optimiser step on `model`) with this step's loss terms (`sft`, `snapshots`) and every
    /// strategy's gradient edit.
    pub fn optimiser_step<T>(
        &mut self,
        ctx: &Context<'_>,
        model: &Qwen2,
        (sft, snapshots): (Vec<SftTerm>, Vec<SnapshotTerm>),
        step: impl FnOnce(&mut StepExtras<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut edit = |grads: &mut Gradients| self.adjust_gradients(ctx, model, grads);
        let mut extras = StepExtras { sft, snapshots, edit: Some(&mut edit) };
        step(&mut extras)
    }

    /// Lets every strategy edit `grads` in place (names and shapes are the model's trainable parameters).
    pub fn adjust_gradients(&mut self, ctx: &Context<'_>, model: &Qwen2, grads: &mut Gradients) -> Result<()> {
        if self.plugins.is_empty() {
            return Ok(());
        }
        let params = BorrowedParameters::of(model);
        let views = params.views()?;
        let names: Vec<String> = model.trainable().keys().cloned().collect();
        let mut edited = NamedCopies::of(names.iter().filter_map(|n| grads.get(n).map(|g| (n, g))))?;
        if edited.names != names {
            return Err(TrainerError::Internal(
                "the gradients do not cover every trainable parameter, so strategies cannot edit them".to_owned(),
            ));
        }
        {
            let NamedCopies { names, shapes, data } = &mut edited;
            let mut views_mut: Vec<TensorViewMut<'_>> = names
                .iter()
                .zip(shapes.iter())
                .zip(data.iter_mut())
                .map(|((name, shape), data)| TensorViewMut::new(name, shape, data))
                .collect();
            for plugin in &mut self.plugins {
                plugin.adjust_gradients(ctx, &views, &mut views_mut)?;
                // A non-finite value would silently corrupt the weights through the optimiser: blame the plugin that
                // wrote it, unless the gradient it was given was already non-finite.
                if let Some(bad) = views_mut.iter().find(|v| v.values().iter().any(|x| !x.is_finite()))
                    && grads.get(bad.name()).map(all_finite).transpose()?.unwrap_or(false)
                {
                    return Err(TrainerError::PluginOutput {
                        plugin: plugin.name().to_owned(),
                        hook: "adjust_gradients".to_owned(),
                        message: format!("wrote a NaN or infinite value into the gradient of `{}`", bad.name()),
                    });
                }
            }
        }
        for ((name, shape), data) in edited.names.into_iter().zip(edited.shapes).zip(edited.data) {
            let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
            let device = model.device();
            grads.insert(name, Tensor::from_vec(data, dims, device)?);
        }
        Ok(())
    }

    /// After an optimiser step, with its metrics.
    pub fn after_step(&mut self, ctx: &Context<'_>, metrics: &Value) -> Result<()> {
        for plugin in &mut self.plugins {
            plugin.after_step(ctx, metrics)?;
        }
        Ok(())
    }

    /// After an evaluation, with its results.
    pub fn after_evaluation(&mut self, ctx: &Context<'_>, results: &Value) -> Result<()> {
        for plugin in &mut self.plugins {
            plugin.after_evaluation(ctx, results)?;
        }
        Ok(())
    }

    /// A domain is finished; `model` holds its final weights.
    pub fn after_task(&mut self, ctx: &Context<'_>, model: &Qwen2) -> Result<()> {
        if self.plugins.is_empty() {
            return Ok(());
        }
        let params = BorrowedParameters::of(model);
        let views = params.views()?;
        for plugin in &mut self.plugins {
            plugin.after_task(ctx, &views)?;
        }
        Ok(())
    }

    /// Every strategy's state for a checkpoint: `(name, bytes)`, `None` when it returned nothing.
    pub fn save(&mut self) -> Result<Vec<(String, Option<Vec<u8>>)>> {
        self.plugins
            .iter_mut()
            .map(|plugin| {
                let state = plugin.save_state()?;
                Ok((plugin.name().to_owned(), (!state.is_empty()).then_some(state)))
            })
            .collect()
    }

    /// Restores every strategy's state from `checkpoint`.
    pub fn restore(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        for plugin in &mut self.plugins {
            if let Some(state) = checkpoint.plugin_state(plugin.name())? {
                plugin.load_state(&state)?;
            }
        }
        Ok(())
    }

    /// Every strategy's random stream, by name.
    pub fn rng_states(&self) -> Vec<(String, u64)> {
        self.plugins.iter().map(|p| (p.name().to_owned(), p.rng_state())).collect()
    }

    /// Restores the random stream of strategy `name` (unknown names are ignored).
    pub fn set_rng_state(&self, name: &str, state: u64) {
        if let Some(plugin) = self.plugins.iter().find(|p| p.name() == name) {
            plugin.set_rng_state(state);
        }
    }
}
