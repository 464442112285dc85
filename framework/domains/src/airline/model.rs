//! The airline database (τ² `FlightDB`): flights with per-date status, users, reservations.
//!
//! Fields are declared in pydantic's order so rendering matches `model_dump()`; maps keep file order
//! (searches iterate flights in that order). Records sit behind `Arc` and each top-level map behind another
//! `Arc`, so cloning the database for an episode is three reference-count increments and a write copies
//! only the map and record it touches.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::data::read_json;
use crate::domain::shared_maps_eq;
use crate::error::DomainError;

/// A person's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Name {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// First line.
    pub address1: String,
    /// Second line (optional in the model).
    #[serde(default)]
    pub address2: Option<String>,
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
    /// State.
    pub state: String,
    /// Postal code.
    pub zip: String,
}

/// A payment or refund line of a reservation (whole dollars).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// Payment method id.
    pub payment_id: String,
    /// Amount in dollars (negative for refunds).
    pub amount: i64,
}

/// A stored payment method, tagged by `source`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum PaymentMethod {
    /// A credit card.
    CreditCard {
        /// Method id.
        id: String,
        /// Card brand.
        brand: String,
        /// Last four digits.
        last_four: String,
    },
    /// A gift card with a balance.
    GiftCard {
        /// Method id.
        id: String,
        /// Remaining balance.
        amount: f64,
    },
    /// A travel certificate (single use).
    Certificate {
        /// Method id.
        id: String,
        /// Value.
        amount: f64,
    },
}

impl PaymentMethod {
    /// τ²'s `source` string.
    pub fn source(&self) -> &'static str {
        match self {
            PaymentMethod::CreditCard { .. } => "credit_card",
            PaymentMethod::GiftCard { .. } => "gift_card",
            PaymentMethod::Certificate { .. } => "certificate",
        }
    }

    /// Balance of a gift card or certificate.
    pub fn balance(&self) -> Option<f64> {
        match self {
            PaymentMethod::GiftCard { amount, .. } | PaymentMethod::Certificate { amount, .. } => Some(*amount),
            PaymentMethod::CreditCard { .. } => None,
        }
    }
}

/// A passenger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passenger {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Date of birth `YYYY-MM-DD`.
    pub dob: String,
}

/// The status of a flight on one date, tagged by `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status")]
pub enum FlightDateStatus {
    /// Bookable: seats and prices per cabin.
    #[serde(rename = "available")]
    Available {
        /// Seats left per cabin.
        available_seats: IndexMap<String, i64>,
        /// Price per cabin.
        prices: IndexMap<String, i64>,
    },
    /// Landed.
    #[serde(rename = "landed")]
    Landed {
        /// Actual departure.
        actual_departure_time_est: String,
        /// Actual arrival.
        actual_arrival_time_est: String,
    },
    /// Cancelled by the airline.
    #[serde(rename = "cancelled")]
    Cancelled,
    /// Delayed.
    #[serde(rename = "delayed")]
    Delayed {
        /// New estimated departure.
        estimated_departure_time_est: String,
        /// New estimated arrival.
        estimated_arrival_time_est: String,
    },
    /// In the air.
    #[serde(rename = "flying")]
    Flying {
        /// Actual departure.
        actual_departure_time_est: String,
        /// Estimated arrival.
        estimated_arrival_time_est: String,
    },
    /// On time, not yet departed.
    #[serde(rename = "on time")]
    OnTime {
        /// Estimated departure.
        estimated_departure_time_est: String,
        /// Estimated arrival.
        estimated_arrival_time_est: String,
    },
}

impl FlightDateStatus {
    /// τ²'s status string.
    pub fn status(&self) -> &'static str {
        match self {
            FlightDateStatus::Available { .. } => "available",
            FlightDateStatus::Landed { .. } => "landed",
            FlightDateStatus::Cancelled => "cancelled",
            FlightDateStatus::Delayed { .. } => "delayed",
            FlightDateStatus::Flying { .. } => "flying",
            FlightDateStatus::OnTime { .. } => "on time",
        }
    }
}

/// A scheduled flight and its status per date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flight {
    /// Flight number (`HAT…`).
    pub flight_number: String,
    /// Origin airport.
    pub origin: String,
    /// Destination airport.
    pub destination: String,
    /// Departure `HH:MM:SS`.
    pub scheduled_departure_time_est: String,
    /// Arrival `HH:MM:SS`, `+1` when next day.
    pub scheduled_arrival_time_est: String,
    /// Status per date `YYYY-MM-DD`.
    pub dates: IndexMap<String, FlightDateStatus>,
}

/// A search result: an available flight on a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectFlight {
    /// Flight number.
    pub flight_number: String,
    /// Origin airport.
    pub origin: String,
    /// Destination airport.
    pub destination: String,
    /// Always `available`.
    pub status: String,
    /// Departure.
    pub scheduled_departure_time_est: String,
    /// Arrival.
    pub scheduled_arrival_time_est: String,
    /// Date (set only by the one-stop search).
    pub date: Option<String>,
    /// Seats per cabin.
    pub available_seats: IndexMap<String, i64>,
    /// Prices per cabin.
    pub prices: IndexMap<String, i64>,
}

/// A flight segment of a reservation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservationFlight {
    /// Flight number.
    pub flight_number: String,
    /// Origin.
    pub origin: String,
    /// Destination.
    pub destination: String,
    /// Date.
    pub date: String,
    /// Price per passenger paid.
    pub price: i64,
}

/// A flight reference in tool arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlightInfo {
    /// Flight number.
    pub flight_number: String,
    /// Date.
    pub date: String,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub user_id: String,
    /// Name.
    pub name: Name,
    /// Address.
    pub address: Address,
    /// Email.
    pub email: String,
    /// Date of birth.
    pub dob: String,
    /// Payment methods by id.
    pub payment_methods: IndexMap<String, PaymentMethod>,
    /// Saved passengers.
    pub saved_passengers: Vec<Passenger>,
    /// `regular`, `silver` or `gold`.
    pub membership: String,
    /// Reservation ids.
    pub reservations: Vec<String>,
}

/// A reservation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    /// Id (six characters).
    pub reservation_id: String,
    /// Owner.
    pub user_id: String,
    /// Trip origin.
    pub origin: String,
    /// Trip destination.
    pub destination: String,
    /// `one_way` or `round_trip`.
    pub flight_type: String,
    /// `basic_economy`, `economy` or `business`.
    pub cabin: String,
    /// Segments.
    pub flights: Vec<ReservationFlight>,
    /// Passengers.
    pub passengers: Vec<Passenger>,
    /// Payments and refunds.
    pub payment_history: Vec<Payment>,
    /// Creation time.
    pub created_at: String,
    /// Bags.
    pub total_baggages: i64,
    /// Paid bags.
    pub nonfree_baggages: i64,
    /// `yes` or `no`.
    pub insurance: String,
    /// `None` or `cancelled`.
    #[serde(default)]
    pub status: Option<String>,
}

/// The airline database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlightDb {
    /// Flights by number.
    pub flights: Arc<IndexMap<String, Arc<Flight>>>,
    /// Users by id.
    pub users: Arc<IndexMap<String, Arc<User>>>,
    /// Reservations by id.
    pub reservations: Arc<IndexMap<String, Arc<Reservation>>>,
}

impl FlightDb {
    /// Loads `db.json`.
    pub fn load(path: &Path) -> Result<Self, DomainError> {
        read_json(path)
    }

    /// Database equality as τ² judges it (order of map keys ignored), with pointer shortcuts.
    pub fn same_as(&self, other: &Self) -> bool {
        shared_maps_eq(&self.flights, &other.flights)
            && shared_maps_eq(&self.users, &other.users)
            && shared_maps_eq(&self.reservations, &other.reservations)
    }
}
