//! Sprig's date functions with Go `time` semantics: Go reference-time layouts
//! (`2006-01-02 15:04:05`), `time.Duration` strings (`1h2m3s`), and `time.Time` printing.
//!
//! Time zones come from the IANA database embedded in the binary (jiff's bundled copy), never
//! from files or the environment. Go's `time.Local` is taken to be UTC, which it is in the
//! controller's container image.

use std::rc::Rc;

use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{Timestamp, Zoned};

use super::{Ctx, Fail, arg, ferr, sarg};
use crate::gotime::local;
use crate::gotime::{go_format, go_parse};
use crate::value::Value;

type R = Result<Value, Fail>;

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Go's `time.LoadLocation`: "" and "UTC" are UTC, "Local" is local, others from the bundled
/// IANA database.
pub(crate) fn load_location(name: &str) -> Option<TimeZone> {
    match name {
        "" | "UTC" => Some(TimeZone::UTC),
        "Local" => Some(local()),
        _ => TimeZoneDatabase::bundled().get(name).ok(),
    }
}

fn time_value(z: Zoned) -> Value {
    Value::Time(Rc::new(z))
}

/// Go's zero `time.Time`: January 1, year 1, 00:00:00 UTC.
pub(crate) fn zero_time() -> Zoned {
    let ts = Timestamp::from_second(-62_135_596_800).unwrap_or(Timestamp::UNIX_EPOCH);
    Zoned::new(ts, TimeZone::UTC)
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(s: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(s).ok()?;
    let (neg, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            rest = &r[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3600 * NANOS_PER_SEC,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let iv: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let mut v = iv.checked_mul(unit)?;
        if !frac_part.is_empty() {
            let digits: String = frac_part.chars().take(30).collect();
            let f: i128 = digits.parse().ok()?;
            let scale = 10i128.checked_pow(digits.len() as u32)?;
            v += f * unit / scale;
        }
        total = total.checked_add(v)?;
        if total > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    let total = if neg { -total } else { total };
    i64::try_from(total).ok()
}

/// Go's `time.Duration.String()`.
pub(crate) fn format_duration(d: i64) -> String {
    if d == 0 {
        return "0s".to_string();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let frac = |v: u64, prec: u32| -> (u64, String) {
        let p = 10u64.pow(prec);
        let f = v % p;
        let mut s = format!("{f:0width$}", width = prec as usize);
        while s.ends_with('0') {
            s.pop();
        }
        (v / p, if s.is_empty() { s } else { format!(".{s}") })
    };
    let body = if u < 1_000_000_000 {
        if u < 1_000 {
            format!("{u}ns")
        } else if u < 1_000_000 {
            let (w, f) = frac(u, 3);
            format!("{w}{f}\u{b5}s")
        } else {
            let (w, f) = frac(u, 6);
            format!("{w}{f}ms")
        }
    } else {
        let (secs, f) = frac(u, 9);
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            format!("{h}h{m}m{s}{f}s")
        } else if m > 0 {
            format!("{m}m{s}{f}s")
        } else {
            format!("{s}{f}s")
        }
    };
    if neg { format!("-{body}") } else { body }
}

/// Go's `Duration.Round(m)`: half away from zero.
fn round_duration(d: i64, m: i64) -> i64 {
    let r = d % m;
    if d < 0 {
        let r = -r;
        if r + r < m {
            return d + r;
        }
        return d.checked_sub(m - r).unwrap_or(i64::MIN);
    }
    if r + r < m {
        return d - r;
    }
    d.checked_add(m - r).unwrap_or(i64::MAX)
}

fn nanos_between(later: Timestamp, earlier: Timestamp) -> i64 {
    let diff = later.as_nanosecond() - earlier.as_nanosecond();
    i64::try_from(diff).unwrap_or(if diff < 0 { i64::MIN } else { i64::MAX })
}

/// A Sprig date argument: a time, or Unix seconds; anything else means now.
fn date_arg(ctx: &Ctx, v: &Value) -> Zoned {
    match v {
        Value::Time(t) => (**t).clone(),
        Value::Int(secs) | Value::Int64(secs) => {
            Timestamp::from_second(*secs).map_or_else(|_| zero_time(), |ts| Zoned::new(ts, local()))
        }
        _ => Zoned::new(ctx.now(), local()),
    }
}

pub(crate) fn now(ctx: &mut Ctx, _: Vec<Value>) -> R {
    Ok(time_value(Zoned::new(ctx.now(), local())))
}

fn date_in(ctx: &Ctx, layout: &[u8], date: &Value, zone: &[u8]) -> R {
    let t = date_arg(ctx, date);
    let tz = load_location(&String::from_utf8_lossy(zone)).unwrap_or(TimeZone::UTC);
    super::out_str(go_format(&t.with_time_zone(tz), layout))
}

pub(crate) fn date(ctx: &mut Ctx, a: Vec<Value>) -> R {
    date_in(ctx, sarg(&a, 0), arg(&a, 1), b"Local")
}

pub(crate) fn date_in_zone(ctx: &mut Ctx, a: Vec<Value>) -> R {
    date_in(ctx, sarg(&a, 0), arg(&a, 1), sarg(&a, 2))
}

pub(crate) fn html_date(ctx: &mut Ctx, a: Vec<Value>) -> R {
    date_in(ctx, b"2006-01-02", arg(&a, 0), b"Local")
}

pub(crate) fn html_date_in_zone(ctx: &mut Ctx, a: Vec<Value>) -> R {
    date_in(ctx, b"2006-01-02", arg(&a, 0), sarg(&a, 1))
}

fn modify(a: &[Value], must: bool) -> R {
    let Value::Time(t) = arg(a, 1) else {
        return ferr("invalid time");
    };
    match parse_duration(sarg(a, 0)) {
        Some(d) => {
            let ts = Timestamp::from_nanosecond(t.timestamp().as_nanosecond() + i128::from(d))
                .map_err(|_| Fail::Func("time out of range".into()))?;
            Ok(time_value(Zoned::new(ts, t.time_zone().clone())))
        }
        None if must => ferr("time: invalid duration"),
        None => Ok(arg(a, 1).clone()),
    }
}

pub(crate) fn date_modify(_: &mut Ctx, a: Vec<Value>) -> R {
    modify(&a, false)
}

pub(crate) fn must_date_modify(_: &mut Ctx, a: Vec<Value>) -> R {
    modify(&a, true)
}

pub(crate) fn to_date(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(time_value(
        go_parse(sarg(&a, 0), sarg(&a, 1)).unwrap_or_else(|_| zero_time()),
    ))
}

pub(crate) fn must_to_date(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(time_value(go_parse(sarg(&a, 0), sarg(&a, 1))?))
}

pub(crate) fn unix_epoch(_: &mut Ctx, a: Vec<Value>) -> R {
    match arg(&a, 0) {
        Value::Time(t) => Ok(Value::str(t.timestamp().as_second().to_string())),
        _ => ferr("invalid time"),
    }
}

/// `duration secs`: seconds (a string or an integer) as a Go duration string.
pub(crate) fn duration(_: &mut Ctx, a: Vec<Value>) -> R {
    let n = match arg(&a, 0) {
        Value::Str(s) => String::from_utf8_lossy(&s.0).parse::<i64>().unwrap_or(0),
        // Sprig accepts int64 only: an int literal (`duration 90`) is 0 in Go.
        Value::Int64(i) => *i,
        _ => 0,
    };
    Ok(Value::str(format_duration(n.wrapping_mul(1_000_000_000))))
}

/// `durationRound d`: the duration's largest unit, rounded down (`2h`, `3mo`, `1y`).
pub(crate) fn duration_round(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let d: i64 = match arg(&a, 0) {
        Value::Str(s) => parse_duration(&s.0).unwrap_or(0),
        Value::Int64(i) => *i,
        Value::Time(t) => nanos_between(ctx.now(), t.timestamp()),
        _ => 0,
    };
    let u = d.unsigned_abs();
    let hour: u64 = 3_600_000_000_000;
    let units: [(u64, &str); 6] = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ];
    for (size, name) in units {
        if u > size {
            return Ok(Value::str(format!("{}{name}", u / size)));
        }
    }
    Ok(Value::str("0s"))
}

/// `ago t`: time since t, rounded to seconds.
pub(crate) fn ago(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let t = match arg(&a, 0) {
        Value::Time(t) => t.timestamp(),
        Value::Int(secs) | Value::Int64(secs) => {
            Timestamp::from_second(*secs).unwrap_or(Timestamp::UNIX_EPOCH)
        }
        _ => ctx.now(),
    };
    Ok(Value::str(format_duration(round_duration(
        nanos_between(ctx.now(), t),
        1_000_000_000,
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(90_000_000_000), "1m30s");
        assert_eq!(format_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(format_duration(1_500_000_000), "1.5s");
        assert_eq!(format_duration(1_500), "1.5\u{b5}s");
        assert_eq!(format_duration(-2_000_000), "-2ms");
        assert_eq!(parse_duration(b"1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration(b"-1.5s"), Some(-1_500_000_000));
        assert_eq!(parse_duration(b"1"), None);
        assert_eq!(parse_duration(b"1x"), None);
        assert_eq!(round_duration(1_500_000_000, 1_000_000_000), 2_000_000_000);
    }
}
