//! Multi-turn sessions: continuing a conversation from the KV cache gives what decoding its whole history
//! from scratch gives, whatever the other rows of the batch do.

use retain_model::{FinishReason, TurnSession};

use super::common::{ids, tiny_model};
use super::sampling::{greedy_cfg as greedy, uncached_greedy};

#[test]
fn multi_turn_continuation_equals_decoding_the_whole_history() {
    let model = tiny_model(true, 31);
    let prompts = [ids(1, 11, 97), ids(2, 4, 97), ids(3, 7, 97)];
    let observations = [ids(4, 9, 97), ids(5, 2, 97), ids(6, 13, 97)];
    let limits = [6usize, 3, 8];
    let starts = prompts.iter().enumerate().map(|(k, p)| (k, p.clone(), k as u64)).collect();
    let mut session = TurnSession::new(&model, greedy(), starts).unwrap();
    let mut histories: Vec<Vec<u32>> = prompts.to_vec();
    for turn in 0..3 {
        let out = session.generate_turn(|k| limits[k] + turn, None).unwrap();
        assert_eq!(out.len(), session.keys().len());
        for (key, completion) in &out {
            let (expected, logprobs) = uncached_greedy(&model, &histories[*key], limits[*key] + turn);
            assert_eq!(completion.tokens, expected, "conversation {key}, turn {turn}");
            assert_eq!(completion.finish_reason, FinishReason::Length);
            for (a, b) in completion.logprobs.iter().zip(&logprobs) {
                assert!((a - b).abs() < 1e-4, "conversation {key}, turn {turn}: log-prob {a} vs {b}");
            }
            histories[*key].extend(&completion.tokens);
            histories[*key].extend(&observations[*key]);
        }
        for key in session.keys() {
            session.push_tokens(key, &observations[key]).unwrap();
        }
        if turn == 1 {
            // Conversation 1 ends; the others continue without it.
            session.remove(&[1]).unwrap();
            assert_eq!(session.keys(), vec![0, 2]);
        }
    }
}

#[test]
fn a_turn_without_new_tokens_and_out_of_vocabulary_tokens_are_errors() {
    let model = tiny_model(false, 32);
    let mut session = TurnSession::new(&model, greedy(), vec![(7, ids(1, 5, 97), 0)]).unwrap();
    session.generate_turn(|_| 2, None).unwrap();
    // The last generated token is pending, so a second turn is allowed without an observation.
    session.generate_turn(|_| 2, None).unwrap();
    let err = session.push_tokens(7, &[u32::MAX]).unwrap_err().to_string();
    assert!(err.contains("vocab_size"), "{err}");
    let err = session.push_tokens(8, &[1]).unwrap_err().to_string();
    assert!(err.contains("no conversation 8"), "{err}");
}
