//! Errors from reading manifest streams. None of them carries a secret value: decode problems
//! name the document, the object and the field, never the field's content.

use std::fmt;

use crate::keys::KeyError;

/// Where a document sits in a stream, for messages: `document 2`, `document 2, item 3` (an item
/// of a `kind: List`), plus the line the document starts on when it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// 1-based position of the document in the stream (`---` separated YAML documents or
    /// concatenated JSON objects).
    pub document: usize,
    /// 1-based position in the `items` of a `List`, when the object came from one.
    pub item: Option<usize>,
    /// 1-based line of the input on which the document starts.
    pub line: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {}", self.document)?;
        if let Some(item) = self.item {
            write!(f, ", item {item}")?;
        }
        write!(f, " (line {})", self.line)
    }
}

/// A reason a manifest stream or one of its documents could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The input is not UTF-8 text.
    #[error("input is not valid UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },

    /// A JSON document is malformed. The message is the parser's, which names a position but
    /// never the content.
    #[error("{position}: invalid JSON: {message}")]
    Json {
        /// The document.
        position: Position,
        /// What the parser found, with the absolute line and column.
        message: String,
    },

    /// A YAML document is malformed.
    #[error("{position}: invalid YAML: {message}")]
    Yaml {
        /// The document.
        position: Position,
        /// What the parser found, with the absolute line and column.
        message: String,
    },

    /// A document is valid JSON/YAML but not a Kubernetes object (a mapping).
    #[error("{position}: expected a Kubernetes object, found {found}")]
    NotAnObject {
        /// The document.
        position: Position,
        /// What was found instead: `a string`, `a list`, ...
        found: &'static str,
    },

    /// A document is an object of another kind than the one expected here.
    #[error("{position}: expected {expected}, found {object}")]
    UnexpectedKind {
        /// The document.
        position: Position,
        /// What this stream must hold: `a Secret` or `a SealedSecret`.
        expected: &'static str,
        /// The object found, as `kind apiVersion "name"`.
        object: String,
    },

    /// A field of a document has the wrong shape. Only the field's path and the JSON type that
    /// was found are reported, never the value.
    #[error("{position}: {object}: {field}: {problem}")]
    Field {
        /// The document.
        position: Position,
        /// The object, as `kind "namespace/name"`.
        object: String,
        /// The field path, e.g. `data.password` or `metadata`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A key-backup Secret has no `tls.key` item.
    #[error("{position}: {object}: secret must contain a 'tls.key' key")]
    MissingTlsKey {
        /// The document.
        position: Position,
        /// The Secret, as `Secret "namespace/name"`.
        object: String,
    },

    /// The `tls.key` of a key-backup Secret is not a usable private key.
    #[error("{position}: {object}: tls.key")]
    BadKey {
        /// The document.
        position: Position,
        /// The Secret, as `Secret "namespace/name"`.
        object: String,
        /// Why the key was rejected.
        #[source]
        source: Box<KeyError>,
    },

    /// A PEM file holds no usable private key.
    #[error("invalid PEM private key")]
    PemKey {
        /// Why the key was rejected.
        #[source]
        source: Box<KeyError>,
    },

    /// A private-key file is neither a PEM private key nor a stream of key Secrets.
    #[error(
        "no private key found: expected a PEM private key or key Secrets (YAML, JSON or a List)"
    )]
    NoPrivateKey,
}

impl ManifestError {
    /// The position of the document the error is about, if any.
    pub fn position(&self) -> Option<Position> {
        match self {
            ManifestError::NotUtf8 { .. }
            | ManifestError::PemKey { .. }
            | ManifestError::NoPrivateKey => None,
            ManifestError::Json { position, .. }
            | ManifestError::Yaml { position, .. }
            | ManifestError::NotAnObject { position, .. }
            | ManifestError::UnexpectedKind { position, .. }
            | ManifestError::Field { position, .. }
            | ManifestError::MissingTlsKey { position, .. }
            | ManifestError::BadKey { position, .. } => Some(*position),
        }
    }
}
