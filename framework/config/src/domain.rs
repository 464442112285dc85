//! The names of the τ²-bench domains a run can train on.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of the three τ²-bench customer-service domains.
///
/// It lives in the configuration crate (the lowest layer) so that configs can name domains without depending on
/// the environments themselves; every other crate reuses this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    /// Flight reservations: booking, changes, cancellations, baggage, compensation.
    Airline,
    /// An online shop: orders, returns, exchanges, address and payment changes.
    Retail,
    /// Mobile-phone technical support with a simulated device (τ²'s dual-control domain).
    Telecom,
}

impl Domain {
    /// All domains in τ²'s canonical order, which is also the default task order.
    pub const ALL: [Domain; 3] = [Domain::Airline, Domain::Retail, Domain::Telecom];

    /// The lowercase name used in configs, file names and τ²'s data directories.
    pub fn name(self) -> &'static str {
        match self {
            Domain::Airline => "airline",
            Domain::Retail => "retail",
            Domain::Telecom => "telecom",
        }
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a domain name that is not one of [`Domain::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown domain `{given}`; expected one of: airline, retail, telecom")]
pub struct UnknownDomain {
    /// The name as the user wrote it.
    pub given: String,
}

impl FromStr for Domain {
    type Err = UnknownDomain;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Domain::ALL.into_iter().find(|d| d.name() == s).ok_or_else(|| UnknownDomain { given: s.to_owned() })
    }
}
