//! Arbitrary bytes as a buffer file: header, block and index parsing, recovery classification, bounds.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::exercise(data));
