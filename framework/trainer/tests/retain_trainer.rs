//! Integration tests of the trainer on real components: generated domains, real environments, a tiny model built
//! in-process, real reward plugins built from this workspace.

// Test helpers outside `#[test]` functions unwrap too; a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod retain_trainer {
    pub mod common;
    mod learning;
    mod lengths;
    mod pretrain;
    pub mod resume;
    mod rollouts;
    pub mod run_dir;
    mod strategies;
}
