//! The configuration schema: one typed struct per TOML section, with every default in this file.
//!
//! A config file may leave out any key; what it leaves out takes the value of the `Default` impl next to the
//! struct. Unknown keys are rejected (`deny_unknown_fields`) so that a typo never silently falls back to a default.

use crate::{Domain, GeneratorSizes};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A whole run: what to train, on what, how, in which order, with which plugins, and how to evaluate.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Name, output directory, seed and threads.
    pub run: RunConfig,
    /// The policy model: its architecture or the pretrained checkpoint to start from.
    pub model: ModelConfig,
    /// Where tasks come from: the embedded generator or the official τ² files.
    pub data: DataConfig,
    /// The learning algorithm and its hyper-parameters.
    pub trainer: TrainerConfig,
    /// The order of domains and how long each is trained.
    pub sequence: SequenceConfig,
    /// Continual-learning strategies and reward functions, loaded as dynamic plugins.
    pub plugins: PluginsConfig,
    /// How every domain is evaluated after each one is trained.
    pub eval: EvalConfig,
    /// How `retain pretrain` builds a base model from this config (`retain run` ignores it).
    pub pretrain: PretrainConfig,
}

/// `retain pretrain`: copy drills for a tiny model trained from scratch, before any domain. A pretrained language
/// model brings the skill of copying a string from its context into its output; a tiny model does not, and a
/// domain's demonstrations teach it slowly because ids are a small share of their tokens. The drills (synthetic
/// tickets with made-up tools and random ids, `retain_data::copy_drill`) share no tool, entity or wording with the
/// domains, so the base they build knows no task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PretrainConfig {
    /// Optimiser steps of copy drills.
    pub copy_drill_steps: usize,
    /// Drills per step.
    pub batch_size: usize,
    /// AdamW learning rate (constant; gradients clipped at `trainer.max_grad_norm`).
    pub learning_rate: f64,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        Self { copy_drill_steps: 1500, batch_size: 32, learning_rate: 3e-3 }
    }
}

/// Identity of a run and the resources it may use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// The run's name; its outputs go to `<out_dir>/<name>/`.
    pub name: String,
    /// The directory that holds run directories.
    pub out_dir: PathBuf,
    /// The one seed every random choice of the run derives from.
    pub seed: u64,
    /// CPU threads for tensor work; `None` uses every core.
    pub threads: Option<usize>,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self { name: "quickstart".to_owned(), out_dir: PathBuf::from("runs"), seed: 42, threads: None }
    }
}

/// The policy model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// A Hugging Face Qwen2-family directory (`config.json`, `model.safetensors`, `tokenizer.json`) to start from;
    /// `None` builds the tiny model described by [`ModelConfig::tiny`].
    pub pretrained: Option<PathBuf>,
    /// Shape of the tiny embedded model (used when `pretrained` is `None`).
    pub tiny: TinyModelConfig,
    /// Optional LoRA adapters; `None` trains every weight.
    pub lora: Option<LoraConfig>,
}

/// Shape of the tiny Qwen2-architecture model that the embedded default trains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TinyModelConfig {
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Number of transformer blocks.
    pub num_layers: usize,
    /// Query heads per block.
    pub num_heads: usize,
    /// Key/value heads per block (grouped-query attention); must divide `num_heads`.
    pub num_kv_heads: usize,
    /// Width of the SwiGLU MLP.
    pub intermediate_size: usize,
    /// Target size of the BPE vocabulary trained on the domain corpus.
    pub vocab_size: usize,
    /// Longest sequence the model attends over.
    pub max_position_embeddings: usize,
    /// RoPE base frequency (Qwen2 uses 1e6).
    pub rope_theta: f64,
    /// Whether the output head shares the embedding matrix.
    pub tie_word_embeddings: bool,
    /// Register the database's entity ids (users, reservations, orders, emails, …; not purely numeric ones, which
    /// would match inside other numbers) as whole tokens, added on top of `vocab_size`, so copying an id is one
    /// token. Off by default: measured on the quickstart model, it did not make test-split ids (whose tokens never
    /// occur in training) any easier to copy.
    pub entity_tokens: bool,
    /// Split digits one by one in the tokenizer (as Qwen2 does), so numbers in ids are copied digit by digit instead
    /// of becoming memorised multi-digit tokens.
    pub split_digits: bool,
    /// A BPE merge is learned only when its pair occurs at least this often in the corpus; raising it keeps rare
    /// strings (ids of individual training tasks) from becoming tokens of their own.
    pub tokenizer_min_frequency: u64,
}

impl Default for TinyModelConfig {
    fn default() -> Self {
        Self {
            hidden_size: 256,
            num_layers: 4,
            num_heads: 4,
            num_kv_heads: 2,
            intermediate_size: 1024,
            vocab_size: 4096,
            max_position_embeddings: 2048,
            rope_theta: 1_000_000.0,
            tie_word_embeddings: true,
            entity_tokens: false,
            split_digits: false,
            tokenizer_min_frequency: 2,
        }
    }
}

/// Low-rank adapters trained while the base weights stay frozen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoraConfig {
    /// Rank r of each adapter.
    pub rank: usize,
    /// Scaling numerator: the adapter output is multiplied by `alpha / rank`.
    pub alpha: f64,
    /// Dropout on the adapter input during training.
    pub dropout: f64,
    /// Names of the linear layers that get adapters (Hugging Face names such as `q_proj`).
    pub target_modules: Vec<String>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        // AReaL's τ² setting: r = 8, α = 64, dropout 0.1.
        Self {
            rank: 8,
            alpha: 64.0,
            dropout: 0.1,
            target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"].map(str::to_owned).to_vec(),
        }
    }
}

/// Where tasks and databases come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataSource {
    /// The seeded generator of databases and tasks embedded in retain (needs no download).
    Generated,
    /// The official τ²-bench files (`tasks.json`, `split_tasks.json`, databases).
    Tau2,
}

/// How much of each domain's policy text the agent sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyText {
    /// τ²'s policy documents verbatim.
    Full,
    /// A shortened policy for tiny models with short contexts.
    Compact,
    /// No policy text and no tool schemas, only a short instruction and the ticket: for a model trained from
    /// scratch, which learns the tools and the rules from demonstrations and rewards (the tiny default), and
    /// whose training cost grows with every prompt token.
    Minimal,
}

/// Task data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Generated (default) or the official τ² tasks.
    pub source: DataSource,
    /// Directory with τ²'s `airline/`, `retail/`, `telecom/` folders; `None` uses `retain data fetch-tau2`'s place.
    pub tau2_path: Option<PathBuf>,
    /// Generated training tasks per domain.
    pub train_tasks_per_domain: usize,
    /// Generated test tasks per domain (disjoint entities from the training tasks).
    pub test_tasks_per_domain: usize,
    /// Cap on the tasks used per domain (the seeds' `--max_tasks_per_domain`); `None` uses all.
    pub max_tasks_per_domain: Option<usize>,
    /// Full or compact policy text in the system prompt.
    pub policy: PolicyText,
    /// Generated task families to draw from, per domain (`[data.families] airline = ["cancel_allowed"]`,
    /// telecom by sub-issue: `telecom = ["airplane_mode_on"]`); a domain left out draws from every family. A name
    /// the domain's generator does not know is an error when the run starts.
    pub families: FamilyFilter,
    /// Sizes of the generated databases and telecom's composition depth (`[data.generator.airline]` users,
    /// airports, flights, days, max_reservations_per_user; `[data.generator.retail]` users, products,
    /// max_orders_per_user; `[data.generator.telecom]` max_issues, customers, max_lines_per_customer). The
    /// generators check the ranges (`retain_data::GeneratorConfig::check_run_sizes`) before any work.
    pub generator: GeneratorSizes,
}

/// Task families per domain (see [`DataConfig::families`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FamilyFilter {
    /// Airline families (`None`: all).
    pub airline: Option<Vec<String>>,
    /// Retail families (`None`: all).
    pub retail: Option<Vec<String>>,
    /// Telecom sub-issues (`None`: all).
    pub telecom: Option<Vec<String>>,
}

impl FamilyFilter {
    /// The families chosen for `domain`.
    pub fn of(&self, domain: Domain) -> Option<&Vec<String>> {
        match domain {
            Domain::Airline => self.airline.as_ref(),
            Domain::Retail => self.retail.as_ref(),
            Domain::Telecom => self.telecom.as_ref(),
        }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            source: DataSource::Generated,
            tau2_path: None,
            train_tasks_per_domain: 256,
            test_tasks_per_domain: 32,
            max_tasks_per_domain: None,
            policy: PolicyText::Compact,
            families: FamilyFilter::default(),
            generator: GeneratorSizes::default(),
        }
    }
}

/// The policy-optimisation algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Group relative policy optimisation with a clipped ratio and a KL penalty.
    Grpo,
    /// REINFORCE leave-one-out.
    Rloo,
    /// A*-PO: regression towards an optimal-value estimate from reference samples.
    AStarPo,
    /// Supervised fine-tuning weighted by `clamp(normalised advantage + 1, 0.1, 5)`, plus KL.
    WeightedSft,
}

/// How group advantages are scaled (TRL's `scale_rewards`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleRewards {
    /// Divide by the standard deviation of the group.
    Group,
    /// Divide by the standard deviation of the whole batch.
    Batch,
    /// Only subtract the group mean.
    None,
}

/// How token losses are averaged into one number (TRL's `loss_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossAggregation {
    /// Mean over each sequence's tokens, then over sequences.
    Grpo,
    /// Mean over all tokens of the batch.
    Bnpo,
    /// Sum over tokens divided by batch size × maximum completion length.
    DrGrpo,
    /// Mean over all tokens of the global batch (DAPO).
    Dapo,
}

/// The model the KL penalty pulls towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferencePolicy {
    /// The model the run started from.
    Base,
    /// The policy as it was when the current domain began.
    DomainStart,
}

/// The shape of the learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// The same rate at every step (after warm-up).
    Constant,
    /// Linear decay to zero (after warm-up).
    Linear,
    /// Cosine decay to zero (after warm-up).
    Cosine,
}

/// The learning algorithm and its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainerConfig {
    /// Which policy-optimisation loss to use.
    pub algorithm: Algorithm,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Learning-rate schedule within each domain.
    pub lr_schedule: LrSchedule,
    /// Linear warm-up steps at the start of each domain.
    pub warmup_steps: usize,
    /// Global gradient-norm clip; `None` disables clipping.
    pub max_grad_norm: Option<f64>,
    /// Prompts (tasks) per training step.
    pub batch_size: usize,
    /// Samples per prompt (the group size G); at least 2 so advantages are defined.
    pub num_samples_per_prompt: usize,
    /// KL coefficient β towards the reference policy.
    pub kl_coef: f64,
    /// Which policy the KL penalty refers to.
    pub reference: ReferencePolicy,
    /// Lower clip range ε_low of the probability ratio.
    pub eps_low: f64,
    /// Upper clip range ε_high of the probability ratio.
    pub eps_high: f64,
    /// Optimisation passes μ over each batch of rollouts.
    pub num_iterations: usize,
    /// Advantage scaling.
    pub scale_rewards: ScaleRewards,
    /// Token-loss aggregation.
    pub loss_type: LossAggregation,
    /// Drop groups whose rewards are all equal (they carry no gradient).
    pub filter_zero_std_groups: bool,
    /// Sampling temperature for rollouts.
    pub temperature: f64,
    /// Nucleus sampling threshold for rollouts (1.0 disables it).
    pub top_p: f64,
    /// Top-k sampling cut-off; `None` disables it.
    pub top_k: Option<usize>,
    /// New tokens the agent may generate per turn.
    pub max_new_tokens: usize,
    /// Agent turns per episode before the episode ends by step limit.
    pub max_turns: usize,
    /// Total tokens (prompt and generated) per episode.
    pub max_episode_tokens: usize,
    /// Supervised warm-start steps on oracle demonstrations at the start of each domain.
    pub warm_start_steps: usize,
    /// Per-domain overrides of `warm_start_steps` (`[trainer.warm_start_steps_by_domain]`, `retail = 200`):
    /// domains differ in how many demonstrations it takes to learn what their tool calls must copy. Left out of
    /// the resolved config when empty, so configs (and checkpoints' config hashes) from before it stay the same.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub warm_start_steps_by_domain: BTreeMap<Domain, usize>,
    /// Learning rate of the warm-start steps; `None` uses `learning_rate`. Supervised steps tolerate (and a
    /// model trained from scratch needs) a much larger rate than policy-gradient steps.
    pub warm_start_learning_rate: Option<f64>,
    /// Warm start: replace the database ids in each demonstration by fresh random ones of the same shape every
    /// time it is trained on (and customers' names and zip codes by other customers' ones), so a model
    /// learns to copy them from the ticket and tool results instead of memorising the training tasks' ids.
    pub warm_start_randomize_ids: bool,
    /// A*-PO's two coefficients (used when `algorithm = "a_star_po"`).
    pub a_star: AStarConfig,
}

/// A*-PO (arXiv 2505.20686): V* from reference samples, then a regression of the implicit reward onto `r − V*`.
/// The reference samples per task are `num_samples_per_prompt`; training then uses one sample per task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AStarConfig {
    /// β1 of the smooth maximum `V* = β1 log mean exp(r/β1)` (0 = plain mean).
    pub beta1: f64,
    /// β2, the scale of the implicit reward `β2 · log π/π_ref`.
    pub beta2: f64,
}

impl Default for AStarConfig {
    fn default() -> Self {
        Self { beta1: 0.5, beta2: 1e-3 }
    }
}

impl TrainerConfig {
    /// The warm-start steps of `domain`: its `warm_start_steps_by_domain` entry, else `warm_start_steps`.
    pub fn warm_start_steps_for(&self, domain: Domain) -> usize {
        self.warm_start_steps_by_domain.get(&domain).copied().unwrap_or(self.warm_start_steps)
    }
}

impl Default for TrainerConfig {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Grpo,
            learning_rate: 1e-5,
            weight_decay: 0.0,
            lr_schedule: LrSchedule::Constant,
            warmup_steps: 0,
            max_grad_norm: Some(1.0),
            batch_size: 8,
            num_samples_per_prompt: 4,
            kl_coef: 0.1,
            reference: ReferencePolicy::Base,
            eps_low: 0.2,
            eps_high: 0.2,
            num_iterations: 1,
            scale_rewards: ScaleRewards::Group,
            loss_type: LossAggregation::Dapo,
            filter_zero_std_groups: false,
            temperature: 0.8,
            top_p: 1.0,
            top_k: None,
            max_new_tokens: 128,
            max_turns: 12,
            max_episode_tokens: 1536,
            warm_start_steps: 0,
            warm_start_steps_by_domain: BTreeMap::new(),
            warm_start_learning_rate: None,
            warm_start_randomize_ids: false,
            a_star: AStarConfig::default(),
        }
    }
}

/// What each stage of a run trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Curriculum {
    /// Stage `i` trains on domain `i` only (naive sequential training, the continual-learning setting).
    Sequential,
    /// Stage `i` trains on the union of domains `0..=i`, batches mixing them: the multi-task reference whose
    /// last row is the joint learner's `R*` (`retain report --joint`).
    Cumulative,
}

/// The sequence of domains and the length of each stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequenceConfig {
    /// Domains in training order (each at most once).
    pub task_order: Vec<Domain>,
    /// What stage `i` trains on: domain `i` alone, or every domain so far.
    pub curriculum: Curriculum,
    /// Training steps per domain.
    pub num_steps_per_task: usize,
    /// Evaluate every this many steps inside a domain; 0 evaluates only at domain ends.
    pub eval_interval: usize,
    /// Write a mid-domain checkpoint every this many steps; 0 writes only after each domain.
    pub save_interval: usize,
    /// Mid-domain checkpoints to keep (older ones are deleted once a newer one is complete).
    pub keep_last_checkpoints: usize,
}

impl Default for SequenceConfig {
    fn default() -> Self {
        Self {
            task_order: Domain::ALL.to_vec(),
            curriculum: Curriculum::Sequential,
            num_steps_per_task: 100,
            eval_interval: 0,
            save_interval: 0,
            keep_last_checkpoints: 2,
        }
    }
}

/// One plugin named in a config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSpec {
    /// The plugin's name as its library exports it (e.g. `replay`).
    pub name: String,
    /// Path of the shared library; `None` looks for a built-in of that name.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Lower runs first; ties are broken by name.
    #[serde(default)]
    pub priority: i32,
    /// Weight of a reward plugin in the weighted sum (ignored for strategies).
    #[serde(default = "unit_weight")]
    pub weight: f64,
    /// The plugin's own configuration, passed to it as JSON and checked by the plugin.
    #[serde(default = "empty_object")]
    pub config: serde_json::Value,
}

fn unit_weight() -> f64 {
    1.0
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// Continual-learning strategies and reward functions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// Strategies, called in (priority, name) order.
    pub strategies: Vec<PluginSpec>,
    /// Reward functions, summed with their weights.
    pub rewards: Vec<PluginSpec>,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        let builtin = |name: &str| PluginSpec {
            name: name.to_owned(),
            path: None,
            priority: 0,
            weight: 1.0,
            config: empty_object(),
        };
        Self { strategies: vec![builtin("sequential")], rewards: vec![builtin("task_success")] }
    }
}

/// Evaluation of every domain after each one is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    /// Trials per test task (pass^k is reported for k = 1..trials).
    pub trials: usize,
    /// Cap on test tasks per domain; `None` uses the whole test split.
    pub max_tasks_per_domain: Option<usize>,
    /// Sampling temperature during evaluation (0 is greedy).
    pub temperature: f64,
    /// Evaluate before any training, giving row 0 of the accuracy matrix (needed for forward transfer).
    pub before_training: bool,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self { trials: 4, max_tasks_per_domain: None, temperature: 0.0, before_training: true }
    }
}
