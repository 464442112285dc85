//! One module per command group. Each exposes a clap `Subcommand`/`Args` type and a `run` function.

pub mod bench;
pub mod bench_model;
pub mod buffer;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod data_gen;
pub mod eval;
pub mod plugin;
pub mod pretrain;
pub mod report;
pub mod run;
pub mod tau2;

/// Exit status for command-line misuse (bad flags, malformed `--set`).
pub const EXIT_USAGE: u8 = 2;

/// Exit status for everything else that fails (bad files, failed runs).
pub const EXIT_FAILURE: u8 = 1;

/// Marks an error as a usage error, so the process exits with [`EXIT_USAGE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit status for an error returned by a command.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    let usage = error.chain().any(|cause| {
        cause.is::<UsageError>()
            || matches!(cause.downcast_ref(), Some(retain_config::ConfigError::MalformedOverride { .. }))
    });
    if usage { EXIT_USAGE } else { EXIT_FAILURE }
}
