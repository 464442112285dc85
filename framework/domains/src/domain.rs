//! The domain abstraction: how airline, retail and telecom plug into the shared episode and evaluation code.
//!
//! # Plugging a domain in
//! 1. Define the state: one type implementing [`DomainState`] that holds everything a tool can change —
//!    the agent database and, for dual-control domains (telecom), the user/device database. Make cloning
//!    cheap (records behind `Arc`, copy-on-write with `Arc::make_mut`): every episode and every gold replay
//!    starts from a clone of the loaded state.
//! 2. Define the tools as `static` [`ToolDef`](crate::tool::ToolDef)s grouped in a
//!    [`Toolkit`](crate::tool::Toolkit) per side (agent, and user for telecom); put task-only helpers
//!    (initialisation actions, `assert_*`) in the toolkit's `functions`.
//! 3. Implement [`Domain`]: name, toolkits, the loaded initial state and the policy text (solo variant if the
//!    domain supports τ²'s solo mode).
//!
//! Everything else — applying a task's initial state, executing calls with τ² error semantics, syncing
//! after each call ([`DomainState::sync`]), episodes, gold final states and rewards — is generic over
//! [`Domain`] and lives in [`crate::env`], [`crate::episode`] and [`crate::evaluation`].

use std::sync::Arc;

use indexmap::IndexMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::DomainError;
use crate::pyjson;
use crate::tool::Toolkit;

/// Who issues a tool call (τ²'s `requestor` / `env_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Requestor {
    /// The customer-service agent.
    #[default]
    Assistant,
    /// The user (telecom device tools).
    User,
}

impl Requestor {
    /// The lowercase name τ² uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Requestor::Assistant => "assistant",
            Requestor::User => "user",
        }
    }
}

/// Result of comparing two states database by database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DbMatch {
    /// Agent database equal.
    pub agent: bool,
    /// User/device database equal (`None` when the domain has none).
    pub user: Option<bool>,
}

impl DbMatch {
    /// Both databases equal — τ²'s `db_match`.
    pub fn all(self) -> bool {
        self.agent && self.user.unwrap_or(true)
    }
}

/// The complete mutable state of a domain.
pub trait DomainState: Clone + Send + Sync + 'static {
    /// Couples the databases after every tool call / step (τ²'s `sync_tools`); a no-op for single-DB domains.
    fn sync(&mut self) {}

    /// Compares with another state (used against the cached gold state). Must agree with comparing
    /// [`DomainState::agent_db_canonical`] / [`DomainState::user_db_canonical`], only faster.
    fn db_match(&self, other: &Self) -> DbMatch;

    /// τ²'s canonical form of the agent database: `json.dumps(model_dump(), sort_keys=True, default=str)`.
    fn agent_db_canonical(&self) -> String;

    /// The same for the user database, if the domain has one.
    fn user_db_canonical(&self) -> Option<String> {
        None
    }

    /// Deep-merges a task's `initialization_data.agent_data` into the agent database.
    fn update_agent_data(&mut self, patch: &Value) -> Result<(), DomainError>;

    /// Deep-merges `initialization_data.user_data` into the user database.
    fn update_user_data(&mut self, patch: &Value) -> Result<(), DomainError> {
        let _ = patch;
        Err(DomainError::Unsupported("this domain has no user database to update".to_owned()))
    }
}

/// A τ² domain: tools, loaded state and policy.
pub trait Domain: Send + Sync + 'static {
    /// The mutable state tools act on.
    type State: DomainState;

    /// Domain name (`airline`, `retail`, `telecom`).
    fn name(&self) -> &'static str;

    /// The agent's tools.
    fn agent_toolkit(&self) -> &'static Toolkit<Self::State>;

    /// The user's (device) tools, for dual-control domains.
    fn user_toolkit(&self) -> Option<&'static Toolkit<Self::State>> {
        None
    }

    /// The state loaded from the official files; episodes start from a clone.
    fn initial_state(&self) -> &Self::State;

    /// Whether τ²'s solo mode (agent holds the user tools too, ticket in the prompt) is supported.
    fn supports_solo(&self) -> bool {
        false
    }

    /// The policy text for the agent's system prompt (`solo` selects the solo variant).
    fn policy(&self, solo: bool) -> &str;
}

/// Deep-merges `patch` into `target` as τ²'s `addict` update does: nested objects merge key by key,
/// everything else is replaced.
pub fn deep_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => deep_merge(existing, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Applies a deep-merge patch to a typed database by a JSON round trip (τ²: `model_dump` → update →
/// `model_validate`).
pub fn merge_into<T: Serialize + DeserializeOwned>(db: &mut T, patch: &Value) -> Result<(), DomainError> {
    let mut value = serde_json::to_value(&*db).map_err(|e| DomainError::InitialState(e.to_string()))?;
    deep_merge(&mut value, patch);
    *db = serde_json::from_value(value).map_err(|e| DomainError::InitialState(e.to_string()))?;
    Ok(())
}

/// τ²'s database hash: SHA-256 of the canonical JSON.
pub fn canonical_hash(canonical: &str) -> String {
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// The canonical (sorted-keys, Python-formatted) JSON of any serializable database.
pub fn canonical_json<T: Serialize + ?Sized>(db: &T) -> String {
    pyjson::to_string_sorted(db)
}

/// Equality of two `Arc`-shared maps of `Arc` records, skipping shared pointers (key order ignored).
pub fn shared_maps_eq<T: PartialEq>(a: &Arc<IndexMap<String, Arc<T>>>, b: &Arc<IndexMap<String, Arc<T>>>) -> bool {
    if Arc::ptr_eq(a, b) {
        return true;
    }
    a.len() == b.len() && a.iter().all(|(k, va)| b.get(k).is_some_and(|vb| Arc::ptr_eq(va, vb) || **va == **vb))
}
