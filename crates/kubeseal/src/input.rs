//! Reading the input: `-f FILE` or stdin, whole, before anything is sealed or written.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Context, Result};
use sealed_secrets::manifest::ManifestError;
use zeroize::Zeroizing;

use crate::report::hinted;

/// Where the input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// `-f/--secret-file`.
    File(PathBuf),
}

impl Source {
    /// Reads all of the input. When stdin is a terminal, `tty_note` is printed to stderr first
    /// (as upstream does) so a user who forgot the input knows why kubeseal waits.
    pub fn read(&self, tty_note: &str) -> Result<Zeroizing<Vec<u8>>> {
        match self {
            Source::File(path) => read_file(path).with_context(|| {
                format!(
                    "Could not read file specified with --secret-file: {}",
                    path.display()
                )
            }),
            Source::Stdin => read_stdin(tty_note),
        }
    }
}

/// All of stdin; `note` goes to stderr first when stdin is a terminal.
pub fn read_stdin(note: &str) -> Result<Zeroizing<Vec<u8>>> {
    let stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        eprintln!("{note}");
    }
    read_all(stdin, 0).context("cannot read stdin")
}

/// All of a file, in a buffer zeroized when dropped (see [`read_all`]).
pub fn read_file(path: &std::path::Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata().map_or(0, |m| m.len());
    read_all(file, usize::try_from(size).unwrap_or(0))
}

/// Reads `reader` to its end into a buffer that is zeroized when dropped, and also every time it
/// grows (a plain `read_to_end` leaves the old, smaller copies of the input behind in freed memory).
pub fn read_all(mut reader: impl Read, size_hint: usize) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(size_hint.saturating_add(1).max(8192)));
    let mut chunk = Zeroizing::new([0u8; 8192]);
    loop {
        let n = match reader.read(&mut chunk[..]) {
            Ok(0) => return Ok(buf),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.len() + n > buf.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity((buf.len() + n).saturating_mul(2)));
            bigger.extend_from_slice(&buf);
            // The old buffer is zeroized as it is replaced.
            buf = bigger;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The note for Secret/SealedSecret input on a terminal.
pub const TTY_MANIFEST_NOTE: &str = "(tty detected: expecting json/yaml k8s resource in stdin)";
/// The note for `--raw` input on a terminal.
pub const TTY_RAW_NOTE: &str = "(tty detected: expecting a secret to encrypt in stdin)";

/// What a mode reads, for hints on manifest errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Secrets (sealing).
    Secrets,
    /// SealedSecrets, read by the mode flag named here (`--recovery-unseal`, `--validate`,
    /// `--re-encrypt`).
    SealedSecrets(&'static str),
}

/// A manifest error, with a hint where one helps.
pub fn manifest_error(err: ManifestError, expected: Expected) -> anyhow::Error {
    let hint: Option<String> = match (&err, expected) {
        (ManifestError::NotUtf8 { .. }, _) => Some("save the input as UTF-8 text".into()),
        (ManifestError::NotAnObject { .. }, _) => Some(
            "each document must be a Kubernetes object: a mapping with apiVersion, kind and metadata"
                .into(),
        ),
        (ManifestError::UnexpectedKind { .. }, Expected::Secrets) => Some(
            "kubeseal seals Secrets only: remove other objects from the input (to unseal SealedSecrets, use --recovery-unseal)"
                .into(),
        ),
        (ManifestError::UnexpectedKind { .. }, Expected::SealedSecrets(flag)) => {
            Some(format!("{flag} reads SealedSecrets, as written by kubeseal"))
        }
        (ManifestError::Field { field, problem, .. }, _)
            if field.starts_with("stringData.") && problem.starts_with("expected a string") =>
        {
            Some("quote the value: stringData values are strings".into())
        }
        _ => None,
    };
    match hint {
        Some(hint) => hinted(err, hint),
        None => err.into(),
    }
}
