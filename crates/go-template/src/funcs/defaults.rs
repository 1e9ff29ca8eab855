//! Sprig's default, emptiness, reflection and flow functions: `default`, `empty`, `coalesce`,
//! `all`, `any`, `ternary`, `fail`, `typeOf`, `typeIs`, `typeIsLike`, `kindOf`, `kindIs`,
//! `deepEqual`, `deepCopy`.

use std::collections::BTreeMap;

use super::{Ctx, Fail, MAX_DEPTH, arg, ferr, sarg};
use crate::value::Value;

type R = Result<Value, Fail>;

/// Sprig's `empty`: nil, false, 0, and empty strings, lists and maps; a time is never empty.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Time(_) => false,
        other => !other.truth(),
    }
}

/// `default d x`: x unless it is empty (or absent), else d.
pub(crate) fn default(_: &mut Ctx, a: Vec<Value>) -> R {
    match a.get(1) {
        Some(given) if !is_empty(given) => Ok(given.clone()),
        _ => Ok(arg(&a, 0).clone()),
    }
}

pub(crate) fn empty(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(is_empty(arg(&a, 0))))
}

/// `coalesce a b ...`: the first non-empty argument, or nil.
pub(crate) fn coalesce(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(a.iter()
        .find(|v| !is_empty(v))
        .cloned()
        .unwrap_or(Value::Nil))
}

pub(crate) fn all(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
}

pub(crate) fn any(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
}

/// `ternary t f cond`.
pub(crate) fn ternary(_: &mut Ctx, a: Vec<Value>) -> R {
    let cond = matches!(arg(&a, 2), Value::Bool(true));
    Ok(arg(&a, if cond { 0 } else { 1 }).clone())
}

/// `fail msg`: stops the template. The message is not repeated in the error, because a template
/// can build it from secret values.
pub(crate) fn fail(_: &mut Ctx, _: Vec<Value>) -> R {
    ferr("the template called fail (its message is withheld because it may contain secret data)")
}

pub(crate) fn type_of(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::str(arg(&a, 0).type_name()))
}

pub(crate) fn type_is(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(
        sarg(&a, 0) == arg(&a, 1).type_name().as_bytes(),
    ))
}

pub(crate) fn type_is_like(_: &mut Ctx, a: Vec<Value>) -> R {
    let t = arg(&a, 1).type_name().as_bytes();
    let target = sarg(&a, 0);
    let mut star = b"*".to_vec();
    star.extend_from_slice(target);
    Ok(Value::Bool(target == t || star == t))
}

pub(crate) fn kind_of(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::str(arg(&a, 0).kind_name()))
}

pub(crate) fn kind_is(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(
        sarg(&a, 0) == arg(&a, 1).kind_name().as_bytes(),
    ))
}

/// Go's `reflect.DeepEqual` on template values (types must match too).
pub(crate) fn deep_equal_values(
    ctx: &mut Ctx,
    x: &Value,
    y: &Value,
    depth: usize,
) -> Result<bool, Fail> {
    if depth > MAX_DEPTH {
        return Err(Fail::Limit("value nesting depth", MAX_DEPTH));
    }
    ctx.charge(1)?;
    Ok(match (x, y) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Int(a), Value::Int(b)) | (Value::Int64(a), Value::Int64(b)) => a == b,
        (Value::Float(a), Value::Float(b)) => a == b,
        (Value::Str(a), Value::Str(b)) => {
            ctx.charge_bytes(a.0.len().min(b.0.len()))?;
            a.0 == b.0
        }
        (Value::Time(a), Value::Time(b)) => a == b,
        (Value::List(a), Value::List(b)) => {
            if a.elem != b.elem || a.items.len() != b.items.len() {
                return Ok(false);
            }
            for (p, q) in a.items.iter().zip(&b.items) {
                if !deep_equal_values(ctx, p, q, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Map(a), Value::Map(b)) => {
            if std::rc::Rc::ptr_eq(a, b) {
                return Ok(true);
            }
            let (ea, eb) = (a.entries.borrow(), b.entries.borrow());
            if a.elem != b.elem || ea.len() != eb.len() {
                return Ok(false);
            }
            for ((ka, va), (kb, vb)) in ea.iter().zip(eb.iter()) {
                if ka != kb || !deep_equal_values(ctx, va, vb, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        _ => false,
    })
}

pub(crate) fn deep_equal(ctx: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(deep_equal_values(
        ctx,
        arg(&a, 0),
        arg(&a, 1),
        0,
    )?))
}

fn copy_value(ctx: &mut Ctx, v: &Value, depth: usize) -> R {
    if depth > MAX_DEPTH {
        return Err(Fail::Limit("value nesting depth", MAX_DEPTH));
    }
    ctx.charge(1)?;
    Ok(match v {
        Value::List(l) => {
            let mut items = Vec::with_capacity(l.items.len());
            for item in &l.items {
                items.push(copy_value(ctx, item, depth + 1)?);
            }
            ctx.new_list(items, l.elem)?
        }
        Value::Map(m) => {
            let src: Vec<(String, Value)> = m
                .entries
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut out = BTreeMap::new();
            for (k, item) in src {
                out.insert(k, copy_value(ctx, &item, depth + 1)?);
            }
            ctx.new_map(out, m.elem)
        }
        other => other.clone(),
    })
}

pub(crate) fn deep_copy(ctx: &mut Ctx, a: Vec<Value>) -> R {
    copy_value(ctx, arg(&a, 0), 0)
}

pub(crate) fn must_deep_copy(ctx: &mut Ctx, a: Vec<Value>) -> R {
    copy_value(ctx, arg(&a, 0), 0)
}
