//! The retail domain: `RetailDB`, the 15 agent tools of the 26.3 data, policy; no user tools, no solo mode
//! (ticket mode instead).

pub mod model;
pub mod tools;

use std::path::Path;

use serde_json::Value;

use crate::data::read_text;
use crate::domain::{DbMatch, Domain, DomainState, canonical_json, merge_into};
use crate::error::DomainError;
use crate::tool::Toolkit;

pub use model::RetailDb;

impl DomainState for RetailDb {
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

/// The loaded retail domain.
#[derive(Debug, Clone)]
pub struct RetailDomain {
    db: RetailDb,
    policy: String,
}

impl RetailDomain {
    /// Loads `db.json` and `policy.md` from `dir` (the `retail/` data directory).
    pub fn load(dir: &Path) -> Result<Self, DomainError> {
        let db = RetailDb::load(&dir.join("db.json"))?;
        let policy = read_text(&dir.join("policy.md"))?;
        Ok(RetailDomain { db, policy })
    }

    /// A domain over a given database and policy (tests, generated data).
    pub fn from_parts(db: RetailDb, policy: String) -> Self {
        RetailDomain { db, policy }
    }
}

impl Domain for RetailDomain {
    type State = RetailDb;

    fn name(&self) -> &'static str {
        "retail"
    }

    fn agent_toolkit(&self) -> &'static Toolkit<RetailDb> {
        &tools::TOOLKIT
    }

    fn initial_state(&self) -> &RetailDb {
        &self.db
    }

    fn policy(&self, _solo: bool) -> &str {
        &self.policy
    }
}
