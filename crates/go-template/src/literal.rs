//! Go literal syntax: number literals (`0x1F`, `0o17`, `017`, `1_000`, `1.5e3`), character
//! constants (`'a'`, `'\\n'`) and string literals (`"..."` with Go escapes, `` `raw` ``).

/// Go's number literal rules: ints (with `0x`/`0o`/`0b`/leading-0 octal and `_`), floats, and
/// floats with an integral value also usable as ints.
pub(crate) fn parse_number(text: &str) -> Result<Num, String> {
    if text.ends_with('i') {
        return Err(format!("complex number {text:?} is not supported"));
    }
    let bad = || format!("illegal number syntax: {text:?}");
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Ok(u) = u64::from_str_radix(digits, radix) {
            let int = if neg {
                0i64.checked_sub_unsigned(u)
            } else {
                i64::try_from(u).ok()
            };
            return match int {
                Some(i) => Ok(Num {
                    text: text.to_string(),
                    int: Some(i),
                    float: Some(i as f64),
                    float_syntax: false,
                }),
                None => Err(format!("integer overflow: {text:?}")),
            };
        }
        if radix != 10 || !body.contains(['.', 'e', 'E']) {
            return Err(bad());
        }
    }
    if radix == 16 {
        return Err(format!("hexadecimal float {text:?} is not supported"));
    }
    let f: f64 = clean.parse().map_err(|_| bad())?;
    if !body.contains(['.', 'e', 'E']) {
        return Err(format!("integer overflow: {text:?}"));
    }
    let int = if f.fract() == 0.0 && f.abs() < 9.2e18 {
        Some(f as i64)
    } else {
        None
    };
    Ok(Num {
        text: text.to_string(),
        int,
        float: Some(f),
        float_syntax: true,
    })
}

/// The value of a character constant such as `'a'` or `'\n'`.
pub(crate) fn char_value(q: &str) -> Result<i64, String> {
    let inner = q.get(1..q.len().saturating_sub(1)).unwrap_or("");
    let mut out = Vec::new();
    let mut chars = inner.char_indices().peekable();
    let mut count = 0;
    let mut value = 0i64;
    while let Some((_, c)) = chars.next() {
        count += 1;
        if c == '\\' {
            let v = unescape(&mut chars, '\'', &mut out)?;
            value = v;
        } else {
            value = i64::from(u32::from(c));
        }
    }
    if count != 1 {
        return Err(format!("malformed character constant: {q}"));
    }
    Ok(value)
}

/// Decodes one escape after a backslash; pushes its bytes to `out`, returns its numeric value.
fn unescape(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    quote: char,
    out: &mut Vec<u8>,
) -> Result<i64, String> {
    let bad = || "invalid syntax".to_string();
    let (_, e) = chars.next().ok_or_else(bad)?;
    let simple = match e {
        'a' => Some(7u8),
        'b' => Some(8),
        'f' => Some(12),
        'n' => Some(b'\n'),
        'r' => Some(b'\r'),
        't' => Some(b'\t'),
        'v' => Some(11),
        '\\' => Some(b'\\'),
        c if c == quote => Some(c as u8),
        _ => None,
    };
    if let Some(b) = simple {
        out.push(b);
        return Ok(i64::from(b));
    }
    let mut take = |n: usize, radix: u32| -> Result<u32, String> {
        let mut v: u32 = 0;
        for _ in 0..n {
            let (_, c) = chars.next().ok_or_else(bad)?;
            let d = c.to_digit(radix).ok_or_else(bad)?;
            v = v
                .checked_mul(radix)
                .and_then(|v| v.checked_add(d))
                .ok_or_else(bad)?;
        }
        Ok(v)
    };
    match e {
        'x' => {
            let v = take(2, 16)?;
            out.push(v as u8);
            Ok(i64::from(v))
        }
        '0'..='7' => {
            let rest = take(2, 8)?;
            let v = (e as u32 - '0' as u32) * 64 + rest;
            if v > 255 {
                return Err(bad());
            }
            out.push(v as u8);
            Ok(i64::from(v))
        }
        'u' | 'U' => {
            let v = take(if e == 'u' { 4 } else { 8 }, 16)?;
            let c = char::from_u32(v).ok_or_else(bad)?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            Ok(i64::from(v))
        }
        _ => Err(bad()),
    }
}

/// Go's `strconv.Unquote` for `"..."` and `` `...` `` literals (bytes: `\x` escapes may make
/// invalid UTF-8, as in Go).
pub(crate) fn unquote(q: &str) -> Result<Vec<u8>, String> {
    if q.len() >= 2 && q.starts_with('`') && q.ends_with('`') {
        return Ok(q[1..q.len() - 1].replace('\r', "").into_bytes());
    }
    let inner = q
        .get(1..q.len().saturating_sub(1))
        .ok_or("invalid syntax")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c == '\\' {
            unescape(&mut chars, '"', &mut out)?;
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Ok(out)
}

/// A number literal, with the interpretations Go's parser allows.
#[derive(Debug, Clone)]
pub(crate) struct Num {
    pub(crate) text: String,
    pub(crate) int: Option<i64>,
    pub(crate) float: Option<f64>,
    /// Written as a float (`.`, exponent): an `interface{}` operand becomes float64.
    pub(crate) float_syntax: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let n = |s| parse_number(s).ok().and_then(|n| n.int);
        assert_eq!(n("42"), Some(42));
        assert_eq!(n("-0x1F"), Some(-31));
        assert_eq!(n("0o17"), Some(15));
        assert_eq!(n("017"), Some(15));
        assert_eq!(n("0b101"), Some(5));
        assert_eq!(n("1_000"), Some(1000));
        assert_eq!(n("1.0"), Some(1));
        assert_eq!(n("1.5"), None);
        assert!(parse_number("1.5").is_ok_and(|n| n.float == Some(1.5) && n.float_syntax));
        assert!(parse_number("99999999999999999999").is_err());
        assert!(parse_number("1i").is_err());
        assert_eq!(char_value("'a'"), Ok(97));
        assert_eq!(char_value("'\\n'"), Ok(10));
        assert!(char_value("'ab'").is_err());
    }

    #[test]
    fn strings() {
        assert_eq!(
            unquote("\"a\\n\\t\\\"\\x41\\101\\u00e9\""),
            Ok("a\n\t\"AAé".as_bytes().to_vec())
        );
        assert_eq!(unquote("`a\\n`"), Ok(b"a\\n".to_vec()));
        assert_eq!(unquote("\"\\xff\""), Ok(vec![0xff]));
        assert!(unquote("\"\\q\"").is_err());
        assert!(unquote("\"\\'\"").is_err());
    }
}
