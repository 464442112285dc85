//! Keep-last-K and `--fallback`.

use super::fixture::Fixture;
use retain_checkpoint::{CheckpointError, CheckpointName, Durability, find_latest_valid};

fn mid(task: usize, step: u64) -> CheckpointName {
    CheckpointName::mid_domain(task, step)
}

#[test]
fn keep_last_k_prunes_only_old_mid_domain_checkpoints() {
    let fx = Fixture::new();
    for step in [10, 20] {
        assert!(fx.write(mid(0, step), Some(2)).pruned.is_empty());
    }
    assert_eq!(fx.write(mid(0, 30), Some(2)).pruned, [mid(0, 10)]);
    assert!(fx.write(CheckpointName::domain_end(0), Some(2)).pruned.is_empty());
    assert!(fx.write(mid(1, 5), Some(2)).pruned == [mid(0, 20)]);
    assert_eq!(fx.write(mid(1, 10), Some(2)).pruned, [mid(0, 30)]);
    assert_eq!(fx.write(CheckpointName::domain_end(1), Some(2)).pruned, []);
    assert_eq!(
        fx.run.checkpoints().unwrap(),
        [CheckpointName::domain_end(0), mid(1, 5), mid(1, 10), CheckpointName::domain_end(1)]
    );
    // K = 0 removes every mid-domain checkpoint, domain ends stay.
    assert_eq!(fx.run.prune(0, Durability::NoSync).unwrap(), [mid(1, 10), mid(1, 5)]);
    assert_eq!(fx.run.checkpoints().unwrap(), [CheckpointName::domain_end(0), CheckpointName::domain_end(1)]);
    // Nothing half-deleted is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(fx.run.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_checkpoint_latest_names_is_never_pruned() {
    let fx = Fixture::new();
    fx.write(mid(0, 1), None);
    fx.write(mid(0, 2), None);
    assert_eq!(fx.run.prune(0, Durability::NoSync).unwrap(), [mid(0, 1)]);
    assert_eq!(fx.run.checkpoints().unwrap(), [mid(0, 2)]);
    assert_eq!(fx.run.latest().unwrap(), Some(mid(0, 2)));
}

#[test]
fn fallback_skips_damaged_newest_checkpoints_and_says_why() {
    let fx = Fixture::new();
    fx.write(CheckpointName::domain_end(0), None);
    fx.write(mid(1, 10), None);
    fx.write(mid(1, 20), None);
    let newest = fx.run.checkpoint_dir(mid(1, 20));
    let path = newest.join("state.json");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[5] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
    // A temporary directory of a killed writer is not a candidate.
    std::fs::create_dir(fx.run.path().join(".tmp.checkpoint_task_1_step_30.1.2")).unwrap();

    let fallback = find_latest_valid(fx.run.path()).unwrap();
    assert_eq!(fallback.checkpoint.name().unwrap(), mid(1, 10));
    assert_eq!(fallback.skipped.len(), 1);
    assert_eq!(fallback.skipped[0].name, "checkpoint_task_1_step_20");
    assert!(
        matches!(&fallback.skipped[0].error, CheckpointError::WrongHash { file, .. } if file == "state.json"),
        "{}",
        fallback.skipped[0].error
    );

    std::fs::remove_file(fx.run.checkpoint_dir(mid(1, 10)).join("model").join("tokenizer.json")).unwrap();
    let fallback = fx.run.find_latest_valid().unwrap();
    assert_eq!(fallback.checkpoint.name().unwrap(), CheckpointName::domain_end(0));
    assert_eq!(
        fallback.skipped.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["checkpoint_task_1_step_20", "checkpoint_task_1_step_10"]
    );

    std::fs::remove_file(fx.run.checkpoint_dir(CheckpointName::domain_end(0)).join("matrix.json")).unwrap();
    let err = fx.run.find_latest_valid().unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CheckpointError::NoValidCheckpoint { .. }));
    assert!(text.contains("checkpoint_task_0: ") && text.contains("matrix.json is missing"), "{text}");
}
