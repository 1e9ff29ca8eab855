//! The Sealed Secrets format, compatible byte for byte with Bitnami Sealed Secrets v0.36.
//!
//! Use this crate to turn a Kubernetes `Secret` into a `SealedSecret` that is safe to store in Git
//! ([`seal()`]), and back ([`unseal()`]) with the controller's private keys. It does no I/O and
//! no async: the `kubeseal` CLI and the `sealed-secrets-controller` build on it.
//!
//! Data flow: `Secret` -> [`scope`] (which label binds the ciphertext) -> [`crypto`] (hybrid
//! RSA-OAEP + AES-256-GCM per value) -> [`SealedSecret`]; and back through [`unseal()`], which
//! renders `spec.template.data` with the template engine its caller passes ([`unseal::Templates`]).
//! Also here because both binaries need them: [`keys`] (key pairs, certificates, key Secrets),
//! [`manifest`] (reading Secret and SealedSecret documents), [`names`] (every wire-contract name:
//! annotations, labels, key Secret fields) and [`go_syntax`] (Go's spellings of booleans and durations).
//!
//! Owns the wire format and nothing else. Must not depend on a Kubernetes client, an async runtime,
//! the file system, the template engine (`go-template`: the controller passes it in) or either binary.

pub mod crypto;
pub mod go_syntax;
pub mod hybrid;
pub mod keys;
pub mod manifest;
pub mod names;
pub mod scope;
pub mod seal;
pub mod types;
pub mod unseal;

pub use scope::Scope;
pub use seal::{SealError, seal};
pub use types::{SealedSecret, SealedSecretSpec, SealedSecretStatus, SecretTemplateSpec};
pub use unseal::{UnsealError, UnsealOptions, UnsealedSecret, unseal};
