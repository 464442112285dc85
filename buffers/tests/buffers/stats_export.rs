//! Statistics and export agree with a brute-force computation over the records; filters select exactly the
//! matching records; the benchmark runs end to end.

use std::collections::BTreeMap;

use retain_buffers::bench::{BenchConfig, run};
use retain_buffers::{BufferReader, Record, RecordFilter, export_jsonl_to_path, statistics};

use super::common::{read_all, records, small_blocks, write};

#[test]
fn statistics_match_a_brute_force_computation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.rtb");
    let all = records(120, 31, true);
    write(&path, &all, small_blocks(true));
    let mut reader = BufferReader::open(&path).unwrap();
    let stats = statistics(&mut reader, &RecordFilter::default()).unwrap();
    assert_eq!(stats.records, 120);
    assert_eq!(stats.overall.count, 120);
    assert!(stats.file_bytes < stats.uncompressed_bytes);
    assert_eq!(stats.domains.keys().cloned().collect::<Vec<_>>(), ["airline", "retail", "telecom"]);
    for (domain, domain_stats) in &stats.domains {
        let mine: Vec<&Record> = all.iter().filter(|r| &r.domain == domain).collect();
        let n = mine.len() as f64;
        assert_eq!(domain_stats.count, mine.len() as u64);
        let successes = mine.iter().filter(|r| r.success).count();
        assert_eq!(domain_stats.successes, successes as u64);
        assert!((domain_stats.success_rate - successes as f64 / n).abs() < 1e-12);
        let mean = mine.iter().map(|r| r.reward).sum::<f64>() / n;
        let std = (mine.iter().map(|r| (r.reward - mean).powi(2)).sum::<f64>() / n).sqrt();
        let reward = domain_stats.reward.unwrap();
        assert!((reward.mean - mean).abs() < 1e-9 && (reward.std - std).abs() < 1e-9);
        assert_eq!(reward.min, mine.iter().map(|r| r.reward).fold(f64::INFINITY, f64::min));
        assert_eq!(reward.max, mine.iter().map(|r| r.reward).fold(f64::NEG_INFINITY, f64::max));
        let messages = mine.iter().map(|r| r.messages.len() as f64).sum::<f64>() / n;
        assert!((domain_stats.messages.unwrap().mean - messages).abs() < 1e-9);
        assert!(domain_stats.tokens.is_some());
        let mut termination: BTreeMap<String, u64> = BTreeMap::new();
        let mut failures: BTreeMap<String, u64> = BTreeMap::new();
        for record in &mine {
            *termination.entry(record.termination.as_str().to_owned()).or_default() += 1;
            for mode in &record.failure_modes {
                *failures.entry(mode.clone()).or_default() += 1;
            }
        }
        assert_eq!(domain_stats.termination, termination);
        assert_eq!(domain_stats.failure_modes, failures);
        assert_eq!(domain_stats.reward_components.len(), 3);
    }
    let filtered = statistics(&mut reader, &RecordFilter::default().domain("retail")).unwrap();
    assert_eq!(filtered.domains.len(), 1);
    assert_eq!(filtered.overall, stats.domains["retail"]);
}

#[test]
fn export_and_iteration_filters_select_exactly_the_matching_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.rtb");
    let all = records(150, 32, false);
    write(&path, &all, small_blocks(false));
    let mut reader = BufferReader::open(&path).unwrap();
    let filters = [
        RecordFilter::default(),
        RecordFilter::default().reward_range(Some(0.7), None),
        RecordFilter::default().reward_range(Some(0.7), None).domain("airline"),
        RecordFilter::default().reward_range(Some(0.2), Some(0.9)),
        RecordFilter::default().step_range(Some(3), Some(5)),
        RecordFilter::default().step_range(None, Some(0)),
        RecordFilter::default().success(false).domain("telecom"),
        RecordFilter::default().domain("no-such-domain"),
    ];
    for (i, filter) in filters.iter().enumerate() {
        let expected: Vec<(u64, &Record)> =
            all.iter().enumerate().filter(|(_, r)| filter.matches_record(r)).map(|(id, r)| (id as u64, r)).collect();
        let iterated: Vec<_> = reader.iter_filtered(filter.clone()).map(Result::unwrap).collect();
        assert_eq!(iterated.iter().map(|s| (s.id, &s.record)).collect::<Vec<_>>(), expected, "filter {filter:?}");
        let out = dir.path().join(format!("out-{i}.jsonl"));
        let summary = export_jsonl_to_path(&mut reader, filter, &out).unwrap();
        assert_eq!(summary.records, expected.len() as u64);
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(summary.bytes, text.len() as u64);
        let ids: Vec<u64> = text
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, expected.iter().map(|(id, _)| *id).collect::<Vec<_>>());
        assert!(!dir.path().join(format!("out-{i}.jsonl.tmp")).exists());
    }
    // The seeds' export_trajectories(min_reward=0.7) keeps a strict subset here.
    let kept = all.iter().filter(|r| r.reward >= 0.7).count();
    assert!(0 < kept && kept < all.len());
    assert_eq!(read_all(&mut reader), all);
}

#[test]
fn bench_runs_end_to_end_and_compresses() {
    let dir = tempfile::tempdir().unwrap();
    for with_tokens in [false, true] {
        let config = BenchConfig {
            records: 300,
            seed: 1,
            with_tokens,
            writer: retain_buffers::WriterConfig::default(),
            dir: dir.path().to_path_buf(),
            random_gets: 20,
        };
        let report = run(&config).unwrap();
        assert_eq!(report.records, 300);
        assert!(report.size_ratio > 4.0, "{report:?}");
        assert!(report.buffer_read.records_per_s > 0.0 && report.jsonl_read.records_per_s > 0.0);
    }
}
