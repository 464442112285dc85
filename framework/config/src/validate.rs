//! Range and consistency checks that types alone cannot express (a negative learning rate parses as a float).

use crate::Config;
use crate::locate::Segment;

/// A failed check: which key, its value, and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Violation {
    pub(crate) path: Vec<Segment>,
    pub(crate) value: String,
    pub(crate) kind: ViolationKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ViolationKind {
    /// The value is outside its range; the string says which range.
    OutOfRange(String),
    /// The value contradicts the rest of the config; the string says how to fix it.
    Invalid(String),
}

/// Every violation in `config`, in schema order.
pub(crate) fn check(config: &Config) -> Vec<Violation> {
    let mut v = Checker::default();
    let run = &config.run;
    v.range(
        &["run", "name"],
        &run.name,
        !run.name.trim().is_empty() && !run.name.contains(['/', '\\']),
        "a non-empty name without path separators",
    );
    if let Some(threads) = run.threads {
        v.range(&["run", "threads"], threads, threads >= 1, "at least 1");
    }

    let tiny = &config.model.tiny;
    for (key, value) in [
        ("hidden_size", tiny.hidden_size),
        ("num_layers", tiny.num_layers),
        ("num_heads", tiny.num_heads),
        ("num_kv_heads", tiny.num_kv_heads),
        ("intermediate_size", tiny.intermediate_size),
        ("max_position_embeddings", tiny.max_position_embeddings),
    ] {
        v.range(&["model", "tiny", key], value, value >= 1, "at least 1");
    }
    v.range(
        &["model", "tiny", "vocab_size"],
        tiny.vocab_size,
        tiny.vocab_size >= 512,
        "at least 512 (room for bytes and special tokens)",
    );
    v.range(
        &["model", "tiny", "rope_theta"],
        tiny.rope_theta,
        tiny.rope_theta.is_finite() && tiny.rope_theta > 0.0,
        "a positive number",
    );
    if tiny.num_heads >= 1 && tiny.num_kv_heads >= 1 {
        v.invalid(
            &["model", "tiny", "num_kv_heads"],
            tiny.num_kv_heads,
            tiny.num_heads.is_multiple_of(tiny.num_kv_heads),
            "must divide model.tiny.num_heads",
        );
        v.invalid(
            &["model", "tiny", "hidden_size"],
            tiny.hidden_size,
            tiny.hidden_size.is_multiple_of(tiny.num_heads) && (tiny.hidden_size / tiny.num_heads).is_multiple_of(2),
            "must be num_heads × an even head dimension (RoPE rotates pairs)",
        );
    }
    if let Some(lora) = &config.model.lora {
        v.range(&["model", "lora", "rank"], lora.rank, lora.rank >= 1, "at least 1");
        v.range(
            &["model", "lora", "alpha"],
            lora.alpha,
            lora.alpha.is_finite() && lora.alpha > 0.0,
            "a positive number",
        );
        v.range(&["model", "lora", "dropout"], lora.dropout, (0.0..1.0).contains(&lora.dropout), "in [0, 1)");
        v.invalid(
            &["model", "lora", "target_modules"],
            format!("{:?}", lora.target_modules),
            !lora.target_modules.is_empty(),
            "name at least one module, e.g. [\"q_proj\", \"v_proj\"]",
        );
    }

    let data = &config.data;
    v.range(
        &["data", "train_tasks_per_domain"],
        data.train_tasks_per_domain,
        data.train_tasks_per_domain >= 1,
        "at least 1",
    );
    v.range(
        &["data", "test_tasks_per_domain"],
        data.test_tasks_per_domain,
        data.test_tasks_per_domain >= 1,
        "at least 1",
    );
    if let Some(max) = data.max_tasks_per_domain {
        v.range(&["data", "max_tasks_per_domain"], max, max >= 1, "at least 1");
    }

    let t = &config.trainer;
    v.range(
        &["trainer", "learning_rate"],
        t.learning_rate,
        t.learning_rate.is_finite() && t.learning_rate > 0.0,
        "a positive number such as 1e-5",
    );
    if let Some(lr) = t.warm_start_learning_rate {
        v.range(
            &["trainer", "warm_start_learning_rate"],
            lr,
            lr.is_finite() && lr > 0.0,
            "a positive number such as 1e-3",
        );
    }
    v.range(
        &["trainer", "a_star", "beta2"],
        t.a_star.beta2,
        t.a_star.beta2.is_finite() && t.a_star.beta2 > 0.0,
        "a positive number such as 1e-3",
    );
    v.range(&["trainer", "a_star", "beta1"], t.a_star.beta1, t.a_star.beta1.is_finite(), "a finite number");
    v.range(
        &["trainer", "weight_decay"],
        t.weight_decay,
        t.weight_decay.is_finite() && t.weight_decay >= 0.0,
        "zero or positive",
    );
    if let Some(norm) = t.max_grad_norm {
        v.range(
            &["trainer", "max_grad_norm"],
            norm,
            norm.is_finite() && norm > 0.0,
            "a positive number (leave the key out to disable clipping)",
        );
    }
    v.range(&["trainer", "batch_size"], t.batch_size, t.batch_size >= 1, "at least 1");
    v.range(
        &["trainer", "num_samples_per_prompt"],
        t.num_samples_per_prompt,
        t.num_samples_per_prompt >= 2,
        "at least 2 (group advantages need two samples)",
    );
    v.range(&["trainer", "kl_coef"], t.kl_coef, t.kl_coef.is_finite() && t.kl_coef >= 0.0, "zero or positive");
    v.range(&["trainer", "eps_low"], t.eps_low, (0.0..1.0).contains(&t.eps_low), "in [0, 1)");
    v.range(&["trainer", "eps_high"], t.eps_high, t.eps_high.is_finite() && t.eps_high >= 0.0, "zero or positive");
    v.range(&["trainer", "num_iterations"], t.num_iterations, t.num_iterations >= 1, "at least 1");
    v.range(
        &["trainer", "temperature"],
        t.temperature,
        t.temperature.is_finite() && t.temperature > 0.0,
        "a positive number",
    );
    v.range(&["trainer", "top_p"], t.top_p, t.top_p > 0.0 && t.top_p <= 1.0, "in (0, 1]");
    if let Some(k) = t.top_k {
        v.range(&["trainer", "top_k"], k, k >= 1, "at least 1");
    }
    v.range(&["trainer", "max_new_tokens"], t.max_new_tokens, t.max_new_tokens >= 1, "at least 1");
    v.range(&["trainer", "max_turns"], t.max_turns, t.max_turns >= 1, "at least 1");
    v.range(
        &["trainer", "max_episode_tokens"],
        t.max_episode_tokens,
        t.max_episode_tokens >= t.max_new_tokens,
        "at least trainer.max_new_tokens",
    );

    let s = &config.sequence;
    v.invalid(
        &["sequence", "task_order"],
        "[]",
        !s.task_order.is_empty(),
        "name at least one domain, e.g. [\"airline\", \"retail\", \"telecom\"]",
    );
    for (i, domain) in s.task_order.iter().enumerate() {
        let first = s.task_order.iter().position(|d| d == domain);
        if first != Some(i) {
            v.push_invalid(
                vec![key("sequence"), key("task_order"), Segment::Index(i)],
                domain.name(),
                format!("`{domain}` appears twice; each domain is trained once"),
            );
        }
    }
    v.range(&["sequence", "num_steps_per_task"], s.num_steps_per_task, s.num_steps_per_task >= 1, "at least 1");
    v.range(
        &["sequence", "keep_last_checkpoints"],
        s.keep_last_checkpoints,
        s.keep_last_checkpoints >= 1,
        "at least 1",
    );

    for (section, specs) in [("strategies", &config.plugins.strategies), ("rewards", &config.plugins.rewards)] {
        for (i, spec) in specs.iter().enumerate() {
            let path = |k: &str| vec![key("plugins"), key(section), Segment::Index(i), key(k)];
            if spec.name.trim().is_empty() {
                v.push_invalid(path("name"), "\"\"", "a plugin needs a name".to_owned());
            }
            if !spec.weight.is_finite() {
                v.push_range(path("weight"), spec.weight, "a finite number".to_owned());
            }
            if !spec.config.is_object() {
                v.push_invalid(path("config"), spec.config.to_string(), "a plugin's config is a table".to_owned());
            }
            if specs[..i].iter().any(|other| other.name == spec.name) {
                v.push_invalid(
                    path("name"),
                    &spec.name,
                    format!("plugin `{}` is listed twice in plugins.{section}", spec.name),
                );
            }
        }
    }
    if config.plugins.rewards.is_empty() {
        v.push_invalid(
            vec![key("plugins"), key("rewards")],
            "[]",
            "name at least one reward, e.g. { name = \"task_success\" }".to_owned(),
        );
    }

    let e = &config.eval;
    v.range(&["eval", "trials"], e.trials, e.trials >= 1, "at least 1");
    v.range(
        &["eval", "temperature"],
        e.temperature,
        e.temperature.is_finite() && e.temperature >= 0.0,
        "zero (greedy) or positive",
    );
    if let Some(max) = e.max_tasks_per_domain {
        v.range(&["eval", "max_tasks_per_domain"], max, max >= 1, "at least 1");
    }

    let p = &config.pretrain;
    v.range(&["pretrain", "copy_drill_steps"], p.copy_drill_steps, p.copy_drill_steps >= 1, "at least 1");
    v.range(&["pretrain", "batch_size"], p.batch_size, p.batch_size >= 1, "at least 1");
    v.range(
        &["pretrain", "learning_rate"],
        p.learning_rate,
        p.learning_rate.is_finite() && p.learning_rate > 0.0,
        "a positive number such as 3e-3",
    );
    v.found
}

fn key(k: &str) -> Segment {
    Segment::Key(k.to_owned())
}

#[derive(Default)]
struct Checker {
    found: Vec<Violation>,
}

impl Checker {
    fn range(&mut self, path: &[&str], value: impl ToString, ok: bool, expected: &str) {
        if !ok {
            self.push_range(path.iter().map(|k| key(k)).collect(), value, expected.to_owned());
        }
    }

    fn invalid(&mut self, path: &[&str], value: impl ToString, ok: bool, message: &str) {
        if !ok {
            self.push_invalid(path.iter().map(|k| key(k)).collect(), value, message.to_owned());
        }
    }

    fn push_range(&mut self, path: Vec<Segment>, value: impl ToString, expected: String) {
        self.found.push(Violation { path, value: value.to_string(), kind: ViolationKind::OutOfRange(expected) });
    }

    fn push_invalid(&mut self, path: Vec<Segment>, value: impl ToString, message: String) {
        self.found.push(Violation { path, value: value.to_string(), kind: ViolationKind::Invalid(message) });
    }
}
