//! Sprig dictionary functions on `map[string]interface{}`. Maps are shared references, so
//! `set`, `unset` and `merge` change the map in place, as in Go.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::defaults::is_empty;
use super::{Ctx, Fail, MAP_ENTRY_BYTES, MAX_DEPTH, arg, ferr, sarg, strval};
use crate::value::{Elem, MapVal, Value};

type R = Result<Value, Fail>;

fn key(a: &[Value], i: usize) -> String {
    String::from_utf8_lossy(sarg(a, i)).into_owned()
}

fn map_of(v: &Value) -> Option<&Rc<MapVal>> {
    match v {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

/// `dict k1 v1 k2 v2 ...`; a trailing key without a value maps to `""`.
pub(crate) fn dict(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let mut m = BTreeMap::new();
    let mut it = a.chunks(2);
    for pair in &mut it {
        let k = String::from_utf8_lossy(&strval(&pair[0])?).into_owned();
        let v = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
        m.insert(k, v);
    }
    ctx.charge(m.len())?;
    Ok(ctx.new_map(m, Elem::Any))
}

/// `get d k`: the value, or `""` when absent.
pub(crate) fn get(_: &mut Ctx, a: Vec<Value>) -> R {
    let k = key(&a, 1);
    Ok(map_of(arg(&a, 0))
        .and_then(|m| m.entries.borrow().get(&k).cloned())
        .unwrap_or_else(|| Value::str("")))
}

pub(crate) fn set(ctx: &mut Ctx, a: Vec<Value>) -> R {
    ctx.account(MAP_ENTRY_BYTES)?;
    let Some(m) = map_of(arg(&a, 0)) else {
        return ferr("assignment to entry in nil map");
    };
    let Ok(mut e) = m.entries.try_borrow_mut() else {
        return ferr("map is in use");
    };
    e.insert(key(&a, 1), arg(&a, 2).clone());
    drop(e);
    Ok(arg(&a, 0).clone())
}

pub(crate) fn unset(_: &mut Ctx, a: Vec<Value>) -> R {
    if let Some(m) = map_of(arg(&a, 0)) {
        let Ok(mut e) = m.entries.try_borrow_mut() else {
            return ferr("map is in use");
        };
        e.remove(&key(&a, 1));
    }
    Ok(arg(&a, 0).clone())
}

pub(crate) fn has_key(_: &mut Ctx, a: Vec<Value>) -> R {
    let k = key(&a, 1);
    Ok(Value::Bool(
        map_of(arg(&a, 0)).is_some_and(|m| m.entries.borrow().contains_key(&k)),
    ))
}

/// `pluck k d1 d2 ...`: the values of key k in the dicts that have it.
pub(crate) fn pluck(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let k = key(&a, 0);
    let out: Vec<Value> = a
        .iter()
        .skip(1)
        .filter_map(map_of)
        .filter_map(|m| m.entries.borrow().get(&k).cloned())
        .collect();
    ctx.new_list(out, Elem::Any)
}

/// `keys d1 d2 ...`: all keys (Go's order is random; these are sorted per dict).
pub(crate) fn keys(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let mut out = Vec::new();
    for m in a.iter().filter_map(map_of) {
        out.extend(m.entries.borrow().keys().map(|k| k.clone().into_bytes()));
    }
    ctx.str_list(out)
}

fn pick_omit(ctx: &mut Ctx, a: &[Value], keep: bool) -> R {
    let names: Vec<String> = (1..a.len()).map(|i| key(a, i)).collect();
    let mut out = BTreeMap::new();
    if let Some(m) = map_of(arg(a, 0)) {
        for (k, v) in m.entries.borrow().iter() {
            if names.contains(k) == keep {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    ctx.charge(out.len())?;
    Ok(ctx.new_map(out, Elem::Any))
}

pub(crate) fn pick(ctx: &mut Ctx, a: Vec<Value>) -> R {
    pick_omit(ctx, &a, true)
}

pub(crate) fn omit(ctx: &mut Ctx, a: Vec<Value>) -> R {
    pick_omit(ctx, &a, false)
}

/// `values d`: the values (sorted by key; Go's order is random).
pub(crate) fn values(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let out: Vec<Value> = map_of(arg(&a, 0))
        .map(|m| m.entries.borrow().values().cloned().collect())
        .unwrap_or_default();
    ctx.new_list(out, Elem::Any)
}

/// mergo's deep merge of `src` into `dst`: missing or empty keys are filled; nested maps are
/// merged; with `overwrite`, existing values are replaced too.
fn merge_into(
    ctx: &mut Ctx,
    dst: &Rc<MapVal>,
    src: &Rc<MapVal>,
    overwrite: bool,
    depth: usize,
) -> Result<(), Fail> {
    if depth > MAX_DEPTH {
        return Err(Fail::Limit("value nesting depth", MAX_DEPTH));
    }
    if Rc::ptr_eq(dst, src) {
        return Ok(());
    }
    let items: Vec<(String, Value)> = src
        .entries
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    ctx.charge(items.len())?;
    ctx.account(items.len().saturating_mul(MAP_ENTRY_BYTES))?;
    for (k, sv) in items {
        let dv = dst.entries.borrow().get(&k).cloned();
        if matches!(sv, Value::Nil) {
            if overwrite {
                set_entry(dst, k, sv)?;
            }
            continue;
        }
        if let (Value::Map(sm), Some(Value::Map(dm))) = (&sv, &dv) {
            merge_into(ctx, dm, sm, overwrite, depth + 1)?;
        }
        if let Some(d) = &dv
            && !is_empty(d)
            && (matches!(sv, Value::List(_)) || matches!((&sv, d), (Value::Map(_), Value::Map(_))))
        {
            continue;
        }
        if overwrite || dv.as_ref().is_none_or(is_empty) {
            set_entry(dst, k, sv)?;
        }
    }
    Ok(())
}

fn set_entry(m: &Rc<MapVal>, k: String, v: Value) -> Result<(), Fail> {
    let Ok(mut e) = m.entries.try_borrow_mut() else {
        return ferr("map is in use");
    };
    e.insert(k, v);
    Ok(())
}

fn merge_all(ctx: &mut Ctx, a: &[Value], overwrite: bool) -> R {
    let Some(dst) = map_of(arg(a, 0)) else {
        return Ok(arg(a, 0).clone());
    };
    for src in a.iter().skip(1).filter_map(map_of) {
        merge_into(ctx, dst, src, overwrite, 0)?;
    }
    Ok(arg(a, 0).clone())
}

pub(crate) fn merge(ctx: &mut Ctx, a: Vec<Value>) -> R {
    merge_all(ctx, &a, false)
}

pub(crate) fn merge_overwrite(ctx: &mut Ctx, a: Vec<Value>) -> R {
    merge_all(ctx, &a, true)
}

/// `dig k1 k2 ... default dict`: the nested value, or the default when a key is absent.
pub(crate) fn dig(_: &mut Ctx, a: Vec<Value>) -> R {
    if a.len() < 3 {
        return ferr("dig needs at least three arguments");
    }
    // Go asserts the argument to map[string]interface{}: a map[string]string (the root data
    // map) fails that assertion too.
    let Some(mut m) = map_of(&a[a.len() - 1])
        .filter(|m| m.elem == Elem::Any)
        .cloned()
    else {
        return ferr(format!(
            "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
            a[a.len() - 1].type_name()
        ));
    };
    let default = a[a.len() - 2].clone();
    let keys = &a[..a.len() - 2];
    for (i, k) in keys.iter().enumerate() {
        let Some(k) = k.as_bytes() else {
            return ferr(format!(
                "interface conversion: interface {{}} is {}, not string",
                k.type_name()
            ));
        };
        let k = String::from_utf8_lossy(k).into_owned();
        let step = m.entries.borrow().get(&k).cloned();
        let Some(step) = step else { return Ok(default) };
        if i + 1 == keys.len() {
            return Ok(step);
        }
        match step {
            Value::Map(next) if next.elem == Elem::Any => m = next,
            other => {
                return ferr(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    other.type_name()
                ));
            }
        }
    }
    Ok(default)
}
