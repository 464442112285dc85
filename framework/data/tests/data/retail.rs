//! Retail generator: determinism, split disjointness, gold replay, refusals, families, official database.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use retain_config::{Domain, PolicyText};
use retain_data::demo::demonstrate;
use retain_data::ids::derived_rng;
use retain_data::length::{LengthStats, proxy_tokens};
use retain_data::policy::policy_text;
use retain_data::prompt::PromptStyle;
use retain_data::retail::{self, FAMILIES};
use retain_data::task_builder::GeneratedTask;
use retain_data::{GeneratorConfig, Split};
use retain_domains::episode::{Episode, EpisodeConfig, Mode};
use retain_domains::evaluation::evaluate_episode;
use retain_domains::retail::{RetailDb, RetailDomain};
use retain_domains::{GoldCache, ParticipantMessage, ToolCall};
use serde_json::json;

fn db(seed: u64) -> RetailDb {
    retail::generate_db(&GeneratorConfig::default().retail, &mut derived_rng(seed, "retail-db", None, 0)).unwrap()
}

fn domain(db: RetailDb) -> Arc<RetailDomain> {
    Arc::new(RetailDomain::from_parts(db, policy_text(Domain::Retail, PolicyText::Compact, "")))
}

fn tasks(db: &RetailDb, split: Split, n: usize, seed: u64) -> Vec<GeneratedTask> {
    retail::generate_tasks(db, &GeneratorConfig::default(), split, n, seed).unwrap()
}

#[test]
fn deterministic_and_seed_sensitive() {
    assert_eq!(serde_json::to_string(&db(1)).unwrap(), serde_json::to_string(&db(1)).unwrap());
    assert_ne!(serde_json::to_string(&db(1)).unwrap(), serde_json::to_string(&db(2)).unwrap());
    let d = db(1);
    let a = serde_json::to_string(&tasks(&d, Split::Train, 50, 3)).unwrap();
    assert_eq!(a, serde_json::to_string(&tasks(&d, Split::Train, 50, 3)).unwrap());
    assert_ne!(a, serde_json::to_string(&tasks(&d, Split::Train, 50, 4)).unwrap());
}

fn owners(d: &RetailDb, t: &GeneratedTask) -> HashSet<String> {
    let mut out = HashSet::new();
    for a in t.task.evaluation_criteria.as_ref().unwrap().actions.as_ref().unwrap() {
        if let Some(o) = a.arguments.get("order_id").and_then(|v| v.as_str()) {
            out.insert(d.orders[o].user_id.clone());
        }
        if let Some(e) = a.arguments.get("email").and_then(|v| v.as_str()) {
            out.insert(d.users.values().find(|u| u.email == e).unwrap().user_id.clone());
        }
    }
    out
}

#[test]
fn train_and_test_use_disjoint_users() {
    let d = db(3);
    let train: HashSet<String> = tasks(&d, Split::Train, 300, 5).iter().flat_map(|t| owners(&d, t)).collect();
    let test: HashSet<String> = tasks(&d, Split::Test, 100, 5).iter().flat_map(|t| owners(&d, t)).collect();
    assert!(!train.is_empty() && !test.is_empty());
    assert!(train.is_disjoint(&test));
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
                let demo = demonstrate(&dom, &gold, &t, PromptStyle::new(Domain::Retail, PolicyText::Compact))
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
    eprintln!("retail compact episode length (proxy pieces): {:?}; families {families:?}", LengthStats::of(&lengths));
}

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
        let user = d.users.values().next().unwrap();
        let extra = ToolCall::assistant(
            "modify_user_address",
            [
                ("user_id", json!(user.user_id)),
                ("address1", json!("1 New St")),
                ("address2", json!("")),
                ("city", json!("X")),
                ("state", json!("CA")),
                ("country", json!("USA")),
                ("zip", json!("90001")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        );
        ep.step(ParticipantMessage::calls(vec![extra])).unwrap();
        ep.step(ParticipantMessage::text(t.final_message.clone())).unwrap();
        assert_eq!(evaluate_episode(&ep, &gold).unwrap().reward, 0.0, "{} passed despite an extra write", t.task.id);
        checked += 1;
    }
    assert!(checked > 10, "only {checked} refusal tasks");
}

#[test]
fn generates_on_the_official_database() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tau2/retail");
    if !dir.join("db.json").is_file() {
        eprintln!("official data not present at {}; skipped", dir.display());
        return;
    }
    let official = RetailDomain::load(&dir).unwrap();
    let d = retain_domains::Domain::initial_state(&official).clone();
    let dom = Arc::new(official);
    let gold = GoldCache::new(Arc::clone(&dom));
    for t in tasks(&d, Split::Train, 60, 4) {
        let demo = demonstrate(&dom, &gold, &t, PromptStyle::new(Domain::Retail, PolicyText::Full))
            .unwrap_or_else(|e| panic!("{}: {e}", t.task.id));
        assert_eq!(demo.reward, 1.0);
    }
}
