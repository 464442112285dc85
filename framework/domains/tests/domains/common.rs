//! Shared fixtures: the data directory and loaded domains (loaded once per test binary).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use retain_domains::airline::AirlineDomain;
use retain_domains::data::{default_fetch_dest, locate_data};
use retain_domains::evaluation::GoldCache;
use retain_domains::fetch::fetch_tau2;
use retain_domains::retail::RetailDomain;
use retain_domains::telecom::{TechSupportGuide, Telecom};
use serde_json::{Map, Value};

/// The τ² data directory, fetching it if nothing is found.
pub fn data_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
        match locate_data(Some(&root)) {
            Ok(dir) => dir,
            Err(_) => {
                let dest = default_fetch_dest();
                fetch_tau2(&dest, "python3", false).expect("fetching the τ² data");
                dest
            }
        }
    })
    .clone()
}

/// The airline domain.
pub fn airline() -> Arc<AirlineDomain> {
    static D: OnceLock<Arc<AirlineDomain>> = OnceLock::new();
    D.get_or_init(|| Arc::new(AirlineDomain::load(&data_dir().join("airline")).unwrap())).clone()
}

/// The retail domain.
pub fn retail() -> Arc<RetailDomain> {
    static D: OnceLock<Arc<RetailDomain>> = OnceLock::new();
    D.get_or_init(|| Arc::new(RetailDomain::load(&data_dir().join("retail")).unwrap())).clone()
}

/// The telecom domain.
pub fn telecom() -> Arc<Telecom> {
    static D: OnceLock<Arc<Telecom>> = OnceLock::new();
    D.get_or_init(|| Arc::new(Telecom::load(&data_dir().join("telecom"), TechSupportGuide::Manual).unwrap())).clone()
}

/// A gold cache for a domain.
pub fn gold<D: retain_domains::Domain>(d: &Arc<D>) -> GoldCache<D> {
    GoldCache::new(Arc::clone(d))
}

/// An argument object from a `json!` literal.
pub fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}
