//! τ²-bench's telecom domain: a dual-control environment where the agent works on the operator's records
//! (customers, lines, bills, plans) while the customer's phone is a simulated device with its own state.
//!
//! - [`agent_db`] / [`user_db`]: the two databases, loaded from `db.toml` and `user_db.toml`;
//! - [`simulation`]: how the phone's settings and surroundings turn into service, data, speed and MMS;
//! - [`state`]: the episode state and the coupling run after every call (line status, roaming, data quota
//!   and payment requests flow between the databases);
//! - [`agent_tools`] / [`user_tools`]: the 13 agent tools, the 30 device tools and the helpers that task
//!   initialisation and assertions call;
//! - [`date`]: the fixed clock (2025-02-25) and date arithmetic.
//!
//! [`Telecom`] plugs all of it into the shared [`Domain`] machinery. Solo mode is supported: the agent then
//! holds the device tools as well, under the solo policy.

pub mod agent_db;
pub mod agent_tools;
pub mod date;
pub mod simulation;
pub mod state;
pub mod user_db;
pub mod user_tools;

use std::path::Path;

pub use agent_db::TelecomDb;
pub use agent_tools::AGENT_TOOLKIT;
pub use state::TelecomState;
pub use user_db::TelecomUserDb;
pub use user_tools::USER_TOOLKIT;

use crate::data::read_text;
use crate::domain::Domain;
use crate::error::DomainError;
use crate::tool::Toolkit;

/// Which technical-support guide the policy includes (τ² domains `telecom` and `telecom-workflow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TechSupportGuide {
    /// The reference manual (`tech_support_manual.md`; also used in solo mode) — domain `telecom`.
    #[default]
    Manual,
    /// The step-by-step workflow (`tech_support_workflow.md`, solo: `tech_support_workflow_solo.md`) —
    /// domain `telecom-workflow`.
    Workflow,
}

/// The telecom domain loaded from a τ² data directory (`…/telecom/`).
#[derive(Debug, Clone)]
pub struct Telecom {
    guide: TechSupportGuide,
    initial: TelecomState,
    policy: String,
    solo_policy: String,
}

/// τ²'s policy layout: the main policy and the support guide, each in its own tag.
fn compose_policy(main: &str, guide: &str) -> String {
    format!("<main_policy>\n{main}\n</main_policy>\n<tech_support_policy>\n{guide}\n</tech_support_policy>")
}

impl Telecom {
    /// Loads the databases and policies from `dir` (the folder holding `db.toml`, `user_db.toml`, the
    /// policy files). The workflow guide needs `tech_support_workflow.md` and its solo variant.
    pub fn load(dir: &Path, guide: TechSupportGuide) -> Result<Self, DomainError> {
        let agent = TelecomDb::load(&dir.join("db.toml"))?;
        let user = TelecomUserDb::load(&dir.join("user_db.toml"))?;
        let (guide_file, solo_guide_file) = match guide {
            TechSupportGuide::Manual => ("tech_support_manual.md", "tech_support_manual.md"),
            TechSupportGuide::Workflow => ("tech_support_workflow.md", "tech_support_workflow_solo.md"),
        };
        let policy = compose_policy(&read_text(&dir.join("main_policy.md"))?, &read_text(&dir.join(guide_file))?);
        let solo_policy =
            compose_policy(&read_text(&dir.join("main_policy_solo.md"))?, &read_text(&dir.join(solo_guide_file))?);
        let mut initial = TelecomState::new(agent, user);
        // τ² syncs once when the environment is built (a no-op until a task sets the user's phone number).
        crate::domain::DomainState::sync(&mut initial);
        Ok(Self { guide, initial, policy, solo_policy })
    }

    /// Which support guide the policy carries.
    pub fn guide(&self) -> TechSupportGuide {
        self.guide
    }
}

impl Domain for Telecom {
    type State = TelecomState;

    fn name(&self) -> &'static str {
        match self.guide {
            TechSupportGuide::Manual => "telecom",
            TechSupportGuide::Workflow => "telecom-workflow",
        }
    }

    fn agent_toolkit(&self) -> &'static Toolkit<TelecomState> {
        &AGENT_TOOLKIT
    }

    fn user_toolkit(&self) -> Option<&'static Toolkit<TelecomState>> {
        Some(&USER_TOOLKIT)
    }

    fn initial_state(&self) -> &TelecomState {
        &self.initial
    }

    fn supports_solo(&self) -> bool {
        true
    }

    fn policy(&self, solo: bool) -> &str {
        if solo { &self.solo_policy } else { &self.policy }
    }
}
