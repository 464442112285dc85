//! Continual-learning metrics (accuracy matrix, BWT, FWT, forgetting, pass^k), plots and reports over run
//! directories.
//!
//! The crate reads what a training run wrote (`RUN_FORMAT.md`) and never re-runs anything; it knows nothing of
//! the model or candle, so reports can be produced anywhere the run directories are.

pub mod analysis;
pub mod bootstrap;
pub mod cl_metrics;
pub mod compare;
pub mod curves;
pub mod error;
pub mod figure;
pub mod matrix;
pub mod metrics_log;
pub mod pass_k;
pub mod plots;
pub mod report;
pub mod run;

pub use analysis::RunAnalysis;
pub use bootstrap::BootstrapConfig;
pub use error::{AnalysisError, Result};
pub use figure::{Figure, Interval};
pub use report::{ReportOptions, ReportOutput, default_out_dir, write_report};
pub use run::Run;
