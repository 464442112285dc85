//! Parsing, overrides, validation errors and JSON round trip of the run configuration.

use retain_config::{Config, ConfigError, Domain, Origin, Override, load, load_str};
use std::path::{Path, PathBuf};

fn parse(text: &str, overrides: &[&str]) -> Result<Config, ConfigError> {
    let overrides: Vec<Override> =
        overrides.iter().map(|s| s.parse().expect("test overrides are well formed")).collect();
    load_str(text, Path::new("test.toml"), &overrides)
}

fn file_line(line: usize) -> Origin {
    Origin::File { path: PathBuf::from("test.toml"), line: Some(line) }
}

fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.toml")
}

#[test]
fn empty_file_gives_the_defaults() {
    let config = parse("", &[]).unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.sequence.task_order, vec![Domain::Airline, Domain::Retail, Domain::Telecom]);
    assert_eq!(config.plugins.rewards[0].name, "task_success");
}

#[test]
fn quickstart_example_is_valid() {
    let config = load(&quickstart(), &[]).unwrap();
    assert_eq!(config.run.name, "quickstart");
    assert_eq!(config.model.pretrained.as_deref(), Some(Path::new("examples/quickstart-base")));
    assert!(config.trainer.warm_start_randomize_ids);
    assert_eq!(config.data.policy, retain_config::PolicyText::Minimal);
    assert_eq!(config.data.families.of(Domain::Telecom), Some(&vec!["airplane_mode_on".to_owned()]));
    assert_eq!(config.trainer.warm_start_learning_rate, Some(3e-3));
}

#[test]
fn quickstart_base_recipe_is_valid_and_matches_the_quickstart_data() {
    let recipe = load(&quickstart().with_file_name("quickstart-base.toml"), &[]).unwrap();
    let quickstart = load(&quickstart(), &[]).unwrap();
    assert_eq!(recipe.model.pretrained, None, "the recipe builds the model the quickstart names");
    assert_eq!(recipe.model.tiny.hidden_size, 128);
    assert_eq!(recipe.pretrain.copy_drill_steps, 1500);
    assert_eq!(recipe.data, quickstart.data, "the base's tokenizer is trained on the quickstart's demonstrations");
    assert_eq!(recipe.run.seed, quickstart.run.seed);
}

#[test]
fn unknown_key_names_file_line_and_suggests() {
    let err = parse("[run]\nname = \"x\"\n\n[trainer]\nlerning_rate = 1e-4\n", &[]).unwrap_err();
    match &err {
        ConfigError::UnknownKey { origin, key, suggestion, expected } => {
            assert_eq!(origin, &file_line(5));
            assert_eq!(key, "trainer.lerning_rate");
            assert_eq!(suggestion.as_deref(), Some("learning_rate"));
            assert!(expected.contains(&"kl_coef".to_owned()));
        }
        other => panic!("wrong error: {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.starts_with("test.toml:5: unknown key `trainer.lerning_rate` (did you mean `learning_rate`?)"),
        "{msg}"
    );
}

#[test]
fn unknown_section_is_rejected() {
    let err = parse("[trainr]\nlearning_rate = 1e-4\n", &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownKey { key, suggestion: Some(s), .. } if key == "trainr" && s == "trainer"),
        "{err}"
    );
}

#[test]
fn unknown_key_far_from_any_valid_key_has_no_suggestion() {
    let err = parse("[trainer]\nzzzzzzzz = 1\n", &[]).unwrap_err();
    assert!(matches!(&err, ConfigError::UnknownKey { suggestion: None, .. }), "{err}");
}

#[test]
fn wrong_type_names_the_key() {
    let err = parse("[trainer]\nlearning_rate = \"fast\"\n", &[]).unwrap_err();
    match &err {
        ConfigError::WrongType { origin, key, message } => {
            assert_eq!(origin, &file_line(2));
            assert_eq!(key, "trainer.learning_rate");
            assert!(message.contains("string"), "{message}");
        }
        other => panic!("wrong error: {other:?}"),
    }
}

#[test]
fn negative_learning_rate_is_out_of_range() {
    let err = parse("[trainer]\nlearning_rate = -1.0\n", &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::OutOfRange { origin, key, value, .. } if origin == &file_line(2) && key == "trainer.learning_rate" && value == "-1"),
        "{err:?}"
    );
}

#[test]
fn one_sample_per_prompt_is_out_of_range() {
    let err = parse("[trainer]\nbatch_size = 4\nnum_samples_per_prompt = 1\n", &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::OutOfRange { origin, key, .. } if origin == &file_line(3) && key == "trainer.num_samples_per_prompt"),
        "{err:?}"
    );
    assert!(err.to_string().contains("at least 2"));
}

#[test]
fn unknown_domain_is_named_with_a_suggestion() {
    let err = parse("[sequence]\ntask_order = [\"airline\", \"retial\"]\n", &[]).unwrap_err();
    match &err {
        ConfigError::UnknownDomain { origin, key, given, suggestion } => {
            assert_eq!(origin, &file_line(2));
            assert_eq!(key, "sequence.task_order[1]");
            assert_eq!(given, "retial");
            assert_eq!(suggestion.as_deref(), Some("retail"));
        }
        other => panic!("wrong error: {other:?}"),
    }
}

#[test]
fn empty_and_duplicate_task_orders_are_invalid() {
    let err = parse("[sequence]\ntask_order = []\n", &[]).unwrap_err();
    assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "sequence.task_order"), "{err:?}");
    let err = parse("[sequence]\ntask_order = [\"retail\", \"retail\"]\n", &[]).unwrap_err();
    assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "sequence.task_order[1]"), "{err:?}");
}

#[test]
fn per_domain_warm_start_steps_override_the_default() {
    let config =
        parse("[trainer]\nwarm_start_steps = 60\n[trainer.warm_start_steps_by_domain]\nretail = 200\n", &[]).unwrap();
    assert_eq!(config.trainer.warm_start_steps_for(Domain::Retail), 200);
    assert_eq!(config.trainer.warm_start_steps_for(Domain::Airline), 60);
    // An entry for a domain the run does not train is harmless (one file serves several task orders)…
    parse("[sequence]\ntask_order = [\"airline\"]\n[trainer.warm_start_steps_by_domain]\nretail = 200\n", &[]).unwrap();
    // …but a misspelt domain is an error with a suggestion.
    let err = parse("[trainer.warm_start_steps_by_domain]\nretial = 200\n", &[]).unwrap_err();
    assert!(err.to_string().contains("did you mean `retail`"), "{err}");
}

#[test]
fn unknown_choice_lists_the_choices() {
    let err = parse("[trainer]\nalgorithm = \"grpp\"\n", &[]).unwrap_err();
    match &err {
        ConfigError::UnknownChoice { key, suggestion, expected, .. } => {
            assert_eq!(key, "trainer.algorithm");
            assert_eq!(suggestion.as_deref(), Some("grpo"));
            assert!(expected.contains(&"a_star_po".to_owned()));
        }
        other => panic!("wrong error: {other:?}"),
    }
}

#[test]
fn syntax_error_names_the_line() {
    let err = parse("[run]\nname = \"x\"\n[trainer\n", &[]).unwrap_err();
    assert!(matches!(&err, ConfigError::Syntax { origin, .. } if origin == &file_line(3)), "{err:?}");
}

#[test]
fn overrides_are_type_checked_like_file_keys() {
    let config =
        parse("", &["trainer.learning_rate=3e-6", "run.name=my-run", "sequence.task_order=[\"telecom\", \"airline\"]"])
            .unwrap();
    assert_eq!(config.trainer.learning_rate, 3e-6);
    assert_eq!(config.run.name, "my-run");
    assert_eq!(config.sequence.task_order, vec![Domain::Telecom, Domain::Airline]);

    let err = parse("[trainer]\nlearning_rate = 1e-4\n", &["trainer.learning_rate=-2"]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::OutOfRange { origin: Origin::Override(arg), .. } if arg == "trainer.learning_rate=-2"),
        "{err:?}"
    );
    let err = parse("", &["trainer.lr=3"]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownKey { origin: Origin::Override(_), key, .. } if key == "trainer.lr"),
        "{err:?}"
    );
    let err = parse("", &["trainer.batch_size=many"]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::WrongType { origin: Origin::Override(_), key, .. } if key == "trainer.batch_size"),
        "{err:?}"
    );
}

#[test]
fn overrides_index_into_plugin_lists() {
    let text = "[[plugins.rewards]]\nname = \"task_success\"\n\n[[plugins.rewards]]\nname = \"partial_progress\"\n";
    let config = parse(text, &["plugins.rewards.1.weight=0.5", "plugins.rewards.1.config.alpha=0.3"]).unwrap();
    assert_eq!(config.plugins.rewards[1].weight, 0.5);
    assert_eq!(config.plugins.rewards[1].config["alpha"], serde_json::json!(0.3));
    let err = parse(text, &["plugins.rewards.7.weight=0.5"]).unwrap_err();
    assert!(matches!(err, ConfigError::MalformedOverride { .. }), "{err:?}");
}

#[test]
fn malformed_overrides_are_rejected() {
    for bad in ["trainer", "=3", "trainer..lr=1", "trainer.lr rate=1"] {
        let err = bad.parse::<Override>().unwrap_err();
        assert!(matches!(err, ConfigError::MalformedOverride { .. }), "{bad}: {err:?}");
    }
    let err = parse("[run]\nseed = 1\n", &["run.seed.x=1"]).unwrap_err();
    assert!(matches!(err, ConfigError::MalformedOverride { .. }), "{err:?}");
}

#[test]
fn plugin_configs_stay_json() {
    let text = "[[plugins.strategies]]\nname = \"replay\"\npriority = -1\nconfig = { ratio = 0.2, balance = \"per_domain\" }\n";
    let config = parse(text, &[]).unwrap();
    let replay = &config.plugins.strategies[0];
    assert_eq!(replay.priority, -1);
    assert_eq!(replay.config, serde_json::json!({"ratio": 0.2, "balance": "per_domain"}));
}

#[test]
fn resolved_config_round_trips_through_json() {
    let config = parse(
        "[model.lora]\nrank = 4\n[[plugins.strategies]]\nname = \"ewc\"\nconfig = { lambda = 100.0 }\n",
        &["data.max_tasks_per_domain=10", "run.threads=2"],
    )
    .unwrap();
    let json = config.to_json().unwrap();
    assert_eq!(Config::from_json(&json).unwrap(), config);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["sequence"]["task_order"], serde_json::json!(["airline", "retail", "telecom"]));
    assert_eq!(value["model"]["lora"]["rank"], 4);
}

#[test]
fn missing_file_is_a_read_error() {
    let err = load(Path::new("/nonexistent/retain.toml"), &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("/nonexistent/retain.toml"));
}
