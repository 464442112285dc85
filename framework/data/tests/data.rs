//! Integration tests of retain-data: protocol, generators, demonstrations.

// Test helpers unwrap freely: a panic is a test failure with its message.
#![allow(clippy::unwrap_used)]

#[path = "data/airline.rs"]
mod airline;
#[path = "data/protocol.rs"]
mod protocol;
#[path = "data/retail.rs"]
mod retail;
#[path = "data/telecom.rs"]
mod telecom;
