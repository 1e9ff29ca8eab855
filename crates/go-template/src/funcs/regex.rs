//! Sprig's regular-expression functions on the `regex` crate, whose syntax is RE2's like Go's
//! `regexp` (linear time, no backreferences). Difference: `\d`, `\w`, `\s` and `\b` are
//! Unicode-aware here and ASCII-only in Go. Error messages do not repeat the pattern.

use regex::bytes::{NoExpand, Regex, RegexBuilder};

use super::{Ctx, Fail, ferr, iarg, sarg};
use crate::value::Value;

type R = Result<Value, Fail>;

/// Budget cost of compiling one expression.
const COMPILE_COST: usize = 1_000;

fn compile(ctx: &mut Ctx, pattern: &[u8]) -> Result<Regex, Fail> {
    ctx.charge(COMPILE_COST)?;
    let Ok(p) = std::str::from_utf8(pattern) else {
        return ferr("error parsing regexp: invalid UTF-8");
    };
    RegexBuilder::new(p)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|_| {
            Fail::Func("error parsing regexp: invalid or too large regular expression".into())
        })
}

/// Runs `f` with the compiled expression; a non-`must` variant turns a bad pattern into `default`.
fn with_re(
    ctx: &mut Ctx,
    a: &[Value],
    must: bool,
    default: Value,
    f: impl FnOnce(&mut Ctx, &Regex) -> R,
) -> R {
    match compile(ctx, sarg(a, 0)) {
        Ok(re) => f(ctx, &re),
        Err(Fail::Func(m)) if must => Err(Fail::Func(m)),
        Err(Fail::Func(_)) => Ok(default),
        Err(e) => Err(e),
    }
}

fn matches(ctx: &mut Ctx, a: Vec<Value>, must: bool) -> R {
    with_re(ctx, &a, must, Value::Bool(false), |_, re| {
        Ok(Value::Bool(re.is_match(sarg(&a, 1))))
    })
}

pub(crate) fn regex_match(ctx: &mut Ctx, a: Vec<Value>) -> R {
    matches(ctx, a, false)
}

pub(crate) fn must_regex_match(ctx: &mut Ctx, a: Vec<Value>) -> R {
    matches(ctx, a, true)
}

fn find_all(ctx: &mut Ctx, a: Vec<Value>, must: bool) -> R {
    let empty = ctx.str_list(Vec::new())?;
    with_re(ctx, &a, must, empty, |ctx, re| {
        let n = iarg(&a, 2);
        let limit = if n < 0 { usize::MAX } else { n as usize }.min(super::MAX_LIST_LEN + 1);
        let found: Vec<Vec<u8>> = re
            .find_iter(sarg(&a, 1))
            .take(limit)
            .map(|m| m.as_bytes().to_vec())
            .collect();
        ctx.str_list(found)
    })
}

pub(crate) fn regex_find_all(ctx: &mut Ctx, a: Vec<Value>) -> R {
    find_all(ctx, a, false)
}

pub(crate) fn must_regex_find_all(ctx: &mut Ctx, a: Vec<Value>) -> R {
    find_all(ctx, a, true)
}

fn find(ctx: &mut Ctx, a: Vec<Value>, must: bool) -> R {
    with_re(ctx, &a, must, Value::str(""), |_, re| {
        Ok(Value::bytes(
            re.find(sarg(&a, 1))
                .map(|m| m.as_bytes().to_vec())
                .unwrap_or_default(),
        ))
    })
}

pub(crate) fn regex_find(ctx: &mut Ctx, a: Vec<Value>) -> R {
    find(ctx, a, false)
}

pub(crate) fn must_regex_find(ctx: &mut Ctx, a: Vec<Value>) -> R {
    find(ctx, a, true)
}

fn replace(ctx: &mut Ctx, a: Vec<Value>, must: bool, literal: bool) -> R {
    with_re(ctx, &a, must, Value::str(""), |_, re| {
        let (s, repl) = (sarg(&a, 1), sarg(&a, 2));
        let out = if literal {
            re.replace_all(s, NoExpand(repl))
        } else {
            re.replace_all(s, repl)
        };
        super::out_str(out.into_owned())
    })
}

pub(crate) fn regex_replace_all(ctx: &mut Ctx, a: Vec<Value>) -> R {
    replace(ctx, a, false, false)
}

pub(crate) fn must_regex_replace_all(ctx: &mut Ctx, a: Vec<Value>) -> R {
    replace(ctx, a, true, false)
}

pub(crate) fn regex_replace_all_literal(ctx: &mut Ctx, a: Vec<Value>) -> R {
    replace(ctx, a, false, true)
}

pub(crate) fn must_regex_replace_all_literal(ctx: &mut Ctx, a: Vec<Value>) -> R {
    replace(ctx, a, true, true)
}

/// Go's `Regexp.Split(s, n)`.
fn split(ctx: &mut Ctx, a: Vec<Value>, must: bool) -> R {
    let empty = ctx.str_list(Vec::new())?;
    with_re(ctx, &a, must, empty, |ctx, re| {
        let (s, n) = (sarg(&a, 1), iarg(&a, 2));
        if n == 0 {
            return ctx.str_list(Vec::new());
        }
        if !re.as_str().is_empty() && s.is_empty() {
            return ctx.str_list(vec![Vec::new()]);
        }
        let limit = if n < 0 { usize::MAX } else { n as usize }.min(super::MAX_LIST_LEN + 1);
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let (mut beg, mut end) = (0, 0);
        for m in re.find_iter(s).take(limit) {
            if n > 0 && parts.len() == limit - 1 {
                break;
            }
            end = m.start();
            if m.end() != 0 {
                parts.push(s[beg..end].to_vec());
            }
            beg = m.end();
        }
        if end != s.len() {
            parts.push(s[beg..].to_vec());
        }
        ctx.str_list(parts)
    })
}

pub(crate) fn regex_split(ctx: &mut Ctx, a: Vec<Value>) -> R {
    split(ctx, a, false)
}

pub(crate) fn must_regex_split(ctx: &mut Ctx, a: Vec<Value>) -> R {
    split(ctx, a, true)
}

/// Go's `regexp.QuoteMeta`.
pub(crate) fn regex_quote_meta(_: &mut Ctx, a: Vec<Value>) -> R {
    let mut out = Vec::new();
    for &b in sarg(&a, 0) {
        if br"\.+*?()|[]{}^$".contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
    Ok(Value::bytes(out))
}
