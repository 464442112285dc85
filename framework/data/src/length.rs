//! Episode length measurement without a trained tokenizer.
//!
//! Until the domain tokenizer exists, lengths are estimated with a simple proxy: a *piece* is a maximal run
//! of ASCII letters or digits (capped at 6 characters per piece — long words split in BPE) or any single other
//! non-space character. For code-like text (JSON, ids) this tracks a small BPE vocabulary better than
//! bytes/4, which is reported alongside.

use serde::Serialize;

/// Number of proxy pieces in `text`.
pub fn proxy_tokens(text: &str) -> usize {
    let mut count = 0;
    let mut run = 0usize;
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            if run == 0 || run == 6 {
                count += 1;
                run = 0;
            }
            run += 1;
        } else {
            run = 0;
            if !ch.is_whitespace() {
                count += 1;
            }
        }
    }
    count
}

/// Distribution summary of a list of lengths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LengthStats {
    /// Number of samples.
    pub n: usize,
    /// Smallest.
    pub min: usize,
    /// Median.
    pub p50: usize,
    /// 90th percentile.
    pub p90: usize,
    /// Largest.
    pub max: usize,
    /// Mean.
    pub mean: f64,
}

impl LengthStats {
    /// Summarises `values` (empty input gives all zeros).
    pub fn of(values: &[usize]) -> Self {
        let mut v = values.to_vec();
        v.sort_unstable();
        let n = v.len();
        if n == 0 {
            return LengthStats { n, min: 0, p50: 0, p90: 0, max: 0, mean: 0.0 };
        }
        let at = |q: f64| v[((n - 1) as f64 * q).round() as usize];
        LengthStats {
            n,
            min: v[0],
            p50: at(0.5),
            p90: at(0.9),
            max: v[n - 1],
            mean: v.iter().sum::<usize>() as f64 / n as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces() {
        // { " user _ id " : " mia12 " }
        assert_eq!(proxy_tokens(r#"{"user_id": "mia12"}"#), 11);
        assert_eq!(proxy_tokens("abcdefghij"), 2);
        assert_eq!(LengthStats::of(&[1, 2, 3]).p50, 2);
    }
}
