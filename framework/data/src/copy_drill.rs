//! Copy drills: synthetic tickets with made-up tools and random ids, rendered exactly like a demonstration.
//!
//! A model trained from scratch must learn to copy an id from its context (the ticket, a tool result) into a tool
//! call before any domain can be solved, and a domain's demonstrations teach that slowly: the ids are a small share
//! of their tokens. A drill is a short conversation in which most agent tokens are copies:
//!
//! 1. the ticket states two or three labelled ids in random order and asks about one label;
//! 2. the agent looks that label up (`lookup_<label>` with `<label>_id` = the ticket's id);
//! 3. the tool answers with an owner id and a status; the agent calls `notify_owner` with the owner id and the
//!    label's id;
//! 4. the agent's final message repeats the id and the status.
//!
//! Labels, names and tools are invented here and share nothing with the domains, so drills cannot leak a task.
//! Ids are random strings, some built from the tokenizer's word tokens (`words`): a model only learns to copy
//! the tokens it has practised copying, and those words include the names and terms domain ids are made of.

use rand::Rng;
use serde_json::{Map, Value};

use retain_domains::{Message, Mode, ParticipantMessage, Requestor, ToolMessage};

use crate::ids::{CODE_ALPHABET, GenRng, code, derived_rng, pick, sample_indices};
use crate::prompt::minimal_system;
use crate::protocol::template::{agent_call, render_conversation_with_system};
use crate::protocol::{Rendered, SegmentKind};

/// What a ticket's ids are for: neutral nouns that no domain's tools use.
const LABELS: [&str; 12] = [
    "badge", "locker", "parcel", "voucher", "permit", "claim", "invoice", "coupon", "ticket", "device", "licence",
    "case",
];

/// Statuses a looked-up record can have.
const STATUSES: [&str; 6] = ["open", "closed", "pending", "active", "expired", "on hold"];

/// Ways a ticket states a labelled id.
const FACT_FORMS: [&str; 4] =
    ["My {label} is {id}.", "{Label}: {id}.", "I have {label} {id}.", "The {label} id is {id}."];

/// Ways a ticket asks about one label.
const ASK_FORMS: [&str; 3] =
    ["Please check my {label}.", "What is the status of my {label}?", "Look up the {label}, please."];

/// Lowercase syllables for made-up names.
const SYLLABLES: [&str; 16] =
    ["ka", "lo", "mi", "ren", "ta", "vo", "zu", "bel", "dar", "fi", "gor", "ne", "pa", "sol", "ti", "wen"];

/// A made-up lowercase name of two or three syllables.
fn name(rng: &mut GenRng) -> String {
    let n = rng.random_range(2..=3);
    (0..n).map(|_| *pick(rng, &SYLLABLES)).collect()
}

/// A random id in one of the shapes databases use: a code (`5Q8W`), a handle (`kalo42`), a compound
/// (`renta_vobel17`), an email, a prefixed number (`#K48213`) or a typed number (`gift_2869`); with `words`, also
/// a bare word (`Mora`), a word compound (`juan_mora_4821`) or a word email (`juan.mora47@example.com`).
fn random_id(rng: &mut GenRng, words: &[String]) -> String {
    let kinds = if words.is_empty() { 6 } else { 9 };
    match rng.random_range(0..kinds) {
        0 => {
            let n = rng.random_range(4..=7);
            code(rng, CODE_ALPHABET, n)
        }
        1 => format!("{}{}", name(rng), rng.random_range(10..100)),
        2 => format!("{}_{}{}", name(rng), name(rng), rng.random_range(10..100)),
        3 => format!("{}.{}{}@example.com", name(rng), name(rng), rng.random_range(10..100)),
        4 => format!("#{}{}", code(rng, b"ABCDEFGHJKLMNPQRSTUVWXYZ", 1), rng.random_range(1000..100_000)),
        5 => format!("{}_{}", name(rng), rng.random_range(1000..10_000)),
        6 => pick(rng, words).clone(),
        7 => format!("{}_{}_{}", pick(rng, words), pick(rng, words), rng.random_range(1000..10_000)),
        _ => format!("{}.{}{}@example.com", pick(rng, words), pick(rng, words), rng.random_range(10..100)),
    }
}

/// `form` with `{label}`, `{Label}` and `{id}` filled in.
fn fill(form: &str, label: &str, id: &str) -> String {
    let mut capital = label.to_owned();
    if let Some(first) = capital.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    form.replace("{label}", label).replace("{Label}", &capital).replace("{id}", id)
}

fn call(name: String, arguments: &[(String, &str)]) -> Message {
    let arguments: Map<String, Value> = arguments.iter().map(|(k, v)| (k.clone(), Value::from(*v))).collect();
    Message::Assistant(ParticipantMessage::calls(vec![agent_call(&name, arguments)]))
}

fn tool_result(content: String) -> Message {
    Message::Tool(ToolMessage { id: String::new(), content, requestor: Requestor::Assistant, error: false })
}

/// Drill `index` of the stream `seed`: a pure function of them and `words` (word tokens ids may be built from;
/// empty: ids of syllables, codes and digits only), like every generated task. Even indices are repeat drills,
/// odd ones ticket drills.
pub fn copy_drill(seed: u64, index: u64, words: &[String]) -> Rendered {
    let mut rng = derived_rng(seed, "copy_drill", None, index);
    if index.is_multiple_of(2) {
        return repeat_drill(&mut rng, words);
    }
    ticket_drill(&mut rng, words)
}

/// A list of random ids, then the same list again as the agent's text: every agent token after the first is a
/// copy of the token that followed its predecessor, the densest signal for learning to copy.
fn repeat_drill(rng: &mut GenRng, words: &[String]) -> Rendered {
    let n = rng.random_range(6..=10);
    let list = (0..n).map(|_| random_id(rng, words)).collect::<Vec<_>>().join(" ");
    let mut out = Rendered::default();
    out.push(SegmentKind::Prompt, &format!("{list}\n"));
    out.push(SegmentKind::Assistant, &list);
    out
}

/// A ticket with labelled ids, worked through with made-up tools (see the module documentation).
fn ticket_drill(rng: &mut GenRng, words: &[String]) -> Rendered {
    let facts = rng.random_range(2..=3);
    let labels: Vec<&str> = sample_indices(rng, LABELS.len(), facts).into_iter().map(|i| LABELS[i]).collect();
    let ids: Vec<String> = labels.iter().map(|_| random_id(rng, words)).collect();
    let target = rng.random_range(0..facts);
    let mut sentences: Vec<String> =
        labels.iter().zip(&ids).map(|(l, id)| fill(pick::<&str>(rng, &FACT_FORMS), l, id)).collect();
    sentences.push(fill(pick::<&str>(rng, &ASK_FORMS), labels[target], ""));
    let ticket = sentences.join(" ");

    let (label, id) = (labels[target], ids[target].as_str());
    let owner = random_id(rng, words);
    let status = *pick(rng, &STATUSES);
    let record = serde_json::json!({ format!("{label}_id"): id, "owner_id": owner, "status": status });
    let messages = vec![
        call(format!("lookup_{label}"), &[(format!("{label}_id"), id)]),
        tool_result(record.to_string()),
        call("notify_owner".to_owned(), &[("owner_id".to_owned(), &owner), (format!("{label}_id"), id)]),
        tool_result("ok".to_owned()),
        Message::Assistant(ParticipantMessage::text(format!("Your {label} {id} is {status}."))),
    ];
    render_conversation_with_system(&messages, &[], Some(&minimal_system(Mode::Ticket, &ticket)))
}

#[cfg(test)]
mod tests {
    use super::copy_drill;
    use crate::protocol::SegmentKind;

    #[test]
    fn a_drill_is_seeded_and_every_agent_id_comes_from_the_context_before_it() {
        let words: Vec<String> = ["Juan", "Mora", "courier"].map(String::from).to_vec();
        let mut with_words = 0;
        for index in 0..50 {
            let drill = copy_drill(3, index, &words);
            assert_eq!(drill, copy_drill(3, index, &words));
            assert_ne!(drill, copy_drill(4, index, &words));
            let text: String = drill.segments.iter().map(|s| s.text.as_str()).collect();
            with_words += usize::from(words.iter().any(|w| text.contains(w.as_str())));
            assert!(!copy_drill(3, index, &[]).segments.iter().any(|s| words.iter().any(|w| s.text.contains(w))));
            let agent: Vec<&str> =
                drill.segments.iter().filter(|s| s.kind == SegmentKind::Assistant).map(|s| s.text.as_str()).collect();
            if index % 2 == 0 {
                // A repeat drill: the agent writes the prompt's list again.
                assert_eq!(drill.segments[0].text.trim_end(), agent.concat());
                assert!(agent.concat().split(' ').count() >= 6);
                continue;
            }
            let mut context = String::new();
            let mut copied = 0;
            for segment in &drill.segments {
                if segment.kind == SegmentKind::Assistant {
                    let json = segment.text.split('\n').nth(1).unwrap_or_default();
                    if let Ok(call) = serde_json::from_str::<serde_json::Value>(json) {
                        for value in call["arguments"].as_object().into_iter().flatten().map(|(_, v)| v) {
                            let value = value.as_str().unwrap_or_default();
                            assert!(context.contains(value), "{value} not in context of drill {index}");
                            copied += 1;
                        }
                    }
                }
                context.push_str(&segment.text);
            }
            assert_eq!(copied, 3, "drill {index}: one lookup argument and two notify arguments");
        }
        assert!(with_words >= 10, "only {with_words} of 50 drills use the given words");
    }
}
