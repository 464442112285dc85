//! `retain pretrain`: copy drills teach a tiny model to copy ids, and leave a base that runs start from.

use retain_config::Domain;
use retain_trainer::pretrain::pretrain;
use retain_trainer::{Policy, Silent, run};

use super::common::small_config;

#[test]
fn copy_drills_lower_the_heldout_loss_and_leave_a_base_a_run_starts_from() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = small_config(tmp.path(), "base", &[Domain::Telecom]);
    config.pretrain.copy_drill_steps = 40;
    config.pretrain.batch_size = 8;
    let out = tmp.path().join("base");
    let summary = pretrain(&config, &out, false, &mut Silent).unwrap();
    assert_eq!(summary.steps, 40);
    assert!(
        summary.heldout_loss_after < 0.6 * summary.heldout_loss_before,
        "held-out drill loss {} -> {}",
        summary.heldout_loss_before,
        summary.heldout_loss_after
    );
    for file in ["config.json", "model.safetensors", "tokenizer.json", "pretrain.json"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("pretrain.json")).unwrap()).unwrap();
    assert_eq!(saved["steps"], 40);
    assert!(!tmp.path().join(".base.partial").exists(), "the staging directory is moved into place");

    // The same config builds the same base.
    let again = tmp.path().join("again");
    pretrain(&config, &again, false, &mut Silent).unwrap();
    let weights = |dir: &std::path::Path| std::fs::read(dir.join("model.safetensors")).unwrap();
    assert_eq!(weights(&out), weights(&again));

    // A run starts from the base: its tokenizer and weights, not a fresh tiny model.
    let base = Policy::load(&out, 0, None).unwrap();
    let mut from_base = small_config(tmp.path(), "from-base", &[Domain::Telecom]);
    from_base.model.pretrained = Some(out.clone());
    from_base.trainer.warm_start_steps = 1;
    let summary = run(&from_base, &mut Silent).unwrap();
    let trained = Policy::load(&summary.dir.join("checkpoint_task_0/model"), 0, None).unwrap();
    assert_eq!(trained.tokenizer.vocab_size(), base.tokenizer.vocab_size());
    let text = "Please turn airplane mode off on line 555-0123.";
    assert_eq!(trained.tokenizer.encode(text).unwrap(), base.tokenizer.encode(text).unwrap());
}

#[test]
fn an_occupied_output_is_kept_and_a_config_with_a_pretrained_model_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = small_config(tmp.path(), "base", &[Domain::Telecom]);
    config.pretrain.copy_drill_steps = 1;
    let out = tmp.path().join("base");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let err = pretrain(&config, &out, false, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("not empty") && err.contains("--overwrite"), "{err}");
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");

    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let err = pretrain(&config, &file, true, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("is a file"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");

    config.model.pretrained = Some(tmp.path().join("somewhere"));
    let err = pretrain(&config, &tmp.path().join("other"), false, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("model.pretrained"), "{err}");
    assert!(!tmp.path().join("other").exists());
}

#[test]
fn the_quickstart_starts_from_the_committed_base_which_learned_to_copy() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let quickstart = retain_config::load(&root.join("examples/quickstart.toml"), &[]).unwrap();
    let dir = root.join(quickstart.model.pretrained.expect("the quickstart names its base"));
    let base = Policy::load(&dir, 0, None).unwrap();
    let recipe = retain_config::load(&root.join("examples/quickstart-base.toml"), &[]).unwrap();
    assert!(base.tokenizer.vocab_size() <= recipe.model.tiny.vocab_size);
    assert_eq!(base.model.config().hidden_size, recipe.model.tiny.hidden_size);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("pretrain.json")).unwrap()).unwrap();
    assert_eq!(summary["steps"], recipe.pretrain.copy_drill_steps);
    let (before, after) =
        (summary["heldout_loss_before"].as_f64().unwrap(), summary["heldout_loss_after"].as_f64().unwrap());
    assert!(after < before / 5.0, "held-out drill loss {before} -> {after}");
}
