//! Policy optimisation for tool-use agents: advantages, GRPO-family losses and, later, rollouts and sequencing.

pub mod advantage;
pub mod loss;
