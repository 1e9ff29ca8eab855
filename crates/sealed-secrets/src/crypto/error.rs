//! Why a value could not be encrypted or decrypted.
//!
//! Messages name the check that failed and the sizes involved, never plaintext, session keys or
//! key material.

/// Why [`hybrid_encrypt`](crate::hybrid::hybrid_encrypt) or [`hybrid_decrypt`](crate::hybrid::hybrid_decrypt)
/// failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The ciphertext is shorter than the 2-byte length prefix.
    #[error("ciphertext is too short: {len} bytes, need at least 2")]
    TooShort {
        /// Length of the ciphertext.
        len: usize,
    },
    /// The length prefix announces more RSA ciphertext than the input holds (truncated input).
    #[error(
        "length prefix {prefix} runs past the end of the ciphertext ({available} bytes follow it)"
    )]
    LengthPrefixPastEnd {
        /// The RSA ciphertext length the prefix announces.
        prefix: usize,
        /// Bytes after the prefix.
        available: usize,
    },
    /// The length prefix is not the key's modulus size: the value was sealed with a key of
    /// another size, or the prefix is corrupt.
    #[error(
        "rsa ciphertext is {prefix} bytes but the key's modulus is {modulus_len} bytes (sealed with another key?)"
    )]
    RsaCiphertextSize {
        /// The RSA ciphertext length the prefix announces.
        prefix: usize,
        /// The decryption key's modulus size in bytes.
        modulus_len: usize,
    },
    /// After the RSA ciphertext there are fewer bytes than the 16-byte GCM tag (truncated input).
    #[error("aes-gcm ciphertext is {len} bytes, shorter than its 16-byte tag")]
    AesCiphertextTooShort {
        /// Bytes after the RSA ciphertext.
        len: usize,
    },
    /// RSA-OAEP decryption failed: the value was sealed for another key or another scope label
    /// (namespace, name or scope changed), or the RSA ciphertext is corrupt.
    #[error("rsa-oaep decryption failed: wrong key or wrong scope label")]
    RsaDecrypt,
    /// RSA-OAEP decryption succeeded but did not yield a 32-byte AES-256 session key.
    #[error("decrypted session key is {len} bytes, expected 32")]
    SessionKeySize {
        /// Length of the decrypted session key.
        len: usize,
    },
    /// AES-GCM authentication failed: the AES ciphertext or its tag was modified.
    #[error("aes-gcm authentication failed: the ciphertext was modified")]
    AesOpen,
    /// The random number generator failed to produce the session key.
    #[error("random number generator failed")]
    Rng(#[source] rand_core::Error),
    /// The backend failed to RSA-OAEP encrypt the session key.
    #[error("rsa-oaep encryption failed in the {backend} backend")]
    RsaEncrypt {
        /// The backend's name.
        backend: &'static str,
    },
    /// The backend failed to AES-GCM encrypt the plaintext.
    #[error("aes-gcm encryption failed in the {backend} backend")]
    AesSeal {
        /// The backend's name.
        backend: &'static str,
    },
    /// The `rust-crypto` backend only accepts UTF-8 OAEP labels (scope labels always are).
    #[error("the rust-crypto backend needs a utf-8 oaep label")]
    LabelNotUtf8,
}

impl CryptoError {
    /// A short stable name for the variant, for metrics labels and test vectors
    /// (`too-short`, `length-prefix-past-end`, `rsa-ciphertext-size`, `aes-ciphertext-too-short`,
    /// `rsa-decrypt`, `session-key-size`, `aes-open`, `rng`, `rsa-encrypt`, `aes-seal`,
    /// `label-not-utf8`).
    pub fn kind(&self) -> &'static str {
        match self {
            CryptoError::TooShort { .. } => "too-short",
            CryptoError::LengthPrefixPastEnd { .. } => "length-prefix-past-end",
            CryptoError::RsaCiphertextSize { .. } => "rsa-ciphertext-size",
            CryptoError::AesCiphertextTooShort { .. } => "aes-ciphertext-too-short",
            CryptoError::RsaDecrypt => "rsa-decrypt",
            CryptoError::SessionKeySize { .. } => "session-key-size",
            CryptoError::AesOpen => "aes-open",
            CryptoError::Rng(_) => "rng",
            CryptoError::RsaEncrypt { .. } => "rsa-encrypt",
            CryptoError::AesSeal { .. } => "aes-seal",
            CryptoError::LabelNotUtf8 => "label-not-utf8",
        }
    }
}

/// Why a backend refused key material (mapped to [`crate::keys::KeyError`] by the key types).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyMaterialError {
    /// The backend rejected a key (a reason without key material).
    #[error("the {backend} backend rejected the key: {reason}")]
    Rejected {
        /// The backend's name.
        backend: &'static str,
        /// Its reason.
        reason: String,
    },
    /// The backend cannot generate a key of this size.
    #[error("the {backend} backend cannot generate {bits}-bit keys (it generates {supported})")]
    UnsupportedGenerateSize {
        /// The requested size in bits.
        bits: usize,
        /// The backend's name.
        backend: &'static str,
        /// The sizes it can generate.
        supported: &'static str,
    },
    /// Key generation failed.
    #[error("RSA key generation failed in the {backend} backend")]
    Generate {
        /// The backend's name.
        backend: &'static str,
    },
    /// Signing failed.
    #[error("certificate signing failed in the {backend} backend")]
    Sign {
        /// The backend's name.
        backend: &'static str,
    },
}
