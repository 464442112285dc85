//! Scoring recorded trajectories (`retain tau2 evaluate`): gold trajectories, hand-made variations and
//! malformed lines.

use std::sync::OnceLock;

use retain_domains::data::{TaskSet, load_task_set};
use retain_domains::trajectory::{Limits, TaskIndex};
use serde_json::{Value, json};

use super::common::data_dir;

fn index() -> &'static TaskIndex {
    static I: OnceLock<TaskIndex> = OnceLock::new();
    I.get_or_init(|| TaskIndex::load(&data_dir(), &["airline", "retail", "telecom"]).unwrap())
}

fn score(line: Value) -> Value {
    index().score_line(&line.to_string(), Limits::default())
}

fn gold_line(domain: &str, task: &retain_domains::Task) -> Value {
    let c = task.evaluation_criteria.as_ref().unwrap();
    let steps: Vec<Value> = c
        .actions
        .iter()
        .flatten()
        .map(|a| json!({"name": a.name, "arguments": a.arguments, "requestor": a.requestor}))
        .collect();
    if domain == "telecom" {
        let mut steps = steps;
        steps.push(json!({"name": "done", "arguments": {}}));
        json!({"domain": domain, "task_id": task.id, "solo_mode": true, "steps": steps})
    } else {
        let text = c.communicate_info.clone().unwrap_or_default().join(", ");
        json!({"domain": domain, "task_id": task.id, "steps": steps, "final_message": if text.is_empty() { "Done.".to_owned() } else { text }})
    }
}

#[test]
fn gold_trajectories_of_all_official_tasks_score_one() {
    for (domain, set) in [("airline", "base"), ("retail", "base"), ("telecom", "base"), ("telecom", "small")] {
        for task in load_task_set(&data_dir(), domain, &TaskSet::parse(set)).unwrap() {
            let out = score(gold_line(domain, &task));
            assert_eq!(out["reward"], 1.0, "{domain} {}: {out}", task.id);
        }
    }
}

#[test]
fn messages_form_is_executed_live_and_recorded_outputs_are_ignored() {
    let line = json!({"domain": "airline", "task_id": "0", "messages": [
        {"role": "assistant", "content": "Hi! How can I help you today?"},
        {"role": "user", "content": "Cancel EHGLP3 please."},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "1", "name": "get_reservation_details", "arguments": {"reservation_id": "EHGLP3"}}]},
        {"role": "tool", "id": "1", "content": "forged output", "requestor": "assistant", "error": false},
        {"role": "assistant", "content": "That reservation cannot be cancelled."},
        {"role": "user", "content": "OK ###STOP###"}
    ]});
    let out = score(line);
    assert_eq!(out["reward"], 1.0, "{out}");
    assert_eq!(out["termination"], "user_stop");
    assert!(out["steps"][0]["content"].as_str().unwrap().starts_with("{\"reservation_id\": \"EHGLP3\""));
}

#[test]
fn hand_made_variations_get_the_rewards_taus_rules_imply() {
    let tasks = load_task_set(&data_dir(), "airline", &TaskSet::All).unwrap();
    // A task with a write and communicate_info.
    let t = tasks
        .iter()
        .find(|t| {
            let c = t.evaluation_criteria.as_ref().unwrap();
            c.communicate_info.as_ref().is_some_and(|i| !i.is_empty())
        })
        .unwrap();
    let base = gold_line("airline", t);
    assert_eq!(score(base.clone())["reward"], 1.0);
    // Missing final message: COMMUNICATE fails.
    let mut v = base.clone();
    v["final_message"] = Value::Null;
    let out = score(v);
    assert_eq!((out["reward"].clone(), out["components"]["COMMUNICATE"].clone()), (json!(0.0), json!(0.0)), "{out}");
    // Extra read and an unknown tool: still 1 (errors are observations; reads are free).
    let mut v = base.clone();
    v["steps"].as_array_mut().unwrap().insert(0, json!({"name": "list_all_airports", "arguments": {}}));
    v["steps"].as_array_mut().unwrap().insert(0, json!({"name": "teleport", "arguments": {}}));
    let out = score(v);
    assert_eq!(out["reward"], 1.0, "{out}");
    assert_eq!(
        out["steps"][0],
        json!({"name": "teleport", "content": "Error: Tool 'teleport' not found.", "error": true})
    );
    // A wrong write: DB fails.
    let mut v = base.clone();
    v["steps"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "send_certificate", "arguments": {"user_id": "mei_hernandez_8984", "amount": 50}}));
    let out = score(v);
    assert_eq!((out["reward"].clone(), out["db_match"].clone()), (json!(0.0), json!(false)), "{out}");
    // A missing write (a task whose gold has a write).
    let tw = tasks
        .iter()
        .find(|t| {
            t.evaluation_criteria.as_ref().unwrap().actions.iter().flatten().any(|a| a.name == "cancel_reservation")
        })
        .unwrap();
    let mut v = gold_line("airline", tw);
    v["steps"].as_array_mut().unwrap().retain(|s| s["name"] != "cancel_reservation");
    let out = score(v);
    assert_eq!(out["reward"], 0.0, "{out}");
    assert_eq!(out["components"]["DB"], 0.0);
}

#[test]
fn malformed_lines_yield_an_error_field_and_the_rest_is_scored() {
    let bad = [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "not a JSON object"),
        (r#"{"domain": "bank", "task_id": "0", "steps": []}"#, "unknown domain"),
        (r#"{"domain": "airline", "task_id": "no-such", "steps": []}"#, "unknown task"),
        (r#"{"domain": "airline", "task_id": "0", "steps": [{"arguments": {}}]}"#, "no tool name"),
        (
            r#"{"domain": "airline", "task_id": "0", "steps": [{"name": "calculate", "arguments": [1]}]}"#,
            "not an object",
        ),
        (r#"{"domain": "airline", "task_id": "0"}"#, "neither"),
        (r#"{"domain": "airline", "task_id": "0", "solo_mode": true, "steps": []}"#, "solo"),
    ];
    for (line, why) in bad {
        let out = index().score_line(line, Limits::default());
        let err = out["error"].as_str().unwrap_or_else(|| panic!("no error for {line}: {out}"));
        assert!(err.contains(why), "{line}: {err}");
    }
    let good = index()
        .score_line(r#"{"domain": "airline", "task_id": "0", "steps": [], "final_message": "No."}"#, Limits::default());
    assert_eq!(good["reward"], 1.0, "{good}");
    assert_eq!(good["task_id"], "0");
}
