//! Why a key, certificate or key Secret could not be read or made.
//!
//! Messages say which input and which field was wrong; they never contain key material (DER
//! decoding errors carry only a tag and a byte position).

/// Why a key, certificate or key Secret operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No PEM block of type `RSA PRIVATE KEY`, `PRIVATE KEY` or `EC PRIVATE KEY` was found.
    #[error("data does not contain a valid rsa private key (no private key pem block)")]
    NoPrivateKey,
    /// The private key is of another algorithm (EC, Ed25519, ...); only RSA keys can seal.
    #[error("expected RSA private key but found {found}")]
    NotRsaPrivateKey {
        /// The algorithm found, e.g. `ecdsa`.
        found: String,
    },
    /// The certificate's public key is of another algorithm; only RSA keys can seal.
    #[error("expected RSA public key but found {found}")]
    NotRsaPublicKey {
        /// The algorithm found, e.g. `ecdsa`.
        found: String,
    },
    /// A DER structure (PKCS#1, PKCS#8, SubjectPublicKeyInfo, ...) did not decode.
    #[error("malformed {what}")]
    Malformed {
        /// What was being decoded, e.g. `pkcs#1 rsa private key`.
        what: &'static str,
        /// The DER decoding error (tag and position only).
        #[source]
        source: der::Error,
    },
    /// The PKCS#1 key has more than two primes.
    #[error("multi-prime rsa keys are not supported")]
    MultiPrime,
    /// The RSA modulus is outside 2048..=8192 bits.
    #[error("rsa key size {bits} bits is not supported: must be 2048 to 8192 bits")]
    UnsupportedKeySize {
        /// The modulus size in bits.
        bits: usize,
    },
    /// The backend cannot generate keys of this size.
    #[error("the {backend} backend cannot generate {bits}-bit rsa keys: use {supported}")]
    UnsupportedGenerateSize {
        /// The requested size in bits.
        bits: usize,
        /// The backend's name.
        backend: &'static str,
        /// The sizes it can generate.
        supported: &'static str,
    },
    /// A crypto backend refused a key that parsed (inconsistent CRT values, bad exponent, ...).
    #[error("the {backend} backend rejected the rsa key: {reason}")]
    BackendRejected {
        /// The backend's name.
        backend: &'static str,
        /// The backend's reason, without key material.
        reason: String,
    },
    /// RSA key generation failed.
    #[error("rsa key generation failed in the {backend} backend")]
    Generate {
        /// The backend's name.
        backend: &'static str,
    },
    /// Signing a certificate failed.
    #[error("certificate signing failed in the {backend} backend")]
    Sign {
        /// The backend's name.
        backend: &'static str,
    },
    /// The PEM data holds no `CERTIFICATE` block.
    #[error("data does not contain any valid RSA or ECDSA certificates")]
    NoCertificates,
    /// A `CERTIFICATE` block is not a valid X.509 certificate.
    #[error("malformed certificate (certificate {index} in the pem data)")]
    MalformedCertificate {
        /// 1-based position of the certificate among the `CERTIFICATE` blocks.
        index: usize,
        /// The DER decoding error.
        #[source]
        source: der::Error,
    },
    /// A certificate field could not be encoded (validity before 1970 or after 9999, a common
    /// name DER cannot hold, ...).
    #[error("cannot encode certificate {what}")]
    CertificateEncoding {
        /// Which field, e.g. `validity`.
        what: &'static str,
    },
    /// The key Secret lacks a field.
    #[error("secret {secret} has no {field}")]
    MissingSecretField {
        /// `namespace/name` of the Secret.
        secret: String,
        /// The missing data key: `tls.key` or `tls.crt`.
        field: &'static str,
    },
    /// A field of the key Secret is invalid.
    #[error("invalid {field} in secret {secret}")]
    InvalidSecretField {
        /// `namespace/name` of the Secret.
        secret: String,
        /// The data key: `tls.key` or `tls.crt`.
        field: &'static str,
        /// What was wrong with it.
        #[source]
        source: Box<KeyError>,
    },
}

impl From<crate::crypto::KeyMaterialError> for KeyError {
    fn from(error: crate::crypto::KeyMaterialError) -> Self {
        use crate::crypto::KeyMaterialError as E;
        match error {
            E::Rejected { backend, reason } => KeyError::BackendRejected { backend, reason },
            E::UnsupportedGenerateSize {
                bits,
                backend,
                supported,
            } => KeyError::UnsupportedGenerateSize {
                bits,
                backend,
                supported,
            },
            E::Generate { backend } => KeyError::Generate { backend },
            E::Sign { backend } => KeyError::Sign { backend },
        }
    }
}
