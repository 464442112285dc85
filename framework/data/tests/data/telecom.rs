//! Telecom generator: determinism, split disjointness, gold replay in solo mode, sub-issue coverage,
//! transfers.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use retain_config::{Domain, PolicyText};
use retain_data::demo::demonstrate;
use retain_data::ids::derived_rng;
use retain_data::length::{LengthStats, proxy_tokens};
use retain_data::policy::compact_policy;
use retain_data::prompt::PromptStyle;
use retain_data::task_builder::GeneratedTask;
use retain_data::telecom::{self, GeneratedTelecom};
use retain_data::{GeneratorConfig, Split};
use retain_domains::GoldCache;
use retain_domains::episode::{DONE_TOOL, Episode, EpisodeConfig, Mode};
use retain_domains::evaluation::evaluate_episode;
use retain_domains::telecom::TelecomState;
use retain_domains::{ParticipantMessage, ToolCall};

fn state(seed: u64, config: &GeneratorConfig) -> TelecomState {
    telecom::generate_db(&config.telecom, &mut derived_rng(seed, "telecom-db", None, 0)).unwrap()
}

fn domain(s: TelecomState) -> Arc<GeneratedTelecom> {
    let p = compact_policy(Domain::Telecom).to_owned();
    Arc::new(GeneratedTelecom::new(s, p.clone(), p))
}

fn tasks(s: &TelecomState, config: &GeneratorConfig, split: Split, n: usize, seed: u64) -> Vec<GeneratedTask> {
    telecom::generate_tasks(s, config, split, n, seed).unwrap()
}

#[test]
fn deterministic_and_seed_sensitive() {
    let c = GeneratorConfig::default();
    let a = serde_json::to_string(&tasks(&state(1, &c), &c, Split::Train, 40, 9)).unwrap();
    let b = serde_json::to_string(&tasks(&state(1, &c), &c, Split::Train, 40, 9)).unwrap();
    let d = serde_json::to_string(&tasks(&state(1, &c), &c, Split::Train, 40, 10)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, d);
}

fn customer(t: &GeneratedTask) -> String {
    let init = t.task.initial_state.as_ref().unwrap().initialization_actions.as_ref().unwrap();
    init[0].arguments["phone_number"].as_str().unwrap().to_owned()
}

#[test]
fn train_and_test_customers_are_disjoint() {
    let c = GeneratorConfig::default();
    let s = state(2, &c);
    let train: HashSet<String> = tasks(&s, &c, Split::Train, 200, 3).iter().map(customer).collect();
    let test: HashSet<String> = tasks(&s, &c, Split::Test, 100, 3).iter().map(customer).collect();
    assert!(train.is_disjoint(&test));
    assert!(train.len() > 1 && !test.is_empty());
}

#[test]
fn every_gold_trajectory_scores_one_and_every_sub_issue_appears() {
    let mut c = GeneratorConfig::default();
    c.telecom.max_issues = 3;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut lengths = Vec::new();
    for seed in [5u64, 6] {
        let s = state(seed, &c);
        let dom = domain(s.clone());
        let gold = GoldCache::new(Arc::clone(&dom));
        for split in [Split::Train, Split::Test] {
            for t in tasks(&s, &c, split, 200, seed) {
                let demo = demonstrate(&dom, &gold, &t, PromptStyle::new(Domain::Telecom, PolicyText::Compact))
                    .unwrap_or_else(|e| panic!("{}: {e}", t.task.id));
                assert_eq!(demo.reward, 1.0);
                lengths.push(proxy_tokens(&demo.text()));
                let subs = t.family.split(']').nth(1).unwrap();
                for sub in subs.split('|') {
                    *seen.entry(sub.to_owned()).or_default() += 1;
                }
            }
        }
    }
    for f in telecom::tasks::families() {
        assert!(seen.get(f).copied().unwrap_or(0) > 0, "sub-issue {f} never generated: {seen:?}");
    }
    eprintln!("telecom compact episode length (proxy pieces): {:?}", LengthStats::of(&lengths));
}

/// Without the fixes (only `done`), fixable tasks fail; unfixable ones fail without the transfer.
#[test]
fn doing_nothing_fails() {
    let c = GeneratorConfig::default();
    let s = state(8, &c);
    let dom = domain(s.clone());
    let gold = GoldCache::new(Arc::clone(&dom));
    let mut n = 0;
    for t in tasks(&s, &c, Split::Train, 60, 8) {
        let mut ep =
            Episode::start(Arc::clone(&dom), Arc::new(t.task.clone()), EpisodeConfig::new(Mode::Solo), None).unwrap();
        ep.step(ParticipantMessage::calls(vec![ToolCall::assistant(DONE_TOOL, serde_json::Map::new())])).unwrap();
        let eval = evaluate_episode(&ep, &gold).unwrap();
        assert_eq!(eval.reward, 0.0, "{} passes without doing anything", t.task.id);
        n += 1;
    }
    assert_eq!(n, 60);
}

/// The generator also works on τ²'s official telecom database (some lines suspended, bills owed).
#[test]
fn generates_on_the_official_database() {
    use retain_domains::telecom::{TechSupportGuide, Telecom};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tau2/telecom");
    if !dir.join("db.toml").is_file() {
        eprintln!("official data not present at {}; skipped", dir.display());
        return;
    }
    let official = Telecom::load(&dir, TechSupportGuide::Manual).unwrap();
    let s = retain_domains::Domain::initial_state(&official).clone();
    let dom = Arc::new(official);
    let gold = GoldCache::new(Arc::clone(&dom));
    let mut c = GeneratorConfig::default();
    c.telecom.max_issues = 3;
    for split in [Split::Train, Split::Test] {
        for t in tasks(&s, &c, split, 150, 4) {
            let demo = demonstrate(&dom, &gold, &t, PromptStyle::new(Domain::Telecom, PolicyText::Full))
                .unwrap_or_else(|e| panic!("{}: {e}", t.task.id));
            assert_eq!(demo.reward, 1.0);
        }
    }
}
