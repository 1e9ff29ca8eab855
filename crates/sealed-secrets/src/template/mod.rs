//! Renders `spec.template.data` entries the way the Sealed Secrets controller does: as Go
//! `text/template` templates with the Sprig v3 generic function map minus `env`, `expandenv`
//! and `getHostByName`, executed with `.` bound to the map *item key → decrypted value*.
//!
//! ```
//! use std::collections::BTreeMap;
//! use sealed_secrets::template::render;
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
//! A template is untrusted input to the controller. Rendering is bounded: output 1 MiB, any
//! one string 1 MiB, all values produced 64 MiB, lists 100 000 elements, 2 000 000
//! evaluation steps (nodes, calls, loop iterations; a bcrypt hash costs 100 000), and 64
//! levels of nesting (parentheses, control structures, `template` calls, nested values).
//! Exceeding one is
//! [`TemplateError::LimitExceeded`]; no input panics.
//!
//! # Why a new interpreter
//!
//! The crates.io `gtmpl` 0.7 crate implements Go templates but is only passively maintained,
//! spawns a thread per lexer, has no way to bound execution (a `range` over a huge list or a
//! recursive `template` runs unchecked), keeps values in non-zeroizing types and would need
//! all of Sprig added anyway. This module is a small, bounded, zeroizing interpreter written
//! against the Go documentation and checked against Go 1.26 `text/template` + Sprig 3.3.0
//! outputs (see `tests/template/*.toml`).
//!
//! # Secrets
//!
//! The values are decrypted secrets. Error messages name positions, the template's own text and
//! function names, never a value. Value strings and the output buffer are zeroized when dropped
//! (including when the output grows); intermediate copies made inside some functions are not.

mod error;
mod exec;
mod fmt;
mod funcs;
mod lexer;
mod literal;
mod parse;
mod strconv;
mod value;

use std::collections::BTreeMap;

use zeroize::Zeroizing;

pub use error::TemplateError;

use value::{Elem, Value};

/// Renders one Go `text/template` against the decrypted values (item key → plaintext string).
///
/// # Errors
///
/// [`TemplateError`] when the template does not parse, fails while executing, or exceeds a
/// resource limit.
pub fn render(
    template: &str,
    data: &BTreeMap<String, String>,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    render_with(template, data.iter().map(|(k, v)| (k, v.as_bytes())))
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
    render_with(template, data.iter().map(|(k, v)| (k, v.as_slice())))
}

fn render_with<'a>(
    template: &str,
    data: impl Iterator<Item = (&'a String, &'a [u8])>,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    let tree = parse::parse(template)?;
    let mut ctx = funcs::Ctx::new();
    run(template, &tree, data, &mut ctx)
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
    let root = ctx.new_map(entries, Elem::Str);
    exec::execute(template, tree, root, ctx)
}

#[cfg(test)]
mod tests;
