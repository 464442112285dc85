//! Sampling: seeded, deterministic, and with the distributions each strategy promises (checked statistically with
//! fixed seeds, so the checks are exact and repeatable).

use std::collections::BTreeMap;

use retain_buffers::{BufferReader, Record, RecordFilter, SampleStrategy, sample, sample_ids};

use super::common::{records, small_blocks, write};

fn buffer(dir: &tempfile::TempDir, name: &str, all: &[Record]) -> BufferReader {
    let path = dir.path().join(name);
    write(&path, all, small_blocks(false));
    BufferReader::open(&path).unwrap()
}

/// Pearson's chi-square statistic of observed counts against a uniform expectation.
fn chi_square(counts: &[u64]) -> f64 {
    let expected = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
    counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum()
}

#[test]
fn reservoir_and_uniform_select_every_record_equally_often() {
    let dir = tempfile::tempdir().unwrap();
    let all = records(30, 21, false);
    let mut reader = buffer(&dir, "uniform.rtb", &all);
    for strategy in [SampleStrategy::Reservoir, SampleStrategy::Uniform] {
        let mut counts = vec![0u64; all.len()];
        for seed in 0..1500 {
            let ids = sample_ids(&mut reader, 6, strategy, &RecordFilter::default(), seed).unwrap();
            assert_eq!(ids.len(), 6);
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "distinct, sorted ids");
            for id in ids {
                counts[id as usize] += 1;
            }
        }
        // 29 degrees of freedom: P(chi² > 58.3) ≈ 0.001. A sampler favouring the first or last records fails.
        let statistic = chi_square(&counts);
        assert!(statistic < 58.3, "{strategy:?}: chi² = {statistic}, counts {counts:?}");
        let first_half: u64 = counts[..15].iter().sum();
        assert!((first_half as f64 / 9000.0 - 0.5).abs() < 0.03, "{strategy:?}: {first_half}");
    }
}

#[test]
fn reservoir_with_a_filter_is_uniform_over_matching_records() {
    let dir = tempfile::tempdir().unwrap();
    let all = records(60, 22, false);
    let mut reader = buffer(&dir, "filtered.rtb", &all);
    let filter = RecordFilter::default().domain("retail");
    let matching: Vec<u64> = (0..60).filter(|&i| all[i as usize].domain == "retail").collect();
    let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
    for seed in 0..1000 {
        for id in sample_ids(&mut reader, 5, SampleStrategy::Uniform, &filter, seed).unwrap() {
            *counts.entry(id).or_default() += 1;
        }
    }
    assert_eq!(counts.keys().copied().collect::<Vec<_>>(), matching);
    let statistic = chi_square(&counts.values().copied().collect::<Vec<_>>());
    assert!(statistic < 45.3, "chi² = {statistic} with 19 degrees of freedom");
}

#[test]
fn balanced_takes_equal_shares_per_domain() {
    let dir = tempfile::tempdir().unwrap();
    // 3 telecom records only, the rest split between airline and retail.
    let mut all = records(90, 23, false);
    let mut telecom = 0;
    all.retain(|r| {
        telecom += usize::from(r.domain == "telecom");
        r.domain != "telecom" || telecom <= 3
    });
    let mut reader = buffer(&dir, "balanced.rtb", &all);
    for seed in 0..20 {
        let sampled = sample(&mut reader, 30, SampleStrategy::Balanced, &RecordFilter::default(), seed).unwrap();
        let mut per_domain: BTreeMap<&str, usize> = BTreeMap::new();
        for stored in &sampled {
            assert_eq!(stored.record, all[stored.id as usize]);
            *per_domain.entry(stored.record.domain.as_str()).or_default() += 1;
        }
        assert_eq!(per_domain, BTreeMap::from([("airline", 14), ("retail", 13), ("telecom", 3)]));
    }
    // Within a domain the choice is uniform.
    let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
    for seed in 0..600 {
        for id in sample_ids(&mut reader, 6, SampleStrategy::Balanced, &RecordFilter::default(), seed).unwrap() {
            if all[id as usize].domain == "airline" {
                *counts.entry(id).or_default() += 1;
            }
        }
    }
    assert_eq!(counts.len(), 30);
    let statistic = chi_square(&counts.values().copied().collect::<Vec<_>>());
    assert!(statistic < 58.3, "chi² = {statistic} with 29 degrees of freedom");
}

#[test]
fn high_reward_and_recent_pick_what_they_say() {
    let dir = tempfile::tempdir().unwrap();
    let all = records(80, 24, false);
    let mut reader = buffer(&dir, "greedy.rtb", &all);
    let sampled = sample(&mut reader, 10, SampleStrategy::HighReward, &RecordFilter::default(), 7).unwrap();
    let mut rewards: Vec<f64> = all.iter().map(|r| r.reward).collect();
    rewards.sort_by(|a, b| b.total_cmp(a));
    let mut got: Vec<f64> = sampled.iter().map(|s| s.record.reward).collect();
    got.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(got, rewards[..10]);

    let recent = sample_ids(&mut reader, 12, SampleStrategy::Recent, &RecordFilter::default(), 0).unwrap();
    assert_eq!(recent, (68..80).collect::<Vec<u64>>());
    let filter = RecordFilter::default().domain("airline");
    let recent = sample_ids(&mut reader, 4, SampleStrategy::Recent, &filter, 0).unwrap();
    let expected: Vec<u64> = (0..80u64).filter(|&i| all[i as usize].domain == "airline").collect();
    assert_eq!(recent, expected[expected.len() - 4..]);
}

#[test]
fn high_reward_breaks_ties_at_random() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = records(20, 25, false);
    for record in &mut all {
        record.reward = 1.0;
    }
    let mut reader = buffer(&dir, "ties.rtb", &all);
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..50 {
        seen.extend(sample_ids(&mut reader, 2, SampleStrategy::HighReward, &RecordFilter::default(), seed).unwrap());
    }
    assert!(seen.len() > 15, "ties should not always resolve to the same records: {seen:?}");
}

#[test]
fn same_seed_same_sample_and_small_buffers_return_everything() {
    let dir = tempfile::tempdir().unwrap();
    let all = records(25, 26, false);
    let mut reader = buffer(&dir, "seeded.rtb", &all);
    for (_, strategy) in SampleStrategy::ALL {
        let a = sample_ids(&mut reader, 7, strategy, &RecordFilter::default(), 42).unwrap();
        let b = sample_ids(&mut reader, 7, strategy, &RecordFilter::default(), 42).unwrap();
        assert_eq!(a, b, "{strategy:?}");
        let everything = sample_ids(&mut reader, 100, strategy, &RecordFilter::default(), 1).unwrap();
        assert_eq!(everything, (0..25).collect::<Vec<u64>>(), "{strategy:?}");
        assert!(sample_ids(&mut reader, 0, strategy, &RecordFilter::default(), 1).unwrap().is_empty());
    }
    let a = sample_ids(&mut reader, 7, SampleStrategy::Reservoir, &RecordFilter::default(), 1).unwrap();
    let b = sample_ids(&mut reader, 7, SampleStrategy::Reservoir, &RecordFilter::default(), 2).unwrap();
    assert_ne!(a, b);
}
