//! Throughput benches on the shapes of the design brief, returned as serde structs for `retain bench …` to print.

use std::time::Instant;

use candle_core::Device;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::adamw::{AdamW, AdamWConfig};
use crate::config::Qwen2Config;
use crate::error::{ModelError, Result};
use crate::generate::{GenerationConfig, GenerationRequest, generate};
use crate::gradients::Gradients;
use crate::init::{InitStyle, random_model};
use crate::logprobs::{PaddedBatch, masked_nll, token_logprobs};
use crate::mode::Mode;
use crate::sampling::SamplingConfig;
use crate::threads::ComputePool;

/// Shape of the generation bench (defaults: batch 32, 128-token prompts, 128 new tokens, sampling at T = 1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateBenchConfig {
    /// Sequences per batch.
    pub batch: usize,
    /// Prompt length.
    pub prompt_tokens: usize,
    /// Tokens generated per sequence (EOS disabled, so every sequence runs to the end).
    pub new_tokens: usize,
    /// Compute threads (None = all cores).
    pub threads: Option<usize>,
    /// Timed repetitions (the best is reported, after one untimed warm-up).
    pub repeats: usize,
    /// Seed of weights, prompts and samples.
    pub seed: u64,
}

impl Default for GenerateBenchConfig {
    fn default() -> Self {
        GenerateBenchConfig { batch: 32, prompt_tokens: 128, new_tokens: 128, threads: None, repeats: 2, seed: 0 }
    }
}

/// Result of the generation bench.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenerateBenchResult {
    /// `"generate"`.
    pub bench: String,
    /// Threads used.
    pub threads: usize,
    /// Model parameters.
    pub parameters: usize,
    /// Sequences per batch.
    pub batch: usize,
    /// Prompt length.
    pub prompt_tokens: usize,
    /// New tokens per sequence.
    pub new_tokens: usize,
    /// Best wall time of one whole batch (prefill + decode), seconds.
    pub seconds: f64,
    /// Generated tokens per second (`batch × new_tokens / seconds`).
    pub tokens_per_second: f64,
}

/// Shape of the training bench (defaults: batch 32 × 256 tokens, forward + backward + clip + AdamW).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainBenchConfig {
    /// Sequences per batch.
    pub batch: usize,
    /// Tokens per sequence.
    pub seq_len: usize,
    /// Compute threads (None = all cores).
    pub threads: Option<usize>,
    /// Timed steps (after one untimed warm-up step).
    pub steps: usize,
    /// Seed of weights and data.
    pub seed: u64,
}

impl Default for TrainBenchConfig {
    fn default() -> Self {
        TrainBenchConfig { batch: 32, seq_len: 256, threads: None, steps: 3, seed: 0 }
    }
}

/// Result of the training bench.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainBenchResult {
    /// `"train"`.
    pub bench: String,
    /// Threads used.
    pub threads: usize,
    /// Model parameters.
    pub parameters: usize,
    /// Sequences per batch.
    pub batch: usize,
    /// Tokens per sequence.
    pub seq_len: usize,
    /// Mean seconds per step.
    pub seconds_per_step: f64,
    /// Mean seconds of forward, backward and optimiser within a step.
    pub forward_seconds: f64,
    /// See `forward_seconds`.
    pub backward_seconds: f64,
    /// See `forward_seconds`.
    pub optimizer_seconds: f64,
    /// Trained tokens per second (`batch × seq_len / seconds_per_step`).
    pub tokens_per_second: f64,
    /// Loss after each timed step (shows the step really trains).
    pub losses: Vec<f32>,
}

fn random_ids(rng: &mut ChaCha8Rng, n: usize, vocab: usize) -> Vec<u32> {
    (0..n).map(|_| rng.random_range(3..vocab as u32)).collect()
}

/// Times batched sampling with the KV cache on the tiny default model.
pub fn bench_generate(cfg: &GenerateBenchConfig) -> Result<GenerateBenchResult> {
    if cfg.batch == 0 || cfg.prompt_tokens == 0 || cfg.new_tokens == 0 {
        return Err(ModelError::Config("generate bench: batch, prompt and new tokens must be positive".to_string()));
    }
    let pool = ComputePool::new(cfg.threads)?;
    pool.install(|| {
        let config = Qwen2Config::tiny();
        let model = random_model(config.clone(), cfg.seed, InitStyle::HuggingFace, &Device::Cpu)?;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let requests: Vec<GenerationRequest> = (0..cfg.batch)
            .map(|i| GenerationRequest {
                prompt: random_ids(&mut rng, cfg.prompt_tokens, config.vocab_size),
                max_new_tokens: cfg.new_tokens,
                seed: cfg.seed + i as u64,
            })
            .collect();
        let gen_cfg = GenerationConfig {
            sampling: SamplingConfig::default(),
            stop_strings: Vec::new(),
            eos_token_ids: Vec::new(),
            pad_token_id: 0,
        };
        generate(&model, &requests, &gen_cfg, None)?;
        let mut best = f64::INFINITY;
        for _ in 0..cfg.repeats.max(1) {
            let start = Instant::now();
            generate(&model, &requests, &gen_cfg, None)?;
            best = best.min(start.elapsed().as_secs_f64());
        }
        Ok(GenerateBenchResult {
            bench: "generate".to_string(),
            threads: pool.threads(),
            parameters: config.num_parameters(),
            batch: cfg.batch,
            prompt_tokens: cfg.prompt_tokens,
            new_tokens: cfg.new_tokens,
            seconds: best,
            tokens_per_second: (cfg.batch * cfg.new_tokens) as f64 / best,
        })
    })
}

/// Times full training steps (SFT loss over every token) on the tiny default model.
pub fn bench_train(cfg: &TrainBenchConfig) -> Result<TrainBenchResult> {
    if cfg.batch == 0 || cfg.seq_len < 2 {
        return Err(ModelError::Config("train bench: batch must be positive and seq_len at least 2".to_string()));
    }
    let pool = ComputePool::new(cfg.threads)?;
    pool.install(|| {
        let config = Qwen2Config::tiny();
        let model = random_model(config.clone(), cfg.seed, InitStyle::HuggingFace, &Device::Cpu)?;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed);
        let seqs: Vec<Vec<u32>> =
            (0..cfg.batch).map(|_| random_ids(&mut rng, cfg.seq_len, config.vocab_size)).collect();
        let masks: Vec<Vec<f32>> = seqs.iter().map(|s| vec![1.0; s.len()]).collect();
        let batch = PaddedBatch::new(&seqs, &masks, 0, &Device::Cpu)?;
        let mut opt = AdamW::new(AdamWConfig::default());
        let (mut fwd, mut bwd, mut upd) = (0.0, 0.0, 0.0);
        let mut losses = Vec::new();
        for step in 0..=cfg.steps {
            let t0 = Instant::now();
            let stats = token_logprobs(&model, &batch, Mode::Train { dropout_seed: step as u64 }, false)?;
            let loss = masked_nll(&stats)?;
            let loss_value = loss.to_scalar::<f32>()?;
            let t1 = Instant::now();
            let mut grads = Gradients::from_loss(&loss, model.trainable())?;
            grads.clip_global_norm(1.0)?;
            let t2 = Instant::now();
            opt.step(model.trainable(), &grads, 1e-3)?;
            let t3 = Instant::now();
            if step > 0 {
                fwd += (t1 - t0).as_secs_f64();
                bwd += (t2 - t1).as_secs_f64();
                upd += (t3 - t2).as_secs_f64();
                losses.push(loss_value);
            }
        }
        let n = cfg.steps.max(1) as f64;
        let per_step = (fwd + bwd + upd) / n;
        Ok(TrainBenchResult {
            bench: "train".to_string(),
            threads: pool.threads(),
            parameters: config.num_parameters(),
            batch: cfg.batch,
            seq_len: cfg.seq_len,
            seconds_per_step: per_step,
            forward_seconds: fwd / n,
            backward_seconds: bwd / n,
            optimizer_seconds: upd / n,
            tokens_per_second: (cfg.batch * cfg.seq_len) as f64 / per_step,
            losses,
        })
    })
}
