//! Rollouts: mixed-domain batches run each task in its own environment, and an on-policy update has ratio
//! exactly 1.

use retain_config::{Algorithm, Domain, TrainerConfig};
use retain_model::{AdamW, AdamWConfig, SamplingConfig};
use retain_trainer::extras::StepExtras;
use retain_trainer::update::{UpdateInput, policy_update};
use retain_trainer::{EpisodeSpec, RolloutLimits, run_episodes};

use super::common::domains_and_policy;

const LIMITS: RolloutLimits = RolloutLimits { max_turns: 3, max_new_tokens: 40, max_episode_tokens: 700 };

#[test]
fn a_mixed_domain_batch_runs_every_task_in_its_own_environment() {
    let (domains, policy) = domains_and_policy();
    let specs: Vec<EpisodeSpec<'_>> =
        (0..6).map(|k| EpisodeSpec { domain: k % 3, task: &domains[k % 3].train[k / 3], seed: k as u64 }).collect();
    let sampling = SamplingConfig { temperature: 1.0, top_p: 1.0, top_k: 0 };
    let rollouts = run_episodes(&policy, &domains, &specs, &sampling, &LIMITS).unwrap();
    for (spec, rollout) in specs.iter().zip(&rollouts) {
        let own = &domains[spec.domain];
        assert_eq!(rollout.domain, own.domain);
        assert_eq!(rollout.task.id, spec.task.task.id);
        assert!(own.train.iter().any(|t| t.task.id == rollout.task.id));
        // The evaluation ran against this domain's gold state: the same episode evaluated by another domain's
        // environment is refused.
        let other = &domains[(spec.domain + 1) % 3];
        let mut episode = own.env.start(std::sync::Arc::clone(&rollout.task), 6).unwrap();
        episode.abort(retain_domains::TerminationReason::MaxSteps);
        assert!(own.env.evaluate(&episode).is_ok());
        let err = other.env.evaluate(&episode).unwrap_err().to_string();
        assert!(err.contains("belongs to another domain"), "{err}");
    }
    let names: Vec<Domain> = rollouts.iter().map(|r| r.domain).collect();
    assert_eq!(names, [Domain::Airline, Domain::Retail, Domain::Telecom].repeat(2));
}

#[test]
fn an_on_policy_update_has_ratio_one_and_clips_nothing() {
    let (domains, mut policy) = domains_and_policy();
    let specs: Vec<EpisodeSpec<'_>> =
        (0..4).map(|k| EpisodeSpec { domain: k % 2, task: &domains[k % 2].train[k], seed: 70 + k as u64 }).collect();
    let sampling = SamplingConfig { temperature: 1.0, top_p: 1.0, top_k: 0 };
    let rollouts = run_episodes(&policy, &domains, &specs, &sampling, &LIMITS).unwrap();
    let refs: Vec<&_> = rollouts.iter().map(|r| &r.tokens).collect();
    let reference = policy.frozen_copy().unwrap();
    let config =
        TrainerConfig { algorithm: Algorithm::Grpo, kl_coef: 0.1, num_iterations: 1, ..TrainerConfig::default() };
    let mut optimizer = AdamW::new(AdamWConfig::default());
    // Deep copies: the optimiser updates the variables in place.
    let before: std::collections::BTreeMap<String, candle_core::Tensor> =
        policy.model.merged_tensors().unwrap().into_iter().map(|(k, v)| (k, v.copy().unwrap())).collect();
    let input = UpdateInput { sequences: &refs, weights: &[1.0, -1.0, 0.5, -0.5], learning_rate: 1e-3, seed: 1 };
    let stats =
        policy_update(&mut policy, Some(&reference), &mut optimizer, &config, &input, &mut StepExtras::default())
            .unwrap();
    assert_eq!(stats.ratio_mean, 1.0);
    assert_eq!((stats.clip_low, stats.clip_high, stats.clip_region), (0.0, 0.0, 0.0));
    // Before the step the policy equals its reference, so the KL estimate is 0 (up to the Train/Infer kernels).
    assert!(stats.kl.abs() < 1e-4, "kl {}", stats.kl);
    assert!(stats.grad_norm > 0.0 && stats.loss.is_finite());
    assert_eq!(optimizer.step_count(), 1);
    let after = policy.model.merged_tensors().unwrap();
    let changed = before.iter().filter(|(k, v)| {
        let diff = (*v - &after[*k]).unwrap().abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
        diff > 0.0
    });
    assert!(changed.count() > 0, "the update changed no weight");
}
