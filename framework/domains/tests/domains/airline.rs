//! Airline tools on the real data: quirks and policy-relevant behaviour (the byte-exact success and error
//! paths are in `rendering.rs`).

use std::sync::Arc;

use retain_domains::airline::model::{FlightDateStatus, PaymentMethod};
use retain_domains::{Domain, DomainState, Environment, ToolCall};
use serde_json::{Value, json};

use super::common::{airline, args};

fn call(env: &mut Environment<retain_domains::airline::AirlineDomain>, name: &str, a: Value) -> (String, bool) {
    let m = env.respond(&ToolCall::assistant(name, args(a)));
    (m.content, m.error)
}

fn seats(env: &Environment<retain_domains::airline::AirlineDomain>, flight: &str, date: &str, cabin: &str) -> i64 {
    match &env.state().flights[flight].dates[date] {
        FlightDateStatus::Available { available_seats, .. } => available_seats[cabin],
        other => panic!("{flight} {date} not available: {other:?}"),
    }
}

fn booking(payments: Value) -> Value {
    json!({
        "user_id": "mei_hernandez_8984", "origin": "LAX", "destination": "SFO", "flight_type": "one_way",
        "cabin": "economy", "flights": [{"flight_number": "HAT034", "date": "2024-05-20"}],
        "passengers": [{"first_name": "Mei", "last_name": "Hernandez", "dob": "1981-01-11"}],
        "payment_methods": payments, "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no"
    })
}

#[test]
fn booking_takes_seats_and_fixed_ids_and_cancel_releases_none() {
    let mut env = Environment::new(airline(), false).unwrap();
    let before = seats(&env, "HAT034", "2024-05-20", "economy");
    let (out, err) =
        call(&mut env, "book_reservation", booking(json!([{"payment_id": "credit_card_2140654", "amount": 106}])));
    assert!(!err, "{out}");
    let res: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(res["reservation_id"], "HATHAT");
    assert_eq!(res["created_at"], "2024-05-15T15:00:00");
    assert_eq!(seats(&env, "HAT034", "2024-05-20", "economy"), before - 1);
    assert!(env.state().users["mei_hernandez_8984"].reservations.contains(&"HATHAT".to_owned()));
    let (out, _) =
        call(&mut env, "book_reservation", booking(json!([{"payment_id": "credit_card_2140654", "amount": 106}])));
    assert!(out.contains("\"HATHAU\""));
    let (out, err) = call(&mut env, "cancel_reservation", json!({"reservation_id": "HATHAT"}));
    assert!(!err);
    let res: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(res["status"], "cancelled");
    assert_eq!(
        res["payment_history"],
        json!([{"payment_id": "credit_card_2140654", "amount": 106}, {"payment_id": "credit_card_2140654", "amount": -106}])
    );
    // τ² quirk: cancelling does not give the seats back.
    assert_eq!(seats(&env, "HAT034", "2024-05-20", "economy"), before - 2);
}

#[test]
fn payments_must_add_up_and_balances_are_checked_and_debited() {
    let mut env = Environment::new(airline(), false).unwrap();
    let (out, err) =
        call(&mut env, "book_reservation", booking(json!([{"payment_id": "credit_card_2140654", "amount": 105}])));
    assert!(err);
    assert_eq!(out, "Error: Payment amount does not add up, total price is 106, but paid 105");
    let (out, _) =
        call(&mut env, "book_reservation", booking(json!([{"payment_id": "gift_card_5309492", "amount": 106}])));
    assert_eq!(out, "Error: Not enough balance in payment method gift_card_5309492");
    // Nothing changed by the failed calls.
    assert!(env.state().reservations.get("HATHAT").is_none());
    let (_, err) = call(
        &mut env,
        "book_reservation",
        booking(
            json!([{"payment_id": "gift_card_5309492", "amount": 98}, {"payment_id": "certificate_7502997", "amount": 8}]),
        ),
    );
    assert!(!err);
    let user = &env.state().users["mei_hernandez_8984"];
    assert!(
        matches!(user.payment_methods["gift_card_5309492"], PaymentMethod::GiftCard { amount, .. } if amount == 0.0)
    );
    // A certificate is consumed whole.
    assert!(!user.payment_methods.contains_key("certificate_7502997"));
}

#[test]
fn certificates_get_fixed_ids_then_run_out() {
    let mut env = Environment::new(airline(), false).unwrap();
    for id in ["certificate_3221322", "certificate_3221323", "certificate_3221324"] {
        let (out, err) = call(&mut env, "send_certificate", json!({"user_id": "mei_hernandez_8984", "amount": 150}));
        assert!(!err);
        assert_eq!(out, format!("Certificate {id} added to user mei_hernandez_8984 with amount 150."));
    }
    let (out, err) = call(&mut env, "send_certificate", json!({"user_id": "mei_hernandez_8984", "amount": 150}));
    assert!(err);
    assert_eq!(out, "Error: Too many certificates");
}

#[test]
fn flight_changes_keep_old_prices_refund_negative_differences_and_reject_certificates() {
    let mut env = Environment::new(airline(), false).unwrap();
    call(&mut env, "book_reservation", booking(json!([{"payment_id": "credit_card_2140654", "amount": 106}])));
    let before = seats(&env, "HAT034", "2024-05-20", "business");
    let f = json!([{"flight_number": "HAT034", "date": "2024-05-20"}]);
    let (out, _) = call(
        &mut env,
        "update_reservation_flights",
        json!({"reservation_id": "HATHAT", "cabin": "business", "flights": f, "payment_id": "certificate_7502997"}),
    );
    assert_eq!(out, "Error: Certificate cannot be used to update reservation");
    let (out, err) = call(
        &mut env,
        "update_reservation_flights",
        json!({"reservation_id": "HATHAT", "cabin": "business", "flights": f, "payment_id": "credit_card_2140654"}),
    );
    assert!(!err);
    let res: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(res["cabin"], "business");
    assert_eq!(res["payment_history"][1], json!({"payment_id": "credit_card_2140654", "amount": 373}));
    // No seat update on flight changes (τ² quirk).
    assert_eq!(seats(&env, "HAT034", "2024-05-20", "business"), before);
    // Back to economy: a refund line with a negative amount.
    let (out, _) = call(
        &mut env,
        "update_reservation_flights",
        json!({"reservation_id": "HATHAT", "cabin": "economy", "flights": f, "payment_id": "credit_card_2140654"}),
    );
    let res: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(res["payment_history"][2], json!({"payment_id": "credit_card_2140654", "amount": -373}));
}

#[test]
fn basic_economy_changes_are_not_blocked_by_code_only_by_policy() {
    // τ²'s code lets a basic-economy reservation change flights (the policy forbids it; the gold state then
    // differs, which is how such a violation is scored).
    let mut env = Environment::new(airline(), false).unwrap();
    let (out, err) = call(
        &mut env,
        "update_reservation_flights",
        json!({
        "reservation_id": "1OWO6T", "cabin": "economy",
        "flights": [{"flight_number": "HAT006", "date": "2024-05-28"}], "payment_id": "credit_card_2046918"}),
    );
    assert!(!err, "{out}");
    assert!(!env.state().db_match(airline().initial_state()).agent);
}

#[test]
fn one_stop_search_pads_nothing_for_next_day_legs() {
    let domain = airline();
    // A first leg arriving the next day, and a second leg leaving its arrival airport late enough.
    let first =
        domain.initial_state().flights.values().find(|f| f.scheduled_arrival_time_est.contains("+1")).unwrap().clone();
    let second = domain
        .initial_state()
        .flights
        .values()
        .find(|f| f.origin == first.destination && f.scheduled_departure_time_est >= first.scheduled_arrival_time_est)
        .unwrap()
        .clone();
    let mut env = Environment::new(Arc::clone(&domain), false).unwrap();
    // Make both bookable on the days used (early May is in the past in the data, so set it up).
    let open = || FlightDateStatus::Available {
        available_seats: [("basic_economy", 5), ("economy", 5), ("business", 5)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        prices: [("basic_economy", 50), ("economy", 100), ("business", 300)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    };
    {
        let flights = Arc::make_mut(&mut env.state_mut().flights);
        for (number, day) in [
            (&first.flight_number, "2024-05-05"),
            (&first.flight_number, "2024-05-16"),
            (&second.flight_number, "2024-05-06"),
            (&second.flight_number, "2024-05-17"),
        ] {
            Arc::make_mut(flights.get_mut(number.as_str()).unwrap()).dates.insert(day.to_owned(), open());
        }
    }
    let mut search = |date: &str| -> Vec<Value> {
        let (out, err) = call(
            &mut env,
            "search_onestop_flight",
            json!({"origin": first.origin, "destination": second.destination, "date": date}),
        );
        assert!(!err, "{out}");
        let pairs: Vec<Value> = serde_json::from_str(&out).unwrap();
        pairs.into_iter().filter(|p| p[0]["flight_number"] == first.flight_number.as_str()).collect()
    };
    // Day 16 → the second leg is searched on "2024-05-17".
    let late = search("2024-05-16");
    assert!(late.iter().any(|p| p[1]["flight_number"] == second.flight_number.as_str()), "{late:?}");
    assert!(late.iter().all(|p| p[1]["date"] == "2024-05-17" && p[0]["date"] == "2024-05-16"));
    // Day 5 → τ² looks for "2024-05-6", which does not exist: no pair through this first leg.
    assert!(search("2024-05-05").is_empty());
}

#[test]
fn airline_and_retail_databases_load_well_under_a_second() {
    let dir = super::common::data_dir();
    let start = std::time::Instant::now();
    let a = retain_domains::airline::AirlineDomain::load(&dir.join("airline")).unwrap();
    let r = retain_domains::retail::RetailDomain::load(&dir.join("retail")).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(
        (a.initial_state().flights.len(), a.initial_state().users.len(), a.initial_state().reservations.len()),
        (300, 500, 2000)
    );
    assert_eq!(
        (r.initial_state().products.len(), r.initial_state().users.len(), r.initial_state().orders.len()),
        (50, 500, 1000)
    );
    assert!(elapsed.as_secs_f64() < 1.0, "loading took {elapsed:?}");
}
