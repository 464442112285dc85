//! Integration tests of the τ² domains on the official data (found via `$RETAIN_TAU2_DATA`, else
//! `<workspace>/../shared/tau2`, else the fetch destination, fetched when absent).

// Fixture helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod domains {
    pub mod airline;
    pub mod common;
    pub mod episode;
    pub mod evaluate;
    pub mod gold;
    pub mod rendering;
    pub mod retail;
    pub mod telecom;
}
