//! Warm-start augmentation against memorised ids (`trainer.warm_start_randomize_ids`): every time a demonstration
//! is trained on, each database id in it (users, reservations, orders, emails, payment methods, …) and each
//! personal detail (names, zip codes) is replaced, consistently throughout the conversation, by a fake one that
//! looks like the real ones ([`Redraw`]). A model trained from scratch otherwise memorises the ids of the training
//! tasks and emits them for unseen tasks; with ids that never repeat, the only way to predict the agent's tool
//! arguments is to copy them from the ticket and the tool results — the skill test tasks need.
//!
//! Ids are matched as whole words (maximal runs of letters, digits, `_`, `@`, `.` and `-`, a trailing `.` ignored),
//! never as substrings, so replacing one id cannot damage another.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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

/// A word of an id: a run of letters, a run of digits, or one other character.
fn parts(id: &str) -> Vec<&str> {
    #[derive(PartialEq)]
    enum Class {
        Letter,
        Digit,
        Other,
    }
    let class = |c: char| match c {
        c if c.is_ascii_alphabetic() => Class::Letter,
        c if c.is_ascii_digit() => Class::Digit,
        _ => Class::Other,
    };
    let mut out = Vec::new();
    let (mut start, mut previous) = (0, Class::Other);
    for (i, c) in id.char_indices() {
        let current = class(c);
        if i > 0 && (current != previous || current == Class::Other) {
            out.push(&id[start..i]);
            start = i;
        }
        previous = current;
    }
    if start < id.len() {
        out.push(&id[start..]);
    }
    out
}

/// `text` with each letter replaced by a random letter of the same case and each digit by a random digit.
fn reshape(text: &str, rng: &mut ChaCha8Rng) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' => char::from(b'a' + rng.random_range(0..26u8)),
            'A'..='Z' => char::from(b'A' + rng.random_range(0..26u8)),
            '0'..='9' => char::from(b'0' + rng.random_range(0..10u8)),
            other => other,
        })
        .collect()
}

/// `word` written in the case of `like`: all lower case if `like` is, else as the pool has it.
fn recase(word: &str, like: &str) -> String {
    if like.chars().all(|c| c.is_ascii_lowercase()) { word.to_ascii_lowercase() } else { word.to_owned() }
}

/// How one domain's ids are re-drawn, so that a fake id still looks like the real ones: pooled values (names,
/// zip codes) become another member of their pool — also where they are part of an id (`mia_li10`,
/// `mia.li10@example.com`) —, words many ids share (`example`, `com`, `card`) are kept, and every other letter
/// and digit is drawn afresh. Why not redraw everything: an id whose every letter is redrawn (`example.com` in an
/// email, `credit_card` in a payment id) teaches a model that such parts are noise, and it then garbles them in
/// real ids. A value in two pools (a name that is both a first and a last name) belongs to the first.
#[derive(Debug, Clone)]
pub struct Redraw {
    /// Pools of interchangeable values.
    pools: Vec<Vec<String>>,
    /// Lower-cased pooled value → its pool.
    pool_of: HashMap<String, usize>,
    /// Lower-cased letter runs kept as they are.
    kept: HashSet<String>,
}

/// Fewest ids a letter run must occur in to be kept as a shared word (and at least one in a hundred ids).
const SHARED_WORD_MIN_IDS: usize = 5;

impl Redraw {
    /// The rules for a domain whose ids are `ids` and whose interchangeable values are `pools`. Letter runs of
    /// three or more letters that are not pooled and occur in at least [`SHARED_WORD_MIN_IDS`] ids and one in a
    /// hundred are kept.
    pub fn new(ids: &[String], pools: Vec<Vec<String>>) -> Self {
        let mut pool_of = HashMap::new();
        for (p, pool) in pools.iter().enumerate() {
            for value in pool {
                pool_of.entry(value.to_ascii_lowercase()).or_insert(p);
            }
        }
        let mut counts: HashMap<String, usize> = HashMap::new();
        for id in ids {
            let words: HashSet<String> = parts(id)
                .into_iter()
                .filter(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic()))
                .map(str::to_ascii_lowercase)
                .filter(|w| !pool_of.contains_key(w))
                .collect();
            for word in words {
                *counts.entry(word).or_default() += 1;
            }
        }
        let threshold = SHARED_WORD_MIN_IDS.max(ids.len() / 100);
        let kept = counts.into_iter().filter(|(_, n)| *n >= threshold).map(|(w, _)| w).collect();
        Redraw { pools, pool_of, kept }
    }

    /// Every value of every pool (they are replaced wherever they occur as words, like ids).
    pub fn pooled_values(&self) -> impl Iterator<Item = &String> {
        self.pools.iter().flatten()
    }
}

/// `segments` with every id of `ids` replaced by a fake one drawn from `seed` under `redraw`'s rules. The
/// replacement is consistent: the same id, and the same name or digit run inside different ids (`mia_li10` and
/// `mia.li10@example.com`), gets the same replacement everywhere in the conversation.
pub fn randomize_ids(segments: &[Segment], ids: &[String], redraw: &Redraw, seed: u64) -> Vec<Segment> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut replaced: BTreeMap<String, String> = BTreeMap::new();
    let mut fake = |id: &str, rng: &mut ChaCha8Rng| -> String {
        parts(id)
            .into_iter()
            .map(|part| {
                let lower = part.to_ascii_lowercase();
                // An all-capital run is a code fragment (`LEE` in a reservation code), not a name.
                let capitals = part.len() > 1 && part.chars().all(|c| c.is_ascii_uppercase());
                match redraw.pool_of.get(&lower) {
                    Some(&p) if !capitals => {
                        let pool = &redraw.pools[p];
                        let member =
                            replaced.entry(lower).or_insert_with(|| pool[rng.random_range(0..pool.len())].clone());
                        recase(member, part)
                    }
                    _ if redraw.kept.contains(&lower) => part.to_owned(),
                    _ => replaced.entry(part.to_owned()).or_insert_with(|| reshape(part, rng)).clone(),
                }
            })
            .collect()
    };
    let mapping: BTreeMap<&str, String> = ids.iter().map(|id| (id.as_str(), fake(id, &mut rng))).collect();
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

        let redraw = Redraw::new(&known.iter().cloned().collect::<Vec<_>>(), Vec::new());
        let out = randomize_ids(&segments, &ids, &redraw, 7);
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
        assert_eq!(randomize_ids(&segments, &ids, &redraw, 7), out);
        assert_ne!(randomize_ids(&segments, &ids, &redraw, 8), out);
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
        let redraw = Redraw::new(&[], pools.clone());
        let known: HashSet<String> = redraw.pooled_values().cloned().collect();
        let ids = ids_in(&segments, &known);
        assert_eq!(ids, ["33194", "Lena", "Wong"]);
        let mut seen_first = HashSet::new();
        for seed in 0..20 {
            let out = randomize_ids(&segments, &ids, &redraw, seed);
            let fields: Vec<&str> = out[1].text.split('"').collect();
            let (first, last, zip) = (fields[3], fields[7], fields[11]);
            assert!(pools[0].iter().any(|p| p == first) && pools[1].iter().any(|p| p == last));
            assert!(pools[2].iter().any(|p| p == zip));
            assert_eq!(out[0].text, format!("I am {first} {last}, zip {zip}."));
            seen_first.insert(first.to_owned());
        }
        assert!(seen_first.len() > 1, "the replacement varies with the seed");
    }

    #[test]
    fn names_inside_ids_follow_their_pool_swap_and_words_many_ids_share_are_kept() {
        let firsts = ["Mia", "Omar", "Lena", "Ivan", "Sara"];
        let lasts = ["Li", "Ruiz", "Wong", "King", "Chen"];
        let mut ids = Vec::new();
        for i in 0..10 {
            let (f, l) = (firsts[i % 5].to_ascii_lowercase(), lasts[(i * 3) % 5].to_ascii_lowercase());
            ids.push(format!("{f}_{l}{}", 10 + i));
            ids.push(format!("{f}.{l}{}@example.com", 10 + i));
            ids.push(format!("credit_card_{}", 5000 + i));
            ids.push(format!("LI{}", 70 + i));
        }
        let pools = vec![firsts.map(String::from).to_vec(), lasts.map(String::from).to_vec()];
        let redraw = Redraw::new(&ids, pools.clone());
        let segments = vec![
            segment(SegmentKind::Prompt, "I am Mia Li, email mia.li10@example.com, code LI70."),
            segment(SegmentKind::Assistant, "{\"user_id\": \"mia_li10\", \"payment_method_id\": \"credit_card_5000\"}"),
        ];
        let known: HashSet<String> = ids.iter().chain(redraw.pooled_values()).cloned().collect();
        let found = ids_in(&segments, &known);
        assert_eq!(found, ["LI70", "Li", "Mia", "credit_card_5000", "mia.li10@example.com", "mia_li10"]);
        let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
        let mut seen = HashSet::new();
        for seed in 0..20 {
            let out = randomize_ids(&segments, &found, &redraw, seed);
            let words: Vec<&str> = out[0].text.trim_end_matches('.').split(' ').collect();
            let (first, last) = (words[2], words[3].trim_end_matches(','));
            let (email, code) = (words[5].trim_end_matches(','), words[7]);
            assert!(pools[0].iter().any(|p| p == first) && pools[1].iter().any(|p| p == last), "{}", out[0].text);
            let (f, l) = (first.to_ascii_lowercase(), last.to_ascii_lowercase());
            // The user id and the email share their digits, as in the data.
            let number = email.strip_suffix("@example.com").unwrap().strip_prefix(&format!("{f}.{l}")).unwrap();
            assert!(digits(number, 2), "{email}");
            let fields: Vec<&str> = out[1].text.split('"').collect();
            assert_eq!(fields[3], format!("{f}_{l}{number}"));
            assert!(digits(fields[7].strip_prefix("credit_card_").unwrap(), 4), "{}", fields[7]);
            // A capital run is a code fragment: redrawn as letters, never replaced by a name.
            assert!(code.len() == 4 && code[..2].chars().all(|c| c.is_ascii_uppercase()), "{code}");
            seen.insert(fields[3].to_owned());
        }
        assert!(seen.len() > 10, "fresh ids for every seed");
    }
}
