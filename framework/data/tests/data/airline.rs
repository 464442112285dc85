//! Airline generator: determinism, split disjointness, gold replay, refusals, families, lengths.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use retain_config::{Domain, PolicyText};
use retain_data::airline::{self, FAMILIES};
use retain_data::demo::{Demonstration, demonstrate};
use retain_data::ids::derived_rng;
use retain_data::length::{LengthStats, proxy_tokens};
use retain_data::policy::policy_text;
use retain_data::prompt::PromptStyle;
use retain_data::task_builder::GeneratedTask;
use retain_data::{GeneratorConfig, Split};
use retain_domains::airline::{AirlineDomain, FlightDb};
use retain_domains::episode::{Episode, EpisodeConfig, Mode};
use retain_domains::evaluation::evaluate_episode;
use retain_domains::{GoldCache, ParticipantMessage, ToolCall};
use serde_json::json;

fn db(seed: u64) -> FlightDb {
    let config = GeneratorConfig::default();
    airline::generate_db(&config.airline, &mut derived_rng(seed, "airline-db", None, 0))
}

fn domain(db: FlightDb) -> Arc<AirlineDomain> {
    Arc::new(AirlineDomain::from_parts(db, policy_text(Domain::Airline, PolicyText::Compact, "")))
}

fn tasks(db: &FlightDb, split: Split, n: usize, seed: u64) -> Vec<GeneratedTask> {
    airline::generate_tasks(db, &GeneratorConfig::default(), split, n, seed).unwrap()
}

#[test]
fn same_seed_same_bytes_different_seed_differs() {
    let a = serde_json::to_string(&db(7)).unwrap();
    let b = serde_json::to_string(&db(7)).unwrap();
    let c = serde_json::to_string(&db(8)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let d = db(7);
    let t1 = serde_json::to_string(&tasks(&d, Split::Train, 50, 1)).unwrap();
    let t2 = serde_json::to_string(&tasks(&d, Split::Train, 50, 1)).unwrap();
    let t3 = serde_json::to_string(&tasks(&d, Split::Train, 50, 2)).unwrap();
    assert_eq!(t1, t2);
    assert_ne!(t1, t3);
}

fn entities(t: &GeneratedTask) -> HashSet<String> {
    let mut out = HashSet::new();
    for a in t.task.evaluation_criteria.as_ref().unwrap().actions.as_ref().unwrap() {
        for key in ["user_id", "reservation_id"] {
            if let Some(v) = a.arguments.get(key).and_then(|v| v.as_str()) {
                out.insert(v.to_owned());
            }
        }
    }
    out
}

#[test]
fn train_and_test_use_disjoint_entities() {
    let d = db(3);
    let train: HashSet<String> = tasks(&d, Split::Train, 300, 5).iter().flat_map(entities).collect();
    let test: HashSet<String> = tasks(&d, Split::Test, 100, 5).iter().flat_map(entities).collect();
    assert!(!train.is_empty() && !test.is_empty());
    let shared: Vec<&String> = train.intersection(&test).collect();
    assert!(shared.is_empty(), "shared entities: {shared:?}");
    let ids: HashSet<String> = tasks(&d, Split::Train, 300, 5).into_iter().map(|t| t.task.id).collect();
    assert_eq!(ids.len(), 300);
}

#[test]
fn every_gold_trajectory_scores_one_and_every_family_appears() {
    let mut families: BTreeMap<String, usize> = BTreeMap::new();
    let mut lengths = Vec::new();
    for seed in [11u64, 12] {
        let d = db(seed);
        let dom = domain(d.clone());
        let gold = GoldCache::new(Arc::clone(&dom));
        for split in [Split::Train, Split::Test] {
            for t in tasks(&d, split, 150, seed) {
                let demo: Demonstration =
                    demonstrate(&dom, &gold, &t, PromptStyle::new(Domain::Airline, PolicyText::Compact))
                        .unwrap_or_else(|e| panic!("{}: {e}", t.task.id));
                assert_eq!(demo.reward, 1.0);
                lengths.push(proxy_tokens(&demo.text()));
                *families.entry(t.family.clone()).or_default() += 1;
            }
        }
    }
    for f in FAMILIES {
        assert!(families.get(f).copied().unwrap_or(0) > 0, "family {f} never generated: {families:?}");
    }
    let stats = LengthStats::of(&lengths);
    eprintln!("airline compact episode length (proxy pieces): {stats:?}; families {families:?}");
}

/// Refusal tasks pass only when nothing is written: the gold trajectory plus one extra write fails.
#[test]
fn refusals_fail_when_something_is_written() {
    let d = db(21);
    let dom = domain(d.clone());
    let gold = GoldCache::new(Arc::clone(&dom));
    let mut checked = 0;
    for t in tasks(&d, Split::Train, 200, 21).into_iter().filter(|t| t.refusal) {
        let task = Arc::new(t.task.clone());
        let mut ep =
            Episode::start(Arc::clone(&dom), Arc::clone(&task), EpisodeConfig::new(Mode::Ticket), None).unwrap();
        for a in task.evaluation_criteria.as_ref().unwrap().actions.as_ref().unwrap() {
            ep.step(ParticipantMessage::calls(vec![ToolCall::assistant(a.name.clone(), a.arguments.clone())])).unwrap();
        }
        let user_id = d.reservations.values().next().unwrap().user_id.clone();
        let extra = ToolCall::assistant(
            "send_certificate",
            [("user_id".to_owned(), json!(user_id)), ("amount".to_owned(), json!(50))].into_iter().collect(),
        );
        ep.step(ParticipantMessage::calls(vec![extra])).unwrap();
        ep.step(ParticipantMessage::text(t.final_message.clone())).unwrap();
        let eval = evaluate_episode(&ep, &gold).unwrap();
        assert_eq!(eval.reward, 0.0, "{} passed despite an extra write", t.task.id);
        checked += 1;
    }
    assert!(checked > 10, "only {checked} refusal tasks");
}

/// The task generator also works on τ²'s official airline database.
#[test]
fn generates_on_the_official_database() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tau2/airline");
    if !dir.join("db.json").is_file() {
        eprintln!("official data not present at {}; skipped", dir.display());
        return;
    }
    let official = AirlineDomain::load(&dir).unwrap();
    let d = retain_domains::Domain::initial_state(&official).clone();
    let dom = Arc::new(official);
    let gold = GoldCache::new(Arc::clone(&dom));
    for t in tasks(&d, Split::Train, 60, 4) {
        let demo = demonstrate(&dom, &gold, &t, PromptStyle::new(Domain::Airline, PolicyText::Full))
            .unwrap_or_else(|e| panic!("{}: {e}", t.task.id));
        assert_eq!(demo.reward, 1.0);
    }
}

/// Demonstrations mask what the agent does not generate: only agent turns are trainable, and every tool
/// result sits in a masked segment.
#[test]
fn demonstrations_mask_tool_outputs() {
    let d = db(11);
    let dom = domain(d.clone());
    let gold = GoldCache::new(Arc::clone(&dom));
    for t in tasks(&d, Split::Train, 20, 1) {
        let demo = demonstrate(&dom, &gold, &t, PromptStyle::new(Domain::Airline, PolicyText::Compact)).unwrap();
        let trained: String = demo.segments.iter().filter(|s| s.kind.trainable()).map(|s| s.text.as_str()).collect();
        assert!(!trained.contains("tool_response") && !trained.contains("<|im_start|>"));
        assert!(trained.ends_with(&format!("{}<|im_end|>", t.final_message)));
        let text = demo.text();
        assert!(text.contains("[Compact policy:"), "compact prompts must say so");
        for m in &demo.messages {
            if let retain_domains::Message::Tool(tool) = m {
                assert!(demo.segments.iter().any(|s| !s.kind.trainable() && s.text.contains(&tool.content)));
            }
        }
    }
}

/// Databases written next to the tasks load back with the domain crate's own loaders, unchanged.
#[test]
fn written_databases_load_back() {
    use retain_data::dataset::{DbSource, GeneratedDb, generate};
    let dir = tempfile::tempdir().unwrap();
    for domain in Domain::ALL {
        let data = generate(domain, Split::Train, 5, 1, &DbSource::Generated, &GeneratorConfig::default()).unwrap();
        let out = dir.path().join(format!("{}.json", domain.name()));
        let files = data.db.as_ref().unwrap().write_next_to(&out).unwrap();
        match data.db.unwrap() {
            GeneratedDb::Airline(db) => {
                let back = FlightDb::load(&files[0]).unwrap();
                assert!(back.same_as(&db));
            }
            GeneratedDb::Retail(db) => {
                let back = retain_domains::retail::RetailDb::load(&files[0]).unwrap();
                assert!(back.same_as(&db));
            }
            GeneratedDb::Telecom(state) => {
                let agent = retain_domains::telecom::TelecomDb::load(&files[0]).unwrap();
                let user = retain_domains::telecom::TelecomUserDb::load(&files[1]).unwrap();
                assert_eq!(agent, *state.agent);
                assert_eq!(user, *state.user);
            }
        }
    }
}
