//! The `retain` binary as a user meets it: exit codes, JSON on stdout, errors on stderr.

use std::path::Path;
use std::process::{Command, Output};

fn retain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retain"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("the retain binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_and_version_exit_zero() {
    let help = retain(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("config"));
    let version = retain(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("retain {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(retain(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(retain(&["config", "check"]).status.code(), Some(2));
    let out = retain(&["config", "check", "examples/quickstart.toml", "--set", "trainer"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("malformed override `--set trainer`"), "{}", stderr(&out));
}

#[test]
fn config_check_prints_the_resolved_config_as_json() {
    let out = retain(&["config", "check", "examples/quickstart.toml", "--set", "trainer.kl_coef=0.5"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(json["trainer"]["kl_coef"], 0.5);
    assert_eq!(json["run"]["name"], "quickstart");
}

#[test]
fn bad_configs_exit_one_with_a_precise_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[trainer]\nnum_samples_per_prompt = 1\n").unwrap();
    let out = retain(&["config", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let msg = stderr(&out);
    assert!(msg.contains("bad.toml:2: `trainer.num_samples_per_prompt` = 1 is out of range"), "{msg}");

    let out = retain(&["config", "check", "examples/quickstart.toml", "--set", "trainer.learning_rate=-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--set trainer.learning_rate=-1"), "{}", stderr(&out));

    let out = retain(&["config", "check", "missing.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read config file missing.toml"), "{}", stderr(&out));
}

#[test]
fn generator_sizes_are_checked_with_the_config() {
    let out = retain(&["config", "check", "examples/quickstart.toml", "--set", "data.generator.retail.products=1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("data.generator.retail.products = 1 (must be 2..=8)"), "{}", stderr(&out));
    let out = retain(&["config", "check", "examples/quickstart.toml", "--set", "data.generator.telecom.lines=2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown key `data.generator.telecom.lines`"), "{}", stderr(&out));
}

#[test]
fn data_lengths_reports_each_domain_in_the_run_tokenizer() {
    let out = retain(&["data", "lengths", "examples/quickstart.toml", "--set", "data.train_tasks_per_domain=24"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let domains: Vec<&str> = lines.iter().map(|l| l["domain"].as_str().unwrap()).collect();
    assert_eq!(domains, ["airline", "retail", "telecom"]);
    for l in &lines {
        assert_eq!(l["episode"]["n"], 24);
        assert_eq!(l["limit"], 768);
        assert!(l["episode"]["p50"].as_u64().unwrap() > l["agent"]["p50"].as_u64().unwrap());
    }
}

#[test]
fn pretrain_writes_a_base_and_prints_its_summary_and_refuses_bad_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let base_arg = base.to_str().unwrap();
    let small = ["--set", "data.train_tasks_per_domain=16", "--set", "model.tiny.hidden_size=32"];
    let mut args = vec!["pretrain", "examples/quickstart-base.toml", "--out", base_arg];
    args.extend(small);
    args.extend(["--set", "pretrain.copy_drill_steps=3", "--set", "pretrain.batch_size=2"]);
    let out = retain(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(summary["steps"], 3);
    assert!(summary["heldout_loss_after"].as_f64().unwrap() > 0.0);
    assert!(base.join("model.safetensors").is_file() && base.join("tokenizer.json").is_file());

    let again = retain(&args);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("--overwrite"), "{}", stderr(&again));

    let out = retain(&["pretrain", "examples/quickstart-base.toml", "--out", base_arg, "--set", "pretrain.steps=3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown key `pretrain.steps`"), "{}", stderr(&out));
    let out =
        retain(&["pretrain", "examples/quickstart-base.toml", "--out", base_arg, "--set", "pretrain.learning_rate=0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("pretrain.learning_rate"), "{}", stderr(&out));
    let out = retain(&["pretrain", "examples/quickstart.toml", "--out", base_arg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("model.pretrained"), "{}", stderr(&out));
}

mod cli {
    mod crash;
}
