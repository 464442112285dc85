//! Generation: KV-cached equals uncached greedy, per-sample seeding, stops, limits.

use retain_model::sampling::{argmax, log_prob};
use retain_model::{FinishReason, GenerationConfig, GenerationRequest, Mode, SamplingConfig, generate};

use super::common::{full_logits, ids, tiny_model};

/// Greedy decoding by re-running the whole sequence each step (no cache, no padding), with each token's log-prob.
pub fn uncached_greedy(model: &retain_model::Qwen2, prompt: &[u32], n: usize) -> (Vec<u32>, Vec<f32>) {
    let mut seq = prompt.to_vec();
    let mut logprobs = Vec::new();
    for _ in 0..n {
        let logits = full_logits(model, &seq, Mode::Train { dropout_seed: 0 });
        let t = seq.len();
        let last = logits.squeeze(0).unwrap().get(t - 1).unwrap().to_vec1::<f32>().unwrap();
        let token = argmax(&last);
        logprobs.push(log_prob(&last, token));
        seq.push(token);
    }
    (seq[prompt.len()..].to_vec(), logprobs)
}

/// Greedy decoding without stop ids (the reference setting of these tests).
pub fn greedy_cfg() -> GenerationConfig {
    GenerationConfig {
        sampling: SamplingConfig::greedy(),
        stop_strings: vec![],
        eos_token_ids: vec![],
        pad_token_id: 0,
    }
}

#[test]
fn cached_batched_greedy_equals_uncached_greedy() {
    let model = tiny_model(true, 21);
    let prompts = [ids(1, 9, 97), ids(2, 3, 97), ids(3, 14, 97)];
    let requests: Vec<GenerationRequest> = prompts
        .iter()
        .enumerate()
        .map(|(i, p)| GenerationRequest { prompt: p.clone(), max_new_tokens: 12 - 2 * i, seed: i as u64 })
        .collect();
    let out = generate(&model, &requests, &greedy_cfg(), None).unwrap();
    for (r, c) in requests.iter().zip(&out) {
        let (tokens, logprobs) = uncached_greedy(&model, &r.prompt, r.max_new_tokens);
        assert_eq!(c.tokens, tokens);
        assert_eq!(c.finish_reason, FinishReason::Length);
        // Same distributions, not just the same argmax: padding and the cache change nothing.
        for (a, b) in c.logprobs.iter().zip(&logprobs) {
            assert!((a - b).abs() < 1e-4, "cached log-prob {a} vs uncached {b}");
        }
    }
}

#[test]
fn per_sample_seeding_is_independent_of_the_batch() {
    let model = tiny_model(false, 22);
    let cfg =
        GenerationConfig { sampling: SamplingConfig { temperature: 1.5, top_p: 0.95, top_k: 40 }, ..greedy_cfg() };
    let target = GenerationRequest { prompt: ids(7, 6, 97), max_new_tokens: 20, seed: 1234 };
    let alone = generate(&model, std::slice::from_ref(&target), &cfg, None).unwrap();
    let others = [
        GenerationRequest { prompt: ids(8, 15, 97), max_new_tokens: 5, seed: 1 },
        target.clone(),
        GenerationRequest { prompt: ids(9, 2, 97), max_new_tokens: 30, seed: 2 },
    ];
    let batched = generate(&model, &others, &cfg, None).unwrap();
    assert_eq!(alone[0].tokens, batched[1].tokens);
    // A different seed gives a different sample (so the seed really drives the randomness).
    let reseeded = GenerationRequest { seed: 999, ..target };
    let other = generate(&model, &[reseeded], &cfg, None).unwrap();
    assert_ne!(alone[0].tokens, other[0].tokens);
}

#[test]
fn eos_stops_a_sequence_and_keeps_the_token() {
    let model = tiny_model(true, 23);
    let request = GenerationRequest { prompt: ids(4, 5, 97), max_new_tokens: 10, seed: 0 };
    let free = generate(&model, std::slice::from_ref(&request), &greedy_cfg(), None).unwrap();
    let eos = free[0].tokens[3];
    let first = free[0].tokens.iter().position(|t| *t == eos).unwrap();
    let cfg = GenerationConfig { eos_token_ids: vec![eos], ..greedy_cfg() };
    let stopped = generate(&model, &[request], &cfg, None).unwrap();
    assert_eq!(stopped[0].finish_reason, FinishReason::Eos);
    assert_eq!(stopped[0].tokens, free[0].tokens[..=first]);
}

#[test]
fn zero_budget_and_bad_requests() {
    let model = tiny_model(true, 24);
    let out =
        generate(&model, &[GenerationRequest { prompt: vec![5], max_new_tokens: 0, seed: 0 }], &greedy_cfg(), None)
            .unwrap();
    assert!(out[0].tokens.is_empty());
    let err =
        generate(&model, &[GenerationRequest { prompt: vec![], max_new_tokens: 3, seed: 0 }], &greedy_cfg(), None)
            .unwrap_err();
    assert!(err.to_string().contains("empty prompt"));
    let err =
        generate(&model, &[GenerationRequest { prompt: vec![500], max_new_tokens: 3, seed: 0 }], &greedy_cfg(), None)
            .unwrap_err();
    assert!(err.to_string().contains("vocab_size"));
}
