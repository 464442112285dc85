//! The agent text protocol: parser cases, property tests (never panics, render → parse round-trips).

use proptest::prelude::*;
use retain_data::protocol::parse::{ParseErrorKind, ParsedTurn, parse_output};
use retain_data::protocol::template::{IM_END, render_assistant_body};
use retain_domains::{ParticipantMessage, ToolCall};
use serde_json::{Map, Value, json};

const TOOLS: &[&str] = &["get_user_details", "cancel_reservation", "calculate"];

fn kind(out: &str) -> Option<ParseErrorKind> {
    match parse_output(out, TOOLS) {
        ParsedTurn::Invalid(e) => {
            assert!(e.observation.starts_with("Error: "), "{}", e.observation);
            Some(e.kind)
        }
        _ => None,
    }
}

#[test]
fn a_single_call() {
    let out = "<tool_call>\n{\"name\": \"get_user_details\", \"arguments\": {\"user_id\": \"mia12\"}}\n</tool_call><|im_end|>";
    let ParsedTurn::Calls(m) = parse_output(out, TOOLS) else { panic!("not a call") };
    let calls = m.tool_calls.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "get_user_details");
    assert_eq!(calls[0].arguments["user_id"], json!("mia12"));
    assert!(m.content.is_none());
}

#[test]
fn truncated_json_is_an_error() {
    assert_eq!(
        kind("<tool_call>\n{\"name\": \"get_user_details\", \"arguments\": {\"user_id\": \"mi"),
        Some(ParseErrorKind::TruncatedJson)
    );
    assert_eq!(kind("<tool_call>"), Some(ParseErrorKind::TruncatedJson));
}

#[test]
fn malformed_json_is_an_error() {
    assert_eq!(kind("<tool_call>\n{name: get_user_details}\n</tool_call>"), Some(ParseErrorKind::InvalidJson));
}

#[test]
fn unknown_tool_names_the_closest() {
    let ParsedTurn::Invalid(e) =
        parse_output("<tool_call>\n{\"name\": \"get_user_detail\", \"arguments\": {}}\n</tool_call>", TOOLS)
    else {
        panic!("accepted an unknown tool")
    };
    assert_eq!(e.kind, ParseErrorKind::UnknownTool);
    assert!(e.observation.contains("Did you mean get_user_details?"), "{}", e.observation);
}

#[test]
fn prose_mixed_with_a_call_keeps_both() {
    let out = "Let me look that up.\n<tool_call>\n{\"name\": \"calculate\", \"arguments\": {\"expression\": \"2+2\"}}\n</tool_call>";
    let ParsedTurn::Calls(m) = parse_output(out, TOOLS) else { panic!("not a call") };
    assert_eq!(m.content.as_deref(), Some("Let me look that up."));
    assert_eq!(m.tool_calls.unwrap().len(), 1);
}

#[test]
fn several_calls_in_order() {
    let out = "<tool_call>\n{\"name\": \"calculate\", \"arguments\": {\"expression\": \"1\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"cancel_reservation\", \"arguments\": {\"reservation_id\": \"AB12\"}}\n</tool_call>";
    let ParsedTurn::Calls(m) = parse_output(out, TOOLS) else { panic!("not calls") };
    let names: Vec<String> = m.tool_calls.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["calculate", "cancel_reservation"]);
}

#[test]
fn missing_close_tag_at_the_end_is_tolerated_elsewhere_not() {
    let ok = "<tool_call>\n{\"name\": \"calculate\", \"arguments\": {\"expression\": \"1\"}}";
    assert!(matches!(parse_output(ok, TOOLS), ParsedTurn::Calls(_)));
    let bad = "<tool_call>\n{\"name\": \"calculate\", \"arguments\": {}} and more text";
    assert_eq!(kind(bad), Some(ParseErrorKind::TrailingText));
}

#[test]
fn non_object_arguments_and_missing_names() {
    assert_eq!(
        kind("<tool_call>\n{\"name\": \"calculate\", \"arguments\": [1]}\n</tool_call>"),
        Some(ParseErrorKind::ArgumentsNotObject)
    );
    assert_eq!(
        kind("<tool_call>\n{\"name\": \"calculate\", \"arguments\": \"2+2\"}\n</tool_call>"),
        Some(ParseErrorKind::ArgumentsNotObject)
    );
    assert_eq!(kind("<tool_call>\n{\"arguments\": {}}\n</tool_call>"), Some(ParseErrorKind::MissingName));
    assert_eq!(kind("<tool_call>\n[\"calculate\"]\n</tool_call>"), Some(ParseErrorKind::NotAnObject));
    // OpenAI-style JSON-encoded arguments are accepted.
    let enc =
        "<tool_call>\n{\"name\": \"calculate\", \"arguments\": \"{\\\"expression\\\": \\\"1\\\"}\"}\n</tool_call>";
    assert!(matches!(parse_output(enc, TOOLS), ParsedTurn::Calls(_)));
}

#[test]
fn text_bare_json_stray_tags_and_empty() {
    assert_eq!(
        parse_output("Your reservation is cancelled.<|im_end|>garbage", TOOLS),
        ParsedTurn::Text("Your reservation is cancelled.".into())
    );
    assert_eq!(kind("{\"name\": \"calculate\", \"arguments\": {}}"), Some(ParseErrorKind::BareJson));
    assert_eq!(kind("oops </tool_call>"), Some(ParseErrorKind::StrayCloseTag));
    assert_eq!(kind("  \n"), Some(ParseErrorKind::Empty));
    assert_eq!(kind("<|im_end|>"), Some(ParseErrorKind::Empty));
}

#[test]
fn a_close_tag_inside_a_string_argument_does_not_split_the_call() {
    let mut args = Map::new();
    args.insert("summary".into(), json!("see </tool_call> and <tool_call> here"));
    let body = render_assistant_body(&ParticipantMessage::calls(vec![ToolCall::assistant("calculate", args.clone())]));
    let ParsedTurn::Calls(m) = parse_output(&body, &[]) else { panic!("{body}") };
    assert_eq!(m.tool_calls.unwrap()[0].arguments, args);
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1.0e6f64..1.0e6).prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_text(s in ".{0,200}") {
        let _ = parse_output(&s, TOOLS);
        let _ = parse_output(&s, &[]);
    }

    #[test]
    fn never_panics_on_tag_soup(parts in prop::collection::vec(prop_oneof![
        Just("<tool_call>".to_owned()), Just("</tool_call>".to_owned()), Just("<|im_end|>".to_owned()),
        Just("{".to_owned()), Just("}".to_owned()), Just("\"name\": \"calculate\"".to_owned()), Just(", ".to_owned()),
        Just("\"arguments\": ".to_owned()), "[a-z \n\"]{0,6}",
    ], 0..24)) {
        let s: String = parts.concat();
        let _ = parse_output(&s, TOOLS);
    }

    #[test]
    fn render_then_parse_round_trips(
        calls in prop::collection::vec((prop::sample::select(TOOLS.to_vec()), prop::collection::btree_map("[a-z_]{1,8}", arb_json(), 0..4)), 1..4),
        prose in prop::option::of("[A-Za-z][A-Za-z ,.]{0,30}"),
    ) {
        let calls: Vec<ToolCall> = calls.into_iter().map(|(n, a)| ToolCall::assistant(n, a.into_iter().collect())).collect();
        let message = ParticipantMessage { content: prose.clone().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()), tool_calls: Some(calls.clone()) };
        let text = format!("{}{IM_END}", render_assistant_body(&message));
        match parse_output(&text, TOOLS) {
            ParsedTurn::Calls(m) => {
                let got = m.tool_calls.unwrap();
                prop_assert_eq!(got.len(), calls.len());
                for (g, c) in got.iter().zip(&calls) {
                    prop_assert_eq!(&g.name, &c.name);
                    let a = serde_json::to_string(&Value::Object(g.arguments.clone())).unwrap();
                    let b = serde_json::to_string(&Value::Object(c.arguments.clone())).unwrap();
                    prop_assert_eq!(a, b);
                }
                prop_assert_eq!(m.content, message.content);
            }
            other => prop_assert!(false, "{:?} from {}", other, text),
        }
    }

    #[test]
    fn text_messages_round_trip(text in "[A-Za-z0-9][A-Za-z0-9 ,.$!?]{0,60}") {
        let body = render_assistant_body(&ParticipantMessage::text(text.clone()));
        prop_assert_eq!(parse_output(&format!("{body}{IM_END}"), TOOLS), ParsedTurn::Text(text.trim().to_owned()));
    }
}
