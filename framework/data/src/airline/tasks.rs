//! Airline task families, generated on any `FlightDb` (a generated one or τ²'s official database).
//!
//! Each family looks for an entity of the split's user pool that satisfies its preconditions, then derives
//! the gold actions from the policy: what a correct agent reads, writes (or refuses to write), and says.

use std::sync::Arc;

use rand::Rng;
use serde_json::{Value, json};

use retain_domains::airline::FlightDb;
use retain_domains::airline::model::{FlightDateStatus, Passenger, PaymentMethod, Reservation, User};
use retain_domains::task::RewardType;

use super::db::{TODAY, any_cancelled, any_flown, booked_within_24h, free_bags};
use crate::error::DataError;
use crate::ids::{FIRST_NAMES, GenRng, LAST_NAMES, dob, pick};
use crate::knobs::{GeneratorConfig, Split};
use crate::task_builder::{GeneratedTask, TaskSpec, action, action_name_only, args};

/// Every airline family, in a fixed order.
pub const FAMILIES: [&str; 10] = [
    "baggage_info",
    "flight_status",
    "cancel_allowed",
    "cancel_refused",
    "cancel_flown_transfer",
    "add_bags",
    "change_passenger",
    "book_direct",
    "compensation_cancelled",
    "compensation_refused",
];

/// The message τ²'s policy prescribes after a transfer.
pub const TRANSFER_MESSAGE: &str = "YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON.";

/// The users of a split: the last `test_fraction` of the users (database order) are test users, the rest
/// train users, so train and test tasks never share a customer or a reservation.
pub fn user_pool(db: &FlightDb, split: Split, test_fraction: f64) -> Vec<Arc<User>> {
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

struct Draft {
    spec: TaskSpec,
    refusal: bool,
    final_message: String,
}

fn base_spec(id: &str, family: &str, user: &User, ticket: String, policy: &str) -> TaskSpec {
    TaskSpec {
        id: id.to_owned(),
        domain: "airline",
        purpose: format!("generated airline task, family {family}"),
        policy: policy.to_owned(),
        reason_for_call: ticket.clone(),
        known_info: format!(
            "You are {} {}. Your user id is {}.",
            user.name.first_name, user.name.last_name, user.user_id
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

fn get_res(id: &str, i: usize, res: &str) -> retain_domains::task::Action {
    action(id, i, "get_reservation_details", args([("reservation_id", json!(res))]))
}

fn get_user(id: &str, i: usize, user: &str) -> retain_domains::task::Action {
    action(id, i, "get_user_details", args([("user_id", json!(user))]))
}

fn reservations_of<'a>(db: &'a FlightDb, user: &User) -> Vec<&'a Arc<Reservation>> {
    user.reservations.iter().filter_map(|r| db.reservations.get(r)).collect()
}

/// Candidate (user, reservation) pairs of the pool, in a random order.
fn shuffled_pairs<'a>(
    db: &'a FlightDb,
    pool: &'a [Arc<User>],
    rng: &mut GenRng,
) -> Vec<(&'a Arc<User>, &'a Arc<Reservation>)> {
    let mut pairs: Vec<(&Arc<User>, &Arc<Reservation>)> =
        pool.iter().flat_map(|u| reservations_of(db, u).into_iter().map(move |r| (u, r))).collect();
    for i in (1..pairs.len()).rev() {
        let j = rng.random_range(0..=i);
        pairs.swap(i, j);
    }
    pairs
}

fn active(res: &Reservation) -> bool {
    res.status.as_deref() != Some("cancelled")
}

fn payment_for(user: &User, amount: i64, rng: &mut GenRng) -> Option<String> {
    let mut options: Vec<&str> = user
        .payment_methods
        .values()
        .filter_map(|m| match m {
            PaymentMethod::CreditCard { id, .. } => Some(id.as_str()),
            PaymentMethod::GiftCard { id, amount: balance } if *balance >= amount as f64 => Some(id.as_str()),
            _ => None,
        })
        .collect();
    options.sort_unstable();
    (!options.is_empty()).then(|| options[rng.random_range(0..options.len())].to_owned())
}

fn build(family: &str, db: &FlightDb, pool: &[Arc<User>], rng: &mut GenRng, id: &str) -> Option<Draft> {
    match family {
        "baggage_info" => {
            let (user, res) = shuffled_pairs(db, pool, rng).into_iter().find(|(_, r)| active(r))?;
            let pax = res.passengers.len() as i64;
            let total = free_bags(&user.membership, &res.cabin) * pax;
            let ticket = format!(
                "User id: {}. How many checked bags in total can I bring for free on reservation {}?",
                user.user_id, res.reservation_id
            );
            let mut spec = base_spec(id, family, user, ticket, "checked bag allowance");
            spec.actions = vec![get_user(id, 0, &user.user_id), get_res(id, 1, &res.reservation_id)];
            spec.communicate_info = vec![total.to_string()];
            let final_message = format!(
                "As a {} member flying {} with {} passenger(s), reservation {} includes {} free checked bags in total.",
                user.membership,
                res.cabin.replace('_', " "),
                pax,
                res.reservation_id,
                total
            );
            Some(Draft { spec, refusal: false, final_message })
        }
        "flight_status" => {
            let (user, res) = shuffled_pairs(db, pool, rng).into_iter().find(|(_, r)| active(r))?;
            let seg = &res.flights[rng.random_range(0..res.flights.len())];
            let status = db.flights.get(&seg.flight_number)?.dates.get(&seg.date)?.status();
            let ticket = format!(
                "User id: {}. What is the status of my flight {} on {}?",
                user.user_id, seg.flight_number, seg.date
            );
            let mut spec = base_spec(id, family, user, ticket, "flight status lookup");
            spec.actions = vec![action(
                id,
                0,
                "get_flight_status",
                args([("flight_number", json!(seg.flight_number)), ("date", json!(seg.date))]),
            )];
            spec.communicate_info = vec![status.to_owned()];
            let final_message = format!("Flight {} on {} is {}.", seg.flight_number, seg.date, status);
            Some(Draft { spec, refusal: false, final_message })
        }
        "cancel_allowed" | "cancel_refused" | "cancel_flown_transfer" => {
            let want = family;
            for (user, res) in shuffled_pairs(db, pool, rng) {
                if !active(res) {
                    continue;
                }
                let flown = any_flown(db, res);
                let reason_options: Vec<(&str, bool)> = if flown {
                    vec![("change of plans", false)]
                } else if any_cancelled(db, res) {
                    vec![("the airline cancelled my flight", true)]
                } else if booked_within_24h(&res.created_at) || res.cabin == "business" {
                    vec![("change of plans", true)]
                } else if res.insurance == "yes" {
                    vec![("a health issue", true), ("bad weather", true), ("change of plans", false)]
                } else {
                    vec![("change of plans", false), ("a health issue", false)]
                };
                let (reason, allowed) = reason_options[rng.random_range(0..reason_options.len())];
                let kind = if flown {
                    "cancel_flown_transfer"
                } else if allowed {
                    "cancel_allowed"
                } else {
                    "cancel_refused"
                };
                if kind != want {
                    continue;
                }
                let ticket = format!(
                    "User id: {}. Please cancel reservation {}. Reason: {}. Yes, I confirm.",
                    user.user_id, res.reservation_id, reason
                );
                let mut spec = base_spec(id, family, user, ticket, "cancellation rules");
                let (actions, final_message, refusal) = match kind {
                    "cancel_allowed" => (
                        vec![
                            get_res(id, 0, &res.reservation_id),
                            action(id, 1, "cancel_reservation", args([("reservation_id", json!(res.reservation_id))])),
                        ],
                        format!(
                            "Reservation {} is cancelled; the refund goes to the original payment method in 5 to 7 business days.",
                            res.reservation_id
                        ),
                        false,
                    ),
                    "cancel_refused" => (
                        vec![get_res(id, 0, &res.reservation_id)],
                        format!(
                            "Sorry, reservation {} cannot be cancelled: it was not booked in the last 24 hours, is not business, and the reason is not covered.",
                            res.reservation_id
                        ),
                        true,
                    ),
                    _ => {
                        spec.reward_basis = vec![RewardType::Db, RewardType::Action];
                        (
                            vec![
                                get_res(id, 0, &res.reservation_id),
                                action_name_only(
                                    id,
                                    1,
                                    "transfer_to_human_agents",
                                    args([(
                                        "summary",
                                        json!(format!(
                                            "User {} wants to cancel reservation {}, which has a flown segment.",
                                            user.user_id, res.reservation_id
                                        )),
                                    )]),
                                ),
                            ],
                            TRANSFER_MESSAGE.to_owned(),
                            true,
                        )
                    }
                };
                spec.actions = actions;
                return Some(Draft { spec, refusal, final_message });
            }
            None
        }
        "add_bags" => {
            let (user, res) =
                shuffled_pairs(db, pool, rng).into_iter().find(|(_, r)| active(r) && !any_flown(db, r))?;
            let n: i64 = rng.random_range(1..=2);
            let pax = res.passengers.len() as i64;
            let free = free_bags(&user.membership, &res.cabin) * pax;
            let total = res.total_baggages + n;
            let nonfree = res.nonfree_baggages.max(total - free);
            let cost = 50 * (nonfree - res.nonfree_baggages).max(0);
            let payment = payment_for(user, cost, rng)?;
            let ticket = format!(
                "User id: {}. Add {} checked bag(s) to reservation {}. Pay any fee with {}. Yes, I confirm.",
                user.user_id, n, res.reservation_id, payment
            );
            let mut spec = base_spec(id, family, user, ticket, "checked bag allowance; adding bags");
            spec.actions = vec![
                get_user(id, 0, &user.user_id),
                get_res(id, 1, &res.reservation_id),
                action(
                    id,
                    2,
                    "update_reservation_baggages",
                    args([
                        ("reservation_id", json!(res.reservation_id)),
                        ("total_baggages", json!(total)),
                        ("nonfree_baggages", json!(nonfree)),
                        ("payment_id", json!(payment)),
                    ]),
                ),
            ];
            let final_message = format!(
                "Reservation {} now has {} checked bags, {} of them paid; the fee is ${}.",
                res.reservation_id, total, nonfree, cost
            );
            Some(Draft { spec, refusal: false, final_message })
        }
        "change_passenger" => {
            let (user, res) =
                shuffled_pairs(db, pool, rng).into_iter().find(|(_, r)| active(r) && !any_flown(db, r))?;
            let k = rng.random_range(0..res.passengers.len());
            let new = Passenger {
                first_name: pick(rng, &FIRST_NAMES).to_string(),
                last_name: pick(rng, &LAST_NAMES).to_string(),
                dob: dob(rng),
            };
            let mut passengers = res.passengers.clone();
            let old = passengers[k].clone();
            passengers[k] = new.clone();
            let ticket = format!(
                "User id: {}. On reservation {}, replace passenger {} {} with {} {} (born {}). Yes, I confirm.",
                user.user_id, res.reservation_id, old.first_name, old.last_name, new.first_name, new.last_name, new.dob
            );
            let mut spec = base_spec(id, family, user, ticket, "passenger changes (count fixed)");
            spec.actions = vec![
                get_res(id, 0, &res.reservation_id),
                action(
                    id,
                    1,
                    "update_reservation_passengers",
                    args([("reservation_id", json!(res.reservation_id)), ("passengers", passengers_json(&passengers))]),
                ),
            ];
            let final_message = format!(
                "Done: {} {} now replaces {} {} on reservation {}.",
                new.first_name, new.last_name, old.first_name, old.last_name, res.reservation_id
            );
            Some(Draft { spec, refusal: false, final_message })
        }
        "book_direct" => book_direct(db, pool, rng, id),
        "compensation_cancelled" | "compensation_refused" => {
            for (user, res) in shuffled_pairs(db, pool, rng) {
                if !active(res) || !any_cancelled(db, res) {
                    continue;
                }
                let eligible = user.membership != "regular" || res.insurance == "yes" || res.cabin == "business";
                if eligible != (family == "compensation_cancelled") {
                    continue;
                }
                let seg = res.flights.iter().find(|s| {
                    matches!(
                        db.flights.get(&s.flight_number).and_then(|f| f.dates.get(&s.date)),
                        Some(FlightDateStatus::Cancelled)
                    )
                })?;
                let ticket = format!(
                    "User id: {}. My flight {} on {} (reservation {}) was cancelled by the airline. I want compensation.",
                    user.user_id, seg.flight_number, seg.date, res.reservation_id
                );
                let mut spec = base_spec(id, family, user, ticket, "compensation for cancelled flights");
                let pax = res.passengers.len() as i64;
                let mut actions = vec![get_user(id, 0, &user.user_id), get_res(id, 1, &res.reservation_id)];
                let (final_message, refusal) = if eligible {
                    let amount = 100 * pax;
                    actions.push(action(
                        id,
                        2,
                        "send_certificate",
                        args([("user_id", json!(user.user_id)), ("amount", json!(amount))]),
                    ));
                    (
                        format!(
                            "I'm sorry about the cancellation. A ${amount} travel certificate has been added to your account."
                        ),
                        false,
                    )
                } else {
                    (
                        "I'm sorry about the cancellation, but as a regular member without insurance in (basic) economy you are not eligible for compensation.".to_owned(),
                        true,
                    )
                };
                spec.actions = actions;
                return Some(Draft { spec, refusal, final_message });
            }
            None
        }
        _ => None,
    }
}

fn passengers_json(passengers: &[Passenger]) -> Value {
    Value::Array(
        passengers
            .iter()
            .map(|p| json!({"first_name": p.first_name, "last_name": p.last_name, "dob": p.dob}))
            .collect(),
    )
}

fn book_direct(db: &FlightDb, pool: &[Arc<User>], rng: &mut GenRng, id: &str) -> Option<Draft> {
    let mut offers: Vec<(String, String, String, i64)> = Vec::new(); // flight, date, cabin, price
    for flight in db.flights.values() {
        for (date, status) in &flight.dates {
            if date.as_str() <= TODAY {
                continue;
            }
            if let FlightDateStatus::Available { available_seats, prices } = status {
                for (cabin, seats) in available_seats {
                    if *seats >= 2 {
                        offers.push((
                            flight.flight_number.clone(),
                            date.clone(),
                            cabin.clone(),
                            prices.get(cabin).copied().unwrap_or(0),
                        ));
                    }
                }
            }
        }
    }
    if offers.is_empty() || pool.is_empty() {
        return None;
    }
    let (number, date, cabin, price) = offers[rng.random_range(0..offers.len())].clone();
    let flight = db.flights.get(&number)?;
    let user = &pool[rng.random_range(0..pool.len())];
    let me = Passenger {
        first_name: user.name.first_name.clone(),
        last_name: user.name.last_name.clone(),
        dob: user.dob.clone(),
    };
    let mut passengers = vec![me];
    if let Some(saved) = user.saved_passengers.first().filter(|_| rng.random_bool(0.4)) {
        passengers.push(saved.clone());
    }
    let pax = passengers.len() as i64;
    let insurance = if rng.random_bool(0.4) { "yes" } else { "no" };
    let total = price * pax + if insurance == "yes" { 30 * pax } else { 0 };
    let payment = payment_for(user, total, rng)?;
    let who = if pax == 1 {
        "just me".to_owned()
    } else {
        format!("me and {} {}", passengers[1].first_name, passengers[1].last_name)
    };
    let ticket = format!(
        "User id: {}. Book a one-way direct flight from {} to {} on {} in {}, for {}, no checked bags, insurance: {}. Pay with {}. Yes, I confirm.",
        user.user_id,
        flight.origin,
        flight.destination,
        date,
        cabin.replace('_', " "),
        who,
        insurance,
        payment
    );
    let mut spec = base_spec(id, "book_direct", user, ticket, "booking: cabin, passengers, payment, insurance");
    spec.actions = vec![
        get_user(id, 0, &user.user_id),
        action(
            id,
            1,
            "search_direct_flight",
            args([("origin", json!(flight.origin)), ("destination", json!(flight.destination)), ("date", json!(date))]),
        ),
        action(
            id,
            2,
            "book_reservation",
            args([
                ("user_id", json!(user.user_id)),
                ("origin", json!(flight.origin)),
                ("destination", json!(flight.destination)),
                ("flight_type", json!("one_way")),
                ("cabin", json!(cabin)),
                ("flights", json!([{"flight_number": number, "date": date}])),
                ("passengers", passengers_json(&passengers)),
                ("payment_methods", json!([{"payment_id": payment, "amount": total}])),
                ("total_baggages", json!(0)),
                ("nonfree_baggages", json!(0)),
                ("insurance", json!(insurance)),
            ]),
        ),
    ];
    let final_message =
        format!("Your flight {number} on {date} is booked; the total charged to {payment} is ${total}.");
    Some(Draft { spec, refusal: false, final_message })
}

/// Generates task `index` of `split` (independent of the other tasks; family drawn uniformly among the
/// enabled ones, falling back to the next family when the pool has no candidate for it).
pub fn generate_task(
    db: &FlightDb,
    config: &GeneratorConfig,
    split: Split,
    index: usize,
    seed: u64,
) -> Result<GeneratedTask, DataError> {
    let families = config.enabled_families("airline", &FAMILIES)?;
    let pool = user_pool(db, split, config.test_fraction);
    let mut rng = crate::ids::derived_rng(seed, "airline", Some(split), index as u64);
    let start = rng.random_range(0..families.len());
    for k in 0..families.len() {
        let family = families[(start + k) % families.len()];
        let id = format!("{}_{}_{}", split.name(), index, family);
        if let Some(draft) = build(family, db, &pool, &mut rng, &id) {
            return Ok(GeneratedTask {
                task: draft.spec.into_task(),
                family: family.to_owned(),
                split,
                refusal: draft.refusal,
                final_message: draft.final_message,
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
    db: &FlightDb,
    config: &GeneratorConfig,
    split: Split,
    n: usize,
    seed: u64,
) -> Result<Vec<GeneratedTask>, DataError> {
    (0..n).map(|i| generate_task(db, config, split, i, seed)).collect()
}
