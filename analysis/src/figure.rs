//! A reported number with its uncertainty, or the reason it cannot be computed — never a silent zero.

use serde::{Serialize, Serializer};

use crate::cl_metrics::Unavailable;

/// A two-sided bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// One figure of a report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    /// A value, with its interval when per-task trials allowed a bootstrap.
    Value {
        /// Point estimate from the stored scores.
        value: f64,
        /// Bootstrap interval, when available.
        interval: Option<Interval>,
    },
    /// The figure is not defined for this run; the reason is shown instead.
    Unavailable(Unavailable),
}

impl Figure {
    /// The point estimate, if any.
    pub fn value(&self) -> Option<f64> {
        match self {
            Self::Value { value, .. } => Some(*value),
            Self::Unavailable(_) => None,
        }
    }

    /// The interval, if any.
    pub fn interval(&self) -> Option<Interval> {
        match self {
            Self::Value { interval, .. } => *interval,
            Self::Unavailable(_) => None,
        }
    }

    /// `0.512 [0.431, 0.590]`, `0.512`, or `n/a` — for tables.
    pub fn display(&self) -> String {
        match self {
            Self::Value { value, interval: Some(i) } => format!("{} [{}, {}]", fmt3(*value), fmt3(i.low), fmt3(i.high)),
            Self::Value { value, interval: None } => fmt3(*value),
            Self::Unavailable(_) => "n/a".to_owned(),
        }
    }
}

/// Three decimals, with `-0.000` written as `0.000` so tables stay stable.
pub fn fmt3(v: f64) -> String {
    let s = format!("{v:.3}");
    if s == "-0.000" { "0.000".to_owned() } else { s }
}

#[derive(Serialize)]
struct FigureJson {
    value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    high: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unavailable: Option<String>,
}

impl Serialize for Figure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let json = match self {
            Self::Value { value, interval } => FigureJson {
                value: Some(*value),
                low: interval.map(|i| i.low),
                high: interval.map(|i| i.high),
                unavailable: None,
            },
            Self::Unavailable(reason) => {
                FigureJson { value: None, low: None, high: None, unavailable: Some(reason.to_string()) }
            }
        };
        json.serialize(serializer)
    }
}
