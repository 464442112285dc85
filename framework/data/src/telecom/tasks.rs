//! Telecom task composition: one intent, one to `max_issues` compatible sub-issues, τ²'s assertions.
//!
//! Task ids follow τ²'s pattern `[<intent>]<sub1>|<sub2>` with the split and index appended. Gold actions
//! are what the oracle does in solo mode: look the customer and line up (when an agent tool needs them),
//! then per sub-issue the check that reveals it and τ²'s fix. Rewards are τ²'s: `ENV_ASSERTION` (service
//! connected and no overdue bill / mobile data at excellent speed / MMS sendable), plus `ACTION` on
//! `transfer_to_human_agents` for the unfixable sub-issues (locked SIM, ended contract).

use rand::Rng;
use serde_json::{Value, json};

use retain_domains::Requestor;
use retain_domains::task::{EnvAssertion, InitialState, RewardType};
use retain_domains::telecom::TelecomState;
use retain_domains::telecom::agent_db::{BillStatus, Customer, LineStatus};

use super::issues::{Ctx, ISSUES, Intent, Issue, Step};
use crate::error::DataError;
use crate::ids::GenRng;
use crate::knobs::{GeneratorConfig, Split};
use crate::task_builder::{GeneratedTask, TaskSpec, action, action_name_only, args};

/// Every sub-issue name (the telecom "families" the config can select).
pub fn families() -> Vec<&'static str> {
    ISSUES.iter().map(|i| i.name).collect()
}

/// The customers of a split: among customers with at least one active line (the only ones a ticket can be
/// about), the last `test_fraction` (database order) are test customers, the rest training customers.
pub fn customer_pool(state: &TelecomState, split: Split, test_fraction: f64) -> Vec<usize> {
    let usable: Vec<usize> = (0..state.agent.customers.len())
        .filter(|i| {
            state.agent.customers[*i]
                .line_ids
                .iter()
                .any(|l| state.agent.line(l).is_some_and(|x| x.status == LineStatus::Active))
        })
        .collect();
    let n = usable.len();
    let n_test = ((n as f64) * test_fraction).round().clamp(1.0, (n.saturating_sub(1)).max(1) as f64) as usize;
    let boundary = n.saturating_sub(n_test);
    usable.into_iter().enumerate().filter(|(k, _)| (*k >= boundary) == (split == Split::Test)).map(|(_, i)| i).collect()
}

fn assertion(side: Requestor, name: &str, arguments: Value, message: Option<&str>) -> EnvAssertion {
    EnvAssertion {
        env_type: side,
        func_name: name.to_owned(),
        arguments: match arguments {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        },
        assert_value: true,
        message: message.map(str::to_owned),
    }
}

fn choose_issues(
    intent: Intent,
    k: usize,
    config: &GeneratorConfig,
    possible: impl Fn(&Issue) -> bool,
    rng: &mut GenRng,
) -> Vec<&'static Issue> {
    let mut chosen: Vec<&'static Issue> = Vec::new();
    let mut candidates: Vec<&'static Issue> =
        ISSUES.iter().filter(|i| i.fits(intent) && config.family_enabled(i.name) && possible(i)).collect();
    while chosen.len() < k && !candidates.is_empty() {
        let pick = candidates.swap_remove(rng.random_range(0..candidates.len()));
        if pick.unfixable && k > 1 {
            continue;
        }
        chosen.push(pick);
        candidates.retain(|c| c.group.is_none() || c.group != pick.group);
    }
    chosen.sort_by_key(|i| ISSUES.iter().position(|x| x.name == i.name));
    chosen
}

/// Generates telecom task `index` of `split` on `state`.
pub fn generate_task(
    state: &TelecomState,
    config: &GeneratorConfig,
    split: Split,
    index: usize,
    seed: u64,
) -> Result<GeneratedTask, DataError> {
    let all = families();
    config.enabled_families("telecom", &all)?;
    let pool = customer_pool(state, split, config.test_fraction);
    if pool.is_empty() {
        return Err(DataError::Config(format!("no {} customers: raise telecom.customers", split.name())));
    }
    let mut rng = crate::ids::derived_rng(seed, "telecom", Some(split), index as u64);
    let mut intents = vec![Intent::Service, Intent::MobileData, Intent::Mms];
    intents.retain(|intent| ISSUES.iter().any(|i| i.fits(*intent) && config.family_enabled(i.name)));
    if intents.is_empty() {
        return Err(DataError::Config("no telecom sub-issue enabled".to_owned()));
    }
    let intent = intents[rng.random_range(0..intents.len())];
    let k = rng.random_range(1..=config.telecom.max_issues);

    // The ticket's line must be active (τ²'s breakages start from a working line); on τ²'s official database
    // some lines are suspended or pending, and some customers already owe a bill.
    let active = |c: &Customer| -> Vec<String> {
        c.line_ids
            .iter()
            .filter(|l| state.agent.line(l).is_some_and(|x| x.status == LineStatus::Active))
            .cloned()
            .collect()
    };
    let eligible: Vec<usize> =
        pool.iter().copied().filter(|i| !active(&state.agent.customers[*i]).is_empty()).collect();
    if eligible.is_empty() {
        return Err(DataError::NoCandidate {
            family: intent.name().to_owned(),
            reason: format!("no {} customer has an active line", split.name()),
        });
    }
    let customer = &state.agent.customers[eligible[rng.random_range(0..eligible.len())]];
    let lines = active(customer);
    let line_id = lines[rng.random_range(0..lines.len())].clone();
    let line_index = customer.line_ids.iter().position(|l| *l == line_id).unwrap_or(0);
    let line = state
        .agent
        .line(&line_id)
        .ok_or_else(|| DataError::Config(format!("line {line_id} missing from the database")))?;
    let owes = customer
        .bill_ids
        .iter()
        .filter_map(|b| state.agent.bill(b))
        .any(|b| matches!(b.status, BillStatus::Overdue | BillStatus::AwaitingPayment));
    let refuelled = line.data_refueling_gb != 0.0;
    let possible = |i: &Issue| match i.name {
        "overdue_bill_suspension" | "contract_end_suspension" => !owes,
        "data_usage_exceeded" => !refuelled,
        _ => true,
    };
    let issues = choose_issues(intent, k, config, possible, &mut rng);
    if issues.is_empty() {
        return Err(DataError::NoCandidate {
            family: intent.name().to_owned(),
            reason: format!("no enabled sub-issue fits customer {} line {line_id}", customer.customer_id),
        });
    }
    let plan =
        state.agent.plan(&line.plan_id).ok_or_else(|| DataError::Config(format!("plan {} missing", line.plan_id)))?;
    let mut bill_id = format!("B9{:03}", rng.random_range(0..1000));
    while state.agent.bill(&bill_id).is_some() {
        bill_id = format!("B9{:03}", rng.random_range(0..1000));
    }
    let ctx = Ctx {
        customer_id: customer.customer_id.clone(),
        line_id: line_id.clone(),
        bill_id: bill_id.clone(),
        data_limit_gb: plan.data_limit_gb,
    };

    let mut names: Vec<&str> = issues.iter().map(|i| i.name).collect();
    names.sort_unstable();
    let family = format!("[{}]{}", intent.name(), names.join("|"));
    let id = format!("{family}[{}_{}]", split.name(), index);

    // Initial state: the customer's phone, then each sub-issue's breakage.
    let mut init = vec![retain_domains::task::EnvFunctionCall {
        env_type: Requestor::User,
        func_name: "set_user_info".to_owned(),
        arguments: args([("name", json!(customer.full_name)), ("phone_number", json!(line.phone_number))]),
    }];
    for issue in &issues {
        init.extend(issue.init(&ctx));
    }

    // Gold: lookups (if an agent tool needs ids), then check + fix per sub-issue.
    let mut steps: Vec<Step> = Vec::new();
    let per_issue: Vec<Step> = issues.iter().flat_map(|i| i.diagnosis(&ctx).into_iter().chain(i.fix(&ctx))).collect();
    let needs_ids =
        per_issue.iter().any(|(side, name, _)| *side == Requestor::Assistant && *name != "transfer_to_human_agents");
    if needs_ids {
        steps.push((Requestor::Assistant, "get_customer_by_phone", args([("phone_number", json!(line.phone_number))])));
        for l in customer.line_ids.iter().take(line_index + 1) {
            steps.push((Requestor::Assistant, "get_details_by_id", args([("id", json!(l))])));
        }
    }
    steps.extend(per_issue);
    let unfixable = issues.iter().any(|i| i.unfixable);
    let actions: Vec<_> = steps
        .into_iter()
        .enumerate()
        .map(|(n, (side, name, arguments))| {
            let mut act = if name == "transfer_to_human_agents" {
                action_name_only(&id, n, name, arguments)
            } else {
                action(&id, n, name, arguments)
            };
            act.requestor = side;
            act
        })
        .collect();

    let mut assertions = Vec::new();
    let mut basis = vec![RewardType::EnvAssertion];
    if unfixable {
        assertions.push(assertion(
            Requestor::User,
            "assert_service_status",
            json!({"expected_status": "no_service"}),
            None,
        ));
        basis.push(RewardType::Action);
    } else {
        match intent {
            Intent::Service => {
                assertions.push(assertion(
                    Requestor::User,
                    "assert_service_status",
                    json!({"expected_status": "connected"}),
                    Some("Service status is not as expected"),
                ));
                assertions.push(assertion(
                    Requestor::Assistant,
                    "assert_no_overdue_bill",
                    json!({"overdue_bill_id": bill_id}),
                    Some("Overdue bill is not as expected"),
                ));
            }
            Intent::MobileData => {
                assertions.push(assertion(
                    Requestor::User,
                    "assert_mobile_data_status",
                    json!({"expected_status": true}),
                    None,
                ));
                assertions.push(assertion(
                    Requestor::User,
                    "assert_internet_speed",
                    json!({"expected_speed": 200, "expected_desc": "excellent"}),
                    None,
                ));
            }
            Intent::Mms => {
                assertions.push(assertion(
                    Requestor::User,
                    "assert_can_send_mms",
                    json!({"expected_status": true}),
                    None,
                ));
            }
        }
        if issues.iter().any(|i| i.name == "data_usage_exceeded") {
            assertions.push(assertion(
                Requestor::Assistant,
                "assert_data_refueling_amount",
                json!({"customer_id": ctx.customer_id, "line_id": ctx.line_id, "expected_amount": 2.0}),
                None,
            ));
        }
    }

    let abroad = issues.iter().any(|i| i.abroad());
    let location = if abroad { "abroad in France" } else { "at home" };
    let (symptom, resolved) = match intent {
        Intent::Service => {
            ("My phone shows No Service and I cannot make or receive calls.", "the status bar shows signal")
        }
        Intent::MobileData => ("My mobile data does not work or is very slow.", "a speed test shows excellent speed"),
        Intent::Mms => ("I cannot send MMS messages.", "an MMS can be sent"),
    };
    let mut extra = String::new();
    if intent == Intent::Service || issues.iter().any(|i| i.name == "overdue_bill_suspension") {
        extra.push_str(" You may pay my overdue bills.");
    }
    if intent != Intent::Service {
        extra.push_str(" I will not change my plan but will refuel 2.0 GB if needed.");
    }
    let ticket = format!(
        "{symptom} Customer: {}, phone number {}, currently {location}.{extra} Resolved when {resolved}.",
        customer.full_name, line.phone_number
    );
    let spec = TaskSpec {
        id: id.clone(),
        domain: "telecom",
        purpose: format!("generated telecom task, {family}"),
        policy: "tech support troubleshooting".to_owned(),
        reason_for_call: symptom.to_owned(),
        known_info: format!("You are {}, phone number {}. You are {location}.", customer.full_name, line.phone_number),
        task_instructions: format!(
            "Follow the agent's instructions on your phone. You consider the issue resolved when {resolved}.{extra}"
        ),
        ticket,
        actions,
        communicate_info: Vec::new(),
        reward_basis: basis,
        initial_state: Some(InitialState {
            initialization_data: None,
            initialization_actions: Some(init),
            message_history: None,
        }),
        env_assertions: Some(assertions),
    };
    Ok(GeneratedTask { task: spec.into_task(), family, split, refusal: unfixable, final_message: String::new() })
}

/// Generates `n` tasks of `split`.
pub fn generate_tasks(
    state: &TelecomState,
    config: &GeneratorConfig,
    split: Split,
    n: usize,
    seed: u64,
) -> Result<Vec<GeneratedTask>, DataError> {
    (0..n).map(|i| generate_task(state, config, split, i, seed)).collect()
}
