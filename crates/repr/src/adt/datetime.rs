//! Dates, times, timestamps and intervals with PostgreSQL's representations and text formats.
//!
//! Internally every value is an integer: days or microseconds since the Unix epoch, and an
//! interval is PostgreSQL's triple of months, days and microseconds (the three do not
//! convert into each other exactly: a month has no fixed number of days, a day may have 23 or
//! 25 hours across a DST change). Calendar arithmetic goes through `chrono`.

use std::cmp::Ordering;
use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::errors::{ParseError, ParseErrorKind};

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
pub const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

fn epoch_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid epoch")
}

/// A calendar date: days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date(pub i32);

impl Date {
    pub fn from_naive(date: NaiveDate) -> Date {
        Date((date - epoch_date()).num_days() as i32)
    }

    pub fn to_naive(self) -> NaiveDate {
        epoch_date() + Duration::days(i64::from(self.0))
    }

    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        NaiveDate::from_ymd_opt(year, month, day).map(Date::from_naive)
    }

    pub fn parse(s: &str) -> Result<Date, ParseError> {
        let s = s.trim();
        let (body, bc) = strip_bc(s);
        let date = parse_date_part(body).map_err(|kind| ParseError {
            kind,
            ..ParseError::invalid("date", s)
        })?;
        apply_bc(date, bc)
            .map(Date::from_naive)
            .ok_or_else(|| ParseError::out_of_range("date", s))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_date(f, self.to_naive())
    }
}

/// A time of day: microseconds since midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Time(pub i64);

impl Time {
    pub fn parse(s: &str) -> Result<Time, ParseError> {
        let s = s.trim();
        let micros = parse_time_part(s).map_err(|kind| ParseError {
            kind,
            ..ParseError::invalid("time", s)
        })?;
        if !(0..=MICROS_PER_DAY).contains(&micros) {
            return Err(ParseError::out_of_range("time", s));
        }
        Ok(Time(micros))
    }

    pub fn to_naive(self) -> NaiveTime {
        let secs = (self.0 / MICROS_PER_SECOND) as u32;
        let nanos = ((self.0 % MICROS_PER_SECOND) * 1000) as u32;
        NaiveTime::from_num_seconds_from_midnight_opt(secs.min(86399), nanos)
            .unwrap_or(NaiveTime::MIN)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_time_of_day(f, self.0)
    }
}

/// A timestamp: microseconds since 1970-01-01 00:00:00. The same representation serves
/// `timestamp` (a wall-clock reading) and `timestamptz` (an instant, shown in UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DateTime(pub i64);

impl DateTime {
    pub fn from_naive(dt: NaiveDateTime) -> Option<DateTime> {
        let epoch = epoch_date().and_hms_opt(0, 0, 0).expect("valid epoch");
        (dt - epoch).num_microseconds().map(DateTime)
    }

    pub fn to_naive(self) -> NaiveDateTime {
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let micros = self.0.rem_euclid(MICROS_PER_DAY);
        let date = epoch_date() + Duration::days(days);
        date.and_time(Time(micros).to_naive())
    }

    pub fn date(self) -> Date {
        Date(self.0.div_euclid(MICROS_PER_DAY) as i32)
    }

    pub fn from_date(date: Date) -> DateTime {
        DateTime(i64::from(date.0) * MICROS_PER_DAY)
    }

    /// Milliseconds since the epoch (evert's logical clock unit) as a timestamp.
    pub fn from_millis(millis: u64) -> DateTime {
        DateTime((millis as i64).saturating_mul(1000))
    }

    /// Parses `timestamp` text; a time-zone suffix is accepted and ignored, as PostgreSQL does.
    pub fn parse(s: &str) -> Result<DateTime, ParseError> {
        let (micros, _offset) = parse_timestamp_text(s, "timestamp without time zone")?;
        Ok(DateTime(micros))
    }

    /// Parses `timestamptz` text; a time-zone suffix shifts the instant to UTC.
    pub fn parse_tz(s: &str) -> Result<DateTime, ParseError> {
        let (micros, offset) = parse_timestamp_text(s, "timestamp with time zone")?;
        Ok(DateTime(micros - offset.unwrap_or(0) * MICROS_PER_SECOND))
    }

    pub fn display_tz(self) -> DateTimeTzDisplay {
        DateTimeTzDisplay(self)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_timestamp(f, *self, false)
    }
}

/// Displays a timestamp as `timestamptz` in the session time zone (always UTC in evert).
pub struct DateTimeTzDisplay(DateTime);

impl fmt::Display for DateTimeTzDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_timestamp(f, self.0, true)
    }
}

fn write_date(f: &mut fmt::Formatter<'_>, date: NaiveDate) -> fmt::Result {
    let year = date.year();
    if year <= 0 {
        write!(
            f,
            "{:04}-{:02}-{:02} BC",
            1 - year,
            date.month(),
            date.day()
        )
    } else {
        write!(f, "{:04}-{:02}-{:02}", year, date.month(), date.day())
    }
}

fn write_fraction(f: &mut fmt::Formatter<'_>, micros: i64) -> fmt::Result {
    if micros != 0 {
        let mut s = format!("{:06}", micros);
        while s.ends_with('0') {
            s.pop();
        }
        write!(f, ".{s}")?;
    }
    Ok(())
}

fn write_time_of_day(f: &mut fmt::Formatter<'_>, micros: i64) -> fmt::Result {
    let hours = micros / MICROS_PER_HOUR;
    let minutes = (micros % MICROS_PER_HOUR) / MICROS_PER_MINUTE;
    let seconds = (micros % MICROS_PER_MINUTE) / MICROS_PER_SECOND;
    write!(f, "{hours:02}:{minutes:02}:{seconds:02}")?;
    write_fraction(f, micros % MICROS_PER_SECOND)
}

fn write_timestamp(f: &mut fmt::Formatter<'_>, ts: DateTime, with_zone: bool) -> fmt::Result {
    let dt = ts.to_naive();
    let year = dt.year();
    let (shown_year, bc) = if year <= 0 {
        (1 - year, true)
    } else {
        (year, false)
    };
    write!(f, "{:04}-{:02}-{:02} ", shown_year, dt.month(), dt.day())?;
    write_time_of_day(f, ts.0.rem_euclid(MICROS_PER_DAY))?;
    if with_zone {
        f.write_str("+00")?;
    }
    if bc {
        f.write_str(" BC")?;
    }
    Ok(())
}

fn strip_bc(s: &str) -> (&str, bool) {
    let lower = s.to_ascii_lowercase();
    if lower.ends_with(" bc") {
        (s[..s.len() - 3].trim_end(), true)
    } else if lower.ends_with(" ad") {
        (s[..s.len() - 3].trim_end(), false)
    } else {
        (s, false)
    }
}

fn apply_bc(date: NaiveDate, bc: bool) -> Option<NaiveDate> {
    if bc {
        NaiveDate::from_ymd_opt(1 - date.year(), date.month(), date.day())
    } else {
        Some(date)
    }
}

/// Parses the date forms PostgreSQL accepts in ISO style: `YYYY-MM-DD`, `YYYYMMDD`, `YYYY/MM/DD`.
/// Text of the wrong shape is a syntax error; a well-formed date that does not exist
/// (`2023-02-29`, month 13) is out of range, as PostgreSQL distinguishes them (22007, 22008).
fn parse_date_part(s: &str) -> Result<NaiveDate, ParseErrorKind> {
    let s = s.trim();
    let (year, month, day) = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        (&s[0..4], &s[4..6], &s[6..8])
    } else {
        let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ParseErrorKind::InvalidSyntax);
        }
        if parts[0].len() >= 3 {
            (parts[0], parts[1], parts[2])
        } else {
            // MM-DD-YYYY, PostgreSQL's default DateStyle order for ambiguous input.
            (parts[2], parts[0], parts[1])
        }
    };
    // Only digits remain, so a number that does not parse is too large.
    let year = year.parse().map_err(|_| ParseErrorKind::OutOfRange)?;
    let month = month.parse().map_err(|_| ParseErrorKind::OutOfRange)?;
    let day = day.parse().map_err(|_| ParseErrorKind::OutOfRange)?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or(ParseErrorKind::OutOfRange)
}

/// Parses `HH:MM[:SS[.ffffff]]` into microseconds since midnight (24:00:00 allowed). A
/// well-formed time with a field out of range (`25:00`) is out of range, not a syntax error.
fn parse_time_part(s: &str) -> Result<i64, ParseErrorKind> {
    let syntax = ParseErrorKind::InvalidSyntax;
    let mut parts = s.split(':');
    let hours: i64 = parts
        .next()
        .ok_or(syntax)?
        .trim()
        .parse()
        .map_err(|_| syntax)?;
    let minutes: i64 = parts
        .next()
        .ok_or(syntax)?
        .trim()
        .parse()
        .map_err(|_| syntax)?;
    let (seconds, fraction) = match parts.next() {
        Some(sec) => parse_seconds(sec.trim()).ok_or(syntax)?,
        None => (0, 0),
    };
    if parts.next().is_some() {
        return Err(syntax);
    }
    if !(0..=24).contains(&hours) || !(0..60).contains(&minutes) || !(0..=60).contains(&seconds) {
        return Err(ParseErrorKind::OutOfRange);
    }
    let micros = hours * MICROS_PER_HOUR
        + minutes * MICROS_PER_MINUTE
        + seconds * MICROS_PER_SECOND
        + fraction;
    if micros <= MICROS_PER_DAY {
        Ok(micros)
    } else {
        Err(ParseErrorKind::OutOfRange)
    }
}

/// Parses `SS[.ffffff]` into whole seconds and microseconds (rounded to the microsecond).
fn parse_seconds(s: &str) -> Option<(i64, i64)> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let seconds: i64 = whole.parse().ok()?;
    let mut micros: i64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        if i < 6 {
            micros = micros * 10 + i64::from(b - b'0');
        } else if i == 6 {
            if b >= b'5' {
                micros += 1;
            }
            break;
        }
    }
    for _ in frac.len()..6 {
        micros *= 10;
    }
    Some((
        seconds + micros / MICROS_PER_SECOND,
        micros % MICROS_PER_SECOND,
    ))
}

/// Parses a time-zone suffix into an offset in seconds east of UTC.
fn parse_zone(s: &str) -> Option<i64> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    if lower == "z" || lower == "utc" || lower == "gmt" || lower == "+00" || lower == "zulu" {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (hours, minutes, seconds) = if let Some((h, m)) = rest.split_once(':') {
        let (m, sec) = match m.split_once(':') {
            Some((m, sec)) => (m, sec.parse::<i64>().ok()?),
            None => (m, 0),
        };
        (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?, sec)
    } else if rest.len() == 4 {
        (
            rest[..2].parse::<i64>().ok()?,
            rest[2..].parse::<i64>().ok()?,
            0,
        )
    } else {
        (rest.parse::<i64>().ok()?, 0, 0)
    };
    if hours > 15 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60 + seconds))
}

/// Parses timestamp text into (microseconds of the wall-clock reading, zone offset seconds).
fn parse_timestamp_text(
    s: &str,
    type_name: &'static str,
) -> Result<(i64, Option<i64>), ParseError> {
    let original = s;
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    if lower == "epoch" {
        return Ok((0, None));
    }
    let (s, bc) = strip_bc(s);
    let (date_text, rest) = match s.find([' ', 'T', 't']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    let date = parse_date_part(date_text).map_err(|kind| ParseError {
        kind,
        ..ParseError::invalid(type_name, original)
    })?;
    let date = apply_bc(date, bc).ok_or_else(|| ParseError::out_of_range(type_name, original))?;
    let (time_text, zone) = split_zone(rest);
    let micros_of_day = if time_text.is_empty() {
        0
    } else {
        parse_time_part(time_text).map_err(|kind| ParseError {
            kind,
            ..ParseError::invalid(type_name, original)
        })?
    };
    let offset = match zone {
        Some(z) => Some(parse_zone(z).ok_or_else(|| ParseError::invalid(type_name, original))?),
        None => None,
    };
    let day_micros = DateTime::from_naive(date.and_hms_opt(0, 0, 0).expect("midnight"))
        .ok_or_else(|| ParseError::out_of_range(type_name, original))?;
    Ok((day_micros.0 + micros_of_day, offset))
}

/// Splits `HH:MM:SS+02:00` or `HH:MM:SS UTC` into the time and the zone.
fn split_zone(s: &str) -> (&str, Option<&str>) {
    if s.is_empty() {
        return (s, None);
    }
    if let Some(i) = s.find(' ') {
        return (s[..i].trim(), Some(s[i + 1..].trim()));
    }
    if let Some(i) = s.rfind(['+', '-']) {
        return (&s[..i], Some(&s[i..]));
    }
    if s.ends_with(['Z', 'z']) {
        return (&s[..s.len() - 1], Some("Z"));
    }
    (s, None)
}

/// A PostgreSQL interval: months, days and microseconds, each signed and kept apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

impl Interval {
    pub fn new(months: i32, days: i32, micros: i64) -> Interval {
        Interval {
            months,
            days,
            micros,
        }
    }

    /// The interval as one linear quantity, with 30-day months and 24-hour days, which is
    /// how PostgreSQL orders and compares intervals.
    pub fn as_span_micros(&self) -> i128 {
        (i128::from(self.months) * 30 + i128::from(self.days)) * i128::from(MICROS_PER_DAY)
            + i128::from(self.micros)
    }

    pub fn checked_add(&self, other: &Interval) -> Option<Interval> {
        Some(Interval {
            months: self.months.checked_add(other.months)?,
            days: self.days.checked_add(other.days)?,
            micros: self.micros.checked_add(other.micros)?,
        })
    }

    pub fn checked_neg(&self) -> Option<Interval> {
        Some(Interval {
            months: self.months.checked_neg()?,
            days: self.days.checked_neg()?,
            micros: self.micros.checked_neg()?,
        })
    }

    /// Multiplies by a float, carrying fractional months into days and days into time, as
    /// PostgreSQL's `interval * float8` does.
    pub fn checked_mul_f64(&self, factor: f64) -> Option<Interval> {
        let months = f64::from(self.months) * factor;
        let whole_months = months.trunc();
        let days = f64::from(self.days) * factor + (months - whole_months) * 30.0;
        let whole_days = days.trunc();
        let micros = (self.micros as f64) * factor + (days - whole_days) * MICROS_PER_DAY as f64;
        if !(whole_months.abs() <= f64::from(i32::MAX)
            && whole_days.abs() <= f64::from(i32::MAX)
            && micros.abs() < 9.2e18)
        {
            return None;
        }
        Some(Interval {
            months: whole_months as i32,
            days: whole_days as i32,
            micros: micros.round() as i64,
        })
    }

    /// Parses PostgreSQL interval input: `1 year 2 mons`, `3 days 04:05:06`, `@ 1 hour ago`,
    /// ISO 8601 `P1Y2M3DT4H5M6S`, or a bare number of seconds.
    pub fn parse(s: &str) -> Result<Interval, ParseError> {
        parse_interval(s).ok_or_else(|| ParseError::invalid("interval", s))
    }
}

impl PartialOrd for Interval {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Interval {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_span_micros().cmp(&other.as_span_micros())
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // PostgreSQL's "postgres" IntervalStyle.
        let mut out = String::new();
        let mut is_before = false;
        let mut is_zero = true;
        let years = self.months / 12;
        let months = self.months % 12;
        for (value, unit) in [(years, "year"), (months, "mon"), (self.days, "day")] {
            if value == 0 {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            let plus = if is_before && value > 0 { "+" } else { "" };
            let plural = if value != 1 { "s" } else { "" };
            out.push_str(&format!("{plus}{value} {unit}{plural}"));
            is_before = value < 0;
            is_zero = false;
        }
        if is_zero || self.micros != 0 {
            let negative = self.micros < 0;
            let abs = self.micros.unsigned_abs();
            let hours = abs / MICROS_PER_HOUR as u64;
            let minutes = (abs % MICROS_PER_HOUR as u64) / MICROS_PER_MINUTE as u64;
            let seconds = (abs % MICROS_PER_MINUTE as u64) / MICROS_PER_SECOND as u64;
            let fraction = abs % MICROS_PER_SECOND as u64;
            if !is_zero {
                out.push(' ');
            }
            let sign = if negative {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            };
            out.push_str(&format!("{sign}{hours:02}:{minutes:02}:{seconds:02}"));
            if fraction != 0 {
                let mut frac = format!("{fraction:06}");
                while frac.ends_with('0') {
                    frac.pop();
                }
                out.push('.');
                out.push_str(&frac);
            }
        }
        f.write_str(&out)
    }
}

fn interval_unit(unit: &str) -> Option<(i64, i64, f64)> {
    // (months, days, micros) per unit
    let micros = |m: i64| Some((0, 0, m as f64));
    match unit {
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "microsecon" => micros(1),
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => micros(1000),
        "second" | "seconds" | "s" | "sec" | "secs" => micros(MICROS_PER_SECOND),
        "minute" | "minutes" | "m" | "min" | "mins" => micros(MICROS_PER_MINUTE),
        "hour" | "hours" | "h" | "hr" | "hrs" => micros(MICROS_PER_HOUR),
        "day" | "days" | "d" => Some((0, 1, 0.0)),
        "week" | "weeks" | "w" => Some((0, 7, 0.0)),
        "month" | "months" | "mon" | "mons" => Some((1, 0, 0.0)),
        "year" | "years" | "y" | "yr" | "yrs" => Some((12, 0, 0.0)),
        "decade" | "decades" => Some((120, 0, 0.0)),
        "century" | "centuries" => Some((1200, 0, 0.0)),
        "millennium" | "millennia" | "millenniums" => Some((12000, 0, 0.0)),
        _ => None,
    }
}

/// Accumulates `value` units into the interval, spilling fractions downward as PostgreSQL does.
fn add_units(acc: &mut (f64, f64, f64), value: f64, unit: (i64, i64, f64)) {
    let (months, days, micros) = unit;
    if months != 0 {
        let total = value * months as f64;
        acc.0 += total.trunc();
        let frac_days = total.fract() * 30.0;
        acc.1 += frac_days.trunc();
        acc.2 += frac_days.fract() * MICROS_PER_DAY as f64;
    } else if days != 0 {
        let total = value * days as f64;
        acc.1 += total.trunc();
        acc.2 += total.fract() * MICROS_PER_DAY as f64;
    } else {
        acc.2 += value * micros;
    }
}

fn parse_interval(s: &str) -> Option<Interval> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.starts_with(['P', 'p']) {
        return parse_iso_interval(&trimmed[1..]);
    }
    let lower = trimmed.to_ascii_lowercase();
    let mut text = lower.trim_start_matches('@').trim();
    let mut ago = false;
    if let Some(rest) = text.strip_suffix("ago") {
        ago = true;
        text = rest.trim();
    }
    let mut acc = (0.0f64, 0.0f64, 0.0f64);
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut i = 0;
    let mut saw_any = false;
    while i < tokens.len() {
        let token = tokens[i];
        if token.contains(':') {
            let (negative, body) = match token.strip_prefix('-') {
                Some(b) => (true, b),
                None => (false, token.strip_prefix('+').unwrap_or(token)),
            };
            let micros = parse_interval_time(body)?;
            acc.2 += if negative {
                -(micros as f64)
            } else {
                micros as f64
            };
            i += 1;
            saw_any = true;
            continue;
        }
        // A number possibly glued to its unit ("10min").
        let split = token
            .char_indices()
            .find(|(_, c)| c.is_ascii_alphabetic())
            .map(|(i, _)| i)
            .unwrap_or(token.len());
        let (number, glued_unit) = token.split_at(split);
        let value: f64 = number.parse().ok()?;
        let unit = if !glued_unit.is_empty() {
            i += 1;
            glued_unit
        } else if i + 1 < tokens.len() && tokens[i + 1].chars().all(|c| c.is_ascii_alphabetic()) {
            i += 2;
            tokens[i - 1]
        } else {
            // A bare number is seconds.
            i += 1;
            "second"
        };
        add_units(&mut acc, value, interval_unit(unit)?);
        saw_any = true;
    }
    if !saw_any {
        return None;
    }
    let sign = if ago { -1.0 } else { 1.0 };
    finish_interval(acc.0 * sign, acc.1 * sign, acc.2 * sign)
}

fn finish_interval(months: f64, days: f64, micros: f64) -> Option<Interval> {
    if months.abs() > f64::from(i32::MAX)
        || days.abs() > f64::from(i32::MAX)
        || micros.abs() > 9.2e18
    {
        return None;
    }
    Some(Interval {
        months: months as i32,
        days: days as i32,
        micros: micros.round() as i64,
    })
}

/// `HH:MM[:SS[.f]]` or `MM:SS.f` in an interval (hours may exceed 24).
fn parse_interval_time(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.len() {
        2 => {
            let hours: i64 = parts[0].parse().ok()?;
            if parts[1].contains('.') {
                // MM:SS.fff
                let (sec, frac) = parse_seconds(parts[1])?;
                Some(hours * MICROS_PER_MINUTE + sec * MICROS_PER_SECOND + frac)
            } else {
                let minutes: i64 = parts[1].parse().ok()?;
                Some(hours * MICROS_PER_HOUR + minutes * MICROS_PER_MINUTE)
            }
        }
        3 => {
            let hours: i64 = parts[0].parse().ok()?;
            let minutes: i64 = parts[1].parse().ok()?;
            let (sec, frac) = parse_seconds(parts[2])?;
            Some(
                hours * MICROS_PER_HOUR
                    + minutes * MICROS_PER_MINUTE
                    + sec * MICROS_PER_SECOND
                    + frac,
            )
        }
        _ => None,
    }
}

fn parse_iso_interval(s: &str) -> Option<Interval> {
    let mut acc = (0.0, 0.0, 0.0);
    let mut in_time = false;
    let mut number = String::new();
    for c in s.chars() {
        match c {
            'T' | 't' => in_time = true,
            '0'..='9' | '.' | '-' | '+' => number.push(c),
            unit => {
                let value: f64 = number.parse().ok()?;
                number.clear();
                let unit = match (unit.to_ascii_uppercase(), in_time) {
                    ('Y', false) => "year",
                    ('M', false) => "month",
                    ('W', false) => "week",
                    ('D', false) => "day",
                    ('H', true) => "hour",
                    ('M', true) => "minute",
                    ('S', true) => "second",
                    _ => return None,
                };
                add_units(&mut acc, value, interval_unit(unit)?);
            }
        }
    }
    if !number.is_empty() {
        return None;
    }
    finish_interval(acc.0, acc.1, acc.2)
}

/// Adds a number of months to a date, clamping the day to the month's length.
pub fn add_months(date: NaiveDate, months: i32) -> Option<NaiveDate> {
    let total = date.year() * 12 + date.month0() as i32 + months;
    let year = total.div_euclid(12);
    let month = total.rem_euclid(12) as u32 + 1;
    let mut day = date.day();
    loop {
        if let Some(d) = NaiveDate::from_ymd_opt(year, month, day) {
            return Some(d);
        }
        if day <= 28 {
            return None;
        }
        day -= 1;
    }
}

/// `timestamp + interval`: months first (calendar), then days, then time.
pub fn timestamp_add_interval(ts: DateTime, interval: &Interval) -> Option<DateTime> {
    let mut micros = ts.0;
    if interval.months != 0 {
        let dt = ts.to_naive();
        let date = add_months(dt.date(), interval.months)?;
        micros = DateTime::from_naive(date.and_time(dt.time()))?.0;
    }
    micros = micros.checked_add(i64::from(interval.days).checked_mul(MICROS_PER_DAY)?)?;
    micros = micros.checked_add(interval.micros)?;
    Some(DateTime(micros))
}

/// `timestamp - timestamp` as PostgreSQL computes it: days and time, no months.
pub fn timestamp_diff(a: DateTime, b: DateTime) -> Option<Interval> {
    let diff = a.0.checked_sub(b.0)?;
    let days = diff / MICROS_PER_DAY;
    let micros = diff % MICROS_PER_DAY;
    Some(Interval::new(0, i32::try_from(days).ok()?, micros))
}

/// The fields `extract`/`date_part` can read from a timestamp.
pub fn timestamp_field(ts: DateTime, field: &str) -> Option<f64> {
    let dt = ts.to_naive();
    let micros_of_day = ts.0.rem_euclid(MICROS_PER_DAY);
    Some(match field {
        "year" | "years" => f64::from(dt.year()),
        "month" | "months" | "mon" => f64::from(dt.month()),
        "day" | "days" => f64::from(dt.day()),
        "hour" | "hours" => f64::from(dt.hour()),
        "minute" | "minutes" => f64::from(dt.minute()),
        "second" | "seconds" => (micros_of_day % MICROS_PER_MINUTE) as f64 / 1e6,
        "millisecond" | "milliseconds" => (micros_of_day % MICROS_PER_MINUTE) as f64 / 1e3,
        "microsecond" | "microseconds" => (micros_of_day % MICROS_PER_MINUTE) as f64,
        "dow" => f64::from(dt.weekday().num_days_from_sunday()),
        "isodow" => f64::from(dt.weekday().number_from_monday()),
        "doy" => f64::from(dt.ordinal()),
        "week" => f64::from(dt.iso_week().week()),
        "isoyear" => f64::from(dt.iso_week().year()),
        "quarter" => f64::from((dt.month() - 1) / 3 + 1),
        "decade" => f64::from(dt.year().div_euclid(10)),
        "century" => {
            let y = dt.year();
            f64::from(if y > 0 {
                (y + 99) / 100
            } else {
                -((99 - (y - 1)) / 100)
            })
        }
        "millennium" => {
            let y = dt.year();
            f64::from(if y > 0 {
                (y + 999) / 1000
            } else {
                -((999 - (y - 1)) / 1000)
            })
        }
        "epoch" => ts.0 as f64 / 1e6,
        "julian" => {
            f64::from(ts.date().0) + 2_440_588.0 + micros_of_day as f64 / MICROS_PER_DAY as f64
        }
        _ => return None,
    })
}

/// Truncates a timestamp to the precision `date_trunc` names.
pub fn timestamp_trunc(ts: DateTime, unit: &str) -> Option<DateTime> {
    let dt = ts.to_naive();
    let date = dt.date();
    let midnight = |d: NaiveDate| DateTime::from_naive(d.and_hms_opt(0, 0, 0)?);
    let micros_of_day = ts.0.rem_euclid(MICROS_PER_DAY);
    let day_start = ts.0 - micros_of_day;
    Some(match unit {
        "microseconds" | "microsecond" => ts,
        "milliseconds" | "millisecond" => DateTime(ts.0 - ts.0.rem_euclid(1000)),
        "second" | "seconds" => DateTime(ts.0 - ts.0.rem_euclid(MICROS_PER_SECOND)),
        "minute" | "minutes" => DateTime(ts.0 - ts.0.rem_euclid(MICROS_PER_MINUTE)),
        "hour" | "hours" => DateTime(ts.0 - ts.0.rem_euclid(MICROS_PER_HOUR)),
        "day" | "days" => DateTime(day_start),
        "week" | "weeks" => {
            let back = i64::from(date.weekday().num_days_from_monday());
            DateTime(day_start - back * MICROS_PER_DAY)
        }
        "month" | "months" => midnight(NaiveDate::from_ymd_opt(date.year(), date.month(), 1)?)?,
        "quarter" => midnight(NaiveDate::from_ymd_opt(
            date.year(),
            (date.month0() / 3) * 3 + 1,
            1,
        )?)?,
        "year" | "years" => midnight(NaiveDate::from_ymd_opt(date.year(), 1, 1)?)?,
        "decade" => midnight(NaiveDate::from_ymd_opt(
            date.year().div_euclid(10) * 10,
            1,
            1,
        )?)?,
        "century" => {
            let y = date.year();
            let start = if y > 0 {
                ((y - 1) / 100) * 100 + 1
            } else {
                -((-y) / 100) * 100 - 99
            };
            midnight(NaiveDate::from_ymd_opt(start, 1, 1)?)?
        }
        "millennium" => {
            let y = date.year();
            let start = if y > 0 {
                ((y - 1) / 1000) * 1000 + 1
            } else {
                -((-y) / 1000) * 1000 - 999
            };
            midnight(NaiveDate::from_ymd_opt(start, 1, 1)?)?
        }
        _ => return None,
    })
}

/// Fields `extract` can read from an interval.
pub fn interval_field(iv: &Interval, field: &str) -> Option<f64> {
    Some(match field {
        "year" | "years" => f64::from(iv.months / 12),
        "month" | "months" | "mon" => f64::from(iv.months % 12),
        "day" | "days" => f64::from(iv.days),
        "hour" | "hours" => (iv.micros / MICROS_PER_HOUR) as f64,
        "minute" | "minutes" => ((iv.micros % MICROS_PER_HOUR) / MICROS_PER_MINUTE) as f64,
        "second" | "seconds" => (iv.micros % MICROS_PER_MINUTE) as f64 / 1e6,
        "millisecond" | "milliseconds" => (iv.micros % MICROS_PER_MINUTE) as f64 / 1e3,
        "microsecond" | "microseconds" => (iv.micros % MICROS_PER_MINUTE) as f64,
        "epoch" => {
            (f64::from(iv.months / 12) * 365.25 * 86400.0)
                + f64::from(iv.months % 12) * 30.0 * 86400.0
                + f64::from(iv.days) * 86400.0
                + iv.micros as f64 / 1e6
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_display_matches_postgres() {
        let cases = [
            (
                "1 year 2 months 3 days 04:05:06",
                "1 year 2 mons 3 days 04:05:06",
            ),
            ("-1 day +2 hours", "-1 days +02:00:00"),
            ("0", "00:00:00"),
            ("1.5 days", "1 day 12:00:00"),
            ("2 hours ago", "-02:00:00"),
            ("P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06"),
            ("1 week", "7 days"),
            ("00:00:00.25", "00:00:00.25"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Interval::parse(input).unwrap().to_string(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn timestamps_round_trip() {
        for s in [
            "2024-02-29 13:45:01.5",
            "1999-12-31 23:59:59",
            "0001-01-01 00:00:00 BC",
        ] {
            assert_eq!(DateTime::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            DateTime::parse_tz("2024-01-01 02:00:00+02")
                .unwrap()
                .display_tz()
                .to_string(),
            "2024-01-01 00:00:00+00"
        );
        assert_eq!(Date::parse("2024-03-01").unwrap().to_string(), "2024-03-01");
        assert!(Date::parse("2024-02-30").is_err());
    }
}
