//! Go `time` layouts (the reference time `Mon Jan 2 15:04:05 MST 2006`): formatting as
//! `Time.Format` does, parsing the common elements as `time.ParseInLocation` does, and
//! `Time.String()`.

use jiff::Zoned;
use jiff::tz::{Offset, TimeZone};

use crate::error::Fail;

/// The zone name Go would print: the abbreviation for named zones, "" for fixed offsets.
fn zone_name(z: &Zoned) -> String {
    let tz = z.time_zone();
    if tz.iana_name().is_none() && z.offset() != Offset::UTC {
        return String::new();
    }
    tz.to_offset_info(z.timestamp()).abbreviation().to_string()
}

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

/// A piece of a Go layout.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Lpm,
    Tz,
    Iso(u8),
    Num(u8),
    /// Fractional seconds: separator, digits, whether trailing zeros are dropped (`.999`).
    Frac(u8, usize, bool),
}

/// Go's `nextStdChunk`: literal prefix, the chunk, and the rest.
fn next_chunk(layout: &[u8]) -> (&[u8], Option<(Std, usize)>) {
    let starts = |i: usize, s: &str| layout[i..].starts_with(s.as_bytes());
    let lower_at = |i: usize| layout.get(i).is_some_and(u8::is_ascii_lowercase);
    for i in 0..layout.len() {
        let c = layout[i];
        let found: Option<(Std, usize)> = match c {
            b'J' if starts(i, "January") => Some((Std::LongMonth, 7)),
            b'J' if starts(i, "Jan") && !lower_at(i + 3) => Some((Std::Month, 3)),
            b'M' if starts(i, "Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if starts(i, "Mon") && !lower_at(i + 3) => Some((Std::WeekDay, 3)),
            b'M' if starts(i, "MST") => Some((Std::Tz, 3)),
            b'0' if layout.get(i + 1).is_some_and(|d| (b'1'..=b'6').contains(d)) => {
                let std = match layout[i + 1] {
                    b'1' => Std::ZeroMonth,
                    b'2' => Std::ZeroDay,
                    b'3' => Std::ZeroHour12,
                    b'4' => Std::ZeroMinute,
                    b'5' => Std::ZeroSecond,
                    _ => Std::Year,
                };
                Some((std, 2))
            }
            b'0' if starts(i, "002") => Some((Std::ZeroYearDay, 3)),
            b'1' if starts(i, "15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if starts(i, "2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if starts(i, "_2006") => {
                return (&layout[..i + 1], Some((Std::LongYear, 4)));
            }
            b'_' if starts(i, "_2") => Some((Std::UnderDay, 2)),
            b'_' if starts(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if starts(i, "PM") => Some((Std::PM, 2)),
            b'p' if starts(i, "pm") => Some((Std::Lpm, 2)),
            b'-' | b'Z' => {
                let rest = &layout[i + 1..];
                let forms: [(&str, u8); 5] = [
                    ("070000", 4),
                    ("07:00:00", 5),
                    ("0700", 1),
                    ("07:00", 2),
                    ("07", 3),
                ];
                forms
                    .iter()
                    .find(|(f, _)| rest.starts_with(f.as_bytes()))
                    .map(|(f, k)| {
                        (
                            if c == b'-' {
                                Std::Num(*k)
                            } else {
                                Std::Iso(*k)
                            },
                            f.len() + 1,
                        )
                    })
            }
            b'.' | b',' if layout.get(i + 1).is_some_and(|&d| d == b'0' || d == b'9') => {
                let ch = layout[i + 1];
                let mut j = i + 1;
                while j < layout.len() && layout[j] == ch {
                    j += 1;
                }
                if layout.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((Std::Frac(c, j - i - 1, ch == b'9'), j - i))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return (&layout[..i], Some((std, i + len)));
        }
    }
    (layout, None)
}

fn pad(n: i64, width: usize) -> String {
    if n < 0 {
        return format!("-{:0width$}", -n);
    }
    format!("{n:0width$}")
}

fn offset_text(secs: i32, kind: u8, iso: bool) -> String {
    if iso && secs == 0 {
        return "Z".to_string();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    match kind {
        1 => format!("{sign}{h:02}{m:02}"),
        2 => format!("{sign}{h:02}:{m:02}"),
        3 => format!("{sign}{h:02}"),
        4 => format!("{sign}{h:02}{m:02}{s:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{s:02}"),
    }
}

/// Go's `Time.Format(layout)`.
pub(crate) fn go_format(z: &Zoned, layout: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = layout;
    loop {
        let (lit, chunk) = next_chunk(rest);
        out.extend_from_slice(lit);
        let Some((std, end)) = chunk else { break };
        rest = &rest[end..];
        let hour = i64::from(z.hour());
        let s = match std {
            Std::LongMonth => MONTHS[(z.month() - 1) as usize % 12].to_string(),
            Std::Month => MONTHS[(z.month() - 1) as usize % 12][..3].to_string(),
            Std::NumMonth => z.month().to_string(),
            Std::ZeroMonth => pad(i64::from(z.month()), 2),
            Std::LongWeekDay => DAYS[z.weekday().to_sunday_zero_offset() as usize % 7].to_string(),
            Std::WeekDay => DAYS[z.weekday().to_sunday_zero_offset() as usize % 7][..3].to_string(),
            Std::Day => z.day().to_string(),
            Std::UnderDay => format!("{:>2}", z.day()),
            Std::ZeroDay => pad(i64::from(z.day()), 2),
            Std::UnderYearDay => format!("{:>3}", z.day_of_year()),
            Std::ZeroYearDay => pad(i64::from(z.day_of_year()), 3),
            Std::Hour => pad(hour, 2),
            Std::Hour12 => (if hour % 12 == 0 { 12 } else { hour % 12 }).to_string(),
            Std::ZeroHour12 => pad(if hour % 12 == 0 { 12 } else { hour % 12 }, 2),
            Std::Minute => z.minute().to_string(),
            Std::ZeroMinute => pad(i64::from(z.minute()), 2),
            Std::Second => z.second().to_string(),
            Std::ZeroSecond => pad(i64::from(z.second()), 2),
            Std::LongYear => pad(i64::from(z.year()), 4),
            Std::Year => pad(i64::from(z.year()).rem_euclid(100), 2),
            Std::PM => (if hour >= 12 { "PM" } else { "AM" }).to_string(),
            Std::Lpm => (if hour >= 12 { "pm" } else { "am" }).to_string(),
            Std::Tz => {
                let name = zone_name(z);
                if name.is_empty() {
                    let mins = z.offset().seconds() / 60;
                    let sign = if mins < 0 { '-' } else { '+' };
                    format!("{sign}{:02}{:02}", mins.abs() / 60, mins.abs() % 60)
                } else {
                    name
                }
            }
            Std::Iso(k) => offset_text(z.offset().seconds(), k, true),
            Std::Num(k) => offset_text(z.offset().seconds(), k, false),
            Std::Frac(sep, n, trim) => {
                let digits = format!("{:09}", z.subsec_nanosecond());
                let mut d = digits[..n.min(9)].to_string();
                while d.len() < n {
                    d.push('0');
                }
                if trim {
                    let t = d.trim_end_matches('0');
                    if t.is_empty() {
                        String::new()
                    } else {
                        format!("{}{t}", char::from(sep))
                    }
                } else {
                    format!("{}{d}", char::from(sep))
                }
            }
        };
        out.extend_from_slice(s.as_bytes());
    }
    out
}

/// Go's `Time.String()` (without the monotonic clock suffix).
pub(crate) fn go_time_string(z: &Zoned) -> String {
    String::from_utf8_lossy(&go_format(z, b"2006-01-02 15:04:05.999999999 -0700 MST")).into_owned()
}

/// RFC 3339 with nanoseconds, as Go's `Time.MarshalJSON`.
pub(crate) fn rfc3339_nano(z: &Zoned) -> String {
    String::from_utf8_lossy(&go_format(z, b"2006-01-02T15:04:05.999999999Z07:00")).into_owned()
}

/// Go's `time.ParseInLocation(layout, value, Local)` for the common layout elements.
pub(crate) fn go_parse(layout: &[u8], value: &[u8]) -> Result<Zoned, Fail> {
    let bad = || Fail::Func("parsing time: the value does not match the layout".into());
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos) =
        (1i64, 1i64, 1i64, 0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let mut offset: Option<i32> = None;
    let mut zone_abbr: Option<String> = None;
    let mut rest_l = layout;
    let mut v = value;
    let num = |v: &mut &[u8], min_digits: usize, max_digits: usize| -> Result<i64, Fail> {
        let n = v
            .iter()
            .take(max_digits)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n < min_digits {
            return Err(bad());
        }
        let s = std::str::from_utf8(&v[..n]).map_err(|_| bad())?;
        *v = &v[n..];
        s.parse::<i64>().map_err(|_| bad())
    };
    let word = |v: &mut &[u8], list: &[&str], short: bool| -> Result<i64, Fail> {
        for (i, w) in list.iter().enumerate() {
            let w = if short { &w[..3] } else { w };
            if v.len() >= w.len() && v[..w.len()].eq_ignore_ascii_case(w.as_bytes()) {
                *v = &v[w.len()..];
                return Ok(i as i64);
            }
        }
        Err(bad())
    };
    loop {
        let (lit, chunk) = next_chunk(rest_l);
        v = v.strip_prefix(lit).ok_or_else(bad)?;
        let Some((std, end)) = chunk else { break };
        rest_l = &rest_l[end..];
        match std {
            Std::LongMonth => month = word(&mut v, &MONTHS, false)? + 1,
            Std::Month => month = word(&mut v, &MONTHS, true)? + 1,
            Std::NumMonth => month = num(&mut v, 1, 2)?,
            Std::ZeroMonth => month = num(&mut v, 2, 2)?,
            Std::LongWeekDay => {
                word(&mut v, &DAYS, false)?;
            }
            Std::WeekDay => {
                word(&mut v, &DAYS, true)?;
            }
            Std::Day => day = num(&mut v, 1, 2)?,
            Std::UnderDay => {
                if v.first() == Some(&b' ') {
                    v = &v[1..];
                }
                day = num(&mut v, 1, 2)?;
            }
            Std::ZeroDay => day = num(&mut v, 2, 2)?,
            Std::UnderYearDay | Std::ZeroYearDay => {
                return Err(Fail::Func(
                    "parsing a day of the year is not supported".into(),
                ));
            }
            Std::Hour => hour = num(&mut v, 2, 2)?,
            Std::Hour12 => hour = num(&mut v, 1, 2)?,
            Std::ZeroHour12 => hour = num(&mut v, 2, 2)?,
            Std::Minute => min = num(&mut v, 1, 2)?,
            Std::ZeroMinute => min = num(&mut v, 2, 2)?,
            Std::Second => sec = num(&mut v, 1, 2)?,
            Std::ZeroSecond => {
                sec = num(&mut v, 2, 2)?;
                // Go accepts fractional seconds after seconds even when the layout has none.
                if rest_l.first() != Some(&b'.')
                    && v.first() == Some(&b'.')
                    && v.get(1).is_some_and(u8::is_ascii_digit)
                {
                    v = &v[1..];
                    let n = v.iter().take_while(|b| b.is_ascii_digit()).count();
                    let digits = std::str::from_utf8(&v[..n]).map_err(|_| bad())?;
                    nanos = frac_nanos(digits);
                    v = &v[n..];
                }
            }
            Std::LongYear => {
                year = num(&mut v, 4, 4)?;
            }
            Std::Year => {
                let y = num(&mut v, 2, 2)?;
                year = if y >= 69 { 1900 + y } else { 2000 + y };
            }
            Std::PM | Std::Lpm => {
                if v.len() < 2 {
                    return Err(bad());
                }
                let p = v[..2].to_ascii_uppercase();
                pm = Some(match &p[..] {
                    b"PM" => true,
                    b"AM" => false,
                    _ => return Err(bad()),
                });
                v = &v[2..];
            }
            Std::Tz => {
                if v.first() == Some(&b'Z') && v.get(1).is_none_or(|b| !b.is_ascii_uppercase()) {
                    return Err(bad());
                }
                let n = v.iter().take_while(|b| b.is_ascii_uppercase()).count();
                if n < 3 {
                    return Err(bad());
                }
                zone_abbr = Some(String::from_utf8_lossy(&v[..n]).into_owned());
                v = &v[n..];
            }
            Std::Iso(k) | Std::Num(k) => {
                if matches!(std, Std::Iso(_)) && v.first() == Some(&b'Z') {
                    v = &v[1..];
                    offset = Some(0);
                    continue;
                }
                let sign = match v.first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(bad()),
                };
                v = &v[1..];
                let h = num(&mut v, 2, 2)?;
                let mut m = 0;
                let mut s = 0;
                if matches!(k, 2 | 5) {
                    v = v.strip_prefix(b":").ok_or_else(bad)?;
                }
                if k != 3 {
                    m = num(&mut v, 2, 2)?;
                }
                if matches!(k, 4 | 5) {
                    if k == 5 {
                        v = v.strip_prefix(b":").ok_or_else(bad)?;
                    }
                    s = num(&mut v, 2, 2)?;
                }
                offset = Some(sign * (h * 3600 + m * 60 + s) as i32);
            }
            Std::Frac(_, n, trim) => {
                if v.first().is_some_and(|&b| b == b'.' || b == b',') {
                    v = &v[1..];
                    let k = v.iter().take_while(|b| b.is_ascii_digit()).count();
                    if !trim && k != n {
                        return Err(bad());
                    }
                    let digits = std::str::from_utf8(&v[..k]).map_err(|_| bad())?;
                    nanos = frac_nanos(digits);
                    v = &v[k..];
                } else if !trim {
                    return Err(bad());
                }
            }
        }
    }
    if !v.is_empty() {
        return Err(Fail::Func(
            "parsing time: extra text after the value".into(),
        ));
    }
    if let Some(p) = pm {
        if hour > 12 {
            return Err(bad());
        }
        if p && hour < 12 {
            hour += 12;
        } else if !p && hour == 12 {
            hour = 0;
        }
    }
    if !(1..=12).contains(&month) || hour > 23 || min > 59 || sec > 59 {
        return Err(Fail::Func("parsing time: a field is out of range".into()));
    }
    let dt = jiff::civil::DateTime::new(
        i16::try_from(year).map_err(|_| bad())?,
        month as i8,
        i8::try_from(day).map_err(|_| bad())?,
        hour as i8,
        min as i8,
        sec as i8,
        nanos as i32,
    )
    .map_err(|_| Fail::Func("parsing time: day out of range".into()))?;
    let tz = match (offset, zone_abbr) {
        (Some(0), _) => TimeZone::UTC,
        (Some(o), _) => TimeZone::fixed(Offset::from_seconds(o).map_err(|_| bad())?),
        (None, Some(a)) if a == "UTC" || a == "GMT" => TimeZone::UTC,
        // Go fabricates a zone with offset 0 for an unknown abbreviation.
        (None, Some(_)) => TimeZone::UTC,
        (None, None) => local(),
    };
    dt.to_zoned(tz).map_err(|_| bad())
}

fn frac_nanos(digits: &str) -> i64 {
    let mut d: String = digits.chars().take(9).collect();
    while d.len() < 9 {
        d.push('0');
    }
    d.parse().unwrap_or(0)
}

/// The zone Go calls `Local`: UTC (nothing reads the host's zone).
pub(crate) fn local() -> TimeZone {
    TimeZone::UTC
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::funcs::date::{load_location, zero_time};

    fn at(s: &str) -> Zoned {
        s.parse::<jiff::Timestamp>()
            .map(|t| Zoned::new(t, TimeZone::UTC))
            .unwrap_or_else(|_| zero_time())
    }

    #[test]
    fn formats_like_go() {
        let z = at("2024-03-05T07:08:09.120Z");
        let f = |l: &str| String::from_utf8_lossy(&go_format(&z, l.as_bytes())).into_owned();
        assert_eq!(f("2006-01-02 15:04:05"), "2024-03-05 07:08:09");
        assert_eq!(
            f("Mon Jan _2 3:4:5 PM MST 06"),
            "Tue Mar  5 7:8:9 AM UTC 24"
        );
        assert_eq!(
            f("January 2, 2006 .000 .999 Z07:00 -0700"),
            "March 5, 2024 .120 .12 Z +0000"
        );
        assert_eq!(f("002 __2 Monday"), "065  65 Tuesday");
        assert_eq!(go_time_string(&z), "2024-03-05 07:08:09.12 +0000 UTC");
        assert_eq!(
            go_time_string(&zero_time()),
            "0001-01-01 00:00:00 +0000 UTC"
        );
        let ny = z.with_time_zone(load_location("America/New_York").unwrap_or(TimeZone::UTC));
        assert_eq!(go_time_string(&ny), "2024-03-05 02:08:09.12 -0500 EST");
    }

    #[test]
    fn parses_like_go() {
        let p = |l: &str, v: &str| {
            go_parse(l.as_bytes(), v.as_bytes())
                .map(|z| go_time_string(&z))
                .ok()
        };
        assert_eq!(
            p("2006-01-02", "2024-03-05"),
            Some("2024-03-05 00:00:00 +0000 UTC".into())
        );
        assert_eq!(
            p("2006-01-02T15:04:05Z07:00", "2024-03-05T10:00:00+02:00"),
            Some("2024-03-05 10:00:00 +0200 +0200".into())
        );
        assert_eq!(
            p("Jan 2 2006 3:04PM", "Mar 5 2024 1:30PM"),
            Some("2024-03-05 13:30:00 +0000 UTC".into())
        );
        assert_eq!(p("2006-01-02", "2024-02-30"), None);
        assert_eq!(p("2006-01-02", "x"), None);
    }
}
