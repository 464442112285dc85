//! Host services, plugin state, random streams and call order, through the stateful `counter` test plugin.

use super::build::libraries;
use retain_config::PluginSpec;
use retain_plugin_api::contract::{BatchItem, LossTerm};
use retain_plugin_api::{Context, OwnedTensor, TensorView, TensorViewMut};
use retain_plugin_host::{HostServices, PluginSet, StrategyPlugin, call_order};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Records what plugins ask of the host.
#[derive(Default)]
pub struct Recorder {
    pub metrics: Mutex<Vec<(String, String, f64)>>,
    pub snapshots: Mutex<Vec<String>>,
}

impl HostServices for Recorder {
    fn sample_tasks(&self, _plugin: &str, query: &Value) -> Result<Value, String> {
        let domain = query["domain"].as_str().ok_or("no domain")?;
        let n = query["count"].as_u64().ok_or("no count")?;
        Ok(Value::Array((0..n).map(|i| json!({"domain": domain, "task": {"id": format!("old_{i}")}})).collect()))
    }

    fn fisher_diagonal(&self, _plugin: &str, trajectories: &Value) -> Result<Vec<OwnedTensor>, String> {
        let n = trajectories.as_array().map_or(0, Vec::len) as f32;
        Ok(vec![OwnedTensor { name: "w".into(), shape: vec![2].into(), data: vec![n, 2.0 * n].into() }])
    }

    fn snapshot_policy(&self, _plugin: &str, name: &str) -> Result<(), String> {
        self.snapshots.lock().unwrap().push(name.to_owned());
        Ok(())
    }

    fn log_metric(&self, plugin: &str, name: &str, value: f64) {
        self.metrics.lock().unwrap().push((plugin.to_owned(), name.to_owned(), value));
    }
}

impl Recorder {
    fn metric(&self, name: &str) -> Vec<f64> {
        self.metrics.lock().unwrap().iter().filter(|(_, n, _)| n == name).map(|(_, _, v)| *v).collect()
    }
}

pub fn spec(name: &str, library: &str, config: Value) -> PluginSpec {
    PluginSpec { name: name.to_owned(), path: Some(libraries().lib(library)), priority: 0, weight: 1.0, config }
}

fn ctx(domain: &str) -> Context<'_> {
    Context { domain, domain_index: 1, num_domains: 3, step: 4, global_step: 40 }
}

#[test]
fn every_hook_and_service_crosses_the_boundary() {
    let recorder = Arc::new(Recorder::default());
    let mut counter =
        StrategyPlugin::load(&spec("counter", "misbehaving", json!({"scale": 2.0})), recorder.clone(), 7).unwrap();
    counter.before_task(&ctx("retail")).unwrap();

    let batch = vec![BatchItem { domain: "retail".to_owned(), task: json!({"id": "new_0"}) }];
    let out = counter.augment_batch(&ctx("retail"), &batch).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1], BatchItem { domain: "airline".to_owned(), task: json!({"id": "old_0"}) });

    let (w, b) = (vec![1.0f32, 2.0, 3.0], vec![0.5f32]);
    let params = [TensorView::new("w", &[3], &w), TensorView::new("b", &[1], &b)];
    let terms = counter.loss_terms(&ctx("retail"), &params).unwrap();
    assert_eq!(terms, vec![LossTerm::KlToSnapshot { snapshot: "previous".to_owned(), coef: 0.1 }]);
    assert_eq!(*recorder.snapshots.lock().unwrap(), ["previous"]);

    let (mut gw, mut gb) = (vec![10.0f32, 20.0, 30.0], vec![1.0f32]);
    {
        let mut grads = [TensorViewMut::new("w", &[3], &mut gw), TensorViewMut::new("b", &[1], &mut gb)];
        counter.adjust_gradients(&ctx("retail"), &params, &mut grads).unwrap();
    }
    assert_eq!(gw, [21.0, 42.0, 63.0]);
    assert_eq!(gb, [2.5]);

    counter.after_step(&ctx("retail"), &json!({"increment": 3})).unwrap();
    counter.after_evaluation(&ctx("retail"), &json!({"per_domain": {"airline": 0.5}})).unwrap();
    counter.after_task(&ctx("retail"), &params).unwrap();
    assert_eq!(recorder.metric("steps"), [3.0]);
    assert_eq!(recorder.metric("fisher_sum"), [3.0]);
    assert_eq!(recorder.metric("params"), [2.0]);
    assert!(recorder.metrics.lock().unwrap().iter().all(|(plugin, _, _)| plugin == "counter"));
}

#[test]
fn state_bytes_round_trip_into_a_fresh_instance() {
    let recorder = Arc::new(Recorder::default());
    let mut first = StrategyPlugin::load(&spec("counter", "misbehaving", json!({})), recorder.clone(), 1).unwrap();
    first.before_task(&ctx("airline")).unwrap();
    first.after_step(&ctx("airline"), &json!({"increment": 5})).unwrap();
    let saved = first.save_state().unwrap();
    assert!(!saved.is_empty());

    let mut second = StrategyPlugin::load(&spec("counter", "misbehaving", json!({})), recorder.clone(), 1).unwrap();
    second.load_state(&saved).unwrap();
    assert_eq!(second.save_state().unwrap(), saved);
    second.after_step(&ctx("airline"), &json!({"increment": 1})).unwrap();
    assert_eq!(recorder.metric("steps"), [5.0, 6.0], "the restored counter continues from 5");

    let err = second.load_state(b"not json").unwrap_err().to_string();
    assert!(err.contains("plugin `counter` failed in `load_state`") && err.contains("not a counter state"), "{err}");
}

#[test]
fn random_streams_are_seeded_per_plugin_and_restorable() {
    let draw = |seed: u64| {
        let recorder = Arc::new(Recorder::default());
        let mut c = StrategyPlugin::load(&spec("counter", "misbehaving", json!({})), recorder.clone(), seed).unwrap();
        c.before_task(&ctx("airline")).unwrap();
        let state = c.rng_state();
        c.before_task(&ctx("airline")).unwrap();
        c.set_rng_state(state);
        c.before_task(&ctx("airline")).unwrap();
        recorder.metric("random")
    };
    let a = draw(42);
    assert_eq!(a, draw(42), "same seed, same stream");
    assert_ne!(a, draw(43), "another seed, another stream");
    assert_eq!(a[1], a[2], "restoring the RNG state replays the stream");
    assert_ne!(a[0], a[1]);
}

#[test]
fn plugins_run_in_priority_then_name_order() {
    let mut specs = vec![
        spec("counter", "misbehaving", json!({})),
        spec("erroring", "misbehaving", json!({})),
        spec("panicky", "misbehaving", json!({})),
    ];
    specs[0].priority = 5;
    let order: Vec<String> = call_order(&specs).into_iter().map(|s| s.name).collect();
    assert_eq!(order, ["erroring", "panicky", "counter"]);

    let config = retain_config::PluginsConfig {
        strategies: specs,
        rewards: vec![spec("strict", "misbehaving", json!({"threshold": 0.5}))],
    };
    let set = PluginSet::load(&config, Arc::new(Recorder::default()), 0).unwrap();
    let records: Vec<(&str, String)> = set.records().into_iter().map(|r| (r.kind, r.name)).collect();
    assert_eq!(
        records,
        [
            ("strategy", "erroring".into()),
            ("strategy", "panicky".into()),
            ("strategy", "counter".into()),
            ("reward", "strict".into())
        ]
    );
    assert!(
        set.records().iter().all(|r| r.library == "misbehaving" && r.version == "0.3.0" && r.abi_version == "1.0.0")
    );
}
