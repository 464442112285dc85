//! Policy optimisation for tool-use agents: batched multi-turn rollouts in each task's own environment, rewards
//! through reward plugins, GRPO-family advantages and losses, supervised warm start, evaluation into the
//! accuracy matrix, and the run loop over a sequence of domains (`retain run`).

pub mod advantage;
pub mod bench;
pub mod encode;
pub mod error;
pub mod eval_checkpoint;
pub mod evaluate;
pub mod extras;
pub mod fisher;
pub mod host;
pub mod id_augment;
pub mod lengths;
pub mod loss;
pub mod plugins;
pub mod policy;
pub mod pretrain;
pub mod reward;
pub mod rollout;
pub mod run;
pub mod run_log;
pub mod sampler;
pub mod strategies;
pub mod trajectories;
pub mod update;
pub mod warm_start;

pub use error::{Result, TrainerError};
pub use policy::Policy;
pub use rollout::{EpisodeSpec, Rollout, RolloutLimits, run_episodes};
pub use run::{Position, Progress, RunOptions, RunSummary, Silent, resume, run, run_or_resume, run_with};
