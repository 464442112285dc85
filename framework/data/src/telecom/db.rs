//! Generated telecom databases in τ²'s `TelecomDB` schema, and the default phone (`user_db.toml`'s state).
//!
//! Plans follow τ²'s catalogue; each customer has one active line, or two for about a third of the customers
//! when `max_lines_per_customer = 2` (each line with a phone device), a payment method and one or two past
//! bills, all paid or issued — the sub-issues of a task create the trouble (overdue bill, suspension, exceeded
//! data) through their initialisation actions, as in τ².

use rand::Rng;
use serde_json::{Value, json};

use retain_domains::telecom::{TelecomDb, TelecomState, TelecomUserDb};

use crate::error::DataError;
use crate::ids::{CITIES, FIRST_NAMES, GenRng, LAST_NAMES, STREETS, dob, pick};
use crate::knobs::TelecomConfig;

/// τ²'s plan catalogue (id, name, GB, monthly price, refuel price per GB).
pub const PLANS: [(&str, &str, f64, f64, f64); 4] = [
    ("P1001", "Basic Plan", 5.0, 40.0, 5.0),
    ("P1002", "Premium Plan", 15.0, 65.0, 2.0),
    ("P1004", "Family Share", 25.0, 120.0, 3.0),
    ("P1005", "IoT Basic", 1.0, 15.0, 10.0),
];

/// Generates the agent database for `config.customers` customers and the default device state.
pub fn generate(config: &TelecomConfig, rng: &mut GenRng) -> Result<TelecomState, DataError> {
    let plans: Vec<Value> = PLANS
        .iter()
        .map(|(id, name, gb, price, refuel)| {
            json!({"plan_id": id, "name": name, "data_limit_gb": gb, "price_per_month": price, "data_refueling_price_per_gb": refuel})
        })
        .collect();
    let (mut customers, mut lines, mut bills, mut devices) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut next_line = 1001;
    let mut next_bill = 1001;
    for k in 0..config.customers {
        let customer_id = format!("C{}", 1001 + k);
        let first = *pick(rng, &FIRST_NAMES);
        let last = *pick(rng, &LAST_NAMES);
        let n_lines = if config.max_lines_per_customer >= 2 && rng.random_bool(0.35) { 2 } else { 1 };
        let mut line_ids = Vec::new();
        let mut phones = Vec::new();
        let mut charges = Vec::new();
        for _ in 0..n_lines {
            let line_id = format!("L{next_line}");
            let device_id = format!("D{next_line}");
            next_line += 1;
            let phone = format!("555-{:03}-{:04}", 100 + k % 900, rng.random_range(1000..10000));
            let (plan_id, plan_name, gb, price, _) = *pick(rng, &PLANS[..3]);
            lines.push(json!({
                "line_id": line_id, "phone_number": phone, "status": "Active", "plan_id": plan_id, "device_id": device_id,
                "data_used_gb": (rng.random_range(0..(gb as i64 * 5)) as f64) / 10.0, "data_refueling_gb": 0.0,
                "roaming_enabled": false, "contract_end_date": format!("2026-{:02}-28", rng.random_range(1..13)),
            }));
            devices.push(json!({
                "device_id": device_id, "device_type": "phone", "model": pick(rng, &["Pixel 7", "Galaxy S23", "Smartphone X"]),
                "imei": format!("{:015}", rng.random_range(100_000_000_000_000u64..999_999_999_999_999)),
                "is_esim_capable": rng.random_bool(0.5), "activated": true, "activation_date": "2025-01-20T14:30:00",
            }));
            charges.push((format!("{plan_name} - Line {phone}"), price));
            line_ids.push(line_id);
            phones.push(phone);
        }
        let mut bill_ids = Vec::new();
        for (month, status) in [(1, "Paid"), (2, "Issued")].into_iter().take(rng.random_range(1..=2)) {
            let bill_id = format!("B{next_bill}");
            next_bill += 1;
            let total: f64 = charges.iter().map(|(_, p)| p).sum();
            let items: Vec<Value> = charges
                .iter()
                .map(|(d, p)| json!({"description": d, "amount": p, "date": format!("2025-{month:02}-05"), "item_type": "Plan Charge"}))
                .collect();
            let end = if month == 1 { 31 } else { 28 };
            bills.push(json!({
                "bill_id": bill_id, "customer_id": customer_id, "period_start": format!("2025-{month:02}-01"),
                "period_end": format!("2025-{month:02}-{end}"), "issue_date": format!("2025-{month:02}-05"), "total_due": total,
                "due_date": format!("2025-{month:02}-19"), "line_items": items, "status": status,
            }));
            bill_ids.push(bill_id);
        }
        let (city, state, zip) = *pick(rng, &CITIES);
        customers.push(json!({
            "customer_id": customer_id, "full_name": format!("{first} {last}"), "date_of_birth": dob(rng),
            "email": format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase()), "phone_number": phones[0],
            "address": {"street": format!("{} {}", rng.random_range(1..999), pick(rng, &STREETS)), "city": city, "state": state,
                        "zip_code": format!("{zip}{:02}", rng.random_range(0..100))},
            "account_status": "Active",
            "payment_methods": [{"method_type": pick(rng, &["Credit Card", "Debit Card"]), "account_number_last_4": format!("{:04}", rng.random_range(0..10000)), "expiration_date": "12/2027"}],
            "line_ids": line_ids, "bill_ids": bill_ids, "created_at": "2025-01-15T10:30:00", "goodwill_credit_used_this_year": 0.0,
        }));
    }
    let agent: TelecomDb = serde_json::from_value(json!({
        "plans": plans, "customers": customers, "lines": lines, "bills": bills, "devices": devices,
    }))?;
    Ok(TelecomState::new(agent, TelecomUserDb::default()))
}
