//! Which training tasks a step uses: consecutive slices of a per-epoch shuffle of the domain's tasks.
//!
//! The order is a pure function of (seed, domain, step), with no RNG state carried between steps, so a run
//! resumed at any step draws exactly the batches the uninterrupted run drew.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use retain_model::mode::mix_seed;

/// Indices into a domain's `n_tasks` tasks for training step `step` (0-based within the stream `stream`, e.g.
/// one per domain and phase).
pub fn batch_indices(n_tasks: usize, batch_size: usize, seed: u64, stream: u64, step: u64) -> Vec<usize> {
    if n_tasks == 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(batch_size);
    let mut epoch_cache: Option<(usize, Vec<usize>)> = None;
    for j in 0..batch_size {
        let item = step as usize * batch_size + j;
        let (epoch, position) = (item / n_tasks, item % n_tasks);
        if epoch_cache.as_ref().is_none_or(|(e, _)| *e != epoch) {
            epoch_cache = Some((epoch, permutation(n_tasks, mix_seed(mix_seed(seed, stream), epoch as u64))));
        }
        if let Some((_, order)) = &epoch_cache {
            out.push(order[position]);
        }
    }
    out
}

fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_once_per_epoch_and_reproducible() {
        let first: Vec<usize> = (0..5).flat_map(|s| batch_indices(10, 2, 7, 1, s)).collect();
        let mut sorted = first.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_eq!(batch_indices(10, 2, 7, 1, 3), batch_indices(10, 2, 7, 1, 3));
        assert_ne!(batch_indices(10, 4, 7, 1, 0), batch_indices(10, 4, 7, 2, 0));
        // A batch spanning an epoch boundary continues into the next epoch's order.
        assert_eq!(batch_indices(3, 4, 1, 0, 0).len(), 4);
    }
}
