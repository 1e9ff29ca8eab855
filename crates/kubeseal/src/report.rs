//! How errors reach the user: `error: <what went wrong>` on stderr, then `hint: <what to do>`
//! when there is something useful to say, and exit status 1. (Usage errors are clap's, status 2.)
//!
//! A hint travels inside the error chain as a [`Hinted`] layer that is invisible in the message
//! itself: it displays as the error it wraps and forwards `source()`, so `{:#}` prints the
//! same chain with or without a hint.

use std::error::Error as StdError;
use std::fmt;
use std::io::Write;
use std::process::ExitCode;

/// An error with a suggestion for the user.
#[derive(Debug)]
pub struct Hinted {
    inner: anyhow::Error,
    hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the wrapped error's own message; its sources follow through `source()`.
        fmt::Display::fmt(&self.inner, f)
    }
}

impl StdError for Hinted {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.source()
    }
}

/// Attaches a hint to an error.
pub fn hinted(err: impl Into<anyhow::Error>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        inner: err.into(),
        hint: hint.into(),
    })
}

/// A plain error message with a hint.
pub fn message_with_hint(message: impl fmt::Display, hint: impl Into<String>) -> anyhow::Error {
    hinted(anyhow::anyhow!("{message}"), hint)
}

/// `.hint(...)` on results.
pub trait HintExt<T> {
    /// Attaches `hint` to the error, if any.
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> HintExt<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| hinted(e, hint))
    }
}

/// The first hint in the chain, outermost first.
fn hint_of(err: &anyhow::Error) -> Option<&str> {
    err.chain()
        .find_map(|e| e.downcast_ref::<Hinted>())
        .map(|h| h.hint.as_str())
}

/// Prints the outcome and returns the exit status. A closed stdout (`kubeseal | head`) is not
/// an error.
pub fn exit(result: anyhow::Result<()>) -> ExitCode {
    let Err(err) = result else {
        return ExitCode::SUCCESS;
    };
    let broken_pipe = err
        .chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {err:#}");
    if let Some(hint) = hint_of(&err) {
        let _ = writeln!(stderr, "hint: {hint}");
    }
    ExitCode::FAILURE
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn hint_is_outside_the_message() {
        let inner: anyhow::Result<()> = Err(anyhow::anyhow!("root cause"));
        let err = inner
            .context("middle")
            .hint("do this")
            .context("outer")
            .unwrap_err();
        assert_eq!(format!("{err:#}"), "outer: middle: root cause");
        assert_eq!(hint_of(&err), Some("do this"));
        let plain = anyhow::anyhow!("x");
        assert_eq!(hint_of(&plain), None);
    }
}
