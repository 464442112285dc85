//! The run directory: RUN_FORMAT files and checkpoints, determinism for a fixed seed, and clear refusals.

use retain_config::Domain;
use retain_trainer::{Silent, run};

use super::common::small_config;

fn metrics_without_timings(dir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let obj = v.as_object_mut().unwrap();
            for key in ["wall_time_s", "step_time", "rollout_time", "tokens_per_second", "peak_rss_bytes"] {
                obj.remove(key);
            }
            v
        })
        .collect()
}

#[test]
fn a_run_is_reproducible_and_leaves_a_reportable_directory_with_checkpoints() {
    let out = tempfile::tempdir().unwrap();
    let mut config = small_config(out.path(), "a", &[Domain::Retail, Domain::Telecom]);
    config.trainer.warm_start_steps = 2;
    let first = run(&config, &mut Silent).unwrap();
    config.run.name = "b".to_owned();
    let second = run(&config, &mut Silent).unwrap();
    assert_eq!(first.matrix, second.matrix);
    assert_eq!(first.matrix.rows.len(), 3, "row 0 and one row per domain");
    assert_eq!(metrics_without_timings(&first.dir), metrics_without_timings(&second.dir));
    for i in 0..2 {
        let weights = |dir: &std::path::Path| {
            std::fs::read(dir.join(format!("checkpoint_task_{i}/model/model.safetensors"))).unwrap()
        };
        assert_eq!(weights(&first.dir), weights(&second.dir), "checkpoint_task_{i} weights differ");
        let checkpoint =
            retain_checkpoint::Checkpoint::open_verified(&first.dir.join(format!("checkpoint_task_{i}"))).unwrap();
        assert_eq!(checkpoint.manifest().plugins.len(), 2);
    }
    // The analysis reads what the trainer wrote (and the checkpoint on its own).
    let report = retain_analysis::run::Run::load(&first.dir).unwrap();
    assert!(report.matrix.before.is_some());
    assert_eq!(report.matrix.after.len(), 2);
    retain_analysis::run::Run::load(&first.dir.join("checkpoint_task_1")).unwrap();
}

#[test]
fn an_occupied_run_directory_and_an_unsupported_strategy_are_refused() {
    let out = tempfile::tempdir().unwrap();
    let config = small_config(out.path(), "taken", &[Domain::Telecom]);
    std::fs::create_dir_all(out.path().join("taken")).unwrap();
    std::fs::write(out.path().join("taken/metrics.jsonl"), "keep me\n").unwrap();
    let err = run(&config, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("already holds a run") && err.contains("--overwrite"), "{err}");
    assert_eq!(std::fs::read_to_string(out.path().join("taken/metrics.jsonl")).unwrap(), "keep me\n");

    let mut config = small_config(out.path(), "fresh", &[Domain::Telecom]);
    config.plugins.strategies[0].name = "ewc".to_owned();
    let err = run(&config, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("`ewc`") && err.contains("sequential"), "{err}");
}
