//! The telecom generators: a small operator database plus the default phone ([`db`]), τ²'s composable
//! sub-issues ([`issues`]) and task composition ([`tasks`]). [`GeneratedTelecom`] runs them on the domain
//! crate's real telecom tools (agent toolkit, device toolkit, solo mode).

pub mod db;
pub mod issues;
pub mod tasks;

use retain_domains::Domain;
use retain_domains::telecom::{AGENT_TOOLKIT, TelecomState, USER_TOOLKIT};
use retain_domains::tool::Toolkit;

pub use db::generate as generate_db;
pub use tasks::{generate_task, generate_tasks};

/// The telecom domain over a generated state: the real telecom toolkits (unchanged), solo mode supported,
/// with the given policies (`policy` for conversations, `solo_policy` for solo episodes).
#[derive(Debug, Clone)]
pub struct GeneratedTelecom {
    initial: TelecomState,
    policy: String,
    solo_policy: String,
}

impl GeneratedTelecom {
    /// A domain over `state`.
    pub fn new(mut state: TelecomState, policy: String, solo_policy: String) -> Self {
        retain_domains::DomainState::sync(&mut state);
        GeneratedTelecom { initial: state, policy, solo_policy }
    }
}

impl Domain for GeneratedTelecom {
    type State = TelecomState;

    fn name(&self) -> &'static str {
        "telecom"
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
