//! Bootstrap intervals: reproducible for a seed, containing the point estimate, and honest about missing trials.

use retain_analysis::analysis::RunAnalysis;
use retain_analysis::bootstrap::{Replicates, pass_k_figure, percentile_interval};
use retain_analysis::cl_metrics::Unavailable;
use retain_analysis::matrix::{AccuracyMatrix, MatrixFile};
use retain_analysis::{BootstrapConfig, Figure, Run};

use crate::common::{close, fixture};

fn config(seed: u64) -> BootstrapConfig {
    BootstrapConfig { replicates: 300, seed, confidence: 0.95 }
}

fn summary_figures(a: &RunAnalysis) -> Vec<(&'static str, Figure)> {
    let s = &a.summary;
    vec![
        ("acc", s.acc),
        ("la", s.la),
        ("bwt", s.bwt),
        ("forgetting", s.forgetting),
        ("relative_forgetting", s.relative_forgetting),
        ("fwt", s.fwt),
        ("intransigence", s.intransigence),
    ]
}

#[test]
fn same_seed_same_intervals_other_seed_other_intervals() {
    let run = Run::load(&fixture("naive")).unwrap();
    let joint = Run::load(&fixture("joint")).unwrap();
    let a = RunAnalysis::compute(&run, Some(&joint), &config(11)).unwrap();
    let b = RunAnalysis::compute(&run, Some(&joint), &config(11)).unwrap();
    assert_eq!(a, b);
    let c = RunAnalysis::compute(&run, Some(&joint), &config(12)).unwrap();
    assert_ne!(a.summary.forgetting.interval(), c.summary.forgetting.interval());
    // The point estimates never depend on the seed.
    assert_eq!(a.summary.forgetting.value(), c.summary.forgetting.value());
}

#[test]
fn every_interval_contains_its_point_estimate() {
    let joint = Run::load(&fixture("joint")).unwrap();
    for name in ["naive", "replay", "joint"] {
        let run = Run::load(&fixture(name)).unwrap();
        let a = RunAnalysis::compute(&run, Some(&joint), &config(5)).unwrap();
        let mut figures = summary_figures(&a);
        for u in &a.per_update {
            figures.extend([("acc_t", u.acc), ("bwt_t", u.bwt), ("f_t", u.forgetting), ("fwt_t", u.fwt)]);
        }
        for d in &a.per_domain {
            figures.extend([("learned", d.learned), ("last", d.last), ("f_i", d.forgetting)]);
        }
        figures.extend(a.pass_k.iter().map(|p| ("pass^k", p.value)));
        figures.extend(a.success_cells.iter().flatten().map(|f| ("cell", *f)));
        for (what, f) in figures {
            let Some(value) = f.value() else { continue };
            let i = f.interval().unwrap_or_else(|| panic!("{name} {what}: no interval"));
            assert!(i.low <= value + 1e-12 && value <= i.high + 1e-12, "{name} {what}: {value} not in {i:?}");
            assert!(i.low <= i.high);
        }
    }
}

#[test]
fn the_known_figures_of_the_naive_fixture() {
    let run = Run::load(&fixture("naive")).unwrap();
    let joint = Run::load(&fixture("joint")).unwrap();
    let a = RunAnalysis::compute(&run, Some(&joint), &config(0)).unwrap();
    // R (from the fixture): before [.2 .15 .1], after airline [.7 .3 .15], after retail [.35 .75 .2],
    // after telecom [.25 .4 .8]; R* = [.75 .8 .85].
    close(a.summary.acc.value().unwrap(), (0.25 + 0.4 + 0.8) / 3.0);
    close(a.summary.la.value().unwrap(), (0.7 + 0.75 + 0.8) / 3.0);
    close(a.summary.bwt.value().unwrap(), ((0.25 - 0.7) + (0.4 - 0.75)) / 2.0);
    close(a.summary.forgetting.value().unwrap(), ((0.7 - 0.25) + (0.75 - 0.4)) / 2.0);
    close(a.summary.fwt.value().unwrap(), ((0.3 - 0.15) + (0.2 - 0.1)) / 2.0);
    close(a.summary.intransigence.value().unwrap(), ((0.75 - 0.7) + (0.8 - 0.75) + (0.85 - 0.8)) / 3.0);
    // Clear forgetting on 20 trials per cell: the interval excludes 0.
    assert!(a.summary.forgetting.interval().unwrap().low > 0.0);
}

#[test]
fn without_trials_there_are_no_intervals_and_the_reason_is_given() {
    let run = Run::load(&fixture("ewc")).unwrap();
    let a = RunAnalysis::compute(&run, None, &config(0)).unwrap();
    assert!(a.summary.acc.value().is_some());
    assert!(a.summary.acc.interval().is_none());
    assert_eq!(a.summary.fwt, Figure::Unavailable(Unavailable::NoRowZero));
    assert_eq!(a.summary.intransigence, Figure::Unavailable(Unavailable::NoReference));
    assert!(a.intervals_note.as_deref().unwrap().contains("per-task"));
    assert!(a.pass_k.is_empty());
}

#[test]
fn replicates_are_valid_matrices_centred_on_the_data() {
    let run = Run::load(&fixture("replay")).unwrap();
    let reps = Replicates::draw(&run.matrix, &config(3), 0).unwrap();
    assert_eq!(reps.matrices.len(), 300);
    let point = run.matrix.success();
    for m in &reps.matrices {
        assert_eq!(m.after.len(), point.after.len());
        assert!(m.before.is_some());
        assert!(m.after.iter().flatten().all(|v| (0.0..=1.0).contains(v)));
    }
    let mean = reps.matrices.iter().map(|m| m.after[2][2]).sum::<f64>() / 300.0;
    assert!((mean - point.after[2][2]).abs() < 0.03, "{mean} vs {}", point.after[2][2]);
}

#[test]
fn certain_outcomes_give_a_degenerate_interval() {
    let file: MatrixFile = serde_json::from_value(serde_json::json!({
        "format_version": 1,
        "domains": ["a", "b"],
        "rows": [
            {"index": 1, "after": "a", "global_step": 5, "cells": {
                "a": {"success": 1.0, "mean_reward": 1.0, "trials": 2, "per_task": {"t1": [1, 1], "t2": [1, 1]}},
                "b": {"success": 0.0, "mean_reward": 0.0, "trials": 2, "per_task": {"u1": [0, 0], "u2": [0, 0]}}}},
            {"index": 2, "after": "b", "global_step": 10, "cells": {
                "a": {"success": 0.5, "mean_reward": 0.5, "trials": 2, "per_task": {"t1": [1, 1], "t2": [0, 0]}},
                "b": {"success": 1.0, "mean_reward": 1.0, "trials": 2, "per_task": {"u1": [1, 1], "u2": [1, 1]}}}}
        ]
    }))
    .unwrap();
    let matrix = AccuracyMatrix::from_file(file).unwrap();
    let reps = Replicates::draw(&matrix, &config(0), 0).unwrap();
    // Domain b is certain in both rows; domain a after b depends on which tasks are drawn.
    assert!(reps.matrices.iter().all(|m| m.after[0][1] == 0.0 && m.after[1][1] == 1.0));
    assert!(reps.matrices.iter().any(|m| m.after[1][0] != 0.5));
    let all_pass = pass_k_figure(&matrix.after[1].cells[1].tasks.clone().unwrap(), 2, &config(0), 9);
    assert_eq!(
        all_pass,
        Figure::Value { value: 1.0, interval: Some(retain_analysis::Interval { low: 1.0, high: 1.0 }) }
    );
}

#[test]
fn percentile_interval_by_hand() {
    let mut values: Vec<f64> = (0..=100).map(f64::from).collect();
    values.reverse();
    let i = percentile_interval(&mut values, 0.9);
    close(i.low, 5.0);
    close(i.high, 95.0);
}

#[test]
fn zero_replicates_turn_intervals_off() {
    let run = Run::load(&fixture("naive")).unwrap();
    let a = RunAnalysis::compute(&run, None, &BootstrapConfig { replicates: 0, seed: 0, confidence: 0.95 }).unwrap();
    assert!(a.summary.acc.interval().is_none());
    assert!(a.intervals_note.as_deref().unwrap().contains("turned off"));
}
