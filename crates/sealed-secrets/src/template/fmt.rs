//! Go `fmt` formatting of template values: the default `%v` form used when an action prints a
//! value, and `printf`/`print`/`println` with Go's verbs, flags and error markers
//! (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA ...)`).
//!
//! Formatting writes into a size-limited buffer, so a value built to be huge (a list that contains
//! itself many times over) stops with a limit error instead of exhausting memory.

use super::funcs::{Fail, MAX_DEPTH, MAX_VALUE_BYTES};
use super::value::Value;

/// A byte buffer that refuses to grow past [`MAX_VALUE_BYTES`].
pub(crate) struct Buf {
    pub(crate) b: Vec<u8>,
}

impl Buf {
    pub(crate) fn new() -> Buf {
        Buf { b: Vec::new() }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), Fail> {
        if self.b.len().saturating_add(bytes.len()) > MAX_VALUE_BYTES {
            return Err(Fail::Limit("value size", MAX_VALUE_BYTES));
        }
        self.b.extend_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn push_str(&mut self, s: &str) -> Result<(), Fail> {
        self.push(s.as_bytes())
    }
}

/// Appends `v` as Go's `fmt.Sprint(v)` would.
pub(crate) fn write_v(out: &mut Buf, v: &Value) -> Result<(), Fail> {
    write_verb(out, v, &Spec::plain('v'), 0)
}

/// `fmt.Sprint(v)` as bytes.
pub(crate) fn sprint_one(v: &Value) -> Result<Vec<u8>, Fail> {
    if let Value::Str(s) = v {
        return Ok(s.0.clone());
    }
    let mut out = Buf::new();
    write_v(&mut out, v)?;
    Ok(out.b)
}

/// `fmt.Sprint(args...)`: operands are separated by a space when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> Result<Vec<u8>, Fail> {
    let mut out = Buf::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = matches!(a, Value::Str(_));
        if i > 0 && !is_str && !matches!(args[i - 1], Value::Str(_)) {
            out.push(b" ")?;
        }
        write_v(&mut out, a)?;
    }
    Ok(out.b)
}

/// `fmt.Sprintln(args...)`: always space-separated, with a trailing newline.
pub(crate) fn sprintln(args: &[Value]) -> Result<Vec<u8>, Fail> {
    let mut out = Buf::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b" ")?;
        }
        write_v(&mut out, a)?;
    }
    out.push(b"\n")?;
    Ok(out.b)
}

/// One parsed `%` directive.
#[derive(Clone, Default)]
struct Spec {
    verb: char,
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

impl Spec {
    fn plain(verb: char) -> Spec {
        Spec {
            verb,
            ..Spec::default()
        }
    }
}

/// Largest width or precision: a larger one could only produce a value over the size limit.
const MAX_WIDTH: usize = MAX_VALUE_BYTES;

/// `fmt.Sprintf(format, args...)`.
pub(crate) fn sprintf(format: &[u8], args: &[Value]) -> Result<Vec<u8>, Fail> {
    let mut out = Buf::new();
    let mut argi = 0;
    let mut i = 0;
    while i < format.len() {
        let start = i;
        while i < format.len() && format[i] != b'%' {
            i += 1;
        }
        out.push(&format[start..i])?;
        if i >= format.len() {
            break;
        }
        i += 1; // '%'
        let mut spec = Spec::default();
        while i < format.len() {
            match format[i] {
                b'+' => spec.plus = true,
                b'-' => spec.minus = true,
                b'#' => spec.sharp = true,
                b' ' => spec.space = true,
                b'0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        // Width: digits or '*'.
        if i < format.len() && format[i] == b'*' {
            i += 1;
            match args.get(argi) {
                Some(Value::Int(n) | Value::Int64(n)) => {
                    argi += 1;
                    if *n < 0 {
                        spec.minus = true;
                    }
                    spec.width = Some(usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX));
                }
                _ => {
                    argi += 1;
                    out.push(b"%!(BADWIDTH)")?;
                }
            }
        } else {
            let (n, next) = parse_num(format, i);
            spec.width = n;
            i = next;
        }
        if i < format.len() && format[i] == b'.' {
            i += 1;
            if i < format.len() && format[i] == b'*' {
                i += 1;
                match args.get(argi) {
                    Some(Value::Int(n) | Value::Int64(n)) if *n >= 0 => {
                        argi += 1;
                        spec.prec = Some(usize::try_from(*n).unwrap_or(usize::MAX));
                    }
                    _ => {
                        argi += 1;
                        out.push(b"%!(BADPREC)")?;
                    }
                }
            } else {
                let (n, next) = parse_num(format, i);
                spec.prec = Some(n.unwrap_or(0));
                i = next;
            }
        }
        if spec.width.unwrap_or(0) > MAX_WIDTH || spec.prec.unwrap_or(0) > MAX_WIDTH {
            return Err(Fail::Limit("value size", MAX_VALUE_BYTES));
        }
        if i >= format.len() {
            out.push(b"%!(NOVERB)")?;
            break;
        }
        // The verb is one rune.
        let rest = String::from_utf8_lossy(&format[i..format.len().min(i + 4)]).into_owned();
        let verb = rest.chars().next().unwrap_or('?');
        i += if verb == char::REPLACEMENT_CHARACTER {
            1
        } else {
            verb.len_utf8()
        };
        spec.verb = verb;
        if verb == '%' {
            out.push(b"%")?;
            continue;
        }
        match args.get(argi) {
            None => {
                out.push_str(&format!("%!{verb}(MISSING)"))?;
            }
            Some(arg) => {
                argi += 1;
                write_verb(&mut out, arg, &spec, 0)?;
            }
        }
    }
    if argi < args.len() {
        out.push(b"%!(EXTRA ")?;
        for (k, a) in args[argi..].iter().enumerate() {
            if k > 0 {
                out.push(b", ")?;
            }
            out.push_str(a.type_name())?;
            out.push(b"=")?;
            write_v(&mut out, a)?;
        }
        out.push(b")")?;
    }
    Ok(out.b)
}

fn parse_num(s: &[u8], mut i: usize) -> (Option<usize>, usize) {
    let start = i;
    let mut n: usize = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        n = n
            .saturating_mul(10)
            .saturating_add(usize::from(s[i] - b'0'));
        i += 1;
    }
    if i == start { (None, i) } else { (Some(n), i) }
}

/// Formats one operand with one directive.
fn write_verb(out: &mut Buf, v: &Value, spec: &Spec, depth: usize) -> Result<(), Fail> {
    if depth > MAX_DEPTH {
        return Err(Fail::Limit("value nesting depth", MAX_DEPTH));
    }
    if spec.verb == 'T' {
        return pad(out, spec, v.type_name().as_bytes(), false);
    }
    match v {
        Value::Nil => match spec.verb {
            'v' => pad(out, spec, b"<nil>", false),
            verb => out.push_str(&format!("%!{verb}(<nil>)")),
        },
        Value::Bool(b) => match spec.verb {
            'v' | 't' => pad(out, spec, if *b { b"true" } else { b"false" }, false),
            _ => bad_verb(out, spec.verb, v),
        },
        Value::Int(n) | Value::Int64(n) => write_int(out, *n, spec, v),
        Value::Float(f) => write_float(out, *f, spec, v),
        Value::Str(s) => write_bytes(out, &s.0, spec, v),
        Value::Time(t) => {
            let s = super::funcs::date::go_time_string(t);
            match spec.verb {
                'v' | 's' | 'q' | 'x' | 'X' => write_bytes(out, s.as_bytes(), spec, v),
                _ => bad_verb(out, spec.verb, v),
            }
        }
        Value::List(l) => {
            if spec.sharp && spec.verb == 'v' {
                out.push_str(l_type(v))?;
                out.push(b"{")?;
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        out.push(b", ")?;
                    }
                    write_verb(out, item, spec, depth + 1)?;
                }
                return out.push(b"}");
            }
            out.push(b"[")?;
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(b" ")?;
                }
                write_verb(out, item, spec, depth + 1)?;
            }
            out.push(b"]")
        }
        Value::Map(m) => {
            let entries = m.entries.borrow();
            if spec.sharp && spec.verb == 'v' {
                out.push_str(l_type(v))?;
                out.push(b"{")?;
                for (i, (k, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b", ")?;
                    }
                    write_verb(out, &Value::str(k.clone()), spec, depth + 1)?;
                    out.push(b":")?;
                    write_verb(out, item, spec, depth + 1)?;
                }
                return out.push(b"}");
            }
            out.push(b"map[")?;
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b" ")?;
                }
                write_bytes(out, k.as_bytes(), spec, &Value::Nil)?;
                out.push(b":")?;
                write_verb(out, item, spec, depth + 1)?;
            }
            out.push(b"]")
        }
    }
}

fn l_type(v: &Value) -> &'static str {
    v.type_name()
}

/// Go's marker for a verb that does not fit the operand, e.g. `%!d(string=x)`.
fn bad_verb(out: &mut Buf, verb: char, v: &Value) -> Result<(), Fail> {
    out.push_str(&format!("%!{verb}("))?;
    out.push_str(v.type_name())?;
    out.push(b"=")?;
    write_verb(out, v, &Spec::plain('v'), 1)?;
    out.push(b")")
}

/// Pads `body` to the width. Zero padding goes after a sign when `numeric`.
fn pad(out: &mut Buf, spec: &Spec, body: &[u8], numeric: bool) -> Result<(), Fail> {
    let width = spec.width.unwrap_or(0);
    let len = String::from_utf8_lossy(body).chars().count();
    if len >= width {
        return out.push(body);
    }
    let fill = width - len;
    if spec.minus {
        out.push(body)?;
        return out.push(&vec![b' '; fill]);
    }
    if spec.zero && numeric {
        let sign = usize::from(matches!(body.first(), Some(b'+' | b'-' | b' ')));
        out.push(&body[..sign])?;
        out.push(&vec![b'0'; fill])?;
        return out.push(&body[sign..]);
    }
    out.push(&vec![b' '; fill])?;
    out.push(body)
}

fn write_bytes(out: &mut Buf, s: &[u8], spec: &Spec, v: &Value) -> Result<(), Fail> {
    match spec.verb {
        'v' | 's' => {
            let body: Vec<u8> = match spec.prec {
                Some(p) => truncate_runes(s, p),
                None => s.to_vec(),
            };
            if spec.sharp && spec.verb == 'v' {
                return pad(out, spec, go_quote(&body, false).as_bytes(), false);
            }
            pad(out, spec, &body, false)
        }
        'q' => {
            let body = match spec.prec {
                Some(p) => truncate_runes(s, p),
                None => s.to_vec(),
            };
            let quoted = if spec.sharp && can_backquote(&body) {
                let mut q = String::from("`");
                q.push_str(&String::from_utf8_lossy(&body));
                q.push('`');
                q
            } else {
                go_quote(&body, spec.plus)
            };
            pad(out, spec, quoted.as_bytes(), false)
        }
        'x' | 'X' => {
            let body = match spec.prec {
                Some(p) => &s[..p.min(s.len())],
                None => s,
            };
            let mut h = String::new();
            for (i, b) in body.iter().enumerate() {
                if spec.space && i > 0 {
                    h.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    h.push_str(if spec.verb == 'x' { "0x" } else { "0X" });
                }
                if spec.verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, spec, h.as_bytes(), false)
        }
        _ => {
            if matches!(v, Value::Nil) {
                // Map keys reach here with a non-string verb.
                out.push_str(&format!("%!{}(string=", spec.verb))?;
                out.push(s)?;
                out.push(b")")
            } else {
                bad_verb(out, spec.verb, v)
            }
        }
    }
}

fn truncate_runes(s: &[u8], n: usize) -> Vec<u8> {
    String::from_utf8_lossy(s)
        .chars()
        .take(n)
        .collect::<String>()
        .into_bytes()
}

fn can_backquote(s: &[u8]) -> bool {
    match std::str::from_utf8(s) {
        Ok(t) => t
            .chars()
            .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control())),
        Err(_) => false,
    }
}

fn write_int(out: &mut Buf, n: i64, spec: &Spec, v: &Value) -> Result<(), Fail> {
    let neg = n < 0;
    let mag = n.unsigned_abs();
    let digits = match spec.verb {
        'v' | 'd' => mag.to_string(),
        'b' => format!("{mag:b}"),
        'o' | 'O' => format!("{mag:o}"),
        'x' => format!("{mag:x}"),
        'X' => format!("{mag:X}"),
        'c' => {
            let c = u32::try_from(n)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            return pad(out, spec, c.to_string().as_bytes(), false);
        }
        'q' => {
            let c = u32::try_from(n)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            let q = quote_rune(c, spec.plus);
            return pad(out, spec, q.as_bytes(), false);
        }
        'U' => {
            let mut s = format!("U+{mag:04X}");
            if spec.sharp
                && let Some(c) = u32::try_from(n).ok().and_then(char::from_u32)
                && is_print(c)
            {
                s.push_str(&format!(" '{c}'"));
            }
            return pad(out, spec, s.as_bytes(), false);
        }
        _ => return bad_verb(out, spec.verb, v),
    };
    let mut digits = digits;
    if let Some(p) = spec.prec {
        if p == 0 && n == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match spec.verb {
        'b' if spec.sharp => "0b",
        'o' if spec.sharp && !digits.starts_with('0') => "0",
        'O' => "0o",
        'x' if spec.sharp => "0x",
        'X' if spec.sharp => "0X",
        _ => "",
    };
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let body = format!("{sign}{prefix}{digits}");
    // Go ignores the 0 flag when a precision is given.
    let zero_ok = spec.prec.is_none();
    let spec2 = Spec {
        zero: spec.zero && zero_ok,
        ..spec.clone()
    };
    pad(out, &spec2, body.as_bytes(), true)
}

fn write_float(out: &mut Buf, f: f64, spec: &Spec, v: &Value) -> Result<(), Fail> {
    let verb = match spec.verb {
        'v' => 'g',
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => spec.verb,
        _ => return bad_verb(out, spec.verb, v),
    };
    // fmt's default precision is 6 for %e and %f, shortest for %g and %v.
    let prec = spec.prec.or(if matches!(verb, 'e' | 'E' | 'f' | 'F') {
        Some(6)
    } else {
        None
    });
    let mut body = format_float(f, verb, prec);
    if spec.plus && !body.starts_with(['-', '+']) {
        body.insert(0, '+');
    } else if spec.space && !body.starts_with(['-', '+']) {
        body.insert(0, ' ');
    }
    let numeric = f.is_finite();
    pad(out, spec, body.as_bytes(), numeric)
}

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

fn quote_rune(c: char, ascii: bool) -> String {
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

    fn pf(f: &str, args: &[Value]) -> String {
        String::from_utf8(sprintf(f.as_bytes(), args).unwrap_or_default()).unwrap_or_default()
    }

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

    #[test]
    fn printf_verbs_like_go() {
        let s = |x: &str| Value::str(x);
        assert_eq!(
            pf(
                "%s %d %q %x %5.2f|%-5d|%05d|%+d",
                &[
                    s("a"),
                    Value::Int(1),
                    s("q\n"),
                    s("hi"),
                    Value::Float(1.23456),
                    Value::Int(2),
                    Value::Int(-3),
                    Value::Int(4)
                ]
            ),
            "a 1 \"q\\n\" 6869  1.23|2    |-0003|+4"
        );
        assert_eq!(
            pf("%d %s", &[s("x"), Value::Int(1)]),
            "%!d(string=x) %!s(int=1)"
        );
        assert_eq!(pf("%d", &[]), "%!d(MISSING)");
        assert_eq!(
            pf("%d", &[Value::Int(1), Value::Int(2)]),
            "1%!(EXTRA int=2)"
        );
        assert_eq!(
            pf("%c|%U|%o|%b|%q", &[const { Value::Int(65) }; 5]),
            "A|U+0041|101|1000001|'A'"
        );
        assert_eq!(
            pf("%5s|%-5s|%.2s", &[s("abc"), s("ab"), s("abcdef")]),
            "  abc|ab   |ab"
        );
        assert_eq!(
            pf("% x %X %#x", &[s("hi"), Value::Int(255), Value::Int(255)]),
            "68 69 FF 0xff"
        );
        assert_eq!(
            pf("%q %+q %#q", &[s("héllo\t"), s("héllo"), s("abc")]),
            "\"héllo\\t\" \"h\\u00e9llo\" `abc`"
        );
        assert_eq!(pf("%v|%s", &[Value::Nil, Value::Nil]), "<nil>|%!s(<nil>)");
        assert_eq!(pf("100%%", &[]), "100%");
        assert_eq!(pf("%", &[]), "%!(NOVERB)");
        assert!(sprintf(b"%999999999999d", &[Value::Int(1)]).is_err());
        assert!(sprintf(b"%.999999999999f", &[Value::Float(1.0)]).is_err());
    }

    #[test]
    fn sprint_spacing() {
        let v = [
            Value::Int(1),
            Value::Int(2),
            Value::str("a"),
            Value::Int(3),
            Value::str("b"),
            Value::Nil,
            Value::Float(4.5),
        ];
        assert_eq!(sprint(&v).unwrap_or_default(), b"1 2a3b<nil> 4.5");
        assert_eq!(
            sprintln(&[Value::Int(1), Value::str("a")]).unwrap_or_default(),
            b"1 a\n"
        );
    }
}
