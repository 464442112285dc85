//! The built-in strategy `kl_previous`: Learning without Forgetting for RL. When training on domain `i > 0` starts,
//! the strategy asks the host for a frozen snapshot of the policy (the policy at the end of domain `i − 1`), and on
//! every step of domain `i` it adds `coef · KL(π ‖ snapshot)` (the trainer's k3 estimator on the step's own tokens)
//! through [`LossTerm::KlToSnapshot`]. The penalty is in output space, on new-domain prompts, and needs no data of
//! earlier domains.
//!
//! `before_task` is also called when a run resumes mid-domain: the state records, per domain index, that the
//! snapshot was taken (and under which name), so a resume never re-snapshots the partly trained policy. The host
//! keeps snapshots in its checkpoints.

use retain_plugin_api::{Context, Host, LogLevel, LossTerm, PluginError, Strategy, TensorView, export_plugins};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Configuration of `kl_previous`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KlPreviousConfig {
    /// Coefficient of the KL term (0 keeps the term, so the trainer still measures the KL, without pulling).
    pub coef: f64,
    /// Name of the host snapshot (one name is reused: each domain replaces the previous snapshot).
    pub snapshot: String,
}

impl Default for KlPreviousConfig {
    fn default() -> Self {
        KlPreviousConfig { coef: 0.1, snapshot: "previous".to_owned() }
    }
}

/// One snapshot the strategy took: which domain it anchors and under which name the host keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Taken {
    domain_index: u32,
    name: String,
}

/// What survives a checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    version: u32,
    taken: Vec<Taken>,
}

const STATE_VERSION: u32 = 1;

/// LwF for RL: a KL penalty to the end-of-previous-domain policy.
#[derive(Debug)]
pub struct KlPrevious {
    host: Host,
    coef: f64,
    snapshot: String,
    state: State,
}

impl KlPrevious {
    fn taken(&self, domain_index: u32) -> Option<&Taken> {
        self.state.taken.iter().find(|t| t.domain_index == domain_index)
    }
}

impl Strategy for KlPrevious {
    const NAME: &'static str = "kl_previous";
    const DESCRIPTION: &'static str =
        "LwF for RL: coef·KL(policy ‖ policy at the end of the previous domain) on every step of later domains.";
    type Config = KlPreviousConfig;

    fn config_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "coef": {"type": "number", "minimum": 0, "default": 0.1,
                         "description": "coefficient of the k3 KL to the snapshot, added to the loss on every step \
                                         of domains after the first"},
                "snapshot": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "default": "previous",
                             "description": "name under which the host keeps the end-of-previous-domain policy"}
            },
            "additionalProperties": false
        })
    }

    fn new(config: KlPreviousConfig, host: Host) -> Result<Self, PluginError> {
        if !(config.coef.is_finite() && config.coef >= 0.0) {
            return Err(PluginError::invalid_config(format!(
                "kl_previous: `coef` must be a finite number ≥ 0, got {}",
                config.coef
            )));
        }
        if config.snapshot.is_empty() || !config.snapshot.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
        {
            return Err(PluginError::invalid_config(format!(
                "kl_previous: `snapshot` must be a non-empty name of ASCII letters, digits, `_` or `-`, got {:?}",
                config.snapshot
            )));
        }
        Ok(KlPrevious {
            host,
            coef: config.coef,
            snapshot: config.snapshot,
            state: State { version: STATE_VERSION, taken: Vec::new() },
        })
    }

    fn before_task(&mut self, ctx: &Context<'_>) -> Result<(), PluginError> {
        if ctx.domain_index == 0 || self.taken(ctx.domain_index).is_some() {
            return Ok(());
        }
        self.host.snapshot_policy(&self.snapshot)?;
        self.host.log(
            LogLevel::Info,
            &format!("snapshot `{}` of the policy taken at the start of `{}`", self.snapshot, ctx.domain),
        );
        self.state.taken.push(Taken { domain_index: ctx.domain_index, name: self.snapshot.clone() });
        Ok(())
    }

    fn loss_terms(&mut self, ctx: &Context<'_>, _params: &[TensorView<'_>]) -> Result<Vec<LossTerm>, PluginError> {
        Ok(match self.taken(ctx.domain_index) {
            Some(taken) => vec![LossTerm::KlToSnapshot { snapshot: taken.name.clone(), coef: self.coef }],
            None => Vec::new(),
        })
    }

    fn save_state(&mut self) -> Result<Vec<u8>, PluginError> {
        serde_json::to_vec(&self.state)
            .map_err(|e| PluginError::failed(format!("kl_previous: could not serialise the state: {e}")))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), PluginError> {
        let state: State = serde_json::from_slice(bytes).map_err(|e| {
            PluginError::failed(format!("kl_previous: the saved state is not a kl_previous state ({e})"))
        })?;
        if state.version != STATE_VERSION {
            return Err(PluginError::failed(format!(
                "kl_previous: the saved state has version {}, this plugin reads version {STATE_VERSION}",
                state.version
            )));
        }
        self.state = state;
        Ok(())
    }
}

export_plugins! {
    description: "LwF for RL: KL to the policy at the end of the previous domain.",
    strategies: [KlPrevious],
    rewards: [],
}
