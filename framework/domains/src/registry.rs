//! The three official domains behind one type, for code that picks a domain by name at run time (CLI,
//! trainers mixing domains).

use std::path::Path;
use std::sync::Arc;

use crate::airline::AirlineDomain;
use crate::data::{TaskSet, load_task_set};
use crate::domain::Domain;
use crate::error::DomainError;
use crate::evaluation::GoldCache;
use crate::retail::RetailDomain;
use crate::task::Task;
use crate::telecom::{TechSupportGuide, Telecom};

/// A loaded official domain with its gold-state cache.
#[derive(Debug)]
pub enum LoadedDomain {
    /// Airline.
    Airline(Arc<AirlineDomain>, Arc<GoldCache<AirlineDomain>>),
    /// Retail.
    Retail(Arc<RetailDomain>, Arc<GoldCache<RetailDomain>>),
    /// Telecom (manual guide).
    Telecom(Arc<Telecom>, Arc<GoldCache<Telecom>>),
}

/// Runs `$body` with `$d` bound to the concrete `Arc<Domain>` and `$g` to its gold cache.
#[macro_export]
macro_rules! with_domain {
    ($loaded:expr, |$d:ident, $g:ident| $body:expr) => {
        match $loaded {
            $crate::registry::LoadedDomain::Airline($d, $g) => $body,
            $crate::registry::LoadedDomain::Retail($d, $g) => $body,
            $crate::registry::LoadedDomain::Telecom($d, $g) => $body,
        }
    };
}

fn wrap<D: Domain>(d: D) -> (Arc<D>, Arc<GoldCache<D>>) {
    let d = Arc::new(d);
    let g = Arc::new(GoldCache::new(Arc::clone(&d)));
    (d, g)
}

impl LoadedDomain {
    /// Loads `name` (`airline`, `retail`, `telecom`) from a τ² data directory.
    pub fn load(data_dir: &Path, name: &str) -> Result<Self, DomainError> {
        let dir = data_dir.join(name);
        Ok(match name {
            "airline" => {
                let (d, g) = wrap(AirlineDomain::load(&dir)?);
                LoadedDomain::Airline(d, g)
            }
            "retail" => {
                let (d, g) = wrap(RetailDomain::load(&dir)?);
                LoadedDomain::Retail(d, g)
            }
            "telecom" => {
                let (d, g) = wrap(Telecom::load(&dir, TechSupportGuide::Manual)?);
                LoadedDomain::Telecom(d, g)
            }
            other => return Err(DomainError::UnknownDomain(other.to_owned())),
        })
    }

    /// The domain's name.
    pub fn name(&self) -> &'static str {
        with_domain!(self, |d, _g| d.name())
    }

    /// Whether τ²'s solo mode is supported.
    pub fn supports_solo(&self) -> bool {
        with_domain!(self, |d, _g| d.supports_solo())
    }

    /// Loads a task set of this domain.
    pub fn tasks(&self, data_dir: &Path, set: &TaskSet) -> Result<Vec<Arc<Task>>, DomainError> {
        let name = match self {
            LoadedDomain::Telecom(..) => "telecom",
            other => other.name(),
        };
        Ok(load_task_set(data_dir, name, set)?.into_iter().map(Arc::new).collect())
    }
}
