//! Reading Kubernetes manifest streams: the input of `kubeseal` and of the controller's
//! `/v1/verify` and `/v1/rotate`.
//!
//! Use [`parse_secrets`] for sealing input, [`parse_sealed_secrets`] for unsealing, validation
//! and re-encryption input, [`parse_documents`] to see every object with its kind, and
//! [`parse_key_backup`] for `--recovery-private-key` files.
//!
//! A stream is any of: `---` separated YAML documents, concatenated JSON objects, JSON objects
//! followed by YAML, and each document may be a `kind: List` (or `SecretList`, ...) whose items
//! are read in order. Empty documents are skipped. Unlike upstream (docs/upstream-behavior.md, "kubeseal input"
//! and "JSON streams"), every other document must be an object of the expected kind: a bad or foreign
//! document is an error that names it by number, List item and line, and nothing is skipped
//! silently. A document with neither `apiVersion` nor `kind` is read as the expected kind, as
//! upstream does.
//!
//! No I/O; errors are typed ([`ManifestError`]) and never contain secret values.
//!
//! ```
//! use sealed_secrets::manifest::parse_secrets;
//!
//! let input = b"apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n  stringData: {k: v}\n\
//!               ---\n{\"kind\": \"Secret\", \"apiVersion\": \"v1\", \"metadata\": {\"name\": \"b\"}}\n";
//! let secrets = parse_secrets(input).unwrap();
//! assert_eq!(secrets.len(), 2);
//! assert_eq!(secrets[0].0.to_string(), "document 1, item 1 (line 1)");
//! assert_eq!(secrets[1].1.metadata.name.as_deref(), Some("b"));
//! ```

mod error;
mod object;
mod stream;

use k8s_openapi::api::core::v1::Secret;

pub use error::{ManifestError, Position};
pub use object::{Document, Object, Untyped};
pub use stream::{Format, detect_format};

use crate::keys::{KeyError, PrivateKey};
use crate::names::TLS_KEY;
use crate::types::SealedSecret;

/// Every non-empty document of `bytes`, Lists expanded, typed. Documents without `apiVersion`
/// and `kind` are read as `untyped` says.
pub fn parse_documents(bytes: &[u8], untyped: Untyped) -> Result<Vec<Document>, ManifestError> {
    object::type_documents(stream::documents(bytes)?, untyped)
}

/// Every Secret of `bytes`, in order. Any other object is an error naming it.
pub fn parse_secrets(bytes: &[u8]) -> Result<Vec<(Position, Secret)>, ManifestError> {
    parse_documents(bytes, Untyped::Secret)?
        .into_iter()
        .map(|doc| match doc.object {
            Object::Secret(secret) => Ok((doc.position, *secret)),
            other => Err(ManifestError::UnexpectedKind {
                position: doc.position,
                expected: "a Secret (apiVersion: v1, kind: Secret)",
                object: other.describe(),
            }),
        })
        .collect()
}

/// Every SealedSecret of `bytes`, in order. Any other object is an error naming it.
pub fn parse_sealed_secrets(bytes: &[u8]) -> Result<Vec<(Position, SealedSecret)>, ManifestError> {
    parse_documents(bytes, Untyped::SealedSecret)?
        .into_iter()
        .map(|doc| match doc.object {
            Object::SealedSecret(sealed) => Ok((doc.position, *sealed)),
            other => Err(ManifestError::UnexpectedKind {
                position: doc.position,
                expected: "a SealedSecret (apiVersion: bitnami.com/v1alpha1, kind: SealedSecret)",
                object: other.describe(),
            }),
        })
        .collect()
}

/// The private keys of a controller key backup.
///
/// Accepts a PEM private key (PKCS#1 or PKCS#8, the first private-key block), or a stream of
/// key Secrets (YAML, JSON, `List`s; every document is read, unlike upstream which read only
/// the first document when it was a List). Each Secret must hold `data["tls.key"]`.
pub fn parse_key_backup(bytes: &[u8]) -> Result<Vec<PrivateKey>, ManifestError> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("-----BEGIN ") {
        match PrivateKey::from_pem(bytes) {
            Ok(key) => return Ok(vec![key]),
            // A PEM file that is not a usable key; anything else may still be YAML with PEM inside.
            Err(source) if text.trim_start().starts_with("-----BEGIN ") => {
                return Err(ManifestError::PemKey {
                    source: Box::new(source),
                });
            }
            Err(_) => {}
        }
    }
    let mut keys = Vec::new();
    for doc in parse_documents(bytes, Untyped::Secret)? {
        let Object::Secret(secret) = doc.object else {
            return Err(ManifestError::UnexpectedKind {
                position: doc.position,
                expected: "a key Secret (kind: Secret with data[\"tls.key\"])",
                object: doc.object.describe(),
            });
        };
        let object = format!("Secret {}", object::quoted_name(&secret.metadata));
        let pem = secret
            .data
            .as_ref()
            .and_then(|d| d.get(TLS_KEY))
            .ok_or_else(|| ManifestError::MissingTlsKey {
                position: doc.position,
                object: object.clone(),
            })?;
        let key =
            PrivateKey::from_pem(&pem.0).map_err(|source: KeyError| ManifestError::BadKey {
                position: doc.position,
                object,
                source: Box::new(source),
            })?;
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(ManifestError::NoPrivateKey);
    }
    Ok(keys)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
