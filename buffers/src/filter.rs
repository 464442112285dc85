//! Record filters (domain, reward range, step range, success): evaluated on the binary prefix of each record, and
//! on block headers to skip whole blocks, so filtering never parses JSON it does not need.

use serde::{Deserialize, Serialize};

use crate::codec::RecordView;
use crate::format::BlockHeader;
use crate::record::Record;

/// Which records to keep. Every bound is inclusive; `None` means "any". The default keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordFilter {
    /// Keep only this domain.
    pub domain: Option<String>,
    /// Keep records with `reward >= min_reward` (the seeds' `export_trajectories(min_reward=0.7)`).
    pub min_reward: Option<f64>,
    /// Keep records with `reward <= max_reward`.
    pub max_reward: Option<f64>,
    /// Keep records produced at `step >= min_step`.
    pub min_step: Option<u64>,
    /// Keep records produced at `step <= max_step`.
    pub max_step: Option<u64>,
    /// Keep only successful (`Some(true)`) or only failed (`Some(false)`) episodes.
    pub success: Option<bool>,
}

impl RecordFilter {
    /// A filter that keeps everything.
    pub fn all() -> Self {
        Self::default()
    }

    /// Restricts to one domain.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Restricts to rewards in `min..=max`.
    pub fn reward_range(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.min_reward = min;
        self.max_reward = max;
        self
    }

    /// Restricts to steps in `min..=max`.
    pub fn step_range(mut self, min: Option<u64>, max: Option<u64>) -> Self {
        self.min_step = min;
        self.max_step = max;
        self
    }

    /// Restricts to successful or failed episodes.
    pub fn success(mut self, success: bool) -> Self {
        self.success = Some(success);
        self
    }

    /// Whether any record of a block with this header can match (from its step and reward ranges).
    pub(crate) fn may_match_block(&self, header: &BlockHeader) -> bool {
        !(self.min_step.is_some_and(|min| header.max_step < min)
            || self.max_step.is_some_and(|max| header.min_step > max)
            || self.min_reward.is_some_and(|min| header.max_reward < min)
            || self.max_reward.is_some_and(|max| header.min_reward > max))
    }

    /// Whether a record matches, from the fields of its binary prefix.
    pub(crate) fn matches_view(&self, view: &RecordView<'_>) -> bool {
        self.matches(view.domain, view.step, view.reward, view.success)
    }

    /// Whether a decoded record matches.
    pub fn matches_record(&self, record: &Record) -> bool {
        self.matches(&record.domain, record.step, record.reward, record.success)
    }

    fn matches(&self, domain: &str, step: u64, reward: f64, success: bool) -> bool {
        self.domain.as_deref().is_none_or(|d| d == domain)
            && self.min_reward.is_none_or(|min| reward >= min)
            && self.max_reward.is_none_or(|max| reward <= max)
            && self.min_step.is_none_or(|min| step >= min)
            && self.max_step.is_none_or(|max| step <= max)
            && self.success.is_none_or(|s| s == success)
    }
}
