//! The continual-learning formulas (DESIGN.md "Metrics", reference/cl.md §5.1) on a plain score matrix.
//!
//! Notation: `R[i][j]` is the score on domain `j` after training through domain `i` (both 1-based), `R[0][j]`
//! the score before any training. `T` is the number of domains trained so far (the number of "after" rows), so
//! every formula also works on a run that stopped early, and on the prefix `R[0..=t]` for the per-update table.

use std::fmt;

/// Why a figure cannot be computed; shown in reports instead of a misleading zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// No domain has been trained yet (the matrix has no "after" row).
    NoDomainTrained,
    /// The figure averages over earlier domains, so it needs at least two trained domains.
    NeedsTwoDomains,
    /// Forward transfer compares with the untrained model, whose row 0 was not evaluated.
    NoRowZero,
    /// Relative forgetting divides by the best score a domain ever reached, and every such score is zero.
    ZeroPeak,
    /// Intransigence needs a joint-training reference run.
    NoReference,
    /// The figure needs repeated trials per task, which the matrix does not hold.
    NoTrials,
    /// `pass^k` needs at least `k` trials of every task.
    TooFewTrials,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoDomainTrained => "no domain trained yet",
            Self::NeedsTwoDomains => "needs at least 2 trained domains",
            Self::NoRowZero => "unavailable: no evaluation before training (row 0)",
            Self::ZeroPeak => "every peak score is 0",
            Self::NoReference => "needs a joint-training reference run (--joint)",
            Self::NoTrials => "no per-task trial outcomes in matrix.json",
            Self::TooFewTrials => "fewer trials per task than k",
        })
    }
}

/// The accuracy matrix as numbers only: what every formula needs and what each bootstrap replicate produces.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreMatrix {
    /// Row 0, `R[0][j]`: scores of the untrained model, when it was evaluated.
    pub before: Option<Vec<f64>>,
    /// `after[i - 1][j - 1] = R[i][j]` for the `T` trained domains; every row has one score per domain.
    pub after: Vec<Vec<f64>>,
}

impl ScoreMatrix {
    /// Number of trained domains `T`.
    pub fn trained(&self) -> usize {
        self.after.len()
    }

    /// `R[i][j]` with 1-based `i` (0 = before training) and 1-based `j`.
    fn r(&self, i: usize, j: usize) -> f64 {
        // Callers stay within 1..=T for i ≥ 1 and check `before` for i = 0.
        if i == 0 { self.before.as_ref().map_or(f64::NAN, |row| row[j - 1]) } else { self.after[i - 1][j - 1] }
    }

    /// The matrix as it stood after `t` domains (rows `0..=t`), for per-update figures.
    pub fn through(&self, t: usize) -> ScoreMatrix {
        ScoreMatrix { before: self.before.clone(), after: self.after[..t.min(self.after.len())].to_vec() }
    }

    /// `ACC_t = (1/t)·Σ_{j≤t} R[t][j]`: mean score over the domains seen so far, after `t` domains.
    pub fn acc(&self, t: usize) -> Result<f64, Unavailable> {
        if t == 0 || t > self.trained() {
            return Err(Unavailable::NoDomainTrained);
        }
        Ok(mean((1..=t).map(|j| self.r(t, j))))
    }

    /// `ACC_T`, the headline figure: mean score over all trained domains at the end.
    pub fn final_acc(&self) -> Result<f64, Unavailable> {
        self.acc(self.trained())
    }

    /// Learning accuracy (plasticity) `LA = (1/T)·Σ_i R[i][i]`: how well each domain was learned when it was new.
    pub fn learning_accuracy(&self) -> Result<f64, Unavailable> {
        let t = self.trained();
        if t == 0 {
            return Err(Unavailable::NoDomainTrained);
        }
        Ok(mean((1..=t).map(|i| self.r(i, i))))
    }

    /// Backward transfer `BWT = 1/(T−1)·Σ_{i<T} (R[T][i] − R[i][i])` (GEM); negative means forgetting.
    pub fn bwt(&self) -> Result<f64, Unavailable> {
        let t = self.needs_two()?;
        Ok(mean((1..t).map(|i| self.r(t, i) - self.r(i, i))))
    }

    /// Best score domain `i` reached before the last update: `max_{l∈[i,T−1]} R[l][i]`.
    pub fn peak(&self, i: usize) -> Result<f64, Unavailable> {
        let t = self.needs_two()?;
        if i == 0 || i >= t {
            return Err(Unavailable::NeedsTwoDomains);
        }
        Ok((i..t).map(|l| self.r(l, i)).fold(f64::NEG_INFINITY, f64::max))
    }

    /// Forgetting of domain `i < T` (Chaudhry et al.): `f_i = max_{l∈[i,T−1]} R[l][i] − R[T][i]`.
    pub fn forgetting_of(&self, i: usize) -> Result<f64, Unavailable> {
        Ok(self.peak(i)? - self.r(self.trained(), i))
    }

    /// Relative forgetting of domain `i < T`: `f_i / max_{l∈[i,T−1]} R[l][i]`, comparable across domains whose
    /// base success rates differ.
    pub fn relative_forgetting_of(&self, i: usize) -> Result<f64, Unavailable> {
        let peak = self.peak(i)?;
        if peak <= 0.0 {
            return Err(Unavailable::ZeroPeak);
        }
        Ok(self.forgetting_of(i)? / peak)
    }

    /// Average forgetting `F = 1/(T−1)·Σ_{i<T} f_i`.
    pub fn forgetting(&self) -> Result<f64, Unavailable> {
        let t = self.needs_two()?;
        let values = (1..t).map(|i| self.forgetting_of(i)).collect::<Result<Vec<_>, _>>()?;
        Ok(mean(values))
    }

    /// Average relative forgetting over the domains `i < T` whose peak is above zero (0/0 is left out, not 0).
    pub fn relative_forgetting(&self) -> Result<f64, Unavailable> {
        let t = self.needs_two()?;
        let values: Vec<f64> = (1..t).filter_map(|i| self.relative_forgetting_of(i).ok()).collect();
        if values.is_empty() {
            return Err(Unavailable::ZeroPeak);
        }
        Ok(mean(values))
    }

    /// Forward transfer `FWT = 1/(T−1)·Σ_{i=2..T} (R[i−1][i] − R[0][i])` (GEM): how much earlier domains helped a
    /// domain before it was trained. Unavailable — never zero — without row 0.
    pub fn fwt(&self) -> Result<f64, Unavailable> {
        let t = self.needs_two()?;
        if self.before.is_none() {
            return Err(Unavailable::NoRowZero);
        }
        Ok(mean((2..=t).map(|i| self.r(i - 1, i) - self.r(0, i))))
    }

    /// Intransigence of domain `k ≤ T` (Chaudhry et al.): `I_k = R*_k − R[k][k]`, where `R*` holds the scores of a
    /// joint (multi-task) training run: how much the sequential learner falls short of learning `k` at all.
    pub fn intransigence_of(&self, k: usize, reference: &[f64]) -> Result<f64, Unavailable> {
        if k == 0 || k > self.trained() {
            return Err(Unavailable::NoDomainTrained);
        }
        let star = reference.get(k - 1).copied().ok_or(Unavailable::NoReference)?;
        Ok(star - self.r(k, k))
    }

    /// Mean intransigence over the trained domains.
    pub fn intransigence(&self, reference: &[f64]) -> Result<f64, Unavailable> {
        let t = self.trained();
        if t == 0 {
            return Err(Unavailable::NoDomainTrained);
        }
        let values = (1..=t).map(|k| self.intransigence_of(k, reference)).collect::<Result<Vec<_>, _>>()?;
        Ok(mean(values))
    }

    fn needs_two(&self) -> Result<usize, Unavailable> {
        match self.trained() {
            0 => Err(Unavailable::NoDomainTrained),
            1 => Err(Unavailable::NeedsTwoDomains),
            t => Ok(t),
        }
    }
}

/// Arithmetic mean; callers never pass an empty sequence (NaN if they do, never a panic).
pub(crate) fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values.into_iter().fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n as f64
}
