//! The benches run the real workloads and report consistent figures (tiny shapes here; full shapes via the CLI).

use retain_model::bench::{GenerateBenchConfig, TrainBenchConfig, bench_generate, bench_train};

#[test]
fn benches_report_consistent_throughput() {
    let g = bench_generate(&GenerateBenchConfig {
        batch: 2,
        prompt_tokens: 4,
        new_tokens: 3,
        threads: Some(1),
        repeats: 1,
        seed: 1,
    })
    .unwrap();
    assert_eq!(g.threads, 1);
    assert!((g.tokens_per_second * g.seconds - 6.0).abs() < 1e-6);
    let t = bench_train(&TrainBenchConfig { batch: 2, seq_len: 8, threads: Some(1), steps: 2, seed: 1 }).unwrap();
    assert_eq!(t.losses.len(), 2);
    assert!(t.losses.iter().all(|l| l.is_finite() && *l > 0.0));
    assert!((t.tokens_per_second * t.seconds_per_step - 16.0).abs() < 1e-6);
    assert!(bench_train(&TrainBenchConfig { seq_len: 1, ..TrainBenchConfig::default() }).is_err());
}
