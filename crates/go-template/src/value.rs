//! The values a template computes with: a small model of the Go types that `text/template` and
//! Sprig produce (strings, ints, floats, bools, nil, slices, maps, `time.Time`).
//!
//! Go strings are byte strings, so [`Value::Str`] holds bytes: `b64dec` of binary data renders the
//! raw bytes exactly as Go does. String bytes are zeroized when dropped.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use zeroize::Zeroize;

/// A Go string: arbitrary bytes, zeroized on drop.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Bytes(pub(crate) Vec<u8>);

impl Drop for Bytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Element type of a Go slice or map, which `%T`, `typeOf` and missing-key lookups can see.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Elem {
    /// `interface{}`
    Any,
    /// `string`
    Str,
    /// `int`
    Int,
}

/// A Go slice (immutable here: every Sprig list function returns a new slice).
pub(crate) struct ListVal {
    pub(crate) items: Vec<Value>,
    pub(crate) elem: Elem,
    /// Nesting depth of lists inside this list (1 for a flat list), bounded at construction.
    pub(crate) depth: usize,
}

/// A Go map with string keys. Maps are shared and mutable (`set`, `unset`, `merge`), as in Go.
pub(crate) struct MapVal {
    pub(crate) entries: RefCell<BTreeMap<String, Value>>,
    pub(crate) elem: Elem,
}

/// A value of the template language.
#[derive(Clone)]
pub(crate) enum Value {
    /// Go's untyped nil, and also the "no value" of a missing map key.
    Nil,
    /// `bool`
    Bool(bool),
    /// Go's `int` (literals, `len`, `atoi`, `int`, `until`, ...).
    Int(i64),
    /// Go's `int64` (Sprig's integer arithmetic, `int64`, `toDecimal`). Prints and compares like
    /// `int`, but Go rejects it where an `int` parameter is expected.
    Int64(i64),
    /// `float64`
    Float(f64),
    /// `string`
    Str(Rc<Bytes>),
    /// A slice.
    List(Rc<ListVal>),
    /// A map.
    Map(Rc<MapVal>),
    /// `time.Time`
    Time(Rc<jiff::Zoned>),
}

impl Value {
    /// A string value from bytes.
    pub(crate) fn bytes(b: Vec<u8>) -> Value {
        Value::Str(Rc::new(Bytes(b)))
    }

    /// A string value from text.
    pub(crate) fn str(s: impl Into<String>) -> Value {
        Value::bytes(s.into().into_bytes())
    }

    /// The bytes of a string value, if it is one.
    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(b) => Some(&b.0),
            _ => None,
        }
    }

    /// The string as text (invalid UTF-8 replaced).
    #[cfg(test)]
    pub(crate) fn as_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Value::Str(b) => String::from_utf8_lossy(&b.0),
            _ => std::borrow::Cow::Borrowed(""),
        }
    }

    /// Go's `%T` of the value.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(l) => match l.elem {
                Elem::Any => "[]interface {}",
                Elem::Str => "[]string",
                Elem::Int => "[]int",
            },
            Value::Map(m) => match m.elem {
                Elem::Str => "map[string]string",
                _ => "map[string]interface {}",
            },
            Value::Time(_) => "time.Time",
        }
    }

    /// Go's `reflect.Kind` name of the value.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Time(_) => "struct",
        }
    }

    /// Go template truth: false, 0, nil, and empty strings, slices and maps are false.
    pub(crate) fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.0.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.entries.borrow().is_empty(),
            Value::Time(_) => true,
        }
    }

    /// What a function reading this value touches at least, in bytes: a string's length, 16
    /// bytes per element of a slice or map (not following nested values), 0 for scalars.
    pub(crate) fn shallow_size(&self) -> usize {
        match self {
            Value::Str(s) => s.0.len(),
            Value::List(l) => l.items.len().saturating_mul(16),
            Value::Map(m) => m.entries.borrow().len().saturating_mul(16),
            _ => 0,
        }
    }

    /// Length of a string, slice or map.
    pub(crate) fn len(&self) -> Option<usize> {
        match self {
            Value::Str(s) => Some(s.0.len()),
            Value::List(l) => Some(l.items.len()),
            Value::Map(m) => Some(m.entries.borrow().len()),
            _ => None,
        }
    }
}
