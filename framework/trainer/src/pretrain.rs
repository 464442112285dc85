//! `retain pretrain`: a base model for runs that start from a tiny model, built with copy drills
//! ([`retain_data::copy_drill`]). The tokenizer is trained on the config's demonstrations and the weights are
//! initialised exactly as `retain run` would; the drills then teach the model to copy ids from its context, a
//! skill a pretrained language model already has. The base is saved in the Hugging Face layout, so a run starts
//! from it with `model.pretrained`.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use retain_config::Config;
use retain_data::copy_drill::copy_drill;
use retain_model::{AdamW, AdamWConfig, Mode, token_logprobs};

use crate::encode::{Encoded, encode_segments, pad};
use crate::error::{Result, TrainerError};
use crate::extras::StepExtras;
use crate::policy::Policy;
use crate::run::{Progress, demonstrations_of, load_domains, seed, stream, tiny_tokenizer};
use crate::warm_start::sft_step;

/// Held-out drills scored before and after the drills.
const HELDOUT_DRILLS: u64 = 64;

/// Rows per forward pass when scoring held-out drills.
const HELDOUT_CHUNK: usize = 16;

/// The summary `retain pretrain` prints and saves as `pretrain.json` next to the weights.
#[derive(Debug, Clone, Serialize)]
pub struct PretrainSummary {
    /// Optimiser steps taken.
    pub steps: usize,
    /// Mean NLL per agent token of the held-out drills before the first step.
    pub heldout_loss_before: f64,
    /// The same after the last step: how much of the copying was learned.
    pub heldout_loss_after: f64,
    /// Mean training loss of the last tenth of the steps.
    pub final_train_loss: f64,
    /// Wall time of the drills.
    pub seconds: f64,
    /// Training throughput (all tokens of the drills).
    pub tokens_per_second: f64,
}

/// Builds the base model of `config` into `out` (which must not hold anything unless `overwrite`). The base is
/// written to a sibling directory first and moved into place at the end, so a failed build leaves `out` as it was.
pub fn pretrain(config: &Config, out: &Path, overwrite: bool, progress: &mut dyn Progress) -> Result<PretrainSummary> {
    if config.model.pretrained.is_some() {
        return Err(TrainerError::Config(
            "pretrain builds a tiny model from scratch, but model.pretrained is set; remove it (the tiny model's shape \
             comes from [model.tiny])"
                .to_owned(),
        ));
    }
    if out.exists() {
        if !out.is_dir() {
            return Err(TrainerError::RunDir(format!(
                "{} is a file; --out names the directory the base goes to",
                out.display()
            )));
        }
        if !overwrite && std::fs::read_dir(out).map_err(|e| TrainerError::io(out, e))?.next().is_some() {
            return Err(TrainerError::RunDir(format!(
                "{} is not empty; choose another --out or pass --overwrite",
                out.display()
            )));
        }
    }
    progress.phase("generating tasks and demonstrations", config.sequence.task_order.len() as u64);
    let domains = load_domains(config)?;
    let demos = demonstrations_of(&domains, progress)?;
    let tokenizer = tiny_tokenizer(config, &domains, &demos)?;
    let mut policy = Policy::tiny(&config.model.tiny, tokenizer, seed(config, stream::POLICY_INIT, 0), None)?;
    let mut optimizer = AdamW::new(AdamWConfig { weight_decay: config.trainer.weight_decay, ..AdamWConfig::default() });

    let words = policy.tokenizer.words()?;
    let settings = &config.pretrain;
    let drill_seed = seed(config, stream::COPY_DRILL, 0);
    let heldout_seed = seed(config, stream::COPY_DRILL, 1);
    let heldout: Vec<Encoded> = (0..HELDOUT_DRILLS)
        .map(|i| encode_segments(&policy.tokenizer, &copy_drill(heldout_seed, i, &words).segments))
        .collect::<Result<_>>()?;
    let heldout_loss_before = mean_nll(&policy, &heldout)?;

    let (steps, batch_size) = (settings.copy_drill_steps, settings.batch_size as u64);
    progress.phase("copy drills", steps as u64);
    let started = Instant::now();
    let (mut tokens, mut tail_loss, mut tail_steps) = (0usize, 0.0, 0usize);
    for step in 0..steps as u64 {
        let batch: Vec<Encoded> = (step * batch_size..(step + 1) * batch_size)
            .map(|i| encode_segments(&policy.tokenizer, &copy_drill(drill_seed, i, &words).segments))
            .collect::<Result<_>>()?;
        let rows: Vec<&Encoded> = batch.iter().collect();
        let stats = sft_step(
            &mut policy,
            &mut optimizer,
            &rows,
            settings.learning_rate,
            config.trainer.max_grad_norm,
            seed(config, stream::DROPOUT, step),
            &mut StepExtras::default(),
        )?;
        tokens += batch.iter().map(Encoded::len).sum::<usize>();
        if step as usize >= steps - steps.div_ceil(10) {
            tail_loss += stats.loss;
            tail_steps += 1;
        }
        progress.tick(&format!("loss {:.3}", stats.loss));
    }
    let seconds = started.elapsed().as_secs_f64();
    let summary = PretrainSummary {
        steps,
        heldout_loss_before,
        heldout_loss_after: mean_nll(&policy, &heldout)?,
        final_train_loss: tail_loss / tail_steps.max(1) as f64,
        seconds,
        tokens_per_second: tokens as f64 / seconds.max(1e-9),
    };
    write_base(&policy, &summary, out)?;
    Ok(summary)
}

/// Mean NLL per agent token of `rows` (no gradients).
fn mean_nll(policy: &Policy, rows: &[Encoded]) -> Result<f64> {
    let (mut total, mut count) = (0.0, 0.0);
    for chunk in rows.chunks(HELDOUT_CHUNK) {
        let padded = pad(chunk, policy.pad_id)?;
        let logp = token_logprobs(&policy.model, &padded, Mode::Infer, false)?;
        total -= f64::from((&logp.logprobs * &padded.loss_mask)?.sum_all()?.to_scalar::<f32>()?);
        count += f64::from(padded.counted_tokens()?);
    }
    Ok(total / count.max(1.0))
}

/// Saves the weights, tokenizer and `pretrain.json` into `out`, through a sibling staging directory.
fn write_base(policy: &Policy, summary: &PretrainSummary, out: &Path) -> Result<()> {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "base".to_owned());
    let staging = out.with_file_name(format!(".{name}.partial"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| TrainerError::io(&staging, e))?;
    }
    policy.save(&staging)?;
    let json = serde_json::to_string_pretty(summary)
        .map_err(|e| TrainerError::Internal(format!("cannot serialise the pretrain summary: {e}")))?;
    let summary_path = staging.join("pretrain.json");
    std::fs::write(&summary_path, json + "\n").map_err(|e| TrainerError::io(&summary_path, e))?;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| TrainerError::io(out, e))?;
    }
    std::fs::rename(&staging, out).map_err(|e| TrainerError::io(out, e))
}
