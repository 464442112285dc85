//! Integration tests of the trajectory buffer: round trips, crash recovery, corruption, sampling, filters, export,
//! statistics and a randomized robustness test of the reader.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod buffers {
    pub mod common;
    mod memory;
    mod recovery;
    mod robustness;
    mod roundtrip;
    mod sampling;
    mod stats_export;
}
