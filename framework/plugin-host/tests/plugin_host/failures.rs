//! Every failure the host promises to report as a typed error naming the plugin, each against a real library.

use super::build::libraries;
use super::services::spec;
use retain_config::PluginSpec;
use retain_plugin_api::Context;
use retain_plugin_host::{NoServices, PluginHostError, RewardPlugin, StrategyPlugin, builtin_file_name};
use serde_json::json;
use std::sync::Arc;

fn load(spec: &PluginSpec) -> Result<StrategyPlugin, PluginHostError> {
    StrategyPlugin::load(spec, Arc::new(NoServices), 0)
}

fn named(name: &str, path: std::path::PathBuf) -> PluginSpec {
    PluginSpec { name: name.to_owned(), path: Some(path), priority: 0, weight: 1.0, config: json!({}) }
}

const CTX: Context<'static> = Context { domain: "airline", domain_index: 0, num_domains: 3, step: 0, global_step: 0 };

#[test]
fn missing_file() {
    let path = libraries().scratch.join("libnothing_here.so");
    let err = load(&named("ghost", path.clone())).unwrap_err();
    assert!(matches!(err, PluginHostError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("plugin `ghost`") && err.to_string().contains(&path.display().to_string()));
}

#[test]
fn missing_builtin_lists_where_it_looked() {
    let err = load(&PluginSpec { path: None, ..named("no_such_builtin", Default::default()) }).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PluginHostError::NotFound { .. }), "{text}");
    assert!(text.contains(&builtin_file_name("no_such_builtin")) && text.contains("RETAIN_PLUGIN_DIR"), "{text}");
}

#[test]
fn shared_library_that_is_not_a_plugin() {
    let err = load(&named("stranger", libraries().lib("not_a_plugin"))).unwrap_err();
    assert!(matches!(err, PluginHostError::NotAPlugin { .. }), "{err}");
    assert!(err.to_string().contains("plugin `stranger`") && err.to_string().contains("export_plugins!"), "{err}");
}

#[test]
fn file_that_is_not_a_library() {
    let path = libraries().scratch.join("notes.so");
    std::fs::write(&path, "just text").unwrap();
    let err = load(&named("text", path)).unwrap_err();
    assert!(matches!(err, PluginHostError::NotAPlugin { .. }), "{err}");
    assert!(err.to_string().contains("cannot be loaded as a shared library"), "{err}");
}

#[test]
fn abi_major_mismatch() {
    let err = load(&named("minimal", libraries().lib("wrong_major"))).unwrap_err();
    match &err {
        PluginHostError::AbiMajorMismatch { plugin, expected, found, .. } => {
            assert_eq!((plugin.as_str(), expected.as_str(), found.as_str()), ("minimal", "1.0.0", "2.0.0"));
        }
        other => panic!("expected an ABI major mismatch, got {other}"),
    }
    assert!(err.to_string().contains("rebuild the plugin"), "{err}");
}

#[test]
fn layout_mismatch() {
    let err = load(&named("minimal", libraries().lib("wrong_layout"))).unwrap_err();
    assert!(matches!(err, PluginHostError::LayoutMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("plugin `minimal`"), "{text}");
    assert!(text.contains("in type `LogLevel`: too many variants (expected 3, found 4)"), "{text}");
}

#[test]
fn unknown_export() {
    let err = load(&spec("replay", "misbehaving", json!({}))).unwrap_err();
    assert!(matches!(err, PluginHostError::UnknownExport { .. }), "{err}");
    assert!(err.to_string().contains("counter, erroring, panicky") || err.to_string().contains("panicky"), "{err}");
    // A reward name asked for as a strategy is unknown too.
    assert!(matches!(load(&spec("strict", "misbehaving", json!({}))), Err(PluginHostError::UnknownExport { .. })));
}

#[test]
fn invalid_config() {
    let err = load(&spec("counter", "misbehaving", json!({"scale": "big"}))).unwrap_err();
    assert!(matches!(err, PluginHostError::InvalidConfig { .. }), "{err}");
    let err = RewardPlugin::load(&spec("strict", "misbehaving", json!({})), Arc::new(NoServices), 0).unwrap_err();
    assert!(matches!(err, PluginHostError::InvalidConfig { .. }), "{err}");
    assert!(err.to_string().contains("plugin `strict`") && err.to_string().contains("threshold"), "{err}");
}

#[test]
fn erroring_hook() {
    let mut plugin = load(&spec("erroring", "misbehaving", json!({}))).unwrap();
    let err = plugin.before_task(&CTX).unwrap_err();
    assert!(matches!(err, PluginHostError::Failed { hook: "before_task", .. }), "{err}");
    assert!(err.to_string().contains("plugin `erroring` failed in `before_task`: deliberate failure"), "{err}");
    // An error does not disable the plugin.
    assert!(matches!(plugin.before_task(&CTX), Err(PluginHostError::Failed { .. })));
}

#[test]
fn panicking_hook_is_caught_and_poisons_the_plugin() {
    let mut plugin = load(&spec("panicky", "misbehaving", json!({}))).unwrap();
    let err = plugin.before_task(&CTX).unwrap_err();
    assert!(matches!(err, PluginHostError::Panicked { hook: "before_task", .. }), "{err}");
    assert!(err.to_string().contains("plugin `panicky` panicked in `before_task`: deliberate panic"), "{err}");
    let again = plugin.after_step(&CTX, &json!({})).unwrap_err();
    assert!(matches!(again, PluginHostError::Poisoned { hook: "after_step", .. }), "{again}");
    // The process and other plugins are unaffected.
    let mut other = load(&spec("counter", "misbehaving", json!({}))).unwrap();
    other.after_step(&CTX, &json!({})).unwrap();
}

#[test]
fn reward_errors_name_the_plugin() {
    let mut strict =
        RewardPlugin::load(&spec("strict", "misbehaving", json!({"threshold": 0.5})), Arc::new(NoServices), 0).unwrap();
    assert_eq!(strict.score(&json!({"x": 0.7}), &json!({})).unwrap().value, 1.0);
    let err = strict.score(&json!({}), &json!({})).unwrap_err();
    assert!(err.to_string().contains("plugin `strict` failed in `score`: trajectory has no number `x`"), "{err}");
    let err = strict.score_batch(&[("{not json", "{}")]).unwrap_err();
    assert!(err.to_string().contains("invalid JSON as trajectory 0"), "{err}");
}
