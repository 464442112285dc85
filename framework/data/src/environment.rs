//! A domain's environment behind one type, and episodes over it behind one type.
//!
//! A training batch may mix domains (replay does), and every task must run in its *own* domain's environment.
//! [`DomainEnv`] holds one of the four concrete domains retain trains on (airline, retail, generated or official
//! telecom) with its gold-state cache; [`AnyEpisode`] is an episode of any of them. Both dispatch with a `match`,
//! so an episode can only ever be evaluated by the environment that started it.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use retain_domains::airline::AirlineDomain;
use retain_domains::episode::{Episode, EpisodeConfig, Mode, StepOutcome, TerminationReason};
use retain_domains::evaluation::{Evaluation, evaluate_episode};
use retain_domains::retail::RetailDomain;
use retain_domains::telecom::Telecom;
use retain_domains::{Domain as _, GoldCache, Message, ParticipantMessage, Task};

use crate::error::DataError;
use crate::telecom::GeneratedTelecom;

/// One domain's environment and its cache of gold final states.
#[derive(Debug, Clone)]
pub enum DomainEnv {
    /// Airline (generated or official database).
    Airline(Arc<AirlineDomain>, Arc<GoldCache<AirlineDomain>>),
    /// Retail (generated or official database).
    Retail(Arc<RetailDomain>, Arc<GoldCache<RetailDomain>>),
    /// Telecom over a generated state.
    GeneratedTelecom(Arc<GeneratedTelecom>, Arc<GoldCache<GeneratedTelecom>>),
    /// Telecom over τ²'s official databases.
    Tau2Telecom(Arc<Telecom>, Arc<GoldCache<Telecom>>),
}

/// Runs `$body` with `$d` bound to the concrete `Arc<Domain>` and `$g` to its gold cache.
macro_rules! with_env {
    ($env:expr, |$d:ident, $g:ident| $body:expr) => {
        match $env {
            DomainEnv::Airline($d, $g) => $body,
            DomainEnv::Retail($d, $g) => $body,
            DomainEnv::GeneratedTelecom($d, $g) => $body,
            DomainEnv::Tau2Telecom($d, $g) => $body,
        }
    };
}
pub(crate) use with_env;

/// An episode of any domain.
#[derive(Debug)]
pub enum AnyEpisode {
    /// Airline.
    Airline(Episode<AirlineDomain>),
    /// Retail.
    Retail(Episode<RetailDomain>),
    /// Generated telecom.
    GeneratedTelecom(Episode<GeneratedTelecom>),
    /// Official telecom.
    Tau2Telecom(Episode<Telecom>),
}

macro_rules! with_episode {
    ($episode:expr, |$e:ident| $body:expr) => {
        match $episode {
            AnyEpisode::Airline($e) => $body,
            AnyEpisode::Retail($e) => $body,
            AnyEpisode::GeneratedTelecom($e) => $body,
            AnyEpisode::Tau2Telecom($e) => $body,
        }
    };
}

fn wrap<D: retain_domains::Domain>(domain: Arc<D>) -> (Arc<D>, Arc<GoldCache<D>>) {
    let gold = Arc::new(GoldCache::new(Arc::clone(&domain)));
    (domain, gold)
}

impl DomainEnv {
    /// Airline environment.
    pub fn airline(domain: Arc<AirlineDomain>) -> Self {
        let (d, g) = wrap(domain);
        DomainEnv::Airline(d, g)
    }

    /// Retail environment.
    pub fn retail(domain: Arc<RetailDomain>) -> Self {
        let (d, g) = wrap(domain);
        DomainEnv::Retail(d, g)
    }

    /// Telecom over a generated state.
    pub fn generated_telecom(domain: Arc<GeneratedTelecom>) -> Self {
        let (d, g) = wrap(domain);
        DomainEnv::GeneratedTelecom(d, g)
    }

    /// Telecom over τ²'s databases.
    pub fn tau2_telecom(domain: Arc<Telecom>) -> Self {
        let (d, g) = wrap(domain);
        DomainEnv::Tau2Telecom(d, g)
    }

    /// The domain's name.
    pub fn name(&self) -> &'static str {
        with_env!(self, |d, _g| d.name())
    }

    /// Names of the tools that change the database (what reward plugins like partial progress count); in solo
    /// mode the agent also holds the user's tools, so theirs are included.
    pub fn write_tools(&self) -> Vec<String> {
        use retain_domains::tool::ToolKind;
        with_env!(self, |d, _g| {
            let mut names: Vec<String> = Vec::new();
            let solo = d.supports_solo();
            let kits = std::iter::once(d.agent_toolkit()).chain(d.user_toolkit().filter(|_| solo));
            for kit in kits {
                names.extend(kit.tools.iter().filter(|t| t.kind == ToolKind::Write).map(|t| t.name.to_owned()));
            }
            names
        })
    }

    /// The database's entity ids (users, reservations, flights, orders, emails, payment methods, products,
    /// variants, customers, lines, phone numbers, bills, …; at least 3 characters, not purely numeric), sorted and
    /// distinct: what `model.tiny.entity_tokens` registers as whole tokens.
    pub fn entity_ids(&self) -> Vec<String> {
        let mut ids = std::collections::BTreeSet::new();
        match self {
            DomainEnv::Airline(d, _) => {
                let db = d.initial_state();
                ids.extend(db.users.keys().cloned());
                ids.extend(db.reservations.keys().cloned());
                ids.extend(db.flights.keys().cloned());
                for user in db.users.values() {
                    ids.extend(user.payment_methods.keys().cloned());
                    ids.insert(user.email.clone());
                }
            }
            DomainEnv::Retail(d, _) => {
                let db = d.initial_state();
                ids.extend(db.users.keys().cloned());
                ids.extend(db.orders.keys().cloned());
                for user in db.users.values() {
                    ids.extend(user.payment_methods.keys().cloned());
                    ids.insert(user.email.clone());
                }
                for product in db.products.values() {
                    ids.insert(product.product_id.clone());
                    ids.extend(product.variants.keys().cloned());
                }
            }
            DomainEnv::GeneratedTelecom(d, _) => ids.extend(telecom_ids(&d.initial_state().agent)),
            DomainEnv::Tau2Telecom(d, _) => ids.extend(telecom_ids(&d.initial_state().agent)),
        }
        // A purely numeric id ("1001") would also match inside phone numbers, amounts and dates.
        ids.into_iter().filter(|id| id.len() >= 3 && !id.chars().all(|c| c.is_ascii_digit())).collect()
    }

    /// What identifies a customer besides ids, as pools of interchangeable values: first names, last names and
    /// (retail) zip codes — tickets name a user by them, and ids and emails are built from them.
    /// `trainer.warm_start_randomize_ids` replaces each by another member of its pool, so a model has to copy them
    /// from the ticket instead of memorising the training customers, while they keep the look of real names and
    /// zips.
    pub fn personal_details(&self) -> Vec<Vec<String>> {
        let (mut first, mut last, mut zips) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        match self {
            DomainEnv::Airline(d, _) => {
                for user in d.initial_state().users.values() {
                    first.insert(user.name.first_name.clone());
                    last.insert(user.name.last_name.clone());
                }
            }
            DomainEnv::Retail(d, _) => {
                for user in d.initial_state().users.values() {
                    first.insert(user.name.first_name.clone());
                    last.insert(user.name.last_name.clone());
                    zips.insert(user.address.zip.clone());
                }
            }
            DomainEnv::GeneratedTelecom(..) | DomainEnv::Tau2Telecom(..) => {}
        }
        [first, last, zips].into_iter().filter(|pool| !pool.is_empty()).map(|pool| pool.into_iter().collect()).collect()
    }

    /// How the agent meets tasks of this domain: τ² solo where supported (telecom), ticket mode otherwise.
    pub fn mode(&self) -> Mode {
        with_env!(self, |d, _g| Mode::default_for(d.supports_solo()))
    }

    /// Starts `task` in a fresh copy of this environment, with at most `max_steps` steps (τ² counts an agent
    /// turn and its tool results as two) and τ²'s tool-error limit.
    pub fn start(&self, task: Arc<Task>, max_steps: usize) -> Result<AnyEpisode, DataError> {
        let config = EpisodeConfig { max_steps, ..EpisodeConfig::new(self.mode()) };
        Ok(match self {
            DomainEnv::Airline(d, _) => AnyEpisode::Airline(Episode::start(Arc::clone(d), task, config, None)?),
            DomainEnv::Retail(d, _) => AnyEpisode::Retail(Episode::start(Arc::clone(d), task, config, None)?),
            DomainEnv::GeneratedTelecom(d, _) => {
                AnyEpisode::GeneratedTelecom(Episode::start(Arc::clone(d), task, config, None)?)
            }
            DomainEnv::Tau2Telecom(d, _) => AnyEpisode::Tau2Telecom(Episode::start(Arc::clone(d), task, config, None)?),
        })
    }

    /// τ²'s evaluation of a finished episode. An episode started by another domain's environment is an error,
    /// never a silent score against the wrong database.
    pub fn evaluate(&self, episode: &AnyEpisode) -> Result<Evaluation, DataError> {
        let evaluation = match (self, episode) {
            (DomainEnv::Airline(_, g), AnyEpisode::Airline(e)) => evaluate_episode(e, g)?,
            (DomainEnv::Retail(_, g), AnyEpisode::Retail(e)) => evaluate_episode(e, g)?,
            (DomainEnv::GeneratedTelecom(_, g), AnyEpisode::GeneratedTelecom(e)) => evaluate_episode(e, g)?,
            (DomainEnv::Tau2Telecom(_, g), AnyEpisode::Tau2Telecom(e)) => evaluate_episode(e, g)?,
            _ => {
                return Err(DataError::Unsupported(format!(
                    "episode of task {} belongs to another domain than {}",
                    episode.task().id,
                    self.name()
                )));
            }
        };
        Ok(evaluation)
    }
}

fn telecom_ids(db: &retain_domains::telecom::TelecomDb) -> Vec<String> {
    let mut ids = Vec::new();
    for c in &db.customers {
        ids.extend([c.customer_id.clone(), c.email.clone(), c.phone_number.clone()]);
    }
    for l in &db.lines {
        ids.extend([l.line_id.clone(), l.phone_number.clone()]);
    }
    ids.extend(db.bills.iter().map(|b| b.bill_id.clone()));
    ids.extend(db.plans.iter().map(|p| p.plan_id.clone()));
    ids.extend(db.devices.iter().map(|d| d.device_id.clone()));
    ids
}

impl AnyEpisode {
    /// The task.
    pub fn task(&self) -> &Arc<Task> {
        with_episode!(self, |e| e.task())
    }

    /// The mode the episode runs in.
    pub fn mode(&self) -> Mode {
        with_episode!(self, |e| e.config().mode)
    }

    /// Every message so far (system prompt first).
    pub fn messages(&self) -> &[Message] {
        with_episode!(self, |e| e.messages())
    }

    /// The agent's tools as OpenAI schemas (with `done` in solo mode).
    pub fn tool_schemas(&self) -> Vec<Value> {
        with_episode!(self, |e| e.tool_schemas())
    }

    /// The agent's tool names, for the output parser's name check.
    pub fn tool_names(&self) -> Vec<String> {
        self.tool_schemas()
            .iter()
            .filter_map(|s| s.pointer("/function/name").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    /// Feeds the agent's next message.
    pub fn step(&mut self, message: ParticipantMessage) -> Result<StepOutcome, DataError> {
        Ok(with_episode!(self, |e| e.step(message))?)
    }

    /// Records an output that never reached the environment (unparseable) as an error observation.
    pub fn record_protocol_error(&mut self, observation: String) -> StepOutcome {
        with_episode!(self, |e| e.record_protocol_error(observation))
    }

    /// Ends the episode from outside (e.g. its token budget ran out).
    pub fn abort(&mut self, reason: TerminationReason) {
        with_episode!(self, |e| e.abort(reason))
    }

    /// Why it ended, once it has.
    pub fn termination(&self) -> Option<TerminationReason> {
        with_episode!(self, |e| e.termination())
    }

    /// Whether it has ended.
    pub fn is_done(&self) -> bool {
        self.termination().is_some()
    }

    /// Tool errors so far (including unparseable outputs).
    pub fn num_errors(&self) -> usize {
        with_episode!(self, |e| e.num_errors())
    }
}
