//! Continual-learning strategies in real runs: the built-in `replay`, `ewc` and `kl_previous` libraries and the
//! user-style `examples/custom_plugin` (`layer_freeze`) act on the training batches, gradients and loss, keep
//! their state in checkpoints, and a run resumed from any checkpoint reproduces the uninterrupted one. The host
//! services refuse what plugins must not see.

use std::path::Path;

use retain_config::Config;
use retain_plugin_host::HostServices;
use retain_trainer::host::{DomainTasks, Phase, TrainerServices};
use retain_trainer::{Silent, resume, run};
use serde_json::{Value, json};

use super::common::builtin_with;
use super::resume::{self, copy_dir};
use super::run_dir::metrics_without_timings;

/// The resume tests' two-domain run, with every built-in strategy and the example plugin.
fn config(out: &Path) -> Config {
    let mut config = resume::config(out);
    config.run.name = "cl".to_owned();
    config.plugins.strategies = vec![
        builtin_with("replay", json!({"ratio": 0.5})),
        builtin_with("ewc", json!({"lambda": 1000.0, "fisher_samples": 4})),
        builtin_with("kl_previous", json!({"coef": 0.1})),
        builtin_with("layer_freeze", json!({"from_domain": 1, "prefixes": ["model.layers.0."]})),
    ];
    config
}

fn train_steps(metrics: &[Value], domain: &str) -> Vec<Value> {
    metrics.iter().filter(|m| m["event"] == "train_step" && m["domain"] == domain).cloned().collect()
}

#[test]
fn strategies_shape_training_keep_their_state_and_resume_exactly() {
    let out = tempfile::tempdir().unwrap();
    let full = run(&config(out.path()), &mut Silent).unwrap();
    let metrics = metrics_without_timings(&full.dir);

    // The first domain has nothing to replay, regularise towards or stay close to.
    for line in train_steps(&metrics, "retail") {
        assert!(line.get("batch/telecom").is_none() && line.get("ewc/penalty").is_none(), "{line}");
        assert!(line.get("strategy/snapshot_kl").is_none(), "{line}");
        assert!(line.get("layer_freeze/frozen_parameters").is_none(), "{line}");
    }
    // In the second, every step replays retail tasks (half the batch), carries the KL term to the snapshot taken
    // at the domain's start, and the EWC penalty grows once the weights leave the retail optimum.
    let second = train_steps(&metrics, "telecom");
    assert_eq!(second.len(), 5, "telecom's 3 warm-start steps and 2 RL steps");
    for line in &second {
        assert!(line["batch/retail"].as_u64().unwrap() >= 1, "{line}");
        assert!(line["batch/telecom"].as_u64().unwrap() >= 1, "{line}");
        assert!(line["strategy/snapshot_kl"].as_f64().unwrap() >= 0.0, "{line}");
        assert!(line["ewc/penalty"].as_f64().is_some(), "{line}");
        assert!(line["layer_freeze/frozen_parameters"].as_f64().unwrap() > 0.0, "{line}");
    }
    assert!(second.last().unwrap()["ewc/penalty"].as_f64().unwrap() > 0.0);

    // The strategies' states and the snapshot are in the checkpoints, and counted as extra memory.
    let last = full.dir.join("checkpoint_task_1");
    assert!(last.join("plugins/ewc/state.bin").is_file());
    assert!(last.join("snapshots/kl_previous/previous.safetensors").is_file());
    let end = metrics.iter().find(|m| m["event"] == "run_end").unwrap();
    assert!(end["extra_memory_bytes"].as_u64().unwrap() > 0, "{end}");

    // Mid second domain (snapshot, Fisher and replay statistics restored) and at the domain boundary.
    for name in ["checkpoint_task_1_step_3", "checkpoint_task_0"] {
        let branch = out.path().join(format!("from-{name}"));
        copy_dir(&full.dir.join(name), &branch.join(name));
        let resumed = resume(&branch.join(name), false, &mut Silent).unwrap();
        assert_eq!(resumed.matrix, full.matrix, "{name}");
        assert_eq!(metrics_without_timings(&branch), metrics, "{name}");
        let weights = |run: &Path| std::fs::read(run.join("checkpoint_task_1/model/model.safetensors")).unwrap();
        assert!(weights(&branch) == weights(&full.dir), "{name}: final weights differ");
    }
}

#[test]
fn a_strategy_is_refused_at_load_when_its_config_is_invalid() {
    let out = tempfile::tempdir().unwrap();
    let mut config = config(out.path());
    config.plugins.strategies = vec![builtin_with("replay", json!({"ratio": 1.5}))];
    let err = run(&config, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("replay") && err.contains("ratio"), "{err}");
    assert!(!out.path().join("cl").exists(), "a refused run must not leave a run directory");
}

#[test]
fn host_services_serve_only_training_tasks_of_domains_already_reached() {
    let dir = tempfile::tempdir().unwrap();
    let services = TrainerServices::new(dir.path(), 3);
    let tasks = |domain: &str| DomainTasks {
        domain: domain.to_owned(),
        tasks: (0..5).map(|i| json!({"id": format!("{domain}_{i}")})).collect(),
    };
    services.set_tasks(vec![tasks("airline"), tasks("retail")]);
    services.begin(0, 1, Phase::Step);
    let sampled = services.sample_tasks("replay", &json!({"domain": "airline", "count": 3, "split": "train"})).unwrap();
    let ids: Vec<&str> = sampled.as_array().unwrap().iter().map(|i| i["task"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|id| id.starts_with("airline_")));
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "tasks are drawn without replacement");
    // The same request at the same step gets the same answer (resume determinism), whatever other plugins asked
    // before; another hook at the same step draws other numbers.
    services.begin(0, 1, Phase::Step);
    services.sample_tasks("other", &json!({"domain": "airline", "count": 3})).unwrap();
    assert_eq!(services.sample_tasks("replay", &json!({"domain": "airline", "count": 3})).unwrap(), sampled);
    services.begin(0, 1, Phase::Evaluation);
    assert_ne!(services.sample_tasks("replay", &json!({"domain": "airline", "count": 3})).unwrap(), sampled);

    let future = services.sample_tasks("replay", &json!({"domain": "retail", "count": 1})).unwrap_err();
    assert!(future.contains("not reached"), "{future}");
    let test = services.sample_tasks("replay", &json!({"domain": "airline", "count": 1, "split": "test"})).unwrap_err();
    assert!(test.contains("training tasks"), "{test}");
    let unknown = services.sample_tasks("replay", &json!({"domain": "telecom", "count": 1})).unwrap_err();
    assert!(unknown.contains("not in this run"), "{unknown}");
    // Nothing was played yet: no trajectories, and no policy to take a Fisher of.
    let none = services.sample_trajectories("ewc", &json!({"domain": "airline", "count": 4})).unwrap();
    assert_eq!(none, json!([]));
    assert!(services.fisher_diagonal("ewc", &json!([])).unwrap_err().contains("no policy"));
    services.log_metric("ewc", "penalty", 2.5);
    assert_eq!(services.take_metrics(), vec![("ewc/penalty".to_owned(), 2.5)]);
    assert!(services.take_metrics().is_empty());
}
