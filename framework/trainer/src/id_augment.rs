//! Warm-start augmentation against memorised ids (`trainer.warm_start_randomize_ids`): every time a demonstration
//! is trained on, each database id in it (users, reservations, orders, emails, payment methods, …) is replaced,
//! consistently throughout the conversation, by a fresh random string of the same shape (letters by letters of the
//! same case, digits by digits, punctuation kept). A model trained from scratch otherwise memorises the ids of the
//! training tasks and emits them for unseen tasks; with ids that never repeat, the only way to predict the agent's
//! tool arguments is to copy them from the ticket and the tool results — the skill test tasks need.
//!
//! Ids are matched as whole words (maximal runs of letters, digits, `_`, `@`, `.` and `-`, a trailing `.` ignored),
//! never as substrings, so replacing one id cannot damage another.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use retain_data::protocol::Segment;

/// Whether `c` can be part of an id word.
fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '.' | '-')
}

/// Calls `f` on every word of `text` with its byte range (a trailing `.` is left out of the word).
fn for_each_word(text: &str, mut f: impl FnMut(usize, usize)) {
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (start, id_char(c)) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                let end = if text[s..i].ends_with('.') { i - 1 } else { i };
                if end > s {
                    f(s, end);
                }
                start = None;
            }
            _ => {}
        }
    }
}

/// The ids of `known` that occur as words in `segments`, sorted (so the draw order is fixed).
pub fn ids_in(segments: &[Segment], known: &HashSet<String>) -> Vec<String> {
    let mut found = BTreeSet::new();
    for segment in segments {
        for_each_word(&segment.text, |s, e| {
            if known.contains(&segment.text[s..e]) {
                found.insert(segment.text[s..e].to_owned());
            }
        });
    }
    found.into_iter().collect()
}

/// A random string shaped like `id`: each letter replaced by a random letter of the same case, each digit by a
/// random digit, anything else kept.
fn reshape(id: &str, rng: &mut ChaCha8Rng) -> String {
    id.chars()
        .map(|c| match c {
            'a'..='z' => char::from(b'a' + rng.random_range(0..26u8)),
            'A'..='Z' => char::from(b'A' + rng.random_range(0..26u8)),
            '0'..='9' => char::from(b'0' + rng.random_range(0..10u8)),
            other => other,
        })
        .collect()
}

/// `segments` with every id of `ids` replaced by its random counterpart drawn from `seed` (the same id gets the
/// same replacement everywhere in the conversation): a random member of its pool when one of `pools` holds it
/// (names, zip codes), else a random string of its shape.
pub fn randomize_ids(segments: &[Segment], ids: &[String], pools: &[Vec<String>], seed: u64) -> Vec<Segment> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mapping: BTreeMap<&str, String> = ids
        .iter()
        .map(|id| {
            let replacement = match pools.iter().find(|pool| pool.contains(id)) {
                Some(pool) => pool[rng.random_range(0..pool.len())].clone(),
                None => reshape(id, &mut rng),
            };
            (id.as_str(), replacement)
        })
        .collect();
    segments
        .iter()
        .map(|segment| {
            let text = &segment.text;
            let mut out = String::with_capacity(text.len());
            let mut copied = 0;
            for_each_word(text, |s, e| {
                if let Some(new) = mapping.get(&text[s..e]) {
                    out.push_str(&text[copied..s]);
                    out.push_str(new);
                    copied = e;
                }
            });
            out.push_str(&text[copied..]);
            Segment { kind: segment.kind, text: out }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use retain_data::protocol::SegmentKind;

    fn segment(kind: SegmentKind, text: &str) -> Segment {
        Segment { kind, text: text.to_owned() }
    }

    #[test]
    fn ids_are_replaced_consistently_by_same_shape_strings_and_nothing_else_changes() {
        let segments = vec![
            segment(
                SegmentKind::Prompt,
                "User id: nina23. Cancel reservation UAEC (not UAECX), mail nina23@example.com.",
            ),
            segment(SegmentKind::Assistant, "{\"reservation_id\": \"UAEC\", \"user_id\": \"nina23\"}"),
        ];
        let known: HashSet<String> =
            ["nina23", "UAEC", "nina23@example.com", "ZZZZ"].iter().map(|s| s.to_string()).collect();
        let ids = ids_in(&segments, &known);
        assert_eq!(ids, ["UAEC", "nina23", "nina23@example.com"]);

        let out = randomize_ids(&segments, &ids, &[], 7);
        assert_eq!(out[0].kind, SegmentKind::Prompt);
        let reservation = out[1].text.split('"').nth(3).unwrap().to_owned();
        let user = out[1].text.split('"').nth(7).unwrap().to_owned();
        assert_ne!(reservation, "UAEC");
        assert!(reservation.len() == 4 && reservation.chars().all(|c| c.is_ascii_uppercase()));
        assert!(user.len() == 6 && user[..4].chars().all(|c| c.is_ascii_lowercase()));
        assert!(user[4..].chars().all(|c| c.is_ascii_digit()));
        // The same replacement everywhere; words that only contain an id are left alone.
        assert!(out[0].text.contains(&format!("User id: {user}.")));
        assert!(out[0].text.contains(&format!("reservation {reservation} (not UAECX)")));
        assert!(!out[0].text.contains("nina23@example.com") && out[0].text.contains("@"));
        // Reproducible for a seed, different for another.
        assert_eq!(randomize_ids(&segments, &ids, &[], 7), out);
        assert_ne!(randomize_ids(&segments, &ids, &[], 8), out);
    }

    #[test]
    fn pooled_values_are_swapped_for_another_member_of_their_pool() {
        let segments = vec![
            segment(SegmentKind::Prompt, "I am Lena Wong, zip 33194."),
            segment(SegmentKind::Assistant, "{\"first_name\": \"Lena\", \"last_name\": \"Wong\", \"zip\": \"33194\"}"),
        ];
        let pools = vec![
            vec!["Lena".to_owned(), "Nina".to_owned(), "Omar".to_owned()],
            vec!["Wong".to_owned(), "King".to_owned()],
            vec!["33194".to_owned(), "97250".to_owned()],
        ];
        let known: HashSet<String> = pools.iter().flatten().cloned().collect();
        let ids = ids_in(&segments, &known);
        assert_eq!(ids, ["33194", "Lena", "Wong"]);
        let mut seen_first = HashSet::new();
        for seed in 0..20 {
            let out = randomize_ids(&segments, &ids, &pools, seed);
            let fields: Vec<&str> = out[1].text.split('"').collect();
            let (first, last, zip) = (fields[3], fields[7], fields[11]);
            assert!(pools[0].iter().any(|p| p == first) && pools[1].iter().any(|p| p == last));
            assert!(pools[2].iter().any(|p| p == zip));
            assert_eq!(out[0].text, format!("I am {first} {last}, zip {zip}."));
            seen_first.insert(first.to_owned());
        }
        assert!(seen_first.len() > 1, "the replacement varies with the seed");
    }
}
