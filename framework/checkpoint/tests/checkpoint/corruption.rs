//! Every bad-checkpoint case gives its own error, naming the file or plugin and what to do.

use super::fixture::{Fixture, plugins};
use retain_checkpoint::{Checkpoint, CheckpointError, CheckpointName, ConfigHash, MANIFEST_FILE};
use std::path::PathBuf;

fn written() -> (Fixture, PathBuf) {
    let fx = Fixture::new();
    let name = CheckpointName::domain_end(0);
    fx.write(name, None);
    let dir = fx.run.checkpoint_dir(name);
    (fx, dir)
}

#[test]
fn a_flipped_byte_is_named_by_file() {
    let (_fx, dir) = written();
    let path = dir.join("optimizer.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[3_000_000] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let checkpoint = Checkpoint::open(&dir).unwrap();
    checkpoint.check_sizes().unwrap();
    let err = checkpoint.verify().unwrap_err();
    assert!(matches!(&err, CheckpointError::WrongHash { file, .. } if file == "optimizer.safetensors"), "{err}");
    let text = err.to_string();
    assert!(text.contains("optimizer.safetensors is corrupted") && text.contains("--fallback"), "{text}");
    assert!(err.is_damage());
    assert!(matches!(checkpoint.read_verified("optimizer.safetensors"), Err(CheckpointError::WrongHash { .. })));
    // The other files still check out, and verify_files says exactly which one is bad.
    let bad: Vec<String> =
        checkpoint.verify_files().into_iter().filter(|c| c.result.is_err()).map(|c| c.entry.path).collect();
    assert_eq!(bad, ["optimizer.safetensors"]);
}

#[test]
fn a_truncated_file_is_named_with_both_sizes() {
    let (_fx, dir) = written();
    let path = dir.join("model").join("model.safetensors");
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(1000).unwrap();
    let err = Checkpoint::open_verified(&dir).unwrap_err();
    match &err {
        CheckpointError::WrongSize { file, expected, found, .. } => {
            assert_eq!((file.as_str(), *expected, *found), ("model/model.safetensors", 300_000, 1000));
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    let (_fx, dir) = written();
    std::fs::remove_file(dir.join("plugins").join("replay").join("state.bin")).unwrap();
    let err = Checkpoint::open_verified(&dir).unwrap_err();
    assert!(matches!(&err, CheckpointError::MissingFile { file, .. } if file == "plugins/replay/state.bin"), "{err}");
    assert!(err.to_string().contains("plugins/replay/state.bin is missing"), "{err}");
}

#[test]
fn a_manifest_from_a_newer_format_asks_to_upgrade() {
    let (_fx, dir) = written();
    let path = dir.join(MANIFEST_FILE);
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["format_version"] = 2.into();
    manifest["a_field_of_the_future"] = true.into();
    std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let err = Checkpoint::open(&dir).unwrap_err();
    assert!(matches!(err, CheckpointError::NewerFormat { found: 2, supported: 1, .. }), "{err}");
    assert!(err.to_string().contains("upgrade retain"), "{err}");
}

#[test]
fn an_edited_manifest_fails_its_checksum() {
    let (_fx, dir) = written();
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("\"global_step\": 100", "\"global_step\": 101", 1);
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
    let err = Checkpoint::open(&dir).unwrap_err();
    assert!(matches!(err, CheckpointError::ManifestChecksum { .. }), "{err}");

    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let err = Checkpoint::open(&dir).unwrap_err();
    assert!(matches!(err, CheckpointError::InvalidManifest { .. }), "{err}");
    assert!(err.to_string().contains("manifest.json"), "{err}");

    std::fs::remove_file(&path).unwrap();
    let err = Checkpoint::open(&dir).unwrap_err();
    assert!(matches!(err, CheckpointError::NotACheckpoint { .. }), "{err}");
}

#[test]
fn another_configuration_is_refused_with_both_hashes_and_init_from() {
    let (_fx, dir) = written();
    let checkpoint = Checkpoint::open_verified(&dir).unwrap();
    let current = ConfigHash::of_json("{\"run\": {\"seed\": 8}}").unwrap();
    let err = checkpoint.check_config_hash(&current).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CheckpointError::ConfigMismatch { .. }));
    assert!(text.contains(&Fixture::config_hash().0) && text.contains(&current.0), "{text}");
    assert!(text.contains("--init-from"), "{text}");
    assert!(!err.is_damage());
}

#[test]
fn every_plugin_mismatch_names_the_plugin() {
    let (_fx, dir) = written();
    let checkpoint = Checkpoint::open_verified(&dir).unwrap();

    let missing = vec![plugins()[1].clone()];
    let err = checkpoint.check_plugins(&missing).unwrap_err();
    assert!(matches!(&err, CheckpointError::PluginMissing { name, .. } if name == "replay"), "{err}");
    assert!(err.to_string().contains("strategy plugin `replay` (version 0.1.0)"), "{err}");

    let mut other_version = plugins();
    other_version[0].version = "0.2.0".into();
    let err = checkpoint.check_plugins(&other_version).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::PluginVersion { name, recorded, current, .. }
            if name == "replay" && recorded == "0.1.0" && current == "0.2.0"),
        "{err}"
    );
    assert!(err.to_string().contains("install version 0.1.0"), "{err}");

    let mut added = plugins();
    added.push(retain_checkpoint::PluginInfo { name: "ewc".into(), ..plugins()[0].clone() });
    let err = checkpoint.check_plugins(&added).unwrap_err();
    assert!(matches!(&err, CheckpointError::PluginAdded { name, .. } if name == "ewc"), "{err}");

    let reordered: Vec<_> = plugins().into_iter().rev().collect();
    let err = checkpoint.check_plugins(&reordered).unwrap_err();
    assert!(matches!(err, CheckpointError::PluginOrder { .. }), "{err}");
    assert!(err.to_string().contains("[strategy replay, reward task_success]"), "{err}");
}

#[test]
fn a_dangling_latest_pointer_is_reported() {
    let (fx, dir) = written();
    std::fs::write(fx.run.path().join("latest"), "checkpoint_task_7\n").unwrap();
    let err = fx.run.latest().unwrap_err();
    assert!(matches!(err, CheckpointError::BadLatest { .. }), "{err}");
    assert!(err.to_string().contains("checkpoint_task_7"), "{err}");
    std::fs::write(fx.run.path().join("latest"), "garbage").unwrap();
    assert!(matches!(fx.run.open_latest(), Err(CheckpointError::BadLatest { .. })));
    // A checkpoint given directly still opens.
    Checkpoint::open_verified(&dir).unwrap();
}
