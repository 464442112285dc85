//! The continual-learning strategies `replay`, `ewc`, `kl_previous` and the example plugin `layer_freeze`, each
//! loaded from the real shared library the workspace builds, against a scripted host: fixed task pools and stored
//! trajectories per domain, a Fisher estimate with known values, and a record of every request, snapshot, metric
//! and log line.

use super::build::{EXAMPLE_LIB, libraries};
use retain_config::PluginSpec;
use retain_plugin_api::contract::{BatchItem, LossTerm};
use retain_plugin_api::{Context, LogLevel, OwnedTensor, TensorView, TensorViewMut};
use retain_plugin_host::{HostServices, PluginHostError, StrategyPlugin, inspect};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

const DOMAINS: [&str; 3] = ["airline", "retail", "telecom"];
const POOL: usize = 8;

/// A host with scripted data that records what plugins ask of it.
#[derive(Default)]
struct Host {
    /// Training tasks per domain.
    tasks: BTreeMap<String, Vec<Value>>,
    /// Stored trajectories per domain.
    trajectories: BTreeMap<String, Vec<Value>>,
    /// The Fisher estimate returned for trajectories of a domain (by the first trajectory's `domain`).
    fisher: BTreeMap<String, Vec<OwnedTensor>>,
    calls: Mutex<usize>,
    task_queries: Mutex<Vec<(String, usize)>>,
    trajectory_queries: Mutex<Vec<(String, usize, Option<f64>)>>,
    fisher_inputs: Mutex<Vec<usize>>,
    snapshots: Mutex<Vec<String>>,
    metrics: Mutex<Vec<(String, f64)>>,
    logs: Mutex<Vec<(LogLevel, String)>>,
}

fn task(domain: &str, i: usize) -> Value {
    json!({"id": format!("{domain}_{i}"), "instruction": format!("ticket {i} of {domain}")})
}

fn trajectory(domain: &str, i: usize, reward: f64) -> Value {
    json!({"domain": domain, "task_id": format!("{domain}_{i}"), "messages": [{"role": "system", "content": "…"}],
           "reward": reward, "success": reward >= 1.0, "token_ids": [1, 2, 3, i], "loss_mask": [0, 1, 1, 1]})
}

fn tensor(name: &str, shape: &[u64], data: &[f32]) -> OwnedTensor {
    OwnedTensor { name: name.into(), shape: shape.to_vec().into(), data: data.to_vec().into() }
}

impl Host {
    fn scripted() -> Self {
        let mut host = Host::default();
        for domain in DOMAINS {
            host.tasks.insert(domain.to_owned(), (0..POOL).map(|i| task(domain, i)).collect());
        }
        // Airline: three successes and two failures; retail: two successes; telecom: nothing stored.
        host.trajectories.insert(
            "airline".into(),
            vec![
                trajectory("airline", 0, 1.0),
                trajectory("airline", 1, 0.0),
                trajectory("airline", 2, 1.0),
                trajectory("airline", 3, 0.0),
                trajectory("airline", 4, 1.0),
            ],
        );
        host.trajectories.insert("retail".into(), vec![trajectory("retail", 0, 1.0), trajectory("retail", 1, 1.0)]);
        host.fisher
            .insert("airline".into(), vec![tensor("w", &[2, 2], &[0.5, 1.0, 1.5, 2.0]), tensor("b", &[1], &[2.0])]);
        host.fisher
            .insert("retail".into(), vec![tensor("w", &[2, 2], &[0.25, 0.0, 4.0, 1.0]), tensor("b", &[1], &[0.5])]);
        host
    }

    fn metric(&self, name: &str) -> Vec<f64> {
        self.metrics.lock().unwrap().iter().filter(|(n, _)| n == name).map(|(_, v)| *v).collect()
    }

    fn clear(&self) {
        self.metrics.lock().unwrap().clear();
        self.task_queries.lock().unwrap().clear();
        self.trajectory_queries.lock().unwrap().clear();
    }
}

impl HostServices for Host {
    /// Distinct tasks, a window of the pool that moves by 3 with every call (a stand-in for seeded sampling).
    fn sample_tasks(&self, _plugin: &str, query: &Value) -> Result<Value, String> {
        let domain = query["domain"].as_str().ok_or("no domain")?;
        let count = query["count"].as_u64().ok_or("no count")? as usize;
        assert_eq!(query["split"], "train");
        self.task_queries.lock().unwrap().push((domain.to_owned(), count));
        let pool = self.tasks.get(domain).ok_or("unknown domain")?;
        let mut calls = self.calls.lock().unwrap();
        let start = *calls * 3;
        *calls += 1;
        let items =
            (0..count.min(pool.len())).map(|i| json!({"domain": domain, "task": pool[(start + i) % pool.len()]}));
        Ok(Value::Array(items.collect()))
    }

    fn sample_trajectories(&self, _plugin: &str, query: &Value) -> Result<Value, String> {
        let domain = query["domain"].as_str().ok_or("no domain")?;
        let count = query["count"].as_u64().ok_or("no count")? as usize;
        let min_reward = query["min_reward"].as_f64();
        self.trajectory_queries.lock().unwrap().push((domain.to_owned(), count, min_reward));
        let stored = self.trajectories.get(domain).cloned().unwrap_or_default();
        let kept = stored.into_iter().filter(|t| min_reward.is_none_or(|m| t["reward"].as_f64().unwrap() >= m));
        Ok(Value::Array(kept.take(count).collect()))
    }

    fn fisher_diagonal(&self, _plugin: &str, trajectories: &Value) -> Result<Vec<OwnedTensor>, String> {
        let items = trajectories.as_array().ok_or("not an array")?;
        self.fisher_inputs.lock().unwrap().push(items.len());
        let domain = items.first().and_then(|t| t["domain"].as_str()).ok_or("no trajectories")?;
        self.fisher.get(domain).cloned().ok_or_else(|| format!("no Fisher scripted for {domain}"))
    }

    fn snapshot_policy(&self, _plugin: &str, name: &str) -> Result<(), String> {
        self.snapshots.lock().unwrap().push(name.to_owned());
        Ok(())
    }

    fn log_metric(&self, _plugin: &str, name: &str, value: f64) {
        self.metrics.lock().unwrap().push((name.to_owned(), value));
    }

    fn log_message(&self, _plugin: &str, level: LogLevel, message: &str) {
        self.logs.lock().unwrap().push((level, message.to_owned()));
    }
}

fn spec(name: &str, config: Value) -> PluginSpec {
    let path = if name == "layer_freeze" { libraries().lib(EXAMPLE_LIB) } else { libraries().builtin(name) };
    PluginSpec { name: name.to_owned(), path: Some(path), priority: 0, weight: 1.0, config }
}

fn load(name: &str, config: Value, host: &Arc<Host>) -> StrategyPlugin {
    StrategyPlugin::load(&spec(name, config), host.clone(), 11).unwrap()
}

fn ctx(index: usize, step: u64) -> Context<'static> {
    Context {
        domain: DOMAINS[index],
        domain_index: index as u32,
        num_domains: 3,
        step,
        global_step: 100 * index as u64 + step,
    }
}

/// A batch of `len` tasks of domain `index`, task ids `first..first + len` (beyond the host's pool: these stand
/// for the trainer's own draws).
fn batch(index: usize, first: usize, len: usize) -> Vec<BatchItem> {
    (first..first + len)
        .map(|i| BatchItem { domain: DOMAINS[index].to_owned(), task: task(DOMAINS[index], i) })
        .collect()
}

/// Walks `plugin` through `before_task` of domains `0..=index`.
fn reach(plugin: &mut StrategyPlugin, index: usize) {
    for i in 0..=index {
        plugin.before_task(&ctx(i, 0)).unwrap();
    }
}

fn in_pool(host: &Host, item: &BatchItem) -> bool {
    host.tasks[&item.domain].contains(&item.task)
}

fn counts(items: &[BatchItem]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for item in items {
        *out.entry(item.domain.clone()).or_default() += 1;
    }
    out
}

fn id(item: &BatchItem) -> String {
    item.task["id"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------------------------
// replay

#[test]
fn replay_leaves_the_first_domain_alone() {
    let host = Arc::new(Host::scripted());
    let mut replay = load("replay", json!({"sft_weight": 1.0}), &host);
    reach(&mut replay, 0);
    let input = batch(0, 100, 8);
    assert_eq!(replay.augment_batch(&ctx(0, 0), &input).unwrap(), input);
    assert!(replay.loss_terms(&ctx(0, 0), &[]).unwrap().is_empty());
    assert_eq!(host.metric("replayed"), [0.0]);
    assert!(host.task_queries.lock().unwrap().is_empty() && host.trajectory_queries.lock().unwrap().is_empty());
}

#[test]
fn replay_replaces_the_last_k_items_with_earlier_domain_tasks() {
    let host = Arc::new(Host::scripted());
    let mut replay = load("replay", json!({}), &host);
    reach(&mut replay, 2);
    let input = batch(2, 100, 8);
    let out = replay.augment_batch(&ctx(2, 0), &input).unwrap();
    // ratio 0.25 of 8: the last two items, one per earlier domain.
    assert_eq!(out.len(), 8);
    assert_eq!(out[..6], input[..6]);
    assert_eq!(counts(&out[6..]), BTreeMap::from([("airline".into(), 1), ("retail".into(), 1)]));
    assert!(out[6..].iter().all(|item| in_pool(&host, item)), "{out:?}");
    assert_eq!(host.metric("replayed"), [2.0]);
    assert_eq!(host.metric("replayed/airline"), [1.0]);
    assert_eq!(host.metric("replayed/retail"), [1.0]);

    // round(0.1 · 4) = 0, but a positive ratio replays at least one; a ratio near 1 never replaces the whole batch.
    for (ratio, len, replaced) in [(0.1, 4, 1), (0.9, 4, 3), (0.25, 1, 0)] {
        let mut replay = load("replay", json!({"ratio": ratio}), &host);
        reach(&mut replay, 1);
        let input = batch(1, 100, len);
        let out = replay.augment_batch(&ctx(1, 0), &input).unwrap();
        assert_eq!(out.len(), len);
        assert_eq!(out.iter().filter(|i| i.domain == "airline").count(), replaced, "ratio {ratio}, {len} items");
        assert_eq!(out[..len - replaced], input[..len - replaced]);
    }

    // Append: round(0.5 · 4 / 0.5) = 4 items are added after the untouched batch.
    let mut append = load("replay", json!({"ratio": 0.5, "mode": "append"}), &host);
    reach(&mut append, 1);
    let input = batch(1, 100, 4);
    let out = append.augment_batch(&ctx(1, 0), &input).unwrap();
    assert_eq!(out.len(), 8);
    assert_eq!(out[..4], input[..]);
    assert!(out[4..].iter().all(|item| item.domain == "airline" && in_pool(&host, item)));
}

#[test]
fn replay_balanced_quotas_rotate_the_remainder_with_the_step() {
    let host = Arc::new(Host::scripted());
    // ratio 0.375 of 8 = 3 slots over two earlier domains: 2 + 1, then 1 + 2 on the next step.
    let mut replay = load("replay", json!({"ratio": 0.375}), &host);
    reach(&mut replay, 2);
    let mut per_step = Vec::new();
    for step in 0..4 {
        host.clear();
        let out = replay.augment_batch(&ctx(2, step), &batch(2, 100, 8)).unwrap();
        assert_eq!(out[..5], batch(2, 100, 5)[..]);
        per_step.push(counts(&out[5..]));
        let queries = host.task_queries.lock().unwrap().clone();
        let expected = if step % 2 == 0 { [2, 1] } else { [1, 2] };
        assert_eq!(queries, [("airline".to_owned(), expected[0]), ("retail".to_owned(), expected[1])], "step {step}");
    }
    assert_eq!(per_step[0], BTreeMap::from([("airline".into(), 2), ("retail".into(), 1)]));
    assert_eq!(per_step[1], BTreeMap::from([("airline".into(), 1), ("retail".into(), 2)]));
}

#[test]
fn replay_reservoir_draws_only_earlier_domains_and_round_trips() {
    let host = Arc::new(Host::scripted());
    let config = json!({"selection": "reservoir", "reservoir_size": 8, "ratio": 0.25});
    let mut replay = load("replay", config.clone(), &host);
    reach(&mut replay, 0);
    // 100 distinct airline items pass by; nothing is replayed in the first domain.
    for step in 0..25 {
        let input = batch(0, 4 * step, 4);
        assert_eq!(replay.augment_batch(&ctx(0, step as u64), &input).unwrap(), input);
    }
    replay.before_task(&ctx(1, 0)).unwrap();
    let mut replayed_ids = BTreeSet::new();
    for step in 0..30 {
        let input = batch(1, 1000 + 4 * step, 4);
        let out = replay.augment_batch(&ctx(1, step as u64), &input).unwrap();
        assert_eq!(out[..3], input[..3]);
        assert_eq!(out[3].domain, "airline", "only earlier domains are replayed");
        let n: usize = id(&out[3]).trim_start_matches("airline_").parse().unwrap();
        assert!(n < 100, "a task the plugin saw: {}", id(&out[3]));
        replayed_ids.insert(n);
    }
    assert!(host.task_queries.lock().unwrap().is_empty(), "the reservoir needs no host pool");
    assert!(replayed_ids.len() <= 8, "at most the reservoir's 8 entries: {replayed_ids:?}");
    assert!(replayed_ids.iter().any(|&n| n >= 8), "a reservoir sample, not the first 8 items: {replayed_ids:?}");

    // A resume: state and random stream restored into a fresh instance, then before_task again.
    let saved = replay.save_state().unwrap();
    let rng = replay.rng_state();
    let mut resumed = load("replay", config, &host);
    resumed.load_state(&saved).unwrap();
    resumed.set_rng_state(rng);
    assert_eq!(resumed.save_state().unwrap(), saved);
    replay.before_task(&ctx(2, 0)).unwrap();
    resumed.before_task(&ctx(2, 0)).unwrap();
    let mut domains = BTreeSet::new();
    for step in 0..40 {
        let input = batch(2, 5000 + 4 * step, 4);
        let a = replay.augment_batch(&ctx(2, step as u64), &input).unwrap();
        let b = resumed.augment_batch(&ctx(2, step as u64), &input).unwrap();
        assert_eq!(a, b, "the resumed instance replays exactly the same items");
        assert_ne!(a[3].domain, "telecom");
        domains.insert(a[3].domain.clone());
    }
    assert_eq!(domains, BTreeSet::from(["airline".to_owned(), "retail".to_owned()]), "the reservoir spans both");
    assert_eq!(replay.save_state().unwrap(), resumed.save_state().unwrap());

    let err = resumed.load_state(b"{\"not\": \"a replay state\"}").unwrap_err();
    assert!(matches!(err, PluginHostError::Failed { hook: "load_state", .. }), "{err}");
    assert!(err.to_string().contains("not a replay state"), "{err}");
}

/// Share of replayed airline tasks with a mixed success rate over 200 steps of domain 1.
fn mixed_share(priority: &str) -> f64 {
    let host = Arc::new(Host::scripted());
    let mut replay = load("replay", json!({"priority": priority, "candidates": 4}), &host);
    reach(&mut replay, 1);
    // What the strategy observed: airline_0..1 always fail, airline_2..3 always succeed, airline_4..7 are mixed.
    let groups: Vec<Value> = (0..POOL)
        .map(|i| {
            let successes = match i {
                0 | 1 => json!([false, false, false, false]),
                2 | 3 => json!([true, true, true, true]),
                _ => json!([true, false, true, false]),
            };
            json!({"domain": "airline", "task_id": format!("airline_{i}"), "rewards": [1.0, 0.0, 1.0, 0.0],
                   "successes": successes})
        })
        .collect();
    replay.after_step(&ctx(1, 0), &json!({"phase": "rl", "loss": 0.5, "groups": groups})).unwrap();
    let mut mixed = 0;
    for step in 0..200 {
        let out = replay.augment_batch(&ctx(1, step), &batch(1, 100, 4)).unwrap();
        let n: usize = id(&out[3]).trim_start_matches("airline_").parse().unwrap();
        mixed += usize::from(n >= 4);
    }
    mixed as f64 / 200.0
}

#[test]
fn replay_mid_success_prefers_tasks_with_mixed_outcomes() {
    let uniform = mixed_share("uniform");
    let preferred = mixed_share("mid_success");
    // Uniform draws hit the mixed half of the pool half of the time; weights 0.26 vs 0.01 make it most of the time.
    assert!((0.4..0.6).contains(&uniform), "uniform: {uniform}");
    assert!(preferred > 0.75, "mid_success: {preferred}");
}

fn evaluation(row: Option<u32>, success: [f64; 3]) -> Value {
    let domains: serde_json::Map<String, Value> =
        DOMAINS.iter().zip(success).map(|(d, s)| (d.to_string(), json!({"success": s, "mean_reward": s}))).collect();
    json!({"row": row, "after": null, "global_step": 0, "domains": domains})
}

#[test]
fn replay_most_forgotten_gives_the_forgotten_domain_more_slots() {
    let host = Arc::new(Host::scripted());
    let config = json!({"priority": "most_forgotten", "floor": 0.1});
    let mut replay = load("replay", config.clone(), &host);
    reach(&mut replay, 2);
    replay.after_evaluation(&ctx(0, 0), &evaluation(Some(1), [0.9, 0.1, 0.0])).unwrap();
    replay.after_evaluation(&ctx(1, 0), &evaluation(Some(2), [0.3, 0.8, 0.1])).unwrap();
    // Airline dropped by 0.6, retail not at all: shares 0.95 and 0.05 of 2 slots per step.
    let run = |replay: &mut StrategyPlugin, steps: std::ops::Range<u64>| {
        let mut total = BTreeMap::new();
        for step in steps {
            let out = replay.augment_batch(&ctx(2, step), &batch(2, 100, 8)).unwrap();
            assert_eq!(out.len(), 8);
            for (d, n) in counts(&out[6..]) {
                *total.entry(d).or_insert(0) += n;
            }
        }
        total
    };
    let first = run(&mut replay, 0..10);
    assert_eq!(first.values().sum::<usize>(), 20);
    assert!(first["airline"] >= 17, "{first:?}");
    assert!(first.get("retail").copied().unwrap_or(0) >= 1, "the floor keeps retail from starving: {first:?}");

    // Evaluation history and round-robin credits survive a checkpoint.
    let saved = replay.save_state().unwrap();
    let rng = replay.rng_state();
    let mut resumed = load("replay", config, &host);
    resumed.load_state(&saved).unwrap();
    resumed.set_rng_state(rng);

    // Airline recovered, retail is now forgotten: the slots follow.
    for plugin in [&mut replay, &mut resumed] {
        plugin.after_evaluation(&ctx(2, 10), &evaluation(None, [0.9, 0.2, 0.4])).unwrap();
    }
    let second = run(&mut replay, 10..20);
    assert!(second["retail"] >= 16, "{second:?}");
    assert_eq!(run(&mut resumed, 10..20), second);
}

#[test]
fn replay_sft_term_carries_the_hosts_trajectories() {
    let host = Arc::new(Host::scripted());
    let mut replay = load("replay", json!({"ratio": 0.0, "sft_weight": 0.5, "sft_trajectories": 4}), &host);
    reach(&mut replay, 2);
    let input = batch(2, 100, 4);
    assert_eq!(replay.augment_batch(&ctx(2, 0), &input).unwrap(), input, "ratio 0: no prompt replay");
    let w = [1.0f32];
    let terms = replay.loss_terms(&ctx(2, 0), &[TensorView::new("w", &[1], &w)]).unwrap();
    let expected = vec![
        trajectory("airline", 0, 1.0),
        trajectory("airline", 2, 1.0),
        trajectory("retail", 0, 1.0),
        trajectory("retail", 1, 1.0),
    ];
    assert_eq!(terms, [LossTerm::Sft { weight: 0.5, trajectories: expected }]);
    assert_eq!(
        *host.trajectory_queries.lock().unwrap(),
        [("airline".to_owned(), 2, Some(1.0)), ("retail".to_owned(), 2, Some(1.0))]
    );
    assert_eq!(host.metric("sft_trajectories"), [4.0]);
}

// ---------------------------------------------------------------------------------------------------------------
// ewc

/// Parameters `w` (2×2) and `b` (1) with the given values.
struct Params {
    w: Vec<f32>,
    b: Vec<f32>,
}

impl Params {
    fn new(w: [f32; 4], b: f32) -> Self {
        Params { w: w.to_vec(), b: vec![b] }
    }

    fn views(&self) -> [TensorView<'_>; 2] {
        [TensorView::new("w", &[2, 2], &self.w), TensorView::new("b", &[1], &self.b)]
    }

    /// The gradients after `plugin.adjust_gradients` on `grads`.
    fn adjust(&self, plugin: &mut StrategyPlugin, ctx: &Context<'_>, grads: &Params) -> Params {
        let (mut gw, mut gb) = (grads.w.clone(), grads.b.clone());
        {
            let mut views = [TensorViewMut::new("w", &[2, 2], &mut gw), TensorViewMut::new("b", &[1], &mut gb)];
            plugin.adjust_gradients(ctx, &self.views(), &mut views).unwrap();
        }
        Params { w: gw, b: gb }
    }

    fn values(&self) -> Vec<f64> {
        self.w.iter().chain(&self.b).map(|&v| f64::from(v)).collect()
    }
}

/// Scripted Fisher of a domain, flattened like [`Params::values`].
fn fisher(host: &Host, domain: &str) -> Vec<f64> {
    host.fisher[domain].iter().flat_map(|t| t.data.iter().map(|&v| f64::from(v))).collect()
}

fn assert_close(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= 1e-5 * e.abs().max(1.0), "{actual:?} vs {expected:?}");
    }
}

#[test]
fn ewc_gradient_edit_equals_lambda_f_times_distance_to_anchor() {
    let host = Arc::new(Host::scripted());
    let mut ewc = load("ewc", json!({"lambda": 2.0}), &host);
    let anchor = Params::new([0.1, -0.2, 0.3, 0.4], 1.0);
    let grads = Params::new([0.5, -0.5, 0.25, 0.0], -1.0);

    // No Fisher yet: the first domain's gradients are untouched and nothing is logged.
    ewc.before_task(&ctx(0, 0)).unwrap();
    assert_eq!(anchor.adjust(&mut ewc, &ctx(0, 0), &grads).values(), grads.values());
    assert!(host.metric("penalty").is_empty());
    ewc.after_task(&ctx(0, 9), &anchor.views()).unwrap();
    assert_eq!(*host.trajectory_queries.lock().unwrap(), [("airline".to_owned(), 32, None)]);
    assert_eq!(*host.fisher_inputs.lock().unwrap(), [5], "every stored airline trajectory");

    ewc.before_task(&ctx(1, 0)).unwrap();
    let theta = Params::new([0.3, -0.2, -0.7, 1.4], 0.5);
    let edited = theta.adjust(&mut ewc, &ctx(1, 0), &grads);
    let (f, t, a, g) = (fisher(&host, "airline"), theta.values(), anchor.values(), grads.values());
    let pull: Vec<f64> = (0..5).map(|i| 2.0 * f[i] * (t[i] - a[i])).collect();
    let expected: Vec<f64> = (0..5).map(|i| g[i] + pull[i]).collect();
    assert_close(&edited.values(), &expected);
    let penalty = 0.5 * 2.0 * (0..5).map(|i| f[i] * (t[i] - a[i]).powi(2)).sum::<f64>();
    assert_close(&host.metric("penalty"), &[penalty]);
    assert_close(&host.metric("penalty_grad_norm"), &[pull.iter().map(|p| p * p).sum::<f64>().sqrt()]);
    assert_close(&host.metric("task_grad_norm"), &[g.iter().map(|v| v * v).sum::<f64>().sqrt()]);

    ewc.after_step(&ctx(1, 0), &json!({"phase": "rl", "loss": -2.0, "reward": 0.5})).unwrap();
    assert_close(&host.metric("penalty_to_loss"), &[penalty / 2.0]);
    theta.adjust(&mut ewc, &ctx(1, 1), &grads);
    ewc.after_step(&ctx(1, 1), &json!({"phase": "rl", "loss": 0.0})).unwrap();
    assert_eq!(host.metric("penalty_to_loss").len(), 1, "no ratio to a zero loss");
}

#[test]
fn ewc_separate_and_online_differ_as_defined() {
    let host = Arc::new(Host::scripted());
    let first = Params::new([0.1, -0.2, 0.3, 0.4], 1.0);
    let second = Params::new([0.2, 0.2, -0.1, 0.0], 0.0);
    let theta = Params::new([0.3, -0.2, -0.7, 1.4], 0.5);
    let grads = Params::new([0.0; 4], 0.0);
    let edit = |config: Value| {
        let mut ewc = load("ewc", config, &host);
        ewc.after_task(&ctx(0, 9), &first.views()).unwrap();
        ewc.after_task(&ctx(1, 9), &second.views()).unwrap();
        theta.adjust(&mut ewc, &ctx(2, 0), &grads).values()
    };
    let (fa, fr) = (fisher(&host, "airline"), fisher(&host, "retail"));
    let (t, a1, a2) = (theta.values(), first.values(), second.values());

    // online: F = γ·F_airline + F_retail, anchored at the end of retail.
    let online = edit(json!({"lambda": 3.0, "gamma": 0.5}));
    assert_close(&online, &(0..5).map(|i| 3.0 * (0.5 * fa[i] + fr[i]) * (t[i] - a2[i])).collect::<Vec<_>>());
    // separate: one term per domain, each with its own anchor.
    let separate = edit(json!({"lambda": 3.0, "mode": "separate"}));
    let expected: Vec<f64> = (0..5).map(|i| 3.0 * (fa[i] * (t[i] - a1[i]) + fr[i] * (t[i] - a2[i]))).collect();
    assert_close(&separate, &expected);
    assert!(online.iter().zip(&separate).any(|(o, s)| (o - s).abs() > 1e-3), "{online:?} vs {separate:?}");
}

#[test]
fn ewc_normalize_scales_each_new_fisher() {
    let host = Arc::new(Host::scripted());
    let anchor = Params::new([0.0; 4], 0.0);
    let theta = Params::new([1.0; 4], 1.0);
    let grads = Params::new([0.0; 4], 0.0);
    let f = fisher(&host, "airline");
    for (normalize, scale) in [("mean", 5.0 / f.iter().sum::<f64>()), ("max", 0.5), ("none", 1.0)] {
        host.clear();
        let mut ewc = load("ewc", json!({"normalize": normalize}), &host);
        ewc.after_task(&ctx(0, 9), &anchor.views()).unwrap();
        let edited = theta.adjust(&mut ewc, &ctx(1, 0), &grads).values();
        assert_close(&edited, &f.iter().map(|v| v * scale).collect::<Vec<_>>());
        assert_close(&host.metric("fisher_scale"), &[scale]);
    }
    assert_close(&host.metric("fisher_mean"), &[f.iter().sum::<f64>() / 5.0]);
}

#[test]
fn ewc_state_round_trips_exactly_and_refuses_garbage() {
    let host = Arc::new(Host::scripted());
    let config = json!({"mode": "separate", "lambda": 0.7});
    let mut ewc = load("ewc", config.clone(), &host);
    ewc.after_task(&ctx(0, 9), &Params::new([0.1, -0.2, 0.3, 0.4], 1.0).views()).unwrap();
    ewc.after_task(&ctx(1, 9), &Params::new([0.2, 0.2, -0.1, 1e-7], 0.0).views()).unwrap();
    let saved = ewc.save_state().unwrap();

    let mut resumed = load("ewc", config.clone(), &host);
    resumed.load_state(&saved).unwrap();
    assert_eq!(resumed.save_state().unwrap(), saved, "saving again gives the same bytes");
    let theta = Params::new([0.3, -0.2, -0.7, 1.4], 0.5);
    let grads = Params::new([0.5, -0.5, 0.25, 0.0], -1.0);
    let a = theta.adjust(&mut ewc, &ctx(2, 0), &grads);
    let b = theta.adjust(&mut resumed, &ctx(2, 0), &grads);
    assert_eq!((a.w, a.b), (b.w, b.b), "identical edits, bit for bit");

    let mut fresh = load("ewc", config, &host);
    let mut truncated = saved.clone();
    truncated.truncate(saved.len() - 7);
    let mut flipped = saved.clone();
    let last = flipped.len() - 9;
    flipped[last] ^= 0x40;
    for (bytes, why) in [
        (b"garbage".to_vec(), "not an ewc state"),
        (Vec::new(), "not an ewc state"),
        (truncated, "checksum"),
        (flipped, "checksum"),
    ] {
        let err = fresh.load_state(&bytes).unwrap_err();
        assert!(matches!(err, PluginHostError::Failed { hook: "load_state", .. }), "{err}");
        assert!(err.to_string().contains(why), "{why}: {err}");
    }
    let err = load("ewc", json!({}), &host).load_state(&saved).unwrap_err().to_string();
    assert!(err.contains("mode `separate`") && err.contains("online"), "{err}");
}

#[test]
fn ewc_without_stored_trajectories_warns_and_skips_the_domain() {
    let host = Arc::new(Host::scripted());
    let mut ewc = load("ewc", json!({}), &host);
    let params = Params::new([0.1, -0.2, 0.3, 0.4], 1.0);
    ewc.after_task(&ctx(2, 9), &params.views()).unwrap();
    assert!(host.fisher_inputs.lock().unwrap().is_empty());
    let logs = host.logs.lock().unwrap().clone();
    assert!(logs.iter().any(|(level, m)| *level == LogLevel::Warn && m.contains("telecom")), "{logs:?}");
    let grads = Params::new([0.5, -0.5, 0.25, 0.0], -1.0);
    let theta = Params::new([9.0; 4], 9.0);
    assert_eq!(theta.adjust(&mut ewc, &ctx(2, 0), &grads).values(), grads.values());
}

#[test]
fn ewc_names_the_parameter_that_does_not_match() {
    let host = Arc::new(Host::scripted());
    let mut ewc = load("ewc", json!({}), &host);
    let anchor = Params::new([0.1, -0.2, 0.3, 0.4], 1.0);
    ewc.after_task(&ctx(0, 9), &anchor.views()).unwrap();

    let (w, b, mut gw, mut gb) = (anchor.w.clone(), anchor.b.clone(), vec![0.25f32; 4], vec![0.25f32]);
    let reshaped = [TensorView::new("w", &[4], &w), TensorView::new("b", &[1], &b)];
    {
        let mut grads = [TensorViewMut::new("w", &[4], &mut gw), TensorViewMut::new("b", &[1], &mut gb)];
        let err = ewc.adjust_gradients(&ctx(1, 0), &reshaped, &mut grads).unwrap_err();
        assert!(matches!(err, PluginHostError::Failed { hook: "adjust_gradients", .. }), "{err}");
        assert!(err.to_string().contains("`w`") && err.to_string().contains("shape"), "{err}");
    }
    assert_eq!((gw, gb), (vec![0.25; 4], vec![0.25]), "a refused edit leaves the gradients alone");

    let mut gw = vec![0.0f32; 4];
    let only_w = &anchor.views()[..1];
    let err = ewc.adjust_gradients(&ctx(1, 0), only_w, &mut [TensorViewMut::new("w", &[2, 2], &mut gw)]).unwrap_err();
    assert!(err.to_string().contains("`b`"), "{err}");

    // A parameter the host's Fisher does not cover.
    let extra = vec![1.0f32];
    let mut params = anchor.views().to_vec();
    params.push(TensorView::new("c", &[1], &extra));
    let err = ewc.after_task(&ctx(1, 9), &params).unwrap_err();
    assert!(matches!(err, PluginHostError::Failed { hook: "after_task", .. }), "{err}");
    assert!(err.to_string().contains("`c`"), "{err}");
}

// ---------------------------------------------------------------------------------------------------------------
// kl_previous

#[test]
fn kl_previous_snapshots_once_per_domain_even_across_a_resume() {
    let host = Arc::new(Host::scripted());
    let config = json!({"coef": 0.2, "snapshot": "end_of_previous"});
    let mut kl = load("kl_previous", config.clone(), &host);
    let term = vec![LossTerm::KlToSnapshot { snapshot: "end_of_previous".into(), coef: 0.2 }];

    kl.before_task(&ctx(0, 0)).unwrap();
    assert!(host.snapshots.lock().unwrap().is_empty(), "nothing to anchor before the first domain");
    assert!(kl.loss_terms(&ctx(0, 0), &[]).unwrap().is_empty());

    kl.before_task(&ctx(1, 0)).unwrap();
    assert_eq!(*host.snapshots.lock().unwrap(), ["end_of_previous"]);
    assert_eq!(kl.loss_terms(&ctx(1, 0), &[]).unwrap(), term);
    kl.before_task(&ctx(1, 0)).unwrap();
    assert_eq!(host.snapshots.lock().unwrap().len(), 1, "before_task again is idempotent");

    // A mid-domain resume: load the state, call before_task for the same domain — no new snapshot.
    let saved = kl.save_state().unwrap();
    let mut resumed = load("kl_previous", config, &host);
    resumed.load_state(&saved).unwrap();
    resumed.before_task(&ctx(1, 0)).unwrap();
    assert_eq!(host.snapshots.lock().unwrap().len(), 1);
    assert_eq!(resumed.loss_terms(&ctx(1, 3), &[]).unwrap(), term);

    resumed.before_task(&ctx(2, 0)).unwrap();
    assert_eq!(*host.snapshots.lock().unwrap(), ["end_of_previous", "end_of_previous"]);
    assert_eq!(resumed.loss_terms(&ctx(2, 0), &[]).unwrap(), term);

    let err = resumed.load_state(b"\x00\x01").unwrap_err();
    assert!(matches!(err, PluginHostError::Failed { hook: "load_state", .. }) && err.to_string().contains("state"));
}

// ---------------------------------------------------------------------------------------------------------------
// layer_freeze (the example user plugin)

#[test]
fn layer_freeze_zeroes_only_matching_gradients() {
    let names = [
        "model.embed_tokens.weight",
        "model.layers.0.mlp.up_proj.weight",
        "model.layers.1.mlp.up_proj.weight",
        "model.layers.10.self_attn.q_proj.weight",
        "lm_head.weight",
    ];
    let sizes = [2usize, 3, 2, 2, 1];
    let run = |plugin: &mut StrategyPlugin, index: usize| -> Vec<Vec<f32>> {
        let shapes: Vec<[u64; 1]> = sizes.iter().map(|&n| [n as u64]).collect();
        let values: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![1.0; n]).collect();
        let mut grads: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![0.5; n]).collect();
        let params: Vec<TensorView<'_>> =
            names.iter().zip(&shapes).zip(&values).map(|((n, s), v)| TensorView::new(n, s, v)).collect();
        let mut views: Vec<TensorViewMut<'_>> =
            names.iter().zip(&shapes).zip(grads.iter_mut()).map(|((n, s), g)| TensorViewMut::new(n, s, g)).collect();
        plugin.adjust_gradients(&ctx(index, 0), &params, &mut views).unwrap();
        drop(views);
        grads
    };
    let host = Arc::new(Host::scripted());
    let mut freeze = load("layer_freeze", json!({}), &host);
    assert!(run(&mut freeze, 0).iter().flatten().all(|&g| g == 0.5), "domain 0 trains everything");
    assert!(host.metric("frozen_parameters").is_empty());
    let grads = run(&mut freeze, 1);
    assert_eq!(grads, [vec![0.0; 2], vec![0.0; 3], vec![0.5; 2], vec![0.5; 2], vec![0.5; 1]]);
    assert_eq!(host.metric("frozen_parameters"), [5.0]);

    let mut head = load("layer_freeze", json!({"from_domain": 2, "prefixes": ["lm_head"]}), &host);
    assert!(run(&mut head, 1).iter().flatten().all(|&g| g == 0.5));
    assert_eq!(run(&mut head, 2)[4], [0.0]);
}

// ---------------------------------------------------------------------------------------------------------------
// configuration and inspection

#[test]
fn invalid_configs_are_refused_naming_the_key() {
    let host = Arc::new(Host::scripted());
    for (plugin, config, key) in [
        ("replay", json!({"ratio": 1.5}), "`ratio`"),
        ("replay", json!({"ratio": -0.1}), "`ratio`"),
        ("replay", json!({"ratios": 0.2}), "`ratios`"),
        ("replay", json!({"mode": "sometimes"}), "`sometimes`"),
        ("replay", json!({"floor": 2.0}), "`floor`"),
        ("replay", json!({"candidates": 0}), "`candidates`"),
        ("replay", json!({"reservoir_size": 0}), "`reservoir_size`"),
        ("replay", json!({"sft_weight": -1.0}), "`sft_weight`"),
        ("ewc", json!({"lambda": -1.0}), "`lambda`"),
        ("ewc", json!({"gamma": 0.0}), "`gamma`"),
        ("ewc", json!({"gamma": 1.5}), "`gamma`"),
        ("ewc", json!({"fisher_samples": 0}), "`fisher_samples`"),
        ("ewc", json!({"normalize": "l2"}), "`l2`"),
        ("ewc", json!({"decay": 0.5}), "`decay`"),
        ("kl_previous", json!({"coef": -0.1}), "`coef`"),
        ("kl_previous", json!({"snapshot": "end of task"}), "`snapshot`"),
        ("layer_freeze", json!({"prefixes": []}), "`prefixes`"),
        ("layer_freeze", json!({"prefixes": ["model.", ""]}), "`prefixes`"),
        ("layer_freeze", json!({"layers": [0]}), "`layers`"),
    ] {
        let err = StrategyPlugin::load(&spec(plugin, config.clone()), host.clone(), 0).unwrap_err();
        assert!(matches!(err, PluginHostError::InvalidConfig { .. }), "{plugin} {config}: {err}");
        let text = err.to_string();
        assert!(text.starts_with(&format!("plugin `{plugin}`")) && text.contains(key), "{plugin} {config}: {text}");
    }
}

#[test]
fn inspect_lists_each_strategy_with_its_schema() {
    for (library, name, package, keys) in [
        (
            libraries().builtin("replay"),
            "replay",
            "retain-plugin-replay",
            &[
                "ratio",
                "mode",
                "selection",
                "reservoir_size",
                "priority",
                "candidates",
                "floor",
                "sft_weight",
                "sft_trajectories",
                "sft_min_reward",
            ][..],
        ),
        (
            libraries().builtin("ewc"),
            "ewc",
            "retain-plugin-ewc",
            &["lambda", "mode", "gamma", "fisher_samples", "normalize"][..],
        ),
        (libraries().builtin("kl_previous"), "kl_previous", "retain-plugin-kl-previous", &["coef", "snapshot"][..]),
        (libraries().lib(EXAMPLE_LIB), "layer_freeze", "retain-example-layer-freeze", &["from_domain", "prefixes"][..]),
    ] {
        let report = inspect(&library).unwrap();
        assert_eq!(report.name, package);
        assert_eq!(report.abi_version, report.host_abi_version);
        assert_eq!(report.exports.len(), 1);
        let export = &report.exports[0];
        assert_eq!((export.kind, export.name.as_str()), ("strategy", name));
        assert!(!export.description.is_empty());
        let properties = export.config_schema["properties"].as_object().unwrap();
        let listed: Vec<&str> = properties.keys().map(String::as_str).collect();
        assert_eq!(listed, keys, "{name}");
        for (key, property) in properties {
            assert!(property.get("default").is_some(), "{name}.{key} has no default");
            assert!(property["description"].as_str().is_some_and(|d| !d.is_empty()), "{name}.{key}: no description");
            assert!(property.get("type").is_some() || property.get("enum").is_some(), "{name}.{key} has no type");
        }
        assert_eq!(export.config_schema["additionalProperties"], false);
    }
}
