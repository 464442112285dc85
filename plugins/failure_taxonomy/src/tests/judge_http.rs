//! The LLM judge against a scripted OpenAI-style server on 127.0.0.1: how its modes change the reward, robust
//! parsing, retries, errors and fallbacks, configuration checks, and that the API key never shows.

use super::*;
use crate::judge::{Judge, parse_verdict, render_prompt, truncate};
use retain_plugin_api::{ErrorKind, parse_config};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The key the tests hand out; no message or Debug output may contain it.
const KEY: &str = "sk-test-4f1c9a7e2b6d";
/// The variable name the injected environment knows.
const KEY_VAR: &str = "RETAIN_TEST_JUDGE_KEY";
const MODEL: &str = "judge-model";

fn env(name: &str) -> Option<String> {
    (name == KEY_VAR).then(|| KEY.to_owned())
}

/// What the scripted server does with one connection.
enum Reply {
    /// Answers with this status and body.
    Http(u16, String),
    /// Reads the request, then stays silent for this long.
    Hang(Duration),
}

/// An OpenAI chat-completion response whose message content is `content`.
fn completion(content: &str) -> Reply {
    let body = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
    });
    Reply::Http(200, body.to_string())
}

/// One request as the server saw it.
#[derive(Debug)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn prompt(&self) -> &str {
        self.body["messages"][1]["content"].as_str().unwrap()
    }
}

struct Server {
    endpoint: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn seen(&self) -> std::sync::MutexGuard<'_, Vec<Seen>> {
        self.seen.lock().unwrap()
    }
}

fn read_request(stream: &mut TcpStream) -> Seen {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed inside the request head");
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(data[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize =
        headers.iter().find(|(n, _)| n == "content-length").map(|(_, v)| v.parse().unwrap()).unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed inside the request body");
        body.extend_from_slice(&buf[..n]);
    }
    Seen { request_line, headers, body: serde_json::from_slice(&body).unwrap() }
}

/// Serves `replies` in order, one connection each, then stops listening.
fn serve(replies: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for reply in replies {
            let Ok((mut stream, _)) = listener.accept() else { return };
            let request = read_request(&mut stream);
            log.lock().unwrap().push(request);
            match reply {
                Reply::Http(status, body) => {
                    let head = format!(
                        "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n",
                        body.len()
                    );
                    stream.write_all(head.as_bytes()).unwrap();
                    stream.write_all(body.as_bytes()).unwrap();
                }
                // Held open on its own thread, so the next connection is still accepted and read.
                Reply::Hang(time) => drop(std::thread::spawn(move || {
                    std::thread::sleep(time);
                    drop(stream);
                })),
            }
        }
    });
    Server { endpoint, seen }
}

/// A config with `alpha = 0.5` and the judge table `judge` (merged over the test defaults).
fn config(endpoint: &str, judge: Value) -> TaxonomyConfig {
    let mut table = json!({"endpoint": endpoint, "model": MODEL, "api_key_env": KEY_VAR, "timeout_seconds": 5});
    for (k, v) in judge.as_object().unwrap() {
        table[k] = v.clone();
    }
    parse_config("failure_taxonomy", &json!({"alpha": 0.5, "judge": table}).to_string()).unwrap()
}

fn reward(config: TaxonomyConfig) -> FailureTaxonomy {
    let mut reward = FailureTaxonomy::from_config_with_env(config, &env).unwrap();
    reward.judge.as_mut().unwrap().set_retry_delay(Duration::from_millis(5));
    reward
}

fn component(score: &Score, name: &str) -> f64 {
    score.components.iter().find(|(n, _)| n == name).map(|&(_, v)| v).unwrap_or_else(|| panic!("no {name}: {score:?}"))
}

fn clean() -> Value {
    trajectory(clean_messages(), "agent_stop")
}

/// `max_steps`: the detectors report `unaware_of_termination` only.
fn at_step_limit() -> Value {
    trajectory(clean_messages(), "max_steps")
}

fn assert_no_key(text: &str) {
    assert!(!text.contains(KEY), "the API key leaked into: {text}");
}

#[test]
fn add_mode_unions_judge_and_detector_modes() {
    let server = serve(vec![
        completion(r#"{"failures": ["step_repetition", "hallucinated_ids"]}"#),
        completion(r#"{"failures": ["unaware_of_termination", "no_verification"]}"#),
    ]);
    let mut reward = reward(config(&server.endpoint, json!({"mode": "add"})));
    let s = reward.score(&clean(), &task()).unwrap();
    assert!((s.value - (1.0 + 0.5 / 3.0)).abs() < 1e-12, "{s:?}");
    assert_eq!(component(&s, "failures"), 2.0);
    assert_eq!(component(&s, "failure/step_repetition"), 1.0);
    assert_eq!(component(&s, "failure/hallucinated_ids"), 1.0);
    assert_eq!(component(&s, "failure/no_verification"), 0.0);
    assert_eq!(component(&s, "detectors/failures"), 0.0);
    assert_eq!(component(&s, "judge/failures"), 2.0);
    assert_eq!(component(&s, "judge/unknown_modes"), 0.0);
    assert_eq!(component(&s, "judge/requests"), 1.0);
    assert_eq!(component(&s, "judge/error"), 0.0);

    // Detector {unaware_of_termination} ∪ judge {unaware_of_termination, no_verification}: two distinct modes.
    let s = reward.score(&at_step_limit(), &task()).unwrap();
    assert!((s.value - (1.0 + 0.5 / 3.0)).abs() < 1e-12, "{s:?}");
    assert_eq!(component(&s, "failures"), 2.0);
    assert_eq!(component(&s, "detectors/failures"), 1.0);
    assert_eq!(component(&s, "failure/unaware_of_termination"), 1.0);
    assert_eq!(component(&s, "failure/no_verification"), 1.0);

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let first = &seen[0];
    assert_eq!(first.request_line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(first.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(first.body["model"], MODEL);
    assert_eq!(first.body["temperature"], 0);
    assert_eq!(first.body["messages"][0]["role"], "system");
    let prompt = first.prompt();
    for mode in FailureMode::ALL {
        assert!(prompt.contains(&format!("- {}: {}", mode.name(), mode.description())), "{prompt}");
    }
    assert!(prompt.contains(r#"[assistant calls cancel_reservation (id c2)] {"reservation_id":"ABC123"}"#), "{prompt}");
    assert!(prompt.contains(r#"[tool result c1] {"reservations": ["ABC123"]}"#), "{prompt}");
    assert!(prompt.contains(&format!("[assistant] {DONE}")), "{prompt}");
    assert!(prompt.contains("- expected action: cancel_reservation"), "{prompt}");
    assert!(prompt.contains("- the agent must tell the user: 100"), "{prompt}");
    assert!(prompt.contains("the episode ended by: agent_stop"), "{prompt}");
    assert!(seen[1].prompt().contains("the episode ended by: max_steps"));
    assert_no_key(prompt);
}

#[test]
fn only_mode_replaces_detector_modes() {
    let server =
        serve(vec![completion(r#"{"failures": []}"#), completion(r#"{"failures": ["premature_termination"]}"#)]);
    let mut reward = reward(config(&server.endpoint, json!({"mode": "only"})));
    // The detectors see the step limit, the judge sees nothing: nothing counts.
    let s = reward.score(&at_step_limit(), &task()).unwrap();
    assert_eq!(s.value, 1.5);
    assert_eq!(component(&s, "failures"), 0.0);
    assert_eq!(component(&s, "failure/unaware_of_termination"), 0.0);
    assert_eq!(component(&s, "detectors/failures"), 1.0);
    assert_eq!(component(&s, "judge/failures"), 0.0);
    // The detectors see nothing, the judge one mode: it counts.
    let s = reward.score(&clean(), &task()).unwrap();
    assert_eq!(s.value, 1.25);
    assert_eq!(component(&s, "failure/premature_termination"), 1.0);
    assert_eq!(component(&s, "detectors/failures"), 0.0);
}

#[test]
fn fenced_json_among_prose_parses_and_unknown_modes_are_counted() {
    let answer = "Let me go through the modes.\n```json\n{\"failures\": [\"No Verification\", \"FM-1.3\", \
                  \"made_up_mode\", 3, \"no_verification\", \"hallucinated_ids\"]}\n```\nThat is all.";
    let server = serve(vec![completion(answer)]);
    let mut config = config(&server.endpoint, json!({}));
    config.disabled = vec!["hallucinated_ids".to_owned()];
    let mut reward = reward(config);
    let s = reward.score(&clean(), &task()).unwrap();
    // no_verification (twice, by name) and step_repetition (by MAST code); a made-up name, a number and a disabled
    // mode are unknown.
    assert_eq!(component(&s, "judge/failures"), 2.0);
    assert_eq!(component(&s, "judge/unknown_modes"), 3.0);
    assert_eq!(component(&s, "failure/no_verification"), 1.0);
    assert_eq!(component(&s, "failure/step_repetition"), 1.0);
    assert!(!s.components.iter().any(|(n, _)| n == "failure/hallucinated_ids"));
    assert!((s.value - (1.0 + 0.5 / 3.0)).abs() < 1e-12, "{s:?}");
    assert!(!server.seen()[0].prompt().contains("- hallucinated_ids:"), "disabled modes are not offered");
}

#[test]
fn answers_are_parsed_robustly() {
    let all = FailureMode::ALL;
    let parse = |text: &str| {
        parse_verdict(text, &all).map(|(m, u)| (m.into_iter().map(FailureMode::name).collect::<Vec<_>>(), u))
    };
    assert_eq!(parse(r#"{"failures": ["step_repetition"]}"#), Some((vec!["step_repetition"], 0)));
    assert_eq!(parse(r#"{"failures": []}"#), Some((vec![], 0)));
    // Order of the answer does not matter; the report order is FailureMode::ALL's.
    assert_eq!(
        parse(r#"Answer: {"failures": ["no_verification", "step-repetition"]} (done)"#),
        Some((vec!["step_repetition", "no_verification"], 0))
    );
    // A reasoning draft first, then the final answer: the last object wins.
    assert_eq!(
        parse("<think>maybe {\"failures\": [\"step_repetition\"]}? no.</think>\n{\"failures\": []}"),
        Some((vec![], 0))
    );
    // Braces inside strings and extra keys do not confuse the scan.
    assert_eq!(parse(r#"{"failures": ["a}b"], "why": {"note": "{"}}"#), Some((vec![], 1)));
    assert_eq!(parse("no failures found"), None);
    assert_eq!(parse(r#"{"failure": ["step_repetition"]}"#), None);
    assert_eq!(parse(r#"{"failures": "step_repetition"}"#), None);
    assert_eq!(parse(r#"```json {"failures": ["step_repetition"] ```"#), None);
}

#[test]
fn garbage_answer_fails_or_falls_back_to_the_detectors() {
    let server = serve(vec![completion("I'm sorry, I cannot evaluate this."), completion("{not json")]);
    let mut failing = reward(config(&server.endpoint, json!({"on_error": "fail"})));
    let err = failing.score(&clean(), &task()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Failed);
    assert!(err.message.contains(&server.endpoint), "{err}");
    assert!(err.message.contains("no JSON object with a `failures` array"), "{err}");
    assert!(err.message.contains("after 1 request:"), "an unparseable answer is not retried: {err}");
    assert_no_key(&err.message);

    let mut skipping = reward(config(&server.endpoint, json!({"on_error": "skip"})));
    let s = skipping.score(&at_step_limit(), &task()).unwrap();
    let plain = FailureTaxonomy::from_config(TaxonomyConfig { alpha: 0.5, ..TaxonomyConfig::default() })
        .unwrap()
        .score(&at_step_limit(), &task())
        .unwrap();
    assert_eq!(s.value, plain.value);
    assert_eq!(s.components[..plain.components.len()], plain.components[..]);
    assert_eq!(component(&s, "judge/error"), 1.0);
    assert_eq!(component(&s, "judge/failures"), 0.0);
    assert_eq!(component(&s, "judge/requests"), 1.0);
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn server_error_then_success_is_retried() {
    let server = serve(vec![
        Reply::Http(500, r#"{"error": {"message": "overloaded"}}"#.to_owned()),
        Reply::Http(429, r#"{"error": {"message": "slow down"}}"#.to_owned()),
        completion(r#"{"failures": ["step_repetition"]}"#),
    ]);
    let mut reward = reward(config(&server.endpoint, json!({"max_retries": 2})));
    let s = reward.score(&clean(), &task()).unwrap();
    assert_eq!(component(&s, "judge/requests"), 3.0);
    assert_eq!(component(&s, "failures"), 1.0);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].body, seen[2].body, "a retry sends the same request");
}

#[test]
fn exhausted_retries_and_client_errors_fail_without_the_key() {
    // The server echoes the Authorization header back: the message must still not contain the key.
    let echo = format!(r#"{{"error": "upstream down", "you_sent": "Bearer {KEY}"}}"#);
    let server = serve(vec![Reply::Http(503, echo.clone()), Reply::Http(503, echo.clone()), Reply::Http(503, echo)]);
    let mut reward = reward(config(&server.endpoint, json!({"max_retries": 2})));
    let err = reward.score(&clean(), &task()).unwrap_err();
    assert!(err.message.contains(&server.endpoint) && err.message.contains("after 3 requests: HTTP 503"), "{err}");
    assert!(err.message.contains("upstream down") && err.message.contains("Bearer <redacted>"), "{err}");
    assert_no_key(&err.message);
    assert_eq!(server.seen().len(), 3);

    // 401 is not transient: no retry.
    let server = serve(vec![Reply::Http(401, r#"{"error": "invalid api key"}"#.to_owned())]);
    let mut reward = self::reward(config(&server.endpoint, json!({"max_retries": 2})));
    let err = reward.score(&clean(), &task()).unwrap_err();
    assert!(err.message.contains("after 1 request: HTTP 401"), "{err}");
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn timeouts_and_refused_connections_are_retried_then_reported() {
    let server = serve(vec![Reply::Hang(Duration::from_secs(3)), Reply::Hang(Duration::from_secs(3))]);
    let mut reward = reward(config(&server.endpoint, json!({"timeout_seconds": 0.3, "max_retries": 1})));
    let err = reward.score(&clean(), &task()).unwrap_err();
    assert!(err.message.contains(&server.endpoint) && err.message.contains("after 2 requests"), "{err}");
    assert!(err.message.contains("timeout"), "{err}");
    assert_eq!(server.seen().len(), 2);

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}/v1");
    let mut reward = self::reward(config(&endpoint, json!({"max_retries": 1, "on_error": "skip"})));
    let s = reward.score(&clean(), &task()).unwrap();
    assert_eq!(component(&s, "judge/error"), 1.0);
    assert_eq!(component(&s, "judge/requests"), 2.0);
    reward.judge.as_mut().unwrap().on_error = crate::judge::OnError::Fail;
    let err = reward.score(&clean(), &task()).unwrap_err();
    assert!(err.message.contains(&endpoint) && err.message.contains("request failed"), "{err}");
}

#[test]
fn missing_or_empty_key_variable_is_an_invalid_config_naming_it() {
    let unset = "RETAIN_FAILURE_TAXONOMY_TEST_UNSET_KEY_VARIABLE";
    let mut config = config("http://127.0.0.1:9/v1", json!({}));
    config.judge.as_mut().unwrap().api_key_env = unset.to_owned();
    // Through the real process environment (the variable is never set anywhere).
    let err = FailureTaxonomy::from_config(TaxonomyConfig { judge: config.judge.clone(), ..TaxonomyConfig::default() })
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidConfig);
    assert!(err.message.contains(&format!("`{unset}`")) && err.message.contains("not set or empty"), "{err}");
    // Set but blank.
    let err = FailureTaxonomy::from_config_with_env(config, &|_| Some("  \n".to_owned())).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidConfig);
    assert!(err.message.contains(unset), "{err}");
}

#[test]
fn judge_config_is_checked_and_never_echoes_a_secret() {
    let check = |judge: Value| -> PluginError {
        let config = parse_config::<TaxonomyConfig>("failure_taxonomy", &json!({"judge": judge}).to_string());
        match config {
            Err(e) => e,
            Ok(c) => FailureTaxonomy::from_config_with_env(c, &env).unwrap_err(),
        }
    };
    let base = |extra: Value| {
        let mut j = json!({"endpoint": "http://localhost:8000/v1", "model": MODEL, "api_key_env": KEY_VAR});
        for (k, v) in extra.as_object().unwrap() {
            j[k] = v.clone();
        }
        j
    };
    let cases = [
        (base(json!({"api_key": KEY})), "unknown field `api_key`"),
        (json!({"endpoint": "http://localhost:8000/v1"}), "missing field `model`"),
        (base(json!({"endpoint": "localhost:8000/v1"})), "`judge.endpoint`"),
        (base(json!({"endpoint": "ftp://localhost/v1"})), "`judge.endpoint`"),
        (base(json!({"endpoint": "http://localhost:8000/v1/chat/completions"})), "base URL"),
        (base(json!({"endpoint": format!("http://me:{KEY}@localhost:8000/v1")})), "must not contain credentials"),
        (base(json!({"model": " "})), "`judge.model`"),
        (base(json!({"timeout_seconds": 0})), "`judge.timeout_seconds`"),
        (base(json!({"max_retries": 11})), "`judge.max_retries`"),
        (base(json!({"mode": "replace"})), "unknown variant `replace`"),
        (base(json!({"on_error": "ignore"})), "unknown variant `ignore`"),
        (base(json!({"api_key_env": KEY})), "the NAME of an environment variable"),
        (base(json!({"api_key_env": "gsk_AbC9xYz"})), "the NAME of an environment variable"),
    ];
    for (judge, expected) in cases {
        let err = check(judge.clone());
        assert_eq!(err.kind, ErrorKind::InvalidConfig, "{judge}");
        assert!(err.message.contains(expected), "{judge}: {err}");
        assert_no_key(&err.message);
        assert!(!err.message.contains("gsk_AbC9xYz"), "{err}");
    }
    // Trailing slashes are fine; defaults apply.
    let config = parse_config::<TaxonomyConfig>(
        "failure_taxonomy",
        &json!({"judge": {"endpoint": "https://api.example.invalid/v1/", "model": MODEL}}).to_string(),
    )
    .unwrap();
    let judge = config.judge.as_ref().unwrap();
    assert_eq!((judge.api_key_env.as_str(), judge.timeout_seconds, judge.max_retries), ("OPENAI_API_KEY", 30.0, 2));
    assert_eq!((judge.mode, judge.on_error), (crate::judge::JudgeMode::Add, crate::judge::OnError::Fail));
    let judge = Judge::new(judge, &|name| (name == "OPENAI_API_KEY").then(|| KEY.to_owned())).unwrap();
    assert_eq!(judge.endpoint(), "https://api.example.invalid/v1");
}

#[test]
fn debug_output_never_shows_the_key() {
    let reward = reward(config("http://127.0.0.1:9/v1", json!({})));
    let debug = format!("{reward:?}");
    assert!(debug.contains("<redacted>") && debug.contains("127.0.0.1:9"), "{debug}");
    assert_no_key(&debug);
    assert_no_key(&format!("{:#?}", reward));
    assert_no_key(&format!("{:?}", config("http://127.0.0.1:9/v1", json!({}))));
    let judge = Judge::new(config("http://127.0.0.1:9/v1", json!({})).judge.as_ref().unwrap(), &env).unwrap();
    assert_no_key(&format!("{judge:?}"));
}

#[test]
fn without_a_judge_scores_have_no_judge_components() {
    let mut reward = FailureTaxonomy::from_config(TaxonomyConfig::default()).unwrap();
    let s = reward.score(&at_step_limit(), &task()).unwrap();
    let names: Vec<&str> = s.components.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 2 + FailureMode::ALL.len());
    assert!(names.iter().all(|n| !n.starts_with("judge/") && !n.starts_with("detectors/")), "{names:?}");
}

#[test]
fn prompt_truncates_tool_results_on_char_boundaries() {
    let long = "é".repeat(crate::judge::TOOL_RESULT_CHARS + 50);
    let mut messages = clean_messages();
    messages.insert(3, tool("c9", &long, false));
    let t: Trajectory = serde_json::from_value(trajectory(messages, "agent_stop")).unwrap();
    let k: TaskView = serde_json::from_value(task()).unwrap();
    let prompt = render_prompt(&t, &k, &task(), &FailureMode::ALL);
    let expected = format!("[tool result c9] {}…[+50 chars]", "é".repeat(crate::judge::TOOL_RESULT_CHARS));
    assert!(prompt.contains(&expected), "{prompt}");
    assert_eq!(truncate("short", 10), "short");
}

#[test]
fn https_endpoints_go_through_rustls() {
    // A plain-text server behind an https:// URL: the TLS handshake itself must be attempted and fail.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("https://127.0.0.1:{}/v1", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let mut reward = reward(config(&endpoint, json!({"max_retries": 0})));
    let err = reward.score(&clean(), &task()).unwrap_err();
    // rustls's alert for a non-TLS answer (without a TLS backend ureq would refuse the https URL outright).
    assert!(err.message.contains(&endpoint) && err.message.contains("received corrupt message"), "{err}");
    assert_no_key(&err.message);
}
