//! The built-in strategy `replay`: prompt replay of earlier domains' tasks inside the current domain's batches.
//! Replayed tasks are rolled out on-policy like any other (no importance correction is needed), in their own
//! domain's environment.
//!
//! * **How many.** `mode = "replace"`: the last `k = round(ratio · len)` items of the batch are replaced (at least
//!   one when `ratio > 0`, never the whole batch), so the batch size stays. `mode = "append"`:
//!   `k = round(ratio · len / (1 − ratio))` items are added, so replayed items are a share `ratio` of the result.
//! * **From where.** `selection = "balanced"`: equal quotas per earlier domain (the remainder rotates with the
//!   step), tasks drawn by the host from each domain's training pool. `selection = "reservoir"`: a reservoir sample
//!   (Algorithm R over the host's random stream) of `reservoir_size` items over every batch item the strategy has
//!   seen; replay draws uniformly from the entries of earlier domains.
//! * **Which.** `priority = "uniform"`; `"mid_success"` draws `candidates` times more candidates and keeps tasks
//!   with weight `p(1 − p) + 0.01`, `p` the task's latest observed success rate (0.26 when never observed): GRPO
//!   learns nothing from a group whose rollouts all succeed or all fail; `"most_forgotten"` splits the slots over
//!   earlier domains in proportion to `max(0, best − latest)` evaluation success, plus an equal-share floor
//!   `floor`, by smooth weighted round-robin (so small shares still get slots over time).
//! * **Trajectory replay** (`sft_weight > 0`): an SFT loss term on stored trajectories of earlier domains with
//!   reward ≥ `sft_min_reward`.
//!
//! Metrics: `replayed` and `replayed/<domain>` (items per step), `sft_trajectories`. The state (domain names by
//! index, per-task success rates, evaluation history, round-robin credits, the reservoir) is JSON.

pub mod select;

use retain_plugin_api::{
    BatchItem, Context, Host, LogLevel, LossTerm, PluginError, Strategy, TensorView, export_plugins,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How replayed items enter the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Replace the last items: the batch keeps its size.
    #[default]
    Replace,
    /// Add items: the batch grows.
    Append,
}

/// Where replayed tasks come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Equal quotas per earlier domain, tasks from the host's training pools.
    #[default]
    Balanced,
    /// A reservoir sample of the batch items seen so far.
    Reservoir,
}

/// Which tasks are preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Every candidate alike.
    #[default]
    Uniform,
    /// Tasks whose latest success rate is near ½ (mixed groups carry a GRPO signal).
    MidSuccess,
    /// More slots for the domains whose evaluation success dropped most.
    MostForgotten,
}

/// Configuration of `replay`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplayConfig {
    /// Share of the output batch that is replayed.
    pub ratio: f64,
    /// Replace items or append them.
    pub mode: Mode,
    /// Host pools (balanced) or a reservoir of seen items.
    pub selection: Selection,
    /// Capacity of the reservoir.
    pub reservoir_size: usize,
    /// Preference among candidate tasks.
    pub priority: Priority,
    /// `mid_success`: candidates drawn per replayed slot.
    pub candidates: usize,
    /// `most_forgotten`: share of the slots split equally whatever the forgetting.
    pub floor: f64,
    /// Weight of the SFT term on stored trajectories of earlier domains (0 = off).
    pub sft_weight: f64,
    /// Trajectories per step for the SFT term, spread over earlier domains.
    pub sft_trajectories: usize,
    /// Minimum reward of a trajectory used by the SFT term.
    pub sft_min_reward: f64,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            ratio: 0.25,
            mode: Mode::Replace,
            selection: Selection::Balanced,
            reservoir_size: 512,
            priority: Priority::Uniform,
            candidates: 4,
            floor: 0.1,
            sft_weight: 0.0,
            sft_trajectories: 8,
            sft_min_reward: 1.0,
        }
    }
}

impl ReplayConfig {
    fn check(&self) -> Result<(), PluginError> {
        let bad = |key: &str, range: &str, got: String| {
            Err(PluginError::invalid_config(format!("replay: `{key}` must be {range}, got {got}")))
        };
        if !(self.ratio >= 0.0 && self.ratio < 1.0) {
            return bad("ratio", "in [0, 1)", self.ratio.to_string());
        }
        if !(1..=1_000_000).contains(&self.reservoir_size) {
            return bad("reservoir_size", "in [1, 1000000]", self.reservoir_size.to_string());
        }
        if !(1..=64).contains(&self.candidates) {
            return bad("candidates", "in [1, 64]", self.candidates.to_string());
        }
        if !(self.floor >= 0.0 && self.floor <= 1.0) {
            return bad("floor", "in [0, 1]", self.floor.to_string());
        }
        if !(self.sft_weight.is_finite() && self.sft_weight >= 0.0) {
            return bad("sft_weight", "a finite number ≥ 0", self.sft_weight.to_string());
        }
        if !(1..=4096).contains(&self.sft_trajectories) {
            return bad("sft_trajectories", "in [1, 4096]", self.sft_trajectories.to_string());
        }
        if !self.sft_min_reward.is_finite() {
            return bad("sft_min_reward", "a finite number", self.sft_min_reward.to_string());
        }
        Ok(())
    }
}

/// The latest observed success rate of one task.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskStat {
    success: f64,
    observations: u64,
}

/// Evaluation success of one domain over the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvalStat {
    best: f64,
    latest: f64,
    evaluations: u64,
}

/// Algorithm R's sample and the number of items offered to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reservoir {
    seen: u64,
    items: Vec<BatchItem>,
}

/// Everything `replay` learns during a run (saved in checkpoints as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    version: u32,
    /// Domain names by index in the task order, as seen in `before_task`.
    domains: Vec<Option<String>>,
    /// Domain → task id → latest success rate.
    tasks: BTreeMap<String, BTreeMap<String, TaskStat>>,
    /// Domain → evaluation history.
    evaluations: BTreeMap<String, EvalStat>,
    /// Smooth round-robin credits of `most_forgotten`, by domain.
    credits: BTreeMap<String, f64>,
    reservoir: Reservoir,
}

const STATE_VERSION: u32 = 1;

impl Default for State {
    fn default() -> Self {
        State {
            version: STATE_VERSION,
            domains: Vec::new(),
            tasks: BTreeMap::new(),
            evaluations: BTreeMap::new(),
            credits: BTreeMap::new(),
            reservoir: Reservoir::default(),
        }
    }
}

/// The id of a task (or of a group's `task_id`) as text, whatever its JSON type.
fn id_text(id: Option<&Value>) -> String {
    match id {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Prompt replay of earlier domains' tasks (and optionally SFT on their stored trajectories).
#[derive(Debug)]
pub struct Replay {
    host: Host,
    config: ReplayConfig,
    state: State,
}

impl Replay {
    /// The earlier domains of the task order, first to last, without the current one.
    fn earlier_domains(&self, ctx: &Context<'_>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in self.state.domains.iter().take(ctx.domain_index as usize).flatten() {
            if name != ctx.domain && !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }

    /// How many items to replay for a batch of `len`.
    fn replay_count(&self, len: usize) -> usize {
        if self.config.ratio <= 0.0 || len == 0 {
            return 0;
        }
        let n = len as f64;
        match self.config.mode {
            // At least one, but the current domain always keeps one item.
            Mode::Replace => ((self.config.ratio * n).round() as usize).max(1).min(len - 1),
            Mode::Append => ((self.config.ratio * n / (1.0 - self.config.ratio)).round() as usize).max(1),
        }
    }

    /// Slots per earlier domain: forgetting-weighted (`most_forgotten`) or equal with a rotating remainder.
    fn quotas(&mut self, ctx: &Context<'_>, earlier: &[String], k: usize) -> Vec<usize> {
        if self.config.priority != Priority::MostForgotten {
            return select::equal_quotas(k, earlier.len(), ctx.step);
        }
        let forgotten: Vec<f64> = earlier
            .iter()
            .map(|d| self.state.evaluations.get(d).map_or(0.0, |e| (e.best - e.latest).max(0.0)))
            .collect();
        let total: f64 = forgotten.iter().sum();
        let equal = 1.0 / earlier.len() as f64;
        let floor = self.config.floor;
        let shares: Vec<f64> = forgotten
            .iter()
            .map(|f| floor * equal + (1.0 - floor) * if total > 0.0 { f / total } else { equal })
            .collect();
        let mut credits: Vec<f64> = earlier.iter().map(|d| self.state.credits.get(d).copied().unwrap_or(0.0)).collect();
        let quotas = select::smooth_quotas(k, &shares, &mut credits);
        for (d, c) in earlier.iter().zip(credits) {
            self.state.credits.insert(d.clone(), c);
        }
        quotas
    }

    /// `mid_success` weight of a task.
    fn weight(&self, item: &BatchItem) -> f64 {
        let id = id_text(item.task.get("id"));
        match self.state.tasks.get(&item.domain).and_then(|t| t.get(&id)) {
            Some(stat) => stat.success * (1.0 - stat.success) + 0.01,
            None => 0.26,
        }
    }

    /// `count` of `candidates`, preferring mixed-success tasks.
    fn pick_mid_success(&self, candidates: Vec<BatchItem>, count: usize) -> Vec<BatchItem> {
        let weights: Vec<f64> = candidates.iter().map(|c| self.weight(c)).collect();
        let host = self.host;
        let picked = select::weighted_without_replacement(&weights, count, &mut || host.next_u64());
        picked.into_iter().map(|i| candidates[i].clone()).collect()
    }

    /// Replayed items drawn from the host's training pools.
    fn draw_from_pools(
        &mut self,
        ctx: &Context<'_>,
        earlier: &[String],
        k: usize,
    ) -> Result<Vec<BatchItem>, PluginError> {
        let quotas = self.quotas(ctx, earlier, k);
        let mut out = Vec::with_capacity(k);
        for (domain, &quota) in earlier.iter().zip(&quotas) {
            if quota == 0 {
                continue;
            }
            if self.config.priority == Priority::MidSuccess {
                let candidates = self.host.sample_tasks(domain, quota * self.config.candidates)?;
                out.extend(self.pick_mid_success(candidates, quota));
            } else {
                out.extend(self.host.sample_tasks(domain, quota)?.into_iter().take(quota));
            }
        }
        Ok(out)
    }

    /// Replayed items drawn from the reservoir's entries of earlier domains.
    fn draw_from_reservoir(&mut self, ctx: &Context<'_>, earlier: &[String], k: usize) -> Vec<BatchItem> {
        let quotas = (self.config.priority == Priority::MostForgotten).then(|| self.quotas(ctx, earlier, k));
        let host = self.host;
        let next = &mut || host.next_u64();
        let items = &self.state.reservoir.items;
        let key = |i: usize| (items[i].domain.as_str(), id_text(items[i].task.get("id")));
        let pool = |keep: &dyn Fn(&str) -> bool| -> Vec<usize> {
            items.iter().enumerate().filter(|(_, item)| keep(&item.domain)).map(|(i, _)| i).collect()
        };
        let is_earlier = |d: &str| earlier.iter().any(|e| e == d);
        let picked: Vec<usize> = match quotas {
            Some(quotas) => {
                let mut picked = Vec::with_capacity(k);
                for (domain, quota) in earlier.iter().zip(quotas) {
                    picked.extend(select::distinct_uniform(&pool(&|d| d == domain), quota, key, next));
                }
                picked
            }
            None if self.config.priority == Priority::MidSuccess => {
                let candidates = select::distinct_uniform(&pool(&is_earlier), k * self.config.candidates, key, next);
                let weights: Vec<f64> = candidates.iter().map(|&i| self.weight(&items[i])).collect();
                select::weighted_without_replacement(&weights, k, next).into_iter().map(|c| candidates[c]).collect()
            }
            None => select::distinct_uniform(&pool(&is_earlier), k, key, next),
        };
        picked.into_iter().map(|i| items[i].clone()).collect()
    }

    /// Offers the current domain's items of `batch` to the reservoir (Algorithm R: the `n`-th item offered
    /// replaces a uniformly chosen entry with probability `capacity / n`).
    fn observe(&mut self, ctx: &Context<'_>, batch: &[BatchItem]) {
        let host = self.host;
        let capacity = self.config.reservoir_size;
        let reservoir = &mut self.state.reservoir;
        for item in batch.iter().filter(|item| item.domain == ctx.domain) {
            if reservoir.items.len() < capacity {
                reservoir.items.push(item.clone());
            } else {
                let offered = usize::try_from(reservoir.seen.saturating_add(1)).unwrap_or(usize::MAX);
                let slot = select::below(offered, &mut || host.next_u64());
                if slot < capacity {
                    reservoir.items[slot] = item.clone();
                }
            }
            reservoir.seen += 1;
        }
    }
}

impl Strategy for Replay {
    const NAME: &'static str = "replay";
    const DESCRIPTION: &'static str = "Prompt replay of earlier domains' tasks (balanced or reservoir; uniform, mid-success or most-forgotten), \
         optionally with SFT on their stored trajectories.";
    type Config = ReplayConfig;

    fn config_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "ratio": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.25,
                          "description": "share of the output batch that is replayed from earlier domains; \
                                          k = round(ratio·len) in replace mode (at least 1, never the whole batch)"},
                "mode": {"enum": ["replace", "append"], "default": "replace",
                         "description": "replace: the last k items are replaced (batch size kept); append: \
                                         round(ratio·len/(1−ratio)) items are added"},
                "selection": {"enum": ["balanced", "reservoir"], "default": "balanced",
                              "description": "balanced: equal quotas per earlier domain (remainder rotated by \
                                              step), tasks from the host's training pools; reservoir: uniform \
                                              draws from a reservoir sample of the batch items seen so far"},
                "reservoir_size": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 512,
                                   "description": "capacity of the reservoir (selection = \"reservoir\")"},
                "priority": {"enum": ["uniform", "mid_success", "most_forgotten"], "default": "uniform",
                             "description": "mid_success: weight p(1−p)+0.01 by latest success rate p (0.26 if \
                                             unseen) among `candidates`× more candidates; most_forgotten: slots \
                                             ∝ max(0, best − latest evaluation success) plus an equal floor"},
                "candidates": {"type": "integer", "minimum": 1, "maximum": 64, "default": 4,
                               "description": "mid_success: candidates drawn per replayed slot"},
                "floor": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.1,
                          "description": "most_forgotten: share of the slots split equally, so no domain starves"},
                "sft_weight": {"type": "number", "minimum": 0, "default": 0.0,
                               "description": "weight of an SFT loss term on stored trajectories of earlier \
                                               domains (0 = off)"},
                "sft_trajectories": {"type": "integer", "minimum": 1, "maximum": 4096, "default": 8,
                                     "description": "trajectories per step for the SFT term, spread over earlier \
                                                     domains"},
                "sft_min_reward": {"type": "number", "default": 1.0,
                                   "description": "minimum reward of a trajectory used by the SFT term"}
            },
            "additionalProperties": false
        })
    }

    fn new(config: ReplayConfig, host: Host) -> Result<Self, PluginError> {
        config.check()?;
        Ok(Replay { host, config, state: State::default() })
    }

    fn before_task(&mut self, ctx: &Context<'_>) -> Result<(), PluginError> {
        let index = ctx.domain_index as usize;
        if self.state.domains.len() <= index {
            self.state.domains.resize(index + 1, None);
        }
        self.state.domains[index] = Some(ctx.domain.to_owned());
        if ctx.domain_index > 0 && self.earlier_domains(ctx).is_empty() {
            self.host.log(
                LogLevel::Warn,
                &format!("no earlier domain is known at `{}` (index {}): nothing to replay", ctx.domain, index),
            );
        }
        Ok(())
    }

    fn augment_batch(&mut self, ctx: &Context<'_>, batch: &[BatchItem]) -> Result<Option<Vec<BatchItem>>, PluginError> {
        let earlier = self.earlier_domains(ctx);
        let k = if earlier.is_empty() { 0 } else { self.replay_count(batch.len()) };
        let replayed = match (k, self.config.selection) {
            (0, _) => Vec::new(),
            (_, Selection::Balanced) => self.draw_from_pools(ctx, &earlier, k)?,
            (_, Selection::Reservoir) => self.draw_from_reservoir(ctx, &earlier, k),
        };
        if self.config.selection == Selection::Reservoir {
            self.observe(ctx, batch);
        }
        self.host.log_metric("replayed", replayed.len() as f64);
        for domain in &earlier {
            let count = replayed.iter().filter(|item| &item.domain == domain).count();
            self.host.log_metric(&format!("replayed/{domain}"), count as f64);
        }
        if replayed.is_empty() {
            return Ok(None);
        }
        let keep = match self.config.mode {
            Mode::Replace => batch.len() - replayed.len().min(batch.len()),
            Mode::Append => batch.len(),
        };
        let mut out = batch[..keep].to_vec();
        out.extend(replayed);
        Ok(Some(out))
    }

    fn loss_terms(&mut self, ctx: &Context<'_>, _params: &[TensorView<'_>]) -> Result<Vec<LossTerm>, PluginError> {
        if self.config.sft_weight <= 0.0 {
            return Ok(Vec::new());
        }
        let earlier = self.earlier_domains(ctx);
        if earlier.is_empty() {
            return Ok(Vec::new());
        }
        let quotas = select::equal_quotas(self.config.sft_trajectories, earlier.len(), ctx.step);
        let mut trajectories = Vec::new();
        for (domain, &quota) in earlier.iter().zip(&quotas) {
            if quota > 0 {
                let found = self.host.sample_trajectories(domain, quota, Some(self.config.sft_min_reward))?;
                trajectories.extend(found.into_iter().take(quota));
            }
        }
        self.host.log_metric("sft_trajectories", trajectories.len() as f64);
        if trajectories.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![LossTerm::Sft { weight: self.config.sft_weight, trajectories }])
    }

    fn after_step(&mut self, _ctx: &Context<'_>, metrics: &Value) -> Result<(), PluginError> {
        let Some(groups) = metrics.get("groups").and_then(Value::as_array) else { return Ok(()) };
        for group in groups {
            let (Some(domain), Some(successes)) =
                (group.get("domain").and_then(Value::as_str), group.get("successes").and_then(Value::as_array))
            else {
                continue;
            };
            let outcomes: Vec<bool> = successes.iter().filter_map(Value::as_bool).collect();
            if outcomes.is_empty() {
                continue;
            }
            let success = outcomes.iter().filter(|&&s| s).count() as f64 / outcomes.len() as f64;
            let id = id_text(group.get("task_id"));
            let stat = self
                .state
                .tasks
                .entry(domain.to_owned())
                .or_default()
                .entry(id)
                .or_insert(TaskStat { success, observations: 0 });
            stat.success = success;
            stat.observations += 1;
        }
        Ok(())
    }

    fn after_evaluation(&mut self, _ctx: &Context<'_>, results: &Value) -> Result<(), PluginError> {
        let Some(domains) = results.get("domains").and_then(Value::as_object) else { return Ok(()) };
        for (name, cell) in domains {
            let Some(success) = cell.get("success").and_then(Value::as_f64).filter(|s| s.is_finite()) else {
                continue;
            };
            let stat = self.state.evaluations.entry(name.clone()).or_insert(EvalStat {
                best: success,
                latest: success,
                evaluations: 0,
            });
            stat.best = stat.best.max(success);
            stat.latest = success;
            stat.evaluations += 1;
        }
        Ok(())
    }

    fn save_state(&mut self) -> Result<Vec<u8>, PluginError> {
        serde_json::to_vec(&self.state)
            .map_err(|e| PluginError::failed(format!("replay: could not serialise the state: {e}")))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), PluginError> {
        let mut state: State = serde_json::from_slice(bytes)
            .map_err(|e| PluginError::failed(format!("replay: the saved state is not a replay state ({e})")))?;
        if state.version != STATE_VERSION {
            return Err(PluginError::failed(format!(
                "replay: the saved state has version {}, this plugin reads version {STATE_VERSION}",
                state.version
            )));
        }
        if state.reservoir.items.len() > self.config.reservoir_size {
            self.host.log(
                LogLevel::Warn,
                &format!(
                    "the saved reservoir holds {} items but `reservoir_size` is {}; the newest entries are dropped",
                    state.reservoir.items.len(),
                    self.config.reservoir_size
                ),
            );
            state.reservoir.items.truncate(self.config.reservoir_size);
        }
        self.state = state;
        Ok(())
    }
}

export_plugins! {
    description: "Prompt replay of earlier domains' tasks, with optional SFT on their stored trajectories.",
    strategies: [Replay],
    rewards: [],
}
