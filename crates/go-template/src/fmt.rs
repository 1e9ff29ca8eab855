//! Go `fmt` formatting of template values: the default `%v` form used when an action prints a
//! value, and `printf`/`print`/`println` with Go's verbs, flags and error markers
//! (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA ...)`).
//!
//! Formatting writes into a size-limited buffer, so a value built to be huge (a list that contains
//! itself many times over) stops with a limit error instead of exhausting memory.

use super::error::Fail;
use super::limits::{MAX_DEPTH, MAX_VALUE_BYTES};
use super::value::Value;

use super::strconv::quote_rune;
pub(crate) use super::strconv::{format_float, go_quote, is_print};

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
            let s = super::gotime::go_time_string(t);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(f: &str, args: &[Value]) -> String {
        String::from_utf8(sprintf(f.as_bytes(), args).unwrap_or_default()).unwrap_or_default()
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
