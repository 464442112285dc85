//! Integration tests of the checkpoint store: round trip of every part, every bad-checkpoint case, keep-last-K,
//! atomicity under an interrupted write and a SIGKILLed writer, and `--fallback`.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod checkpoint {
    pub mod atomicity;
    pub mod corruption;
    pub mod fixture;
    pub mod retention;
    pub mod roundtrip;
}
