//! The run directory: RUN_FORMAT files and checkpoints, determinism for a fixed seed, and clear refusals.

use retain_config::{Curriculum, Domain};
use retain_trainer::eval_checkpoint::{EvalRequest, evaluate_checkpoint};
use retain_trainer::{Silent, run};

use super::common::small_config;

/// `metrics.jsonl` with the wall-clock fields removed (everything else must be reproducible).
pub fn metrics_without_timings(dir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let obj = v.as_object_mut().unwrap();
            // Timings, and sizes that depend on the wall-clock timestamps the trajectory records carry.
            for key in
                ["wall_time_s", "step_time", "rollout_time", "tokens_per_second", "peak_rss_bytes", "buffer_bytes"]
            {
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

    // `retain eval` of the run directory (its latest checkpoint) reproduces the last matrix row exactly.
    // Every episode it plays is handed over with its trial number (greedy: one played episode per task).
    let mut episodes = Vec::new();
    let evaluated = evaluate_checkpoint(&first.dir, &EvalRequest::default(), &mut |rollout, trial| {
        episodes.push((rollout.domain, rollout.task.id.clone(), trial, rollout.success()));
        Ok(())
    })
    .unwrap();
    assert!(evaluated.checkpoint.ends_with("checkpoint_task_1"));
    assert_eq!(evaluated.cells, first.matrix.rows[2].cells);
    for (domain, cell) in [(Domain::Retail, &evaluated.cells["retail"]), (Domain::Telecom, &evaluated.cells["telecom"])]
    {
        let played: Vec<_> = episodes.iter().filter(|e| e.0 == domain).collect();
        let per_task = cell.per_task.as_ref().unwrap();
        assert_eq!(played.len(), per_task.len(), "{domain:?}: one greedy episode per test task");
        for (_, task, trial, success) in played {
            assert_eq!(*trial, 0);
            assert_eq!(per_task[task][0] > 0.5, *success, "{task}");
        }
    }
    // A checkpoint is self-contained: moved elsewhere, it still evaluates (and reports) on its own.
    let moved = out.path().join("elsewhere/checkpoint_task_1");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(first.dir.join("checkpoint_task_1"), &moved).unwrap();
    assert_eq!(
        evaluate_checkpoint(&moved, &EvalRequest::default(), &mut |_, _| Ok(())).unwrap().cells,
        first.matrix.rows[2].cells
    );
    retain_analysis::run::Run::load(&moved).unwrap();
    std::fs::rename(&moved, first.dir.join("checkpoint_task_1")).unwrap();
    let request = EvalRequest { domains: Some(vec![Domain::Airline]), trials: None };
    let err = evaluate_checkpoint(&first.dir, &request, &mut |_, _| Ok(())).unwrap_err().to_string();
    assert!(err.contains("`airline` was not part of this run"), "{err}");
}

#[test]
fn a_cumulative_curriculum_trains_each_stage_on_every_domain_so_far() {
    let out = tempfile::tempdir().unwrap();
    let mut config = small_config(out.path(), "joint", &[Domain::Retail, Domain::Telecom]);
    config.sequence.curriculum = Curriculum::Cumulative;
    config.trainer.batch_size = 4;
    config.sequence.num_steps_per_task = 2;
    let summary = run(&config, &mut Silent).unwrap();
    let steps: Vec<serde_json::Value> =
        metrics_without_timings(&summary.dir).into_iter().filter(|l| l["phase"] == "rl").collect();
    assert_eq!(steps.len(), 4);
    for line in &steps[..2] {
        assert_eq!(line["domain"], "retail");
        assert_eq!(line["batch/retail"], 8);
        assert!(line.get("batch/telecom").is_none());
    }
    let mixed = steps[2..].iter().any(|l| l.get("batch/retail").is_some() && l.get("batch/telecom").is_some());
    assert!(mixed, "stage 2 never mixed retail and telecom: {steps:?}");
}

#[test]
fn an_occupied_run_directory_and_a_missing_strategy_are_refused() {
    let out = tempfile::tempdir().unwrap();
    let config = small_config(out.path(), "taken", &[Domain::Telecom]);
    std::fs::create_dir_all(out.path().join("taken")).unwrap();
    std::fs::write(out.path().join("taken/metrics.jsonl"), "keep me\n").unwrap();
    let err = run(&config, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("already holds a run") && err.contains("--overwrite"), "{err}");
    assert_eq!(std::fs::read_to_string(out.path().join("taken/metrics.jsonl")).unwrap(), "keep me\n");

    let mut config = small_config(out.path(), "fresh", &[Domain::Telecom]);
    config.plugins.strategies[0].name = "no_such_strategy".to_owned();
    config.plugins.strategies[0].path = None;
    let err = run(&config, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("no_such_strategy"), "{err}");
    assert!(!out.path().join("fresh").exists(), "a refused run must not leave a run directory");
}
