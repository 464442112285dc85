//! Generated airline databases in exactly τ²'s `FlightDB` schema (the domain crate's [`FlightDb`]).
//!
//! Shape: a few airports from τ²'s fixed list, one flight per route (so a route and a date name a single
//! flight), each flying on `days` consecutive dates around "today" (2024-05-15 15:00 EST, the policy's
//! clock): dates before today have landed (a few were cancelled), today's flights are landed, flying, on
//! time or delayed depending on their departure time, later dates are bookable (a few cancelled).
//! Customers hold one or more one-way or round-trip reservations paid with their own payment methods,
//! some booked within the last 24 hours, some insured, some already (partly) flown.

use std::sync::Arc;

use indexmap::IndexMap;
use rand::Rng;

use retain_domains::airline::FlightDb;
use retain_domains::airline::model::{
    Address, Flight, FlightDateStatus, Name, Passenger, Payment, PaymentMethod, Reservation, ReservationFlight, User,
};
use retain_domains::airline::tools::AIRPORTS;

use crate::ids::{CITIES, CODE_ALPHABET, FIRST_NAMES, GenRng, LAST_NAMES, STREETS, code, dob, pick, sample_indices};
use crate::knobs::AirlineDbConfig;

/// "Today" in the airline policy.
pub const TODAY: &str = "2024-05-15";
/// The policy's clock as a reservation timestamp.
pub const NOW: &str = "2024-05-15T15:00:00";
const CABINS: [&str; 3] = ["basic_economy", "economy", "business"];

/// The date `offset` days from 2024-05-15 (all generated dates stay within May 2024).
pub fn date(offset: i64) -> String {
    format!("2024-05-{:02}", 15 + offset)
}

fn time(minutes: i64) -> String {
    let m = minutes.rem_euclid(24 * 60);
    format!("{:02}:{:02}:00", m / 60, m % 60)
}

/// Free checked bags per passenger (policy table).
pub fn free_bags(membership: &str, cabin: &str) -> i64 {
    let base = match membership {
        "gold" => 2,
        "silver" => 1,
        _ => 0,
    };
    base + match cabin {
        "business" => 2,
        "economy" => 1,
        _ => 0,
    }
}

fn price_for(rng: &mut GenRng, cabin: &str) -> i64 {
    match cabin {
        "basic_economy" => rng.random_range(50..100),
        "economy" => rng.random_range(100..200),
        _ => rng.random_range(250..500),
    }
}

/// Generates a database. Users are numbered in generation order; the train/test split partitions them
/// (see [`super::tasks::user_pool`]).
pub fn generate(config: &AirlineDbConfig, rng: &mut GenRng) -> FlightDb {
    let airports: Vec<&str> =
        sample_indices(rng, AIRPORTS.len(), config.airports).into_iter().map(|i| AIRPORTS[i].0).collect();
    let mut routes: Vec<(&str, &str)> = Vec::new();
    for a in &airports {
        for b in &airports {
            if a != b {
                routes.push((a, b));
            }
        }
    }
    let chosen = sample_indices(rng, routes.len(), config.flights);
    let first_day = -((config.days as i64) / 2);
    let mut flights: IndexMap<String, Arc<Flight>> = IndexMap::new();
    let mut numbers = sample_indices(rng, 900, chosen.len());
    numbers.sort_unstable();
    for (k, route_index) in chosen.iter().enumerate() {
        let (origin, destination) = routes[*route_index];
        let number = format!("HAT{:03}", numbers[k] + 100);
        let departure = rng.random_range(6 * 4..21 * 4) * 15;
        let duration = rng.random_range(4..16) * 15;
        let arrival = departure + duration;
        let arrival_text = if arrival >= 24 * 60 { format!("{}+1", time(arrival)) } else { time(arrival) };
        let mut dates = IndexMap::new();
        for d in 0..config.days as i64 {
            let offset = first_day + d;
            let day = date(offset);
            let cancelled = rng.random_bool(0.1);
            let status = if cancelled {
                FlightDateStatus::Cancelled
            } else if offset < 0 || (offset == 0 && arrival < 15 * 60) {
                FlightDateStatus::Landed {
                    actual_departure_time_est: format!("{day}T{}", time(departure + rng.random_range(-10..20))),
                    actual_arrival_time_est: format!("{day}T{}", time(arrival + rng.random_range(-10..20))),
                }
            } else if offset == 0 && departure < 15 * 60 {
                FlightDateStatus::Flying {
                    actual_departure_time_est: format!("{day}T{}", time(departure)),
                    estimated_arrival_time_est: format!("{day}T{}", time(arrival)),
                }
            } else if offset == 0 {
                if rng.random_bool(0.5) {
                    let delay = rng.random_range(1..6) * 30;
                    FlightDateStatus::Delayed {
                        estimated_departure_time_est: format!("{day}T{}", time(departure + delay)),
                        estimated_arrival_time_est: format!("{day}T{}", time(arrival + delay)),
                    }
                } else {
                    FlightDateStatus::OnTime {
                        estimated_departure_time_est: format!("{day}T{}", time(departure)),
                        estimated_arrival_time_est: format!("{day}T{}", time(arrival)),
                    }
                }
            } else {
                let mut seats = IndexMap::new();
                let mut prices = IndexMap::new();
                for cabin in CABINS {
                    seats.insert(cabin.to_owned(), rng.random_range(0..12));
                    prices.insert(cabin.to_owned(), price_for(rng, cabin));
                }
                FlightDateStatus::Available { available_seats: seats, prices }
            };
            dates.insert(day, status);
        }
        flights.insert(
            number.clone(),
            Arc::new(Flight {
                flight_number: number,
                origin: origin.to_owned(),
                destination: destination.to_owned(),
                scheduled_departure_time_est: time(departure),
                scheduled_arrival_time_est: arrival_text,
                dates,
            }),
        );
    }

    let mut users: IndexMap<String, Arc<User>> = IndexMap::new();
    let mut reservations: IndexMap<String, Arc<Reservation>> = IndexMap::new();
    let flight_list: Vec<Arc<Flight>> = flights.values().cloned().collect();
    for u in 0..config.users {
        let first = *pick(rng, &FIRST_NAMES);
        let last = *pick(rng, &LAST_NAMES);
        let user_id = format!("{}{}", first.to_lowercase(), 10 + u);
        let (city, state, zip) = *pick(rng, &CITIES);
        let mut methods = IndexMap::new();
        let card = format!("card_{}", rng.random_range(1000..10000));
        methods.insert(
            card.clone(),
            PaymentMethod::CreditCard {
                id: card.clone(),
                brand: pick(rng, &["visa", "mastercard"]).to_string(),
                last_four: format!("{:04}", rng.random_range(0..10000)),
            },
        );
        if rng.random_bool(0.5) {
            let id = format!("gift_{}", rng.random_range(1000..10000));
            methods.insert(id.clone(), PaymentMethod::GiftCard { id, amount: f64::from(rng.random_range(1..60) * 10) });
        }
        if rng.random_bool(0.3) {
            let id = format!("cert_{}", rng.random_range(1000..10000));
            methods
                .insert(id.clone(), PaymentMethod::Certificate { id, amount: f64::from(rng.random_range(1..6) * 50) });
        }
        let saved = if rng.random_bool(0.6) {
            vec![Passenger {
                first_name: pick(rng, &FIRST_NAMES).to_string(),
                last_name: last.to_owned(),
                dob: dob(rng),
            }]
        } else {
            Vec::new()
        };
        let membership = pick(rng, &["regular", "silver", "gold"]).to_string();
        let me = Passenger { first_name: first.to_owned(), last_name: last.to_owned(), dob: dob(rng) };
        let n_res = rng.random_range(1..=config.max_reservations_per_user);
        let mut res_ids = Vec::new();
        for _ in 0..n_res {
            let res =
                reservation(rng, &user_id, &me, &saved, &methods, &flight_list, &flights, &membership, &reservations);
            res_ids.push(res.reservation_id.clone());
            reservations.insert(res.reservation_id.clone(), Arc::new(res));
        }
        users.insert(
            user_id.clone(),
            Arc::new(User {
                user_id: user_id.clone(),
                name: Name { first_name: first.to_owned(), last_name: last.to_owned() },
                address: Address {
                    address1: format!("{} {}", rng.random_range(1..999), pick(rng, &STREETS)),
                    address2: None,
                    city: city.to_owned(),
                    country: "USA".to_owned(),
                    state: state.to_owned(),
                    zip: format!("{zip}{:02}", rng.random_range(0..100)),
                },
                email: format!("{user_id}@example.com"),
                dob: me.dob.clone(),
                payment_methods: methods,
                saved_passengers: saved,
                membership,
                reservations: res_ids,
            }),
        );
    }
    FlightDb { flights: Arc::new(flights), users: Arc::new(users), reservations: Arc::new(reservations) }
}

#[allow(clippy::too_many_arguments)]
fn reservation(
    rng: &mut GenRng,
    user_id: &str,
    me: &Passenger,
    saved: &[Passenger],
    methods: &IndexMap<String, PaymentMethod>,
    flight_list: &[Arc<Flight>],
    flights: &IndexMap<String, Arc<Flight>>,
    membership: &str,
    existing: &IndexMap<String, Arc<Reservation>>,
) -> Reservation {
    let mut id = code(rng, CODE_ALPHABET, 4);
    while existing.contains_key(&id) || id.starts_with("HATHA") {
        id = code(rng, CODE_ALPHABET, 4);
    }
    let outbound = Arc::clone(pick(rng, flight_list));
    let dates: Vec<&String> = outbound.dates.keys().collect();
    let first_index = rng.random_range(0..dates.len());
    let cabin = pick(rng, &CABINS).to_string();
    let mut segments = vec![(Arc::clone(&outbound), dates[first_index].clone())];
    let back = flights.values().find(|f| f.origin == outbound.destination && f.destination == outbound.origin);
    let round_trip = back.is_some() && first_index + 1 < dates.len() && rng.random_bool(0.4);
    if let (true, Some(back)) = (round_trip, back) {
        let later: Vec<&String> = back.dates.keys().filter(|d| d.as_str() > dates[first_index].as_str()).collect();
        if let Some(d) = later.first() {
            segments.push((Arc::clone(back), (*d).clone()));
        }
    }
    let round_trip = segments.len() == 2;
    let mut passengers = vec![me.clone()];
    if !saved.is_empty() && rng.random_bool(0.4) {
        passengers.push(saved[0].clone());
    }
    let pax = passengers.len() as i64;
    let res_flights: Vec<ReservationFlight> = segments
        .iter()
        .map(|(f, d)| {
            let price = match f.dates.get(d) {
                Some(FlightDateStatus::Available { prices, .. }) => prices.get(&cabin).copied().unwrap_or(100),
                _ => price_for(rng, &cabin),
            };
            ReservationFlight {
                flight_number: f.flight_number.clone(),
                origin: f.origin.clone(),
                destination: f.destination.clone(),
                date: d.clone(),
                price,
            }
        })
        .collect();
    let insurance = if rng.random_bool(0.35) { "yes" } else { "no" };
    let free = free_bags(membership, &cabin) * pax;
    let total_bags = rng.random_range(0..=free.max(1));
    let nonfree = (total_bags - free).max(0);
    let total = res_flights.iter().map(|f| f.price).sum::<i64>() * pax
        + if insurance == "yes" { 30 * pax } else { 0 }
        + 50 * nonfree;
    let payer = methods
        .values()
        .find(|m| matches!(m, PaymentMethod::GiftCard { .. }) && rng.random_bool(0.3))
        .or_else(|| methods.values().find(|m| matches!(m, PaymentMethod::CreditCard { .. })))
        .map(|m| match m {
            PaymentMethod::CreditCard { id, .. }
            | PaymentMethod::GiftCard { id, .. }
            | PaymentMethod::Certificate { id, .. } => id.clone(),
        })
        .unwrap_or_default();
    let created_at = if rng.random_bool(0.3) {
        // Booked within the 24 hours before the policy's clock (2024-05-15 15:00).
        let minute_of_day = 15 * 60 - rng.random_range(1..24 * 60);
        let (day, m) = if minute_of_day < 0 { (14, minute_of_day + 24 * 60) } else { (15, minute_of_day) };
        format!("2024-05-{day}T{:02}:{:02}:00", m / 60, m % 60)
    } else {
        format!(
            "2024-05-{:02}T{:02}:{:02}:00",
            rng.random_range(1..13),
            rng.random_range(0..24),
            rng.random_range(0..60)
        )
    };
    Reservation {
        reservation_id: id,
        user_id: user_id.to_owned(),
        origin: outbound.origin.clone(),
        destination: if round_trip {
            outbound.destination.clone()
        } else {
            segments[segments.len() - 1].0.destination.clone()
        },
        flight_type: if round_trip { "round_trip" } else { "one_way" }.to_owned(),
        cabin,
        flights: res_flights,
        passengers,
        payment_history: vec![Payment { payment_id: payer, amount: total }],
        created_at,
        total_baggages: total_bags,
        nonfree_baggages: nonfree,
        insurance: insurance.to_owned(),
        status: None,
    }
}

/// Whether a reservation was booked within the 24 hours before the policy's clock.
pub fn booked_within_24h(created_at: &str) -> bool {
    ("2024-05-14T15:00:00"..=NOW).contains(&created_at)
}

/// Whether any segment has already departed (landed or flying) by the policy's clock.
pub fn any_flown(db: &FlightDb, res: &Reservation) -> bool {
    res.flights.iter().any(|seg| {
        matches!(
            db.flights.get(&seg.flight_number).and_then(|f| f.dates.get(&seg.date)),
            Some(FlightDateStatus::Landed { .. } | FlightDateStatus::Flying { .. })
        )
    })
}

/// Whether the airline cancelled any segment.
pub fn any_cancelled(db: &FlightDb, res: &Reservation) -> bool {
    res.flights.iter().any(|seg| {
        matches!(
            db.flights.get(&seg.flight_number).and_then(|f| f.dates.get(&seg.date)),
            Some(FlightDateStatus::Cancelled)
        )
    })
}
