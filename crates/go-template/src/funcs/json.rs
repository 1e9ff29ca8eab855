//! Sprig's JSON functions with Go `encoding/json` output: `<`, `>`, `&` escaped as `\u003c`,
//! `\u003e`, `\u0026` (except `toRawJson`), U+2028/U+2029 always escaped, map keys sorted,
//! floats in Go's shortest form, `fromJson` numbers as float64.

use std::collections::BTreeMap;

use super::{Ctx, Fail, MAX_DEPTH, MAX_VALUE_BYTES, arg, ferr, out_str, sarg};
use crate::fmt::format_float;
use crate::value::{Elem, Value};

type R = Result<Value, Fail>;

struct Enc {
    out: Vec<u8>,
    escape_html: bool,
    indent: bool,
}

impl Enc {
    fn push(&mut self, b: &[u8]) -> Result<(), Fail> {
        if self.out.len() + b.len() > MAX_VALUE_BYTES {
            return Err(Fail::Limit("value size", MAX_VALUE_BYTES));
        }
        self.out.extend_from_slice(b);
        Ok(())
    }

    fn newline(&mut self, depth: usize) -> Result<(), Fail> {
        if self.indent {
            self.push(b"\n")?;
            for _ in 0..depth {
                self.push(b"  ")?;
            }
        }
        Ok(())
    }

    fn string(&mut self, s: &[u8]) -> Result<(), Fail> {
        let mut o = Vec::with_capacity(s.len() + 2);
        o.push(b'"');
        let text = String::from_utf8_lossy(s);
        for c in text.chars() {
            match c {
                '"' => o.extend_from_slice(b"\\\""),
                '\\' => o.extend_from_slice(b"\\\\"),
                '\u{8}' => o.extend_from_slice(b"\\b"),
                '\u{c}' => o.extend_from_slice(b"\\f"),
                '\n' => o.extend_from_slice(b"\\n"),
                '\r' => o.extend_from_slice(b"\\r"),
                '\t' => o.extend_from_slice(b"\\t"),
                '<' | '>' | '&' if self.escape_html => {
                    o.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                }
                '\u{2028}' | '\u{2029}' => {
                    o.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                }
                c if (c as u32) < 0x20 => {
                    o.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                }
                c => {
                    let mut buf = [0u8; 4];
                    o.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        o.push(b'"');
        self.push(&o)
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<(), Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail::Limit("value nesting depth", MAX_DEPTH));
        }
        match v {
            Value::Nil => self.push(b"null"),
            Value::Bool(b) => self.push(if *b { b"true" } else { b"false" }),
            Value::Int(i) | Value::Int64(i) => self.push(i.to_string().as_bytes()),
            Value::Float(f) => self.push(go_json_float(*f)?.as_bytes()),
            Value::Str(s) => self.string(&s.0),
            Value::Time(t) => {
                let s = crate::gotime::rfc3339_nano(t);
                self.string(s.as_bytes())
            }
            Value::List(l) => {
                if l.items.is_empty() {
                    return self.push(b"[]");
                }
                self.push(b"[")?;
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        self.push(b",")?;
                    }
                    self.newline(depth + 1)?;
                    self.value(item, depth + 1)?;
                }
                self.newline(depth)?;
                self.push(b"]")
            }
            Value::Map(m) => {
                let entries = m.entries.borrow();
                if entries.is_empty() {
                    return self.push(b"{}");
                }
                self.push(b"{")?;
                for (i, (k, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.push(b",")?;
                    }
                    self.newline(depth + 1)?;
                    self.string(k.as_bytes())?;
                    self.push(if self.indent { b": " } else { b":" })?;
                    self.value(item, depth + 1)?;
                }
                self.newline(depth)?;
                self.push(b"}")
            }
        }
    }
}

/// Go's encoding of a float64 in JSON.
fn go_json_float(f: f64) -> Result<String, Fail> {
    if !f.is_finite() {
        return ferr(format!(
            "json: unsupported value: {}",
            format_float(f, 'g', None)
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = format_float(f, 'e', None);
        // Go writes e-7, not e-07.
        if let Some(pos) = s.find("e-0") {
            s.remove(pos + 2);
        } else if let Some(pos) = s.find("e+0") {
            s.remove(pos + 2);
        }
        return Ok(s);
    }
    Ok(format_float(f, 'f', None))
}

/// Go's `json.Marshal` (or `MarshalIndent(v, "", "  ")`, or an Encoder without HTML escaping).
pub(crate) fn encode(v: &Value, escape_html: bool, indent: bool) -> Result<Vec<u8>, Fail> {
    let mut e = Enc {
        out: Vec::new(),
        escape_html,
        indent,
    };
    e.value(v, 0)?;
    Ok(e.out)
}

/// Encodes for the non-`must` variants: an unsupported value gives the empty string, as in Sprig.
fn lenient(v: &Value, escape_html: bool, indent: bool) -> R {
    match encode(v, escape_html, indent) {
        Ok(b) => out_str(b),
        Err(Fail::Func(_)) => Ok(Value::str("")),
        Err(e) => Err(e),
    }
}

pub(crate) fn to_json(_: &mut Ctx, a: Vec<Value>) -> R {
    lenient(arg(&a, 0), true, false)
}

pub(crate) fn to_pretty_json(_: &mut Ctx, a: Vec<Value>) -> R {
    lenient(arg(&a, 0), true, true)
}

pub(crate) fn to_raw_json(_: &mut Ctx, a: Vec<Value>) -> R {
    lenient(arg(&a, 0), false, false)
}

pub(crate) fn must_to_json(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(encode(arg(&a, 0), true, false)?)
}

pub(crate) fn must_to_pretty_json(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(encode(arg(&a, 0), true, true)?)
}

pub(crate) fn must_to_raw_json(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(encode(arg(&a, 0), false, false)?)
}

fn convert(ctx: &mut Ctx, j: serde_json::Value, depth: usize) -> R {
    if depth > MAX_DEPTH {
        return Err(Fail::Limit("value nesting depth", MAX_DEPTH));
    }
    Ok(match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::str(s),
        serde_json::Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(convert(ctx, item, depth + 1)?);
            }
            ctx.new_list(out, Elem::Any)?
        }
        serde_json::Value::Object(obj) => {
            ctx.charge(obj.len())?;
            let mut out = BTreeMap::new();
            for (k, item) in obj {
                out.insert(k, convert(ctx, item, depth + 1)?);
            }
            ctx.new_map(out, Elem::Any)
        }
    })
}

fn decode(ctx: &mut Ctx, s: &[u8]) -> R {
    let text = String::from_utf8_lossy(s);
    match serde_json::from_str::<serde_json::Value>(&text) {
        // The parser's message can quote input characters: keep only its category.
        Err(e) => ferr(format!(
            "invalid JSON ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )),
        Ok(j) => convert(ctx, j, 0),
    }
}

pub(crate) fn from_json(ctx: &mut Ctx, a: Vec<Value>) -> R {
    match decode(ctx, sarg(&a, 0)) {
        Err(Fail::Func(_)) => Ok(Value::Nil),
        other => other,
    }
}

pub(crate) fn must_from_json(ctx: &mut Ctx, a: Vec<Value>) -> R {
    decode(ctx, sarg(&a, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &Value, html: bool, indent: bool) -> String {
        String::from_utf8(encode(v, html, indent).unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn strings_like_go() {
        let v = Value::str("a\"b\\<>&\n\t\u{1}\u{2028}é");
        assert_eq!(
            enc(&v, true, false),
            r#""a\"b\\\u003c\u003e\u0026\n\t\u0001\u2028é""#
        );
        assert_eq!(
            enc(&v, false, false),
            "\"a\\\"b\\\\<>&\\n\\t\\u0001\\u2028é\""
        );
        assert_eq!(
            enc(&Value::bytes(vec![0xff, b'a']), true, false),
            "\"\u{fffd}a\""
        );
    }

    #[test]
    fn numbers_like_go() {
        assert_eq!(enc(&Value::Float(1.0), true, false), "1");
        assert_eq!(enc(&Value::Float(1e21), true, false), "1e+21");
        assert_eq!(enc(&Value::Float(1e-7), true, false), "1e-7");
        assert_eq!(enc(&Value::Float(123456789.0), true, false), "123456789");
        assert_eq!(enc(&Value::Float(0.000001), true, false), "0.000001");
        assert!(encode(&Value::Float(f64::NAN), true, false).is_err());
    }

    #[test]
    fn containers_and_pretty() {
        let mut ctx = Ctx::new();
        let inner = ctx
            .new_list(vec![Value::Int(1), Value::Nil], Elem::Any)
            .unwrap_or(Value::Nil);
        let mut m = BTreeMap::new();
        m.insert("b".to_string(), inner);
        m.insert("a".to_string(), ctx.new_map(BTreeMap::new(), Elem::Any));
        let v = ctx.new_map(m, Elem::Any);
        assert_eq!(enc(&v, true, false), r#"{"a":{},"b":[1,null]}"#);
        assert_eq!(
            enc(&v, true, true),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    null\n  ]\n}"
        );
    }

    #[test]
    fn decoding() {
        let mut ctx = Ctx::new();
        let v = decode(&mut ctx, br#"{"a":[1,"x",true,null],"b":{"c":2.5}}"#).unwrap_or(Value::Nil);
        assert_eq!(
            enc(&v, true, false),
            r#"{"a":[1,"x",true,null],"b":{"c":2.5}}"#
        );
        assert!(decode(&mut ctx, b"{").is_err());
        assert!(matches!(
            from_json(&mut ctx, vec![Value::str("nope")]),
            Ok(Value::Nil)
        ));
    }
}
