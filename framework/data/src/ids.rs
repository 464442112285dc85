//! Seeded randomness and short, readable entity names and ids.
//!
//! Ids are short on purpose: the tiny model has to copy them from tool results into later calls, and
//! copying is cheapest when an id is a few characters (see DESIGN.md, "Known risk").

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::knobs::Split;

/// The generator's random number generator.
pub type GenRng = ChaCha8Rng;

/// A stream derived from the run seed and a purpose (domain, split, index), so each task is generated
/// independently of the others: task `i` is the same whatever `n` is.
pub fn derived_rng(seed: u64, domain: &str, split: Option<Split>, index: u64) -> GenRng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in domain.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut s = seed ^ h.rotate_left(17);
    if let Some(split) = split {
        s ^= split.stream();
    }
    s = s.wrapping_add(index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    ChaCha8Rng::seed_from_u64(s)
}

/// First names used for generated people.
pub const FIRST_NAMES: [&str; 40] = [
    "Mia", "Noah", "Ava", "Liam", "Emma", "Omar", "Yara", "Ivan", "Lena", "Raj", "Sara", "Leo", "Nora", "Amir", "Zoe",
    "Kai", "Ella", "Hugo", "Iris", "Juan", "Lucy", "Marc", "Nina", "Otto", "Pia", "Ravi", "Sofia", "Tom", "Uma",
    "Vera", "Wen", "Alan", "Bea", "Cole", "Dina", "Eli", "Fay", "Gus", "Hana", "Ian",
];

/// Last names used for generated people.
pub const LAST_NAMES: [&str; 40] = [
    "Li", "Kim", "Diaz", "Khan", "Lee", "Ng", "Patel", "Silva", "Ito", "Moore", "Cruz", "Shah", "Wong", "Hall", "Ruiz",
    "Park", "Chen", "Bell", "Ali", "Ross", "Gray", "Ford", "Reid", "Lopez", "Sato", "Wood", "Hill", "Cole", "Rossi",
    "Nash", "Ortiz", "Young", "King", "Lane", "Mora", "Hart", "Kato", "Vega", "Rahman", "Dunn",
];

/// Street names for addresses.
pub const STREETS: [&str; 10] =
    ["Oak St", "Elm St", "Pine Ave", "Main St", "Lake Rd", "Hill Rd", "Park Ave", "River Rd", "Maple Dr", "Cedar Ln"];

/// (city, state, zip prefix) triples for addresses.
pub const CITIES: [(&str, &str, &str); 8] = [
    ("Austin", "TX", "787"),
    ("Denver", "CO", "802"),
    ("Boston", "MA", "021"),
    ("Seattle", "WA", "981"),
    ("Miami", "FL", "331"),
    ("Phoenix", "AZ", "850"),
    ("Chicago", "IL", "606"),
    ("Portland", "OR", "972"),
];

/// Picks one element.
pub fn pick<'a, T>(rng: &mut GenRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// `n` random characters from `alphabet`.
pub fn code(rng: &mut GenRng, alphabet: &[u8], n: usize) -> String {
    (0..n).map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())])).collect()
}

/// Uppercase letters and digits without the easily confused `0`, `O`, `1`, `I`.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A date of birth between 1950 and 2004.
pub fn dob(rng: &mut GenRng) -> String {
    format!("{}-{:02}-{:02}", rng.random_range(1950..2005), rng.random_range(1..13), rng.random_range(1..29))
}

/// Chooses `k` distinct indices of `0..n` in random order (Floyd's algorithm would be overkill here).
pub fn sample_indices(rng: &mut GenRng, n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = rng.random_range(i..n);
        all.swap(i, j);
    }
    all.truncate(k);
    all
}
