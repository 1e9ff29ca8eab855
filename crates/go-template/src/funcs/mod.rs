//! The function map: Go's `text/template` builtins plus Sprig v3's generic functions (minus
//! `env`, `expandenv`, `getHostByName`), each with its Go parameter types so that arguments are
//! checked and converted the way Go's reflection-based calls do.
//!
//! Also home of [`Ctx`], the per-render state functions share (resource budget, maps created,
//! randomness, clock), and of the limits that keep a hostile template from hanging or exhausting
//! the controller.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::value::{Elem, ListVal, MapVal, Value};
pub(crate) use crate::error::Fail;
pub(crate) use crate::limits::*;

mod builtin;
pub(crate) mod date;
mod defaults;
mod dicts;
mod encoding;
mod json;
mod lists;
mod math;
mod paths;
mod random;
mod regex;
mod strings;

/// How often (in steps) the clock is read for the time limit.
const CLOCK_EVERY_STEPS: usize = 1 << 12;

/// Shorthand for a function error.
pub(crate) fn ferr<T>(msg: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Func(msg.into()))
}

/// Go parameter types of the function map.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum P {
    /// `interface{}` or `reflect.Value`: anything, including nil.
    Any,
    Str,
    Int,
    Float,
    Bool,
    /// `map[string]interface{}` (nil allowed).
    Map,
    /// `time.Time`
    Time,
}

impl P {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            P::Any => "interface {}",
            P::Str => "string",
            P::Int => "int",
            P::Float => "float64",
            P::Bool => "bool",
            P::Map => "map[string]interface {}",
            P::Time => "time.Time",
        }
    }
}

/// A function implementation.
pub(crate) type Native = fn(&mut Ctx, Vec<Value>) -> Result<Value, Fail>;

/// How a function is evaluated.
pub(crate) enum Imp {
    /// Arguments are evaluated, then the function is called.
    Native(Native),
    /// `and`: evaluates arguments left to right, stops at the first false one.
    And,
    /// `or`: evaluates arguments left to right, stops at the first true one.
    Or,
}

/// One entry of the function map.
pub(crate) struct FuncDef {
    pub(crate) name: &'static str,
    pub(crate) params: &'static [P],
    pub(crate) variadic: Option<P>,
    pub(crate) imp: Imp,
}

impl FuncDef {
    /// The type of the `i`th argument.
    pub(crate) fn param(&self, i: usize) -> P {
        self.params
            .get(i)
            .copied()
            .or(self.variadic)
            .unwrap_or(P::Any)
    }
}

/// Result of looking a function name up.
pub(crate) enum Lookup {
    Found(&'static FuncDef),
    /// A Sprig function this implementation does not provide.
    Unsupported,
    Undefined,
}

macro_rules! f {
    ($name:literal, [$($p:ident),*], $imp:path) => {
        FuncDef { name: $name, params: &[$(P::$p),*], variadic: None, imp: Imp::Native($imp) }
    };
    ($name:literal, [$($p:ident),*], ...$v:ident, $imp:path) => {
        FuncDef { name: $name, params: &[$(P::$p),*], variadic: Some(P::$v), imp: Imp::Native($imp) }
    };
}

/// Sprig functions that are deliberately not provided (certificate/key generation, AES, semver,
/// URL parsing and the xstrings case converters): a template using them fails to parse with a clear message.
pub(crate) const UNSUPPORTED: &[&str] = &[
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
    "semver",
    "semverCompare",
    "urlParse",
    "urlJoin",
    "snakecase",
    "camelcase",
    "kebabcase",
];

/// The function map. Sprig entries override Go builtins of the same name (`slice`), as
/// `Funcs()` does in Go.
pub(crate) static FUNCS: &[FuncDef] = &[
    // text/template builtins.
    FuncDef {
        name: "and",
        params: &[P::Any],
        variadic: Some(P::Any),
        imp: Imp::And,
    },
    FuncDef {
        name: "or",
        params: &[P::Any],
        variadic: Some(P::Any),
        imp: Imp::Or,
    },
    f!("not", [Any], builtin::not),
    f!("len", [Any], builtin::len),
    f!("index", [Any], ...Any, builtin::index),
    f!("print", [], ...Any, builtin::print),
    f!("printf", [Str], ...Any, builtin::printf),
    f!("println", [], ...Any, builtin::println),
    f!("html", [], ...Any, builtin::html),
    f!("js", [], ...Any, builtin::js),
    f!("urlquery", [], ...Any, builtin::urlquery),
    f!("call", [Any], ...Any, builtin::call),
    f!("eq", [Any], ...Any, builtin::eq),
    f!("ne", [Any, Any], builtin::ne),
    f!("lt", [Any, Any], builtin::lt),
    f!("le", [Any, Any], builtin::le),
    f!("gt", [Any, Any], builtin::gt),
    f!("ge", [Any, Any], builtin::ge),
    // Sprig: dates.
    f!("ago", [Any], date::ago),
    f!("date", [Str, Any], date::date),
    f!("date_in_zone", [Str, Any, Str], date::date_in_zone),
    f!("dateInZone", [Str, Any, Str], date::date_in_zone),
    f!("date_modify", [Str, Time], date::date_modify),
    f!("dateModify", [Str, Time], date::date_modify),
    f!("must_date_modify", [Str, Time], date::must_date_modify),
    f!("mustDateModify", [Str, Time], date::must_date_modify),
    f!("duration", [Any], date::duration),
    f!("durationRound", [Any], date::duration_round),
    f!("htmlDate", [Any], date::html_date),
    f!("htmlDateInZone", [Any, Str], date::html_date_in_zone),
    f!("now", [], date::now),
    f!("toDate", [Str, Str], date::to_date),
    f!("mustToDate", [Str, Str], date::must_to_date),
    f!("unixEpoch", [Time], date::unix_epoch),
    // Sprig: strings.
    f!("hello", [], strings::hello),
    f!("abbrev", [Int, Str], strings::abbrev),
    f!("abbrevboth", [Int, Int, Str], strings::abbrevboth),
    f!("trunc", [Int, Str], strings::trunc),
    f!("trim", [Str], strings::trim),
    f!("upper", [Str], strings::upper),
    f!("lower", [Str], strings::lower),
    f!("title", [Str], strings::title),
    f!("untitle", [Str], strings::untitle),
    f!("substr", [Int, Int, Str], strings::substr),
    f!("repeat", [Int, Str], strings::repeat),
    f!("trimall", [Str, Str], strings::trim_all),
    f!("trimAll", [Str, Str], strings::trim_all),
    f!("trimSuffix", [Str, Str], strings::trim_suffix),
    f!("trimPrefix", [Str, Str], strings::trim_prefix),
    f!("nospace", [Str], strings::nospace),
    f!("initials", [Str], strings::initials),
    f!("randAlphaNum", [Int], random::rand_alpha_num),
    f!("randAlpha", [Int], random::rand_alpha),
    f!("randAscii", [Int], random::rand_ascii),
    f!("randNumeric", [Int], random::rand_numeric),
    f!("swapcase", [Str], strings::swapcase),
    f!("shuffle", [Str], random::shuffle),
    f!("wrap", [Int, Str], strings::wrap),
    f!("wrapWith", [Int, Str, Str], strings::wrap_with),
    f!("contains", [Str, Str], strings::contains),
    f!("hasPrefix", [Str, Str], strings::has_prefix),
    f!("hasSuffix", [Str, Str], strings::has_suffix),
    f!("quote", [], ...Any, strings::quote),
    f!("squote", [], ...Any, strings::squote),
    f!("cat", [], ...Any, strings::cat),
    f!("indent", [Int, Str], strings::indent),
    f!("nindent", [Int, Str], strings::nindent),
    f!("replace", [Str, Str, Str], strings::replace),
    f!("plural", [Str, Str, Int], strings::plural),
    f!("sha1sum", [Str], encoding::sha1sum),
    f!("sha256sum", [Str], encoding::sha256sum),
    f!("sha512sum", [Str], encoding::sha512sum),
    f!("adler32sum", [Str], encoding::adler32sum),
    f!("toString", [Any], strings::to_string),
    f!("atoi", [Str], math::atoi),
    f!("int64", [Any], math::int64),
    f!("int", [Any], math::int),
    f!("float64", [Any], math::float64),
    f!("seq", [], ...Int, math::seq),
    f!("toDecimal", [Any], math::to_decimal),
    f!("split", [Str, Str], strings::split),
    f!("splitList", [Str, Str], strings::split_list),
    f!("splitn", [Str, Int, Str], strings::splitn),
    f!("toStrings", [Any], strings::to_strings),
    f!("until", [Int], math::until),
    f!("untilStep", [Int, Int, Int], math::until_step),
    f!("add1", [Any], math::add1),
    f!("add", [], ...Any, math::add),
    f!("sub", [Any, Any], math::sub),
    f!("div", [Any, Any], math::div),
    f!("mod", [Any, Any], math::modulo),
    f!("mul", [Any], ...Any, math::mul),
    f!("randInt", [Int, Int], random::rand_int),
    f!("add1f", [Any], math::add1f),
    f!("addf", [], ...Any, math::addf),
    f!("subf", [Any], ...Any, math::subf),
    f!("divf", [Any], ...Any, math::divf),
    f!("mulf", [Any], ...Any, math::mulf),
    f!("biggest", [Any], ...Any, math::max),
    f!("max", [Any], ...Any, math::max),
    f!("min", [Any], ...Any, math::min),
    f!("maxf", [Any], ...Any, math::maxf),
    f!("minf", [Any], ...Any, math::minf),
    f!("ceil", [Any], math::ceil),
    f!("floor", [Any], math::floor),
    f!("round", [Any, Int], ...Float, math::round),
    f!("join", [Str, Any], strings::join),
    f!("sortAlpha", [Any], strings::sort_alpha),
    // Sprig: defaults, JSON, reflection.
    f!("default", [Any], ...Any, defaults::default),
    f!("empty", [Any], defaults::empty),
    f!("coalesce", [], ...Any, defaults::coalesce),
    f!("all", [], ...Any, defaults::all),
    f!("any", [], ...Any, defaults::any),
    f!("compact", [Any], lists::compact),
    f!("mustCompact", [Any], lists::must_compact),
    f!("fromJson", [Str], json::from_json),
    f!("toJson", [Any], json::to_json),
    f!("toPrettyJson", [Any], json::to_pretty_json),
    f!("toRawJson", [Any], json::to_raw_json),
    f!("mustFromJson", [Str], json::must_from_json),
    f!("mustToJson", [Any], json::must_to_json),
    f!("mustToPrettyJson", [Any], json::must_to_pretty_json),
    f!("mustToRawJson", [Any], json::must_to_raw_json),
    f!("ternary", [Any, Any, Bool], defaults::ternary),
    f!("deepCopy", [Any], defaults::deep_copy),
    f!("mustDeepCopy", [Any], defaults::must_deep_copy),
    f!("typeOf", [Any], defaults::type_of),
    f!("typeIs", [Str, Any], defaults::type_is),
    f!("typeIsLike", [Str, Any], defaults::type_is_like),
    f!("kindOf", [Any], defaults::kind_of),
    f!("kindIs", [Str, Any], defaults::kind_is),
    f!("deepEqual", [Any, Any], defaults::deep_equal),
    // Sprig: paths (path and path/filepath are the same on Linux).
    f!("base", [Str], paths::base),
    f!("dir", [Str], paths::dir),
    f!("clean", [Str], paths::clean),
    f!("ext", [Str], paths::ext),
    f!("isAbs", [Str], paths::is_abs),
    f!("osBase", [Str], paths::base),
    f!("osClean", [Str], paths::clean),
    f!("osDir", [Str], paths::dir),
    f!("osExt", [Str], paths::ext),
    f!("osIsAbs", [Str], paths::is_abs),
    // Sprig: encoding.
    f!("b64enc", [Str], encoding::b64enc),
    f!("b64dec", [Str], encoding::b64dec),
    f!("b32enc", [Str], encoding::b32enc),
    f!("b32dec", [Str], encoding::b32dec),
    // Sprig: lists and dicts.
    f!("tuple", [], ...Any, lists::list),
    f!("list", [], ...Any, lists::list),
    f!("dict", [], ...Any, dicts::dict),
    f!("get", [Map, Str], dicts::get),
    f!("set", [Map, Str, Any], dicts::set),
    f!("unset", [Map, Str], dicts::unset),
    f!("hasKey", [Map, Str], dicts::has_key),
    f!("pluck", [Str], ...Map, dicts::pluck),
    f!("keys", [], ...Map, dicts::keys),
    f!("pick", [Map], ...Str, dicts::pick),
    f!("omit", [Map], ...Str, dicts::omit),
    f!("merge", [Map], ...Map, dicts::merge),
    f!("mergeOverwrite", [Map], ...Map, dicts::merge_overwrite),
    f!("mustMerge", [Map], ...Map, dicts::merge),
    f!("mustMergeOverwrite", [Map], ...Map, dicts::merge_overwrite),
    f!("values", [Map], dicts::values),
    f!("append", [Any, Any], lists::push),
    f!("push", [Any, Any], lists::push),
    f!("mustAppend", [Any, Any], lists::must_push),
    f!("mustPush", [Any, Any], lists::must_push),
    f!("prepend", [Any, Any], lists::prepend),
    f!("mustPrepend", [Any, Any], lists::must_prepend),
    f!("first", [Any], lists::first),
    f!("mustFirst", [Any], lists::must_first),
    f!("rest", [Any], lists::rest),
    f!("mustRest", [Any], lists::must_rest),
    f!("last", [Any], lists::last),
    f!("mustLast", [Any], lists::must_last),
    f!("initial", [Any], lists::initial),
    f!("mustInitial", [Any], lists::must_initial),
    f!("reverse", [Any], lists::reverse),
    f!("mustReverse", [Any], lists::must_reverse),
    f!("uniq", [Any], lists::uniq),
    f!("mustUniq", [Any], lists::must_uniq),
    f!("without", [Any], ...Any, lists::without),
    f!("mustWithout", [Any], ...Any, lists::must_without),
    f!("has", [Any, Any], lists::has),
    f!("mustHas", [Any, Any], lists::must_has),
    f!("slice", [Any], ...Any, lists::slice),
    f!("mustSlice", [Any], ...Any, lists::must_slice),
    f!("concat", [], ...Any, lists::concat),
    f!("dig", [], ...Any, dicts::dig),
    f!("chunk", [Int, Any], lists::chunk),
    f!("mustChunk", [Int, Any], lists::must_chunk),
    // Sprig: crypto and randomness.
    f!("bcrypt", [Str], encoding::bcrypt),
    f!("htpasswd", [Str, Str], encoding::htpasswd),
    f!("randBytes", [Int], random::rand_bytes),
    f!("uuidv4", [], random::uuidv4),
    f!("fail", [Str], defaults::fail),
    // Sprig: regular expressions.
    f!("regexMatch", [Str, Str], regex::regex_match),
    f!("mustRegexMatch", [Str, Str], regex::must_regex_match),
    f!("regexFindAll", [Str, Str, Int], regex::regex_find_all),
    f!(
        "mustRegexFindAll",
        [Str, Str, Int],
        regex::must_regex_find_all
    ),
    f!("regexFind", [Str, Str], regex::regex_find),
    f!("mustRegexFind", [Str, Str], regex::must_regex_find),
    f!("regexReplaceAll", [Str, Str, Str], regex::regex_replace_all),
    f!(
        "mustRegexReplaceAll",
        [Str, Str, Str],
        regex::must_regex_replace_all
    ),
    f!(
        "regexReplaceAllLiteral",
        [Str, Str, Str],
        regex::regex_replace_all_literal
    ),
    f!(
        "mustRegexReplaceAllLiteral",
        [Str, Str, Str],
        regex::must_regex_replace_all_literal
    ),
    f!("regexSplit", [Str, Str, Int], regex::regex_split),
    f!("mustRegexSplit", [Str, Str, Int], regex::must_regex_split),
    f!("regexQuoteMeta", [Str], regex::regex_quote_meta),
];

/// Looks a function up by name.
pub(crate) fn lookup(name: &str) -> Lookup {
    if let Some(def) = FUNCS.iter().find(|d| d.name == name) {
        return Lookup::Found(def);
    }
    if UNSUPPORTED.contains(&name) {
        return Lookup::Unsupported;
    }
    Lookup::Undefined
}

/// Per-render state shared by the evaluator and the functions.
pub(crate) struct Ctx {
    budget: super::Budget,
    /// Every map created during the render, kept alive until the end so that reference cycles
    /// (`set $d "self" $d`) and deep chains are taken apart without recursion when the render ends.
    maps: Vec<Rc<MapVal>>,
    rng: Option<StdRng>,
    seed: Option<u64>,
    now: Option<jiff::Timestamp>,
}

impl Ctx {
    /// A context with OS randomness, the real clock and the default limits.
    #[cfg(test)]
    pub(crate) fn new() -> Ctx {
        Ctx::with_budget(super::Budget::new(super::Limits::default()))
    }

    /// A context spending `budget`, with OS randomness and the real clock.
    pub(crate) fn with_budget(budget: super::Budget) -> Ctx {
        Ctx {
            budget,
            maps: Vec::new(),
            rng: None,
            seed: None,
            now: None,
        }
    }

    /// A deterministic context for tests.
    #[cfg(test)]
    pub(crate) fn fixed(seed: u64, now: jiff::Timestamp) -> Ctx {
        let mut ctx = Ctx::new();
        ctx.seed = Some(seed);
        ctx.now = Some(now);
        ctx
    }

    /// Gives the budget back (what is left of it) when the render is over.
    pub(crate) fn into_budget(mut self) -> super::Budget {
        std::mem::replace(&mut self.budget, super::Budget::spent())
    }

    /// The budget, for the output limit.
    pub(crate) fn budget(&mut self) -> &mut super::Budget {
        &mut self.budget
    }

    /// Spends `n` units of the evaluation budget (and, every few thousand, checks the clock).
    pub(crate) fn charge(&mut self, n: usize) -> Result<(), Fail> {
        let b = &mut self.budget;
        let before = b.steps;
        b.steps = b.steps.saturating_add(n);
        if b.steps > b.limits.steps {
            return Err(Fail::Limit("evaluation steps", b.limits.steps));
        }
        if before / CLOCK_EVERY_STEPS != b.steps / CLOCK_EVERY_STEPS {
            b.check_clock()?;
        }
        Ok(())
    }

    /// Spends steps for `n` bytes read or written by a function.
    pub(crate) fn charge_bytes(&mut self, n: usize) -> Result<(), Fail> {
        self.charge(n / BYTES_PER_STEP)
    }

    /// Accounts for `n` bytes of produced values.
    pub(crate) fn account(&mut self, n: usize) -> Result<(), Fail> {
        let b = &mut self.budget;
        b.bytes = b.bytes.saturating_add(n);
        if b.bytes > b.limits.value_bytes {
            return Err(Fail::Limit("total value size", b.limits.value_bytes));
        }
        Ok(())
    }

    /// A new map value.
    pub(crate) fn new_map(&mut self, entries: BTreeMap<String, Value>, elem: Elem) -> Value {
        // Accounted, but never refused here: the root map holds the decrypted values themselves.
        self.budget.bytes = self
            .budget
            .bytes
            .saturating_add(entries.len().saturating_mul(MAP_ENTRY_BYTES));
        let m = Rc::new(MapVal {
            entries: RefCell::new(entries),
            elem,
        });
        self.maps.push(m.clone());
        Value::Map(m)
    }

    /// A new list value, within the size and nesting limits.
    pub(crate) fn new_list(&mut self, items: Vec<Value>, elem: Elem) -> Result<Value, Fail> {
        if items.len() > MAX_LIST_LEN {
            return Err(Fail::Limit("list length", MAX_LIST_LEN));
        }
        self.charge(items.len())?;
        self.account(items.len().saturating_mul(std::mem::size_of::<Value>()))?;
        let depth = 1 + items
            .iter()
            .map(|v| match v {
                Value::List(l) => l.depth,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        if depth > MAX_DEPTH {
            return Err(Fail::Limit("value nesting depth", MAX_DEPTH));
        }
        Ok(Value::List(Rc::new(ListVal { items, elem, depth })))
    }

    /// A list of strings.
    pub(crate) fn str_list(&mut self, items: Vec<Vec<u8>>) -> Result<Value, Fail> {
        let items = items.into_iter().map(Value::bytes).collect();
        self.new_list(items, Elem::Str)
    }

    /// The random number generator, seeded from the OS on first use.
    pub(crate) fn rng(&mut self) -> Result<&mut StdRng, Fail> {
        if self.rng.is_none() {
            let rng = match self.seed {
                Some(seed) => StdRng::seed_from_u64(seed),
                None => StdRng::from_rng(rand::rngs::OsRng).map_err(|_| {
                    Fail::Func("the operating system provided no randomness".into())
                })?,
            };
            self.rng = Some(rng);
        }
        self.rng
            .as_mut()
            .ok_or_else(|| Fail::Func("no random number generator".into()))
    }

    /// The current time (UTC, which is Go's `time.Local` in the controller's container).
    pub(crate) fn now(&self) -> jiff::Timestamp {
        self.now.unwrap_or_else(jiff::Timestamp::now)
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // Empty every map first, while `self.maps` keeps them all alive, so that dropping the
        // entries never recurses into another map and cycles are broken.
        let mut taken = Vec::with_capacity(self.maps.len());
        for m in &self.maps {
            if let Ok(mut e) = m.entries.try_borrow_mut() {
                taken.push(std::mem::take(&mut *e));
            }
        }
        drop(taken);
    }
}

/// Go's `strval` (Sprig): strings as is, nil as `<nil>`, everything else with `%v`.
pub(crate) fn strval(v: &Value) -> Result<Vec<u8>, Fail> {
    super::fmt::sprint_one(v)
}

/// Sprig's `strslice`: a list's non-nil elements as strings; nil is empty; anything else is a
/// one-element list.
pub(crate) fn strslice(v: &Value) -> Result<Vec<Vec<u8>>, Fail> {
    match v {
        Value::List(l) => {
            let mut out = Vec::with_capacity(l.items.len());
            for item in &l.items {
                if !matches!(item, Value::Nil) || l.elem != Elem::Any {
                    out.push(strval(item)?);
                }
            }
            Ok(out)
        }
        Value::Nil => Ok(Vec::new()),
        other => Ok(vec![strval(other)?]),
    }
}

/// Sprig's `toInt64` (via spf13/cast): numbers convert, strings parse (base prefixes allowed,
/// a `.0` suffix ignored), bools are 0/1, anything else is 0.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => {
            if f.is_nan() {
                0
            } else {
                *f as i64
            }
        }
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => {
            let text = String::from_utf8_lossy(&s.0);
            let mut t: &str = &text;
            // cast's trimZeroDecimal: "12.00" is 12, "12." and "12.5" are not integers.
            if let Some((int, frac)) = t.split_once('.')
                && !frac.is_empty()
                && frac.bytes().all(|b| b == b'0')
            {
                t = int;
            }
            super::literal::parse_number(t)
                .ok()
                .filter(|n| !n.float_syntax)
                .and_then(|n| n.int)
                .unwrap_or(0)
        }
        _ => 0,
    }
}

/// Sprig's `toFloat64` (via spf13/cast).
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => math::parse_go_float(&String::from_utf8_lossy(&s.0)).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// A new string value, within the size limit.
pub(crate) fn out_str(b: Vec<u8>) -> Result<Value, Fail> {
    if b.len() > MAX_VALUE_BYTES {
        return Err(Fail::Limit("value size", MAX_VALUE_BYTES));
    }
    Ok(Value::bytes(b))
}

/// The argument vector's `i`th value (the evaluator checked the count).
pub(crate) fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Nil)
}

/// The `i`th argument as bytes (the evaluator checked it is a string).
pub(crate) fn sarg(args: &[Value], i: usize) -> &[u8] {
    arg(args, i).as_bytes().unwrap_or(&[])
}

/// The `i`th argument as an int (the evaluator checked it is one).
pub(crate) fn iarg(args: &[Value], i: usize) -> i64 {
    match arg(args, i) {
        Value::Int(n) | Value::Int64(n) => *n,
        _ => 0,
    }
}
