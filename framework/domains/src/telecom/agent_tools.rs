//! The 13 telecom agent tools (τ² `TelecomTools`) and the agent-side helpers tasks use for setup
//! (`set_data_usage`, `suspend_line_for_overdue_bill`) and grading (`assert_*`).
//!
//! Outputs follow τ²'s rendering: strings verbatim, records as JSON in field order, and plain dicts with
//! their top-level numbers stringified (τ²'s `to_json_str` turns a float directly inside a dict into
//! `str(float)`).

use serde_json::{Value, json};

use super::agent_db::{Bill, BillStatus, LineItem, LineStatus};
use super::date::TODAY;
use super::state::TelecomState;
use crate::pyjson::{float_repr, to_string as render};
use crate::tool::{Args, EnvFunction, Param, ParamType, ToolDef, ToolError, ToolKind, ToolResult, Toolkit};

const CUSTOMER_ID: &str = "ID of the customer who owns the line.";

/// The agent toolkit, in τ²'s tool order.
pub static AGENT_TOOLKIT: Toolkit<TelecomState> = Toolkit {
    class_name: "TelecomTools",
    tools: &[
        ToolDef {
            name: "get_customer_by_phone",
            description: "Finds a customer by their primary contact or line phone number.",
            kind: ToolKind::Read,
            params: &[Param::required("phone_number", ParamType::String, "The phone number to search for.")],
            run: get_customer_by_phone,
        },
        ToolDef {
            name: "get_customer_by_id",
            description: "Retrieves a customer directly by their unique ID.",
            kind: ToolKind::Read,
            params: &[Param::required("customer_id", ParamType::String, "The unique identifier of the customer.")],
            run: get_customer_by_id,
        },
        ToolDef {
            name: "get_customer_by_name",
            description: "Searches for customers by name and DOB. May return multiple matches if names are similar,\n\nDOB helps disambiguate.",
            kind: ToolKind::Read,
            params: &[
                Param::required("full_name", ParamType::String, "The full name of the customer."),
                Param::required("dob", ParamType::String, "Date of birth for verification, in the format YYYY-MM-DD."),
            ],
            run: get_customer_by_name,
        },
        ToolDef {
            name: "get_details_by_id",
            description: "Retrieves the details for a given ID.\n\nThe ID must be a valid ID for a Customer, Line, Device, Bill, or Plan.",
            kind: ToolKind::Read,
            params: &[Param::required("id", ParamType::String, "The ID of the object to retrieve.")],
            run: get_details_by_id,
        },
        ToolDef {
            name: "suspend_line",
            description: "Suspends a specific line (max 6 months).\n\nChecks: Line status must be Active.\nLogic: Sets line status to Suspended, records suspension_start_date.",
            kind: ToolKind::Write,
            params: &[
                Param::required("customer_id", ParamType::String, CUSTOMER_ID),
                Param::required("line_id", ParamType::String, "ID of the line to suspend."),
                Param::required("reason", ParamType::String, "Reason for suspension."),
            ],
            run: suspend_line,
        },
        ToolDef {
            name: "resume_line",
            description: "Resumes a suspended line.\n\nChecks: Line status must be Suspended or Pending Activation.\nLogic: Sets line status to Active, clears suspension_start_date.",
            kind: ToolKind::Write,
            params: &[
                Param::required("customer_id", ParamType::String, CUSTOMER_ID),
                Param::required("line_id", ParamType::String, "ID of the line to resume."),
            ],
            run: resume_line,
        },
        ToolDef {
            name: "get_bills_for_customer",
            description: "Retrieves a list of the customer's bills, most recent first.",
            kind: ToolKind::Read,
            params: &[
                Param::required("customer_id", ParamType::String, "ID of the customer."),
                Param::optional("limit", ParamType::Integer, "Maximum number of bills to return.", "12"),
            ],
            run: get_bills_for_customer,
        },
        ToolDef {
            name: "send_payment_request",
            description: "Sends a payment request to the customer for a specific bill.\n\nChecks:\n    - Customer exists\n    - Bill exists and belongs to the customer\n    - No other bills are already awaiting payment for this customer\nLogic: Sets bill status to AWAITING_PAYMENT and notifies customer.\nWarning: This method does not check if the bill is already PAID.\nAlways check the bill status before calling this method.",
            kind: ToolKind::Write,
            params: &[
                Param::required("customer_id", ParamType::String, "ID of the customer who owns the bill."),
                Param::required("bill_id", ParamType::String, "ID of the bill to send payment request for."),
            ],
            run: send_payment_request,
        },
        ToolDef {
            name: "get_data_usage",
            description: "Retrieves current billing cycle data usage for a line, including data\n\nrefueling amount, data limit, and cycle end date.",
            kind: ToolKind::Read,
            params: &[
                Param::required("customer_id", ParamType::String, CUSTOMER_ID),
                Param::required("line_id", ParamType::String, "ID of the line to check usage for."),
            ],
            run: get_data_usage,
        },
        ToolDef {
            name: "enable_roaming",
            description: "Enables international roaming on a line.",
            kind: ToolKind::Write,
            params: &[
                Param::required("customer_id", ParamType::String, CUSTOMER_ID),
                Param::required("line_id", ParamType::String, "ID of the line to enable roaming for."),
            ],
            run: enable_roaming,
        },
        ToolDef {
            name: "disable_roaming",
            description: "Disables international roaming on a line.",
            kind: ToolKind::Write,
            params: &[
                Param::required("customer_id", ParamType::String, CUSTOMER_ID),
                Param::required("line_id", ParamType::String, "ID of the line to disable roaming for."),
            ],
            run: disable_roaming,
        },
        ToolDef {
            name: "transfer_to_human_agents",
            description: "Transfer the user to a human agent, with a summary of the user's issue.\n\nOnly transfer if\n -  the user explicitly asks for a human agent\n -  given the policy and the available tools, you cannot solve the user's issue.",
            kind: ToolKind::Generic,
            params: &[Param::required("summary", ParamType::String, "A summary of the user's issue.")],
            run: transfer_to_human_agents,
        },
        ToolDef {
            name: "refuel_data",
            description: "Refuels data for a specific line, adding to the customer's bill.\n\nChecks: Line status must be Active, Customer owns the line.\nLogic: Adds data to the line and charges customer based on the plan's refueling rate.",
            kind: ToolKind::Write,
            params: &[
                Param::required("customer_id", ParamType::String, CUSTOMER_ID),
                Param::required("line_id", ParamType::String, "ID of the line to refuel data for."),
                Param::required("gb_amount", ParamType::Number, "Amount of data to add in gigabytes."),
            ],
            run: refuel_data,
        },
    ],
    functions: &[
        EnvFunction {
            name: "set_data_usage",
            params: &[
                Param::required("customer_id", ParamType::String, ""),
                Param::required("line_id", ParamType::String, ""),
                Param::required("data_used_gb", ParamType::Number, ""),
            ],
            run: set_data_usage,
        },
        EnvFunction {
            name: "suspend_line_for_overdue_bill",
            params: &[
                Param::required("customer_id", ParamType::String, ""),
                Param::required("line_id", ParamType::String, ""),
                Param::required("new_bill_id", ParamType::String, ""),
                Param::required("contract_ended", ParamType::Boolean, ""),
            ],
            run: suspend_line_for_overdue_bill,
        },
        EnvFunction {
            name: "assert_data_refueling_amount",
            params: &[
                Param::required("customer_id", ParamType::String, ""),
                Param::required("line_id", ParamType::String, ""),
                Param::required("expected_amount", ParamType::Number, ""),
            ],
            run: assert_data_refueling_amount,
        },
        EnvFunction {
            name: "assert_line_status",
            params: &[
                Param::required("customer_id", ParamType::String, ""),
                Param::required("line_id", ParamType::String, ""),
                Param::required("expected_status", ParamType::String, ""),
            ],
            run: assert_line_status,
        },
        EnvFunction {
            name: "assert_overdue_bill_exists",
            params: &[
                Param::required("customer_id", ParamType::String, ""),
                Param::required("overdue_bill_id", ParamType::String, ""),
            ],
            run: assert_overdue_bill_exists,
        },
        EnvFunction {
            name: "assert_no_overdue_bill",
            params: &[Param::required("overdue_bill_id", ParamType::String, "")],
            run: assert_no_overdue_bill,
        },
    ],
};

/// Python `str()` of a numeric argument as τ² interpolates it (`2` for an int, `2.0` for a float).
fn number_text(value: &Value) -> String {
    match value {
        Value::Number(n) if n.is_f64() => float_repr(n.as_f64().unwrap_or(f64::NAN)),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        other => other.to_string(),
    }
}

fn get_customer_by_phone(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let phone = args.str("phone_number")?;
    Ok(render(state.agent.customer_by_phone(&phone)?))
}

fn get_customer_by_id(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let id = args.str("customer_id")?;
    Ok(render(state.agent.customer_checked(&id)?))
}

fn get_customer_by_name(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let name = args.str("full_name")?.to_lowercase();
    let dob = args.str("dob")?;
    let matches: Vec<_> =
        state.agent.customers.iter().filter(|c| c.full_name.to_lowercase() == name && c.date_of_birth == dob).collect();
    Ok(render(&matches))
}

fn get_details_by_id(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let id = args.str("id")?;
    let db = &state.agent;
    match id.chars().next() {
        Some('L') => Ok(render(db.line_checked(&id)?)),
        Some('D') => Ok(render(db.device_checked(&id)?)),
        Some('B') => Ok(render(db.bill_checked(&id)?)),
        Some('C') => Ok(render(db.customer_checked(&id)?)),
        Some('P') => Ok(render(db.plan_checked(&id)?)),
        _ => Err(ToolError::new(format!("Unknown ID format or type: {id}"))),
    }
}

fn suspend_line(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let (customer_id, line_id) = (args.str("customer_id")?, args.str("line_id")?);
    args.str("reason")?;
    if state.agent.target_line(&customer_id, &line_id)?.status != LineStatus::Active {
        return Err(ToolError::new("Line must be active to suspend"));
    }
    let line = state.agent_mut().target_line_mut(&customer_id, &line_id)?;
    line.status = LineStatus::Suspended;
    line.suspension_start_date = Some(TODAY);
    let line = serde_json::to_value(&*line).map_err(|e| ToolError::new(e.to_string()))?;
    Ok(render(&json!({
        "message": "Line suspended successfully. $5/month holding fee will apply.",
        "line": line,
    })))
}

fn resume_line(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let (customer_id, line_id) = (args.str("customer_id")?, args.str("line_id")?);
    let status = state.agent.target_line(&customer_id, &line_id)?.status;
    if !matches!(status, LineStatus::Suspended | LineStatus::PendingActivation) {
        return Err(ToolError::new("Line must be suspended to resume"));
    }
    let line = state.agent_mut().target_line_mut(&customer_id, &line_id)?;
    line.status = LineStatus::Active;
    line.suspension_start_date = None;
    let line = serde_json::to_value(&*line).map_err(|e| ToolError::new(e.to_string()))?;
    Ok(render(&json!({"message": "Line resumed successfully", "line": line})))
}

fn get_bills_for_customer(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let customer_id = args.str("customer_id")?;
    let db = &state.agent;
    let customer = db.customer_checked(&customer_id)?;
    let mut bills = customer.bill_ids.iter().map(|id| db.bill_checked(id)).collect::<Result<Vec<&Bill>, _>>()?;
    // Stable sort, newest first; equal dates keep the customer's order, as Python's sorted(reverse=True).
    bills.sort_by_key(|b| std::cmp::Reverse(b.issue_date));
    // Python slicing `[:limit]`: a float is a TypeError, a negative limit drops from the end.
    let limit_value = args.value("limit")?;
    if matches!(limit_value.as_ref(), Value::Number(n) if n.is_f64()) {
        return Err(ToolError::new("slice indices must be integers or None or have an __index__ method"));
    }
    let limit = args.int("limit")?;
    let len = bills.len() as i64;
    let end = if limit < 0 { (len + limit).max(0) } else { limit.min(len) };
    bills.truncate(end as usize);
    Ok(render(&bills))
}

fn send_payment_request(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let (customer_id, bill_id) = (args.str("customer_id")?, args.str("bill_id")?);
    let db = &state.agent;
    let customer = db.customer_checked(&customer_id)?;
    if !db.bills_awaiting_payment(customer)?.is_empty() {
        return Err(ToolError::new("A bill is already awaiting payment for this customer"));
    }
    if !customer.bill_ids.contains(&bill_id) {
        return Err(ToolError::new(format!("Bill {bill_id} not found for customer {customer_id}")));
    }
    db.bill_checked(&bill_id)?;
    if let Some(bill) = state.agent_mut().bill_mut(&bill_id) {
        bill.status = BillStatus::AwaitingPayment;
    }
    Ok(format!("Payment request sent to the customer for bill {bill_id}"))
}

fn get_data_usage(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let (customer_id, line_id) = (args.str("customer_id")?, args.str("line_id")?);
    let line = state.agent.target_line(&customer_id, &line_id)?;
    let plan = state.agent.plan_checked(&line.plan_id)?;
    let cycle_end = TODAY.first_of_next_month().add_days(-1);
    Ok(render(&json!({
        "line_id": line_id,
        "data_used_gb": float_repr(line.data_used_gb),
        "data_limit_gb": float_repr(plan.data_limit_gb),
        "data_refueling_gb": float_repr(line.data_refueling_gb),
        "cycle_end_date": cycle_end.to_string(),
    })))
}

fn set_roaming(state: &mut TelecomState, args: &Args<'_>, enable: bool) -> ToolResult {
    let (customer_id, line_id) = (args.str("customer_id")?, args.str("line_id")?);
    let word = if enable { "enabled" } else { "disabled" };
    if state.agent.target_line(&customer_id, &line_id)?.roaming_enabled == enable {
        return Ok(format!("Roaming was already {word}"));
    }
    state.agent_mut().target_line_mut(&customer_id, &line_id)?.roaming_enabled = enable;
    Ok(format!("Roaming {word} successfully"))
}

fn enable_roaming(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    set_roaming(state, args, true)
}

fn disable_roaming(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    set_roaming(state, args, false)
}

fn transfer_to_human_agents(_state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    args.str("summary")?;
    Ok("Transfer successful".to_owned())
}

fn refuel_data(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let (customer_id, line_id) = (args.str("customer_id")?, args.str("line_id")?);
    let raw_amount = args.value("gb_amount")?.into_owned();
    let plan_id = state.agent.target_line(&customer_id, &line_id)?.plan_id.clone();
    let gb_amount = args.float("gb_amount")?;
    if gb_amount <= 0.0 {
        return Err(ToolError::new("Refuel amount must be positive"));
    }
    let price = state.agent.plan_checked(&plan_id)?.data_refueling_price_per_gb;
    let charge = gb_amount * price;
    let line = state.agent_mut().target_line_mut(&customer_id, &line_id)?;
    line.data_refueling_gb += gb_amount;
    let new_total = line.data_refueling_gb;
    let amount_text = number_text(&raw_amount);
    apply_one_time_charge(
        state,
        &customer_id,
        charge,
        &format!("Data refueling: {amount_text} GB at ${}/GB", float_repr(price)),
    )?;
    Ok(render(&json!({
        "message": format!("Successfully added {amount_text} GB of data for line {line_id} for ${charge:.2}"),
        "new_data_refueling_gb": float_repr(new_total),
        "charge": float_repr(charge),
    })))
}

/// Adds a charge (or credit) to the customer's draft bill, creating next month's draft if there is none.
///
/// τ² names a new draft `B` + 8 random hex digits; here the digits derive from the customer and a per-episode
/// counter, so replays are deterministic. No official task creates a draft (the tasks' customer has one).
fn apply_one_time_charge(
    state: &mut TelecomState,
    customer_id: &str,
    amount: f64,
    description: &str,
) -> Result<(), ToolError> {
    let db = &state.agent;
    let customer = db.customer_checked(customer_id)?;
    let mut draft_id = None;
    for bill_id in &customer.bill_ids {
        if db.bill_checked(bill_id)?.status == BillStatus::Draft {
            draft_id = Some(bill_id.clone());
            break;
        }
    }
    let draft_id = match draft_id {
        Some(id) => id,
        None => {
            state.drafts_created += 1;
            let id = draft_bill_id(customer_id, state.drafts_created);
            let start = TODAY.first_of_next_month();
            let bill = Bill {
                bill_id: id.clone(),
                customer_id: customer_id.to_owned(),
                period_start: start,
                period_end: start.first_of_next_month().add_days(-1),
                issue_date: start,
                total_due: 0.0,
                due_date: start.add_days(14),
                line_items: Vec::new(),
                status: BillStatus::Draft,
            };
            let db = state.agent_mut();
            db.bills.push(bill);
            if let Some(c) = db.customer_mut(customer_id) {
                c.bill_ids.push(id.clone());
            }
            id
        }
    };
    if let Some(bill) = state.agent_mut().bill_mut(&draft_id) {
        bill.line_items.push(LineItem {
            description: description.to_owned(),
            amount,
            date: TODAY,
            item_type: if amount < 0.0 { "Credit" } else { "Charge" }.to_owned(),
        });
        bill.total_due += amount;
    }
    Ok(())
}

fn draft_bill_id(customer_id: &str, counter: u32) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{customer_id}:{counter}").as_bytes());
    format!("B{}", &hex::encode(digest)[..8])
}

fn set_data_usage(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let (customer_id, line_id) = (args.str("customer_id")?, args.str("line_id")?);
    let raw = args.value("data_used_gb")?.into_owned();
    let used = args.float("data_used_gb")?;
    state.agent.target_line(&customer_id, &line_id)?;
    state.agent_mut().target_line_mut(&customer_id, &line_id)?.data_used_gb = used;
    Ok(Value::String(format!("Data usage set to {} GB for line {line_id}", number_text(&raw))))
}

fn suspend_line_for_overdue_bill(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let customer_id = args.str("customer_id")?;
    let line_id = args.str("line_id")?;
    let new_bill_id = args.str("new_bill_id")?;
    let contract_ended = args.bool("contract_ended")?;
    let db = &state.agent;
    let line = db.line_checked(&line_id)?;
    if line.status != LineStatus::Active {
        return Err(ToolError::new("Line must be active to suspend for unpaid bill"));
    }
    let amount = db.plan_checked(&line.plan_id)?.price_per_month;
    if amount <= 0.0 {
        return Err(ToolError::new("Amount must be positive for overdue bill"));
    }
    let customer = db.customer_checked(&customer_id)?;
    for bill_id in &customer.bill_ids {
        if db.bill_checked(bill_id)?.status == BillStatus::Overdue {
            return Err(ToolError::new("Customer already has an overdue bill"));
        }
    }
    let period_end = TODAY.end_of_previous_month();
    let period_start = period_end.first_of_month();
    let bill = Bill {
        bill_id: new_bill_id.clone(),
        customer_id: customer_id.clone(),
        period_start,
        period_end,
        issue_date: period_start,
        total_due: amount,
        due_date: period_start.add_days(14),
        line_items: vec![LineItem {
            description: format!("Charge for line {line_id}"),
            amount,
            date: TODAY,
            item_type: "Charge".to_owned(),
        }],
        status: BillStatus::Overdue,
    };
    let db = state.agent_mut();
    db.bills.push(bill);
    if let Some(c) = db.customer_mut(&customer_id) {
        c.bill_ids.push(new_bill_id.clone());
    }
    if let Some(line) = db.line_mut(&line_id) {
        line.status = LineStatus::Suspended;
        line.suspension_start_date = Some(TODAY);
        if contract_ended {
            line.contract_end_date = Some(period_end);
        }
    }
    let ended = if contract_ended { "True" } else { "False" };
    Ok(Value::String(format!("Line {line_id} suspended for unpaid bill {new_bill_id}. Contract ended: {ended}")))
}

fn assert_data_refueling_amount(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let (customer_id, line_id) = (args.str("customer_id")?, args.str("line_id")?);
    let expected = args.float("expected_amount")?;
    let line = state.agent.target_line(&customer_id, &line_id)?;
    Ok(Value::Bool((line.data_refueling_gb - expected).abs() < 1e-6))
}

fn assert_line_status(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let (customer_id, line_id) = (args.str("customer_id")?, args.str("line_id")?);
    let expected = args.str("expected_status")?;
    let line = state.agent.target_line(&customer_id, &line_id)?;
    // τ² compares the enum with the given value; a str enum equals its string spelling.
    Ok(Value::Bool(line.status.as_str() == expected))
}

fn assert_overdue_bill_exists(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let (customer_id, bill_id) = (args.str("customer_id")?, args.str("overdue_bill_id")?);
    let customer = state.agent.customer_checked(&customer_id)?;
    if !customer.bill_ids.contains(&bill_id) {
        return Err(ToolError::new(format!("Overdue bill {bill_id} not found")));
    }
    if state.agent.bill_checked(&bill_id)?.status != BillStatus::Overdue {
        return Err(ToolError::new(format!("Overdue bill {bill_id} is not overdue")));
    }
    Ok(Value::Bool(true))
}

fn assert_no_overdue_bill(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let bill_id = args.str("overdue_bill_id")?;
    Ok(Value::Bool(state.agent.bill(&bill_id).is_none_or(|b| b.status == BillStatus::Paid)))
}
