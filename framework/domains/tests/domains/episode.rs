//! Episodes and rewards: modes, termination, error limit, step limit, reward components, partial score.

use std::sync::Arc;

use retain_domains::data::{TaskSet, load_task_set};
use retain_domains::episode::{STOP_TOKEN, UserSimulator};
use retain_domains::evaluation::evaluate_episode;
use retain_domains::message::{Message, ParticipantMessage};
use retain_domains::replay::{gold_messages, run_scripted};
use retain_domains::task::RewardType;
use retain_domains::{Domain, Episode, EpisodeConfig, Mode, Task, TerminationReason, ToolCall};
use serde_json::json;

use super::common::{airline, args, data_dir, gold, retail, telecom};

fn task<D: Domain>(d: &Arc<D>, id: &str) -> Arc<Task> {
    let tasks = load_task_set(&data_dir(), d.name(), &TaskSet::All).unwrap();
    Arc::new(tasks.into_iter().find(|t| t.id == id).unwrap())
}

/// The first task with at least two gold write actions.
fn task_with_writes(d: &Arc<retain_domains::retail::RetailDomain>) -> Arc<Task> {
    let tasks = load_task_set(&data_dir(), d.name(), &TaskSet::parse("base")).unwrap();
    let t = tasks
        .into_iter()
        .find(|t| {
            let acts = t.evaluation_criteria.as_ref().unwrap().actions.clone().unwrap_or_default();
            acts.iter().filter(|a| d.agent_toolkit().get(&a.name).unwrap().kind.mutates_state()).count() >= 2
        })
        .unwrap();
    Arc::new(t)
}

fn call(name: &str, a: serde_json::Value) -> ParticipantMessage {
    ParticipantMessage::calls(vec![ToolCall::assistant(name, args(a))])
}

#[test]
fn ticket_mode_prompt_holds_policy_and_scenario_and_final_text_is_a_user_stop() {
    let d = airline();
    let t = task(&d, "0");
    let mut ep = Episode::start(Arc::clone(&d), Arc::clone(&t), EpisodeConfig::new(Mode::Ticket), None).unwrap();
    let prompt = ep.system_prompt().to_owned();
    assert!(prompt.contains("<policy>") && prompt.contains(d.policy(false)));
    assert!(prompt.contains("<ticket>") && prompt.contains("emma_kim_9957"));
    assert_eq!(ep.tool_schemas().len(), 14);
    let out = ep.step(call("get_user_details", json!({"user_id": "emma_kim_9957"}))).unwrap();
    assert!(matches!(&out.observations[0], Message::Tool(m) if !m.error && m.content.contains("Emma")));
    let out = ep.step(ParticipantMessage::text("I am sorry, the cancellation is not possible.")).unwrap();
    assert_eq!(out.termination, Some(TerminationReason::UserStop));
    assert!(ep.step(ParticipantMessage::text("again")).is_err(), "a finished episode rejects steps");
    let e = evaluate_episode(&ep, &gold(&d)).unwrap();
    assert_eq!(e.reward, 1.0, "a refusal task passes when nothing was written: {e:?}");
}

#[test]
fn solo_mode_is_telecom_only_and_text_is_an_agent_error() {
    let a = airline();
    let err = Episode::start(Arc::clone(&a), task(&a, "0"), EpisodeConfig::new(Mode::Solo), None).unwrap_err();
    assert!(err.to_string().contains("solo"), "{err}");
    let t = telecom();
    let tasks = load_task_set(&data_dir(), "telecom", &TaskSet::Small).unwrap();
    let tk = Arc::new(tasks[0].clone());
    let mut ep = Episode::start(Arc::clone(&t), Arc::clone(&tk), EpisodeConfig::new(Mode::Solo), None).unwrap();
    assert!(ep.system_prompt().contains(tk.ticket.as_deref().unwrap()));
    assert_eq!(ep.tool_schemas().len(), 13 + 30 + 1);
    let out = ep.step(ParticipantMessage::text("Let me check.")).unwrap();
    assert_eq!(out.termination, Some(TerminationReason::AgentError));
    assert_eq!(evaluate_episode(&ep, &gold(&t)).unwrap().reward, 0.0);
    // `done` ends the episode as an agent stop, dropping other calls of the same message.
    let mut ep = Episode::start(Arc::clone(&t), tk, EpisodeConfig::new(Mode::Solo), None).unwrap();
    let msg = ParticipantMessage::calls(vec![
        ToolCall::assistant("toggle_airplane_mode", args(json!({}))),
        ToolCall::assistant("done", args(json!({}))),
    ]);
    let out = ep.step(msg).unwrap();
    assert_eq!(out.termination, Some(TerminationReason::AgentStop));
    assert!(ep.messages().iter().all(|m| !matches!(m, Message::Tool(_))));
}

#[test]
fn ten_tool_errors_end_the_episode_with_reward_zero_and_never_panic() {
    let d = retail();
    let t = task_with_writes(&d);
    let mut ep = Episode::start(Arc::clone(&d), t, EpisodeConfig::new(Mode::Ticket), None).unwrap();
    let bad = [
        call("no_such_tool", json!({})),
        call("get_order_details", json!({})),
        call("get_order_details", json!({"order_id": 7})),
        call("get_order_details", json!({"order_id": "#W0", "x": 1})),
        call("cancel_pending_order", json!({"order_id": "#W0000000", "reason": "no longer needed"})),
        call("calculate", json!({"expression": "1/0"})),
        call(
            "modify_pending_order_items",
            json!({"order_id": "#W0", "item_ids": "x", "new_item_ids": [], "payment_method_id": "p"}),
        ),
        call("return_delivered_order_items", json!({"order_id": [], "item_ids": [], "payment_method_id": null})),
        call("find_user_id_by_email", json!({"email": "nobody@nowhere"})),
    ];
    for (i, m) in bad.into_iter().enumerate() {
        let out = ep.step(m).unwrap();
        assert!(
            matches!(&out.observations[0], Message::Tool(t) if t.error && t.content.starts_with("Error: ")),
            "call {i}: {out:?}"
        );
        assert_eq!(out.termination, None, "call {i}");
    }
    let out = ep.step(call("get_user_details", json!({"user_id": "nobody"}))).unwrap();
    assert_eq!(out.termination, Some(TerminationReason::TooManyErrors));
    assert_eq!(ep.num_errors(), 10);
    let e = evaluate_episode(&ep, &gold(&d)).unwrap();
    assert_eq!(e.reward, 0.0);
    assert!(e.note.unwrap().contains("too_many_errors"));
}

#[test]
fn the_step_limit_ends_the_episode() {
    let d = airline();
    let mut cfg = EpisodeConfig::new(Mode::Ticket);
    cfg.max_steps = 4;
    let mut ep = Episode::start(Arc::clone(&d), task(&d, "0"), cfg, None).unwrap();
    assert_eq!(ep.step(call("list_all_airports", json!({}))).unwrap().termination, None);
    assert_eq!(ep.step(call("list_all_airports", json!({}))).unwrap().termination, Some(TerminationReason::MaxSteps));
    assert_eq!(evaluate_episode(&ep, &gold(&d)).unwrap().reward, 0.0);
}

#[test]
fn extra_reads_pass_one_extra_write_fails_and_partial_score_counts_gold_writes() {
    let d = retail();
    let t = task_with_writes(&d);
    let g = gold(&d);
    let cfg = EpisodeConfig::new(Mode::Ticket);
    let mut msgs = gold_messages(&t, Mode::Ticket);
    msgs.insert(0, call("list_all_product_types", json!({})));
    msgs.insert(1, call("get_user_details", json!({"user_id": "ethan_lopez_6291"})));
    let run = run_scripted(&d, &t, cfg, msgs.clone(), &g).unwrap();
    assert_eq!(run.evaluation.reward, 1.0, "{:?}", run.evaluation);
    assert_eq!(run.evaluation.partial_write_score, Some(1.0));
    // One extra write (an address change) breaks DB equality.
    msgs.insert(
        2,
        call(
            "modify_user_address",
            json!({"user_id": "ethan_lopez_6291", "address1": "1 Main St", "address2": "",
        "city": "Austin", "state": "TX", "country": "USA", "zip": "78701"}),
        ),
    );
    let run = run_scripted(&d, &t, cfg, msgs, &g).unwrap();
    assert_eq!(run.evaluation.reward, 0.0);
    assert_eq!(run.evaluation.component(RewardType::Db), Some(0.0));
    assert!(!run.evaluation.db_match.unwrap().agent);
    // Skipping the last gold write: DB fails, partial score below 1.
    let mut msgs = gold_messages(&t, Mode::Ticket);
    let writes: Vec<usize> = t
        .evaluation_criteria
        .as_ref()
        .unwrap()
        .actions
        .as_ref()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, a)| d.agent_toolkit().get(&a.name).unwrap().kind.mutates_state())
        .map(|(i, _)| i)
        .collect();
    msgs.remove(*writes.last().unwrap());
    let run = run_scripted(&d, &t, cfg, msgs, &g).unwrap();
    assert_eq!(run.evaluation.reward, 0.0);
    let p = run.evaluation.partial_write_score.unwrap();
    assert!(p < 1.0 && p > 0.0, "{p}");
}

#[test]
fn communicate_info_is_matched_case_insensitively_without_commas() {
    let d = airline();
    let tasks = load_task_set(&data_dir(), "airline", &TaskSet::All).unwrap();
    let t = Arc::new(
        tasks
            .into_iter()
            .find(|t| t.evaluation_criteria.as_ref().unwrap().communicate_info.as_ref().is_some_and(|c| !c.is_empty()))
            .unwrap(),
    );
    let info = t.evaluation_criteria.as_ref().unwrap().communicate_info.clone().unwrap();
    let g = gold(&d);
    let mut msgs = gold_messages(&t, Mode::Ticket);
    msgs.pop();
    let mut without = msgs.clone();
    without.push(ParticipantMessage::text("Done."));
    let run = run_scripted(&d, &t, EpisodeConfig::new(Mode::Ticket), without, &g).unwrap();
    assert_eq!(run.evaluation.component(RewardType::Communicate), Some(0.0));
    assert_eq!(run.evaluation.reward, 0.0);
    let mut with = msgs;
    with.push(ParticipantMessage::text(format!("THE ANSWER: {}", info.join(" and ").to_uppercase())));
    let run = run_scripted(&d, &t, EpisodeConfig::new(Mode::Ticket), with, &g).unwrap();
    assert_eq!(run.evaluation.component(RewardType::Communicate), Some(1.0), "{info:?}");
}

struct ScriptedUser(Vec<&'static str>);

impl UserSimulator for ScriptedUser {
    fn next_message(&mut self, _history: &[Message]) -> Result<ParticipantMessage, String> {
        if self.0.is_empty() { Err("script exhausted".into()) } else { Ok(ParticipantMessage::text(self.0.remove(0))) }
    }
}

#[test]
fn conversation_mode_greets_then_follows_the_user_until_a_stop() {
    let d = airline();
    let user = ScriptedUser(vec!["I want to cancel EHGLP3.", STOP_TOKEN]);
    let mut ep =
        Episode::start(Arc::clone(&d), task(&d, "0"), EpisodeConfig::new(Mode::Conversation), Some(Box::new(user)))
            .unwrap();
    assert!(
        matches!(&ep.messages()[1], Message::Assistant(m) if m.content.as_deref() == Some("Hi! How can I help you today?"))
    );
    assert!(matches!(&ep.messages()[2], Message::User(m) if m.content.as_deref() == Some("I want to cancel EHGLP3.")));
    let out = ep.step(ParticipantMessage::text("Sorry, that is not possible.")).unwrap();
    assert_eq!(out.termination, Some(TerminationReason::UserStop));
    assert_eq!(evaluate_episode(&ep, &gold(&d)).unwrap().reward, 1.0);
}
