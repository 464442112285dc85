//! A real `retain run` process killed with SIGKILL mid-run, then resumed with `retain run --resume auto`,
//! finishes with exactly the result of an uninterrupted run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The built-in plugins this test's runs load, built from the workspace with a nested cargo (shared with the
/// other crates' tests through the workspace's test scratch directory).
fn plugin_dir() -> PathBuf {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-builds");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["build", "--offline", "--quiet", "-p", "retain-plugin-sequential", "-p", "retain-plugin-task-success"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "building the plugins failed:\n{}", String::from_utf8_lossy(&out.stderr));
    target.join("debug")
}

fn library(dir: &Path, name: &str) -> String {
    let file = format!("{}retain_plugin_{name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    dir.join(file).display().to_string()
}

fn write_config(out: &Path, name: &str, plugins: &Path) -> PathBuf {
    let text = format!(
        r#"[run]
name = "{name}"
out_dir = "{out}"
seed = 11
threads = 2

[model.tiny]
hidden_size = 64
num_layers = 2
num_heads = 4
num_kv_heads = 2
intermediate_size = 256
vocab_size = 1024

[data]
policy = "minimal"
train_tasks_per_domain = 16
test_tasks_per_domain = 4

[trainer]
batch_size = 2
num_samples_per_prompt = 2
warm_start_steps = 2
kl_coef = 0.05
max_new_tokens = 48
max_turns = 4
max_episode_tokens = 640

[sequence]
task_order = ["retail", "telecom"]
num_steps_per_task = 2
save_interval = 1
keep_last_checkpoints = 8

[eval]
trials = 1

[[plugins.strategies]]
name = "sequential"
path = "{sequential}"

[[plugins.rewards]]
name = "task_success"
path = "{task_success}"
"#,
        out = out.display(),
        sequential = library(plugins, "sequential"),
        task_success = library(plugins, "task_success"),
    );
    let path = out.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write config");
    path
}

fn retain(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_retain")).args(args).output().expect("retain runs")
}

fn metrics(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .expect("metrics.jsonl")
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            if let Some(obj) = v.as_object_mut() {
                // Timings, and sizes that depend on the wall-clock timestamps the trajectory records carry.
                for key in
                    ["wall_time_s", "step_time", "rollout_time", "tokens_per_second", "peak_rss_bytes", "buffer_bytes"]
                {
                    obj.remove(key);
                }
            }
            v
        })
        .collect()
}

#[test]
fn a_run_killed_mid_way_resumes_to_the_uninterrupted_result() {
    let plugins = plugin_dir();
    let out = tempfile::tempdir().expect("tempdir");
    let reference = write_config(out.path(), "whole", &plugins);
    let done = retain(&["run", reference.to_str().expect("utf-8")]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));

    let config = write_config(out.path(), "killed", &plugins);
    let dir = out.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_retain"))
        .args(["run", config.to_str().expect("utf-8")])
        .spawn()
        .expect("spawn");
    // Kill it once a mid-domain checkpoint of the second domain exists, i.e. in the middle of the run.
    let started = Instant::now();
    while !dir.join("checkpoint_task_1_step_1").is_dir() {
        assert!(started.elapsed() < Duration::from_secs(600), "the run never reached its second domain");
        assert!(child.try_wait().expect("poll").is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(!dir.join("checkpoint_task_1").exists(), "killed too late: the run had finished its last domain");

    let resumed = retain(&["run", config.to_str().expect("utf-8"), "--resume", "auto"]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let whole = out.path().join("whole");
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).expect("a run file");
    assert!(
        read(&dir, "checkpoint_task_1/model/model.safetensors")
            == read(&whole, "checkpoint_task_1/model/model.safetensors")
    );
    assert_eq!(read(&dir, "matrix.json"), read(&whole, "matrix.json"));
    assert_eq!(metrics(&dir), metrics(&whole));

    // `retain eval --trajectories` writes every episode it plays, each scored as in the matrix's last row.
    let episodes = out.path().join("episodes.jsonl");
    let evaluated =
        retain(&["eval", whole.to_str().expect("utf-8"), "--trajectories", episodes.to_str().expect("utf-8")]);
    assert!(evaluated.status.success(), "{}", String::from_utf8_lossy(&evaluated.stderr));
    let matrix: serde_json::Value = serde_json::from_slice(&read(&whole, "matrix.json")).expect("matrix JSON");
    let last = &matrix["rows"][2]["cells"];
    let lines = std::fs::read_to_string(&episodes).expect("episodes written");
    let lines: Vec<serde_json::Value> = lines.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), 8, "greedy: one episode for each of 4 test tasks in 2 domains");
    for line in &lines {
        let (domain, task) = (line["domain"].as_str().expect("domain"), line["task_id"].as_str().expect("task"));
        let expected = last[domain]["per_task"][task][0].as_f64().expect("the task is in the matrix");
        assert_eq!(line["success"].as_bool(), Some(expected > 0.5), "{domain} {task}");
        assert_eq!(line["messages"][0]["role"], "system");
        assert!(line["messages"].as_array().expect("messages").len() >= 2);
    }
}
