//! Shared set-up: the built-in plugins compiled from the workspace, generated domain data, a tiny policy, and
//! small run configurations.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use retain_config::{Config, Domain, PluginSpec, PolicyText, TinyModelConfig};
use retain_data::GeneratorConfig;
use retain_data::dataset::{DbSource, DomainData, demonstrations, domain_data};
use retain_trainer::Policy;
use retain_trainer::policy::train_tokenizer;

/// The directory holding the built-in plugin libraries, built once per test binary with a nested cargo (into the
/// same place the plugin-host tests use, so the build is shared).
pub fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-builds");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let out = Command::new(cargo)
            .args([
                "build",
                "--offline",
                "--quiet",
                "-p",
                "retain-plugin-sequential",
                "-p",
                "retain-plugin-task-success",
                "-p",
                "retain-plugin-replay",
                "-p",
                "retain-plugin-ewc",
                "-p",
                "retain-plugin-kl-previous",
                "-p",
                "retain-example-layer-freeze",
            ])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(root)
            .output()
            .unwrap();
        assert!(out.status.success(), "building the plugins failed:\n{}", String::from_utf8_lossy(&out.stderr));
        target.join("debug")
    })
}

/// The built-in plugin `name` with its default configuration, from the libraries built for these tests.
pub fn builtin(name: &str) -> PluginSpec {
    builtin_with(name, serde_json::json!({}))
}

/// The built-in plugin `name` with `config`.
pub fn builtin_with(name: &str, config: serde_json::Value) -> PluginSpec {
    let file = format!("{}retain_plugin_{name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    PluginSpec { name: name.to_owned(), path: Some(plugin_dir().join(file)), priority: 0, weight: 1.0, config }
}

/// A model small enough for debug-profile tests.
pub fn tiny_model() -> TinyModelConfig {
    TinyModelConfig {
        hidden_size: 64,
        num_layers: 2,
        num_heads: 4,
        num_kv_heads: 2,
        intermediate_size: 256,
        vocab_size: 1024,
        ..TinyModelConfig::default()
    }
}

/// A small run of `domains` into `out`: tiny model, minimal prompts, few tasks.
pub fn small_config(out: &Path, name: &str, domains: &[Domain]) -> Config {
    let mut config = Config::default();
    config.run.name = name.to_owned();
    config.run.out_dir = out.to_path_buf();
    config.run.seed = 5;
    config.model.tiny = tiny_model();
    config.data.policy = PolicyText::Minimal;
    config.data.train_tasks_per_domain = 16;
    config.data.test_tasks_per_domain = 4;
    config.trainer.batch_size = 2;
    config.trainer.num_samples_per_prompt = 2;
    config.trainer.max_new_tokens = 48;
    config.trainer.max_turns = 4;
    config.trainer.max_episode_tokens = 640;
    config.trainer.kl_coef = 0.05;
    config.sequence.task_order = domains.to_vec();
    config.sequence.num_steps_per_task = 1;
    config.eval.trials = 1;
    config.plugins.strategies = vec![builtin("sequential")];
    config.plugins.rewards = vec![builtin("task_success")];
    config
}

/// Generated data of every domain (minimal prompts) and a tiny policy whose tokenizer saw their demonstrations.
pub fn domains_and_policy() -> (Vec<DomainData>, Policy) {
    let mut domains = Vec::new();
    let mut corpus = Vec::new();
    let mut ids = Vec::new();
    for domain in Domain::ALL {
        let data = domain_data(domain, 3, &DbSource::Generated, &GeneratorConfig::default(), PolicyText::Minimal, 8, 4)
            .unwrap();
        corpus.extend(demonstrations(&data.env, &data.train, data.style).unwrap().iter().map(|d| d.text()));
        ids.extend(data.env.entity_ids());
        domains.push(data);
    }
    ids.sort();
    ids.dedup();
    let tokenizer = train_tokenizer(&corpus, &tiny_model(), &ids).unwrap();
    let policy = Policy::tiny(&tiny_model(), tokenizer, 9, None).unwrap();
    (domains, policy)
}
