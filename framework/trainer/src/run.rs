//! A whole run (`retain run`): domains in `sequence.task_order`, each with an optional supervised warm start
//! and `num_steps_per_task` policy-optimisation steps, every domain's test tasks evaluated before training and
//! after each domain (the accuracy matrix R), a checkpoint after each domain, and the run directory of
//! `analysis/RUN_FORMAT.md` written as it goes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value, json};

use retain_analysis::matrix::{MatrixFile, MatrixRowFile};
use retain_checkpoint::{CheckpointMeta, CheckpointName, ConfigHash, OPTIMIZER_FILE, RunDir, Source, WriteOptions};
use retain_config::{Algorithm, Config, Curriculum, DataSource, ReferencePolicy};
use retain_data::GeneratorConfig;
use retain_data::dataset::{DbSource, DomainData, demonstrations, domain_data};
use retain_data::demo::Demonstration;
use retain_data::protocol::Segment;
use retain_model::mode::mix_seed;
use retain_model::{AdamW, AdamWConfig, LrSchedule, SamplingConfig, Tokenizer};
use retain_plugin_api::Context;
use retain_plugin_api::contract::{BatchItem, LossTerm};

use crate::advantage::{self, Advantages, a_star_value, mean, sample_std};
use crate::encode::{Encoded, encode_segments};
use crate::error::{Result, TrainerError};
use crate::evaluate::{EvalSettings, evaluate_domain, pass_hat_k};
use crate::extras::{ExtraStats, SftTerm, SnapshotTerm};
use crate::host::{DomainTasks, Phase, TrainerServices};
use crate::id_augment::{Redraw, ids_in, randomize_ids};
use crate::plugins::RunPlugins;
use crate::policy::{Policy, train_tokenizer};
use crate::rollout::{EpisodeSpec, Rollout, RolloutLimits, run_episodes};
use crate::run_log::{At, RunLog};
use crate::sampler::batch_indices;
use crate::trajectories::TrajectoryStore;
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

/// How a new run starts.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Start from this checkpoint's weights and tokenizer (a new run: its own directory, optimiser and steps; the
    /// checkpoints record the origin). `None`: the configured model.
    pub init_from: Option<PathBuf>,
}

/// Runs `config` from scratch into `run.out_dir/run.name` (which must not hold a run yet).
pub fn run(config: &Config, progress: &mut dyn Progress) -> Result<RunSummary> {
    run_with(config, &RunOptions::default(), progress)
}

/// [`run`] with options.
pub fn run_with(config: &Config, options: &RunOptions, progress: &mut dyn Progress) -> Result<RunSummary> {
    let mut trainer = Trainer::new(config, options, progress)?;
    trainer.train(progress, Position::START)
}

/// Where a run stands: the domain being trained and how many of its optimiser steps (warm start, then RL) are
/// done. Saved in every checkpoint's `state.json`; resuming continues from exactly here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// Index of the domain in the task order.
    pub domain: usize,
    /// Optimiser steps of this domain already taken.
    pub step: u64,
    /// Whether the domain is finished (evaluated, `domain_end` logged): the run continues with the next one.
    pub domain_done: bool,
}

impl Position {
    /// A run that has not started.
    pub const START: Position = Position { domain: 0, step: 0, domain_done: false };
}

/// The KL reference's weights inside a checkpoint (present when the run keeps a reference).
const REFERENCE_FILE: &str = "reference.safetensors";

/// Where strategy snapshots (`host.snapshot_policy`) go inside a checkpoint: `snapshots/<plugin>/<name>.safetensors`.
const SNAPSHOTS_DIR: &str = "snapshots";

/// The trainer's part of a checkpoint (`state.json`): everything needed to continue exactly that has no file of its
/// own.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct TrainerState {
    /// Where the run stands.
    position: Position,
    /// Optimiser steps since the run started.
    global_step: u64,
    /// Steps the optimiser took (its bias correction).
    optimizer_steps: u64,
    /// The run seed (for readers; the config has it too).
    seed: u64,
    /// A*-PO's V* per task id.
    v_star: BTreeMap<String, f64>,
    /// Every plugin's random stream, keyed `strategy/<name>` or `reward/<name>`.
    #[serde(default)]
    plugin_rng: BTreeMap<String, u64>,
    /// Strategy snapshots (`<plugin>/<name>`), each in `snapshots/<plugin>/<name>.safetensors`.
    #[serde(default)]
    snapshots: Vec<String>,
    /// Bytes of strategy state and snapshots in this checkpoint (the strategies' extra memory).
    #[serde(default)]
    extra_memory_bytes: u64,
}

/// Stream ids that keep the seeds of different purposes apart.
pub(crate) mod stream {
    pub const POLICY_INIT: u64 = 1;
    pub const EVAL: u64 = 2;
    pub const WARM_START: u64 = 3;
    pub const RL_TASKS: u64 = 4;
    pub const RL_SAMPLES: u64 = 5;
    pub const DROPOUT: u64 = 6;
    pub const A_STAR_REFERENCE: u64 = 7;
    pub const PLUGINS: u64 = 8;
    pub const PLUGIN_SERVICES: u64 = 9;
    pub const ID_AUGMENT: u64 = 10;
    pub const COPY_DRILL: u64 = 11;
}

/// One scored training batch.
struct ScoredBatch {
    /// The episodes played.
    rollouts: Vec<Rollout>,
    /// Each episode's reward (Σ weight · plugin score).
    rewards: Vec<f64>,
    /// Each episode's weight in the update (advantage, clamped weight, or `r − V*`).
    weights: Vec<f64>,
    /// Whether the episode is trained on (`filter_zero_std_groups` drops zero-variance groups).
    kept: Vec<bool>,
    /// Mean score of each reward plugin.
    plugin_means: Vec<(String, f64)>,
    /// Share of groups whose rewards were all equal.
    frac_zero_std: f64,
    /// Tasks of the batch (after the strategies' `augment_batch`), one per group, as (domain, task) indices.
    tasks: Vec<(usize, usize)>,
}

struct Trainer<'c> {
    config: &'c Config,
    domains: Vec<DomainData>,
    demos: Vec<Vec<Encoded>>,
    /// With `trainer.warm_start_randomize_ids`: per domain, each demonstration's segments and the ids in them.
    id_sources: Option<Vec<DomainIds>>,
    policy: Policy,
    reference: Option<Policy>,
    optimizer: AdamW,
    plugins: RunPlugins,
    /// What plugins may call back into; owns the trajectory buffers and snapshots.
    services: Arc<TrainerServices>,
    /// (domain index, task id) → index of the task in that domain's training tasks.
    task_index: HashMap<(usize, String), usize>,
    /// Every domain's training tasks as JSON (what strategies see in batches).
    task_json: Vec<Vec<Value>>,
    log: RunLog,
    matrix: MatrixFile,
    global_step: u64,
    v_star: HashMap<String, f64>,
    /// The newest checkpoint written (the parent of the next one).
    last_checkpoint: Option<retain_checkpoint::Checkpoint>,
    /// The checkpoint a `--init-from` run started from.
    init_from: Option<retain_checkpoint::Checkpoint>,
    /// Bytes of strategy state and snapshots in the newest checkpoint (the strategies' extra memory).
    extra_memory: u64,
}

/// The training tasks of `domains` as JSON, and the index from (domain, task id) back to a task.
type TaskTables = (Vec<Vec<Value>>, HashMap<(usize, String), usize>);

fn task_tables(domains: &[DomainData]) -> Result<TaskTables> {
    let mut json = Vec::with_capacity(domains.len());
    let mut index = HashMap::new();
    for (j, data) in domains.iter().enumerate() {
        let tasks = data
            .train
            .iter()
            .enumerate()
            .map(|(i, t)| {
                index.insert((j, t.task.id.clone()), i);
                serde_json::to_value(&t.task)
                    .map_err(|source| TrainerError::Json { what: format!("task {}", t.task.id), source })
            })
            .collect::<Result<Vec<_>>>()?;
        json.push(tasks);
    }
    Ok((json, index))
}

/// Loads the plugins of `config` with fresh services for the run in `dir`.
fn load_plugins(config: &Config, dir: &Path) -> Result<(RunPlugins, Arc<TrainerServices>)> {
    let services = Arc::new(TrainerServices::new(dir, seed(config, stream::PLUGIN_SERVICES, 0)));
    let plugins = RunPlugins::load(&config.plugins, services.clone(), seed(config, stream::PLUGINS, 0))?;
    Ok((plugins, services))
}

/// Gives the services the run's tasks and policy network.
fn attach(services: &TrainerServices, domains: &[DomainData], task_json: &[Vec<Value>], policy: &Policy) {
    services.set_tasks(
        domains
            .iter()
            .zip(task_json)
            .map(|(d, tasks)| DomainTasks { domain: d.domain.name().to_owned(), tasks: tasks.clone() })
            .collect(),
    );
    services.set_model(policy.model.clone(), policy.pad_id);
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

/// The oracle demonstrations of every domain's training tasks (warm-start data and tokenizer corpus).
pub(crate) fn demonstrations_of(
    domains: &[DomainData],
    progress: &mut dyn Progress,
) -> Result<Vec<Vec<Demonstration>>> {
    domains
        .iter()
        .map(|data| {
            let demos = demonstrations(&data.env, &data.train, data.style)?;
            progress.tick(data.domain.name());
            Ok(demos)
        })
        .collect()
}

/// The tiny default's tokenizer: a byte-level BPE trained on the run's demonstrations (`demos`, per domain), with
/// every entity id as one token when `model.tiny.entity_tokens` is on.
pub(crate) fn tiny_tokenizer(
    config: &Config,
    domains: &[DomainData],
    demos: &[Vec<Demonstration>],
) -> Result<Tokenizer> {
    let corpus: Vec<String> = demos.iter().flatten().map(|d| d.text()).collect();
    let ids: Vec<String> = if config.model.tiny.entity_tokens {
        let all: std::collections::BTreeSet<String> = domains.iter().flat_map(|d| d.env.entity_ids()).collect();
        all.into_iter().collect()
    } else {
        Vec::new()
    };
    train_tokenizer(&corpus, &config.model.tiny, &ids)
}

/// Demonstrations as token sequences in the policy's tokenizer, per domain.
fn encode_demos(demos: &[Vec<Demonstration>], policy: &Policy) -> Result<Vec<Vec<Encoded>>> {
    demos.iter().map(|ds| ds.iter().map(|d| encode_segments(&policy.tokenizer, &d.segments)).collect()).collect()
}

/// What `warm_start_randomize_ids` replaces in one domain's demonstrations.
struct DomainIds {
    /// How the domain's ids and personal details are re-drawn.
    redraw: Redraw,
    /// Each demonstration's segments and the ids and pool values that occur in them.
    demos: Vec<(Vec<Segment>, Vec<String>)>,
}

/// The id sources of every demonstration when `trainer.warm_start_randomize_ids` is on.
fn id_sources(config: &Config, domains: &[DomainData], demos: &[Vec<Demonstration>]) -> Option<Vec<DomainIds>> {
    if !config.trainer.warm_start_randomize_ids {
        return None;
    }
    Some(
        domains
            .iter()
            .zip(demos)
            .map(|(data, demos)| {
                let ids = data.env.entity_ids();
                let redraw = Redraw::new(&ids, data.env.personal_details());
                let known: std::collections::HashSet<String> =
                    ids.into_iter().chain(redraw.pooled_values().cloned()).collect();
                let demos = demos.iter().map(|d| (d.segments.clone(), ids_in(&d.segments, &known))).collect();
                DomainIds { redraw, demos }
            })
            .collect(),
    )
}

/// The domains of `config` in task order, with the tasks the run trains and evaluates on (generated from the run
/// seed, so a checkpoint's config rebuilds exactly the same tasks).
pub fn load_domains(config: &Config) -> Result<Vec<DomainData>> {
    let source = db_source(config)?;
    let data = &config.data;
    GeneratorConfig::check_run_sizes(&data.generator)?;
    let n_train = data.max_tasks_per_domain.map_or(data.train_tasks_per_domain, |m| m.min(data.train_tasks_per_domain));
    config
        .sequence
        .task_order
        .iter()
        .map(|&domain| {
            let generator = GeneratorConfig::for_run(&data.generator, data.families.of(domain).cloned());
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

pub(crate) fn seed(config: &Config, stream: u64, index: u64) -> u64 {
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
    fn new(config: &'c Config, options: &RunOptions, progress: &mut dyn Progress) -> Result<Self> {
        let dir = run_dir_of(config)?;
        let init_from = match &options.init_from {
            Some(path) => {
                let checkpoint = retain_checkpoint::resolve(path)?;
                checkpoint.verify()?;
                Some(checkpoint)
            }
            None => None,
        };
        let (plugins, services) = load_plugins(config, &dir)?;
        progress.phase("generating tasks and demonstrations", config.sequence.task_order.len() as u64);
        let domains = load_domains(config)?;
        let demo_texts = demonstrations_of(&domains, progress)?;
        let policy = match (&init_from, &config.model.pretrained) {
            (Some(origin), _) => {
                Policy::load(&origin.model_dir(), seed(config, stream::POLICY_INIT, 0), config.model.lora.as_ref())?
            }
            (None, Some(path)) => Policy::load(path, seed(config, stream::POLICY_INIT, 0), config.model.lora.as_ref())?,
            (None, None) => Policy::tiny(
                &config.model.tiny,
                tiny_tokenizer(config, &domains, &demo_texts)?,
                seed(config, stream::POLICY_INIT, 0),
                config.model.lora.as_ref(),
            )?,
        };
        let demos = encode_demos(&demo_texts, &policy)?;
        let id_sources = id_sources(config, &domains, &demo_texts);
        let (task_json, task_index) = task_tables(&domains)?;
        attach(&services, &domains, &task_json, &policy);
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
            id_sources,
            policy,
            reference,
            optimizer,
            plugins,
            services,
            task_index,
            task_json,
            log,
            matrix,
            global_step: 0,
            v_star: HashMap::new(),
            last_checkpoint: None,
            init_from,
            extra_memory: 0,
        })
    }

    /// Rebuilds a trainer from a verified checkpoint: the run's config from the checkpoint, the same tasks
    /// (regenerated from the seed), model, optimiser, reference and A*-PO values from its files, and the run
    /// directory's `metrics.jsonl` and `matrix.json` restored from the checkpoint's copies (so lines of an
    /// abandoned future disappear).
    fn resume(
        config: &'c Config,
        checkpoint: retain_checkpoint::Checkpoint,
        progress: &mut dyn Progress,
    ) -> Result<(Self, Position)> {
        if config.model.lora.is_some() {
            return Err(TrainerError::Config(
                "resuming a LoRA run is not supported yet (checkpoints hold merged weights); start a new run with \
                 --init-from instead"
                    .to_owned(),
            ));
        }
        checkpoint.check_config_hash(&ConfigHash::of_config(config)?)?;
        let dir = checkpoint
            .dir()
            .parent()
            .ok_or_else(|| TrainerError::RunDir(format!("{} has no run directory", checkpoint.dir().display())))?
            .to_path_buf();
        let (mut plugins, services) = load_plugins(config, &dir)?;
        checkpoint.check_plugins(&plugins.manifest)?;
        let state: TrainerState = serde_json::from_value(checkpoint.state()?).map_err(|source| TrainerError::Json {
            what: checkpoint.path("state.json").display().to_string(),
            source,
        })?;
        let position = state.position;
        let v_star: HashMap<String, f64> = state.v_star.into_iter().collect();
        let global_step = checkpoint.manifest().global_step;
        progress.phase("regenerating tasks and demonstrations", config.sequence.task_order.len() as u64);
        let domains = load_domains(config)?;
        let policy = Policy::load(&checkpoint.model_dir(), seed(config, stream::POLICY_INIT, 0), None)?;
        let demo_texts = demonstrations_of(&domains, progress)?;
        let demos = encode_demos(&demo_texts, &policy)?;
        let id_sources = id_sources(config, &domains, &demo_texts);
        let optimizer = AdamW::load(&checkpoint.path(OPTIMIZER_FILE))?;
        let reference_path = checkpoint.path(REFERENCE_FILE);
        let reference = if reference_path.is_file() {
            let tensors = retain_model::weights::load_file(&reference_path, policy.model.device())?;
            Some(policy.with_weights(&tensors, &reference_path)?)
        } else {
            None
        };
        for key in &state.snapshots {
            let path = checkpoint.path(&format!("{SNAPSHOTS_DIR}/{key}.safetensors"));
            let tensors = retain_model::weights::load_file(&path, policy.model.device())?;
            services.insert_snapshot(key, policy.with_weights(&tensors, &path)?.model);
        }
        let (task_json, task_index) = task_tables(&domains)?;
        attach(&services, &domains, &task_json, &policy);
        services.set_trajectories(TrajectoryStore::restore(&dir, &checkpoint.trajectories())?);
        services.begin(position.domain, global_step, Phase::Restore);
        plugins.strategies.restore(&checkpoint)?;
        plugins.set_rng_states(&state.plugin_rng);
        // Whatever a plugin logged while loading its state belongs to no metrics line of the uninterrupted run.
        services.take_metrics();
        let mut matrix = None;
        for name in retain_checkpoint::RUN_FILES {
            let bytes = checkpoint.read_verified(name)?;
            let path = dir.join(name);
            std::fs::write(&path, &bytes).map_err(|e| TrainerError::io(&path, e))?;
            if name == crate::run_log::MATRIX_FILE {
                matrix = Some(serde_json::from_slice::<MatrixFile>(&bytes).map_err(|source| TrainerError::Json {
                    what: format!("{}", checkpoint.path(name).display()),
                    source,
                })?);
            }
        }
        let matrix = matrix.ok_or_else(|| {
            TrainerError::RunDir(format!("{} holds no {}", checkpoint.dir().display(), crate::run_log::MATRIX_FILE))
        })?;
        let log = RunLog::reopen(&dir)?;
        let trainer = Trainer {
            config,
            domains,
            demos,
            id_sources,
            policy,
            reference,
            optimizer,
            plugins,
            services,
            task_index,
            task_json,
            log,
            matrix,
            global_step,
            v_star,
            last_checkpoint: Some(checkpoint),
            init_from: None,
            extra_memory: state.extra_memory_bytes,
        };
        Ok((trainer, position))
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

    /// The hook context of domain `d` at `step` (optimiser steps of the domain, counting the one under way) and
    /// `global_step` (likewise).
    fn context(&self, d: usize, step: u64, global_step: u64) -> Context<'static> {
        Context {
            domain: self.domains[d].domain.name(),
            domain_index: d as u32,
            num_domains: self.domains.len() as u32,
            step,
            global_step,
        }
    }

    /// Ends optimiser step `ctx.step` of domain `d`: the strategies' `after_step` with the step's metrics (plus
    /// `groups`, an RL batch's per-task rewards, for the hook only), then the `train_step` line.
    fn finish_step(
        &mut self,
        ctx: &Context<'_>,
        d: usize,
        metrics: Map<String, Value>,
        groups: Option<Value>,
    ) -> Result<()> {
        if !self.plugins.strategies.is_empty() {
            let mut hook_metrics = metrics.clone();
            if let Some(groups) = groups {
                hook_metrics.insert("groups".to_owned(), groups);
            }
            self.plugins.strategies.after_step(ctx, &Value::Object(hook_metrics))?;
        }
        let at = At { global_step: self.global_step, domain: Some((d, ctx.domain)), step: Some(ctx.step) };
        self.log_line("train_step", at, metrics)
    }

    /// Appends a metrics line, with the metrics plugins logged since the previous line (`<plugin>/<name>`).
    fn log_line(&mut self, event: &str, at: At<'_>, mut metrics: Map<String, Value>) -> Result<()> {
        for (name, value) in self.services.take_metrics() {
            metrics.insert(name, Value::from(value));
        }
        self.log.line(event, at, metrics)
    }

    /// The batch of a step of domain `d` after the strategies' `augment_batch`: `chosen` as batch items, through
    /// every strategy, back to (domain, task) indices. A strategy may only return training tasks of domains the run
    /// has reached; anything else is an error naming it.
    fn augment(&mut self, ctx: &Context<'_>, d: usize, chosen: Vec<(usize, usize)>) -> Result<Vec<(usize, usize)>> {
        if self.plugins.strategies.is_empty() {
            return Ok(chosen);
        }
        let items: Vec<BatchItem> = chosen
            .iter()
            .map(|&(j, i)| BatchItem {
                domain: self.domains[j].domain.name().to_owned(),
                task: self.task_json[j][i].clone(),
            })
            .collect();
        let (domains, index) = (&self.domains, &self.task_index);
        let resolve = |item: &BatchItem| -> std::result::Result<(usize, usize), String> {
            let j = domains.iter().position(|data| data.domain.name() == item.domain).ok_or_else(|| {
                format!("a batch item names domain `{}`, which is not in this run's task order", item.domain)
            })?;
            if j > d {
                return Err(format!(
                    "a batch item is a task of `{}`, which the run has not reached yet (strategies may only add tasks \
                     of domains already trained or being trained)",
                    item.domain
                ));
            }
            let id = item.task.get("id").and_then(Value::as_str).ok_or("a batch item's task has no string `id`")?;
            index.get(&(j, id.to_owned())).map(|&i| (j, i)).ok_or_else(|| {
                format!(
                    "task `{id}` is not a training task of `{}`; return tasks from the batch or from host.sample_tasks",
                    item.domain
                )
            })
        };
        self.plugins.strategies.augment_batch(ctx, items, &resolve)
    }

    /// The loss terms the strategies ask for at this step, turned into what the update implements.
    fn step_terms(&mut self, ctx: &Context<'_>) -> Result<(Vec<SftTerm>, Vec<SnapshotTerm>)> {
        let (mut sft, mut snapshots) = (Vec::new(), Vec::new());
        let config = self.policy.model.config();
        let (vocab, max_len) = (config.vocab_size, config.max_position_embeddings);
        for (plugin, term) in self.plugins.strategies.loss_terms(ctx, &self.policy.model)? {
            let bad = |message: String| TrainerError::PluginOutput {
                plugin: plugin.clone(),
                hook: "loss_terms".to_owned(),
                message,
            };
            match term {
                LossTerm::Sft { weight, trajectories } => {
                    if !weight.is_finite() {
                        return Err(bad(format!("an Sft term has weight {weight}; use a finite number")));
                    }
                    let sequences = trajectories
                        .iter()
                        .map(|t| Encoded::from_trajectory_json(t, vocab, max_len))
                        .collect::<std::result::Result<Vec<_>, String>>()
                        .map_err(bad)?;
                    sft.push(SftTerm { weight, sequences });
                }
                LossTerm::KlToSnapshot { snapshot, coef } => {
                    if !coef.is_finite() {
                        return Err(bad(format!("a KL term has coefficient {coef}; use a finite number")));
                    }
                    let model = self.services.snapshot(&plugin, &snapshot).ok_or_else(|| {
                        bad(format!(
                            "asks for a KL term to snapshot `{snapshot}`, which was never taken; call \
                             host.snapshot_policy(\"{snapshot}\") first (e.g. in before_task)"
                        ))
                    })?;
                    snapshots.push(SnapshotTerm { coef, model });
                }
            }
        }
        Ok((sft, snapshots))
    }

    fn limits(&self) -> RolloutLimits {
        eval_settings(self.config).limits
    }

    fn train(&mut self, progress: &mut dyn Progress, start: Position) -> Result<RunSummary> {
        if start == Position::START && self.config.eval.before_training {
            self.evaluation_row(None, progress)?;
        }
        let first = if start.domain_done { start.domain + 1 } else { start.domain };
        for d in first..self.domains.len() {
            let from = if d == start.domain && !start.domain_done { start.step } else { 0 };
            if from == 0 && self.config.trainer.reference == ReferencePolicy::DomainStart && self.reference.is_some() {
                self.reference = Some(self.policy.frozen_copy()?);
            }
            self.services.begin(d, self.global_step, Phase::TaskStart);
            self.plugins.strategies.before_task(&self.context(d, from, self.global_step))?;
            self.warm_start(d, from, progress)?;
            self.reinforce(d, from, progress)?;
            self.evaluation_row(Some(d), progress)?;
            let name = self.domains[d].domain.name();
            self.services.begin(d, self.global_step, Phase::TaskEnd);
            let ctx = self.context(d, self.steps_in_domain(d), self.global_step);
            self.plugins.strategies.after_task(&ctx, &self.policy.model)?;
            self.log_line(
                "domain_end",
                At { global_step: self.global_step, domain: Some((d, name)), step: None },
                Map::new(),
            )?;
            let position = Position { domain: d, step: self.steps_in_domain(d), domain_done: true };
            let path = self.checkpoint(CheckpointName::domain_end(d), position)?;
            progress.note(&format!("checkpoint: {}", path.display()));
        }
        let mut end = Map::new();
        end.insert("peak_rss_bytes".to_owned(), peak_rss_bytes().map_or(Value::Null, Value::from));
        let (buffer_bytes, buffer_items) = self.services.finish_trajectories()?;
        end.insert("buffer_bytes".to_owned(), Value::from(buffer_bytes));
        end.insert("buffer_items".to_owned(), Value::from(buffer_items));
        end.insert("extra_memory_bytes".to_owned(), Value::from(self.extra_memory));
        self.log_line("run_end", At { global_step: self.global_step, domain: None, step: None }, end)?;
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

    /// Warm-start steps of stage `d`.
    fn warm_start_steps(&self, d: usize) -> u64 {
        self.config.trainer.warm_start_steps_for(self.domains[d].domain) as u64
    }

    /// Optimiser steps stage `d` takes (warm start + RL).
    fn steps_in_domain(&self, d: usize) -> u64 {
        self.warm_start_steps(d) + self.config.sequence.num_steps_per_task as u64
    }

    /// After step `step` (1-based within domain `d`): a mid-domain checkpoint every `save_interval` steps, except
    /// at the domain's end (the domain-end checkpoint follows its evaluation).
    fn maybe_save(&mut self, d: usize, step: u64, progress: &mut dyn Progress) -> Result<()> {
        let interval = self.config.sequence.save_interval as u64;
        if interval == 0 || !step.is_multiple_of(interval) || step >= self.steps_in_domain(d) {
            return Ok(());
        }
        let position = Position { domain: d, step, domain_done: false };
        let path = self.checkpoint(CheckpointName::mid_domain(d, step), position)?;
        progress.note(&format!("checkpoint: {}", path.display()));
        Ok(())
    }

    fn warm_start(&mut self, d: usize, from: u64, progress: &mut dyn Progress) -> Result<()> {
        let steps = self.warm_start_steps(d);
        if from >= steps {
            return Ok(());
        }
        let name = self.domains[d].domain.name();
        progress.phase(&format!("{name} · warm start"), steps - from);
        let base_lr = self.config.trainer.warm_start_learning_rate.unwrap_or(self.config.trainer.learning_rate);
        let batch_size = self.config.trainer.batch_size * self.config.trainer.num_samples_per_prompt;
        let pool: Vec<(usize, usize)> =
            self.stage_domains(d).into_iter().flat_map(|j| (0..self.demos[j].len()).map(move |i| (j, i))).collect();
        let stream = stream::WARM_START * 100 + d as u64;
        for step in from..steps {
            let started = Instant::now();
            let ctx = self.context(d, step + 1, self.global_step + 1);
            self.services.begin(d, self.global_step + 1, Phase::Step);
            let indices = batch_indices(pool.len(), batch_size, self.config.run.seed, stream, step);
            let chosen = self.augment(&ctx, d, indices.iter().map(|&i| pool[i]).collect())?;
            let terms = self.step_terms(&ctx)?;
            let randomized: Vec<Encoded> = match &self.id_sources {
                Some(sources) => chosen
                    .iter()
                    .enumerate()
                    .map(|(k, &(j, i))| {
                        let (segments, ids) = &sources[j].demos[i];
                        let seed = seed(self.config, stream::ID_AUGMENT, mix_seed(self.global_step, k as u64));
                        let randomized = randomize_ids(segments, ids, &sources[j].redraw, seed);
                        encode_segments(&self.policy.tokenizer, &randomized)
                    })
                    .collect::<Result<_>>()?,
                None => Vec::new(),
            };
            let batch: Vec<&Encoded> = if self.id_sources.is_some() {
                randomized.iter().collect()
            } else {
                chosen.iter().map(|&(j, i)| &self.demos[j][i]).collect()
            };
            let lr = self.learning_rate(base_lr, step, steps);
            let drop_seed = seed(self.config, stream::DROPOUT, self.global_step);
            let max_grad_norm = self.config.trainer.max_grad_norm;
            let model = self.policy.model.clone();
            let stats = self.plugins.strategies.optimiser_step(&ctx, &model, terms, |extras| {
                sft_step(&mut self.policy, &mut self.optimizer, &batch, lr, max_grad_norm, drop_seed, extras)
            })?;
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
            insert_batch_counts(&mut m, &self.domains, chosen.iter().map(|&(j, _)| j));
            insert_extras(&mut m, &stats.extras);
            self.finish_step(&ctx, d, m, None)?;
            progress.tick(&format!("loss {:.3}", stats.loss));
            self.maybe_save(d, step + 1, progress)?;
        }
        Ok(())
    }

    fn reinforce(&mut self, d: usize, from: u64, progress: &mut dyn Progress) -> Result<()> {
        let steps = self.config.sequence.num_steps_per_task as u64;
        let offset = self.warm_start_steps(d);
        let first = from.saturating_sub(offset);
        if first >= steps {
            return Ok(());
        }
        let name = self.domains[d].domain.name();
        let algorithm = self.config.trainer.algorithm;
        progress.phase(&format!("{name} · {}", algorithm_label(algorithm)), steps - first);
        let pool = self.stage_tasks(d);
        for step in first..steps {
            let started = Instant::now();
            let ctx = self.context(d, offset + step + 1, self.global_step + 1);
            self.services.begin(d, self.global_step + 1, Phase::Step);
            let ScoredBatch { rollouts, rewards, weights, kept, plugin_means: breakdown_means, frac_zero_std, tasks } =
                self.rollout_step(&ctx, d, &pool, step)?;
            let terms = self.step_terms(&ctx)?;
            let rollout_seconds = started.elapsed().as_secs_f64();
            let trained: Vec<usize> = (0..rollouts.len()).filter(|&i| kept[i]).collect();
            let kept: Vec<&Encoded> = trained.iter().map(|&i| &rollouts[i].tokens).collect();
            let kept_weights: Vec<f64> = trained.iter().map(|&i| weights[i]).collect();
            let lr = self.learning_rate(self.config.trainer.learning_rate, step, steps);
            let input = UpdateInput {
                sequences: &kept,
                weights: &kept_weights,
                learning_rate: lr,
                seed: seed(self.config, stream::DROPOUT, self.global_step),
            };
            let model = self.policy.model.clone();
            let trainer = &self.config.trainer;
            let stats = self.plugins.strategies.optimiser_step(&ctx, &model, terms, |extras| {
                policy_update(&mut self.policy, self.reference.as_ref(), &mut self.optimizer, trainer, &input, extras)
            })?;
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
            m.insert("reward_max".to_owned(), Value::from(rewards.iter().copied().fold(f64::NEG_INFINITY, f64::max)));
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
            let group = rollouts.len() / tasks.len().max(1);
            insert_batch_counts(&mut m, &self.domains, tasks.iter().flat_map(|&(j, _)| std::iter::repeat_n(j, group)));
            for (plugin, value) in breakdown_means {
                m.insert(format!("rewards/{plugin}/mean"), Value::from(value));
            }
            insert_extras(&mut m, &stats.extras);
            let groups = groups_json(&self.domains, &tasks, &rollouts, &rewards);
            self.finish_step(&ctx, d, m, Some(groups))?;
            progress.tick(&format!("reward {reward:.2} · success {success:.2} · loss {:.4}", stats.loss));
            let interval = self.config.sequence.eval_interval as u64;
            if interval > 0 && (step + 1) % interval == 0 && step + 1 < steps {
                self.evaluation_line(Some(d), None, offset + step + 1, progress)?;
            }
            self.maybe_save(d, offset + step + 1, progress)?;
        }
        Ok(())
    }

    /// Plays one training batch of stage `d` drawn from `pool` (the stage's tasks), scores it and computes each
    /// rollout's weight for the update.
    fn rollout_step(&mut self, ctx: &Context<'_>, d: usize, pool: &[(usize, usize)], step: u64) -> Result<ScoredBatch> {
        let t = &self.config.trainer;
        let a_star = t.algorithm == Algorithm::AStarPo;
        let group = if a_star { 1 } else { t.num_samples_per_prompt };
        let stream = stream::RL_TASKS * 100 + d as u64;
        let drawn: Vec<(usize, usize)> = batch_indices(pool.len(), t.batch_size, self.config.run.seed, stream, step)
            .into_iter()
            .map(|i| pool[i])
            .collect();
        let chosen = self.augment(ctx, d, drawn)?;
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
        let breakdowns = self.plugins.rewarder.score(&rollouts, &self.domains)?;
        self.services.append_trajectories(&rollouts, &breakdowns, self.global_step + 1, group)?;
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
        let kept = (0..values.len())
            .map(|i| !(t.filter_zero_std_groups && zero_std.get(i / group).copied().unwrap_or(false)))
            .collect();
        Ok(ScoredBatch { rollouts, rewards, weights: values, kept, plugin_means, frac_zero_std, tasks: chosen })
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
        let rewards: Vec<f64> =
            self.plugins.rewarder.score(&rollouts, &self.domains)?.iter().map(|b| b.total).collect();
        for (k, &(j, i)) in missing.iter().enumerate() {
            let value = a_star_value(&rewards[k * n..(k + 1) * n], self.config.trainer.a_star.beta1).unwrap_or(0.0);
            self.v_star.insert(self.domains[j].train[i].task.id.clone(), value);
        }
        Ok(())
    }

    fn eval_settings(&self) -> EvalSettings {
        eval_settings(self.config)
    }

    /// Evaluates every domain; tells the strategies (`after_evaluation`); logs an `eval` line; returns the cells.
    /// `after` is the domain being trained (`None` before training), `row` the matrix row this evaluation
    /// becomes (`None` for an `eval_interval` evaluation), `step` the domain's optimiser steps taken.
    fn evaluation_line(
        &mut self,
        after: Option<usize>,
        row: Option<usize>,
        step: u64,
        progress: &mut dyn Progress,
    ) -> Result<std::collections::BTreeMap<String, retain_analysis::matrix::MatrixCellFile>> {
        progress.phase("evaluation", self.domains.len() as u64);
        let settings = self.eval_settings();
        let mut cells = std::collections::BTreeMap::new();
        let mut m = Map::new();
        for j in 0..self.domains.len() {
            let cell = evaluate_domain(&self.policy, &self.domains, j, &settings, &mut |_, _| Ok(()))?;
            let name = self.domains[j].domain.name();
            m.insert(format!("eval/{name}/success"), Value::from(cell.success));
            m.insert(format!("eval/{name}/reward"), Value::from(cell.mean_reward));
            for (k, value) in pass_hat_k(&cell) {
                m.insert(format!("eval/{name}/pass^{k}"), Value::from(value));
            }
            progress.tick(&format!("{name} {:.2}", cell.success));
            cells.insert(name.to_owned(), cell);
        }
        if !self.plugins.strategies.is_empty() {
            let d = after.unwrap_or(0);
            let results = json!({
                "row": row,
                "after": after.map(|d| self.domains[d].domain.name()),
                "global_step": self.global_step,
                "domains": cells
                    .iter()
                    .map(|(name, c)| (name.clone(), json!({"success": c.success, "mean_reward": c.mean_reward})))
                    .collect::<Map<String, Value>>(),
            });
            self.services.begin(d, self.global_step, Phase::Evaluation);
            self.plugins.strategies.after_evaluation(&self.context(d, step, self.global_step), &results)?;
        }
        let domain = after.map(|d| (d, self.domains[d].domain.name()));
        self.log_line("eval", At { global_step: self.global_step, domain, step: None }, m)?;
        Ok(cells)
    }

    /// Evaluates every domain and appends the row to the matrix (`after = None` is row 0).
    fn evaluation_row(&mut self, after: Option<usize>, progress: &mut dyn Progress) -> Result<()> {
        let index = after.map_or(0, |d| d + 1);
        let step = after.map_or(0, |d| self.steps_in_domain(d));
        let cells = self.evaluation_line(after, Some(index), step, progress)?;
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

    /// Writes checkpoint `name`: model and tokenizer (HF layout), optimiser, reference weights, trainer state
    /// (position, A*-PO values), plugins, and the run files as of now; `latest` then names it.
    fn checkpoint(&mut self, name: CheckpointName, position: Position) -> Result<PathBuf> {
        let dir = self.log.dir().to_path_buf();
        let run_dir = RunDir::new(&dir);
        let meta = CheckpointMeta {
            name,
            domain: Some(self.domains[position.domain].domain.name().to_owned()),
            global_step: self.global_step,
            config_hash: ConfigHash::of_config(self.config)?,
        };
        let scratch = dir.join(".checkpoint-scratch");
        let strategies = self.plugins.strategies.save()?;
        let buffers = self.services.flush_trajectories()?;
        let result = self.write_checkpoint(&run_dir, meta, &scratch, position, &buffers, &strategies);
        let cleanup = std::fs::remove_dir_all(&scratch);
        let (checkpoint, extra_memory) = result?;
        cleanup.map_err(|e| TrainerError::io(&scratch, e))?;
        self.extra_memory = extra_memory;
        let path = checkpoint.dir().to_path_buf();
        self.last_checkpoint = Some(checkpoint);
        Ok(path)
    }

    fn write_checkpoint(
        &self,
        run_dir: &RunDir,
        meta: CheckpointMeta,
        scratch: &Path,
        position: Position,
        buffers: &[(String, PathBuf)],
        strategies: &[(String, Option<Vec<u8>>)],
    ) -> Result<(retain_checkpoint::Checkpoint, u64)> {
        let model_dir = scratch.join("model");
        self.policy.save(&model_dir)?;
        let optimizer_path = scratch.join(OPTIMIZER_FILE);
        self.optimizer.save(&optimizer_path)?;
        let reference_path = scratch.join(REFERENCE_FILE);
        if let Some(reference) = &self.reference {
            retain_model::weights::save_file(&reference_path, &reference.model.merged_tensors()?, HashMap::new())?;
        }
        let snapshots = self.services.snapshots();
        let mut snapshot_files = Vec::with_capacity(snapshots.len());
        for (name, model) in &snapshots {
            let path = scratch.join(SNAPSHOTS_DIR).join(format!("{name}.safetensors"));
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| TrainerError::io(parent, e))?;
            }
            retain_model::weights::save_file(&path, &model.merged_tensors()?, HashMap::new())?;
            snapshot_files.push((format!("{SNAPSHOTS_DIR}/{name}.safetensors"), path));
        }
        let mut extra_memory: u64 = strategies.iter().filter_map(|(_, s)| s.as_ref()).map(|b| b.len() as u64).sum();
        for (_, path) in &snapshot_files {
            extra_memory += std::fs::metadata(path).map_err(|e| TrainerError::io(path, e))?.len();
        }
        let keep_last = Some(self.config.sequence.keep_last_checkpoints.max(1));
        let mut writer = run_dir.begin(meta, WriteOptions { keep_last, ..WriteOptions::default() })?;
        if let Some(parent) = &self.last_checkpoint {
            writer.set_parent(parent);
        }
        if let Some(origin) = &self.init_from {
            writer.set_init_from(origin);
        }
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
        for (domain, file) in buffers {
            writer.add_trajectories(domain, Source::File(file))?;
        }
        if self.reference.is_some() {
            writer.add(REFERENCE_FILE, Source::File(&reference_path))?;
        }
        for (name, path) in &snapshot_files {
            writer.add(name, Source::File(path))?;
        }
        let state = TrainerState {
            position,
            global_step: self.global_step,
            optimizer_steps: self.optimizer.step_count(),
            seed: self.config.run.seed,
            v_star: self.v_star.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            plugin_rng: self.plugins.rng_states(),
            snapshots: snapshots.keys().cloned().collect(),
            extra_memory_bytes: extra_memory,
        };
        let state = serde_json::to_value(&state)
            .map_err(|source| TrainerError::Json { what: "the trainer state".to_owned(), source })?;
        writer.set_state(&state)?;
        for plugin in &self.plugins.manifest {
            let state = strategies
                .iter()
                .find(|(name, _)| plugin.kind == "strategy" && *name == plugin.name)
                .and_then(|(_, state)| state.as_deref());
            writer.add_plugin(plugin.clone(), state)?;
        }
        writer.add_run_files(run_dir.path())?;
        Ok((writer.commit()?.checkpoint, extra_memory))
    }
}

/// Resumes the run a checkpoint belongs to: `path` is a checkpoint directory or a run directory (its `latest`).
/// The checkpoint is verified file by file first; with `fallback`, damaged newer checkpoints are moved aside to
/// `<name>.damaged` and the newest valid one is used (each reported through `progress`).
pub fn resume(path: &Path, fallback: bool, progress: &mut dyn Progress) -> Result<RunSummary> {
    let checkpoint = if fallback {
        let run_dir = if path.join(retain_checkpoint::MANIFEST_FILE).is_file() {
            path.parent().unwrap_or(path).to_path_buf()
        } else {
            path.to_path_buf()
        };
        let found = retain_checkpoint::find_latest_valid(&run_dir)?;
        for skipped in &found.skipped {
            // Set aside (never deleted): the resumed run writes its own checkpoint of that name.
            let from = run_dir.join(&skipped.name);
            let to = run_dir.join(format!("{}.damaged", skipped.name));
            std::fs::rename(&from, &to).map_err(|e| TrainerError::io(&from, e))?;
            progress.note(&format!(
                "skipping damaged checkpoint {} ({}); moved to {}",
                skipped.name,
                skipped.error,
                to.display()
            ));
        }
        progress.note(&format!("resuming from {}", found.checkpoint.dir().display()));
        found.checkpoint
    } else {
        let checkpoint = retain_checkpoint::resolve(path)?;
        checkpoint.verify()?;
        checkpoint
    };
    let text = checkpoint.read_verified(crate::run_log::CONFIG_FILE)?;
    let config = Config::from_json(&String::from_utf8_lossy(&text)).map_err(|source| TrainerError::Json {
        what: format!("{}", checkpoint.path(crate::run_log::CONFIG_FILE).display()),
        source,
    })?;
    let (mut trainer, position) = Trainer::resume(&config, checkpoint, progress)?;
    trainer.train(progress, position)
}

/// `retain run CONFIG --resume auto`: resumes when the run directory already has a checkpoint (whose config must
/// be this one), else starts the run.
pub fn run_or_resume(config: &Config, options: &RunOptions, progress: &mut dyn Progress) -> Result<RunSummary> {
    let dir = config.run.out_dir.join(&config.run.name);
    if !dir.join(retain_checkpoint::LATEST_FILE).is_file() {
        return run_with(config, options, progress);
    }
    let checkpoint = retain_checkpoint::resolve(&dir)?;
    checkpoint.check_config_hash(&ConfigHash::of_config(config)?)?;
    resume(&dir, false, progress)
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

/// `batch/<domain>`: how many sequences of each domain a step trained on (replay shows up here).
fn insert_batch_counts(metrics: &mut Map<String, Value>, domains: &[DomainData], items: impl Iterator<Item = usize>) {
    let mut counts = vec![0usize; domains.len()];
    for j in items {
        counts[j] += 1;
    }
    for (data, count) in domains.iter().zip(counts) {
        if count > 0 {
            metrics.insert(format!("batch/{}", data.domain.name()), Value::from(count));
        }
    }
}

/// The strategies' loss terms in a step's metrics (only those the step applied).
fn insert_extras(metrics: &mut Map<String, Value>, extras: &ExtraStats) {
    if let Some(loss) = extras.sft_loss {
        metrics.insert("strategy/sft_loss".to_owned(), Value::from(loss));
    }
    if let Some(kl) = extras.snapshot_kl {
        metrics.insert("strategy/snapshot_kl".to_owned(), Value::from(kl));
    }
}

/// One entry per task of an RL batch with its group's rewards and successes (what `after_step` receives as
/// `groups`, e.g. for replay's mid-success priority).
fn groups_json(domains: &[DomainData], tasks: &[(usize, usize)], rollouts: &[Rollout], rewards: &[f64]) -> Value {
    let group = rollouts.len() / tasks.len().max(1);
    Value::Array(
        tasks
            .iter()
            .enumerate()
            .map(|(p, &(j, i))| {
                let range = p * group..(p + 1) * group;
                json!({
                    "domain": domains[j].domain.name(),
                    "task_id": domains[j].train[i].task.id,
                    "rewards": rewards[range.clone()],
                    "successes": rollouts[range].iter().map(Rollout::success).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}
