//! A run directory with the three run files and a helper that writes a complete checkpoint of known content.

use retain_checkpoint::{
    CheckpointMeta, CheckpointName, Committed, ConfigHash, Durability, PluginInfo, RunDir, Source, WriteOptions,
};
use std::path::{Path, PathBuf};

/// The resolved configuration copied into the run directory.
pub const CONFIG_JSON: &str =
    "{\n  \"run\": {\"name\": \"t\", \"seed\": 7},\n  \"sequence\": {\"task_order\": [\"airline\", \"retail\"]}\n}\n";

/// A run directory in a temporary directory, with `config.json`, `metrics.jsonl` and `matrix.json`.
pub struct Fixture {
    _temp: Option<tempfile::TempDir>,
    /// The run directory.
    pub run: RunDir,
    /// A scratch directory outside the run.
    pub scratch: PathBuf,
}

impl Fixture {
    pub fn new() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let run_path = temp.path().join("runs").join("t");
        std::fs::create_dir_all(&run_path).unwrap();
        std::fs::write(run_path.join("config.json"), CONFIG_JSON).unwrap();
        std::fs::write(run_path.join("metrics.jsonl"), "{\"event\":\"run_start\",\"global_step\":0}\n").unwrap();
        std::fs::write(
            run_path.join("matrix.json"),
            "{\"format_version\":1,\"domains\":[\"airline\",\"retail\"],\"rows\":[]}\n",
        )
        .unwrap();
        let scratch = temp.path().join("scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        Fixture { _temp: Some(temp), run: RunDir::new(run_path), scratch }
    }

    /// The fixture whose run directory is `run_path` (made by [`Fixture::new`] in another process).
    pub fn at(run_path: &Path) -> Self {
        let scratch = run_path.parent().unwrap().parent().unwrap().join("scratch");
        Fixture { _temp: None, run: RunDir::new(run_path), scratch }
    }

    pub fn config_hash() -> ConfigHash {
        ConfigHash::of_json(CONFIG_JSON).unwrap()
    }

    pub fn meta(name: CheckpointName) -> CheckpointMeta {
        CheckpointMeta {
            name,
            domain: Some(["airline", "retail"][name.domain_index % 2].to_owned()),
            global_step: name.domain_index as u64 * 100 + name.step.unwrap_or(100),
            config_hash: Self::config_hash(),
        }
    }

    /// Writes a complete checkpoint whose content depends on `name`.
    pub fn write(&self, name: CheckpointName, keep_last: Option<usize>) -> Committed {
        let options = WriteOptions { durability: Durability::NoSync, keep_last };
        let mut writer = self.run.begin(Self::meta(name), options).unwrap();
        let parts = Parts::for_name(name);
        writer.add_model_file("config.json", Source::Bytes(parts.model_config.as_bytes())).unwrap();
        writer.add_with("model/model.safetensors", |path: &Path| std::fs::write(path, &parts.weights)).unwrap();
        let tokenizer = self.scratch.join(format!("tokenizer-{name}.json"));
        std::fs::write(&tokenizer, &parts.tokenizer).unwrap();
        writer.add_model_file("tokenizer.json", Source::File(&tokenizer)).unwrap();
        writer.add_optimizer(Source::Bytes(&parts.optimizer)).unwrap();
        writer.set_state(&parts.state).unwrap();
        writer.add_trajectories("airline", Source::Bytes(&parts.trajectories)).unwrap();
        writer.add_stream("trajectories/retail.zst", |w| w.write_all(&parts.trajectories[..100])).unwrap();
        for (plugin, state) in plugins().into_iter().zip([Some(parts.plugin_state.as_slice()), None]) {
            writer.add_plugin(plugin, state).unwrap();
        }
        writer.add_run_files(self.run.path()).unwrap();
        writer.commit().unwrap()
    }
}

/// The plugins of the fixture run, in call order.
pub fn plugins() -> Vec<PluginInfo> {
    vec![
        PluginInfo {
            kind: "strategy".into(),
            name: "replay".into(),
            version: "0.1.0".into(),
            library: "retain_replay".into(),
            abi_version: "1".into(),
            priority: 0,
        },
        PluginInfo {
            kind: "reward".into(),
            name: "task_success".into(),
            version: "0.1.0".into(),
            library: "retain_task_success".into(),
            abi_version: "1".into(),
            priority: 0,
        },
    ]
}

/// The content of every part of a fixture checkpoint.
pub struct Parts {
    pub model_config: String,
    pub weights: Vec<u8>,
    pub tokenizer: Vec<u8>,
    pub optimizer: Vec<u8>,
    pub state: serde_json::Value,
    pub trajectories: Vec<u8>,
    pub plugin_state: Vec<u8>,
}

impl Parts {
    pub fn for_name(name: CheckpointName) -> Parts {
        let seed = name.domain_index as u64 * 1000 + name.step.unwrap_or(999);
        let bytes = |n: usize, salt: u64| -> Vec<u8> {
            let mut x = (seed + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
            (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 32) as u8
                })
                .collect()
        };
        Parts {
            model_config: format!("{{\"hidden_size\": 256, \"seed\": {seed}}}"),
            weights: bytes(300_000, 1),
            tokenizer: bytes(1_000, 2),
            // Above the 4 MiB chunk, so the write-while-hashing path on two threads is exercised.
            optimizer: bytes(5 << 20, 3),
            state: serde_json::json!({"rng": [seed, 17], "cursor": {"airline": 12}, "scheduler": {"step": seed}}),
            trajectories: bytes(4_000, 4),
            plugin_state: bytes(777, 5),
        }
    }
}
