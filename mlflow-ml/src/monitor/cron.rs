//! Cron schedules (five fields, UTC) for retraining triggers: when the next run is due, and
//! whether one fell due between two instants.

use std::fmt;

use serde::{Deserialize, Serialize};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// How far ahead a schedule is searched: 28 years, one whole cycle of weekdays and leap years.
const HORIZON_DAYS: i64 = 28 * 366;

/// A cron schedule: `minute hour day-of-month month day-of-week`, evaluated in UTC, with the
/// usual syntax: `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n` (and `a/n`, from `a` to the
/// end), lists `a,b`, month names `jan`..`dec`, weekday names `sun`..`sat` (0 and 7 are Sunday),
/// and the macros `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`) and
/// `@hourly`. As in Vixie cron and croniter, when both day fields are restricted a day matches
/// either; when one is `*`, the other decides. Times equal croniter 6.0.0's on committed cases
/// (`tests/fixtures/monitor/cron.py`).
///
/// ```
/// use mlflow_ml::monitor::Cron;
/// let nightly = Cron::parse("30 3 * * mon-fri")?;
/// // Saturday 2026-12-05 12:00 UTC: the next weekday 03:30 is Monday 2026-12-07.
/// let saturday_noon = 1_796_472_000_000;
/// assert_eq!(nightly.next_after(saturday_noon), Some(saturday_noon + 39 * 3_600_000 + 30 * 60_000));
/// assert!(Cron::parse("61 * * * *").unwrap_err().to_string().contains("minute"));
/// # Ok::<(), mlflow_ml::monitor::CronError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cron {
    text: String,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether each day field was `*` (decides how the two combine).
    any_day: bool,
    any_weekday: bool,
}

/// A cron expression that cannot be parsed, or that never fires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cron expression `{expression}`: {detail}")]
pub struct CronError {
    /// The expression as given.
    pub expression: String,
    /// What is wrong, and the fix.
    pub detail: String,
}

struct Field {
    name: &'static str,
    low: u32,
    high: u32,
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field { name: "minute", low: 0, high: 59, names: &[] },
    Field { name: "hour", low: 0, high: 23, names: &[] },
    Field { name: "day of month", low: 1, high: 31, names: &[] },
    Field {
        name: "month",
        low: 1,
        high: 12,
        names: &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    },
    Field { name: "day of week", low: 0, high: 7, names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

impl Cron {
    /// Parses a five-field expression or a macro (see [`Cron`]).
    ///
    /// Errors: not five fields, a value out of its field's range, a malformed range, step or
    /// name, or a schedule that never fires (`0 0 30 2 *`).
    pub fn parse(expression: &str) -> Result<Cron, CronError> {
        let error = |detail: String| CronError { expression: expression.to_owned(), detail };
        let text = expression.trim();
        let expanded = match text.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *".to_owned(),
            "@monthly" => "0 0 1 * *".to_owned(),
            "@weekly" => "0 0 * * 0".to_owned(),
            "@daily" | "@midnight" => "0 0 * * *".to_owned(),
            "@hourly" => "0 * * * *".to_owned(),
            other if other.starts_with('@') => {
                return Err(error(
                    "unknown macro; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"
                        .into(),
                ));
            }
            other => other.to_owned(),
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(error(format!(
                "{} fields; give five: minute hour day-of-month month day-of-week (e.g. `0 3 * * *` for 03:00 UTC daily)",
                parts.len()
            )));
        }
        let mut sets = [0u64; 5];
        for (i, (part, field)) in parts.iter().zip(&FIELDS).enumerate() {
            sets[i] = parse_field(part, field).map_err(error)?;
        }
        // Day of week 7 is Sunday, as 0.
        if sets[4] & (1 << 7) != 0 {
            sets[4] = (sets[4] | 1) & !(1 << 7);
        }
        let cron = Cron {
            text: text.to_owned(),
            minutes: sets[0],
            hours: sets[1],
            days: sets[2],
            months: sets[3],
            weekdays: sets[4],
            any_day: parts[2].starts_with('*'),
            any_weekday: parts[4].starts_with('*'),
        };
        if cron.next_after(0).is_none() {
            return Err(error(
                "no date ever matches (e.g. the 30th of February); check the day and month fields".into(),
            ));
        }
        Ok(cron)
    }

    /// The expression as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first instant strictly after `after_ms` (milliseconds since the Unix epoch, UTC) at
    /// which the schedule fires (whole minutes); `None` beyond 28 years (cannot happen for a
    /// parsed schedule).
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        // The next whole minute after `after_ms`.
        let mut t = after_ms.div_euclid(MINUTE_MS) * MINUTE_MS + MINUTE_MS;
        let limit = t.checked_add(HORIZON_DAYS * DAY_MS)?;
        while t <= limit {
            let days = t.div_euclid(DAY_MS);
            let (year, month, day) = civil_from_days(days);
            if !bit(self.months, month) {
                let (y, m) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
                t = days_from_civil(y, m, 1) * DAY_MS;
                continue;
            }
            if !self.day_matches(day, weekday(days)) {
                t = (days + 1) * DAY_MS;
                continue;
            }
            let minute_of_day = t.rem_euclid(DAY_MS) / MINUTE_MS;
            let (hour, minute) = ((minute_of_day / 60) as u32, (minute_of_day % 60) as u32);
            if !bit(self.hours, hour) {
                t = days * DAY_MS + (i64::from(hour) + 1) * 60 * MINUTE_MS;
                continue;
            }
            if !bit(self.minutes, minute) {
                t += MINUTE_MS;
                continue;
            }
            return Some(t);
        }
        None
    }

    /// The last instant in `(after_ms, up_to_ms]` at which the schedule fired, if any: whether a
    /// run fell due since the last one.
    ///
    /// ```
    /// use mlflow_ml::monitor::Cron;
    /// let hourly = Cron::parse("@hourly")?;
    /// let hour = 3_600_000;
    /// assert_eq!(hourly.due_between(10 * hour + 1, 12 * hour + 5), Some(12 * hour));
    /// assert_eq!(hourly.due_between(12 * hour, 12 * hour + 5), None, "12:00 itself is not after 12:00");
    /// # Ok::<(), mlflow_ml::monitor::CronError>(())
    /// ```
    pub fn due_between(&self, after_ms: i64, up_to_ms: i64) -> Option<i64> {
        let mut last = None;
        let mut t = after_ms;
        while let Some(next) = self.next_after(t) {
            if next > up_to_ms {
                break;
            }
            last = Some(next);
            t = next;
            // Only the last one matters; jump close to the end once one is found.
            if let Some(late) = up_to_ms.checked_sub(DAY_MS)
                && late > t
            {
                t = late;
            }
        }
        last
    }

    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let by_day = bit(self.days, day);
        let by_weekday = bit(self.weekdays, weekday);
        // A `*`-field (even `*/2`) holds every day it allows, so AND keeps the other's choice.
        if self.any_day || self.any_weekday { by_day && by_weekday } else { by_day || by_weekday }
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for Cron {
    type Error = CronError;
    fn try_from(text: String) -> Result<Self, CronError> {
        Cron::parse(&text)
    }
}

impl From<Cron> for String {
    fn from(cron: Cron) -> String {
        cron.text
    }
}

fn bit(set: u64, i: u32) -> bool {
    set & (1 << i) != 0
}

fn parse_field(text: &str, field: &Field) -> Result<u64, String> {
    let mut set = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    format!("{}: step `{step}` in `{item}` is not a positive number", field.name)
                })?;
                (range, step)
            }
            None => (item, 1),
        };
        let (low, high) = if range == "*" {
            (field.low, field.high)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, field)?, value(b, field)?)
        } else {
            let start = value(range, field)?;
            // `a/n` runs from `a` to the end of the field.
            (start, if item.contains('/') { field.high } else { start })
        };
        if low > high {
            return Err(format!(
                "{}: range `{range}` runs backwards; write the smaller value first",
                field.name
            ));
        }
        set |= (low..=high).step_by(step as usize).fold(0u64, |s, i| s | 1 << i);
    }
    Ok(set)
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + if field.name == "month" { 1 } else { 0 });
    }
    let v: u32 = text.parse().map_err(|_| {
        let names = if field.names.is_empty() {
            String::new()
        } else {
            format!(" or a name ({})", field.names.join(", "))
        };
        format!("{}: `{text}` is not a number{names}", field.name)
    })?;
    if v < field.low || v > field.high {
        return Err(format!("{}: {v} is out of range; give {} to {}", field.name, field.low, field.high));
    }
    Ok(v)
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm, exact over the proleptic Gregorian calendar).
pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The day count since 1970-01-01 of a date (the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// 0 = Sunday.
fn weekday(days: i64) -> u32 {
    (days + 4).rem_euclid(7) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(weekday(0), 4, "1970-01-01 was a Thursday");
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn malformed_expressions_name_the_field_and_the_fix() {
        for (text, needle) in [
            ("* * * *", "4 fields"),
            ("60 * * * *", "minute: 60 is out of range"),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day of month: 0"),
            ("* * * 13 *", "month"),
            ("* * * foo *", "not a number or a name"),
            ("*/0 * * * *", "step `0`"),
            ("5-1 * * * *", "runs backwards"),
            ("0 0 30 2 *", "no date ever matches"),
            ("@fortnightly", "unknown macro"),
        ] {
            let err = Cron::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn both_day_fields_restricted_match_either() {
        // The 13th, or any Friday.
        let cron = Cron::parse("0 0 13 * fri").unwrap();
        let jan_1_2027 = days_from_civil(2027, 1, 1) * DAY_MS; // a Friday
        assert_eq!(cron.next_after(jan_1_2027 - 1), Some(jan_1_2027));
        assert_eq!(cron.next_after(jan_1_2027), Some(days_from_civil(2027, 1, 8) * DAY_MS));
        let only_13th = Cron::parse("0 0 13 * *").unwrap();
        assert_eq!(only_13th.next_after(jan_1_2027), Some(days_from_civil(2027, 1, 13) * DAY_MS));
    }
}
