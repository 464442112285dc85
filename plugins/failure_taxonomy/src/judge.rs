//! The optional LLM judge: asks a chat model behind an OpenAI-compatible endpoint which of the failure modes of
//! [`FailureMode`] a trajectory shows, so modes that leave no mechanical trace (a broken policy, withheld
//! information phrased differently) can count too.
//!
//! One blocking `POST {endpoint}/chat/completions` per trajectory (temperature 0), answered by a JSON object
//! `{"failures": ["mode_name", …]}` anywhere in the message content. The API key is read once, from the environment
//! variable named by `api_key_env`, and kept in an [`ApiKey`] whose `Debug` prints `<redacted>`; no message of this
//! module contains it (error texts are scrubbed of it as well, in case a server echoes it back).

use crate::detectors::FailureMode;
use retain_plugin_api::PluginError;
use retain_plugin_api::contract::{Message, TaskView, Trajectory};
use serde::Deserialize;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::Duration;

/// Characters of a tool result kept in the judge's transcript: enough to see an error or the ids it returned.
pub const TOOL_RESULT_CHARS: usize = 400;
/// Characters of the system prompt kept: the policy matters for `disobey_specification`, but not unboundedly.
pub const SYSTEM_CHARS: usize = 6000;
/// Characters of one user or assistant text kept, so a rambling episode cannot blow up the judge's bill.
pub const TEXT_CHARS: usize = 2000;
/// Characters of an HTTP error body quoted in an error message.
const ERROR_BODY_CHARS: usize = 300;
/// Largest accepted `max_retries`: beyond it a dead endpoint stalls training for minutes per trajectory.
pub const MAX_RETRIES_LIMIT: u32 = 10;
/// First pause before a retry; it doubles with every retry (no jitter, so runs stay reproducible).
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// Longest pause between two attempts.
const RETRY_DELAY_CAP: Duration = Duration::from_secs(8);

/// The judge's instructions (the system message of every request).
const INSTRUCTIONS: &str = "You audit conversations between a tool-using customer-service agent and a user. Decide \
which of the listed failure modes the AGENT commits. Report a mode only when the transcript shows clear evidence of \
it. Answer with a single JSON object and nothing else: {\"failures\": [\"mode_name\", ...]} using the exact mode \
names listed, or {\"failures\": []} when none occurs.";

/// How the judge's verdict combines with the rule detectors'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeMode {
    /// A mode counts when a detector *or* the judge reports it (union).
    #[default]
    Add,
    /// Only the judge's modes count; the detectors are still run and logged (`detectors/failures`).
    Only,
}

/// What a judge call that failed (after its retries) does to the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The score fails with an error naming the endpoint and the cause: a run never silently loses its judge.
    #[default]
    Fail,
    /// The score falls back to the detectors alone and sets the component `judge/error` to 1.
    Skip,
}

fn default_api_key_env() -> String {
    "OPENAI_API_KEY".to_owned()
}

fn default_timeout_seconds() -> f64 {
    30.0
}

fn default_max_retries() -> u32 {
    2
}

/// The `judge` table of the configuration. It holds the *name* of the key's environment variable, never the key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    /// Base URL of the OpenAI-compatible API, e.g. `http://localhost:8000/v1`; requests go to
    /// `{endpoint}/chat/completions`.
    pub endpoint: String,
    /// Model name sent with every request.
    pub model: String,
    /// Name of the environment variable holding the API key (read once, when the reward is created); upper-case
    /// letters, digits and `_` only, so a key pasted here is refused without being echoed.
    #[serde(default = "default_api_key_env")]
    pub api_key_env: String,
    /// Time limit of one HTTP request, in seconds.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: f64,
    /// Retries after a timeout, a connection failure, HTTP 429 or HTTP 5xx (other answers are not retried).
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Union with the detectors (`add`) or replace them (`only`).
    #[serde(default)]
    pub mode: JudgeMode,
    /// Fail the score (`fail`) or fall back to the detectors (`skip`) when the judge cannot answer.
    #[serde(default)]
    pub on_error: OnError,
}

/// An API key. Its `Debug` prints `<redacted>` and it has no `Display`, so it cannot end up in a log line or an
/// error message by formatting.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key itself, for the `Authorization` header only.
    fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the key replaced, for messages built from what a server sent back.
    fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() { text.to_owned() } else { text.replace(&self.0, "<redacted>") }
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What the judge said about one trajectory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// The reported modes that were offered to it, deduplicated, in [`FailureMode::ALL`] order.
    pub modes: Vec<FailureMode>,
    /// Reported entries that name no offered mode (unknown or disabled names, non-strings).
    pub unknown: usize,
    /// HTTP requests sent (1 + retries used).
    pub requests: u32,
}

/// Why the judge gave no verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgeFailure {
    /// A message naming the endpoint and the cause (never the key).
    pub message: String,
    /// HTTP requests sent before giving up.
    pub requests: u32,
}

/// A configured judge, ready to call.
pub struct Judge {
    endpoint: String,
    url: String,
    model: String,
    key: ApiKey,
    /// How its verdict combines with the detectors'.
    pub mode: JudgeMode,
    /// What a failed call does.
    pub on_error: OnError,
    max_retries: u32,
    retry_delay: Duration,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Judge")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("key", &self.key)
            .field("mode", &self.mode)
            .field("on_error", &self.on_error)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

fn invalid(message: impl std::fmt::Display) -> PluginError {
    PluginError::invalid_config(format!("failure_taxonomy: {message}"))
}

/// Whether `name` looks like a conventional environment variable name (upper-case letters, digits, `_`). Stricter
/// than the OS on purpose: a pasted key (`sk-…`, `gsk_AbC…`, hex) fails it, so the "variable not set" message, which
/// names the variable, can never print a key.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Checks the endpoint and returns it without trailing slashes.
fn check_endpoint(endpoint: &str) -> Result<String, PluginError> {
    let endpoint = endpoint.trim().trim_end_matches('/');
    // Checked first, and without quoting the value: credentials must not reach a message.
    let authority = endpoint.split_once("://").map_or(endpoint, |(_, rest)| rest).split('/').next().unwrap_or("");
    if authority.contains('@') {
        return Err(invalid(
            "`judge.endpoint` must not contain credentials (`user:key@host`); the key comes only from the \
             environment variable named by `judge.api_key_env`",
        ));
    }
    let uri = endpoint
        .parse::<ureq::http::Uri>()
        .map_err(|e| invalid(format!("`judge.endpoint` = `{endpoint}` is not a URL ({e})")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none_or(str::is_empty) {
        return Err(invalid(format!(
            "`judge.endpoint` = `{endpoint}` must be an http:// or https:// URL with a host, e.g. \
             `http://localhost:8000/v1`"
        )));
    }
    if uri.query().is_some() {
        return Err(invalid(format!("`judge.endpoint` = `{endpoint}` must not have a query string")));
    }
    if endpoint.ends_with("/chat/completions") {
        return Err(invalid(format!(
            "`judge.endpoint` = `{endpoint}` must be the API's base URL (e.g. `…/v1`): the judge appends \
             `/chat/completions` itself"
        )));
    }
    Ok(endpoint.to_owned())
}

impl Judge {
    /// Checks `config` and reads the API key through `env` (a lookup of environment variables, injectable so tests
    /// need not touch the process environment). Errors name the offending key or variable, never the API key.
    pub fn new(config: &JudgeConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, PluginError> {
        let endpoint = check_endpoint(&config.endpoint)?;
        let model = config.model.trim();
        if model.is_empty() {
            return Err(invalid("`judge.model` must name the model to ask, e.g. `gpt-4o-mini`"));
        }
        if !(config.timeout_seconds.is_finite() && config.timeout_seconds > 0.0 && config.timeout_seconds <= 3600.0) {
            return Err(invalid(format!(
                "`judge.timeout_seconds` must be a number of seconds in (0, 3600], got {}",
                config.timeout_seconds
            )));
        }
        if config.max_retries > MAX_RETRIES_LIMIT {
            return Err(invalid(format!(
                "`judge.max_retries` must be at most {MAX_RETRIES_LIMIT}, got {}",
                config.max_retries
            )));
        }
        let name = config.api_key_env.as_str();
        if !is_env_name(name) {
            // Not quoted: a value that is no variable name may well be the key itself.
            return Err(invalid(
                "`judge.api_key_env` must be the NAME of an environment variable (upper-case letters, digits and \
                 `_`, e.g. `OPENAI_API_KEY`), not the key itself: keys are never accepted in configuration files",
            ));
        }
        let key = env(name).map(|k| k.trim().to_owned()).unwrap_or_default();
        if key.is_empty() {
            return Err(invalid(format!(
                "the LLM judge's API key variable `{name}` (from `judge.api_key_env`) is not set or empty; \
                 export it before starting the run"
            )));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(format!(
                "the value of `{name}` (from `judge.api_key_env`) has characters an HTTP header cannot carry \
                 (spaces or non-ASCII); check the variable"
            )));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs_f64(config.timeout_seconds)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Judge {
            url: format!("{endpoint}/chat/completions"),
            endpoint,
            model: model.to_owned(),
            key: ApiKey(key),
            mode: config.mode,
            on_error: config.on_error,
            max_retries: config.max_retries,
            retry_delay: RETRY_DELAY,
            agent,
        })
    }

    /// Sets the first pause between retries (tests shorten it).
    #[cfg(test)]
    pub(crate) fn set_retry_delay(&mut self, delay: Duration) {
        self.retry_delay = delay;
    }

    /// The endpoint, as errors name it.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The request body for one trajectory (exposed so the prompt can be inspected and tested offline).
    pub fn request_body(
        &self,
        trajectory: &Trajectory,
        task: &TaskView,
        task_json: &Value,
        offered: &[FailureMode],
    ) -> Value {
        json!({
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": render_prompt(trajectory, task, task_json, offered)},
            ],
        })
    }

    /// Asks the judge which of `offered` the trajectory shows, retrying transient failures with a fixed doubling
    /// pause (no jitter).
    pub fn judge(
        &self,
        trajectory: &Trajectory,
        task: &TaskView,
        task_json: &Value,
        offered: &[FailureMode],
    ) -> Result<Verdict, JudgeFailure> {
        let body = self.request_body(trajectory, task, task_json, offered).to_string();
        let authorization = format!("Bearer {}", self.key.expose());
        let mut requests = 0;
        let mut delay = self.retry_delay;
        loop {
            if requests > 0 {
                std::thread::sleep(delay);
                delay = (delay * 2).min(RETRY_DELAY_CAP);
            }
            requests += 1;
            let outcome = self.attempt(&body, &authorization);
            let retry = matches!(outcome, Err(Attempt { retry: true, .. })) && requests <= self.max_retries;
            match outcome {
                Ok(content) => {
                    return parse_verdict(&content, offered)
                        .map(|(modes, unknown)| Verdict { modes, unknown, requests })
                        .ok_or_else(|| self.failure(requests, &unparseable(&content)));
                }
                Err(attempt) if !retry => return Err(self.failure(requests, &attempt.cause)),
                Err(_) => {}
            }
        }
    }

    /// One HTTP request: the message content, or why there is none and whether trying again may help.
    fn attempt(&self, body: &str, authorization: &str) -> Result<String, Attempt> {
        let response = self
            .agent
            .post(&self.url)
            .header("Authorization", authorization)
            .header("Content-Type", "application/json")
            .send(body);
        let mut response = match response {
            Ok(response) => response,
            Err(e) => {
                let retry = matches!(
                    e,
                    ureq::Error::Timeout(_)
                        | ureq::Error::Io(_)
                        | ureq::Error::ConnectionFailed
                        | ureq::Error::HostNotFound
                        | ureq::Error::Protocol(_)
                );
                return Err(Attempt { cause: format!("request failed: {e}"), retry });
            }
        };
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string();
        if !(200..300).contains(&status) {
            let body = text.unwrap_or_default();
            return Err(Attempt {
                cause: format!("HTTP {status}: {}", truncate(body.trim(), ERROR_BODY_CHARS)),
                retry: status == 429 || status >= 500,
            });
        }
        let text = text.map_err(|e| Attempt { cause: format!("reading the answer failed: {e}"), retry: true })?;
        completion_content(&text).map_err(|cause| Attempt { cause, retry: false })
    }

    fn failure(&self, requests: u32, cause: &str) -> JudgeFailure {
        let tries = if requests == 1 { "1 request".to_owned() } else { format!("{requests} requests") };
        JudgeFailure {
            message: self.key.scrub(&format!(
                "failure_taxonomy: the LLM judge at {} (model `{}`) gave no verdict after {tries}: {cause}",
                self.endpoint, self.model
            )),
            requests,
        }
    }
}

/// The outcome of one failed request.
struct Attempt {
    cause: String,
    retry: bool,
}

fn unparseable(content: &str) -> String {
    format!(
        "its answer has no JSON object with a `failures` array (answer starts: {:?})",
        truncate(content.trim(), ERROR_BODY_CHARS)
    )
}

/// The assistant message content of an OpenAI chat-completion response.
fn completion_content(text: &str) -> Result<String, String> {
    let answer: Value = serde_json::from_str(text).map_err(|e| {
        format!("the response is not a chat completion ({e}; body starts: {:?})", truncate(text, ERROR_BODY_CHARS))
    })?;
    match answer.pointer("/choices/0/message/content") {
        Some(Value::String(content)) => Ok(content.clone()),
        _ => Err(format!(
            "the response has no `choices[0].message.content` text (body starts: {:?})",
            truncate(text, ERROR_BODY_CHARS)
        )),
    }
}

/// The `failures` array of the last JSON object in `content` that has one: the answer may sit in ```json fences or
/// among prose (a reasoning model's draft comes first, so the last object wins).
pub fn find_failures(content: &str) -> Option<Vec<Value>> {
    content.char_indices().rev().filter(|&(_, c)| c == '{').find_map(|(i, _)| {
        let mut values = serde_json::Deserializer::from_str(&content[i..]).into_iter::<Value>();
        match values.next() {
            Some(Ok(Value::Object(mut object))) => match object.remove("failures") {
                Some(Value::Array(items)) => Some(items),
                _ => None,
            },
            _ => None,
        }
    })
}

/// The offered mode an answer entry names: its name in any case with spaces or dashes for `_`, or its MAST code.
fn mode_named(entry: &str, offered: &[FailureMode]) -> Option<FailureMode> {
    let entry = entry.trim();
    let normal: String =
        entry.chars().map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() }).collect();
    offered
        .iter()
        .copied()
        .find(|m| m.name() == normal || (m.mast().starts_with("FM-") && m.mast().eq_ignore_ascii_case(entry)))
}

/// The offered modes an answer reports (in [`FailureMode::ALL`] order) and how many of its entries name none.
pub fn parse_verdict(content: &str, offered: &[FailureMode]) -> Option<(Vec<FailureMode>, usize)> {
    let items = find_failures(content)?;
    let mut unknown = 0;
    let mut found = Vec::new();
    for item in &items {
        match item.as_str().and_then(|s| mode_named(s, offered)) {
            Some(mode) => found.push(mode),
            None => unknown += 1,
        }
    }
    let modes = FailureMode::ALL.into_iter().filter(|m| found.contains(m)).collect();
    Some((modes, unknown))
}

/// At most `limit` characters of `text`, with a note of how many were cut.
pub fn truncate(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…[+{} chars]", &text[..cut], text[cut..].chars().count()),
    }
}

fn render_calls(out: &mut String, who: &str, message: &Message) {
    for call in message.tool_calls() {
        let arguments = Value::Object(call.arguments.clone()).to_string();
        let id = if call.id.is_empty() { String::new() } else { format!(" (id {})", call.id) };
        let _ = writeln!(out, "[{who} calls {}{id}] {}", call.name, truncate(&arguments, TEXT_CHARS));
    }
}

/// The judge's user message: the mode list with definitions, the task's reference, and the transcript (roles, tool
/// calls with their arguments, tool results cut to [`TOOL_RESULT_CHARS`]).
pub fn render_prompt(trajectory: &Trajectory, task: &TaskView, task_json: &Value, offered: &[FailureMode]) -> String {
    let mut out = String::from("Failure modes:\n");
    for mode in offered {
        let _ = writeln!(out, "- {}: {}", mode.name(), mode.description());
    }
    out.push_str("\nReference for this task (not shown to the agent):\n");
    let gold = task.gold_actions();
    if gold.is_empty() {
        out.push_str("- expected actions: none listed\n");
    }
    for action in gold {
        let _ = writeln!(out, "- expected action: {} {}", action.name, Value::Object(action.arguments.clone()));
    }
    if let Some(info) = task_json.pointer("/evaluation_criteria/communicate_info").and_then(Value::as_array) {
        for item in info.iter().filter_map(Value::as_str) {
            let _ = writeln!(out, "- the agent must tell the user: {item}");
        }
    }
    if !trajectory.write_tools.is_empty() {
        let _ = writeln!(out, "- tools that modify the database: {}", trajectory.write_tools.join(", "));
    }
    let _ = writeln!(
        out,
        "- the episode ended by: {}",
        trajectory.termination.as_deref().filter(|t| !t.is_empty()).unwrap_or("unknown")
    );
    out.push_str("\nTranscript:\n");
    for message in &trajectory.messages {
        match message {
            Message::System { content } => {
                let _ = writeln!(out, "[system] {}", truncate(content.trim(), SYSTEM_CHARS));
            }
            Message::User { content, .. } | Message::Assistant { content, .. } => {
                let who = if matches!(message, Message::User { .. }) { "user" } else { "assistant" };
                if let Some(text) = content.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                    let _ = writeln!(out, "[{who}] {}", truncate(text, TEXT_CHARS));
                }
                render_calls(&mut out, who, message);
            }
            Message::Tool { id, content, error } => {
                let id = if id.is_empty() { String::new() } else { format!(" {id}") };
                let status = if *error { " ERROR" } else { "" };
                let _ = writeln!(out, "[tool result{id}{status}] {}", truncate(content.trim(), TOOL_RESULT_CHARS));
            }
        }
    }
    out.push_str("\nWhich of the failure modes above does the agent commit? Answer {\"failures\": [...]}.");
    out
}
