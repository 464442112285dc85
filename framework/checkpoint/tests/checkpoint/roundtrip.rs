//! Write → open → verify → read back every part.

use super::fixture::{CONFIG_JSON, Fixture, Parts, plugins};
use retain_checkpoint::{
    Checkpoint, CheckpointError, CheckpointName, ConfigHash, Durability, FORMAT_VERSION, OPTIMIZER_FILE, Source,
    WriteOptions, resolve,
};

#[test]
fn every_part_round_trips() {
    let fx = Fixture::new();
    let name = CheckpointName::mid_domain(1, 40);
    let committed = fx.write(name, None);
    assert!(committed.pruned.is_empty());
    let dir = fx.run.checkpoint_dir(name);
    assert_eq!(committed.checkpoint.dir(), dir);

    let checkpoint = Checkpoint::open_verified(&dir).unwrap();
    let parts = Parts::for_name(name);
    let m = checkpoint.manifest();
    assert_eq!(m.format_version, FORMAT_VERSION);
    assert_eq!(m.name, "checkpoint_task_1_step_40");
    assert_eq!(checkpoint.name().unwrap(), name);
    assert_eq!((m.domain_index, m.step, m.global_step), (1, Some(40), 140));
    assert_eq!(m.domain.as_deref(), Some("retail"));
    assert_eq!(m.config_hash, Fixture::config_hash());
    assert_eq!(m, committed.checkpoint.manifest());

    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "config.json",
            "matrix.json",
            "metrics.jsonl",
            "model/config.json",
            "model/model.safetensors",
            "model/tokenizer.json",
            "optimizer.safetensors",
            "plugins/replay/state.bin",
            "state.json",
            "trajectories/airline.zst",
            "trajectories/retail.zst",
        ]
    );
    for file in &m.files {
        let on_disk = std::fs::read(checkpoint.path(&file.path)).unwrap();
        assert_eq!(file.size, on_disk.len() as u64, "{}", file.path);
        assert_eq!(file.sha256, retain_checkpoint::hash_bytes(&on_disk), "{}", file.path);
    }

    assert_eq!(checkpoint.read_verified("model/config.json").unwrap(), parts.model_config.as_bytes());
    assert_eq!(checkpoint.read_verified("model/model.safetensors").unwrap(), parts.weights);
    assert_eq!(checkpoint.read_verified("model/tokenizer.json").unwrap(), parts.tokenizer);
    assert_eq!(std::fs::read(checkpoint.model_dir().join("tokenizer.json")).unwrap(), parts.tokenizer);
    assert_eq!(checkpoint.read_verified(OPTIMIZER_FILE).unwrap(), parts.optimizer);
    assert_eq!(checkpoint.state().unwrap(), parts.state);
    let trajectories = checkpoint.trajectories();
    assert_eq!(trajectories.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(), ["airline", "retail"]);
    assert_eq!(std::fs::read(&trajectories[0].1).unwrap(), parts.trajectories);
    assert_eq!(std::fs::read(&trajectories[1].1).unwrap(), &parts.trajectories[..100]);

    let recorded: Vec<_> = m.plugins.iter().map(|p| p.plugin.clone()).collect();
    assert_eq!(recorded, plugins());
    assert_eq!(m.plugins[0].state_file.as_deref(), Some("plugins/replay/state.bin"));
    assert_eq!(m.plugins[1].state_file, None);
    assert_eq!(checkpoint.plugin_state("replay").unwrap().unwrap(), parts.plugin_state);
    assert_eq!(checkpoint.plugin_state("task_success").unwrap(), None);
    checkpoint.check_plugins(&plugins()).unwrap();
    checkpoint.check_config_hash(&Fixture::config_hash()).unwrap();

    for run_file in ["config.json", "metrics.jsonl", "matrix.json"] {
        assert_eq!(
            checkpoint.read_verified(run_file).unwrap(),
            std::fs::read(fx.run.path().join(run_file)).unwrap(),
            "{run_file}"
        );
    }
    assert_eq!(fx.run.latest().unwrap(), Some(name));
    assert_eq!(resolve(fx.run.path()).unwrap().manifest(), m);
    assert_eq!(resolve(&dir).unwrap().manifest(), m);
    assert_eq!(std::fs::read_to_string(fx.run.path().join("latest")).unwrap(), "checkpoint_task_1_step_40\n");
}

#[test]
fn parent_and_origin_are_recorded_and_a_moved_checkpoint_still_verifies() {
    let fx = Fixture::new();
    let first = fx.write(CheckpointName::domain_end(0), None).checkpoint;
    let mut writer = fx
        .run
        .begin(
            Fixture::meta(CheckpointName::mid_domain(1, 5)),
            WriteOptions { durability: Durability::Fsync, keep_last: None },
        )
        .unwrap();
    writer.set_parent(&first);
    writer.set_init_from(&first);
    writer.add_model_file("model.safetensors", Source::Bytes(b"weights")).unwrap();
    writer.add_optimizer(Source::Bytes(b"moments")).unwrap();
    writer.set_state(&serde_json::json!({})).unwrap();
    writer.add_run_files(fx.run.path()).unwrap();
    let second = writer.commit().unwrap().checkpoint;
    let parent = second.manifest().parent.as_ref().unwrap();
    assert_eq!(parent.path, "checkpoint_task_0");
    assert_eq!(parent.checksum, first.manifest().checksum);
    assert_eq!(second.manifest().init_from.as_ref().unwrap().checksum, first.manifest().checksum);
    assert!(second.manifest().plugins.is_empty());

    // Self-contained: moved elsewhere, it opens and verifies and holds the run files.
    let moved = fx.scratch.join("moved");
    std::fs::rename(second.dir(), &moved).unwrap();
    let reopened = Checkpoint::open_verified(&moved).unwrap();
    assert_eq!(reopened.manifest(), second.manifest());
    assert_eq!(reopened.read_verified("config.json").unwrap(), CONFIG_JSON.as_bytes());
}

#[test]
fn checkpoints_are_immutable() {
    let fx = Fixture::new();
    let name = CheckpointName::domain_end(0);
    fx.write(name, None);
    let err = fx.run.begin(Fixture::meta(name), WriteOptions::default()).unwrap_err();
    assert!(matches!(err, CheckpointError::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("checkpoint_task_0 already exists"), "{err}");
}

#[test]
fn commit_refuses_an_incomplete_or_inconsistent_checkpoint() {
    let fx = Fixture::new();
    let mut writer = fx.run.begin(Fixture::meta(CheckpointName::domain_end(0)), WriteOptions::default()).unwrap();
    writer.add_model_file("model.safetensors", Source::Bytes(b"w")).unwrap();
    writer.add_run_files(fx.run.path()).unwrap();
    writer.set_state(&serde_json::json!({})).unwrap();
    let temp = writer.temp_dir().to_owned();
    let err = writer.commit().unwrap_err();
    assert!(err.to_string().contains("no optimizer.safetensors"), "{err}");
    assert!(!temp.exists(), "the temporary directory is removed when a commit fails");
    assert_eq!(fx.run.checkpoints().unwrap(), []);

    let mut meta = Fixture::meta(CheckpointName::domain_end(0));
    meta.config_hash = ConfigHash::of_json("{\"other\": 1}").unwrap();
    let mut writer = fx.run.begin(meta, WriteOptions::default()).unwrap();
    writer.add_model_file("model.safetensors", Source::Bytes(b"w")).unwrap();
    writer.add_optimizer(Source::Bytes(b"o")).unwrap();
    writer.set_state(&serde_json::json!({})).unwrap();
    writer.add_run_files(fx.run.path()).unwrap();
    assert!(matches!(writer.add_optimizer(Source::Bytes(b"x")), Err(CheckpointError::DuplicateFile { .. })));
    assert!(matches!(writer.add("../escape", Source::Bytes(b"x")), Err(CheckpointError::InvalidFileName { .. })));
    let err = writer.commit().unwrap_err();
    assert!(matches!(err, CheckpointError::InconsistentConfig { .. }), "{err}");
    assert_eq!(fx.run.latest().unwrap(), None);
}

#[test]
fn config_hash_is_the_hash_of_the_resolved_config_whatever_its_spelling() {
    let config = retain_config::Config::default();
    let hash = ConfigHash::of_config(&config).unwrap();
    let pretty = config.to_json().unwrap();
    assert_eq!(hash, ConfigHash::of_json(&pretty).unwrap());
    let compact = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&pretty).unwrap()).unwrap();
    assert_eq!(hash, ConfigHash::of_json(&compact).unwrap());
    assert!(hash.0.starts_with("sha256:") && hash.0.len() == 7 + 64, "{hash}");
    let mut other = config.clone();
    other.run.seed += 1;
    assert_ne!(hash, ConfigHash::of_config(&other).unwrap());
    // Round trip through the checkpoint copy keeps the hash.
    let reread = retain_config::Config::from_json(&pretty).unwrap();
    assert_eq!(hash, ConfigHash::of_config(&reread).unwrap());
}
