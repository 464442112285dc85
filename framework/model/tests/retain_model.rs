//! Integration tests of the policy model: gradients, reference logits, generation, I/O, LoRA, optimiser.

// Test helpers outside `#[test]` functions unwrap too; a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod retain_model {
    mod bench;
    pub mod common;
    mod gradient_flow;
    mod io;
    mod lora;
    mod optimizer;
    mod reference;
    pub mod sampling;
    mod session;
    mod training;
}
