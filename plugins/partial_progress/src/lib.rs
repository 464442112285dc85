//! The built-in reward `partial_progress`: the fraction of the task's gold **write** actions that the agent's tool
//! calls matched — a dense signal where τ²'s all-or-nothing reward gives none (AReaL's "partial reward based on
//! progress").
//!
//! * Gold write actions are the task's `evaluation_criteria.actions` whose tool is one of the trajectory's
//!   `write_tools` (the host lists the domain's database-writing tools there).
//! * A gold action is matched when some tool call of the trajectory has the same name and requestor and equal
//!   values for the compared arguments (τ²'s action match: `compare_args`, or all of the gold arguments).
//! * A task without gold writes (e.g. a request the policy says to refuse) scores 1 when the agent made no write
//!   call and 0 otherwise: for such tasks, not writing is the whole progress.
//! * Failed calls (answered by a tool message with `error: true`) do not count as matches.

use retain_plugin_api::contract::{Message, TaskView, ToolCall, Trajectory};
use retain_plugin_api::{Host, PluginError, Reward, Score, export_plugins};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;

/// `partial_progress` takes no options.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartialProgressConfig {}

/// Fraction of gold write actions matched.
#[derive(Debug)]
pub struct PartialProgress;

/// The tool calls of the trajectory that did not fail.
fn successful_calls(messages: &[Message]) -> Vec<&ToolCall> {
    let failed: HashSet<&str> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Tool { id, error: true, .. } if !id.is_empty() => Some(id.as_str()),
            _ => None,
        })
        .collect();
    messages
        .iter()
        .flat_map(Message::tool_calls)
        .filter(|c| c.id.is_empty() || !failed.contains(c.id.as_str()))
        .collect()
}

/// Scores one trajectory against its task (see the module docs).
pub fn progress(trajectory: &Trajectory, task: &TaskView) -> Result<Score, PluginError> {
    if trajectory.write_tools.is_empty() {
        return Err(PluginError::failed(format!(
            "trajectory of task `{}` lists no `write_tools`; the host must name the domain's write tools",
            trajectory.task_id
        )));
    }
    let writes: HashSet<&str> = trajectory.write_tools.iter().map(String::as_str).collect();
    let gold: Vec<_> = task.gold_actions().iter().filter(|a| writes.contains(a.name.as_str())).collect();
    let calls = successful_calls(&trajectory.messages);
    if gold.is_empty() {
        let wrote = calls.iter().any(|c| writes.contains(c.name.as_str()));
        let value = if wrote { 0.0 } else { 1.0 };
        return Ok(Score::new(value).with("gold_writes", 0.0).with("matched", 0.0));
    }
    let matched = gold.iter().filter(|a| calls.iter().any(|c| a.matches(c))).count();
    Ok(Score::new(matched as f64 / gold.len() as f64)
        .with("gold_writes", gold.len() as f64)
        .with("matched", matched as f64))
}

impl Reward for PartialProgress {
    const NAME: &'static str = "partial_progress";
    const DESCRIPTION: &'static str = "Fraction of the task's gold write actions matched by the agent's tool calls.";
    type Config = PartialProgressConfig;

    fn config_schema() -> Value {
        json!({"type": "object", "properties": {}, "additionalProperties": false})
    }

    fn new(_config: PartialProgressConfig, _host: Host) -> Result<Self, PluginError> {
        Ok(PartialProgress)
    }

    fn score(&mut self, trajectory: &Value, task: &Value) -> Result<Score, PluginError> {
        let trajectory: Trajectory = serde_json::from_value(trajectory.clone())
            .map_err(|e| PluginError::failed(format!("the trajectory does not follow the contract: {e}")))?;
        let task: TaskView = serde_json::from_value(task.clone())
            .map_err(|e| PluginError::failed(format!("the task is not a τ² task: {e}")))?;
        progress(&trajectory, &task)
    }
}

export_plugins! {
    description: "The partial-progress reward (gold write actions matched).",
    strategies: [],
    rewards: [PartialProgress],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traj(calls: Value, tool_errors: bool) -> Trajectory {
        serde_json::from_value(json!({
            "task_id": "t",
            "write_tools": ["cancel_reservation", "update_address"],
            "messages": [
                {"role": "assistant", "tool_calls": calls},
                {"role": "tool", "id": "c1", "content": "…", "error": tool_errors}
            ]
        }))
        .unwrap()
    }

    fn task() -> TaskView {
        serde_json::from_value(json!({"id": "t", "evaluation_criteria": {"actions": [
            {"action_id": "a", "name": "get_user", "arguments": {"user_id": "u1"}},
            {"action_id": "b", "name": "cancel_reservation", "arguments": {"reservation_id": "R1"}},
            {"action_id": "c", "name": "update_address", "arguments": {"city": "X", "zip": "1"}, "compare_args": ["city"]}
        ]}}))
        .unwrap()
    }

    #[test]
    fn counts_matched_gold_writes_only() {
        let t = traj(json!([{"id": "c1", "name": "cancel_reservation", "arguments": {"reservation_id": "R1"}}]), false);
        assert_eq!(progress(&t, &task()).unwrap().value, 0.5);
        let t = traj(
            json!([{"id": "c1", "name": "cancel_reservation", "arguments": {"reservation_id": "R1"}},
                   {"id": "c2", "name": "update_address", "arguments": {"city": "X", "zip": "other"}}]),
            false,
        );
        assert_eq!(progress(&t, &task()).unwrap().value, 1.0);
        let t = traj(json!([{"id": "c1", "name": "cancel_reservation", "arguments": {"reservation_id": "R2"}}]), false);
        assert_eq!(progress(&t, &task()).unwrap().value, 0.0);
    }

    #[test]
    fn failed_calls_do_not_count_and_no_gold_writes_means_do_not_write() {
        let t = traj(json!([{"id": "c1", "name": "cancel_reservation", "arguments": {"reservation_id": "R1"}}]), true);
        assert_eq!(progress(&t, &task()).unwrap().value, 0.0);
        let refusal: TaskView =
            serde_json::from_value(json!({"id": "r", "evaluation_criteria": {"actions": []}})).unwrap();
        let t = traj(json!([{"id": "c9", "name": "get_user", "arguments": {}}]), false);
        assert_eq!(progress(&t, &refusal).unwrap().value, 1.0);
        let t = traj(json!([{"id": "c9", "name": "cancel_reservation", "arguments": {}}]), false);
        assert_eq!(progress(&t, &refusal).unwrap().value, 0.0);
    }

    #[test]
    fn missing_write_tools_is_an_error() {
        let mut t = traj(json!([]), false);
        t.write_tools.clear();
        assert!(progress(&t, &task()).unwrap_err().message.contains("write_tools"));
    }
}
