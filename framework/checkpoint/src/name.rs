//! Checkpoint names: `checkpoint_task_{i}` after domain `i`, `checkpoint_task_{i}_step_{s}` after step `s` inside
//! domain `i`. The name is the directory name, and it orders checkpoints in the time of the run.

use crate::error::{CheckpointError, Result};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

const PREFIX: &str = "checkpoint_task_";
const STEP: &str = "_step_";

/// Where in the run a checkpoint was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CheckpointName {
    /// 0-based index of the domain in the task order.
    pub domain_index: usize,
    /// Optimizer steps done inside the domain for a mid-domain checkpoint; `None` after the domain ended.
    pub step: Option<u64>,
}

impl CheckpointName {
    /// The checkpoint written after domain `domain_index` ended (never pruned).
    pub fn domain_end(domain_index: usize) -> Self {
        CheckpointName { domain_index, step: None }
    }

    /// A checkpoint inside domain `domain_index` after `step` optimizer steps of it (subject to keep-last-K).
    pub fn mid_domain(domain_index: usize, step: u64) -> Self {
        CheckpointName { domain_index, step: Some(step) }
    }

    /// True for `checkpoint_task_{i}_step_{s}`.
    pub fn is_mid_domain(&self) -> bool {
        self.step.is_some()
    }
}

impl fmt::Display for CheckpointName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step {
            None => write!(f, "{PREFIX}{}", self.domain_index),
            Some(step) => write!(f, "{PREFIX}{}{STEP}{step}", self.domain_index),
        }
    }
}

impl FromStr for CheckpointName {
    type Err = CheckpointError;

    fn from_str(name: &str) -> Result<Self> {
        let invalid = || CheckpointError::InvalidName { name: name.to_owned() };
        let rest = name.strip_prefix(PREFIX).ok_or_else(invalid)?;
        let (task, step) = match rest.split_once(STEP) {
            Some((task, step)) => (task, Some(step)),
            None => (rest, None),
        };
        let domain_index = parse_decimal(task).ok_or_else(invalid)?;
        let step = step.map(|s| parse_decimal(s).ok_or_else(invalid)).transpose()?;
        Ok(CheckpointName { domain_index: usize::try_from(domain_index).map_err(|_| invalid())?, step })
    }
}

/// Plain decimal digits without sign or leading zeros, so every name has exactly one spelling.
fn parse_decimal(text: &str) -> Option<u64> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

impl Ord for CheckpointName {
    /// Run order: by domain; inside a domain by step, and the domain-end checkpoint after every step of it.
    fn cmp(&self, other: &Self) -> Ordering {
        self.domain_index.cmp(&other.domain_index).then_with(|| match (self.step, other.step) {
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
    }
}

impl PartialOrd for CheckpointName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_in_run_time() {
        let names =
            ["checkpoint_task_0_step_5", "checkpoint_task_0_step_40", "checkpoint_task_0", "checkpoint_task_1_step_1"];
        let parsed: Vec<CheckpointName> = names.iter().map(|n| n.parse().unwrap()).collect();
        for (text, name) in names.iter().zip(&parsed) {
            assert_eq!(&name.to_string(), text);
        }
        let mut sorted = parsed.clone();
        sorted.sort();
        assert_eq!(sorted, parsed);
    }

    #[test]
    fn rejects_other_spellings() {
        for bad in [
            "checkpoint_task_",
            "checkpoint_task_01",
            "checkpoint_task_1_step_",
            "checkpoint_task_-1",
            "latest",
            "checkpoint_task_1_step_2_x",
        ] {
            assert!(bad.parse::<CheckpointName>().is_err(), "{bad}");
        }
    }
}
