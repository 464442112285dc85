//! A whole run (`retain run`): domains in `sequence.task_order`, each with an optional supervised warm start
//! and `num_steps_per_task` policy-optimisation steps, every domain's test tasks evaluated before training and
//! after each domain (the accuracy matrix R), a checkpoint after each domain, and the run directory of
//! `analysis/RUN_FORMAT.md` written as it goes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value, json};

use retain_analysis::matrix::{MatrixFile, MatrixRowFile};
use retain_checkpoint::{CheckpointMeta, CheckpointName, ConfigHash, RunDir, Source, WriteOptions};
use retain_config::{Algorithm, Config, Curriculum, DataSource, ReferencePolicy};
use retain_data::GeneratorConfig;
use retain_data::dataset::{DbSource, DomainData, demonstrations, domain_data};
use retain_model::mode::mix_seed;
use retain_model::{AdamW, AdamWConfig, LrSchedule, SamplingConfig};

use crate::advantage::{self, Advantages, a_star_value, mean, sample_std};
use crate::encode::{Encoded, encode_segments};
use crate::error::{Result, TrainerError};
use crate::evaluate::{EvalSettings, evaluate_domain, pass_hat_k};
use crate::policy::{Policy, train_tokenizer};
use crate::reward::Rewarder;
use crate::rollout::{EpisodeSpec, Rollout, RolloutLimits, run_episodes};
use crate::run_log::{At, RunLog};
use crate::sampler::batch_indices;
use crate::update::{UpdateInput, policy_update};
use crate::warm_start::sft_step;

/// Where a run reports progress (the CLI draws a progress bar; tests stay silent).
pub trait Progress: Send {
    /// A phase of `total` units begins (e.g. `airline · GRPO`, 20 steps).
    fn phase(&mut self, label: &str, total: u64);
    /// One unit finished; `status` is the live summary (reward, success, loss).
    fn tick(&mut self, status: &str);
    /// A line worth keeping on screen (an evaluation row, where a checkpoint went).
    fn note(&mut self, line: &str);
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn phase(&mut self, _label: &str, _total: u64) {}
    fn tick(&mut self, _status: &str) {}
    fn note(&mut self, _line: &str) {}
}

/// What a finished run left behind.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run directory.
    pub dir: PathBuf,
    /// The accuracy matrix (row 0 before training when evaluated, then one row per domain).
    pub matrix: MatrixFile,
    /// Optimiser steps taken.
    pub global_steps: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs `config` from scratch into `run.out_dir/run.name` (which must not hold a run yet).
pub fn run(config: &Config, progress: &mut dyn Progress) -> Result<RunSummary> {
    let mut trainer = Trainer::new(config, progress)?;
    trainer.train(progress)
}

/// Stream ids that keep the seeds of different purposes apart.
mod stream {
    pub const POLICY_INIT: u64 = 1;
    pub const EVAL: u64 = 2;
    pub const WARM_START: u64 = 3;
    pub const RL_TASKS: u64 = 4;
    pub const RL_SAMPLES: u64 = 5;
    pub const DROPOUT: u64 = 6;
    pub const A_STAR_REFERENCE: u64 = 7;
    pub const PLUGINS: u64 = 8;
}

struct Trainer<'c> {
    config: &'c Config,
    domains: Vec<DomainData>,
    demos: Vec<Vec<Encoded>>,
    policy: Policy,
    reference: Option<Policy>,
    optimizer: AdamW,
    rewarder: Rewarder,
    log: RunLog,
    matrix: MatrixFile,
    global_step: u64,
    v_star: HashMap<String, f64>,
}

fn db_source(config: &Config) -> Result<DbSource> {
    Ok(match config.data.source {
        DataSource::Generated => DbSource::Generated,
        DataSource::Tau2 => {
            let dir = match &config.data.tau2_path {
                Some(dir) => dir.clone(),
                None => retain_domains::data::locate_data(None).map_err(|e| {
                    TrainerError::Config(format!(
                        "data.source = \"tau2\" needs τ²'s data ({e}); run `retain data fetch-tau2` or set data.tau2_path"
                    ))
                })?,
            };
            DbSource::Tau2(dir)
        }
    })
}

/// The domains of `config` in task order, with the tasks the run trains and evaluates on (generated from the run
/// seed, so a checkpoint's config rebuilds exactly the same tasks).
pub fn load_domains(config: &Config) -> Result<Vec<DomainData>> {
    let source = db_source(config)?;
    let data = &config.data;
    let n_train = data.max_tasks_per_domain.map_or(data.train_tasks_per_domain, |m| m.min(data.train_tasks_per_domain));
    config
        .sequence
        .task_order
        .iter()
        .map(|&domain| {
            let generator =
                GeneratorConfig { families: data.families.of(domain).cloned(), ..GeneratorConfig::default() };
            Ok(domain_data(
                domain,
                config.run.seed,
                &source,
                &generator,
                data.policy,
                n_train,
                data.test_tasks_per_domain,
            )?)
        })
        .collect()
}

fn seed(config: &Config, stream: u64, index: u64) -> u64 {
    mix_seed(mix_seed(config.run.seed, stream), index)
}

fn run_dir_of(config: &Config) -> Result<PathBuf> {
    let dir = config.run.out_dir.join(&config.run.name);
    if dir.exists() {
        let occupied = std::fs::read_dir(&dir).map_err(|e| TrainerError::io(&dir, e))?.next().is_some();
        if occupied {
            return Err(TrainerError::RunDir(format!(
                "{} already holds a run; delete it, choose another name (--set run.name=...), or pass --overwrite",
                dir.display()
            )));
        }
    }
    Ok(dir)
}

impl<'c> Trainer<'c> {
    fn new(config: &'c Config, progress: &mut dyn Progress) -> Result<Self> {
        let dir = run_dir_of(config)?;
        let rewarder = Rewarder::load(&config.plugins, seed(config, stream::PLUGINS, 0))?;
        progress.phase("generating tasks and demonstrations", config.sequence.task_order.len() as u64);
        let domains = load_domains(config)?;
        let mut demo_texts = Vec::new();
        for data in &domains {
            demo_texts.push(demonstrations(&data.env, &data.train, data.style)?);
            progress.tick(data.domain.name());
        }
        let policy = match &config.model.pretrained {
            Some(path) => Policy::load(path, seed(config, stream::POLICY_INIT, 0), config.model.lora.as_ref())?,
            None => {
                let corpus: Vec<String> = demo_texts.iter().flatten().map(|d| d.text()).collect();
                let ids: Vec<String> = if config.model.tiny.entity_tokens {
                    let all: std::collections::BTreeSet<String> =
                        domains.iter().flat_map(|d| d.env.entity_ids()).collect();
                    all.into_iter().collect()
                } else {
                    Vec::new()
                };
                let tokenizer = train_tokenizer(&corpus, config.model.tiny.vocab_size, &ids)?;
                Policy::tiny(
                    &config.model.tiny,
                    tokenizer,
                    seed(config, stream::POLICY_INIT, 0),
                    config.model.lora.as_ref(),
                )?
            }
        };
        let demos = demo_texts
            .iter()
            .map(|ds| ds.iter().map(|d| encode_segments(&policy.tokenizer, &d.segments)).collect::<Result<Vec<_>>>())
            .collect::<Result<Vec<_>>>()?;
        let needs_reference = config.trainer.kl_coef != 0.0 || config.trainer.algorithm == Algorithm::AStarPo;
        let reference = if needs_reference { Some(policy.frozen_copy()?) } else { None };
        let optimizer = AdamW::new(AdamWConfig { weight_decay: config.trainer.weight_decay, ..AdamWConfig::default() });
        let config_json =
            config.to_json().map_err(|e| TrainerError::Config(format!("cannot write config.json: {e}")))?;
        let mut log = RunLog::create(&dir, &config_json)?;
        log.run_start()?;
        let matrix = MatrixFile {
            format_version: 1,
            domains: config.sequence.task_order.iter().map(|d| d.name().to_owned()).collect(),
            rows: Vec::new(),
        };
        Ok(Trainer {
            config,
            domains,
            demos,
            policy,
            reference,
            optimizer,
            rewarder,
            log,
            matrix,
            global_step: 0,
            v_star: HashMap::new(),
        })
    }

    /// The domains stage `d` trains on (`sequence.curriculum`).
    fn stage_domains(&self, d: usize) -> Vec<usize> {
        match self.config.sequence.curriculum {
            Curriculum::Sequential => vec![d],
            Curriculum::Cumulative => (0..=d).collect(),
        }
    }

    /// Every (domain, training task) of stage `d`, in the fixed order the sampler draws from.
    fn stage_tasks(&self, d: usize) -> Vec<(usize, usize)> {
        self.stage_domains(d).into_iter().flat_map(|j| (0..self.domains[j].train.len()).map(move |t| (j, t))).collect()
    }

    fn limits(&self) -> RolloutLimits {
        eval_settings(self.config).limits
    }

    fn train(&mut self, progress: &mut dyn Progress) -> Result<RunSummary> {
        if self.config.eval.before_training {
            self.evaluation_row(None, progress)?;
        }
        for d in 0..self.domains.len() {
            if self.config.trainer.reference == ReferencePolicy::DomainStart && self.reference.is_some() {
                self.reference = Some(self.policy.frozen_copy()?);
            }
            self.warm_start(d, progress)?;
            self.reinforce(d, progress)?;
            self.evaluation_row(Some(d), progress)?;
            let name = self.domains[d].domain.name();
            self.log.line(
                "domain_end",
                At { global_step: self.global_step, domain: Some((d, name)), step: None },
                Map::new(),
            )?;
            let path = self.checkpoint(d)?;
            progress.note(&format!("checkpoint: {}", path.display()));
        }
        let mut end = Map::new();
        end.insert("peak_rss_bytes".to_owned(), peak_rss_bytes().map_or(Value::Null, Value::from));
        end.insert("buffer_bytes".to_owned(), Value::from(0));
        end.insert("buffer_items".to_owned(), Value::from(0));
        end.insert("extra_memory_bytes".to_owned(), Value::from(0));
        self.log.line("run_end", At { global_step: self.global_step, domain: None, step: None }, end)?;
        Ok(RunSummary {
            dir: self.log.dir().to_path_buf(),
            matrix: self.matrix.clone(),
            global_steps: self.global_step,
            seconds: self.log.wall_seconds(),
        })
    }

    fn learning_rate(&self, base: f64, step: u64, total: u64) -> f64 {
        let t = &self.config.trainer;
        let warmup_steps = t.warmup_steps as u64;
        let schedule = match t.lr_schedule {
            retain_config::LrSchedule::Constant => LrSchedule::Constant { warmup_steps },
            retain_config::LrSchedule::Linear => LrSchedule::Linear { warmup_steps, total_steps: total },
            retain_config::LrSchedule::Cosine => {
                LrSchedule::Cosine { warmup_steps, total_steps: total, min_lr_ratio: 0.0 }
            }
        };
        schedule.lr(base, step)
    }

    fn warm_start(&mut self, d: usize, progress: &mut dyn Progress) -> Result<()> {
        let steps = self.config.trainer.warm_start_steps as u64;
        if steps == 0 {
            return Ok(());
        }
        let name = self.domains[d].domain.name();
        progress.phase(&format!("{name} · warm start"), steps);
        let base_lr = self.config.trainer.warm_start_learning_rate.unwrap_or(self.config.trainer.learning_rate);
        let batch_size = self.config.trainer.batch_size * self.config.trainer.num_samples_per_prompt;
        for step in 0..steps {
            let started = Instant::now();
            let demos: Vec<&Encoded> = self.stage_domains(d).into_iter().flat_map(|j| self.demos[j].iter()).collect();
            let stream = stream::WARM_START * 100 + d as u64;
            let indices = batch_indices(demos.len(), batch_size, self.config.run.seed, stream, step);
            let batch: Vec<&Encoded> = indices.iter().map(|&i| demos[i]).collect();
            let lr = self.learning_rate(base_lr, step, steps);
            let drop_seed = seed(self.config, stream::DROPOUT, self.global_step);
            let stats = sft_step(
                &mut self.policy,
                &mut self.optimizer,
                &batch,
                lr,
                self.config.trainer.max_grad_norm,
                drop_seed,
            )?;
            self.global_step += 1;
            let seconds = started.elapsed().as_secs_f64();
            let mut m = Map::new();
            m.insert("phase".to_owned(), Value::from("warm_start"));
            m.insert("loss".to_owned(), Value::from(stats.loss));
            m.insert("grad_norm".to_owned(), Value::from(stats.grad_norm));
            m.insert("learning_rate".to_owned(), Value::from(lr));
            m.insert("step_time".to_owned(), Value::from(seconds));
            let tokens: usize = batch.iter().map(|e| e.len()).sum();
            m.insert("tokens_per_second".to_owned(), Value::from(tokens as f64 / seconds.max(1e-9)));
            self.log.line(
                "train_step",
                At { global_step: self.global_step, domain: Some((d, name)), step: Some(step + 1) },
                m,
            )?;
            progress.tick(&format!("loss {:.3}", stats.loss));
        }
        Ok(())
    }

    fn reinforce(&mut self, d: usize, progress: &mut dyn Progress) -> Result<()> {
        let steps = self.config.sequence.num_steps_per_task as u64;
        if steps == 0 {
            return Ok(());
        }
        let name = self.domains[d].domain.name();
        let algorithm = self.config.trainer.algorithm;
        progress.phase(&format!("{name} · {}", algorithm_label(algorithm)), steps);
        let offset = self.config.trainer.warm_start_steps as u64;
        for step in 0..steps {
            let started = Instant::now();
            let (rollouts, weights, breakdown_means, frac_zero_std) = self.rollout_step(d, step)?;
            let rollout_seconds = started.elapsed().as_secs_f64();
            let rewards: Vec<f64> = weights.iter().map(|w| w.0).collect();
            let kept: Vec<&Encoded> = weights.iter().filter(|w| w.2).map(|w| &rollouts[w.3].tokens).collect();
            let kept_weights: Vec<f64> = weights.iter().filter(|w| w.2).map(|w| w.1).collect();
            let lr = self.learning_rate(self.config.trainer.learning_rate, step, steps);
            let input = UpdateInput {
                sequences: &kept,
                weights: &kept_weights,
                learning_rate: lr,
                seed: seed(self.config, stream::DROPOUT, self.global_step),
            };
            let stats = policy_update(
                &mut self.policy,
                self.reference.as_ref(),
                &mut self.optimizer,
                &self.config.trainer,
                &input,
            )?;
            self.global_step += 1;
            let seconds = started.elapsed().as_secs_f64();
            let success = mean(&rollouts.iter().map(|r| if r.success() { 1.0 } else { 0.0 }).collect::<Vec<_>>());
            let reward = mean(&rewards);
            let tokens: usize = rollouts.iter().map(|r| r.tokens.len()).sum();
            let generated: usize = rollouts.iter().map(|r| r.completion_tokens).sum();
            let mut m = Map::new();
            m.insert("phase".to_owned(), Value::from("rl"));
            m.insert("reward".to_owned(), Value::from(reward));
            m.insert("reward_std".to_owned(), Value::from(sample_std(&rewards)));
            m.insert("success".to_owned(), Value::from(success));
            m.insert("loss".to_owned(), Value::from(stats.loss));
            m.insert("kl".to_owned(), Value::from(stats.kl));
            m.insert("entropy".to_owned(), Value::from(stats.entropy));
            m.insert("clip_ratio/low_mean".to_owned(), Value::from(stats.clip_low));
            m.insert("clip_ratio/high_mean".to_owned(), Value::from(stats.clip_high));
            m.insert("clip_ratio/region_mean".to_owned(), Value::from(stats.clip_region));
            m.insert("completion_length".to_owned(), Value::from(generated as f64 / rollouts.len().max(1) as f64));
            m.insert(
                "num_turns".to_owned(),
                Value::from(mean(&rollouts.iter().map(|r| r.turns as f64).collect::<Vec<_>>())),
            );
            m.insert(
                "parse_errors".to_owned(),
                Value::from(mean(&rollouts.iter().map(|r| r.parse_errors as f64).collect::<Vec<_>>())),
            );
            m.insert("frac_reward_zero_std".to_owned(), Value::from(frac_zero_std));
            m.insert("trained_sequences".to_owned(), Value::from(kept.len()));
            m.insert("step_time".to_owned(), Value::from(seconds));
            m.insert("rollout_time".to_owned(), Value::from(rollout_seconds));
            m.insert("tokens_per_second".to_owned(), Value::from(tokens as f64 / seconds.max(1e-9)));
            m.insert("learning_rate".to_owned(), Value::from(lr));
            m.insert("grad_norm".to_owned(), Value::from(stats.grad_norm));
            for data in &self.domains {
                let count = rollouts.iter().filter(|r| r.domain == data.domain).count();
                if count > 0 {
                    m.insert(format!("batch/{}", data.domain.name()), Value::from(count));
                }
            }
            for (plugin, value) in breakdown_means {
                m.insert(format!("rewards/{plugin}/mean"), Value::from(value));
            }
            let at = At { global_step: self.global_step, domain: Some((d, name)), step: Some(offset + step + 1) };
            self.log.line("train_step", at, m)?;
            progress.tick(&format!("reward {reward:.2} · success {success:.2} · loss {:.4}", stats.loss));
            let interval = self.config.sequence.eval_interval as u64;
            if interval > 0 && (step + 1) % interval == 0 && step + 1 < steps {
                self.evaluation_line(Some(d), progress)?;
            }
        }
        Ok(())
    }

    /// Plays one training batch of domain `d` and scores it. Returns the rollouts and, per rollout,
    /// `(reward, weight, kept, index)`, the mean score of each reward plugin, and the share of zero-std groups.
    #[allow(clippy::type_complexity)]
    fn rollout_step(
        &mut self,
        d: usize,
        step: u64,
    ) -> Result<(Vec<Rollout>, Vec<(f64, f64, bool, usize)>, Vec<(String, f64)>, f64)> {
        let t = &self.config.trainer;
        let a_star = t.algorithm == Algorithm::AStarPo;
        let group = if a_star { 1 } else { t.num_samples_per_prompt };
        let pool = self.stage_tasks(d);
        let stream = stream::RL_TASKS * 100 + d as u64;
        let chosen: Vec<(usize, usize)> = batch_indices(pool.len(), t.batch_size, self.config.run.seed, stream, step)
            .into_iter()
            .map(|i| pool[i])
            .collect();
        let sampling =
            SamplingConfig { temperature: t.temperature as f32, top_p: t.top_p as f32, top_k: t.top_k.unwrap_or(0) };
        if a_star {
            self.estimate_v_star(&chosen, &sampling)?;
        }
        let domains = &self.domains;
        let specs: Vec<EpisodeSpec<'_>> = chosen
            .iter()
            .enumerate()
            .flat_map(|(p, &(j, i))| {
                let global = self.global_step;
                let config = self.config;
                (0..group).map(move |g| EpisodeSpec {
                    domain: j,
                    task: &domains[j].train[i],
                    seed: seed(config, stream::RL_SAMPLES, mix_seed(global, (p * group + g) as u64)),
                })
            })
            .collect();
        let rollouts = run_episodes(&self.policy, &self.domains, &specs, &sampling, &self.limits())?;
        let breakdowns = self.rewarder.score(&rollouts, &self.domains)?;
        let rewards: Vec<f64> = breakdowns.iter().map(|b| b.total).collect();
        let mut plugin_means: Vec<(String, f64)> = Vec::new();
        if let Some(first) = breakdowns.first() {
            for (k, (plugin, _)) in first.scores.iter().enumerate() {
                let values: Vec<f64> = breakdowns.iter().filter_map(|b| b.scores.get(k).map(|s| s.1.value)).collect();
                plugin_means.push((plugin.clone(), mean(&values)));
            }
        }
        let (values, zero_std): (Vec<f64>, Vec<bool>) = if a_star {
            let values = rollouts
                .iter()
                .zip(&rewards)
                .map(|(r, reward)| reward - self.v_star.get(&r.task.id).copied().unwrap_or(0.0))
                .collect();
            (values, Vec::new())
        } else {
            let adv: Advantages = match t.algorithm {
                Algorithm::Rloo => advantage::rloo(&rewards, group)?,
                Algorithm::WeightedSft => advantage::weighted_sft(&rewards, group)?,
                _ => advantage::grpo(&rewards, group, t.scale_rewards)?,
            };
            (adv.values, adv.zero_std)
        };
        let frac_zero_std = if zero_std.is_empty() {
            0.0
        } else {
            zero_std.iter().filter(|z| **z).count() as f64 / zero_std.len() as f64
        };
        let weights = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let kept = !(t.filter_zero_std_groups && zero_std.get(i / group).copied().unwrap_or(false));
                (rewards[i], *v, kept, i)
            })
            .collect();
        Ok((rollouts, weights, plugin_means, frac_zero_std))
    }

    /// A*-PO's offline stage for tasks not seen yet: `num_samples_per_prompt` reference-policy rollouts each,
    /// reduced to `V*` by the smooth maximum with β1.
    fn estimate_v_star(&mut self, chosen: &[(usize, usize)], sampling: &SamplingConfig) -> Result<()> {
        let Some(reference) = &self.reference else {
            return Err(TrainerError::Config("A*-PO needs a reference policy".to_owned()));
        };
        let n = self.config.trainer.num_samples_per_prompt;
        let domains = &self.domains;
        let mut missing: Vec<(usize, usize)> =
            chosen.iter().copied().filter(|&(j, i)| !self.v_star.contains_key(&domains[j].train[i].task.id)).collect();
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let specs: Vec<EpisodeSpec<'_>> = missing
            .iter()
            .flat_map(|&(j, i)| {
                let config = self.config;
                (0..n).map(move |g| EpisodeSpec {
                    domain: j,
                    task: &domains[j].train[i],
                    seed: seed(config, stream::A_STAR_REFERENCE, mix_seed(mix_seed(j as u64, i as u64), g as u64)),
                })
            })
            .collect();
        let rollouts = run_episodes(reference, &self.domains, &specs, sampling, &self.limits())?;
        let rewards: Vec<f64> = self.rewarder.score(&rollouts, &self.domains)?.iter().map(|b| b.total).collect();
        for (k, &(j, i)) in missing.iter().enumerate() {
            let value = a_star_value(&rewards[k * n..(k + 1) * n], self.config.trainer.a_star.beta1).unwrap_or(0.0);
            self.v_star.insert(self.domains[j].train[i].task.id.clone(), value);
        }
        Ok(())
    }

    fn eval_settings(&self) -> EvalSettings {
        eval_settings(self.config)
    }

    /// Evaluates every domain; logs an `eval` line; returns the cells.
    fn evaluation_line(
        &mut self,
        after: Option<usize>,
        progress: &mut dyn Progress,
    ) -> Result<std::collections::BTreeMap<String, retain_analysis::matrix::MatrixCellFile>> {
        progress.phase("evaluation", self.domains.len() as u64);
        let settings = self.eval_settings();
        let mut cells = std::collections::BTreeMap::new();
        let mut m = Map::new();
        for j in 0..self.domains.len() {
            let cell = evaluate_domain(&self.policy, &self.domains, j, &settings)?;
            let name = self.domains[j].domain.name();
            m.insert(format!("eval/{name}/success"), Value::from(cell.success));
            m.insert(format!("eval/{name}/reward"), Value::from(cell.mean_reward));
            for (k, value) in pass_hat_k(&cell) {
                m.insert(format!("eval/{name}/pass^{k}"), Value::from(value));
            }
            progress.tick(&format!("{name} {:.2}", cell.success));
            cells.insert(name.to_owned(), cell);
        }
        let domain = after.map(|d| (d, self.domains[d].domain.name()));
        self.log.line("eval", At { global_step: self.global_step, domain, step: None }, m)?;
        Ok(cells)
    }

    /// Evaluates every domain and appends the row to the matrix (`after = None` is row 0).
    fn evaluation_row(&mut self, after: Option<usize>, progress: &mut dyn Progress) -> Result<()> {
        let cells = self.evaluation_line(after, progress)?;
        let index = after.map_or(0, |d| d + 1);
        let summary: Vec<String> = cells.iter().map(|(name, c)| format!("{name} {:.2}", c.success)).collect();
        let label = after.map_or("before training".to_owned(), |d| format!("after {}", self.domains[d].domain.name()));
        progress.note(&format!("R[{index}] ({label}): {}", summary.join(" · ")));
        self.matrix.rows.push(MatrixRowFile {
            index,
            after: after.map(|d| self.domains[d].domain.name().to_owned()),
            global_step: self.global_step,
            cells,
        });
        self.log.write_matrix(&self.matrix)
    }

    /// Writes `checkpoint_task_{d}`: model and tokenizer (HF layout), optimiser, trainer state, plugins, and the
    /// run files as of now.
    fn checkpoint(&self, d: usize) -> Result<PathBuf> {
        let dir = self.log.dir();
        let run_dir = RunDir::new(dir);
        let config_hash = ConfigHash::of_config(self.config)?;
        let meta = CheckpointMeta {
            name: CheckpointName::domain_end(d),
            domain: Some(self.domains[d].domain.name().to_owned()),
            global_step: self.global_step,
            config_hash,
        };
        let scratch = dir.join(".checkpoint-scratch");
        let result = self.write_checkpoint(&run_dir, meta, &scratch, d);
        let cleanup = std::fs::remove_dir_all(&scratch);
        let path = result?;
        cleanup.map_err(|e| TrainerError::io(&scratch, e))?;
        Ok(path)
    }

    fn write_checkpoint(&self, run_dir: &RunDir, meta: CheckpointMeta, scratch: &Path, d: usize) -> Result<PathBuf> {
        let model_dir = scratch.join("model");
        self.policy.save(&model_dir)?;
        let optimizer_path = scratch.join("optimizer.safetensors");
        self.optimizer.save(&optimizer_path)?;
        let mut writer = run_dir.begin(meta, WriteOptions::default())?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&model_dir)
            .map_err(|e| TrainerError::io(&model_dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for file in &files {
            if let Some(name) = file.file_name().and_then(|n| n.to_str()) {
                writer.add_model_file(name, Source::File(file))?;
            }
        }
        writer.add_optimizer(Source::File(&optimizer_path))?;
        writer.set_state(&json!({
            "global_step": self.global_step,
            "domains_completed": d + 1,
            "optimizer_steps": self.optimizer.step_count(),
            "seed": self.config.run.seed,
        }))?;
        for plugin in self.rewarder.manifest_entries() {
            writer.add_plugin(plugin, None)?;
        }
        writer.add_run_files(run_dir.path())?;
        let committed = writer.commit()?;
        Ok(committed.checkpoint.dir().to_path_buf())
    }
}

/// How `config` evaluates (the same settings for every row, and for `retain eval` of its checkpoints).
pub fn eval_settings(config: &Config) -> EvalSettings {
    let t = &config.trainer;
    EvalSettings {
        trials: config.eval.trials,
        max_tasks: config.eval.max_tasks_per_domain,
        temperature: config.eval.temperature,
        limits: RolloutLimits {
            max_turns: t.max_turns,
            max_new_tokens: t.max_new_tokens,
            max_episode_tokens: t.max_episode_tokens,
        },
        seed: seed(config, stream::EVAL, 0),
    }
}

/// The label of an algorithm in progress output.
pub fn algorithm_label(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Grpo => "GRPO",
        Algorithm::Rloo => "RLOO",
        Algorithm::AStarPo => "A*-PO",
        Algorithm::WeightedSft => "weighted SFT",
    }
}

/// The process's peak resident memory (Linux `VmHWM`), if readable.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
