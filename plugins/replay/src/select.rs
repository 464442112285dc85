//! The arithmetic of replay, free of host calls so it can be tested alone: how many slots each earlier domain gets,
//! unbiased uniform draws, and weighted draws without replacement. Randomness always comes from the caller's
//! `next` (the host's seeded stream), so a resumed run draws the same values.

/// A uniform integer in `0..n` (`n ≥ 1`), without modulo bias: values below `2^64 mod n` are redrawn.
pub fn below(n: usize, next: &mut dyn FnMut() -> u64) -> usize {
    let n = n.max(1) as u64;
    let threshold = n.wrapping_neg() % n;
    loop {
        let v = next();
        if v >= threshold {
            return (v % n) as usize;
        }
    }
}

/// A uniform value in `[0, 1)` with 53 random bits.
pub fn unit(next: &mut dyn FnMut() -> u64) -> f64 {
    (next() >> 11) as f64 / (1u64 << 53) as f64
}

/// `k` slots split equally over `n` domains; the `k mod n` extra slots go to the domains at positions
/// `rotation, rotation + 1, …` (mod `n`), so over consecutive rotations every domain gets the same share.
pub fn equal_quotas(k: usize, n: usize, rotation: u64) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut quotas = vec![k / n; n];
    let start = (rotation % n as u64) as usize;
    for i in 0..k % n {
        quotas[(start + i) % n] += 1;
    }
    quotas
}

/// `k` slots over domains with `shares` (summing to 1) by smooth weighted round-robin: each slot adds every
/// domain's share to its credit and goes to the largest credit (first on ties), which then pays 1. Credits carry
/// over between calls, so a domain with a small share still gets its slots over time instead of being rounded
/// away every step.
pub fn smooth_quotas(k: usize, shares: &[f64], credits: &mut [f64]) -> Vec<usize> {
    let mut quotas = vec![0; shares.len()];
    if shares.is_empty() {
        return quotas;
    }
    for _ in 0..k {
        for (c, s) in credits.iter_mut().zip(shares) {
            *c += s;
        }
        let mut best = 0;
        for i in 1..credits.len() {
            if credits[i] > credits[best] {
                best = i;
            }
        }
        credits[best] -= 1.0;
        quotas[best] += 1;
    }
    quotas
}

/// Up to `count` distinct positions of `weights`, drawn one after the other with probability proportional to the
/// weights of those left (uniformly when all that are left weigh 0).
pub fn weighted_without_replacement(weights: &[f64], count: usize, next: &mut dyn FnMut() -> u64) -> Vec<usize> {
    let mut left: Vec<usize> = (0..weights.len()).collect();
    let mut out = Vec::with_capacity(count.min(left.len()));
    while out.len() < count && !left.is_empty() {
        let total: f64 = left.iter().map(|&i| weights[i].max(0.0)).sum();
        let pick = if total > 0.0 {
            let target = unit(next) * total;
            let mut acc = 0.0;
            let mut chosen = left.len() - 1;
            for (pos, &i) in left.iter().enumerate() {
                acc += weights[i].max(0.0);
                if target < acc {
                    chosen = pos;
                    break;
                }
            }
            chosen
        } else {
            below(left.len(), next)
        };
        out.push(left.remove(pick));
    }
    out
}

/// Up to `count` positions of `pool`, uniformly without replacement, skipping positions whose `key` was already
/// drawn (so a task stored twice is not replayed twice in one batch).
pub fn distinct_uniform<K: PartialEq>(
    pool: &[usize],
    count: usize,
    key: impl Fn(usize) -> K,
    next: &mut dyn FnMut() -> u64,
) -> Vec<usize> {
    let mut pool = pool.to_vec();
    let mut keys: Vec<K> = Vec::new();
    let mut out = Vec::new();
    let mut end = pool.len();
    while out.len() < count && end > 0 {
        let j = below(end, next);
        pool.swap(j, end - 1);
        end -= 1;
        let k = key(pool[end]);
        if !keys.contains(&k) {
            keys.push(k);
            out.push(pool[end]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    #[test]
    fn equal_quotas_rotate_the_remainder() {
        assert_eq!(equal_quotas(3, 2, 0), [2, 1]);
        assert_eq!(equal_quotas(3, 2, 1), [1, 2]);
        assert_eq!(equal_quotas(5, 3, 2), [2, 1, 2]);
        assert_eq!(equal_quotas(1, 3, 4), [0, 1, 0]);
        assert!(equal_quotas(4, 0, 0).is_empty());
    }

    #[test]
    fn smooth_quotas_follow_small_shares_over_time() {
        let mut credits = [0.0, 0.0];
        let total = (0..10).fold([0, 0], |acc, _| {
            let q = smooth_quotas(2, &[0.95, 0.05], &mut credits);
            assert_eq!(q.iter().sum::<usize>(), 2);
            [acc[0] + q[0], acc[1] + q[1]]
        });
        assert_eq!(total, [19, 1]);
    }

    #[test]
    fn weighted_draws_favour_heavy_positions_and_never_repeat() {
        let mut next = stream(7);
        let mut hits = [0usize; 3];
        for _ in 0..2000 {
            let picked = weighted_without_replacement(&[1.0, 0.0, 9.0], 1, &mut next);
            hits[picked[0]] += 1;
        }
        assert_eq!(hits[1], 0);
        assert!((1600..1990).contains(&hits[2]), "{hits:?}");
        let all = weighted_without_replacement(&[0.0, 0.0, 0.0], 5, &mut next);
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2]);
    }

    #[test]
    fn uniform_draws_skip_duplicate_keys() {
        let mut next = stream(3);
        let keys = ["a", "a", "b", "a"];
        let picked = distinct_uniform(&[0, 1, 2, 3], 4, |i| keys[i], &mut next);
        assert_eq!(picked.len(), 2);
        assert_ne!(keys[picked[0]], keys[picked[1]]);
        let mut counts = [0usize; 4];
        for _ in 0..4000 {
            counts[below(4, &mut next)] += 1;
        }
        assert!(counts.iter().all(|&c| (850..1150).contains(&c)), "{counts:?}");
    }
}
