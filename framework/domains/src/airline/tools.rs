//! The 14 airline agent tools with τ²'s semantics, messages and quirks.
//!
//! Quirks kept on purpose (they decide rewards): new reservations are `HATHAT`, `HATHAU`, `HATHAV` in turn;
//! `created_at` is always `2024-05-15T15:00:00`; certificates are `certificate_3221322`…`3221324`;
//! cancelling refunds every payment but releases no seats; changing flights neither frees nor takes seats;
//! the one-stop search looks for the second leg on `2024-05-<day+1>` without zero padding when the first
//! leg arrives the next day; payments must add up exactly.

use std::sync::Arc;

use serde_json::Value;

use super::model::{
    DirectFlight, FlightDateStatus, FlightDb, FlightInfo, Passenger, Payment, PaymentMethod, Reservation,
    ReservationFlight, User,
};
use crate::calculate;
use crate::pyjson::float_repr;
use crate::tool::{Args, ModelSchema, Param, ParamType, ToolDef, ToolError, ToolKind, ToolResult, Toolkit, render};

/// The fixed "now" of the airline domain.
pub const NOW: &str = "2024-05-15T15:00:00";
/// Reservation ids handed out in order.
pub const NEW_RESERVATION_IDS: [&str; 3] = ["HATHAT", "HATHAU", "HATHAV"];
/// Certificate ids handed out in order.
pub const NEW_CERTIFICATE_IDS: [&str; 3] = ["certificate_3221322", "certificate_3221323", "certificate_3221324"];

type Db = FlightDb;

fn err(msg: impl Into<String>) -> ToolError {
    ToolError::new(msg)
}

fn user<'a>(db: &'a Db, id: &str) -> Result<&'a Arc<User>, ToolError> {
    db.users.get(id).ok_or_else(|| err(format!("User {id} not found")))
}

fn reservation<'a>(db: &'a Db, id: &str) -> Result<&'a Arc<Reservation>, ToolError> {
    db.reservations.get(id).ok_or_else(|| err(format!("Reservation {id} not found")))
}

fn flight_instance<'a>(db: &'a Db, number: &str, date: &str) -> Result<&'a FlightDateStatus, ToolError> {
    let flight = db.flights.get(number).ok_or_else(|| err(format!("Flight {number} not found")))?;
    flight.dates.get(date).ok_or_else(|| err(format!("Flight {number} not found on date {date}")))
}

fn user_mut<'a>(db: &'a mut Db, id: &str) -> Result<&'a mut User, ToolError> {
    let users = Arc::make_mut(&mut db.users);
    users.get_mut(id).map(Arc::make_mut).ok_or_else(|| err(format!("User {id} not found")))
}

fn reservation_mut<'a>(db: &'a mut Db, id: &str) -> Result<&'a mut Reservation, ToolError> {
    let reservations = Arc::make_mut(&mut db.reservations);
    reservations.get_mut(id).map(Arc::make_mut).ok_or_else(|| err(format!("Reservation {id} not found")))
}

fn seats_and_price(status: &FlightDateStatus, cabin: &str) -> Option<(i64, i64)> {
    match status {
        FlightDateStatus::Available { available_seats, prices } => {
            Some((available_seats.get(cabin).copied().unwrap_or(0), prices.get(cabin).copied().unwrap_or(0)))
        }
        _ => None,
    }
}

/// Decodes a list of `{payment_id, amount}` objects (already validated against [`PAYMENT`]).
fn decode_payments(args: &Args<'_>, name: &str) -> Result<Vec<Payment>, ToolError> {
    let value = args.value(name)?;
    let items = value.as_array().ok_or_else(|| err(format!("argument '{name}' must be a list")))?;
    items
        .iter()
        .map(|item| {
            let payment_id = item.get("payment_id").and_then(Value::as_str).unwrap_or_default().to_owned();
            let amount =
                item.get("amount").and_then(|a| a.as_i64().or_else(|| a.as_f64().map(|f| f as i64))).unwrap_or(0);
            Ok(Payment { payment_id, amount })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Parameter schemas.

static FLIGHT_INFO: ModelSchema = ModelSchema {
    name: "FlightInfo",
    description: None,
    fields: &[
        Param::required("flight_number", ParamType::String, "Flight number, such as 'HAT001'."),
        Param::required(
            "date",
            ParamType::String,
            "The date for the flight in the format 'YYYY-MM-DD', such as '2024-05-01'.",
        ),
    ],
    forbid_extra: false,
};

static PASSENGER: ModelSchema = ModelSchema {
    name: "Passenger",
    description: None,
    fields: &[
        Param::required("first_name", ParamType::String, "Passenger's first name"),
        Param::required("last_name", ParamType::String, "Passenger's last name"),
        Param::required("dob", ParamType::String, "Date of birth in YYYY-MM-DD format"),
    ],
    forbid_extra: false,
};

static PAYMENT: ModelSchema = ModelSchema {
    name: "Payment",
    description: None,
    fields: &[
        Param::required("payment_id", ParamType::String, "Unique identifier for the payment"),
        Param::required("amount", ParamType::Integer, "Payment amount in dollars"),
    ],
    forbid_extra: false,
};

const CABINS: &[&str] = &["business", "economy", "basic_economy"];
static FLIGHT_INFO_ITEM: ParamType = ParamType::ModelOrDict(&FLIGHT_INFO);
static PASSENGER_ITEM: ParamType = ParamType::ModelOrDict(&PASSENGER);
static PAYMENT_ITEM: ParamType = ParamType::ModelOrDict(&PAYMENT);
const PAYMENT_ID_DOC: &str =
    "The payment id stored in user profile, such as 'credit_card_7815826', 'gift_card_7815826', 'certificate_7815826'.";

/// Description of `transfer_to_human_agents`, shared by airline and retail.
pub const TRANSFER_DESCRIPTION: &str = "Transfer the user to a human agent, with a summary of the user's issue.\n\nOnly transfer if\n -  the user explicitly asks for a human agent\n -  given the policy and the available tools, you cannot solve the user's issue.";
/// Parameters of `transfer_to_human_agents`.
pub static TRANSFER_PARAMS: &[Param] =
    &[Param::required("summary", ParamType::String, "A summary of the user's issue.")];

// ---------------------------------------------------------------------------------------------------------
// Tool bodies.

fn book_reservation(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let user_id = a.str("user_id")?;
    let flights: Vec<FlightInfo> = a.decode("flights")?;
    let passengers: Vec<Passenger> = a.decode("passengers")?;
    let payments = decode_payments(a, "payment_methods")?;
    let cabin = a.str("cabin")?;
    let insurance = a.str("insurance")?;
    let nonfree = a.int("nonfree_baggages")?;
    let the_user = Arc::clone(user(db, &user_id)?);
    let reservation_id = NEW_RESERVATION_IDS
        .iter()
        .find(|id| !db.reservations.contains_key(**id))
        .ok_or_else(|| err("Too many reservations"))?
        .to_string();
    let mut res = Reservation {
        reservation_id: reservation_id.clone(),
        user_id: user_id.clone(),
        origin: a.str("origin")?,
        destination: a.str("destination")?,
        flight_type: a.str("flight_type")?,
        cabin: cabin.clone(),
        flights: Vec::new(),
        passengers: passengers.clone(),
        payment_history: payments.clone(),
        created_at: NOW.to_owned(),
        total_baggages: a.int("total_baggages")?,
        nonfree_baggages: nonfree,
        insurance: insurance.clone(),
        status: None,
    };
    let pax = passengers.len() as i64;
    let mut total_price = 0i64;
    for info in &flights {
        let flight = db
            .flights
            .get(&info.flight_number)
            .ok_or_else(|| err(format!("Flight {} not found", info.flight_number)))?;
        let status = flight_instance(db, &info.flight_number, &info.date)?;
        let (seats, price) = seats_and_price(status, &cabin)
            .ok_or_else(|| err(format!("Flight {} not available on date {}", info.flight_number, info.date)))?;
        if seats < pax {
            return Err(err(format!("Not enough seats on flight {}", info.flight_number)));
        }
        res.flights.push(ReservationFlight {
            flight_number: info.flight_number.clone(),
            origin: flight.origin.clone(),
            destination: flight.destination.clone(),
            date: info.date.clone(),
            price,
        });
        total_price += price * pax;
    }
    if insurance == "yes" {
        total_price += 30 * pax;
    }
    total_price += 50 * nonfree;
    for p in &payments {
        let method = the_user
            .payment_methods
            .get(&p.payment_id)
            .ok_or_else(|| err(format!("Payment method {} not found", p.payment_id)))?;
        if let Some(balance) = method.balance()
            && balance < p.amount as f64
        {
            return Err(err(format!("Not enough balance in payment method {}", p.payment_id)));
        }
    }
    let total_payment: i64 = payments.iter().map(|p| p.amount).sum();
    if total_payment != total_price {
        return Err(err(format!(
            "Payment amount does not add up, total price is {total_price}, but paid {total_payment}"
        )));
    }
    {
        let u = user_mut(db, &user_id)?;
        for p in &payments {
            // τ² looks the method up again here; a certificate listed twice is gone the second time.
            let Some(method) = u.payment_methods.get_mut(&p.payment_id) else {
                return Err(err(format!("'{}'", p.payment_id)));
            };
            match method {
                PaymentMethod::GiftCard { amount, .. } => *amount -= p.amount as f64,
                PaymentMethod::Certificate { .. } => {
                    u.payment_methods.shift_remove(&p.payment_id);
                }
                PaymentMethod::CreditCard { .. } => {}
            }
        }
    }
    {
        let flights_map = Arc::make_mut(&mut db.flights);
        for info in &flights {
            if let Some(FlightDateStatus::Available { available_seats, .. }) =
                flights_map.get_mut(&info.flight_number).map(Arc::make_mut).and_then(|f| f.dates.get_mut(&info.date))
                && let Some(seats) = available_seats.get_mut(&cabin)
            {
                *seats -= pax;
            }
        }
    }
    let out = render(&res);
    Arc::make_mut(&mut db.reservations).insert(reservation_id.clone(), Arc::new(res));
    user_mut(db, &user_id)?.reservations.push(reservation_id);
    Ok(out)
}

fn calculate_tool(_db: &mut Db, a: &Args<'_>) -> ToolResult {
    calculate::calculate(&a.str("expression")?)
}

fn cancel_reservation(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let id = a.str("reservation_id")?;
    let res = reservation_mut(db, &id)?;
    let refunds: Vec<Payment> =
        res.payment_history.iter().map(|p| Payment { payment_id: p.payment_id.clone(), amount: -p.amount }).collect();
    res.payment_history.extend(refunds);
    res.status = Some("cancelled".to_owned());
    // Seats are not released (τ² quirk).
    Ok(render(&*res))
}

fn get_reservation_details(db: &mut Db, a: &Args<'_>) -> ToolResult {
    Ok(render(&**reservation(db, &a.str("reservation_id")?)?))
}

fn get_user_details(db: &mut Db, a: &Args<'_>) -> ToolResult {
    Ok(render(&**user(db, &a.str("user_id")?)?))
}

/// The 20 airports of `list_all_airports`, in τ²'s order.
pub const AIRPORTS: [(&str, &str); 20] = [
    ("SFO", "San Francisco"),
    ("JFK", "New York"),
    ("LAX", "Los Angeles"),
    ("ORD", "Chicago"),
    ("DFW", "Dallas"),
    ("DEN", "Denver"),
    ("SEA", "Seattle"),
    ("ATL", "Atlanta"),
    ("MIA", "Miami"),
    ("BOS", "Boston"),
    ("PHX", "Phoenix"),
    ("IAH", "Houston"),
    ("LAS", "Las Vegas"),
    ("MCO", "Orlando"),
    ("EWR", "Newark"),
    ("CLT", "Charlotte"),
    ("MSP", "Minneapolis"),
    ("DTW", "Detroit"),
    ("PHL", "Philadelphia"),
    ("LGA", "LaGuardia"),
];

fn list_all_airports(_db: &mut Db, _a: &Args<'_>) -> ToolResult {
    #[derive(serde::Serialize)]
    struct AirportCode<'a> {
        iata: &'a str,
        city: &'a str,
    }
    let list: Vec<AirportCode<'_>> = AIRPORTS.iter().map(|(iata, city)| AirportCode { iata, city }).collect();
    Ok(render(&list))
}

fn search_direct(
    db: &Db,
    date: &str,
    origin: Option<&str>,
    destination: Option<&str>,
    leave_after: Option<&str>,
) -> Vec<DirectFlight> {
    let mut out = Vec::new();
    for flight in db.flights.values() {
        if origin.is_some_and(|o| flight.origin != o) || destination.is_some_and(|d| flight.destination != d) {
            continue;
        }
        let Some(FlightDateStatus::Available { available_seats, prices }) = flight.dates.get(date) else {
            continue;
        };
        if leave_after.is_some_and(|t| flight.scheduled_departure_time_est.as_str() < t) {
            continue;
        }
        out.push(DirectFlight {
            flight_number: flight.flight_number.clone(),
            origin: flight.origin.clone(),
            destination: flight.destination.clone(),
            status: "available".to_owned(),
            scheduled_departure_time_est: flight.scheduled_departure_time_est.clone(),
            scheduled_arrival_time_est: flight.scheduled_arrival_time_est.clone(),
            date: None,
            available_seats: available_seats.clone(),
            prices: prices.clone(),
        });
    }
    out
}

fn search_direct_flight(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let (origin, destination, date) = (a.str("origin")?, a.str("destination")?, a.str("date")?);
    Ok(render(&search_direct(db, &date, Some(&origin), Some(&destination), None)))
}

/// Python's `int(text)` for the day part of a date (whitespace and sign allowed).
fn py_int(text: &str) -> Result<i64, ToolError> {
    text.trim().parse::<i64>().map_err(|_| err(format!("invalid literal for int() with base 10: '{text}'")))
}

fn search_onestop_flight(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let (origin, destination, date) = (a.str("origin")?, a.str("destination")?, a.str("date")?);
    let mut results: Vec<[DirectFlight; 2]> = Vec::new();
    for mut first in search_direct(db, &date, Some(&origin), None, None) {
        first.date = Some(date.clone());
        let date2 = if first.scheduled_arrival_time_est.contains("+1") {
            let chars: Vec<char> = date.chars().collect();
            let tail: String = chars[chars.len().saturating_sub(2)..].iter().collect();
            format!("2024-05-{}", py_int(&tail)? + 1)
        } else {
            date.clone()
        };
        for mut second in search_direct(
            db,
            &date2,
            Some(&first.destination),
            Some(&destination),
            Some(&first.scheduled_arrival_time_est),
        ) {
            second.date = Some(date2.clone());
            results.push([first.clone(), second]);
        }
    }
    Ok(render(&results))
}

/// Python's `str()` of a JSON number argument (`100` stays `100`, `100.0` stays `100.0`).
fn py_number_text(v: &Value) -> String {
    match v.as_i64() {
        Some(i) if !v.is_f64() => i.to_string(),
        _ => v.as_f64().map(float_repr).unwrap_or_else(|| v.to_string()),
    }
}

fn send_certificate(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let user_id = a.str("user_id")?;
    let amount_value = a.value("amount")?.into_owned();
    let amount = a.float("amount")?;
    let u = user_mut(db, &user_id)?;
    for id in NEW_CERTIFICATE_IDS {
        if !u.payment_methods.contains_key(id) {
            u.payment_methods.insert(id.to_owned(), PaymentMethod::Certificate { id: id.to_owned(), amount });
            return Ok(format!(
                "Certificate {id} added to user {user_id} with amount {}.",
                py_number_text(&amount_value)
            ));
        }
    }
    Err(err("Too many certificates"))
}

fn transfer_to_human_agents(_db: &mut Db, _a: &Args<'_>) -> ToolResult {
    Ok("Transfer successful".to_owned())
}

/// τ²'s `_payment_for_update`: checks and debits the method, returns the payment line (none when 0).
fn payment_for_update(user: &mut User, payment_id: &str, total_price: i64) -> Result<Option<Payment>, ToolError> {
    let method = user.payment_methods.get_mut(payment_id).ok_or_else(|| err("Payment method not found"))?;
    match method {
        PaymentMethod::Certificate { .. } => return Err(err("Certificate cannot be used to update reservation")),
        PaymentMethod::GiftCard { amount, .. } => {
            if *amount < total_price as f64 {
                return Err(err("Gift card balance is not enough"));
            }
            *amount -= total_price as f64;
        }
        PaymentMethod::CreditCard { .. } => {}
    }
    Ok((total_price != 0).then(|| Payment { payment_id: payment_id.to_owned(), amount: total_price }))
}

fn update_reservation_baggages(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let id = a.str("reservation_id")?;
    let total = a.int("total_baggages")?;
    let nonfree = a.int("nonfree_baggages")?;
    let payment_id = a.str("payment_id")?;
    let res = reservation(db, &id)?;
    let owner = res.user_id.clone();
    let price = 50 * (nonfree - res.nonfree_baggages).max(0);
    user(db, &owner)?;
    let payment = payment_for_update(user_mut(db, &owner)?, &payment_id, price)?;
    let res = reservation_mut(db, &id)?;
    if let Some(p) = payment {
        res.payment_history.push(p);
    }
    res.total_baggages = total;
    res.nonfree_baggages = nonfree;
    Ok(render(&*res))
}

fn update_reservation_flights(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let id = a.str("reservation_id")?;
    let cabin = a.str("cabin")?;
    let flights: Vec<FlightInfo> = a.decode("flights")?;
    let payment_id = a.str("payment_id")?;
    let res = Arc::clone(reservation(db, &id)?);
    user(db, &res.user_id)?;
    let pax = res.passengers.len() as i64;
    let mut total_price = 0i64;
    let mut new_flights = Vec::with_capacity(flights.len());
    for info in &flights {
        let kept = res
            .flights
            .iter()
            .find(|f| f.flight_number == info.flight_number && f.date == info.date && cabin == res.cabin);
        if let Some(kept) = kept {
            total_price += kept.price * pax;
            new_flights.push(kept.clone());
            continue;
        }
        let flight = db
            .flights
            .get(&info.flight_number)
            .ok_or_else(|| err(format!("Flight {} not found", info.flight_number)))?;
        let status = flight_instance(db, &info.flight_number, &info.date)?;
        let (seats, price) = seats_and_price(status, &cabin)
            .ok_or_else(|| err(format!("Flight {} not available on date {}", info.flight_number, info.date)))?;
        if seats < pax {
            return Err(err(format!("Not enough seats on flight {}", info.flight_number)));
        }
        new_flights.push(ReservationFlight {
            flight_number: info.flight_number.clone(),
            origin: flight.origin.clone(),
            destination: flight.destination.clone(),
            date: info.date.clone(),
            price,
        });
        total_price += price * pax;
    }
    total_price -= res.flights.iter().map(|f| f.price).sum::<i64>() * pax;
    let payment = payment_for_update(user_mut(db, &res.user_id)?, &payment_id, total_price)?;
    let res = reservation_mut(db, &id)?;
    if let Some(p) = payment {
        res.payment_history.push(p);
    }
    res.flights = new_flights;
    res.cabin = cabin;
    // Seat counts are not updated (τ² quirk).
    Ok(render(&*res))
}

fn update_reservation_passengers(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let id = a.str("reservation_id")?;
    let passengers: Vec<Passenger> = a.decode("passengers")?;
    let res = reservation_mut(db, &id)?;
    if passengers.len() != res.passengers.len() {
        return Err(err("Number of passengers does not match"));
    }
    res.passengers = passengers;
    Ok(render(&*res))
}

fn get_flight_status(db: &mut Db, a: &Args<'_>) -> ToolResult {
    Ok(flight_instance(db, &a.str("flight_number")?, &a.str("date")?)?.status().to_owned())
}

// ---------------------------------------------------------------------------------------------------------
// The toolkit.

/// The airline agent tools, in τ²'s order.
pub static TOOLS: [ToolDef<FlightDb>; 14] = [
    ToolDef {
        name: "book_reservation",
        description: "Book a reservation.",
        kind: ToolKind::Write,
        params: &[
            Param::required(
                "user_id",
                ParamType::String,
                "The ID of the user to book the reservation such as 'sara_doe_496'`.",
            ),
            Param::required("origin", ParamType::String, "The IATA code for the origin city such as 'SFO'."),
            Param::required("destination", ParamType::String, "The IATA code for the destination city such as 'JFK'."),
            Param::required(
                "flight_type",
                ParamType::Literal(&["round_trip", "one_way"]),
                "The type of flight such as 'one_way' or 'round_trip'.",
            ),
            Param::required(
                "cabin",
                ParamType::Literal(CABINS),
                "The cabin class such as 'basic_economy', 'economy', or 'business'.",
            ),
            Param::required(
                "flights",
                ParamType::Array(&FLIGHT_INFO_ITEM),
                "An array of objects containing details about each piece of flight.",
            ),
            Param::required(
                "passengers",
                ParamType::Array(&PASSENGER_ITEM),
                "An array of objects containing details about each passenger.",
            ),
            Param::required(
                "payment_methods",
                ParamType::Array(&PAYMENT_ITEM),
                "An array of objects containing details about each payment method.",
            ),
            Param::required(
                "total_baggages",
                ParamType::Integer,
                "The total number of baggage items to book the reservation.",
            ),
            Param::required(
                "nonfree_baggages",
                ParamType::Integer,
                "The number of non-free baggage items to book the reservation.",
            ),
            Param::required("insurance", ParamType::Literal(&["yes", "no"]), "Whether the reservation has insurance."),
        ],
        run: book_reservation,
    },
    ToolDef {
        name: "calculate",
        description: calculate::DESCRIPTION,
        kind: ToolKind::Generic,
        params: calculate::PARAMS,
        run: calculate_tool,
    },
    ToolDef {
        name: "cancel_reservation",
        description: "Cancel the whole reservation.",
        kind: ToolKind::Write,
        params: &[Param::required("reservation_id", ParamType::String, "The reservation ID, such as 'ZFA04Y'.")],
        run: cancel_reservation,
    },
    ToolDef {
        name: "get_reservation_details",
        description: "Get the details of a reservation.",
        kind: ToolKind::Read,
        params: &[Param::required("reservation_id", ParamType::String, "The reservation ID, such as '8JX2WO'.")],
        run: get_reservation_details,
    },
    ToolDef {
        name: "get_user_details",
        description: "Get the details of a user, including their reservations.",
        kind: ToolKind::Read,
        params: &[Param::required("user_id", ParamType::String, "The user ID, such as 'sara_doe_496'.")],
        run: get_user_details,
    },
    ToolDef {
        name: "list_all_airports",
        description: "Returns a list of all available airports.",
        kind: ToolKind::Read,
        params: &[],
        run: list_all_airports,
    },
    ToolDef {
        name: "search_direct_flight",
        description: "Search for direct flights between two cities on a specific date.",
        kind: ToolKind::Read,
        params: &[
            Param::required("origin", ParamType::String, "The origin city airport in three letters, such as 'JFK'."),
            Param::required(
                "destination",
                ParamType::String,
                "The destination city airport in three letters, such as 'LAX'.",
            ),
            Param::required(
                "date",
                ParamType::String,
                "The date of the flight in the format 'YYYY-MM-DD', such as '2024-01-01'.",
            ),
        ],
        run: search_direct_flight,
    },
    ToolDef {
        name: "search_onestop_flight",
        description: "Search for one-stop flights between two cities on a specific date.",
        kind: ToolKind::Read,
        params: &[
            Param::required("origin", ParamType::String, "The origin city airport in three letters, such as 'JFK'."),
            Param::required(
                "destination",
                ParamType::String,
                "The destination city airport in three letters, such as 'LAX'.",
            ),
            Param::required(
                "date",
                ParamType::String,
                "The date of the flight in the format 'YYYY-MM-DD', such as '2024-05-01'.",
            ),
        ],
        run: search_onestop_flight,
    },
    ToolDef {
        name: "send_certificate",
        description: "Send a certificate to a user. Be careful!",
        kind: ToolKind::Write,
        params: &[
            Param::required(
                "user_id",
                ParamType::String,
                "The ID of the user to book the reservation, such as 'sara_doe_496'.",
            ),
            Param::required("amount", ParamType::Integer, "The amount of the certificate to send."),
        ],
        run: send_certificate,
    },
    ToolDef {
        name: "transfer_to_human_agents",
        description: TRANSFER_DESCRIPTION,
        kind: ToolKind::Generic,
        params: TRANSFER_PARAMS,
        run: transfer_to_human_agents,
    },
    ToolDef {
        name: "update_reservation_baggages",
        description: "Update the baggage information of a reservation.",
        kind: ToolKind::Write,
        params: &[
            Param::required("reservation_id", ParamType::String, "The reservation ID, such as 'ZFA04Y'"),
            Param::required(
                "total_baggages",
                ParamType::Integer,
                "The updated total number of baggage items included in the reservation.",
            ),
            Param::required(
                "nonfree_baggages",
                ParamType::Integer,
                "The updated number of non-free baggage items included in the reservation.",
            ),
            Param::required("payment_id", ParamType::String, PAYMENT_ID_DOC),
        ],
        run: update_reservation_baggages,
    },
    ToolDef {
        name: "update_reservation_flights",
        description: "Update the flight information of a reservation.",
        kind: ToolKind::Write,
        params: &[
            Param::required("reservation_id", ParamType::String, "The reservation ID, such as 'ZFA04Y'."),
            Param::required("cabin", ParamType::Literal(CABINS), "The cabin class of the reservation"),
            Param::required(
                "flights",
                ParamType::Array(&FLIGHT_INFO_ITEM),
                "An array of objects containing details about each piece of flight in the ENTIRE new reservation. Even if the a flight segment is not changed, it should still be included in the array.",
            ),
            Param::required("payment_id", ParamType::String, PAYMENT_ID_DOC),
        ],
        run: update_reservation_flights,
    },
    ToolDef {
        name: "update_reservation_passengers",
        description: "Update the passenger information of a reservation.",
        kind: ToolKind::Write,
        params: &[
            Param::required("reservation_id", ParamType::String, "The reservation ID, such as 'ZFA04Y'."),
            Param::required(
                "passengers",
                ParamType::Array(&PASSENGER_ITEM),
                "An array of objects containing details about each passenger.",
            ),
        ],
        run: update_reservation_passengers,
    },
    ToolDef {
        name: "get_flight_status",
        description: "Get the status of a flight.",
        kind: ToolKind::Read,
        params: &[
            Param::required("flight_number", ParamType::String, "The flight number."),
            Param::required("date", ParamType::String, "The date of the flight."),
        ],
        run: get_flight_status,
    },
];

/// The airline agent toolkit.
pub static TOOLKIT: Toolkit<FlightDb> = Toolkit { class_name: "AirlineTools", tools: &TOOLS, functions: &[] };
