//! Go's `text/template`, with the Sprig v3 generic function map, for templates you do not trust.
//!
//! Renders a template with `.` bound to a map of string keys to byte-string values, as Go's
//! `template.Execute(w, map[string]string{...})` would, and returns the bytes. Every render is
//! bounded (steps, memory, output, nesting, time), so a hostile template cannot hang or exhaust the
//! process; the values and the output are zeroized when dropped, so secret inputs leave no copies.
//! Sealed Secrets' controller renders a SealedSecret's `spec.template.data` with it (Sprig minus
//! `env`, `expandenv` and `getHostByName`, as upstream), but nothing here knows about Kubernetes.
//!
//! ```
//! use std::collections::BTreeMap;
//! use go_template::render;
//!
//! let data = BTreeMap::from([("foo".to_string(), "bar".to_string())]);
//! let out = render(r#"secret {{ index . "foo" }} !"#, &data).unwrap();
//! assert_eq!(&out[..], b"secret bar !");
//! ```
//!
//! # Semantics
//!
//! - `.foo` of a missing key renders `<no value>` (Go's default `missingkey` mode);
//!   `index . "missing"` renders the empty string.
//! - Actions and pipelines: `{{ x | f a }}`, parenthesized pipelines, `$x := ...`, `$x = ...`,
//!   `if`/`else if`/`else`, `range` (lists, maps in key order, integers; `$i, $e :=`; `break`,
//!   `continue`; `else`), `with`/`else with`, `define`/`template`/`block`, trim markers
//!   `{{- -}}`, comments `{{/* */}}`, string (`"..."`, `` `...` ``), character, integer and
//!   float literals, `true`/`false`/`nil`.
//! - Functions are resolved when the template is parsed: an unknown name is a parse error
//!   (`function "env" not defined`). Arguments are checked against Go's parameter types
//!   (`upper 3` fails, as in Go).
//! - Strings are byte strings as in Go, so `b64dec` of binary data renders those exact bytes.
//! - Nothing reads the environment, files or the network. Time zones come from an IANA
//!   database compiled into the binary, and Go's `Local` zone is UTC.
//!
//! # Functions
//!
//! Go builtins: `and`, `or`, `not`, `len`, `index`, `print`, `printf`, `println`, `html`,
//! `js`, `urlquery`, `call`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`. (`slice` is Sprig's, which
//! overrides the builtin in Sealed Secrets too.)
//!
//! Sprig, all of the generic map except the ones listed below:
//! - strings: `hello`, `abbrev`, `abbrevboth`, `trunc`, `trim`, `upper`, `lower`, `title`,
//!   `untitle`, `substr`, `repeat`, `trimall`, `trimAll`, `trimSuffix`, `trimPrefix`,
//!   `nospace`, `initials`, `swapcase`, `shuffle`, `wrap`, `wrapWith`, `contains`,
//!   `hasPrefix`, `hasSuffix`, `quote`, `squote`, `cat`, `indent`, `nindent`, `replace`,
//!   `plural`, `toString`, `split`, `splitList`, `splitn`, `toStrings`, `join`, `sortAlpha`;
//! - random: `randAlphaNum`, `randAlpha`, `randAscii`, `randNumeric`, `randBytes`, `randInt`,
//!   `uuidv4`;
//! - numbers: `atoi`, `int`, `int64`, `float64`, `toDecimal`, `seq`, `until`, `untilStep`,
//!   `add`, `add1`, `sub`, `mul`, `div`, `mod`, `max`, `biggest`, `min`, `addf`, `add1f`,
//!   `subf`, `mulf`, `divf`, `maxf`, `minf`, `ceil`, `floor`, `round`;
//! - defaults and reflection: `default`, `empty`, `coalesce`, `all`, `any`, `compact`,
//!   `mustCompact`, `ternary`, `fail`, `typeOf`, `typeIs`, `typeIsLike`, `kindOf`, `kindIs`,
//!   `deepEqual`, `deepCopy`, `mustDeepCopy`;
//! - JSON: `toJson`, `toPrettyJson`, `toRawJson`, `fromJson` and their `must` forms;
//! - encoding and hashing: `b64enc`, `b64dec`, `b32enc`, `b32dec`, `sha1sum`, `sha256sum`,
//!   `sha512sum`, `adler32sum`, `bcrypt`, `htpasswd`;
//! - paths: `base`, `dir`, `clean`, `ext`, `isAbs`, `osBase`, `osDir`, `osClean`, `osExt`,
//!   `osIsAbs`;
//! - lists and dicts: `list`, `tuple`, `append`/`push`, `prepend`, `first`, `rest`, `last`,
//!   `initial`, `reverse`, `uniq`, `without`, `has`, `slice`, `concat`, `chunk` (and their
//!   `must` forms), `dict`, `get`, `set`, `unset`, `hasKey`, `pluck`, `keys`, `pick`, `omit`,
//!   `merge`, `mergeOverwrite`, `mustMerge`, `mustMergeOverwrite`, `values`, `dig`;
//! - regular expressions: `regexMatch`, `regexFind`, `regexFindAll`, `regexReplaceAll`,
//!   `regexReplaceAllLiteral`, `regexSplit` (and `must` forms), `regexQuoteMeta`;
//! - dates: `now`, `date`, `dateInZone`/`date_in_zone`, `htmlDate`, `htmlDateInZone`,
//!   `dateModify`/`date_modify`, `mustDateModify`/`must_date_modify`, `toDate`,
//!   `mustToDate`, `unixEpoch`, `duration`, `durationRound`, `ago`.
//!
//! Not provided (a template using them fails to parse with "is not supported by
//! sealed-secrets-rs"): `genPrivateKey`, `derivePassword`, `buildCustomCert`, `genCA`,
//! `genCAWithKey`, `genSelfSignedCert`, `genSelfSignedCertWithKey`, `genSignedCert`,
//! `genSignedCertWithKey`, `encryptAES`, `decryptAES`, `semver`, `semverCompare`, `urlParse`,
//! `urlJoin`, `snakecase`, `camelcase`, `kebabcase`. Removed exactly as in Sealed Secrets
//! (`function "..." not defined`): `env`, `expandenv`, `getHostByName`.
//!
//! Known differences from Go: `keys`/`values` are sorted (Go's order is random); regular
//! expressions treat `\d`, `\w`, `\s`, `\b` as Unicode classes; `now` prints without Go's
//! monotonic-clock suffix; `fail` does not repeat its message (it may hold secret data);
//! `toDate` does not parse day-of-year layouts; methods of values (`(now).Year`) cannot be
//! called; `index` of a string gives an `int` (Go: `uint8`); more than 64 `else if` branches
//! hit the nesting limit.
//!
//! # Limits
//!
//! A template is untrusted input to the controller. Rendering is bounded per template: output
//! 1 MiB, any one string 1 MiB, lists 100 000 elements, 64 levels of nesting (parentheses,
//! control structures, `template` calls, nested values). Evaluation steps (nodes, calls, loop
//! iterations, one per 64 bytes a function reads or produces, 100 000 per bcrypt hash), the
//! total size of the values produced, the output and the wall-clock time are counted in a
//! [`Budget`] that several templates can share through a [`Session`]: that is how the
//! controller bounds the templates of one SealedSecret together ([`Limits`]). Exceeding one is
//! [`TemplateError::LimitExceeded`]; no input panics.
//!
//! # Why a new interpreter
//!
//! The crates.io `gtmpl` 0.7 crate implements Go templates but is only passively maintained,
//! spawns a thread per lexer, has no way to bound execution (a `range` over a huge list or a
//! recursive `template` runs unchecked), keeps values in non-zeroizing types and would need
//! all of Sprig added anyway. This module is a small, bounded, zeroizing interpreter written
//! against the Go documentation and checked against Go 1.26 `text/template` + Sprig 3.3.0
//! outputs (`tests/cases/*.json`, regenerated and checked by `tests/oracle`, a Go program).
//!
//! # Secrets
//!
//! The values may be secrets. Error messages name positions, the template's own text and
//! function names, never a value (but which action failed, and whether, can depend on the values:
//! a caller that shows errors to people who may not see the values should withhold them). Value strings and the output buffer are zeroized when dropped
//! (including when the output grows); intermediate copies made inside some functions are not.
//!
//! # What this crate owns
//!
//! The template language and its function library, nothing else: it depends on no other crate of
//! this project and knows nothing about Kubernetes or Sealed Secrets; only the controller uses it.

mod error;
mod exec;
mod fmt;
mod funcs;
mod gotime;
mod lexer;
mod limits;
mod literal;
mod parse;
mod strconv;
mod value;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

pub use error::TemplateError;

use value::{Elem, Value};

/// The resources a [`Session`] may spend, over all the templates it renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Evaluation steps.
    pub steps: usize,
    /// Bytes of strings, lists and maps the functions may produce (what the values hold in
    /// memory; values are shared and kept until the render ends).
    pub value_bytes: usize,
    /// Bytes of output of all templates together.
    pub output_bytes: usize,
    /// Wall-clock time from the session's start; `None` for no time limit.
    pub time: Option<Duration>,
}

impl Default for Limits {
    /// One template's worth: 2 000 000 steps, 64 MiB of values, 1 MiB of output, no time limit.
    fn default() -> Self {
        Limits {
            steps: 2_000_000,
            value_bytes: 64 << 20,
            output_bytes: 1 << 20,
            time: None,
        }
    }
}

/// What is left of [`Limits`] while templates render.
#[derive(Debug, Clone)]
pub struct Budget {
    limits: Limits,
    steps: usize,
    bytes: usize,
    output: usize,
    deadline: Option<Instant>,
}

impl Budget {
    /// A fresh budget; the time limit runs from now.
    pub fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            steps: 0,
            bytes: 0,
            output: 0,
            deadline: limits.time.map(|t| Instant::now() + t),
        }
    }

    /// A budget with nothing left (what a context holds after giving its budget back).
    fn spent() -> Budget {
        Budget::new(Limits {
            steps: 0,
            value_bytes: 0,
            output_bytes: 0,
            time: None,
        })
    }

    /// Evaluation steps spent so far.
    pub fn steps_spent(&self) -> usize {
        self.steps
    }

    fn output_left(&self) -> usize {
        self.limits.output_bytes.saturating_sub(self.output)
    }

    fn spend_output(&mut self, n: usize) {
        self.output = self.output.saturating_add(n);
    }

    fn check_clock(&self) -> Result<(), funcs::Fail> {
        match (self.deadline, self.limits.time) {
            (Some(deadline), Some(time)) if Instant::now() > deadline => Err(funcs::Fail::Limit(
                "time (milliseconds)",
                usize::try_from(time.as_millis()).unwrap_or(usize::MAX),
            )),
            _ => Ok(()),
        }
    }
}

/// Renders several templates against the same values within one shared [`Budget`].
///
/// ```
/// use std::collections::BTreeMap;
/// use go_template::{Limits, Session};
///
/// let data = BTreeMap::from([("user".to_string(), b"admin".to_vec())]);
/// let mut session = Session::new(Limits::default());
/// let a = session.render_bytes("{{ .user }}", &data).unwrap();
/// let b = session.render_bytes("{{ .user | upper }}", &data).unwrap();
/// assert_eq!((&a[..], &b[..]), (&b"admin"[..], &b"ADMIN"[..]));
/// ```
#[derive(Debug)]
pub struct Session {
    budget: Budget,
}

impl Session {
    /// A session with a fresh budget of `limits`.
    pub fn new(limits: Limits) -> Session {
        Session {
            budget: Budget::new(limits),
        }
    }

    /// What is left of the budget.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Renders one template, charging the session's budget.
    ///
    /// # Errors
    ///
    /// As [`render`]; a [`TemplateError::LimitExceeded`] once the shared budget is spent.
    pub fn render_bytes(
        &mut self,
        template: &str,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
        let tree = parse(template)?;
        self.render_parsed(template, &tree, data)
    }

    /// Renders a template parsed with [`parse()`].
    ///
    /// # Errors
    ///
    /// As [`Session::render_bytes`], without the parse errors.
    pub fn render_parsed(
        &mut self,
        template: &str,
        tree: &Parsed,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
        let budget = std::mem::replace(&mut self.budget, Budget::spent());
        let mut ctx = funcs::Ctx::with_budget(budget);
        let result = run(
            template,
            &tree.0,
            data.iter().map(|(k, v)| (k, v.as_slice())),
            &mut ctx,
        );
        self.budget = ctx.into_budget();
        result
    }
}

/// A parsed template, ready to render ([`parse()`]).
pub struct Parsed(parse::Tree);

impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Parsed(..)")
    }
}

/// Parses a template without rendering it. Parsing reads nothing but the template text, so its
/// errors depend on that text alone (never on the values it would render).
///
/// # Errors
///
/// [`TemplateError`] when the template is not valid: a syntax error, an unknown or unsupported
/// function, too deep nesting.
pub fn parse(template: &str) -> Result<Parsed, TemplateError> {
    parse::parse(template).map(Parsed)
}

/// Renders one Go `text/template` against the decrypted values (item key → plaintext string),
/// with the default [`Limits`].
///
/// # Errors
///
/// [`TemplateError`] when the template does not parse, fails while executing, or exceeds a
/// resource limit.
pub fn render(
    template: &str,
    data: &BTreeMap<String, String>,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    let data: BTreeMap<String, Vec<u8>> = data
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    let data = ZeroizeValues(data);
    render_bytes(template, &data.0)
}

/// Like [`render`], for values that are arbitrary bytes (Go strings are byte strings, and
/// decrypted Secret values need not be UTF-8).
///
/// # Errors
///
/// As [`render`].
pub fn render_bytes(
    template: &str,
    data: &BTreeMap<String, Vec<u8>>,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    Session::new(Limits::default()).render_bytes(template, data)
}

/// A map of values wiped when dropped.
struct ZeroizeValues(BTreeMap<String, Vec<u8>>);

impl Drop for ZeroizeValues {
    fn drop(&mut self) {
        for v in self.0.values_mut() {
            zeroize::Zeroize::zeroize(v);
        }
    }
}

fn run<'a>(
    template: &str,
    tree: &parse::Tree,
    data: impl Iterator<Item = (&'a String, &'a [u8])>,
    ctx: &mut funcs::Ctx,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    let entries: BTreeMap<String, Value> = data
        .map(|(k, v)| (k.clone(), Value::bytes(v.to_vec())))
        .collect();
    // Each render gets its own copy of the values: charge for it, so that many templates over
    // large values cannot cost more than the budget allows.
    let copied: usize = entries.values().map(Value::shallow_size).sum();
    let root = ctx.new_map(entries, Elem::Str);
    ctx.charge(1)
        .and_then(|()| ctx.charge_bytes(copied))
        .map_err(|f| exec::limit_error(template, f))?;
    exec::execute(template, tree, root, ctx)
}

#[cfg(test)]
mod tests;
