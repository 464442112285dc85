//! Sizes of generated databases and telecom task composition (`[data.generator]`): the difficulty knobs a run
//! config sets. The generators in `retain-data` read these structs; their ranges are checked there, where the
//! generators' limits are known.

use serde::{Deserialize, Serialize};

/// Size of a generated airline database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AirlineDbConfig {
    /// Customers.
    pub users: usize,
    /// Airports used (taken from τ²'s fixed list of 20).
    pub airports: usize,
    /// Flights (each on its own route, so "the direct flight from A to B" is unambiguous).
    pub flights: usize,
    /// Consecutive dates each flight operates, centred on "today" (2024-05-15).
    pub days: usize,
    /// Most reservations a customer holds (at least one).
    pub max_reservations_per_user: usize,
}

impl Default for AirlineDbConfig {
    fn default() -> Self {
        AirlineDbConfig { users: 40, airports: 6, flights: 14, days: 8, max_reservations_per_user: 2 }
    }
}

/// Size of a generated retail database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetailDbConfig {
    /// Customers.
    pub users: usize,
    /// Product types (each with a few variants).
    pub products: usize,
    /// Most orders a customer has (at least one).
    pub max_orders_per_user: usize,
}

impl Default for RetailDbConfig {
    fn default() -> Self {
        RetailDbConfig { users: 40, products: 6, max_orders_per_user: 3 }
    }
}

/// Telecom task composition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelecomConfig {
    /// Most sub-issues composed into one task (τ²'s full set goes up to 3+; 1 = single issues only).
    pub max_issues: usize,
    /// Customers generated in the agent database (one is the ticket's customer; the others are decoys).
    pub customers: usize,
    /// Lines per customer: 1, or 2 for about a third of the customers. Every line adds a lookup and a bill line
    /// item to an episode.
    pub max_lines_per_customer: usize,
}

impl Default for TelecomConfig {
    /// Single sub-issues on one-line customers: with these, an episode of the tiny default stays near 1,000
    /// tokens (`retain data lengths`); composed issues on two-line customers reach about 1,800.
    fn default() -> Self {
        TelecomConfig { max_issues: 1, customers: 12, max_lines_per_customer: 1 }
    }
}

/// The generator knobs of a run (`[data.generator]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorSizes {
    /// Airline database size.
    pub airline: AirlineDbConfig,
    /// Retail database size.
    pub retail: RetailDbConfig,
    /// Telecom composition.
    pub telecom: TelecomConfig,
}
