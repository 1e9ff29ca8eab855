//! Sprig list functions. They accept any slice; a non-list argument is an error (Go panics in
//! the non-`must` variants and returns an error in the `must` ones: both fail the template).

use super::defaults::{deep_equal_values, is_empty};
use super::{Ctx, Fail, arg, ferr, iarg};
use crate::value::{Elem, Value};

type R = Result<Value, Fail>;

/// The items of a list argument, or the error Sprig reports for `what` on another type.
fn items<'a>(v: &'a Value, what: &str) -> Result<&'a [Value], Fail> {
    match v {
        Value::List(l) => Ok(&l.items),
        other => ferr(format!("Cannot {what} on type {}", go_type(other))),
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        other => other.type_name(),
    }
}

pub(crate) fn list(ctx: &mut Ctx, a: Vec<Value>) -> R {
    ctx.new_list(a, Elem::Any)
}

pub(crate) fn push(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let mut out = items(arg(&a, 0), "push")?.to_vec();
    out.push(arg(&a, 1).clone());
    ctx.new_list(out, Elem::Any)
}

pub(crate) fn must_push(ctx: &mut Ctx, a: Vec<Value>) -> R {
    push(ctx, a)
}

pub(crate) fn prepend(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let l = items(arg(&a, 0), "prepend")?;
    let mut out = Vec::with_capacity(l.len() + 1);
    out.push(arg(&a, 1).clone());
    out.extend_from_slice(l);
    ctx.new_list(out, Elem::Any)
}

pub(crate) fn must_prepend(ctx: &mut Ctx, a: Vec<Value>) -> R {
    prepend(ctx, a)
}

pub(crate) fn first(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(items(arg(&a, 0), "find first")?
        .first()
        .cloned()
        .unwrap_or(Value::Nil))
}

pub(crate) fn must_first(ctx: &mut Ctx, a: Vec<Value>) -> R {
    first(ctx, a)
}

pub(crate) fn last(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(items(arg(&a, 0), "find last")?
        .last()
        .cloned()
        .unwrap_or(Value::Nil))
}

pub(crate) fn must_last(ctx: &mut Ctx, a: Vec<Value>) -> R {
    last(ctx, a)
}

pub(crate) fn rest(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let l = items(arg(&a, 0), "find rest")?;
    ctx.new_list(l.get(1..).unwrap_or(&[]).to_vec(), Elem::Any)
}

pub(crate) fn must_rest(ctx: &mut Ctx, a: Vec<Value>) -> R {
    rest(ctx, a)
}

pub(crate) fn initial(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let l = items(arg(&a, 0), "find initial")?;
    ctx.new_list(l[..l.len().saturating_sub(1)].to_vec(), Elem::Any)
}

pub(crate) fn must_initial(ctx: &mut Ctx, a: Vec<Value>) -> R {
    initial(ctx, a)
}

pub(crate) fn reverse(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let mut out = items(arg(&a, 0), "find reverse")?.to_vec();
    out.reverse();
    ctx.new_list(out, Elem::Any)
}

pub(crate) fn must_reverse(ctx: &mut Ctx, a: Vec<Value>) -> R {
    reverse(ctx, a)
}

/// `uniq list`: first occurrences, compared with `reflect.DeepEqual`.
pub(crate) fn uniq(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let l = items(arg(&a, 0), "find uniq")?;
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        ctx.charge(out.len())?;
        let mut seen = false;
        for o in &out {
            if deep_equal_values(ctx, o, v, 0)? {
                seen = true;
                break;
            }
        }
        if !seen {
            out.push(v.clone());
        }
    }
    ctx.new_list(out, Elem::Any)
}

pub(crate) fn must_uniq(ctx: &mut Ctx, a: Vec<Value>) -> R {
    uniq(ctx, a)
}

/// `without list x y ...`: the list without elements equal to any of x, y, ...
pub(crate) fn without(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let l = items(arg(&a, 0), "find without")?;
    let omit = &a[1..];
    let mut out = Vec::new();
    for v in l {
        let mut drop = false;
        for o in omit {
            if deep_equal_values(ctx, o, v, 0)? {
                drop = true;
                break;
            }
        }
        if !drop {
            out.push(v.clone());
        }
    }
    ctx.new_list(out, Elem::Any)
}

pub(crate) fn must_without(ctx: &mut Ctx, a: Vec<Value>) -> R {
    without(ctx, a)
}

/// `has needle list`.
pub(crate) fn has(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let hay = arg(&a, 1);
    if matches!(hay, Value::Nil) {
        return Ok(Value::Bool(false));
    }
    for v in items(hay, "find has")? {
        if deep_equal_values(ctx, arg(&a, 0), v, 0)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

pub(crate) fn must_has(ctx: &mut Ctx, a: Vec<Value>) -> R {
    has(ctx, a)
}

/// `compact list`: the non-empty elements.
pub(crate) fn compact(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let out: Vec<Value> = items(arg(&a, 0), "compact")?
        .iter()
        .filter(|v| !is_empty(v))
        .cloned()
        .collect();
    ctx.new_list(out, Elem::Any)
}

pub(crate) fn must_compact(ctx: &mut Ctx, a: Vec<Value>) -> R {
    compact(ctx, a)
}

/// `slice list [start [end]]`, keeping the list's element type.
pub(crate) fn slice(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let Value::List(l) = arg(&a, 0) else {
        return ferr(format!(
            "list should be type of slice or array but {}",
            go_type(arg(&a, 0))
        ));
    };
    if l.items.is_empty() {
        return Ok(Value::Nil);
    }
    let idx: Vec<i64> = a[1..].iter().map(super::to_int64).collect();
    let len = l.items.len() as i64;
    let (start, end) = match idx.as_slice() {
        [] => (0, len),
        [s] => (*s, len),
        [s, e, ..] => (*s, *e),
    };
    if start < 0 || end < start || end > len {
        return ferr("slice bounds out of range");
    }
    ctx.new_list(l.items[start as usize..end as usize].to_vec(), l.elem)
}

pub(crate) fn must_slice(ctx: &mut Ctx, a: Vec<Value>) -> R {
    slice(ctx, a)
}

/// `concat l1 l2 ...`.
pub(crate) fn concat(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let mut out = Vec::new();
    for v in &a {
        match v {
            Value::List(l) => {
                ctx.charge(l.items.len())?;
                out.extend_from_slice(&l.items);
                if out.len() > super::MAX_LIST_LEN {
                    return Err(Fail::Limit("list length", super::MAX_LIST_LEN));
                }
            }
            other => return ferr(format!("Cannot concat type {} as list", go_type(other))),
        }
    }
    ctx.new_list(out, Elem::Any)
}

/// `chunk size list`: a list of lists of at most `size` elements.
pub(crate) fn chunk(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let size = iarg(&a, 0);
    let l = items(arg(&a, 1), "chunk")?;
    if size <= 0 {
        return ferr("invalid chunk size");
    }
    let mut out = Vec::new();
    for c in l.chunks(size as usize) {
        out.push(ctx.new_list(c.to_vec(), Elem::Any)?);
    }
    ctx.new_list(out, Elem::Any)
}

pub(crate) fn must_chunk(ctx: &mut Ctx, a: Vec<Value>) -> R {
    chunk(ctx, a)
}
