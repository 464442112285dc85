//! The airline domain: `FlightDB`, 14 agent tools, policy; no user tools, no solo mode (ticket mode instead).

pub mod model;
pub mod tools;

use std::path::Path;

use serde_json::Value;

use crate::data::read_text;
use crate::domain::{DbMatch, Domain, DomainState, canonical_json, merge_into};
use crate::error::DomainError;
use crate::tool::Toolkit;

pub use model::FlightDb;

impl DomainState for FlightDb {
    fn db_match(&self, other: &Self) -> DbMatch {
        DbMatch { agent: self.same_as(other), user: None }
    }

    fn agent_db_canonical(&self) -> String {
        canonical_json(self)
    }

    fn update_agent_data(&mut self, patch: &Value) -> Result<(), DomainError> {
        merge_into(self, patch)
    }
}

/// The loaded airline domain.
#[derive(Debug, Clone)]
pub struct AirlineDomain {
    db: FlightDb,
    policy: String,
}

impl AirlineDomain {
    /// Loads `db.json` and `policy.md` from `dir` (the `airline/` data directory).
    pub fn load(dir: &Path) -> Result<Self, DomainError> {
        let db = FlightDb::load(&dir.join("db.json"))?;
        let policy = read_text(&dir.join("policy.md"))?;
        Ok(AirlineDomain { db, policy })
    }

    /// A domain over a given database and policy (tests, generated data).
    pub fn from_parts(db: FlightDb, policy: String) -> Self {
        AirlineDomain { db, policy }
    }
}

impl Domain for AirlineDomain {
    type State = FlightDb;

    fn name(&self) -> &'static str {
        "airline"
    }

    fn agent_toolkit(&self) -> &'static Toolkit<FlightDb> {
        &tools::TOOLKIT
    }

    fn initial_state(&self) -> &FlightDb {
        &self.db
    }

    fn policy(&self, _solo: bool) -> &str {
        &self.policy
    }
}
