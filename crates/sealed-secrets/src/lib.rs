//! The Sealed Secrets format, compatible byte for byte with Bitnami Sealed Secrets v0.36.
//!
//! Use this crate to turn a Kubernetes `Secret` into a `SealedSecret` that is safe to store in Git
//! ([`seal()`]), and back ([`unseal()`]) with the controller's private keys. It does no I/O and
//! no async: the `kubeseal` CLI and the `sealed-secrets-controller` build on it.
//!
//! Data flow: `Secret` -> [`scope`] (which label binds the ciphertext) -> [`crypto`] (hybrid
//! RSA-OAEP + AES-256-GCM per value) -> [`SealedSecret`]; and back through [`unseal()`], which
//! renders `spec.template.data` with the template engine its caller passes ([`unseal::Templates`]).

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
