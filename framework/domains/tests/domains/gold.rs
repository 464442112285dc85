//! Gold replay of every official task must score 1.0.

use std::sync::Arc;

use retain_domains::Domain;
use retain_domains::data::{TaskSet, load_task_set};
use retain_domains::replay::gold_replay;

use super::common::{airline, data_dir, gold, retail, telecom};

fn replay_all<D: Domain>(domain: Arc<D>, set: &str) -> (usize, usize, Vec<String>) {
    let tasks = load_task_set(&data_dir(), domain.name(), &TaskSet::parse(set)).unwrap();
    let cache = gold(&domain);
    let mut failed = Vec::new();
    for task in tasks.iter().cloned().map(Arc::new) {
        let run = gold_replay(&domain, &task, &cache).unwrap();
        if !run.evaluation.success() {
            failed.push(format!("{}: {:?}", task.id, run.evaluation));
        }
    }
    (tasks.len() - failed.len(), tasks.len(), failed)
}

#[test]
fn airline_gold_replay_scores_50_of_50() {
    let (ok, total, failed) = replay_all(airline(), "base");
    assert_eq!((ok, total), (50, 50), "{failed:#?}");
}

#[test]
fn retail_gold_replay_scores_114_of_114() {
    let (ok, total, failed) = replay_all(retail(), "base");
    assert_eq!((ok, total), (114, 114), "{failed:#?}");
}

#[test]
fn telecom_gold_replay_scores_114_of_114_and_small_20_of_20() {
    let (ok, total, failed) = replay_all(telecom(), "base");
    assert_eq!((ok, total), (114, 114), "{:#?}", &failed[..failed.len().min(3)]);
    let (ok, total, failed) = replay_all(telecom(), "small");
    assert_eq!((ok, total), (20, 20), "{:#?}", &failed[..failed.len().min(3)]);
}
