//! Go's spelling of flag values, which both binaries accept as upstream's Go programs do:
//! booleans as `strconv.ParseBool` reads them, durations as `time.ParseDuration` does.

use std::time::Duration;

/// A boolean as Go's `strconv.ParseBool`: `1 t T TRUE true True` and `0 f F FALSE false False`.
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(format!("{other:?} is not a boolean (use true or false)")),
    }
}

/// A duration as Go's `time.ParseDuration` (`720h0m0s`, `1.5h`, `90s`, `100ms`, `0`), not
/// negative.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let bad = || format!("{value:?} is not a duration (examples: 720h0m0s, 30m, 90s, 0)");
    let s = value.strip_prefix('+').unwrap_or(value);
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if number_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for (s, v) in [
            ("1", true),
            ("True", true),
            ("T", true),
            ("0", false),
            ("F", false),
        ] {
            assert_eq!(parse_bool(s), Ok(v));
        }
        for bad in ["yes", "no", "on", "off", "y", "", "tRuE"] {
            assert!(parse_bool(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("720h0m0s"),
            Ok(Duration::from_secs(720 * 3600))
        );
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        for bad in ["", "10", "h", "-1h", "1d", "1h-2m", "abc"] {
            assert!(parse_duration(bad).is_err(), "{bad} must be rejected");
        }
    }
}
