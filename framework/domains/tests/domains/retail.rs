//! Retail tools on the real data: status transitions, gift-card rounding, sorted item lists, quirks.

use retain_domains::retail::RetailDomain;
use retain_domains::retail::model::PaymentMethod;
use retain_domains::{Environment, ToolCall};
use serde_json::{Value, json};

use super::common::{args, retail};

fn call(env: &mut Environment<RetailDomain>, name: &str, a: Value) -> (Value, bool) {
    let m = env.respond(&ToolCall::assistant(name, args(a)));
    (serde_json::from_str(&m.content).unwrap_or(Value::String(m.content)), m.error)
}

fn gift(env: &Environment<RetailDomain>, user: &str, id: &str) -> f64 {
    match &env.state().users[user].payment_methods[id] {
        PaymentMethod::GiftCard { balance, .. } => *balance,
        other => panic!("{id} is not a gift card: {other:?}"),
    }
}

#[test]
fn cancelling_refunds_a_gift_card_immediately_rounded_to_cents() {
    let mut env = Environment::new(retail(), false).unwrap();
    let before = gift(&env, "ethan_lopez_6291", "gift_card_7219486");
    let (out, err) =
        call(&mut env, "cancel_pending_order", json!({"order_id": "#W6779827", "reason": "ordered by mistake"}));
    assert!(!err, "{out}");
    assert_eq!(out["status"], "cancelled");
    assert_eq!(out["cancel_reason"], "ordered by mistake");
    assert_eq!(
        out["payment_history"][1],
        json!({"transaction_type": "refund", "amount": 4079.45, "payment_method_id": "gift_card_7219486"})
    );
    let after = gift(&env, "ethan_lopez_6291", "gift_card_7219486");
    assert_eq!(after, ((before + 4079.45) * 100.0).round() / 100.0);
    let (out, err) =
        call(&mut env, "cancel_pending_order", json!({"order_id": "#W6779827", "reason": "ordered by mistake"}));
    assert!(err);
    assert_eq!(out, "Error: Non-pending order cannot be cancelled");
}

#[test]
fn item_modification_happens_once_and_blocks_cancel_but_not_address_changes() {
    let mut env = Environment::new(retail(), false).unwrap();
    let modify = json!({"order_id": "#W6779827", "item_ids": ["7896397433"], "new_item_ids": ["2444431651"], "payment_method_id": "credit_card_9789590"});
    let (out, err) = call(&mut env, "modify_pending_order_items", modify.clone());
    assert!(!err, "{out}");
    assert_eq!(out["status"], "pending (item modified)");
    assert_eq!(out["items"][0]["item_id"], "2444431651");
    assert_eq!(out["items"][0]["price"], 534.84);
    let (out, _) = call(&mut env, "modify_pending_order_items", modify);
    assert_eq!(out, "Error: Non-pending order cannot be modified");
    let (out, _) =
        call(&mut env, "cancel_pending_order", json!({"order_id": "#W6779827", "reason": "no longer needed"}));
    assert_eq!(out, "Error: Non-pending order cannot be cancelled");
    let (_, err) = call(
        &mut env,
        "modify_pending_order_address",
        json!({
        "order_id": "#W6779827", "address1": "1 Main St", "address2": "", "city": "Austin", "state": "TX", "country": "USA", "zip": "78701"}),
    );
    assert!(!err);
}

#[test]
fn multi_item_modification_gives_every_item_the_last_variants_price_and_options() {
    let mut env = Environment::new(retail(), false).unwrap();
    let (out, err) = call(
        &mut env,
        "modify_pending_order_items",
        json!({
        "order_id": "#W6779827", "item_ids": ["7896397433", "3379843752"], "new_item_ids": ["2444431651", "3709608322"],
        "payment_method_id": "credit_card_9789590"}),
    );
    assert!(!err, "{out}");
    // τ² reuses the loop's last variant for every item: both items carry the espresso machine's price.
    assert_eq!(out["items"][0]["item_id"], "2444431651");
    assert_eq!(out["items"][0]["price"], 2744.7);
    assert_eq!(out["items"][1]["price"], 2744.7);
    assert_eq!(out["items"][0]["options"], out["items"][1]["options"]);
}

#[test]
fn returns_and_exchanges_store_sorted_lists_and_check_methods() {
    let mut env = Environment::new(retail(), false).unwrap();
    let (out, _) = call(
        &mut env,
        "return_delivered_order_items",
        json!({"order_id": "#W4817420", "item_ids": ["6777246137"], "payment_method_id": "credit_card_0000000"}),
    );
    assert_eq!(out, "Error: Payment method not found");
    let (out, err) = call(
        &mut env,
        "return_delivered_order_items",
        json!({
        "order_id": "#W4817420", "item_ids": ["9624127908", "6777246137"], "payment_method_id": "gift_card_8168843"}),
    );
    assert!(!err, "{out}");
    assert_eq!(out["status"], "return requested");
    assert_eq!(out["return_items"], json!(["6777246137", "9624127908"]));
    let (out, _) = call(
        &mut env,
        "exchange_delivered_order_items",
        json!({
        "order_id": "#W4817420", "item_ids": ["6777246137"], "new_item_ids": ["4579334072"], "payment_method_id": "gift_card_8168843"}),
    );
    assert_eq!(out, "Error: Non-delivered order cannot be exchanged");
}

#[test]
fn exchange_records_the_rounded_difference() {
    let mut env = Environment::new(retail(), false).unwrap();
    let (out, err) = call(
        &mut env,
        "exchange_delivered_order_items",
        json!({
        "order_id": "#W4817420", "item_ids": ["4900661478", "6777246137"], "new_item_ids": ["8479046075", "4579334072"],
        "payment_method_id": "gift_card_8168843"}),
    );
    assert!(!err, "{out}");
    assert_eq!(out["status"], "exchange requested");
    assert_eq!(out["exchange_items"], json!(["4900661478", "6777246137"]));
    assert_eq!(out["exchange_new_items"], json!(["4579334072", "8479046075"]));
    // (451.01 − 463.04) + (54.85 − 47.76), rounded to cents.
    assert_eq!(out["exchange_price_difference"], -4.94);
}

#[test]
fn an_empty_exchange_stores_an_integer_zero_difference_as_python_does() {
    let mut env = Environment::new(retail(), false).unwrap();
    let m = env.respond(&ToolCall::assistant(
        "exchange_delivered_order_items",
        args(json!({"order_id": "#W6304490", "item_ids": [], "new_item_ids": [], "payment_method_id": "credit_card_4420174"})),
    ));
    assert!(!m.error, "{}", m.content);
    // `round(0, 2)` of Python's int accumulator is the int 0, rendered without a decimal point.
    assert!(m.content.contains("\"exchange_price_difference\": 0, "), "{}", m.content);
}
