//! The error returned by [`render`](super::render).
//!
//! Messages name what failed (the position in the template, the action's source text, the
//! function name) but never a value computed at run time: the values are decrypted secrets.

/// Why a template could not be rendered.
///
/// Positions are 1-based line and column (in characters) of the template text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template text is not a valid Go template (unclosed action, unexpected `{{end}}`,
    /// undefined variable, bad literal, ...).
    #[error("template: {line}:{column}: {message}")]
    Parse {
        /// Line of the offending token.
        line: usize,
        /// Column of the offending token.
        column: usize,
        /// What is wrong, built from the template text only.
        message: String,
    },
    /// The template calls a function that does not exist. `env`, `expandenv` and
    /// `getHostByName` are deliberately undefined, as in Sealed Secrets.
    #[error("template: {line}:{column}: function \"{name}\" not defined")]
    UndefinedFunction {
        /// Line of the call.
        line: usize,
        /// Column of the call.
        column: usize,
        /// The function name as written.
        name: String,
    },
    /// The template calls a Sprig function that this implementation does not provide (see the
    /// module documentation for the list).
    #[error(
        "template: {line}:{column}: function \"{name}\" is not supported by sealed-secrets-rs \
         (it is a Sprig function that this implementation does not provide)"
    )]
    UnsupportedFunction {
        /// Line of the call.
        line: usize,
        /// Column of the call.
        column: usize,
        /// The function name as written.
        name: String,
    },
    /// Evaluating an action failed (wrong argument type, field of a non-map, bad comparison, ...).
    #[error("template: {line}:{column}: executing at <{action}>: {message}")]
    Execute {
        /// Line of the failing node.
        line: usize,
        /// Column of the failing node.
        column: usize,
        /// Source text of the failing node (template text, not data), possibly shortened.
        action: String,
        /// What went wrong.
        message: String,
    },
    /// A function returned an error (for example `div` by zero, `fail`, a `must*` function).
    #[error(
        "template: {line}:{column}: executing at <{action}>: error calling {function}: {message}"
    )]
    Function {
        /// Line of the call.
        line: usize,
        /// Column of the call.
        column: usize,
        /// Source text of the failing node, possibly shortened.
        action: String,
        /// The function that failed.
        function: String,
        /// What went wrong, without argument values.
        message: String,
    },
    /// The template exceeded a resource limit that protects the controller (output size, value
    /// size, evaluation steps, nesting depth).
    #[error("template: {line}:{column}: {limit} limit exceeded (at most {max})")]
    LimitExceeded {
        /// Line of the node being evaluated when the limit was hit.
        line: usize,
        /// Column of that node.
        column: usize,
        /// Which limit: `output size`, `value size`, `evaluation steps`, `nesting depth`, ...
        limit: &'static str,
        /// The limit's value.
        max: usize,
    },
}

/// Why a function or evaluation step failed. Messages never contain runtime values.
#[derive(Debug)]
pub(crate) enum Fail {
    /// An evaluation error (Go's `s.errorf`).
    Exec(String),
    /// An error returned by a function (shown as `error calling NAME: ...`).
    Func(String),
    /// A resource limit was hit: which one, and its value.
    Limit(&'static str, usize),
}
