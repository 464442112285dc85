//! `pass^k` as τ²-bench's leaderboard defines it: the chance that `k` trials of a task, drawn without
//! replacement from its `n` recorded trials, all succeed, averaged over tasks.

use crate::cl_metrics::{Unavailable, mean};

/// `C(c, k) / C(n, k)` for one task with `c` successes out of `n` trials, computed as a product so it never
/// overflows: `Π_{m<k} (c − m) / (n − m)`. Returns `None` when `k > n` (the estimate needs `k` trials).
pub fn task_pass_hat_k(successes: usize, trials: usize, k: usize) -> Option<f64> {
    if k > trials || successes > trials {
        return None;
    }
    if k > successes {
        return Some(0.0);
    }
    Some((0..k).map(|m| (successes - m) as f64 / (trials - m) as f64).product())
}

/// `pass^k` over tasks: `mean_tasks C(c, k) / C(n, k)`. Each item is one task's trial outcomes.
/// Unavailable when there are no tasks or some task has fewer than `k` trials; `pass^1` is the success rate.
pub fn pass_hat_k<'a>(tasks: impl IntoIterator<Item = &'a [bool]>, k: usize) -> Result<f64, Unavailable> {
    let mut values = Vec::new();
    for outcomes in tasks {
        let successes = outcomes.iter().filter(|&&ok| ok).count();
        values.push(task_pass_hat_k(successes, outcomes.len(), k).ok_or(Unavailable::TooFewTrials)?);
    }
    if values.is_empty() || k == 0 {
        return Err(Unavailable::NoTrials);
    }
    Ok(mean(values))
}
