//! Episode lengths of the embedded default (#4: a whole episode in about 1,000 tokens of the tiny model's
//! tokenizer), measured on real demonstrations with the tokenizer a run trains.

use retain_config::{Config, PolicyText};
use retain_trainer::lengths::episode_lengths;

fn default_minimal() -> Config {
    let mut config = Config::default();
    config.data.policy = PolicyText::Minimal;
    config
}

#[test]
fn default_episodes_fit_about_a_thousand_tokens() {
    let config = default_minimal();
    let lengths = episode_lengths(&config).unwrap();
    assert_eq!(lengths.len(), 3);
    for d in &lengths {
        let e = &d.episode;
        assert_eq!(e.n, config.data.train_tasks_per_domain, "{}", d.domain);
        // The parts add up to the whole (each segment is counted once, in exactly one part).
        assert!((d.prompt.mean + d.agent.mean + d.tool.mean - e.mean).abs() < 1e-6, "{}", d.domain);
        assert!(e.p90 <= 1_250, "{}: p90 {} tokens", d.domain, e.p90);
        assert!(e.p50 <= 800, "{}: p50 {} tokens", d.domain, e.p50);
        assert!(e.max <= config.trainer.max_episode_tokens, "{}: {} > the default episode limit", d.domain, e.max);
        assert_eq!(d.over_limit, 0, "{}", d.domain);
        assert!(d.agent.min > 0 && d.prompt.min > 0, "{}", d.domain);
    }
    let telecom = lengths.iter().find(|d| d.domain == "telecom").unwrap();
    assert!(telecom.p50_by_family.contains_key("airplane_mode_on"));
    assert!(telecom.p50_by_family.keys().all(|k| !k.contains('|') && !k.contains(']')));
}

#[test]
fn composed_telecom_issues_are_longer_and_compact_prompts_cost_hundreds_of_tokens() {
    let base = episode_lengths(&default_minimal()).unwrap();
    let mut composed = default_minimal();
    composed.data.generator.telecom.max_issues = 2;
    composed.data.generator.telecom.max_lines_per_customer = 2;
    let composed = episode_lengths(&composed).unwrap();
    assert!(composed[2].episode.p90 > base[2].episode.p90);
    let mut compact = default_minimal();
    compact.data.policy = PolicyText::Compact;
    let compact = episode_lengths(&compact).unwrap();
    for (c, m) in compact.iter().zip(&base) {
        assert!(
            c.prompt.p50 > m.prompt.p50 + 500,
            "{}: compact prompt {} vs minimal {}",
            c.domain,
            c.prompt.p50,
            m.prompt.p50
        );
    }
}

#[test]
fn bad_generator_sizes_are_refused_with_their_key() {
    let mut config = default_minimal();
    config.data.generator.telecom.max_lines_per_customer = 3;
    let err = episode_lengths(&config).unwrap_err().to_string();
    assert!(err.contains("data.generator.telecom.max_lines_per_customer = 3"), "{err}");
}
