//! Exact resume: continuing from any checkpoint — mid warm start, mid RL, after a domain — gives bit-identical
//! weights, metrics and matrix to the uninterrupted run; damaged checkpoints are refused or skipped with
//! `--fallback`; `--resume auto` refuses another configuration; `--init-from` records its origin.

use std::path::Path;

use retain_config::{Config, Domain};
use retain_trainer::{RunOptions, Silent, resume, run, run_or_resume, run_with};

use super::common::small_config;
use super::run_dir::metrics_without_timings;

/// Copies a directory tree (a checkpoint into a fresh run directory).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn weights(run: &Path) -> Vec<u8> {
    std::fs::read(run.join("checkpoint_task_1/model/model.safetensors")).unwrap()
}

/// Every record of a run's trajectory buffers, without the wall-clock timestamps.
fn buffered(run: &Path) -> Vec<retain_buffers::Record> {
    let mut out = Vec::new();
    for domain in ["retail", "telecom"] {
        let mut reader = retain_buffers::BufferReader::open(run.join(format!("trajectories/{domain}.zst"))).unwrap();
        for stored in reader.iter() {
            let mut record = stored.unwrap().record;
            record.timestamp_unix_ms = 0;
            out.push(record);
        }
    }
    out
}

/// Two domains with warm start (telecom's longer, by its per-domain entry) and RL, a checkpoint after every step.
pub fn config(out: &Path) -> Config {
    let mut config = small_config(out, "full", &[Domain::Retail, Domain::Telecom]);
    config.trainer.warm_start_steps = 2;
    config.trainer.warm_start_steps_by_domain.insert(Domain::Telecom, 3);
    config.sequence.num_steps_per_task = 2;
    config.sequence.save_interval = 1;
    config.sequence.keep_last_checkpoints = 8;
    config
}

#[test]
fn resuming_from_any_checkpoint_reproduces_the_uninterrupted_run() {
    let out = tempfile::tempdir().unwrap();
    let full = run(&config(out.path()), &mut Silent).unwrap();
    // Each domain takes its own number of warm-start steps.
    let warm: Vec<String> = metrics_without_timings(&full.dir)
        .into_iter()
        .filter(|l| l["phase"] == "warm_start")
        .map(|l| l["domain"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(warm, ["retail", "retail", "telecom", "telecom", "telecom"]);
    // Mid warm start, mid RL (telecom's first RL step comes after its third warm-start step), after a domain.
    for name in
        ["checkpoint_task_1_step_1", "checkpoint_task_0_step_3", "checkpoint_task_1_step_4", "checkpoint_task_0"]
    {
        let branch = out.path().join(format!("from-{name}"));
        copy_dir(&full.dir.join(name), &branch.join(name));
        let resumed = resume(&branch.join(name), false, &mut Silent).unwrap();
        assert_eq!(resumed.matrix, full.matrix, "{name}");
        assert_eq!(resumed.global_steps, full.global_steps, "{name}");
        assert_eq!(metrics_without_timings(&branch), metrics_without_timings(&full.dir), "{name}");
        assert!(weights(&branch) == weights(&full.dir), "{name}: final weights differ");
        assert_eq!(buffered(&branch), buffered(&full.dir), "{name}: trajectory buffers differ");
    }
    // Every RL rollout is in its domain's buffer: 2 steps × 2 tasks × 2 samples per domain.
    assert_eq!(buffered(&full.dir).len(), 16);
}

#[test]
fn damaged_checkpoints_are_refused_or_skipped_with_fallback() {
    let out = tempfile::tempdir().unwrap();
    let full = run(&config(out.path()), &mut Silent).unwrap();
    let damaged = out.path().join("damaged");
    copy_dir(&full.dir, &damaged);
    let file = damaged.join("checkpoint_task_1/model/model.safetensors");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&file, bytes).unwrap();
    let err = resume(&damaged, false, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    // --fallback resumes from the newest valid checkpoint (checkpoint_task_1_step_4) and finishes the run the same.
    let resumed = resume(&damaged, true, &mut Silent).unwrap();
    assert!(damaged.join("checkpoint_task_1.damaged").is_dir());
    assert_eq!(resumed.matrix, full.matrix);
    assert!(weights(&damaged) == weights(&full.dir));
}

#[test]
fn resume_auto_refuses_another_config_and_init_from_records_its_origin() {
    let out = tempfile::tempdir().unwrap();
    let base = config(out.path());
    let full = run(&base, &mut Silent).unwrap();
    let mut changed = base.clone();
    changed.trainer.learning_rate = 0.5;
    let err = run_or_resume(&changed, &RunOptions::default(), &mut Silent).unwrap_err().to_string();
    assert!(err.to_lowercase().contains("config"), "{err}");

    let mut branch = small_config(out.path(), "branch", &[Domain::Telecom]);
    branch.trainer.warm_start_steps = 1;
    let origin = full.dir.join("checkpoint_task_0");
    let options = RunOptions { init_from: Some(origin.clone()) };
    let summary = run_with(&branch, &options, &mut Silent).unwrap();
    let checkpoint = retain_checkpoint::Checkpoint::open_verified(&summary.dir.join("checkpoint_task_0")).unwrap();
    let recorded = checkpoint.manifest().init_from.as_ref().unwrap();
    assert!(recorded.path.ends_with("checkpoint_task_0"), "{recorded:?}");
}
