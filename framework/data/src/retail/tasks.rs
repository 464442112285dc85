//! Retail task families, generated on any `RetailDb` (a generated one or τ²'s official database).
//!
//! Every task starts with authentication (email, or name + zip when that identifies the user uniquely),
//! then reads the order and applies the policy: cancel a pending order for a valid reason, return or
//! exchange delivered items, change a pending order's address or payment — or refuse / transfer.

use std::sync::Arc;

use rand::Rng;
use serde_json::json;

use retain_domains::retail::RetailDb;
use retain_domains::retail::model::{Order, PaymentMethod, User};
use retain_domains::task::{Action, RewardType};

use crate::airline::tasks::TRANSFER_MESSAGE;
use crate::error::DataError;
use crate::ids::{CITIES, GenRng, STREETS, pick};
use crate::knobs::{GeneratorConfig, Split};
use crate::task_builder::{GeneratedTask, TaskSpec, action, action_name_only, args};

/// Every retail family, in a fixed order.
pub const FAMILIES: [&str; 8] = [
    "order_status",
    "cancel_pending",
    "cancel_refused",
    "return_delivered",
    "exchange_delivered",
    "modify_address",
    "modify_payment",
    "transfer_complaint",
];

/// The users of a split (last `test_fraction` of the users in database order are test users).
pub fn user_pool(db: &RetailDb, split: Split, test_fraction: f64) -> Vec<Arc<User>> {
    let n = db.users.len();
    let n_test = ((n as f64) * test_fraction).round().clamp(1.0, (n.saturating_sub(1)) as f64) as usize;
    let boundary = n - n_test;
    db.users
        .values()
        .enumerate()
        .filter(|(i, _)| (*i >= boundary) == (split == Split::Test))
        .map(|(_, u)| Arc::clone(u))
        .collect()
}

fn method_id(m: &PaymentMethod) -> &str {
    match m {
        PaymentMethod::CreditCard { id, .. } | PaymentMethod::GiftCard { id, .. } | PaymentMethod::Paypal { id } => id,
    }
}

/// The authentication step and how the ticket identifies the user.
fn authenticate(db: &RetailDb, user: &User, rng: &mut GenRng, id: &str) -> (Action, String) {
    let same_name_zip = db
        .users
        .values()
        .filter(|u| {
            u.name.first_name.eq_ignore_ascii_case(&user.name.first_name)
                && u.name.last_name.eq_ignore_ascii_case(&user.name.last_name)
                && u.address.zip == user.address.zip
        })
        .count();
    if same_name_zip == 1 && rng.random_bool(0.5) {
        (
            action(
                id,
                0,
                "find_user_id_by_name_zip",
                args([
                    ("first_name", json!(user.name.first_name)),
                    ("last_name", json!(user.name.last_name)),
                    ("zip", json!(user.address.zip)),
                ]),
            ),
            format!(
                "My first name is \"{}\", my last name is \"{}\" and my zip code is \"{}\".",
                user.name.first_name, user.name.last_name, user.address.zip
            ),
        )
    } else {
        (
            action(id, 0, "find_user_id_by_email", args([("email", json!(user.email))])),
            format!("My email is {}.", user.email),
        )
    }
}

fn pairs<'a>(db: &'a RetailDb, pool: &'a [Arc<User>], rng: &mut GenRng) -> Vec<(&'a Arc<User>, &'a Arc<Order>)> {
    let mut out: Vec<(&Arc<User>, &Arc<Order>)> =
        pool.iter().flat_map(|u| u.orders.iter().filter_map(|o| db.orders.get(o)).map(move |o| (u, o))).collect();
    for i in (1..out.len()).rev() {
        let j = rng.random_range(0..=i);
        out.swap(i, j);
    }
    out
}

struct Draft {
    spec: TaskSpec,
    refusal: bool,
    final_message: String,
}

fn spec(id: &str, family: &str, user: &User, ticket: String) -> TaskSpec {
    TaskSpec {
        id: id.to_owned(),
        domain: "retail",
        purpose: format!("generated retail task, family {family}"),
        policy: family.replace('_', " "),
        reason_for_call: ticket.clone(),
        known_info: format!(
            "You are {} {}, email {}, zip {}.",
            user.name.first_name, user.name.last_name, user.email, user.address.zip
        ),
        task_instructions: "Answer the agent's questions with the facts above. Confirm with yes when asked to confirm."
            .to_owned(),
        ticket,
        actions: Vec::new(),
        communicate_info: Vec::new(),
        reward_basis: vec![RewardType::Db, RewardType::Communicate],
        initial_state: None,
        env_assertions: None,
    }
}

fn get_order(id: &str, i: usize, order: &str) -> Action {
    action(id, i, "get_order_details", args([("order_id", json!(order))]))
}

fn build(family: &str, db: &RetailDb, pool: &[Arc<User>], rng: &mut GenRng, id: &str) -> Option<Draft> {
    let candidates = pairs(db, pool, rng);
    match family {
        "order_status" => {
            let (user, order) = candidates.into_iter().next()?;
            let (auth, who) = authenticate(db, user, rng, id);
            let mut s = spec(id, family, user, format!("{who} What is the status of my order {}?", order.order_id));
            s.actions = vec![auth, get_order(id, 1, &order.order_id)];
            s.communicate_info = vec![order.status.clone()];
            Some(Draft {
                spec: s,
                refusal: false,
                final_message: format!("Your order {} is {}.", order.order_id, order.status),
            })
        }
        "cancel_pending" | "cancel_refused" => {
            let want_pending = family == "cancel_pending";
            let (user, order) = candidates.into_iter().find(|(_, o)| {
                if want_pending { o.status == "pending" } else { o.status == "processed" || o.status == "delivered" }
            })?;
            let (auth, who) = authenticate(db, user, rng, id);
            let reason = *pick(rng, &["no longer needed", "ordered by mistake"]);
            let mut s = spec(
                id,
                family,
                user,
                format!("{who} Please cancel order {}; reason: {reason}. Yes, I confirm.", order.order_id),
            );
            s.actions = vec![auth, get_order(id, 1, &order.order_id)];
            let (refusal, final_message) = if want_pending {
                s.actions.push(action(
                    id,
                    2,
                    "cancel_pending_order",
                    args([("order_id", json!(order.order_id)), ("reason", json!(reason))]),
                ));
                (
                    false,
                    format!("Order {} is cancelled; the refund goes to the original payment method.", order.order_id),
                )
            } else {
                (
                    true,
                    format!(
                        "Sorry, order {} is {} and only pending orders can be cancelled.",
                        order.order_id, order.status
                    ),
                )
            };
            Some(Draft { spec: s, refusal, final_message })
        }
        "return_delivered" => {
            let (user, order) =
                candidates.into_iter().find(|(_, o)| o.status == "delivered" && !o.payment_history.is_empty())?;
            let (auth, who) = authenticate(db, user, rng, id);
            let k = rng.random_range(1..=order.items.len());
            let items: Vec<&str> = order.items.iter().take(k).map(|i| i.item_id.as_str()).collect();
            let names: Vec<&str> = order.items.iter().take(k).map(|i| i.name.as_str()).collect();
            let original = order.payment_history[0].payment_method_id.clone();
            let gift =
                user.payment_methods.values().find(|m| matches!(m, PaymentMethod::GiftCard { .. })).map(method_id);
            let (method, refund_to) = match gift {
                Some(g) if g != original && rng.random_bool(0.5) => (g.to_owned(), format!("my gift card {g}")),
                _ => (original.clone(), "the original payment method".to_owned()),
            };
            let mut s = spec(
                id,
                family,
                user,
                format!(
                    "{who} Return the {} from order {}; refund to {refund_to}. Yes, I confirm.",
                    names.join(" and "),
                    order.order_id
                ),
            );
            s.actions = vec![
                auth,
                get_order(id, 1, &order.order_id),
                action(
                    id,
                    2,
                    "return_delivered_order_items",
                    args([
                        ("order_id", json!(order.order_id)),
                        ("item_ids", json!(items)),
                        ("payment_method_id", json!(method)),
                    ]),
                ),
            ];
            let final_message =
                format!("The return for order {} is requested; the refund goes to {method}.", order.order_id);
            Some(Draft { spec: s, refusal: false, final_message })
        }
        "exchange_delivered" => {
            for (user, order) in candidates {
                if order.status != "delivered" {
                    continue;
                }
                let item = &order.items[rng.random_range(0..order.items.len())];
                let Some(product) = db.products.get(&item.product_id) else { continue };
                let options: Vec<_> =
                    product.variants.values().filter(|v| v.available && v.item_id != item.item_id).collect();
                if options.is_empty() {
                    continue;
                }
                let new = options[rng.random_range(0..options.len())];
                let diff = new.price - item.price;
                let method = user
                    .payment_methods
                    .values()
                    .filter(|m| match m {
                        PaymentMethod::GiftCard { balance, .. } => *balance >= diff,
                        _ => true,
                    })
                    .map(method_id)
                    .next()?
                    .to_owned();
                let (auth, who) = authenticate(db, user, rng, id);
                let describe = |o: &indexmap::IndexMap<String, String>| {
                    o.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
                };
                let mut s = spec(
                    id,
                    family,
                    user,
                    format!(
                        "{who} In order {}, exchange my {} ({}) for the one with {}. Use {method} for any price difference. Yes, I confirm.",
                        order.order_id,
                        item.name,
                        describe(&item.options),
                        describe(&new.options)
                    ),
                );
                s.actions = vec![
                    auth,
                    get_order(id, 1, &order.order_id),
                    action(id, 2, "get_product_details", args([("product_id", json!(item.product_id))])),
                    action(
                        id,
                        3,
                        "exchange_delivered_order_items",
                        args([
                            ("order_id", json!(order.order_id)),
                            ("item_ids", json!([item.item_id])),
                            ("new_item_ids", json!([new.item_id])),
                            ("payment_method_id", json!(method)),
                        ]),
                    ),
                ];
                let final_message = format!(
                    "The exchange for order {} is requested: {} for {}.",
                    order.order_id, item.item_id, new.item_id
                );
                return Some(Draft { spec: s, refusal: false, final_message });
            }
            None
        }
        "modify_address" => {
            let (user, order) = candidates.into_iter().find(|(_, o)| o.status == "pending")?;
            let (auth, who) = authenticate(db, user, rng, id);
            let (city, state, zip) = *pick(rng, &CITIES);
            let address1 = format!("{} {}", rng.random_range(1..999), pick(rng, &STREETS));
            let zip = format!("{zip}{:02}", rng.random_range(0..100));
            let mut s = spec(
                id,
                family,
                user,
                format!(
                    "{who} Ship order {} to {address1}, {city}, {state} {zip}, USA instead. Yes, I confirm.",
                    order.order_id
                ),
            );
            s.actions = vec![
                auth,
                get_order(id, 1, &order.order_id),
                action(
                    id,
                    2,
                    "modify_pending_order_address",
                    args([
                        ("order_id", json!(order.order_id)),
                        ("address1", json!(address1)),
                        ("address2", json!("")),
                        ("city", json!(city)),
                        ("state", json!(state)),
                        ("country", json!("USA")),
                        ("zip", json!(zip)),
                    ]),
                ),
            ];
            Some(Draft {
                spec: s,
                refusal: false,
                final_message: format!("Order {} will ship to {address1}, {city}.", order.order_id),
            })
        }
        "modify_payment" => {
            for (user, order) in candidates {
                if order.status != "pending" || order.payment_history.len() != 1 {
                    continue;
                }
                let paid = &order.payment_history[0];
                let Some(method) = user
                    .payment_methods
                    .values()
                    .filter(|m| method_id(m) != paid.payment_method_id)
                    .find(|m| match m {
                        PaymentMethod::GiftCard { balance, .. } => *balance >= paid.amount,
                        _ => true,
                    })
                    .map(method_id)
                else {
                    continue;
                };
                let (auth, who) = authenticate(db, user, rng, id);
                let mut s = spec(
                    id,
                    family,
                    user,
                    format!("{who} Pay order {} with {method} instead. Yes, I confirm.", order.order_id),
                );
                s.actions = vec![
                    auth,
                    get_order(id, 1, &order.order_id),
                    action(
                        id,
                        2,
                        "modify_pending_order_payment",
                        args([("order_id", json!(order.order_id)), ("payment_method_id", json!(method))]),
                    ),
                ];
                let final_message =
                    format!("Order {} is now paid with {method}; the old payment is refunded.", order.order_id);
                return Some(Draft { spec: s, refusal: false, final_message });
            }
            None
        }
        "transfer_complaint" => {
            let (user, order) = candidates.into_iter().next()?;
            let (auth, who) = authenticate(db, user, rng, id);
            let mut s = spec(
                id,
                family,
                user,
                format!(
                    "{who} I want to file a complaint about the courier who delivered order {}. Please transfer me to a human.",
                    order.order_id
                ),
            );
            s.reward_basis = vec![RewardType::Db, RewardType::Action];
            s.actions = vec![
                auth,
                action_name_only(
                    id,
                    1,
                    "transfer_to_human_agents",
                    args([(
                        "summary",
                        json!(format!(
                            "User {} wants to file a complaint about the courier of order {}.",
                            user.user_id, order.order_id
                        )),
                    )]),
                ),
            ];
            Some(Draft { spec: s, refusal: true, final_message: TRANSFER_MESSAGE.to_owned() })
        }
        _ => None,
    }
}

/// Generates retail task `index` of `split`.
pub fn generate_task(
    db: &RetailDb,
    config: &GeneratorConfig,
    split: Split,
    index: usize,
    seed: u64,
) -> Result<GeneratedTask, DataError> {
    let families = config.enabled_families("retail", &FAMILIES)?;
    let pool = user_pool(db, split, config.test_fraction);
    let mut rng = crate::ids::derived_rng(seed, "retail", Some(split), index as u64);
    let start = rng.random_range(0..families.len());
    for k in 0..families.len() {
        let family = families[(start + k) % families.len()];
        let id = format!("{}_{}_{}", split.name(), index, family);
        if let Some(d) = build(family, db, &pool, &mut rng, &id) {
            return Ok(GeneratedTask {
                task: d.spec.into_task(),
                family: family.to_owned(),
                split,
                refusal: d.refusal,
                final_message: d.final_message,
            });
        }
    }
    Err(DataError::NoCandidate {
        family: families.join("|"),
        reason: format!("no {} user of this database fits any enabled family", split.name()),
    })
}

/// Generates `n` tasks of `split`.
pub fn generate_tasks(
    db: &RetailDb,
    config: &GeneratorConfig,
    split: Split,
    n: usize,
    seed: u64,
) -> Result<Vec<GeneratedTask>, DataError> {
    (0..n).map(|i| generate_task(db, config, split, i, seed)).collect()
}
