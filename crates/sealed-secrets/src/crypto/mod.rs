//! The primitives of the format, behind two interchangeable [`Backend`]s: RSA-OAEP (SHA-256,
//! MGF1-SHA-256), AES-256-GCM with a zero nonce, RSA key generation and PKCS#1 v1.5 signing;
//! aws-lc-rs (feature `aws-lc`, the default: constant-time and about five times faster for
//! RSA-4096) and the pure-Rust RustCrypto crates (feature `rust-crypto`). They work on the key
//! handles the [`crate::keys`] types hold; how the primitives make one sealed value is
//! [`crate::hybrid`]'s.

#[cfg(not(any(feature = "aws-lc", feature = "rust-crypto")))]
compile_error!("sealed-secrets needs a crypto backend: enable feature `aws-lc` or `rust-crypto`");

#[cfg(feature = "aws-lc")]
pub(crate) mod aws_lc;
mod backend;
mod error;
#[cfg(feature = "rust-crypto")]
pub(crate) mod rust_crypto;

pub use backend::Backend;
pub(crate) use backend::{PrivateHandles, PublicHandles};
pub use error::{CryptoError, KeyMaterialError};

/// Size of the AES-256 session key, in bytes.
pub const SESSION_KEY_LEN: usize = 32;
/// Size of the AES-GCM nonce, in bytes; the nonce is always all zero.
pub const NONCE_LEN: usize = 12;
/// Size of the AES-GCM authentication tag appended to the AES ciphertext, in bytes.
pub const TAG_LEN: usize = 16;
/// Size of the big-endian length prefix in front of the RSA ciphertext, in bytes.
pub const LENGTH_PREFIX_LEN: usize = 2;
/// Largest RSA modulus any backend accepts, in bits.
pub const MAX_KEY_BITS: usize = 8192;
