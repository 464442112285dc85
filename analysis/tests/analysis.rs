//! Integration tests of retain-analysis: formulas on hand-computed matrices, the run-directory reader, the
//! bootstrap, the plots and the report (golden file).

// Helpers shared by tests unwrap like the tests themselves do.
#![allow(clippy::unwrap_used)]

#[path = "analysis/common.rs"]
mod common;

#[path = "analysis/formulas.rs"]
mod formulas;

#[path = "analysis/pass_k.rs"]
mod pass_k;

#[path = "analysis/bootstrap.rs"]
mod bootstrap;

#[path = "analysis/reader.rs"]
mod reader;

#[path = "analysis/plots.rs"]
mod plots;

#[path = "analysis/report.rs"]
mod report;
