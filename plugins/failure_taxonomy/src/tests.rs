//! One hand-written trajectory per failure mode, each a small edit of a clean episode that triggers none.

use super::*;
use serde_json::json;

fn task() -> Value {
    json!({
        "id": "cancel_1",
        "evaluation_criteria": {
            "actions": [
                {"action_id": "a0", "name": "get_user_details", "arguments": {"user_id": "mia_li_3668"}},
                {"action_id": "a1", "name": "cancel_reservation", "arguments": {"reservation_id": "ABC123"}}
            ],
            "communicate_info": ["100"]
        }
    })
}

fn call(id: &str, name: &str, args: Value) -> Value {
    json!({"id": id, "name": name, "arguments": args})
}

fn assistant(text: Option<&str>, calls: Vec<Value>) -> Value {
    let calls = if calls.is_empty() { Value::Null } else { Value::Array(calls) };
    json!({"role": "assistant", "content": text, "tool_calls": calls})
}

fn tool(id: &str, content: &str, error: bool) -> Value {
    json!({"role": "tool", "id": id, "content": content, "error": error})
}

fn system() -> Value {
    json!({"role": "system", "content": "Ticket: user mia_li_3668 asks to cancel reservation ABC123."})
}

fn lookup() -> Vec<Value> {
    vec![
        assistant(None, vec![call("c1", "get_user_details", json!({"user_id": "mia_li_3668"}))]),
        tool("c1", r#"{"reservations": ["ABC123"]}"#, false),
    ]
}

fn cancel(id: &str, reservation: &str, error: bool) -> Vec<Value> {
    let output =
        if error { "Error: reservation cannot be cancelled" } else { r#"{"status": "cancelled", "refund": 100}"# };
    vec![
        assistant(None, vec![call(id, "cancel_reservation", json!({"reservation_id": reservation}))]),
        tool(id, output, error),
    ]
}

const DONE: &str = "Your reservation ABC123 has been cancelled and 100 dollars will be refunded.";

fn trajectory(messages: Vec<Value>, termination: &str) -> Value {
    json!({
        "domain": "airline",
        "task_id": "cancel_1",
        "messages": messages,
        "termination": termination,
        "evaluation": {"reward": 1.0, "components": {"db": 1.0}},
        "write_tools": ["cancel_reservation"]
    })
}

fn clean_messages() -> Vec<Value> {
    let mut m = vec![system()];
    m.extend(lookup());
    m.extend(cancel("c2", "ABC123", false));
    m.push(assistant(Some(DONE), vec![]));
    m
}

fn detected(trajectory_json: &Value) -> Vec<&'static str> {
    let reward = FailureTaxonomy::from_config(TaxonomyConfig::default()).unwrap();
    let t: Trajectory = serde_json::from_value(trajectory_json.clone()).unwrap();
    let task_json = task();
    let k: TaskView = serde_json::from_value(task_json.clone()).unwrap();
    reward.detect(&t, &k, &task_json).into_iter().map(FailureMode::name).collect()
}

#[test]
fn clean_episode_shows_no_failure() {
    assert_eq!(detected(&trajectory(clean_messages(), "agent_stop")), Vec::<&str>::new());
}

#[test]
fn disobey_specification() {
    assert_eq!(detected(&trajectory(clean_messages(), "agent_error")), ["disobey_specification"]);
}

#[test]
fn step_repetition() {
    let mut m = vec![system()];
    m.extend(lookup());
    m.extend(vec![
        assistant(None, vec![call("c9", "get_user_details", json!({"user_id": "mia_li_3668"}))]),
        tool("c9", r#"{"reservations": ["ABC123"]}"#, false),
    ]);
    m.extend(cancel("c2", "ABC123", false));
    m.push(assistant(Some(DONE), vec![]));
    assert_eq!(detected(&trajectory(m, "agent_stop")), ["step_repetition"]);
}

#[test]
fn repeated_text_is_step_repetition_too() {
    let mut m = clean_messages();
    m.insert(1, assistant(Some("Let me check."), vec![]));
    m.insert(2, assistant(Some("Let me check."), vec![]));
    assert_eq!(detected(&trajectory(m, "agent_stop")), ["step_repetition"]);
}

#[test]
fn unaware_of_termination() {
    assert_eq!(detected(&trajectory(clean_messages(), "max_steps")), ["unaware_of_termination"]);
    assert_eq!(detected(&trajectory(clean_messages(), "too_many_errors")), ["unaware_of_termination"]);
}

#[test]
fn information_withholding() {
    let mut m = clean_messages();
    m.pop();
    m.push(assistant(Some("Your reservation ABC123 has been cancelled."), vec![]));
    assert_eq!(detected(&trajectory(m, "agent_stop")), ["information_withholding"]);
}

#[test]
fn ignored_tool_error() {
    let mut m = vec![system()];
    m.extend(lookup());
    m.extend(cancel("c2", "ABC123", true));
    m.extend(cancel("c3", "ABC123", false));
    m.push(assistant(Some(DONE), vec![]));
    assert_eq!(detected(&trajectory(m, "agent_stop")), ["ignored_tool_error"]);
}

#[test]
fn reasoning_action_mismatch() {
    let mut m = vec![system()];
    m.extend(lookup());
    m.push(assistant(
        Some("First I will look the user up again with get_user_details."),
        vec![call("c2", "cancel_reservation", json!({"reservation_id": "ABC123"}))],
    ));
    m.push(tool("c2", r#"{"status": "cancelled", "refund": 100}"#, false));
    m.push(assistant(Some(DONE), vec![]));
    assert_eq!(detected(&trajectory(m, "agent_stop")), ["reasoning_action_mismatch"]);
}

#[test]
fn premature_termination() {
    let mut m = vec![system()];
    m.extend(lookup());
    m.push(assistant(Some("I found your reservations. Anything else?"), vec![]));
    assert_eq!(detected(&trajectory(m, "user_stop")), ["premature_termination"]);
}

#[test]
fn no_verification() {
    let mut m = vec![system()];
    m.extend(cancel("c2", "ABC123", false));
    m.push(assistant(Some(DONE), vec![]));
    assert_eq!(detected(&trajectory(m, "agent_stop")), ["no_verification"]);
}

#[test]
fn incorrect_verification() {
    let mut m = vec![system()];
    m.extend(lookup());
    m.extend(cancel("c2", "ABC123", true));
    m.push(assistant(Some("Your reservation ABC123 has been cancelled."), vec![]));
    assert_eq!(detected(&trajectory(m, "agent_stop")), ["incorrect_verification"]);
}

#[test]
fn hallucinated_ids() {
    let mut m = vec![system()];
    m.extend(lookup());
    m.extend(cancel("c2", "ZZZ999", false));
    m.push(assistant(Some(DONE), vec![]));
    assert_eq!(detected(&trajectory(m, "agent_stop")), ["hallucinated_ids"]);
}

#[test]
fn reward_is_base_plus_alpha_over_one_plus_failures() {
    let config = TaxonomyConfig { alpha: 0.5, ..TaxonomyConfig::default() };
    let mut reward = FailureTaxonomy::from_config(config).unwrap();
    let clean = reward.score(&trajectory(clean_messages(), "agent_stop"), &task()).unwrap();
    assert_eq!(clean.value, 1.5);
    let mut two = trajectory(clean_messages(), "max_steps");
    two["evaluation"]["reward"] = json!(0.0);
    two["messages"] = Value::Array({
        let mut m = vec![system()];
        m.extend(cancel("c2", "ABC123", false));
        m.push(assistant(Some(DONE), vec![]));
        m
    });
    let s = reward.score(&two, &task()).unwrap();
    assert!((s.value - 0.5 / 3.0).abs() < 1e-12, "{s:?}");
    assert!(s.components.contains(&("failures".to_owned(), 2.0)));
    assert!(s.components.contains(&("failure/no_verification".to_owned(), 1.0)));
    assert!(s.components.contains(&("failure/unaware_of_termination".to_owned(), 1.0)));
}

#[test]
fn config_is_checked() {
    let bad = TaxonomyConfig { disabled: vec!["nope".to_owned()], ..TaxonomyConfig::default() };
    assert!(FailureTaxonomy::from_config(bad).unwrap_err().message.contains("unknown detector `nope`"));
    let bad = TaxonomyConfig { alpha: -1.0, ..TaxonomyConfig::default() };
    assert!(FailureTaxonomy::from_config(bad).is_err());
    let off = TaxonomyConfig { disabled: vec!["unaware_of_termination".to_owned()], ..TaxonomyConfig::default() };
    let reward = FailureTaxonomy::from_config(off).unwrap();
    let t: Trajectory = serde_json::from_value(trajectory(clean_messages(), "max_steps")).unwrap();
    let k: TaskView = serde_json::from_value(task()).unwrap();
    assert!(reward.detect(&t, &k, &task()).is_empty());
}

mod judge_http;
