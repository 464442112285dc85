//! Typed generator settings: database size, enabled task families, composition depth, train/test split.
//!
//! Everything is seeded: the same settings and seed produce byte-identical databases and tasks.

use serde::{Deserialize, Serialize};

pub use retain_config::{AirlineDbConfig, GeneratorSizes, RetailDbConfig, TelecomConfig};

use crate::error::DataError;

/// Which side of the train/test split a task belongs to. Entities (users, reservations, …) are partitioned
/// so the two splits never share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training tasks.
    Train,
    /// Held-out test tasks.
    Test,
}

impl Split {
    /// `train` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// A number mixed into seeds so the splits draw independent streams.
    pub fn stream(self) -> u64 {
        match self {
            Split::Train => 0x7472_6169_6e00_0001,
            Split::Test => 0x7465_7374_0000_0002,
        }
    }
}

/// All generator knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorConfig {
    /// Airline database size.
    pub airline: AirlineDbConfig,
    /// Retail database size.
    pub retail: RetailDbConfig,
    /// Telecom composition.
    pub telecom: TelecomConfig,
    /// Task families to draw from (`None` = every family of the domain). Unknown names are an error.
    pub families: Option<Vec<String>>,
    /// Share of entities reserved for test tasks (the rest serve training tasks).
    pub test_fraction: f64,
}

impl GeneratorConfig {
    /// A run's generator: its `[data.generator]` sizes and its families for one domain.
    pub fn for_run(sizes: &GeneratorSizes, families: Option<Vec<String>>) -> Self {
        GeneratorConfig {
            airline: sizes.airline.clone(),
            retail: sizes.retail.clone(),
            telecom: sizes.telecom.clone(),
            families,
            test_fraction: DEFAULT_TEST_FRACTION,
        }
    }

    /// Checks a run's `[data.generator]` sizes, with errors naming the run-config key
    /// (`data.generator.retail.products = 1 (…)`): what `retain run` and every command taking a config call
    /// before any work.
    pub fn check_run_sizes(sizes: &GeneratorSizes) -> Result<(), DataError> {
        Self::for_run(sizes, None).validate().map_err(|e| match e {
            DataError::Config(msg) => DataError::Config(format!("data.generator.{msg}")),
            other => other,
        })
    }

    /// Checks ranges; errors name the offending key.
    pub fn validate(&self) -> Result<(), DataError> {
        let a = &self.airline;
        if a.users < 4 {
            return Err(DataError::Config(format!(
                "airline.users = {} (need at least 4 to split train/test)",
                a.users
            )));
        }
        if !(3..=20).contains(&a.airports) {
            return Err(DataError::Config(format!(
                "airline.airports = {} (must be 3..=20, τ²'s fixed airport list)",
                a.airports
            )));
        }
        let routes = a.airports * (a.airports - 1);
        if a.flights < 2 || a.flights > routes || a.flights > 999 {
            return Err(DataError::Config(format!(
                "airline.flights = {} (must be 2..={} for {} airports: one flight per route)",
                a.flights,
                routes.min(999),
                a.airports
            )));
        }
        if !(4..=14).contains(&a.days) {
            return Err(DataError::Config(format!("airline.days = {} (must be 4..=14)", a.days)));
        }
        if a.max_reservations_per_user == 0 || a.max_reservations_per_user > 5 {
            return Err(DataError::Config(format!(
                "airline.max_reservations_per_user = {} (must be 1..=5)",
                a.max_reservations_per_user
            )));
        }
        let r = &self.retail;
        if r.users < 4 || r.users > 2000 {
            return Err(DataError::Config(format!("retail.users = {} (must be 4..=2000)", r.users)));
        }
        if !(2..=8).contains(&r.products) {
            return Err(DataError::Config(format!("retail.products = {} (must be 2..=8)", r.products)));
        }
        if !(1..=4).contains(&r.max_orders_per_user) {
            return Err(DataError::Config(format!(
                "retail.max_orders_per_user = {} (must be 1..=4)",
                r.max_orders_per_user
            )));
        }
        if self.telecom.max_issues == 0 || self.telecom.max_issues > 4 {
            return Err(DataError::Config(format!("telecom.max_issues = {} (must be 1..=4)", self.telecom.max_issues)));
        }
        if !(1..=2).contains(&self.telecom.max_lines_per_customer) {
            return Err(DataError::Config(format!(
                "telecom.max_lines_per_customer = {} (must be 1 or 2)",
                self.telecom.max_lines_per_customer
            )));
        }
        if self.telecom.customers == 0 || self.telecom.customers > 500 {
            return Err(DataError::Config(format!("telecom.customers = {} (must be 1..=500)", self.telecom.customers)));
        }
        if !(0.05..=0.95).contains(&self.test_fraction) {
            return Err(DataError::Config(format!(
                "test_fraction = {} (must be within 0.05..=0.95)",
                self.test_fraction
            )));
        }
        Ok(())
    }

    /// Whether `family` is enabled.
    pub fn family_enabled(&self, family: &str) -> bool {
        self.families.as_ref().is_none_or(|f| f.iter().any(|x| x == family))
    }

    /// The enabled subset of `all`, or an error naming unknown families.
    pub fn enabled_families(&self, domain: &str, all: &[&'static str]) -> Result<Vec<&'static str>, DataError> {
        if let Some(list) = &self.families {
            let unknown: Vec<&str> = list.iter().map(String::as_str).filter(|f| !all.contains(f)).collect();
            if !unknown.is_empty() {
                return Err(DataError::Config(format!(
                    "unknown {domain} families {unknown:?}; known: {}",
                    all.join(", ")
                )));
            }
        }
        let out: Vec<&'static str> = all.iter().copied().filter(|f| self.family_enabled(f)).collect();
        if out.is_empty() {
            return Err(DataError::Config(format!("no {domain} family enabled; known: {}", all.join(", "))));
        }
        Ok(out)
    }
}

/// Default share of entities held out for test tasks.
pub const DEFAULT_TEST_FRACTION: f64 = 0.25;

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            airline: AirlineDbConfig::default(),
            retail: RetailDbConfig::default(),
            telecom: TelecomConfig::default(),
            families: None,
            test_fraction: DEFAULT_TEST_FRACTION,
        }
    }
}
