//! Typed run configuration: TOML files, `--set` overrides, validation with precise errors.
//!
//! A run is described by one TOML file (see `examples/quickstart.toml`) plus any number of `--set key=value`
//! overrides. [`load`] parses the file, applies the overrides to the parsed tree, deserialises the result into
//! [`Config`] (unknown keys rejected), then checks ranges. Every error names the file and line (or the override),
//! the key, and what was expected. The resolved [`Config`] serialises to JSON; that JSON is saved in every run
//! directory and checkpoint.

mod domain;
mod error;
mod generator;
mod locate;
mod overrides;
mod resolve;
mod schema;
mod validate;

pub use domain::{Domain, UnknownDomain};
pub use error::{ConfigError, Origin};
pub use generator::{AirlineDbConfig, GeneratorSizes, RetailDbConfig, TelecomConfig};
pub use overrides::Override;
pub use resolve::{load, load_str};
pub use schema::*;

impl Config {
    /// The resolved configuration as pretty JSON, as saved in run directories and checkpoints.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Reads a configuration saved by [`Config::to_json`] (e.g. from a checkpoint).
    pub fn from_json(json: &str) -> Result<Config, serde_json::Error> {
        serde_json::from_str(json)
    }
}
