//! Sprig string functions. Go strings are bytes, and several Sprig helpers work byte by byte
//! (`trunc`, `substr`, `wrap`, `initials`, `nospace`); those are reproduced on bytes so results
//! match Go even for non-ASCII input.

use std::collections::BTreeMap;

use super::{
    Ctx, Fail, MAX_LIST_LEN, MAX_VALUE_BYTES, arg, ferr, iarg, out_str, sarg, strslice, strval,
};
use crate::fmt::go_quote;
use crate::value::{Elem, Value};

type R = Result<Value, Fail>;

fn text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

fn check_size(n: usize) -> Result<(), Fail> {
    if n > MAX_VALUE_BYTES {
        return Err(Fail::Limit("value size", MAX_VALUE_BYTES));
    }
    Ok(())
}

/// Go's `unicode.IsSpace`.
pub(crate) fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Maps each rune with a simple (one-to-one) case mapping, as Go's `unicode.ToUpper` does.
fn map_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut m: Vec<char> = if upper {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            if m.len() == 1 {
                m.pop().unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

fn upper_char(c: char) -> char {
    map_case(c.encode_utf8(&mut [0; 4]), true)
        .chars()
        .next()
        .unwrap_or(c)
}

fn lower_char(c: char) -> char {
    map_case(c.encode_utf8(&mut [0; 4]), false)
        .chars()
        .next()
        .unwrap_or(c)
}

pub(crate) fn hello(_: &mut Ctx, _: Vec<Value>) -> R {
    Ok(Value::str("Hello!"))
}

pub(crate) fn upper(_: &mut Ctx, a: Vec<Value>) -> R {
    let s = sarg(&a, 0);
    if s.is_ascii() {
        return Ok(Value::bytes(s.to_ascii_uppercase()));
    }
    Ok(Value::str(map_case(&text(s), true)))
}

pub(crate) fn lower(_: &mut Ctx, a: Vec<Value>) -> R {
    let s = sarg(&a, 0);
    if s.is_ascii() {
        return Ok(Value::bytes(s.to_ascii_lowercase()));
    }
    Ok(Value::str(map_case(&text(s), false)))
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
pub(crate) fn title(_: &mut Ctx, a: Vec<Value>) -> R {
    let is_sep = |c: char| -> bool {
        if c.is_ascii() {
            return !(c.is_ascii_alphanumeric() || c == '_');
        }
        if c.is_alphabetic() || c.is_numeric() {
            return false;
        }
        is_go_space(c)
    };
    let mut prev = ' ';
    let out: String = text(sarg(&a, 0))
        .chars()
        .map(|c| {
            let r = if is_sep(prev) { upper_char(c) } else { c };
            prev = c;
            r
        })
        .collect();
    Ok(Value::str(out))
}

/// goutils `Uncapitalize`: lower-cases the first letter of each whitespace-separated word.
pub(crate) fn untitle(_: &mut Ctx, a: Vec<Value>) -> R {
    let mut next = true;
    let out: String = text(sarg(&a, 0))
        .chars()
        .map(|c| {
            if is_go_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                lower_char(c)
            } else {
                c
            }
        })
        .collect();
    Ok(Value::str(out))
}

/// goutils `SwapCase`.
pub(crate) fn swapcase(_: &mut Ctx, a: Vec<Value>) -> R {
    let mut ws = true;
    let out: String = text(sarg(&a, 0))
        .chars()
        .map(|c| {
            if c.is_uppercase() {
                ws = false;
                lower_char(c)
            } else if c.is_lowercase() {
                let r = upper_char(c);
                ws = false;
                r
            } else {
                ws = is_go_space(c);
                c
            }
        })
        .collect();
    let _ = ws;
    Ok(Value::str(out))
}

/// Go's `strings.TrimSpace`.
pub(crate) fn trim(_: &mut Ctx, a: Vec<Value>) -> R {
    let s = sarg(&a, 0);
    match std::str::from_utf8(s) {
        Ok(t) => Ok(Value::str(t.trim_matches(is_go_space))),
        Err(_) => Ok(Value::bytes(s.trim_ascii().to_vec())),
    }
}

/// `trimAll cutset s`: Go's `strings.Trim(s, cutset)`.
pub(crate) fn trim_all(_: &mut Ctx, a: Vec<Value>) -> R {
    let cut: Vec<char> = text(sarg(&a, 0)).chars().collect();
    let s = sarg(&a, 1);
    match std::str::from_utf8(s) {
        Ok(t) => Ok(Value::str(t.trim_matches(|c| cut.contains(&c)))),
        Err(_) => {
            let t = text(s);
            Ok(Value::str(t.trim_matches(|c| cut.contains(&c))))
        }
    }
}

pub(crate) fn trim_suffix(_: &mut Ctx, a: Vec<Value>) -> R {
    let (suf, s) = (sarg(&a, 0), sarg(&a, 1));
    Ok(Value::bytes(s.strip_suffix(suf).unwrap_or(s).to_vec()))
}

pub(crate) fn trim_prefix(_: &mut Ctx, a: Vec<Value>) -> R {
    let (pre, s) = (sarg(&a, 0), sarg(&a, 1));
    Ok(Value::bytes(s.strip_prefix(pre).unwrap_or(s).to_vec()))
}

/// Go's `unicode.IsSpace` of a byte read as a Latin-1 rune (goutils reads strings that way).
fn latin1_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xA0)
}

/// goutils `DeleteWhiteSpace`, which walks bytes as Latin-1 runes.
pub(crate) fn nospace(_: &mut Ctx, a: Vec<Value>) -> R {
    let s = sarg(&a, 0);
    if !s.iter().any(|&b| latin1_space(b)) {
        return Ok(Value::bytes(s.to_vec()));
    }
    let out: String = s
        .iter()
        .filter(|&&b| !latin1_space(b))
        .map(|&b| char::from(b))
        .collect();
    Ok(Value::str(out))
}

/// goutils `Initials`, which walks bytes as Latin-1 runes.
pub(crate) fn initials(_: &mut Ctx, a: Vec<Value>) -> R {
    let mut gap = true;
    let mut out = String::new();
    for &b in sarg(&a, 0) {
        if latin1_space(b) {
            gap = true;
        } else if gap {
            out.push(char::from(b));
            gap = false;
        }
    }
    Ok(Value::str(out))
}

/// goutils `AbbreviateFull` (byte offsets); `None` where goutils returns an error.
fn abbreviate(s: &[u8], offset: i64, width: i64) -> Option<Vec<u8>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    if width < 4 {
        return None;
    }
    let len = s.len() as i64;
    if len <= width {
        return Some(s.to_vec());
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    let marker = b"...";
    if offset <= 4 {
        let mut out = s.get(..(width - 3) as usize)?.to_vec();
        out.extend_from_slice(marker);
        return Some(out);
    }
    if width < 7 {
        return None;
    }
    if offset + width - 3 < len {
        let inner = abbreviate(s.get(offset as usize..)?, 0, width - 3)?;
        let mut out = marker.to_vec();
        out.extend_from_slice(&inner);
        return Some(out);
    }
    let mut out = marker.to_vec();
    out.extend_from_slice(s.get((len - (width - 3)) as usize..)?);
    Some(out)
}

pub(crate) fn abbrev(_: &mut Ctx, a: Vec<Value>) -> R {
    let (w, s) = (iarg(&a, 0), sarg(&a, 1));
    if w < 4 {
        return Ok(Value::bytes(s.to_vec()));
    }
    Ok(Value::bytes(abbreviate(s, 0, w).unwrap_or_default()))
}

pub(crate) fn abbrevboth(_: &mut Ctx, a: Vec<Value>) -> R {
    let (l, r, s) = (iarg(&a, 0), iarg(&a, 1), sarg(&a, 2));
    if r < 4 || l > 0 && r < 7 {
        return Ok(Value::bytes(s.to_vec()));
    }
    Ok(Value::bytes(abbreviate(s, l, r).unwrap_or_default()))
}

/// `trunc n s`: the first n bytes, or the last -n bytes.
pub(crate) fn trunc(_: &mut Ctx, a: Vec<Value>) -> R {
    let (c, s) = (iarg(&a, 0), sarg(&a, 1));
    let len = s.len() as i64;
    if c < 0 && len + c > 0 {
        return Ok(Value::bytes(s[(len + c) as usize..].to_vec()));
    }
    if c >= 0 && len > c {
        return Ok(Value::bytes(s[..c as usize].to_vec()));
    }
    Ok(Value::bytes(s.to_vec()))
}

/// `substr start end s` on bytes; out-of-range bounds are an error, as Go's slice panic is.
pub(crate) fn substr(_: &mut Ctx, a: Vec<Value>) -> R {
    let (start, end, s) = (iarg(&a, 0), iarg(&a, 1), sarg(&a, 2));
    let len = s.len() as i64;
    let range = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if range.0 < 0 || range.1 < range.0 || range.1 > len {
        return ferr("slice bounds out of range");
    }
    Ok(Value::bytes(s[range.0 as usize..range.1 as usize].to_vec()))
}

pub(crate) fn repeat(_: &mut Ctx, a: Vec<Value>) -> R {
    let (n, s) = (iarg(&a, 0), sarg(&a, 1));
    if n < 0 {
        return ferr("strings: negative Repeat count");
    }
    check_size((n as usize).saturating_mul(s.len()))?;
    Ok(Value::bytes(s.repeat(n as usize)))
}

/// `replace old new src`: every occurrence (`strings.Replace(src, old, new, -1)`).
pub(crate) fn replace(_: &mut Ctx, a: Vec<Value>) -> R {
    let (old, new, src) = (sarg(&a, 0), sarg(&a, 1), sarg(&a, 2));
    if old.is_empty() {
        let t = text(src);
        check_size(
            (t.chars().count() + 1)
                .saturating_mul(new.len())
                .saturating_add(src.len()),
        )?;
        return Ok(Value::str(t.replace("", &text(new))));
    }
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        if src[i..].starts_with(old) {
            out.extend_from_slice(new);
            i += old.len();
        } else {
            out.push(src[i]);
            i += 1;
        }
        check_size(out.len())?;
    }
    Ok(Value::bytes(out))
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn contains(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(find(sarg(&a, 1), sarg(&a, 0))))
}

pub(crate) fn has_prefix(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(sarg(&a, 1).starts_with(sarg(&a, 0))))
}

pub(crate) fn has_suffix(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(sarg(&a, 1).ends_with(sarg(&a, 0))))
}

fn join_bytes(parts: &[Vec<u8>], sep: &[u8]) -> Result<Vec<u8>, Fail> {
    let total =
        parts.iter().map(Vec::len).sum::<usize>() + sep.len() * parts.len().saturating_sub(1);
    check_size(total)?;
    Ok(parts.join(sep))
}

/// `quote a b ...`: each non-nil argument Go-quoted, space-separated.
pub(crate) fn quote(_: &mut Ctx, a: Vec<Value>) -> R {
    let mut parts = Vec::new();
    for v in a.iter().filter(|v| !matches!(v, Value::Nil)) {
        parts.push(go_quote(&strval(v)?, false).into_bytes());
    }
    out_str(join_bytes(&parts, b" ")?)
}

/// `squote a b ...`: each non-nil argument in single quotes, space-separated.
pub(crate) fn squote(_: &mut Ctx, a: Vec<Value>) -> R {
    let mut parts = Vec::new();
    for v in a.iter().filter(|v| !matches!(v, Value::Nil)) {
        let mut p = b"'".to_vec();
        p.extend_from_slice(&strval(v)?);
        p.push(b'\'');
        parts.push(p);
    }
    out_str(join_bytes(&parts, b" ")?)
}

/// `cat a b ...`: non-nil arguments with `%v`, space-separated.
pub(crate) fn cat(_: &mut Ctx, a: Vec<Value>) -> R {
    let mut parts = Vec::new();
    for v in a.iter().filter(|v| !matches!(v, Value::Nil)) {
        parts.push(strval(v)?);
    }
    out_str(join_bytes(&parts, b" ")?)
}

fn indent_bytes(n: i64, s: &[u8]) -> Result<Vec<u8>, Fail> {
    if n < 0 {
        return ferr("strings: negative Repeat count");
    }
    let n = n as usize;
    let lines = s.iter().filter(|&&b| b == b'\n').count() + 1;
    check_size(n.saturating_mul(lines).saturating_add(s.len()))?;
    let pad = vec![b' '; n];
    let mut out = pad.clone();
    for &b in s {
        out.push(b);
        if b == b'\n' {
            out.extend_from_slice(&pad);
        }
    }
    Ok(out)
}

pub(crate) fn indent(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::bytes(indent_bytes(iarg(&a, 0), sarg(&a, 1))?))
}

pub(crate) fn nindent(_: &mut Ctx, a: Vec<Value>) -> R {
    let mut out = b"\n".to_vec();
    out.extend_from_slice(&indent_bytes(iarg(&a, 0), sarg(&a, 1))?);
    out_str(out)
}

pub(crate) fn plural(_: &mut Ctx, a: Vec<Value>) -> R {
    let i = if iarg(&a, 2) == 1 { 0 } else { 1 };
    Ok(arg(&a, i).clone())
}

pub(crate) fn to_string(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(strval(arg(&a, 0))?)
}

/// Go's `strings.SplitN` (n < 0: all parts); an empty separator splits into runes.
pub(crate) fn split_bytes(s: &[u8], sep: &[u8], n: i64) -> Result<Vec<Vec<u8>>, Fail> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let max = if n < 0 { usize::MAX } else { n as usize };
    let mut parts: Vec<Vec<u8>> = Vec::new();
    if sep.is_empty() {
        let t = text(s);
        let chars: Vec<char> = t.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if parts.len() + 1 == max {
                parts.push(chars[i..].iter().collect::<String>().into_bytes());
                break;
            }
            parts.push(c.to_string().into_bytes());
            if parts.len() > MAX_LIST_LEN {
                return Err(Fail::Limit("list length", MAX_LIST_LEN));
            }
        }
        return Ok(parts);
    }
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= s.len() && parts.len() + 1 < max {
        if &s[i..i + sep.len()] == sep {
            parts.push(s[start..i].to_vec());
            if parts.len() > MAX_LIST_LEN {
                return Err(Fail::Limit("list length", MAX_LIST_LEN));
            }
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push(s[start..].to_vec());
    Ok(parts)
}

fn indexed_map(ctx: &mut Ctx, parts: Vec<Vec<u8>>) -> R {
    ctx.charge(parts.len())?;
    let entries: BTreeMap<String, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::bytes(p)))
        .collect();
    Ok(ctx.new_map(entries, Elem::Str))
}

/// `split sep s`: a map `{_0: ..., _1: ...}`.
pub(crate) fn split(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let parts = split_bytes(sarg(&a, 1), sarg(&a, 0), -1)?;
    indexed_map(ctx, parts)
}

/// `splitn sep n s`: like `split` with at most n parts.
pub(crate) fn splitn(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let parts = split_bytes(sarg(&a, 2), sarg(&a, 0), iarg(&a, 1))?;
    indexed_map(ctx, parts)
}

/// `splitList sep s`: a list of strings.
pub(crate) fn split_list(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let parts = split_bytes(sarg(&a, 1), sarg(&a, 0), -1)?;
    ctx.str_list(parts)
}

pub(crate) fn to_strings(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let parts = strslice(arg(&a, 0))?;
    ctx.str_list(parts)
}

/// `join sep list`.
pub(crate) fn join(_: &mut Ctx, a: Vec<Value>) -> R {
    let parts = strslice(arg(&a, 1))?;
    out_str(join_bytes(&parts, sarg(&a, 0))?)
}

/// `sortAlpha list`: the elements as strings, sorted; a non-list is a one-element list.
pub(crate) fn sort_alpha(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let mut parts = match arg(&a, 0) {
        l @ Value::List(_) => strslice(l)?,
        other => vec![strval(other)?],
    };
    parts.sort();
    ctx.str_list(parts)
}

/// goutils `WrapCustom` on bytes.
fn wrap_custom(s: &[u8], width: i64, nl: &[u8], long_words: bool) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let nl: &[u8] = if nl.is_empty() { b"\n" } else { nl };
    let width = width.max(1) as usize;
    let len = s.len();
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(len);
    while len - offset > width {
        if s[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        let space = s[offset..end]
            .iter()
            .rposition(|&b| b == b' ')
            .map(|i| i + offset);
        match space {
            Some(at) => {
                out.extend_from_slice(&s[offset..at]);
                out.extend_from_slice(nl);
                offset = at + 1;
            }
            None if long_words => {
                let end = width + offset;
                out.extend_from_slice(&s[offset..end]);
                out.extend_from_slice(nl);
                offset += width;
            }
            None => {
                let end = width + offset;
                match s[end..].iter().position(|&b| b == b' ') {
                    None => {
                        out.extend_from_slice(&s[offset..]);
                        offset = len;
                    }
                    Some(i) => {
                        let at = i + end;
                        out.extend_from_slice(&s[offset..at]);
                        out.extend_from_slice(nl);
                        offset = at + 1;
                    }
                }
            }
        }
    }
    out.extend_from_slice(&s[offset.min(len)..]);
    out
}

pub(crate) fn wrap(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(wrap_custom(sarg(&a, 1), iarg(&a, 0), b"", false))
}

pub(crate) fn wrap_with(_: &mut Ctx, a: Vec<Value>) -> R {
    let (w, sep, s) = (iarg(&a, 0), sarg(&a, 1), sarg(&a, 2));
    // Each wrap point inserts `sep`: bound the result before building it.
    check_size(
        s.len()
            .saturating_add((s.len() / (w.max(1) as usize) + 1).saturating_mul(sep.len())),
    )?;
    out_str(wrap_custom(s, w, sep, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(f: super::super::Native, args: Vec<Value>) -> String {
        let mut ctx = Ctx::new();
        match f(&mut ctx, args) {
            Ok(v) => {
                String::from_utf8_lossy(&super::super::strval(&v).unwrap_or_default()).into_owned()
            }
            Err(e) => format!("ERR {e:?}"),
        }
    }
    fn s(x: &str) -> Value {
        Value::str(x)
    }

    #[test]
    fn case_functions() {
        assert_eq!(call(upper, vec![s("héllo ß")]), "HÉLLO ß");
        assert_eq!(
            call(title, vec![s("hello wORLD foo_bar-baz")]),
            "Hello WORLD Foo_bar-Baz"
        );
        assert_eq!(call(untitle, vec![s("Hello World")]), "hello world");
        assert_eq!(call(swapcase, vec![s("Hello World")]), "hELLO wORLD");
    }

    #[test]
    fn trimming_and_slicing() {
        assert_eq!(call(trim, vec![s("\u{a0} x \n")]), "x");
        assert_eq!(call(trim_all, vec![s("$"), s("$5.00$")]), "5.00");
        assert_eq!(call(trunc, vec![Value::Int(-3), s("abcdef")]), "def");
        assert_eq!(
            call(substr, vec![Value::Int(1), Value::Int(3), s("abcdef")]),
            "bc"
        );
        assert!(call(substr, vec![Value::Int(-1), Value::Int(30), s("abc")]).starts_with("ERR"));
        assert_eq!(call(abbrev, vec![Value::Int(5), s("hello world")]), "he...");
        assert_eq!(
            call(
                abbrevboth,
                vec![Value::Int(5), Value::Int(10), s("1234 5678 9123")]
            ),
            "...5678..."
        );
        assert_eq!(call(nospace, vec![s("h e l\tl o")]), "hello");
        assert_eq!(call(initials, vec![s("First Try")]), "FT");
    }

    #[test]
    fn splitting_and_wrapping() {
        let parts = split_bytes(b"a,b,,c", b",", -1).unwrap_or_default();
        assert_eq!(parts.len(), 4);
        assert_eq!(split_bytes(b"abc", b"", -1).unwrap_or_default().len(), 3);
        assert_eq!(
            split_bytes(b"a,b,c", b",", 2).unwrap_or_default(),
            vec![b"a".to_vec(), b"b,c".to_vec()]
        );
        assert_eq!(
            call(wrap, vec![Value::Int(5), s("Hello World")]),
            "Hello\nWorld"
        );
        assert_eq!(
            call(wrap_with, vec![Value::Int(5), s("\t"), s("Hello World")]),
            "Hello\tWorld"
        );
        assert_eq!(call(replace, vec![s(""), s("-"), s("ab")]), "-a-b-");
        assert!(call(repeat, vec![Value::Int(1 << 40), s("ab")]).contains("Limit"));
    }
}
