//! Every built-in plugin, loaded from the real shared library this workspace builds.

use super::build::{BUILTIN_STRATEGIES, BUILTINS, libraries};
use retain_config::PluginSpec;
use retain_plugin_api::contract::BatchItem;
use retain_plugin_api::{Context, TensorView, TensorViewMut};
use retain_plugin_host::{NoServices, PluginHostError, RewardPipeline, RewardPlugin, StrategyPlugin, inspect};
use serde_json::{Value, json};
use std::sync::Arc;

fn builtin(name: &str, config: Value) -> PluginSpec {
    PluginSpec { name: name.to_owned(), path: Some(libraries().builtin(name)), priority: 0, weight: 1.0, config }
}

fn reward(name: &str, config: Value) -> RewardPlugin {
    RewardPlugin::load(&builtin(name, config), Arc::new(NoServices), 0).unwrap()
}

fn task() -> Value {
    json!({"id": "t1", "evaluation_criteria": {"actions": [
        {"action_id": "0", "name": "get_user_details", "arguments": {"user_id": "mia_li_3668"}},
        {"action_id": "1", "name": "cancel_reservation", "arguments": {"reservation_id": "ABC123"}},
        {"action_id": "2", "name": "send_certificate", "arguments": {"user_id": "mia_li_3668", "amount": 50}}
    ]}})
}

fn trajectory(reward: f64, cancel_id: &str, termination: &str) -> Value {
    json!({
        "domain": "airline", "task_id": "t1", "termination": termination,
        "messages": [
            {"role": "system", "content": "Ticket: mia_li_3668 wants reservation ABC123 cancelled."},
            {"role": "assistant", "tool_calls": [{"id": "c1", "name": "get_user_details", "arguments": {"user_id": "mia_li_3668"}}]},
            {"role": "tool", "id": "c1", "content": "{\"reservations\": [\"ABC123\"]}", "error": false},
            {"role": "assistant", "tool_calls": [{"id": "c2", "name": "cancel_reservation", "arguments": {"reservation_id": cancel_id}}]},
            {"role": "tool", "id": "c2", "content": "{\"status\": \"cancelled\"}", "error": false},
            {"role": "assistant", "content": "Your reservation has been cancelled."}
        ],
        "evaluation": {"reward": reward, "components": {"db": reward, "communicate": 1.0}},
        "write_tools": ["cancel_reservation", "send_certificate"]
    })
}

#[test]
fn inspect_describes_every_builtin() {
    for name in BUILTINS {
        let report = inspect(&libraries().builtin(name)).unwrap();
        assert_eq!(report.name, format!("retain-plugin-{}", name.replace('_', "-")));
        assert_eq!(report.abi_version, "1.0.0");
        assert_eq!(report.host_abi_version, "1.0.0");
        assert!(!report.description.is_empty());
        assert_eq!(report.exports.len(), 1, "{name}");
        let export = &report.exports[0];
        assert_eq!(export.name, name);
        assert_eq!(export.kind, if BUILTIN_STRATEGIES.contains(&name) { "strategy" } else { "reward" }, "{name}");
        assert!(export.config_schema.is_object(), "{name}: {}", export.config_schema);
    }
}

#[test]
fn sequential_changes_nothing() {
    let mut s = StrategyPlugin::load(&builtin("sequential", json!({})), Arc::new(NoServices), 0).unwrap();
    let ctx = Context { domain: "airline", domain_index: 0, num_domains: 3, step: 0, global_step: 0 };
    s.before_task(&ctx).unwrap();
    let batch = vec![BatchItem { domain: "airline".to_owned(), task: json!({"id": "1"}) }];
    assert_eq!(s.augment_batch(&ctx, &batch).unwrap(), batch);
    let w = vec![1.0f32, -2.0];
    let params = [TensorView::new("w", &[2], &w)];
    assert!(s.loss_terms(&ctx, &params).unwrap().is_empty());
    let mut g = vec![0.25f32, 0.5];
    s.adjust_gradients(&ctx, &params, &mut [TensorViewMut::new("w", &[2], &mut g)]).unwrap();
    assert_eq!(g, [0.25, 0.5]);
    s.after_step(&ctx, &json!({"loss": 1.0})).unwrap();
    s.after_evaluation(&ctx, &json!({})).unwrap();
    s.after_task(&ctx, &params).unwrap();
    let state = s.save_state().unwrap();
    s.load_state(&state).unwrap();
    let err = StrategyPlugin::load(&builtin("sequential", json!({"rho": 0.1})), Arc::new(NoServices), 0).unwrap_err();
    assert!(matches!(err, PluginHostError::InvalidConfig { .. }), "{err}");
    assert!(err.to_string().contains("plugin `sequential`") && err.to_string().contains("rho"), "{err}");
}

#[test]
fn task_success_returns_the_hosts_evaluation() {
    let mut r = reward("task_success", json!({}));
    let score = r.score(&trajectory(1.0, "ABC123", "agent_stop"), &task()).unwrap();
    assert_eq!(score.value, 1.0);
    assert_eq!(score.components, [("communicate".to_owned(), 1.0), ("db".to_owned(), 1.0)]);
    let mut bare = trajectory(1.0, "ABC123", "agent_stop");
    bare.as_object_mut().unwrap().remove("evaluation");
    let err = r.score(&bare, &task()).unwrap_err();
    assert!(matches!(err, PluginHostError::Failed { hook: "score", .. }), "{err}");
    assert!(err.to_string().contains("plugin `task_success`") && err.to_string().contains("evaluation"), "{err}");
}

#[test]
fn partial_progress_counts_gold_writes() {
    let mut r = reward("partial_progress", json!({}));
    let half = r.score(&trajectory(0.0, "ABC123", "agent_stop"), &task()).unwrap();
    assert_eq!(half.value, 0.5);
    assert!(half.components.contains(&("gold_writes".to_owned(), 2.0)));
    assert_eq!(r.score(&trajectory(0.0, "WRONG1", "agent_stop"), &task()).unwrap().value, 0.0);
}

#[test]
fn failure_taxonomy_scores_and_rejects_bad_config() {
    let mut r = reward("failure_taxonomy", json!({"alpha": 0.5}));
    let clean = trajectory(1.0, "ABC123", "agent_stop");
    let clean_task = json!({"id": "t1", "evaluation_criteria": {"actions": [
        {"action_id": "1", "name": "cancel_reservation", "arguments": {"reservation_id": "ABC123"}}]}});
    assert_eq!(r.score(&clean, &clean_task).unwrap().value, 1.5);
    // Step limit + a fabricated reservation id: two failures.
    let bad = r.score(&trajectory(0.0, "ZZZ999", "max_steps"), &clean_task).unwrap();
    assert!((bad.value - 0.5 / 3.0).abs() < 1e-12, "{bad:?}");
    assert!(bad.components.contains(&("failure/hallucinated_ids".to_owned(), 1.0)));
    for config in [json!({"alpha": -1.0}), json!({"alpha": 0.3, "judge": true}), json!({"disabled": ["nope"]})] {
        let err =
            RewardPlugin::load(&builtin("failure_taxonomy", config.clone()), Arc::new(NoServices), 0).unwrap_err();
        assert!(matches!(err, PluginHostError::InvalidConfig { .. }), "{config}: {err}");
        assert!(err.to_string().starts_with("plugin `failure_taxonomy`"), "{err}");
    }
}

#[test]
fn pipeline_feeds_earlier_rewards_to_composite() {
    let mut specs = vec![
        builtin("task_success", json!({})),
        builtin("partial_progress", json!({})),
        builtin(
            "composite",
            json!({"mode": "normalize_then_sum", "weights": {"task_success": 1.0, "partial_progress": 0.5}}),
        ),
    ];
    specs[0].weight = 0.0;
    specs[1].weight = 0.0;
    specs[2].priority = 10;
    let mut pipeline = RewardPipeline::load(&specs, Arc::new(NoServices), 0).unwrap();
    let items =
        vec![(trajectory(1.0, "ABC123", "agent_stop"), task()), (trajectory(0.0, "WRONG1", "agent_stop"), task())];
    let out = pipeline.score(&items).unwrap();
    let names: Vec<&str> = out[0].scores.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["partial_progress", "task_success", "composite"]);
    // Both rewards are ±1 after standardisation over the two trajectories: 1 + 0.5 and −1 − 0.5.
    assert!((out[0].total - 1.5).abs() < 1e-4 && (out[1].total + 1.5).abs() < 1e-4, "{out:?}");

    let err = RewardPlugin::load(&builtin("composite", json!({})), Arc::new(NoServices), 0).unwrap_err();
    assert!(matches!(err, PluginHostError::InvalidConfig { .. }) && err.to_string().contains("weights"), "{err}");
    let mut alone = RewardPipeline::load(
        &[builtin("composite", json!({"weights": {"task_success": 1.0}}))],
        Arc::new(NoServices),
        0,
    )
    .unwrap();
    let err = alone.score(&items).unwrap_err().to_string();
    assert!(err.contains("plugin `composite`") && err.contains("`task_success` has not been computed"), "{err}");
}
