//! The services the trainer offers plugins ([`HostServices`]): training tasks and stored trajectories of the
//! domains reached so far, the Fisher diagonal at the current weights, policy snapshots, and plugin metrics.
//!
//! The trainer calls plugin hooks synchronously, and plugins call back into these services from inside a hook,
//! so the services own what they hand out: the trajectory buffers (the trainer appends through them), the
//! snapshots, a shallow clone of the policy network (it shares the trainer's variables, so it always sees the
//! current weights), and the metrics waiting for the next metrics line. Randomness is a pure function of
//! (run seed, global step, hook, plugin, the plugin's call number within the hook), so a resumed run answers every
//! request identically and one strategy's requests never shift another's.
//!
//! The services' lock is held while a request is served (a Fisher estimate takes one backward pass per
//! trajectory); the trainer never calls a plugin while holding it, so a plugin calling back cannot deadlock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use retain_buffers::{BufferReader, RecordFilter, SampleStrategy, StoredRecord, sample};
use retain_model::Qwen2;
use retain_model::mode::mix_seed;
use retain_plugin_api::OwnedTensor;
use retain_plugin_host::pipeline::RewardBreakdown;
use retain_plugin_host::{HostServices, PluginRng};

use crate::encode::Encoded;
use crate::error::Result;
use crate::fisher::fisher_diagonal;
use crate::policy::frozen_model;
use crate::rollout::Rollout;
use crate::trajectories::TrajectoryStore;

/// Which hooks are running, so requests made from different hooks at the same global step draw different numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `before_task`.
    TaskStart,
    /// An optimiser step: `augment_batch`, `loss_terms`, `adjust_gradients`, `after_step`.
    Step,
    /// `after_evaluation`.
    Evaluation,
    /// `after_task`.
    TaskEnd,
    /// `load_state` on resume.
    Restore,
}

/// One domain's training tasks in the plugin contract's JSON (τ²'s task schema).
#[derive(Debug, Clone)]
pub struct DomainTasks {
    /// Domain name.
    pub domain: String,
    /// Its training tasks, in the run's order.
    pub tasks: Vec<Value>,
}

/// The trainer's side of the plugin services.
#[derive(Debug)]
pub struct TrainerServices {
    seed: u64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tasks: Vec<DomainTasks>,
    /// Plugins may reach domains `0..=reached` of the task order (never a domain not trained yet).
    reached: usize,
    global_step: u64,
    phase: Phase,
    calls: BTreeMap<String, u64>,
    model: Option<(Qwen2, u32)>,
    snapshots: BTreeMap<String, Qwen2>,
    metrics: Vec<(String, f64)>,
    trajectories: TrajectoryStore,
}

impl TrainerServices {
    /// Services of the run in `run_dir`, seeded with `seed`; tasks and the model are attached once loaded.
    pub fn new(run_dir: &Path, seed: u64) -> Self {
        TrainerServices {
            seed,
            state: Mutex::new(State {
                tasks: Vec::new(),
                reached: 0,
                global_step: 0,
                phase: Phase::Step,
                calls: BTreeMap::new(),
                model: None,
                snapshots: BTreeMap::new(),
                metrics: Vec::new(),
                trajectories: TrajectoryStore::new(run_dir),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The training tasks of every domain, in task order.
    pub fn set_tasks(&self, tasks: Vec<DomainTasks>) {
        self.lock().tasks = tasks;
    }

    /// The policy network (a shallow clone sharing the trainer's variables) and its padding id.
    pub fn set_model(&self, model: Qwen2, pad_id: u32) {
        self.lock().model = Some((model, pad_id));
    }

    /// Replaces the trajectory store (on resume, with the checkpoint's buffers).
    pub fn set_trajectories(&self, store: TrajectoryStore) {
        self.lock().trajectories = store;
    }

    /// Hooks of `phase` begin at `global_step` while training domain `reached`: every plugin's requests are
    /// numbered from zero again, so their randomness depends on (step, phase, plugin, call) only.
    pub fn begin(&self, reached: usize, global_step: u64, phase: Phase) {
        let mut state = self.lock();
        state.reached = reached;
        state.global_step = global_step;
        state.phase = phase;
        state.calls.clear();
    }

    /// Appends a step's rollouts to their domains' buffers.
    pub fn append_trajectories(
        &self,
        rollouts: &[Rollout],
        rewards: &[RewardBreakdown],
        global_step: u64,
        group: usize,
    ) -> Result<()> {
        self.lock().trajectories.append(rollouts, rewards, global_step, group)
    }

    /// Syncs every buffer and returns `(domain, file)` pairs for a checkpoint.
    pub fn flush_trajectories(&self) -> Result<Vec<(String, PathBuf)>> {
        self.lock().trajectories.flush()
    }

    /// Finishes the buffers at the end of a run: `(bytes, records)`.
    pub fn finish_trajectories(&self) -> Result<(u64, u64)> {
        self.lock().trajectories.finish()
    }

    /// Metrics plugins logged since the last call, as `(<plugin>/<name>, value)` in logging order.
    pub fn take_metrics(&self) -> Vec<(String, f64)> {
        std::mem::take(&mut self.lock().metrics)
    }

    /// The snapshot `plugin` took under `name`, if any (a shallow clone; snapshots are never updated).
    pub fn snapshot(&self, plugin: &str, name: &str) -> Option<Qwen2> {
        self.lock().snapshots.get(&snapshot_key(plugin, name)).cloned()
    }

    /// Every snapshot, by `<plugin>/<name>` key (for checkpoints).
    pub fn snapshots(&self) -> BTreeMap<String, Qwen2> {
        self.lock().snapshots.clone()
    }

    /// Restores a snapshot from a checkpoint, under its `<plugin>/<name>` key.
    pub fn insert_snapshot(&self, key: &str, model: Qwen2) {
        self.lock().snapshots.insert(key.to_owned(), model);
    }

    fn next_seed(state: &mut State, seed: u64, plugin: &str) -> u64 {
        let calls = state.calls.entry(plugin.to_owned()).or_insert(0);
        *calls += 1;
        let base = mix_seed(mix_seed(seed, state.global_step), state.phase as u64);
        // The plugin's own stream at this point (the host's name hashing), so plugins draw unrelated numbers.
        mix_seed(PluginRng::for_plugin(base, plugin).next_u64(), *calls)
    }

    /// The index of `domain` in the task order, if plugins may reach it now.
    fn reachable(state: &State, plugin: &str, domain: &str) -> std::result::Result<usize, String> {
        let index = state.tasks.iter().position(|d| d.domain == domain).ok_or_else(|| {
            let names: Vec<&str> = state.tasks.iter().map(|d| d.domain.as_str()).collect();
            format!(
                "`{plugin}` asked for domain `{domain}`, which is not in this run (task order: {})",
                names.join(", ")
            )
        })?;
        if index > state.reached {
            return Err(format!(
                "`{plugin}` asked for domain `{domain}`, which the run has not reached yet; plugins only see domains \
                 already trained or being trained"
            ));
        }
        Ok(index)
    }
}

/// Snapshots belong to the plugin that took them, so two strategies using the same name never overwrite each other.
fn snapshot_key(plugin: &str, name: &str) -> String {
    format!("{plugin}/{name}")
}

fn count_of(query: &Value) -> std::result::Result<usize, String> {
    query.get("count").and_then(Value::as_u64).map(|c| c as usize).ok_or_else(|| "the query has no `count`".to_owned())
}

fn domain_of(query: &Value) -> std::result::Result<&str, String> {
    query.get("domain").and_then(Value::as_str).ok_or_else(|| "the query has no `domain`".to_owned())
}

/// A stored record in the plugin contract's trajectory shape, with the host-only fields a supervised term or a
/// Fisher estimate needs (`token_ids`, `loss_mask`).
fn trajectory_of(stored: StoredRecord) -> Value {
    let record = stored.record;
    json!({
        "domain": record.domain,
        "task_id": record.task_id,
        "messages": record.messages,
        "termination": record.termination.as_str(),
        "reward": record.reward,
        "success": record.success,
        "rewards": record.reward_components,
        "step": record.step,
        "record_id": stored.id,
        "token_ids": record.token_ids,
        "loss_mask": record.loss_mask,
    })
}

impl HostServices for TrainerServices {
    fn sample_tasks(&self, plugin: &str, query: &Value) -> std::result::Result<Value, String> {
        let mut state = self.lock();
        let domain = domain_of(query)?;
        if let Some(split) = query.get("split").and_then(Value::as_str)
            && split != "train"
        {
            return Err(format!(
                "`{plugin}` asked for `{split}` tasks; plugins are only given training tasks (test tasks measure \
                 forgetting and must stay unseen)"
            ));
        }
        let index = Self::reachable(&state, plugin, domain)?;
        let count = count_of(query)?;
        let seed = Self::next_seed(&mut state, self.seed, plugin);
        let pool = &state.tasks[index].tasks;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let chosen = rand::seq::index::sample(&mut rng, pool.len(), count.min(pool.len()));
        Ok(Value::Array(chosen.iter().map(|i| json!({"domain": domain, "task": pool[i]})).collect()))
    }

    fn sample_trajectories(&self, plugin: &str, query: &Value) -> std::result::Result<Value, String> {
        let mut state = self.lock();
        let domain = domain_of(query)?.to_owned();
        Self::reachable(&state, plugin, &domain)?;
        let count = count_of(query)?;
        let min_reward = query.get("min_reward").and_then(Value::as_f64);
        let seed = Self::next_seed(&mut state, self.seed, plugin);
        let Some(path) = state.trajectories.flush_domain(&domain).map_err(|e| e.to_string())? else {
            return Ok(Value::Array(Vec::new()));
        };
        let mut reader = BufferReader::open(&path).map_err(|e| e.to_string())?;
        let filter = RecordFilter { min_reward, ..RecordFilter::default() };
        let records = sample(&mut reader, count, SampleStrategy::Uniform, &filter, seed).map_err(|e| e.to_string())?;
        Ok(Value::Array(records.into_iter().map(trajectory_of).collect()))
    }

    fn fisher_diagonal(&self, plugin: &str, trajectories: &Value) -> std::result::Result<Vec<OwnedTensor>, String> {
        let mut state = self.lock();
        let seed = Self::next_seed(&mut state, self.seed, plugin);
        let (model, pad_id) = state.model.as_ref().ok_or_else(|| format!("no policy is loaded yet for `{plugin}`"))?;
        let items = trajectories.as_array().ok_or("fisher_diagonal expects a JSON array of trajectories")?;
        let (vocab, max_len) = (model.config().vocab_size, model.config().max_position_embeddings);
        let sequences = items
            .iter()
            .map(|t| Encoded::from_trajectory_json(t, vocab, max_len))
            .collect::<std::result::Result<Vec<_>, String>>()?;
        let fisher = fisher_diagonal(model, *pad_id, &sequences, seed).map_err(|e| e.to_string())?;
        fisher
            .into_iter()
            .map(|(name, tensor)| {
                let shape: Vec<u64> = tensor.dims().iter().map(|&d| d as u64).collect();
                let data = tensor.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(|e| e.to_string())?;
                Ok(OwnedTensor { name: name.into(), shape: shape.into(), data: data.into() })
            })
            .collect()
    }

    fn snapshot_policy(&self, plugin: &str, name: &str) -> std::result::Result<(), String> {
        let mut state = self.lock();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(format!("`{plugin}`: snapshot name `{name}` must be non-empty ASCII letters, digits, _ or -"));
        }
        let (model, _) = state.model.as_ref().ok_or_else(|| format!("no policy is loaded yet for `{plugin}`"))?;
        let key = snapshot_key(plugin, name);
        let frozen = frozen_model(model, Path::new(&format!("<snapshot {key}>"))).map_err(|e| e.to_string())?;
        state.snapshots.insert(key, frozen);
        Ok(())
    }

    fn log_metric(&self, plugin: &str, name: &str, value: f64) {
        self.lock().metrics.push((format!("{plugin}/{name}"), value));
    }
}
