//! Go's `strconv` formatting that `fmt` and Sprig rely on: `FormatFloat` (shortest and fixed
//! precision, Go's exponent rules), `Quote`/`QuoteToASCII`, and `unicode.IsPrint`.

/// Decimal digits (no leading zeros, trailing zeros trimmed) and the decimal point position, as
/// Go's strconv computes them: `value = 0.DIGITS * 10^dp`.
fn decimal_digits(f: f64, significant: Option<usize>) -> (String, i32) {
    let s = match significant {
        None => format!("{:e}", f.abs()),
        Some(p) => format!("{:.*e}", p.max(1) - 1, f.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    if digits == "0" {
        return (digits, 1);
    }
    (digits, exp + 1)
}

/// Go's `strconv.FormatFloat(f, verb, prec, 64)` (prec `None` = shortest), with fmt's `+Inf`.
pub(crate) fn format_float(f: f64, verb: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let upper = verb.is_ascii_uppercase();
    match verb.to_ascii_lowercase() {
        'f' => match prec {
            Some(p) => format!("{sign}{:.*}", p, f.abs()),
            None => {
                let (d, dp) = decimal_digits(f, None);
                format!("{sign}{}", fmt_f(&d, dp, None))
            }
        },
        'e' => {
            let (d, dp) = match prec {
                Some(p) => decimal_digits(f, Some(p + 1)),
                None => decimal_digits(f, None),
            };
            let frac = prec.unwrap_or(d.len().saturating_sub(1));
            format!("{sign}{}", fmt_e(&d, dp, frac, upper))
        }
        _ => {
            // 'g'
            let shortest = prec.is_none();
            let (d, dp) = match prec {
                Some(p) => decimal_digits(f, Some(p.max(1))),
                None => decimal_digits(f, None),
            };
            let nd = d.len() as i32;
            let mut p = match prec {
                Some(p) => p.max(1) as i32,
                None => nd,
            };
            let mut eprec = p;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                return format!("{sign}{}", fmt_e(&d, dp, (p - 1).max(0) as usize, upper));
            }
            if p > dp {
                p = nd;
            }
            format!("{sign}{}", fmt_f(&d, dp, Some((p - dp).max(0) as usize)))
        }
    }
}

/// `d.ddddde±XX` from digits; pads with zeros to `frac` fraction digits.
fn fmt_e(d: &str, dp: i32, frac: usize, upper: bool) -> String {
    let mut s = String::new();
    let first = d.chars().next().unwrap_or('0');
    s.push(first);
    if frac > 0 {
        s.push('.');
        let rest: String = d.chars().skip(1).take(frac).collect();
        s.push_str(&rest);
        for _ in rest.len()..frac {
            s.push('0');
        }
    }
    let exp = if d == "0" { 0 } else { dp - 1 };
    s.push(if upper { 'E' } else { 'e' });
    s.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        s.push('0');
    }
    s.push_str(&e.to_string());
    s
}

/// Fixed notation from digits; `frac` None means exactly the digits there are.
fn fmt_f(d: &str, dp: i32, frac: Option<usize>) -> String {
    let digits: Vec<char> = d.chars().collect();
    let digit_at = |i: i32| -> char {
        if i >= 0 && (i as usize) < digits.len() {
            digits[i as usize]
        } else {
            '0'
        }
    };
    let mut s = String::new();
    if dp > 0 {
        for i in 0..dp {
            s.push(digit_at(i));
        }
    } else {
        s.push('0');
    }
    let frac = match frac {
        Some(f) => f,
        None => (digits.len() as i32 - dp).max(0) as usize,
    };
    if frac > 0 {
        s.push('.');
        for i in 0..frac as i32 {
            s.push(digit_at(dp + i));
        }
    }
    s
}

/// Go's `unicode.IsPrint`, approximated without Unicode tables: controls, non-ASCII spaces,
/// format characters, private use and noncharacters are not printable.
pub(crate) fn is_print(c: char) -> bool {
    let u = c as u32;
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x2028..=0x202E
        | 0x2060..=0x206F | 0xD800..=0xDFFF | 0xE000..=0xF8FF | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xFFFE | 0xFFFF | 0xE0001 | 0xE0020..=0xE007F | 0xF0000..=0x10FFFF)
}

/// Go's `strconv.Quote` (or `QuoteToASCII` when `ascii`).
pub(crate) fn go_quote(s: &[u8], ascii: bool) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    let mut rest = s;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                for c in valid.chars() {
                    quote_char(&mut q, c, '"', ascii);
                }
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                for c in String::from_utf8_lossy(good).chars() {
                    quote_char(&mut q, c, '"', ascii);
                }
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                for b in &bad[..n] {
                    q.push_str(&format!("\\x{b:02x}"));
                }
                rest = &bad[n..];
            }
        }
    }
    q.push('"');
    q
}

pub(crate) fn quote_rune(c: char, ascii: bool) -> String {
    let mut q = String::from("'");
    quote_char(&mut q, c, '\'', ascii);
    q.push('\'');
    q
}

fn quote_char(q: &mut String, c: char, quote: char, ascii: bool) {
    if c == quote || c == '\\' {
        q.push('\\');
        q.push(c);
        return;
    }
    if (!ascii || c.is_ascii()) && is_print(c) {
        q.push(c);
        return;
    }
    match c {
        '\u{7}' => q.push_str("\\a"),
        '\u{8}' => q.push_str("\\b"),
        '\u{c}' => q.push_str("\\f"),
        '\n' => q.push_str("\\n"),
        '\r' => q.push_str("\\r"),
        '\t' => q.push_str("\\t"),
        '\u{b}' => q.push_str("\\v"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => q.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => q.push_str(&format!("\\u{:04x}", c as u32)),
        c => q.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        let cases = [
            (1234567.0, "1.234567e+06"),
            (123456.0, "123456"),
            (1e20, "1e+20"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5, "1.5"),
            (100000000.0, "1e+08"),
            (0.0, "0"),
            (-2.5, "-2.5"),
        ];
        for (f, want) in cases {
            assert_eq!(format_float(f, 'g', None), want, "{f}");
        }
        assert_eq!(format_float(1.23456, 'f', Some(2)), "1.23");
        assert_eq!(format_float(1234.5678, 'e', Some(6)), "1.234568e+03");
        assert_eq!(format_float(0.00001234, 'g', None), "1.234e-05");
        assert_eq!(format_float(1e21, 'G', None), "1E+21");
        assert_eq!(format_float(1.0, 'g', Some(3)), "1");
        assert_eq!(format_float(f64::INFINITY, 'g', None), "+Inf");
    }
}
