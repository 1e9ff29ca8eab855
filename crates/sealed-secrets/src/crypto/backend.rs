//! Which library performs the primitives, and the dispatch to it.
//!
//! Exists so that callers (and tests) can pick a backend at run time while each backend's code
//! stays in its own module (`crypto::aws_lc`, `crypto::rust_crypto`, each behind its feature).

use std::fmt;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{CryptoError, SESSION_KEY_LEN, TAG_LEN};

/// The backend handles of an RSA public key (implemented by [`crate::keys::PublicKey`]).
pub(crate) trait PublicHandles {
    /// The key loaded by aws-lc.
    #[cfg(feature = "aws-lc")]
    fn aws_lc(&self) -> &super::aws_lc::PublicHandle;
    /// The key loaded by the RustCrypto crates.
    #[cfg(feature = "rust-crypto")]
    fn rust_crypto(&self) -> &super::rust_crypto::PublicHandle;
}

/// The backend handles of an RSA private key (implemented by [`crate::keys::PrivateKey`]).
pub(crate) trait PrivateHandles {
    /// The key loaded by aws-lc.
    #[cfg(feature = "aws-lc")]
    fn aws_lc(&self) -> &super::aws_lc::PrivateHandle;
    /// The key loaded by the RustCrypto crates.
    #[cfg(feature = "rust-crypto")]
    fn rust_crypto(&self) -> &super::rust_crypto::PrivateHandle;
}

/// A crypto library implementing RSA-OAEP, AES-256-GCM, RSA key generation and PKCS#1 v1.5
/// signing. Only the backends whose cargo feature is enabled exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Backend {
    /// aws-lc-rs (feature `aws-lc`, the default): constant-time RSA, FIPS-capable.
    #[cfg(feature = "aws-lc")]
    AwsLc,
    /// The pure-Rust RustCrypto crates `rsa` and `aes-gcm` (feature `rust-crypto`).
    #[cfg(feature = "rust-crypto")]
    RustCrypto,
}

impl Backend {
    /// Every backend compiled into this build, the default first.
    pub const ALL: &'static [Backend] = &[
        #[cfg(feature = "aws-lc")]
        Backend::AwsLc,
        #[cfg(feature = "rust-crypto")]
        Backend::RustCrypto,
    ];

    /// The backend's cargo feature name: `aws-lc` or `rust-crypto`.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => "aws-lc",
            #[cfg(feature = "rust-crypto")]
            Backend::RustCrypto => "rust-crypto",
        }
    }

    /// RSA-OAEP (SHA-256, MGF1-SHA-256) encryption of `msg` under `key` with `label`.
    pub(crate) fn oaep_encrypt<R: CryptoRngCore + ?Sized>(
        self,
        rng: &mut R,
        key: &dyn PublicHandles,
        msg: &[u8],
        label: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => {
                let _ = rng; // aws-lc draws the OAEP seed from its own generator.
                super::aws_lc::oaep_encrypt(key.aws_lc(), msg, label)
            }
            #[cfg(feature = "rust-crypto")]
            Backend::RustCrypto => {
                super::rust_crypto::oaep_encrypt(rng, key.rust_crypto(), msg, label)
            }
        }
    }

    /// RSA-OAEP (SHA-256, MGF1-SHA-256) decryption of `ciphertext` with `key` and `label`.
    pub(crate) fn oaep_decrypt(
        self,
        key: &dyn PrivateHandles,
        ciphertext: &[u8],
        label: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => super::aws_lc::oaep_decrypt(key.aws_lc(), ciphertext, label),
            #[cfg(feature = "rust-crypto")]
            Backend::RustCrypto => {
                super::rust_crypto::oaep_decrypt(key.rust_crypto(), ciphertext, label)
            }
        }
    }

    /// AES-256-GCM encryption of `buf` in place (zero nonce, no AAD); returns the tag.
    pub(crate) fn gcm_seal_in_place(
        self,
        key: &[u8; SESSION_KEY_LEN],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => super::aws_lc::gcm_seal_in_place(key, buf),
            #[cfg(feature = "rust-crypto")]
            Backend::RustCrypto => super::rust_crypto::gcm_seal_in_place(key, buf),
        }
    }

    /// AES-256-GCM decryption of `buf` in place (zero nonce, no AAD), checking `tag`.
    pub(crate) fn gcm_open_in_place(
        self,
        key: &[u8; SESSION_KEY_LEN],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), CryptoError> {
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => super::aws_lc::gcm_open_in_place(key, buf, tag),
            #[cfg(feature = "rust-crypto")]
            Backend::RustCrypto => super::rust_crypto::gcm_open_in_place(key, buf, tag),
        }
    }
}

impl Default for Backend {
    /// `AwsLc` when the `aws-lc` feature is enabled, otherwise `RustCrypto`.
    fn default() -> Self {
        Backend::ALL[0]
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
