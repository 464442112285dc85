//! `retain config …`: resolve and check configuration files.

use anyhow::Context;
use clap::Subcommand;
use retain_config::Override;
use std::path::PathBuf;

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Resolve FILE with its overrides and print the resulting configuration as JSON, or a precise error.
    Check {
        /// The TOML configuration file.
        file: PathBuf,
        /// Override one key, e.g. `--set trainer.learning_rate=1e-6`; may be repeated.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
}

/// Runs a configuration command.
pub fn run(cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Check { file, overrides } => {
            let config = resolve(&file, &overrides)?;
            println!("{}", config.to_json().context("serialising the resolved configuration")?);
            Ok(())
        }
    }
}

/// Loads a config file with `--set` overrides; shared by every command that takes a config.
pub fn resolve(file: &std::path::Path, overrides: &[String]) -> anyhow::Result<retain_config::Config> {
    let overrides = overrides.iter().map(|s| s.parse::<Override>()).collect::<Result<Vec<_>, _>>()?;
    let config = retain_config::load(file, &overrides)?;
    // The generators know their own limits; checking them here makes every command that takes a config (and
    // `retain config check`) refuse bad database sizes before any work.
    retain_data::GeneratorConfig::check_run_sizes(&config.data.generator)?;
    Ok(config)
}
