//! Per-domain statistics in one streaming pass (the seeds' `get_statistics()`): counts, success rate, reward
//! moments, lengths, termination reasons and failure-mode counts.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use serde::Serialize;

use crate::error::{BufferError, Result};
use crate::filter::RecordFilter;
use crate::reader::{BufferReader, Visit};
use crate::record::Record;

/// Mean, standard deviation (population, as numpy's default), minimum and maximum of a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Number of values.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// Running accumulator for a [`Summary`] (Welford's algorithm: stable for millions of values).
#[derive(Debug, Clone, Copy, Default)]
pub struct RunningSummary {
    count: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl RunningSummary {
    /// Adds one value.
    pub fn push(&mut self, value: f64) {
        if self.count == 0 {
            self.min = value;
            self.max = value;
        }
        self.count += 1;
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (value - self.mean);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// The summary so far; `None` before the first value.
    pub fn summary(&self) -> Option<Summary> {
        (self.count > 0).then(|| Summary {
            count: self.count,
            mean: self.mean,
            std: (self.m2 / self.count as f64).sqrt(),
            min: self.min,
            max: self.max,
        })
    }
}

/// Statistics of one domain (or of the whole buffer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainStats {
    /// Number of records.
    pub count: u64,
    /// Number of successful episodes.
    pub successes: u64,
    /// `successes / count`.
    pub success_rate: f64,
    /// Total reward.
    pub reward: Option<Summary>,
    /// Each named reward component (over the records that have it).
    pub reward_components: BTreeMap<String, Summary>,
    /// Conversation length in messages.
    pub messages: Option<Summary>,
    /// Episode length in tokens (over the records that carry token ids).
    pub tokens: Option<Summary>,
    /// Smallest and largest training step.
    pub steps: Option<(u64, u64)>,
    /// Count of each termination reason.
    pub termination: BTreeMap<String, u64>,
    /// Count of each failure-mode label.
    pub failure_modes: BTreeMap<String, u64>,
}

/// Accumulates [`DomainStats`].
#[derive(Debug, Default, Clone)]
struct DomainAccumulator {
    count: u64,
    successes: u64,
    reward: RunningSummary,
    components: BTreeMap<String, RunningSummary>,
    messages: RunningSummary,
    tokens: RunningSummary,
    steps: Option<(u64, u64)>,
    termination: BTreeMap<String, u64>,
    failure_modes: BTreeMap<String, u64>,
}

impl DomainAccumulator {
    fn push(&mut self, record: &Record) {
        self.count += 1;
        self.successes += u64::from(record.success);
        self.reward.push(record.reward);
        for (name, value) in &record.reward_components {
            self.components.entry(name.clone()).or_default().push(*value);
        }
        self.messages.push(record.messages.len() as f64);
        if let Some(tokens) = record.token_count() {
            self.tokens.push(tokens as f64);
        }
        self.steps = Some(match self.steps {
            Some((min, max)) => (min.min(record.step), max.max(record.step)),
            None => (record.step, record.step),
        });
        *self.termination.entry(record.termination.as_str().to_owned()).or_default() += 1;
        for mode in &record.failure_modes {
            *self.failure_modes.entry(mode.clone()).or_default() += 1;
        }
    }

    fn finish(self) -> DomainStats {
        DomainStats {
            count: self.count,
            successes: self.successes,
            success_rate: if self.count == 0 { 0.0 } else { self.successes as f64 / self.count as f64 },
            reward: self.reward.summary(),
            reward_components: self
                .components
                .into_iter()
                .filter_map(|(name, running)| running.summary().map(|s| (name, s)))
                .collect(),
            messages: self.messages.summary(),
            tokens: self.tokens.summary(),
            steps: self.steps,
            termination: self.termination,
            failure_modes: self.failure_modes,
        }
    }
}

/// Statistics of a buffer: file facts, the whole buffer, and each domain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BufferStats {
    /// Records in the buffer (before filtering).
    pub records: u64,
    /// Record blocks.
    pub blocks: u64,
    /// File size in bytes.
    pub file_bytes: u64,
    /// Decompressed size of all record blocks.
    pub uncompressed_bytes: u64,
    /// Whether a dictionary compresses the blocks.
    pub dictionary: bool,
    /// The torn tail dropped on open, described, if any.
    pub recovery: Option<String>,
    /// Statistics over all records that match the filter.
    pub overall: DomainStats,
    /// Statistics per domain, by name.
    pub domains: BTreeMap<String, DomainStats>,
}

/// Computes statistics over the records matching `filter`, in one pass and constant memory (apart from the
/// per-domain and per-label counters).
pub fn statistics<R: Read + Seek>(reader: &mut BufferReader<R>, filter: &RecordFilter) -> Result<BufferStats> {
    let mut overall = DomainAccumulator::default();
    let mut domains: BTreeMap<String, DomainAccumulator> = BTreeMap::new();
    let name = reader.name().to_owned();
    reader.visit(0..reader.blocks().len(), filter, |id, offset, view| {
        let record =
            view.decode().map_err(|reason| BufferError::corrupt(&name, offset, format!("record {id}: {reason}")))?;
        overall.push(&record);
        match domains.get_mut(&record.domain) {
            Some(accumulator) => accumulator.push(&record),
            None => {
                let mut accumulator = DomainAccumulator::default();
                accumulator.push(&record);
                domains.insert(record.domain.clone(), accumulator);
            }
        }
        Ok(Visit::Continue)
    })?;
    Ok(BufferStats {
        records: reader.len(),
        blocks: reader.blocks().len() as u64,
        file_bytes: reader.file_len(),
        uncompressed_bytes: reader.blocks().iter().map(|b| u64::from(b.header.raw_len)).sum(),
        dictionary: reader.dictionary_offset().is_some(),
        recovery: reader.recovery().map(ToString::to_string),
        overall: overall.finish(),
        domains: domains.into_iter().map(|(name, acc)| (name, acc.finish())).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_summary_matches_direct_formulas() {
        let values = [0.0, 1.0, 1.0, 0.5, 0.25];
        let mut running = RunningSummary::default();
        values.iter().for_each(|&v| running.push(v));
        let summary = running.summary().unwrap();
        let mean = values.iter().sum::<f64>() / 5.0;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 5.0;
        assert!((summary.mean - mean).abs() < 1e-12);
        assert!((summary.std - var.sqrt()).abs() < 1e-12);
        assert_eq!((summary.min, summary.max, summary.count), (0.0, 1.0, 5));
        assert_eq!(RunningSummary::default().summary(), None);
    }
}
