//! Calendar dates and date-times of the telecom databases, and τ²'s fixed clock.
//!
//! τ² stores dates as Python `datetime.date` / `datetime.datetime` objects and renders them with `str()`
//! (`2025-02-25`, `2025-01-20 14:30:00`) when a database record is dumped to JSON. Only proleptic-Gregorian
//! day arithmetic is needed (first of month, plus/minus days), so a small civil-date type avoids a date crate.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar date (`YYYY-MM-DD`), ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// The fixed "today" of the telecom domain (τ² `get_today()`), so every episode sees the same clock.
pub const TODAY: Date = Date { year: 2025, month: 2, day: 25 };

/// τ²'s `DEFAULT_START_DATE` (2025-01-01), the creation time of a customer record that names none.
pub const DEFAULT_START: DateTime =
    DateTime { date: Date { year: 2025, month: 1, day: 1 }, hour: 0, minute: 0, second: 0 };

/// Why a date string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date '{text}': expected {expected}")]
pub struct DateParseError {
    text: String,
    expected: &'static str,
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

impl Date {
    /// Builds a date, or `None` when the day does not exist in that month.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        if (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month) {
            Some(Self { year, month, day })
        } else {
            None
        }
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1-12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1-31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    fn to_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Inverse of [`Date::to_days`] (`civil_from_days`).
    fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self { year, month, day }
    }

    /// The date `days` later (negative: earlier), like Python's `date + timedelta(days=n)`.
    pub fn add_days(self, days: i64) -> Self {
        Self::from_days(self.to_days() + days)
    }

    /// The first day of this date's month (`date.replace(day=1)`).
    pub fn first_of_month(self) -> Self {
        Self { day: 1, ..self }
    }

    /// The last day of the previous month (`date.replace(day=1) - timedelta(days=1)`).
    pub fn end_of_previous_month(self) -> Self {
        self.first_of_month().add_days(-1)
    }

    /// The first day of the next month.
    pub fn first_of_next_month(self) -> Self {
        // Same construction as τ²: first of this month + 32 days lands in the next month.
        self.first_of_month().add_days(32).first_of_month()
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, DateParseError> {
        let err = || DateParseError { text: text.to_owned(), expected: "YYYY-MM-DD" };
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(err());
        }
        let year = parse_digits(&text[0..4]).ok_or_else(err)?;
        let month = parse_digits(&text[5..7]).ok_or_else(err)?;
        let day = parse_digits(&text[8..10]).ok_or_else(err)?;
        let year = i32::try_from(year).map_err(|_| err())?;
        let month = u8::try_from(month).map_err(|_| err())?;
        let day = u8::try_from(day).map_err(|_| err())?;
        Self::new(year, month, day).ok_or_else(err)
    }
}

fn parse_digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A date and wall-clock time (seconds resolution), rendered like Python's `str(datetime)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
}

impl DateTime {
    /// Builds a date-time, or `None` when a component is out of range.
    pub fn new(date: Date, hour: u8, minute: u8, second: u8) -> Option<Self> {
        (hour < 24 && minute < 60 && second < 60).then_some(Self { date, hour, minute, second })
    }

    /// The calendar date part.
    pub fn date(self) -> Date {
        self.date
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS` (the TOML form) or `YYYY-MM-DD HH:MM:SS` (the rendered form).
    pub fn parse(text: &str) -> Result<Self, DateParseError> {
        let err = || DateParseError { text: text.to_owned(), expected: "YYYY-MM-DDTHH:MM:SS" };
        let bytes = text.as_bytes();
        if bytes.len() != 19 || !matches!(bytes[10], b'T' | b' ') || bytes[13] != b':' || bytes[16] != b':' {
            return Err(err());
        }
        let date = Date::parse(&text[0..10]).map_err(|_| err())?;
        let part = |range: std::ops::Range<usize>| {
            parse_digits(&text[range]).and_then(|v| u8::try_from(v).ok()).ok_or_else(err)
        };
        let (hour, minute, second) = (part(11..13)?, part(14..16)?, part(17..19)?);
        Self::new(date, hour, minute, second).ok_or_else(err)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:02}:{:02}:{:02}", self.date, self.hour, self.minute, self.second)
    }
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_matches_python_datetime() {
        let today = TODAY;
        assert_eq!(today.to_string(), "2025-02-25");
        assert_eq!(today.end_of_previous_month().to_string(), "2025-01-31");
        assert_eq!(today.end_of_previous_month().first_of_month().to_string(), "2025-01-01");
        assert_eq!(today.first_of_next_month().to_string(), "2025-03-01");
        assert_eq!(today.first_of_next_month().add_days(-1).to_string(), "2025-02-28");
        assert_eq!(Date::parse("2024-12-31").unwrap().add_days(1).to_string(), "2025-01-01");
        assert_eq!(Date::parse("2024-02-28").unwrap().add_days(1).to_string(), "2024-02-29");
        assert_eq!(Date::parse("2025-01-01").unwrap().add_days(14).to_string(), "2025-01-15");
        for days in -1000..1000 {
            let d = TODAY.add_days(days);
            assert_eq!(Date::parse(&d.to_string()).unwrap(), d);
            assert_eq!(d.to_days() - TODAY.to_days(), days);
        }
    }

    #[test]
    fn parsing_rejects_garbage() {
        assert!(Date::parse("2025-02-30").is_err());
        assert!(Date::parse("2025/02/01").is_err());
        assert!(Date::parse("25-02-01").is_err());
        let dt = DateTime::parse("2025-01-20T14:30:00").unwrap();
        assert_eq!(dt.to_string(), "2025-01-20 14:30:00");
        assert_eq!(DateTime::parse("2025-01-20 14:30:00").unwrap(), dt);
        assert!(DateTime::parse("2025-01-20T24:30:00").is_err());
    }
}
