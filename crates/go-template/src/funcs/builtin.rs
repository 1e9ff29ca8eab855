//! Go `text/template`'s predefined functions: `not`, `len`, `index`, `print`, `printf`,
//! `println`, `html`, `js`, `urlquery`, `call`, and the comparisons `eq`, `ne`, `lt`, `le`,
//! `gt`, `ge` (`and`/`or` are evaluated lazily by the evaluator).

use super::{Ctx, Fail, arg, ferr, out_str, sarg};
use crate::fmt::{self, is_print};
use crate::value::{Elem, Value};

type R = Result<Value, Fail>;

pub(crate) fn not(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(!arg(&a, 0).truth()))
}

pub(crate) fn len(_: &mut Ctx, a: Vec<Value>) -> R {
    let v = arg(&a, 0);
    match v.len() {
        Some(n) => Ok(Value::Int(n as i64)),
        None if matches!(v, Value::Nil) => ferr("len of nil pointer"),
        None => ferr(format!("len of type {}", v.type_name())),
    }
}

/// `index item i j ...`: `item[i][j]...`. A missing map key gives the zero value of the
/// map's element type: `""` for the data map, no value for `dict`s.
pub(crate) fn index(_: &mut Ctx, a: Vec<Value>) -> R {
    let mut v = arg(&a, 0).clone();
    if matches!(v, Value::Nil) {
        return ferr("index of untyped nil");
    }
    for idx in a.iter().skip(1) {
        v = match &v {
            Value::List(l) => {
                let i = int_index(idx, "slice/array")?;
                match usize::try_from(i).ok().and_then(|i| l.items.get(i)) {
                    Some(x) => x.clone(),
                    None => return ferr("index out of range"),
                }
            }
            Value::Str(s) => {
                let i = int_index(idx, "string")?;
                match usize::try_from(i).ok().and_then(|i| s.0.get(i)) {
                    Some(b) => Value::Int(i64::from(*b)),
                    None => return ferr("index out of range"),
                }
            }
            Value::Map(m) => {
                let Some(key) = idx.as_bytes() else {
                    return ferr(format!(
                        "value has type {}; should be string",
                        idx.type_name()
                    ));
                };
                let key = String::from_utf8_lossy(key);
                match m.entries.borrow().get(key.as_ref()) {
                    Some(x) => x.clone(),
                    None if m.elem == Elem::Str => Value::str(""),
                    None => Value::Nil,
                }
            }
            Value::Nil => return ferr("index of nil pointer"),
            other => return ferr(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(v)
}

fn int_index(idx: &Value, what: &str) -> Result<i64, Fail> {
    match idx {
        Value::Int(i) | Value::Int64(i) => Ok(*i),
        Value::Nil => ferr(format!("cannot index {what} with nil")),
        other => ferr(format!(
            "cannot index {what} with type {}",
            other.type_name()
        )),
    }
}

pub(crate) fn print(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(fmt::sprint(&a)?)
}

pub(crate) fn println(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(fmt::sprintln(&a)?)
}

pub(crate) fn printf(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(fmt::sprintf(sarg(&a, 0), a.get(1..).unwrap_or(&[]))?)
}

/// The text of `html`/`js`/`urlquery` arguments: one string as is, otherwise `fmt.Sprint`.
fn eval_args(a: &[Value]) -> Result<Vec<u8>, Fail> {
    if let [Value::Str(s)] = a {
        return Ok(s.0.clone());
    }
    // Go prints a missing value here as `<no value>` (printableValue), not `<nil>`.
    let args: Vec<Value> = a
        .iter()
        .map(|v| match v {
            Value::Nil => Value::str("<no value>"),
            other => other.clone(),
        })
        .collect();
    fmt::sprint(&args)
}

pub(crate) fn html(_: &mut Ctx, a: Vec<Value>) -> R {
    let s = eval_args(&a)?;
    let mut out = Vec::with_capacity(s.len());
    for &b in &s {
        match b {
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            b'"' => out.extend_from_slice(b"&#34;"),
            0 => out.extend_from_slice("\u{FFFD}".as_bytes()),
            b => out.push(b),
        }
    }
    out_str(out)
}

pub(crate) fn js(_: &mut Ctx, a: Vec<Value>) -> R {
    let s = eval_args(&a)?;
    let text = String::from_utf8_lossy(&s);
    let mut out = String::with_capacity(s.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || !is_print(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out_str(out.into_bytes())
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            b => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
        }
    }
    out
}

pub(crate) fn urlquery(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(query_escape(&eval_args(&a)?))
}

pub(crate) fn call(_: &mut Ctx, a: Vec<Value>) -> R {
    ferr(format!("non-function of type {}", arg(&a, 0).type_name()))
}

/// Go's `basicKind` classes for comparisons.
#[derive(PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

fn eq_one(x: &Value, y: &Value) -> Result<bool, Fail> {
    Ok(match (x, y) {
        (Value::Nil, Value::Nil) => true,
        (Value::Nil, _) | (_, Value::Nil) => false,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Int(a) | Value::Int64(a), Value::Int(b) | Value::Int64(b)) => a == b,
        (Value::Float(a), Value::Float(b)) => a == b,
        (Value::Str(a), Value::Str(b)) => a.0 == b.0,
        (Value::Time(a), Value::Time(b)) => a == b,
        _ if kind(x) != kind(y) && (kind(x) != Kind::Other || kind(y) != Kind::Other) => {
            return ferr(format!(
                "incompatible types for comparison: {} and {}",
                x.type_name(),
                y.type_name()
            ));
        }
        _ => {
            return ferr(format!(
                "non-comparable types {} and {}",
                x.type_name(),
                y.type_name()
            ));
        }
    })
}

/// `eq a b c ...`: whether a equals any of b, c, ...
pub(crate) fn eq(_: &mut Ctx, a: Vec<Value>) -> R {
    if a.len() < 2 {
        return ferr("missing argument for comparison");
    }
    for y in &a[1..] {
        if eq_one(&a[0], y)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

pub(crate) fn ne(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(!eq_one(arg(&a, 0), arg(&a, 1))?))
}

fn less(x: &Value, y: &Value) -> Result<bool, Fail> {
    match (x, y) {
        (Value::Int(a) | Value::Int64(a), Value::Int(b) | Value::Int64(b)) => Ok(a < b),
        (Value::Float(a), Value::Float(b)) => Ok(a < b),
        (Value::Str(a), Value::Str(b)) => Ok(a.0 < b.0),
        _ if kind(x) == Kind::Other || kind(y) == Kind::Other || kind(x) == Kind::Bool => {
            ferr("invalid type for comparison")
        }
        _ => ferr(format!(
            "incompatible types for comparison: {} and {}",
            x.type_name(),
            y.type_name()
        )),
    }
}

pub(crate) fn lt(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(less(arg(&a, 0), arg(&a, 1))?))
}

pub(crate) fn le(_: &mut Ctx, a: Vec<Value>) -> R {
    let (x, y) = (arg(&a, 0), arg(&a, 1));
    Ok(Value::Bool(less(x, y)? || eq_one(x, y)?))
}

pub(crate) fn gt(_: &mut Ctx, a: Vec<Value>) -> R {
    let (x, y) = (arg(&a, 0), arg(&a, 1));
    Ok(Value::Bool(!(less(x, y)? || eq_one(x, y)?)))
}

pub(crate) fn ge(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(!less(arg(&a, 0), arg(&a, 1))?))
}
