//! `to_char`: formatting timestamps and numbers with PostgreSQL's template patterns.

use chrono::{Datelike, Timelike};
use evert_repr::Datum;

use crate::error::EvalError;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Formats a timestamp, date or number according to `format`.
pub fn to_char(value: Datum, format: &str) -> Result<String, EvalError> {
    match value {
        Datum::Timestamp(ts) | Datum::TimestampTz(ts) => Ok(format_timestamp(
            ts,
            format,
            matches!(value, Datum::TimestampTz(_)),
        )),
        Datum::Date(d) => Ok(format_timestamp(
            evert_repr::DateTime::from_date(d),
            format,
            false,
        )),
        Datum::Int16(_)
        | Datum::Int32(_)
        | Datum::Int64(_)
        | Datum::Float32(_)
        | Datum::Float64(_)
        | Datum::Numeric(_) => format_number(&value.to_string(), format),
        other => Err(EvalError::Internal(format!("to_char on {other:?}"))),
    }
}

fn format_timestamp(ts: evert_repr::DateTime, format: &str, with_zone: bool) -> String {
    let dt = ts.to_naive();
    let micros = ts.0.rem_euclid(1_000_000);
    let patterns: &[&str] = &[
        "HH24", "HH12", "HH", "MI", "SS", "MS", "US", "AM", "PM", "am", "pm", "YYYY", "YYY", "YY",
        "Y", "IYYY", "IW", "J", "CC", "MONTH", "Month", "month", "MON", "Mon", "mon", "MM", "DAY",
        "Day", "day", "DY", "Dy", "dy", "DDD", "DD", "D", "Q", "WW", "TZ", "tz",
    ];
    let mut out = String::new();
    let mut rest = format;
    let mut fill_mode = false;
    while !rest.is_empty() {
        // FM (fill mode) applies to the next pattern only.
        if let Some(r) = rest.strip_prefix("FM") {
            fill_mode = true;
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix('"') {
            // Quoted literal text.
            match r.find('"') {
                Some(end) => {
                    out.push_str(&r[..end]);
                    rest = &r[end + 1..];
                }
                None => {
                    out.push_str(r);
                    rest = "";
                }
            }
            continue;
        }
        let Some(p) = patterns.iter().find(|p| rest.starts_with(**p)) else {
            let c = rest.chars().next().expect("non-empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        let num = |v: i64, width: usize| {
            if fill_mode {
                v.to_string()
            } else {
                format!("{v:0width$}")
            }
        };
        let hour12 = {
            let h = dt.hour() % 12;
            if h == 0 {
                12
            } else {
                h
            }
        };
        let text = match *p {
            "HH24" => num(i64::from(dt.hour()), 2),
            "HH12" | "HH" => num(i64::from(hour12), 2),
            "MI" => num(i64::from(dt.minute()), 2),
            "SS" => num(i64::from(dt.second()), 2),
            "MS" => num(micros / 1000, 3),
            "US" => num(micros, 6),
            "AM" | "PM" => {
                if dt.hour() < 12 {
                    "AM".into()
                } else {
                    "PM".into()
                }
            }
            "am" | "pm" => {
                if dt.hour() < 12 {
                    "am".into()
                } else {
                    "pm".into()
                }
            }
            "YYYY" => num(i64::from(dt.year()), 4),
            "YYY" => num(i64::from(dt.year() % 1000), 3),
            "YY" => num(i64::from(dt.year() % 100), 2),
            "Y" => num(i64::from(dt.year() % 10), 1),
            "MONTH" => pad(MONTHS[dt.month0() as usize].to_uppercase(), 9, fill_mode),
            "Month" => pad(MONTHS[dt.month0() as usize].to_string(), 9, fill_mode),
            "month" => pad(MONTHS[dt.month0() as usize].to_lowercase(), 9, fill_mode),
            "MON" => MONTHS[dt.month0() as usize][..3].to_uppercase(),
            "Mon" => MONTHS[dt.month0() as usize][..3].to_string(),
            "mon" => MONTHS[dt.month0() as usize][..3].to_lowercase(),
            "MM" => num(i64::from(dt.month()), 2),
            "DAY" => pad(
                DAYS[dt.weekday().num_days_from_sunday() as usize].to_uppercase(),
                9,
                fill_mode,
            ),
            "Day" => pad(
                DAYS[dt.weekday().num_days_from_sunday() as usize].to_string(),
                9,
                fill_mode,
            ),
            "day" => pad(
                DAYS[dt.weekday().num_days_from_sunday() as usize].to_lowercase(),
                9,
                fill_mode,
            ),
            "DY" => DAYS[dt.weekday().num_days_from_sunday() as usize][..3].to_uppercase(),
            "Dy" => DAYS[dt.weekday().num_days_from_sunday() as usize][..3].to_string(),
            "dy" => DAYS[dt.weekday().num_days_from_sunday() as usize][..3].to_lowercase(),
            "IYYY" => num(i64::from(dt.iso_week().year()), 4),
            "IW" => num(i64::from(dt.iso_week().week()), 2),
            // Julian day: days since 24 November 4714 BC (chrono counts 1 CE-01-01 as 1).
            "J" => (i64::from(dt.num_days_from_ce()) + 1_721_425).to_string(),
            "CC" => {
                let y = dt.year();
                let cc = if y > 0 {
                    (y + 99) / 100
                } else {
                    (y - 100) / 100
                };
                num(i64::from(cc), 2)
            }
            "DDD" => num(i64::from(dt.ordinal()), 3),
            "DD" => num(i64::from(dt.day()), 2),
            "D" => (dt.weekday().num_days_from_sunday() + 1).to_string(),
            "Q" => ((dt.month0() / 3) + 1).to_string(),
            "WW" => num(i64::from((dt.ordinal() - 1) / 7 + 1), 2),
            "TZ" => {
                if with_zone {
                    "UTC".into()
                } else {
                    String::new()
                }
            }
            "tz" => {
                if with_zone {
                    "utc".into()
                } else {
                    String::new()
                }
            }
            _ => unreachable!("pattern list and match agree"),
        };
        out.push_str(&text);
        rest = &rest[p.len()..];
        fill_mode = false;
        // An ordinal suffix after a number: DDth is 01st, 02nd, 03rd, 04th, 11th, ...
        let suffix = rest
            .strip_prefix("th")
            .map(|r| (r, false))
            .or_else(|| rest.strip_prefix("TH").map(|r| (r, true)));
        if let Some((r, upper)) = suffix {
            if let Ok(n) = text.trim().parse::<i64>() {
                let ordinal = ordinal_suffix(n);
                out.push_str(&if upper {
                    ordinal.to_uppercase()
                } else {
                    ordinal.to_string()
                });
                rest = r;
            }
        }
    }
    out
}

fn ordinal_suffix(n: i64) -> &'static str {
    let n = n.abs();
    if (11..=13).contains(&(n % 100)) {
        return "th";
    }
    match n % 10 {
        1 => "st",
        2 => "nd",
        3 => "rd",
        _ => "th",
    }
}

fn pad(s: String, width: usize, fill_mode: bool) -> String {
    if fill_mode {
        s
    } else {
        format!("{s:<width$}")
    }
}

/// Numeric templates: `9` (digit or blank), `0` (digit or zero), `.` and `D`, `,` and `G`
/// (the C locale's), `FM`, `S`. Numbers are rounded half away from zero at the template's
/// fractional digits, as PostgreSQL rounds numeric (floats are rounded from their text).
fn format_number(text: &str, format: &str) -> Result<String, EvalError> {
    for unsupported in [
        "PR", "RN", "rn", "EEEE", "V", "L", "MI", "PL", "SG", "TH", "th",
    ] {
        if format.contains(unsupported) {
            return Err(EvalError::InvalidParameterValue(format!(
                "to_char template pattern {unsupported} for numbers is not supported"
            )));
        }
    }
    let fill_mode = format.contains("FM");
    let fmt: String = format.replace("FM", "").replace('D', ".").replace('G', ",");
    let negative = text.starts_with('-');
    let digits = text.trim_start_matches('-');
    let (fmt_int, fmt_frac) = fmt
        .split_once('.')
        .map(|(a, b)| (a.to_string(), Some(b.to_string())))
        .unwrap_or((fmt.clone(), None));
    let int_slots = fmt_int.chars().filter(|c| *c == '9' || *c == '0').count();
    let frac_slots = fmt_frac
        .as_ref()
        .map(|f| f.chars().filter(|c| *c == '9' || *c == '0').count())
        .unwrap_or(0);
    // Round the value to the number of fractional slots.
    let rounded = match digits.parse::<rust_decimal::Decimal>() {
        Ok(d) => {
            let mut r = d.round_dp_with_strategy(
                frac_slots as u32,
                rust_decimal::RoundingStrategy::MidpointAwayFromZero,
            );
            r.rescale(frac_slots as u32);
            r.to_string()
        }
        Err(_) => format!("{:.*}", frac_slots, digits.parse::<f64>().unwrap_or(0.0)),
    };
    let (r_int, r_frac) = rounded.split_once('.').unwrap_or((rounded.as_str(), ""));
    if r_int.trim_start_matches('0').len() > int_slots {
        let hashes: String = fmt
            .chars()
            .map(|c| if c == '9' || c == '0' { '#' } else { c })
            .collect();
        // The sign's place comes first.
        return Ok(if fill_mode {
            hashes
        } else {
            format!(" {hashes}")
        });
    }
    let mut int_digits: Vec<char> = r_int.chars().collect();
    let mut out_int = String::new();
    for c in fmt_int.chars().rev() {
        match c {
            '9' | '0' => {
                if let Some(d) = int_digits.pop() {
                    if d == '0'
                        && int_digits.is_empty()
                        && c == '9'
                        && r_int == "0"
                        && frac_slots > 0
                    {
                        out_int.push(if fill_mode { '\0' } else { ' ' });
                    } else {
                        out_int.push(d);
                    }
                } else if c == '0' {
                    out_int.push('0');
                } else if !fill_mode {
                    out_int.push(' ');
                }
            }
            ',' => {
                if !int_digits.is_empty()
                    || out_int.chars().last().is_some_and(|c| c.is_ascii_digit())
                        && !int_digits.is_empty()
                {
                    out_int.push(',');
                } else if !fill_mode {
                    out_int.push(' ');
                }
            }
            'S' => {}
            other => out_int.push(other),
        }
    }
    let mut out: String = out_int.chars().rev().filter(|c| *c != '\0').collect();
    let sign = if negative {
        "-"
    } else if fill_mode {
        ""
    } else {
        " "
    };
    // Place the sign just before the first digit.
    let first = out.find(|c: char| c.is_ascii_digit()).unwrap_or(out.len());
    out.insert_str(first, sign);
    if fmt_frac.is_some() {
        out.push('.');
        let mut frac = r_frac.to_string();
        if fill_mode {
            while frac.ends_with('0') {
                frac.pop();
            }
        }
        out.push_str(&frac);
    }
    if fill_mode {
        out = out.trim().to_string();
    }
    Ok(out)
}
