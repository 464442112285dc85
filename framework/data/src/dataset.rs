//! One entry point per output: generate tasks (and their database) or demonstrations for a domain, from a
//! generated database or τ²'s official one. The CLI (`retain data generate|demos|bench`) is a thin layer
//! over these functions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use retain_config::{Domain, PolicyText};
use retain_domains::airline::{AirlineDomain, FlightDb};
use retain_domains::retail::{RetailDb, RetailDomain};
use retain_domains::telecom::{TechSupportGuide, Telecom, TelecomState};

use crate::demo::{Demonstration, demonstrate};
use crate::environment::{DomainEnv, with_env};
use crate::error::DataError;
use crate::ids::derived_rng;
use crate::knobs::{GeneratorConfig, Split};
use crate::length::{LengthStats, proxy_tokens};
use crate::policy::compact_policy;
use crate::prompt::PromptStyle;
use crate::task_builder::GeneratedTask;
use crate::telecom::GeneratedTelecom;
use crate::{airline, retail, telecom};

/// Where the database comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbSource {
    /// Generated from the seed (the embedded default; needs no files).
    Generated,
    /// τ²'s official database in this directory (the data root holding `airline/`, … or a domain folder).
    Tau2(PathBuf),
}

impl FromStr for DbSource {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "generated" => Ok(DbSource::Generated),
            _ => match s.strip_prefix("tau2:") {
                Some(dir) if !dir.is_empty() => Ok(DbSource::Tau2(PathBuf::from(dir))),
                _ => Err(DataError::Unsupported(format!("--db {s:?}: expected `generated` or `tau2:DIR`"))),
            },
        }
    }
}

fn domain_dir(root: &Path, domain: Domain) -> PathBuf {
    let sub = root.join(domain.name());
    if sub.is_dir() { sub } else { root.to_path_buf() }
}

/// A generated database, to be written next to the tasks.
#[derive(Debug, Clone)]
pub enum GeneratedDb {
    /// Airline `db.json`.
    Airline(FlightDb),
    /// Retail `db.json`.
    Retail(RetailDb),
    /// Telecom `db.toml` + `user_db.toml`.
    Telecom(TelecomState),
}

impl GeneratedDb {
    /// Writes the database in τ²'s file format next to `tasks_path` (`<stem>.db.json`, or for telecom
    /// `<stem>.db.toml` and `<stem>.user_db.toml`) and returns the paths.
    pub fn write_next_to(&self, tasks_path: &Path) -> Result<Vec<PathBuf>, DataError> {
        let stem = tasks_path.file_stem().and_then(|s| s.to_str()).unwrap_or("tasks");
        let dir = tasks_path.parent().unwrap_or(Path::new("."));
        let write = |name: String, text: String| -> Result<PathBuf, DataError> {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| DataError::io(&path, e))?;
            Ok(path)
        };
        match self {
            GeneratedDb::Airline(db) => Ok(vec![write(format!("{stem}.db.json"), serde_json::to_string_pretty(db)?)?]),
            GeneratedDb::Retail(db) => Ok(vec![write(format!("{stem}.db.json"), serde_json::to_string_pretty(db)?)?]),
            GeneratedDb::Telecom(state) => Ok(vec![
                write(format!("{stem}.db.toml"), to_toml(&*state.agent)?)?,
                write(format!("{stem}.user_db.toml"), to_toml(&*state.user)?)?,
            ]),
        }
    }
}

fn to_toml<T: Serialize>(value: &T) -> Result<String, DataError> {
    toml::to_string(value).map_err(|e| DataError::Config(format!("cannot write TOML: {e}")))
}

/// Generated tasks and, for a generated database, the database.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The domain.
    pub domain: Domain,
    /// The tasks.
    pub tasks: Vec<GeneratedTask>,
    /// The database (only when generated).
    pub db: Option<GeneratedDb>,
}

impl Dataset {
    /// Tasks per family.
    pub fn family_counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for t in &self.tasks {
            *out.entry(t.family.clone()).or_default() += 1;
        }
        out
    }

    /// The tasks alone, in τ²'s schema (what `tasks.json` holds).
    pub fn tau2_tasks(&self) -> Vec<&retain_domains::Task> {
        self.tasks.iter().map(|t| &t.task).collect()
    }
}

/// The generated databases' seeds are derived from the run seed, so `--seed` alone fixes everything.
fn db_rng(seed: u64, domain: Domain) -> crate::ids::GenRng {
    derived_rng(seed, &format!("{}-db", domain.name()), None, 0)
}

/// The database a dataset is built on: the environment that runs its episodes and, when generated, the database
/// to write out.
struct Loaded {
    env: DomainEnv,
    db: Option<GeneratedDb>,
}

fn full_policy_dir(source: &DbSource, domain: Domain) -> Result<PathBuf, DataError> {
    match source {
        DbSource::Tau2(dir) => Ok(domain_dir(dir, domain)),
        DbSource::Generated => {
            let root = retain_domains::data::locate_data(None).map_err(|e| {
                DataError::Config(format!(
                    "policy: full needs τ²'s policy documents ({e}); use policy compact or run `retain data fetch-tau2`"
                ))
            })?;
            Ok(root.join(domain.name()))
        }
    }
}

fn read_policy(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))
}

fn load(
    domain: Domain,
    seed: u64,
    source: &DbSource,
    config: &GeneratorConfig,
    policy: PolicyText,
) -> Result<Loaded, DataError> {
    config.validate()?;
    let policy_text = |file: &str| -> Result<String, DataError> {
        match policy {
            PolicyText::Compact | PolicyText::Minimal => Ok(compact_policy(domain).to_owned()),
            PolicyText::Full => read_policy(&full_policy_dir(source, domain)?.join(file)),
        }
    };
    Ok(match (domain, source) {
        (Domain::Airline, DbSource::Generated) => {
            let db = airline::generate_db(&config.airline, &mut db_rng(seed, domain));
            Loaded {
                env: DomainEnv::airline(Arc::new(AirlineDomain::from_parts(db.clone(), policy_text("policy.md")?))),
                db: Some(GeneratedDb::Airline(db)),
            }
        }
        (Domain::Airline, DbSource::Tau2(dir)) => {
            Loaded { env: DomainEnv::airline(Arc::new(AirlineDomain::load(&domain_dir(dir, domain))?)), db: None }
        }
        (Domain::Retail, DbSource::Generated) => {
            let db = retail::generate_db(&config.retail, &mut db_rng(seed, domain))?;
            Loaded {
                env: DomainEnv::retail(Arc::new(RetailDomain::from_parts(db.clone(), policy_text("policy.md")?))),
                db: Some(GeneratedDb::Retail(db)),
            }
        }
        (Domain::Retail, DbSource::Tau2(dir)) => {
            Loaded { env: DomainEnv::retail(Arc::new(RetailDomain::load(&domain_dir(dir, domain))?)), db: None }
        }
        (Domain::Telecom, DbSource::Generated) => {
            let state = telecom::generate_db(&config.telecom, &mut db_rng(seed, domain))?;
            let (main, solo) = match policy {
                PolicyText::Compact | PolicyText::Minimal => {
                    (compact_policy(domain).to_owned(), compact_policy(domain).to_owned())
                }
                PolicyText::Full => {
                    let dir = full_policy_dir(source, domain)?;
                    let manual = read_policy(&dir.join("tech_support_manual.md"))?;
                    let compose = |main: String| {
                        format!(
                            "<main_policy>\n{main}\n</main_policy>\n<tech_support_policy>\n{manual}\n</tech_support_policy>"
                        )
                    };
                    (
                        compose(read_policy(&dir.join("main_policy.md"))?),
                        compose(read_policy(&dir.join("main_policy_solo.md"))?),
                    )
                }
            };
            Loaded {
                env: DomainEnv::generated_telecom(Arc::new(GeneratedTelecom::new(state.clone(), main, solo))),
                db: Some(GeneratedDb::Telecom(state)),
            }
        }
        (Domain::Telecom, DbSource::Tau2(dir)) => {
            let telecom = Telecom::load(&domain_dir(dir, domain), TechSupportGuide::Manual)?;
            Loaded { env: DomainEnv::tau2_telecom(Arc::new(telecom)), db: None }
        }
    })
}

fn tasks_for(
    env: &DomainEnv,
    config: &GeneratorConfig,
    split: Split,
    n: usize,
    seed: u64,
) -> Result<Vec<GeneratedTask>, DataError> {
    use retain_domains::Domain as _;
    match env {
        DomainEnv::Airline(d, _) => airline::generate_tasks(d.initial_state(), config, split, n, seed),
        DomainEnv::Retail(d, _) => retail::generate_tasks(d.initial_state(), config, split, n, seed),
        DomainEnv::GeneratedTelecom(d, _) => telecom::generate_tasks(d.initial_state(), config, split, n, seed),
        DomainEnv::Tau2Telecom(d, _) => telecom::generate_tasks(d.initial_state(), config, split, n, seed),
    }
}

/// Generates `n` tasks of `split` for `domain`.
pub fn generate(
    domain: Domain,
    split: Split,
    n: usize,
    seed: u64,
    source: &DbSource,
    config: &GeneratorConfig,
) -> Result<Dataset, DataError> {
    let loaded = load(domain, seed, source, config, PolicyText::Compact)?;
    let tasks = tasks_for(&loaded.env, config, split, n, seed)?;
    Ok(Dataset { domain, tasks, db: loaded.db })
}

/// Runs the oracle for `tasks` in `env` (each demonstration verified to score 1.0).
pub fn demonstrations(
    env: &DomainEnv,
    tasks: &[GeneratedTask],
    style: PromptStyle,
) -> Result<Vec<Demonstration>, DataError> {
    with_env!(env, |d, g| tasks.iter().map(|t| demonstrate(d, g, t, style)).collect())
}

/// Generates `n` tasks of `split` and their oracle demonstrations (every one verified to score 1.0).
pub fn demos(
    domain: Domain,
    split: Split,
    n: usize,
    seed: u64,
    source: &DbSource,
    config: &GeneratorConfig,
    policy: PolicyText,
) -> Result<Vec<Demonstration>, DataError> {
    let loaded = load(domain, seed, source, config, policy)?;
    let tasks = tasks_for(&loaded.env, config, split, n, seed)?;
    demonstrations(&loaded.env, &tasks, PromptStyle::new(domain, policy))
}

/// Everything a trainer needs of one domain: its environment, the agent's prompt style, and disjoint train and
/// test tasks (different customers).
#[derive(Debug, Clone)]
pub struct DomainData {
    /// Which domain.
    pub domain: Domain,
    /// The environment every task of this domain runs in.
    pub env: DomainEnv,
    /// How the agent's prompt is written.
    pub style: PromptStyle,
    /// Training tasks.
    pub train: Vec<GeneratedTask>,
    /// Held-out test tasks.
    pub test: Vec<GeneratedTask>,
}

/// Builds a domain's environment and generates `n_train` training and `n_test` test tasks on it.
pub fn domain_data(
    domain: Domain,
    seed: u64,
    source: &DbSource,
    config: &GeneratorConfig,
    policy: PolicyText,
    n_train: usize,
    n_test: usize,
) -> Result<DomainData, DataError> {
    let loaded = load(domain, seed, source, config, policy)?;
    let train = tasks_for(&loaded.env, config, Split::Train, n_train, seed)?;
    let test = tasks_for(&loaded.env, config, Split::Test, n_test, seed)?;
    Ok(DomainData { domain, env: loaded.env, style: PromptStyle::new(domain, policy), train, test })
}

/// Timing and length measurements of the generators for one domain.
#[derive(Debug, Clone, Serialize)]
pub struct GenerationBench {
    /// Domain.
    pub domain: Domain,
    /// Tasks generated.
    pub tasks: usize,
    /// Seconds to generate the database and the tasks.
    pub generate_seconds: f64,
    /// Tasks per second.
    pub tasks_per_second: f64,
    /// Demonstrations run through the environment and rendered.
    pub demos: usize,
    /// Seconds for them.
    pub demo_seconds: f64,
    /// Share of demonstrations that scored 1.0 (an error aborts the bench, so this is 1.0 when it returns).
    pub gold_pass_rate: f64,
    /// Whole-episode length in proxy pieces (see [`crate::length`]), compact policy.
    pub episode_proxy_tokens: LengthStats,
    /// Whole-episode length in bytes / 4, compact policy.
    pub episode_bytes_over_4: LengthStats,
    /// Tasks per family in the generated sample.
    pub families: BTreeMap<String, usize>,
}

/// Measures generation of `n` tasks and `n_demos` demonstrations on a generated database.
pub fn bench(
    domain: Domain,
    n: usize,
    n_demos: usize,
    seed: u64,
    config: &GeneratorConfig,
) -> Result<GenerationBench, DataError> {
    let start = Instant::now();
    let dataset = generate(domain, Split::Train, n, seed, &DbSource::Generated, config)?;
    let generate_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let demos = demos(domain, Split::Train, n_demos, seed, &DbSource::Generated, config, PolicyText::Compact)?;
    let demo_seconds = start.elapsed().as_secs_f64();
    let texts: Vec<String> = demos.iter().map(Demonstration::text).collect();
    let passed = demos.iter().filter(|d| (d.reward - 1.0).abs() < 1e-9).count();
    Ok(GenerationBench {
        domain,
        tasks: dataset.tasks.len(),
        generate_seconds,
        tasks_per_second: dataset.tasks.len() as f64 / generate_seconds.max(1e-9),
        demos: demos.len(),
        demo_seconds,
        gold_pass_rate: if demos.is_empty() { 0.0 } else { passed as f64 / demos.len() as f64 },
        episode_proxy_tokens: LengthStats::of(&texts.iter().map(|t| proxy_tokens(t)).collect::<Vec<_>>()),
        episode_bytes_over_4: LengthStats::of(&texts.iter().map(|t| t.len() / 4).collect::<Vec<_>>()),
        families: dataset.family_counts(),
    })
}
