//! Embedded default data for retain: seeded database and task generators, the agent text protocol, and
//! oracle demonstrations.
//!
//! * [`protocol`] — the Qwen2.5 chat template (system prompt = policy + tool schemas + ticket; tool calls in
//!   `<tool_call>` tags; tool results in `<tool_response>` tags) and a parser that never panics;
//! * [`policy`] — `policy: full | compact`: τ²'s documents or short, labelled summaries for the tiny model;
//! * [`knobs`] — typed generator settings (database size, families, composition depth);
//! * [`airline`], [`retail`], [`telecom`] — database and task generators in the domains' exact schemas;
//! * [`prompt`] — the agent-facing system prompt and tool list for a policy choice;
//! * [`demo`] — gold trajectories run through the real environment and rendered with the protocol (SFT data,
//!   tokenizer corpus);
//! * [`length`] — episode length measurements;
//! * [`copy_drill`] — synthetic tickets with made-up tools that teach a model trained from scratch to copy ids.

pub mod airline;
pub mod copy_drill;
pub mod dataset;
pub mod demo;
pub mod environment;
pub mod error;
pub mod ids;
pub mod knobs;
pub mod length;
pub mod policy;
pub mod prompt;
pub mod protocol;
pub mod retail;
pub mod task_builder;
pub mod telecom;

pub use error::DataError;
pub use knobs::{GeneratorConfig, Split};
