//! Benchmarks behind `retain bench`. `grpo-step`: one GRPO step at the design brief's shapes — 8 prompts × 4 samples × 128 new tokens,
//! the tiny default model (hidden 256, 4 layers, BPE 4096 + entity ids) — split into sampling and update time.
//! The prompts are real generated airline tasks rendered with the chosen policy text; sampling ignores EOS so every
//! completion has exactly the stated length (the shape a TRL comparison uses). [`ewc_overhead`]: what the built-in
//! `ewc` strategy adds to an optimiser step of the tiny default model (part of `retain bench plugins`).

use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};

use retain_config::PluginSpec;
use retain_config::{Domain, PolicyText, TinyModelConfig, TrainerConfig};
use retain_data::GeneratorConfig;
use retain_data::dataset::{DbSource, demonstrations, domain_data};
use retain_data::protocol::SegmentKind;
use retain_data::protocol::template::GENERATION_PROMPT;
use retain_model::mode::mix_seed;
use retain_model::{
    AdamW, AdamWConfig, ComputePool, GenerationConfig, GenerationRequest, Gradients, InitStyle, Qwen2, Qwen2Config,
    SamplingConfig, generate, random_model,
};
use retain_plugin_api::{Context, OwnedTensor, TensorView, TensorViewMut};
use retain_plugin_host::{HostServices, StrategyPlugin};
use std::sync::Arc;

use crate::advantage::grpo;
use crate::encode::{Encoded, encode_segments};
use crate::error::Result;
use crate::extras::StepExtras;
use crate::policy::{Policy, train_tokenizer};
use crate::strategies::Strategies;
use crate::update::{UpdateInput, policy_update};

/// Shapes and settings of the bench.
#[derive(Debug, Clone)]
pub struct GrpoBenchConfig {
    /// Prompts (tasks) per step.
    pub prompts: usize,
    /// Samples per prompt (the group size).
    pub samples_per_prompt: usize,
    /// New tokens per sample.
    pub new_tokens: usize,
    /// Prompt text (`compact` is the tiny default's τ²-style prompt; `minimal` the quickstart's).
    pub policy: PolicyText,
    /// Compute threads (`None`: all cores).
    pub threads: Option<usize>,
    /// Seed of tasks, weights and samples.
    pub seed: u64,
    /// Also write the untrained model (Hugging Face layout, `model/`) and the prompt texts (`prompts.json`) here,
    /// so another framework can run the same step (`framework/trainer/scripts/compare_trl.sh`).
    pub export: Option<std::path::PathBuf>,
}

/// What one step cost.
#[derive(Debug, Clone, Serialize)]
pub struct GrpoStepBench {
    /// The bench's name.
    pub bench: &'static str,
    /// Prompts per step.
    pub prompts: usize,
    /// Samples per prompt.
    pub samples_per_prompt: usize,
    /// New tokens per sample.
    pub new_tokens: usize,
    /// Mean prompt length in tokens.
    pub prompt_tokens_mean: f64,
    /// Trainable parameters of the model.
    pub parameters: usize,
    /// Compute threads used.
    pub threads: usize,
    /// Seconds to sample every completion (KV-cached, batched).
    pub generate_seconds: f64,
    /// Seconds for the update: reference log-probs, policy forward + backward, AdamW.
    pub update_seconds: f64,
    /// The whole step.
    pub step_seconds: f64,
    /// Sampled tokens per second.
    pub sampled_tokens_per_second: f64,
    /// Sequence tokens (prompt + completion) per second of update.
    pub update_tokens_per_second: f64,
}

/// Runs one GRPO step (after building the data, tokenizer and model, which are not timed).
pub fn grpo_step(config: &GrpoBenchConfig) -> Result<GrpoStepBench> {
    let pool = ComputePool::new(config.threads)?;
    pool.install(|| run(config, pool.threads()))
}

fn run(config: &GrpoBenchConfig, threads: usize) -> Result<GrpoStepBench> {
    let data = domain_data(
        Domain::Airline,
        config.seed,
        &DbSource::Generated,
        &GeneratorConfig::default(),
        config.policy,
        config.prompts.max(16),
        1,
    )?;
    let corpus: Vec<String> = demonstrations(&data.env, &data.train, data.style)?.iter().map(|d| d.text()).collect();
    let tiny = TinyModelConfig::default();
    let tokenizer = train_tokenizer(&corpus, &tiny, &data.env.entity_ids())?;
    let mut policy = Policy::tiny(&tiny, tokenizer, config.seed, None)?;
    let reference = policy.frozen_copy()?;
    let mut prompts = Vec::with_capacity(config.prompts);
    let mut texts = Vec::with_capacity(config.prompts);
    for generated in data.train.iter().take(config.prompts) {
        let task = std::sync::Arc::new(generated.task.clone());
        let episode = data.env.start(std::sync::Arc::clone(&task), 24)?;
        let mut rendered = data.style.render(&task, episode.mode(), episode.messages(), &episode.tool_schemas());
        rendered.push(SegmentKind::Prompt, GENERATION_PROMPT);
        prompts.push(encode_segments(&policy.tokenizer, &rendered.segments)?);
        texts.push(rendered.text());
    }
    if let Some(dir) = &config.export {
        policy.save(&dir.join("model"))?;
        let json = serde_json::to_vec_pretty(&texts)
            .map_err(|source| crate::TrainerError::Json { what: "prompts.json".to_owned(), source })?;
        let path = dir.join("prompts.json");
        std::fs::write(&path, json).map_err(|e| crate::TrainerError::io(&path, e))?;
    }
    let requests: Vec<GenerationRequest> = prompts
        .iter()
        .enumerate()
        .flat_map(|(p, prompt)| {
            (0..config.samples_per_prompt).map(move |g| GenerationRequest {
                prompt: prompt.ids.clone(),
                max_new_tokens: config.new_tokens,
                seed: mix_seed(config.seed, (p * config.samples_per_prompt + g) as u64),
            })
        })
        .collect();
    let sampling = GenerationConfig {
        sampling: SamplingConfig { temperature: 1.0, top_p: 1.0, top_k: 0 },
        stop_strings: Vec::new(),
        eos_token_ids: Vec::new(),
        pad_token_id: policy.pad_id,
    };
    let started = Instant::now();
    let completions = generate(&policy.model, &requests, &sampling, None)?;
    let generate_seconds = started.elapsed().as_secs_f64();
    let sequences: Vec<Encoded> = requests
        .iter()
        .zip(&completions)
        .map(|(r, c)| {
            let mut e = Encoded::default();
            e.extend(&r.prompt, false);
            e.extend(&c.tokens, true);
            e
        })
        .collect();
    // Rewards only shape the advantages; alternate successes so no group has zero variance.
    let rewards: Vec<f64> = (0..sequences.len()).map(|i| (i % 2) as f64).collect();
    let advantages = grpo(&rewards, config.samples_per_prompt, retain_config::ScaleRewards::Group)?;
    let trainer = TrainerConfig::default();
    let mut optimizer = AdamW::new(AdamWConfig::default());
    let refs: Vec<&Encoded> = sequences.iter().collect();
    let update_started = Instant::now();
    let input = UpdateInput { sequences: &refs, weights: &advantages.values, learning_rate: 1e-5, seed: config.seed };
    policy_update(&mut policy, Some(&reference), &mut optimizer, &trainer, &input, &mut StepExtras::default())?;
    let update_seconds = update_started.elapsed().as_secs_f64();
    let step_seconds = generate_seconds + update_seconds;
    let sampled: usize = completions.iter().map(|c| c.tokens.len()).sum();
    let total: usize = sequences.iter().map(Encoded::len).sum();
    Ok(GrpoStepBench {
        bench: "grpo_step",
        prompts: config.prompts,
        samples_per_prompt: config.samples_per_prompt,
        new_tokens: config.new_tokens,
        prompt_tokens_mean: prompts.iter().map(Encoded::len).sum::<usize>() as f64 / prompts.len().max(1) as f64,
        parameters: policy.model.trainable().values().map(|v| v.elem_count()).sum(),
        threads,
        generate_seconds,
        update_seconds,
        step_seconds,
        sampled_tokens_per_second: sampled as f64 / generate_seconds.max(1e-9),
        update_tokens_per_second: total as f64 / update_seconds.max(1e-9),
    })
}

/// Host services for the EWC measurement: one stored trajectory, and a Fisher of ones for every parameter.
struct FixedFisher {
    shapes: Vec<(String, Vec<u64>)>,
}

impl HostServices for FixedFisher {
    fn sample_trajectories(&self, _plugin: &str, _query: &Value) -> std::result::Result<Value, String> {
        Ok(json!([{"domain": "airline", "task_id": "1"}]))
    }

    fn fisher_diagonal(&self, _plugin: &str, _trajectories: &Value) -> std::result::Result<Vec<OwnedTensor>, String> {
        Ok(self
            .shapes
            .iter()
            .map(|(name, shape)| OwnedTensor {
                name: name.as_str().into(),
                shape: shape.clone().into(),
                data: vec![1.0f32; shape.iter().product::<u64>() as usize].into(),
            })
            .collect())
    }
}

/// What [`ewc_overhead`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EwcOverhead {
    /// Trainable parameters of the model.
    pub params: usize,
    /// Milliseconds of the plugin's penalty and gradient edit on slices the host already holds.
    pub plugin_edit_ms: f64,
    /// Milliseconds of the whole `adjust_gradients` hook as the trainer runs it: parameters and gradients copied
    /// across the boundary, the edit, and the gradients written back.
    pub with_host_copies_ms: f64,
}

/// The per-step cost of the built-in `ewc` on the tiny default model (≈5M parameters): the plugin's penalty and
/// gradient edit on borrowed slices, and the whole per-step overhead the trainer adds with it (copying parameters
/// and gradients across the boundary and back).
pub fn ewc_overhead() -> Result<EwcOverhead> {
    let ctx = Context { domain: "airline", domain_index: 0, num_domains: 3, step: 0, global_step: 0 };
    let ctx = &ctx;
    let model: Qwen2 = random_model(Qwen2Config::tiny(), 1, InitStyle::HuggingFace, &candle_core::Device::Cpu)?;
    let shapes: Vec<(String, Vec<u64>)> = model
        .trainable()
        .iter()
        .map(|(name, var)| (name.clone(), var.as_tensor().dims().iter().map(|&d| d as u64).collect()))
        .collect();
    let params: usize = shapes.iter().map(|(_, s)| s.iter().product::<u64>() as usize).sum();
    let spec =
        PluginSpec { name: "ewc".to_owned(), path: None, priority: 0, weight: 1.0, config: json!({"lambda": 1.0}) };
    let plugin = StrategyPlugin::load(&spec, Arc::new(FixedFisher { shapes: shapes.clone() }), 0)?;
    let mut strategies = Strategies::new(vec![plugin]);
    strategies.after_task(ctx, &model)?;
    let first = model.trainable().values().next().map(|v| v.as_tensor().sum_all()).transpose()?;
    let mut grads = match first {
        Some(loss) => Gradients::from_loss(&loss, model.trainable())?,
        None => Gradients::default(),
    };
    let later = Context { domain_index: 1, ..*ctx };
    const STEPS: u32 = 10;
    let start = Instant::now();
    for _ in 0..STEPS {
        strategies.adjust_gradients(&later, &model, &mut grads)?;
    }
    let with_host_copies_ms = start.elapsed().as_secs_f64() * 1e3 / f64::from(STEPS);

    // The plugin alone, on slices the host already holds.
    let mut plugin = StrategyPlugin::load(&spec, Arc::new(FixedFisher { shapes: shapes.clone() }), 0)?;
    let values: Vec<Vec<f32>> = shapes.iter().map(|(_, s)| vec![0.5f32; s.iter().product::<u64>() as usize]).collect();
    let mut grad_values = values.clone();
    {
        let views: Vec<TensorView<'_>> =
            shapes.iter().zip(&values).map(|((n, s), v)| TensorView::new(n, s, v)).collect();
        plugin.after_task(ctx, &views)?;
    }
    let start = Instant::now();
    for _ in 0..STEPS {
        let views: Vec<TensorView<'_>> =
            shapes.iter().zip(&values).map(|((n, s), v)| TensorView::new(n, s, v)).collect();
        let mut grad_views: Vec<TensorViewMut<'_>> =
            shapes.iter().zip(grad_values.iter_mut()).map(|((n, s), g)| TensorViewMut::new(n, s, g)).collect();
        plugin.adjust_gradients(&later, &views, &mut grad_views)?;
    }
    let plugin_edit_ms = start.elapsed().as_secs_f64() * 1e3 / f64::from(STEPS);
    Ok(EwcOverhead { params, plugin_edit_ms, with_host_copies_ms })
}
