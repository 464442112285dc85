//! Losses and their statistics on hand-made batches whose values are computed by hand.

// Test helpers panic on malformed fixtures by design.
#![allow(clippy::unwrap_used)]

use candle_core::{Device, Tensor, Var};
use retain_config::LossAggregation;
use retain_trainer::loss::{
    Aggregation, ClipConfig, LossError, TokenBatch, a_star_po_loss, aggregate, clipped_policy_loss, k3_kl, sft_loss,
    weighted_sft_loss,
};

fn t2(rows: &[&[f32]]) -> Tensor {
    let cols = rows[0].len();
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec(flat, (rows.len(), cols), &Device::Cpu).unwrap()
}

fn t1(values: &[f32]) -> Tensor {
    Tensor::new(values, &Device::Cpu).unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.to_scalar::<f32>().unwrap() as f64
}

fn agg(kind: LossAggregation) -> Aggregation {
    Aggregation { kind, max_completion_length: 3, global_active_tokens: None, accumulation_steps: 1 }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-5
}

#[test]
fn each_aggregation_by_hand() {
    let per_token = t2(&[&[1.0, 2.0, 3.0], &[4.0, 0.0, 0.0]]);
    let mask = t2(&[&[1.0, 1.0, 0.0], &[1.0, 0.0, 0.0]]);
    // grpo: mean of per-row means (1+2)/2 = 1.5 and 4/1 = 4.
    assert!(close(scalar(&aggregate(&per_token, &mask, &agg(LossAggregation::Grpo)).unwrap()), 2.75));
    // bnpo: all active tokens, 7 / 3.
    assert!(close(scalar(&aggregate(&per_token, &mask, &agg(LossAggregation::Bnpo)).unwrap()), 7.0 / 3.0));
    // dr_grpo: 7 / (B = 2 × L = 3).
    assert!(close(scalar(&aggregate(&per_token, &mask, &agg(LossAggregation::DrGrpo)).unwrap()), 7.0 / 6.0));
    // dapo: local count without a global one, the global count with it; accumulation does not divide it.
    assert!(close(scalar(&aggregate(&per_token, &mask, &agg(LossAggregation::Dapo)).unwrap()), 7.0 / 3.0));
    let global = Aggregation { global_active_tokens: Some(10.0), accumulation_steps: 2, ..agg(LossAggregation::Dapo) };
    assert!(close(scalar(&aggregate(&per_token, &mask, &global).unwrap()), 0.7));
    // The others divide by the accumulation steps.
    let halved = Aggregation { accumulation_steps: 2, ..agg(LossAggregation::Grpo) };
    assert!(close(scalar(&aggregate(&per_token, &mask, &halved).unwrap()), 1.375));
}

#[test]
fn on_policy_ratio_is_one_and_gradient_is_minus_advantage() {
    let logp = Var::from_tensor(&t2(&[&[-1.0, -2.0, -0.5], &[-0.1, -3.0, -1.0]])).unwrap();
    let old = logp.as_tensor().detach();
    let mask = t2(&[&[1.0, 1.0, 0.0], &[1.0, 1.0, 1.0]]);
    let advantages = t1(&[0.5, -1.0]);
    let batch =
        TokenBatch { logp: logp.as_tensor(), old_logp: &old, ref_logp: None, mask: &mask, advantages: &advantages };
    let clip = ClipConfig { eps_low: 0.2, eps_high: 0.2, kl_coef: 0.0 };
    let out = clipped_policy_loss(&batch, &clip, &agg(LossAggregation::Bnpo)).unwrap();
    assert_eq!(out.ratio_mean, 1.0);
    assert_eq!((out.clip_low, out.clip_high, out.clip_region), (0.0, 0.0, 0.0));
    assert_eq!(out.kl, 0.0);
    // Loss = −Σ m·A / N = −(2·0.5 + 3·(−1)) / 5 = 0.4.
    assert!(close(scalar(&out.loss), 0.4), "{}", scalar(&out.loss));
    let grads = out.loss.backward().unwrap();
    let g = grads.get(logp.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
    assert!(close(g[0][0] as f64, -0.5 / 5.0) && close(g[1][2] as f64, 1.0 / 5.0), "{g:?}");
    assert_eq!(g[0][2], 0.0, "masked tokens get no gradient");
}

#[test]
fn clipping_binds_only_on_the_side_of_the_advantage() {
    // Ratios e^{0.5} ≈ 1.65 (above 1.2) and e^{−0.5} ≈ 0.61 (below 0.8) for both signs of the advantage.
    let logp = Var::from_tensor(&t2(&[&[0.5, -0.5], &[0.5, -0.5]])).unwrap();
    let old = t2(&[&[0.0, 0.0], &[0.0, 0.0]]);
    let mask = t2(&[&[1.0, 1.0], &[1.0, 1.0]]);
    let advantages = t1(&[1.0, -1.0]);
    let batch =
        TokenBatch { logp: logp.as_tensor(), old_logp: &old, ref_logp: None, mask: &mask, advantages: &advantages };
    let clip = ClipConfig { eps_low: 0.2, eps_high: 0.2, kl_coef: 0.0 };
    let out = clipped_policy_loss(&batch, &clip, &agg(LossAggregation::Bnpo)).unwrap();
    // High clip binds for A > 0 at ratio 1.65 (token [0][0]); low clip for A < 0 at ratio 0.61 (token [1][1]).
    assert!(close(out.clip_high, 0.25) && close(out.clip_low, 0.25) && close(out.clip_region, 0.5));
    let g = out.loss.backward().unwrap().get(logp.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(g[0][0], 0.0, "clipped token (A > 0, ratio high) has no gradient");
    assert_eq!(g[1][1], 0.0, "clipped token (A < 0, ratio low) has no gradient");
    assert!(g[0][1] < 0.0 && g[1][0] > 0.0, "unclipped tokens move with the advantage: {g:?}");
}

#[test]
fn k3_expectation_is_the_exact_kl() {
    let p = [0.1f64, 0.2, 0.3, 0.4];
    let q = [0.25f64, 0.25, 0.4, 0.1];
    let logp = t2(&[&p.map(|x| x.ln() as f32)]);
    let logq = t2(&[&q.map(|x| x.ln() as f32)]);
    let k3 = k3_kl(&logp, &logq).unwrap().to_vec2::<f32>().unwrap();
    let expectation: f64 = p.iter().zip(&k3[0]).map(|(pi, k)| pi * *k as f64).sum();
    let exact: f64 = p.iter().zip(&q).map(|(pi, qi)| pi * (pi / qi).ln()).sum();
    assert!(close(expectation, exact), "{expectation} vs {exact}");
    assert!(k3[0].iter().all(|&k| k >= 0.0));
}

#[test]
fn kl_term_is_added_with_its_coefficient() {
    let logp = t2(&[&[-1.0, -2.0]]);
    let reference = t2(&[&[-1.5, -1.0]]);
    let mask = t2(&[&[1.0, 1.0]]);
    let zero = t1(&[0.0]);
    let batch = TokenBatch { logp: &logp, old_logp: &logp, ref_logp: Some(&reference), mask: &mask, advantages: &zero };
    let clip = ClipConfig { eps_low: 0.2, eps_high: 0.2, kl_coef: 0.1 };
    let out = clipped_policy_loss(&batch, &clip, &agg(LossAggregation::Bnpo)).unwrap();
    let k3 = |d: f64| d.exp() - d - 1.0;
    let kl = (k3(-0.5) + k3(1.0)) / 2.0;
    assert!(close(out.kl, kl));
    assert!(close(scalar(&out.loss), 0.1 * kl));
    let missing = TokenBatch { ref_logp: None, ..batch };
    assert!(matches!(clipped_policy_loss(&missing, &clip, &agg(LossAggregation::Bnpo)), Err(LossError::Shape(_))));
}

#[test]
fn weighted_sft_and_sft_by_hand() {
    let logp = t2(&[&[-1.0, -2.0], &[-0.5, -4.0]]);
    let mask = t2(&[&[1.0, 1.0], &[1.0, 0.0]]);
    let weights = t1(&[2.0, 0.1]);
    let batch = TokenBatch { logp: &logp, old_logp: &logp, ref_logp: None, mask: &mask, advantages: &weights };
    let out = weighted_sft_loss(&batch, 0.0, &agg(LossAggregation::Bnpo)).unwrap();
    // (2·1 + 2·2 + 0.1·0.5) / 3.
    assert!(close(scalar(&out.loss), (2.0 + 4.0 + 0.05) / 3.0));
    assert!(close(scalar(&sft_loss(&logp, &mask).unwrap()), 3.5 / 3.0));
}

#[test]
fn a_star_po_loss_by_hand() {
    let logp = t2(&[&[-1.0, -1.0], &[-2.0, -9.0]]);
    let reference = t2(&[&[-1.5, -1.5], &[-1.0, -9.0]]);
    let mask = t2(&[&[1.0, 1.0], &[1.0, 0.0]]);
    let targets = t1(&[0.28, -0.72]);
    let loss = a_star_po_loss(&logp, &reference, &mask, &targets, 0.5).unwrap();
    // Row 0: 0.5·(−2 + 3) − 0.28 = 0.22; row 1: 0.5·(−2 + 1) + 0.72 = 0.22.
    assert!(close(scalar(&loss), 0.22f64.powi(2)));
}

#[test]
fn mismatched_shapes_are_errors() {
    let logp = t2(&[&[-1.0, -2.0]]);
    let mask = t2(&[&[1.0, 1.0, 1.0]]);
    let adv = t1(&[1.0]);
    let batch = TokenBatch { logp: &logp, old_logp: &logp, ref_logp: None, mask: &mask, advantages: &adv };
    let clip = ClipConfig { eps_low: 0.2, eps_high: 0.2, kl_coef: 0.0 };
    let err = clipped_policy_loss(&batch, &clip, &agg(LossAggregation::Grpo)).unwrap_err();
    assert!(err.to_string().contains("mask"), "{err}");
}
