//! RSA private keys: what the controller unseals with.

use std::fmt;
use std::sync::Arc;

use der::Decode;
use zeroize::Zeroizing;

use super::{Fingerprint, KeyError, PublicKey, algorithm_name, pem};
use crate::crypto::Backend;

/// PEM type of a PKCS#1 private key, as upstream writes `tls.key`.
const PKCS1_PEM_LABEL: &str = "RSA PRIVATE KEY";
/// PEM type of a PKCS#8 private key.
const PKCS8_PEM_LABEL: &str = "PRIVATE KEY";
/// PEM type of a SEC 1 EC private key.
const EC_PEM_LABEL: &str = "EC PRIVATE KEY";

/// A two-prime RSA private key (2048 to 8192 bits), loaded into every enabled crypto backend.
///
/// Cloning is cheap (shared); the key material is zeroized when the last clone is dropped.
/// `Debug` prints only the fingerprint.
#[derive(Clone)]
pub struct PrivateKey(Arc<Inner>);

struct Inner {
    public: PublicKey,
    /// PKCS#1 `RSAPrivateKey` DER, zeroized on drop.
    pkcs1_der: Zeroizing<Vec<u8>>,
    #[cfg(feature = "aws-lc")]
    aws_lc: crate::crypto::aws_lc::PrivateHandle,
    #[cfg(feature = "rust-crypto")]
    rust_crypto: crate::crypto::rust_crypto::PrivateHandle,
}

impl PrivateKey {
    /// Generates a new key of `bits` with the default [`Backend`] (upstream's default is 4096).
    ///
    /// # Errors
    /// [`KeyError::UnsupportedGenerateSize`] (aws-lc generates 2048, 3072, 4096 or 8192 bits),
    /// [`KeyError::UnsupportedKeySize`] outside 2048..=8192, [`KeyError::Generate`].
    pub fn generate(bits: usize) -> Result<PrivateKey, KeyError> {
        PrivateKey::generate_with(Backend::default(), bits)
    }

    /// Generates a new key of `bits` with `backend`.
    ///
    /// # Errors
    /// As [`PrivateKey::generate`].
    pub fn generate_with(backend: Backend, bits: usize) -> Result<PrivateKey, KeyError> {
        if !(super::MIN_KEY_BITS..=super::MAX_KEY_BITS).contains(&bits) {
            return Err(KeyError::UnsupportedKeySize { bits });
        }
        match backend {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => {
                PrivateKey::from_pkcs8_der(&crate::crypto::aws_lc::generate_pkcs8(bits)?)
            }
            #[cfg(feature = "rust-crypto")]
            Backend::RustCrypto => {
                PrivateKey::from_pkcs1_der(&crate::crypto::rust_crypto::generate_pkcs1(bits)?)
            }
        }
    }

    /// Reads the first PEM block that parses as a private key, as upstream reads `tls.key`:
    /// `RSA PRIVATE KEY` (PKCS#1) or `PRIVATE KEY` (PKCS#8); other blocks and text are skipped.
    ///
    /// # Errors
    /// [`KeyError::NotRsaPrivateKey`] if the first private key found is EC, Ed25519, ...;
    /// the decoding error of the first malformed key block if none parses;
    /// [`KeyError::NoPrivateKey`] if there is no private key block at all.
    pub fn from_pem(pem: &[u8]) -> Result<PrivateKey, KeyError> {
        let mut first_error = None;
        for block in pem::blocks(pem) {
            let parsed = match block.label.as_str() {
                PKCS1_PEM_LABEL => PrivateKey::from_pkcs1_der(&block.der),
                PKCS8_PEM_LABEL => PrivateKey::from_pkcs8_der(&block.der),
                EC_PEM_LABEL => match der::asn1::AnyRef::from_der(&block.der) {
                    Ok(_) => Err(KeyError::NotRsaPrivateKey {
                        found: "ecdsa".to_owned(),
                    }),
                    Err(source) => Err(KeyError::Malformed {
                        what: "ec private key",
                        source,
                    }),
                },
                _ => continue,
            };
            match parsed {
                Err(e @ (KeyError::Malformed { .. } | KeyError::MultiPrime)) => {
                    first_error.get_or_insert(e);
                }
                // A key that decoded is the answer, usable or not.
                other => return other,
            }
        }
        Err(first_error.unwrap_or(KeyError::NoPrivateKey))
    }

    /// Parses a PKCS#1 `RSAPrivateKey` DER (RFC 8017 A.1.2), two primes only.
    ///
    /// # Errors
    /// [`KeyError::Malformed`], [`KeyError::MultiPrime`], [`KeyError::UnsupportedKeySize`],
    /// [`KeyError::BackendRejected`] (inconsistent key).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let key = pkcs1::RsaPrivateKey::from_der(der).map_err(|source| KeyError::Malformed {
            what: "pkcs#1 rsa private key",
            source,
        })?;
        if key.other_prime_infos.is_some() {
            return Err(KeyError::MultiPrime);
        }
        let public =
            PublicKey::from_components(key.modulus.as_bytes(), key.public_exponent.as_bytes())?;
        #[cfg(feature = "aws-lc")]
        let aws_lc = crate::crypto::aws_lc::load_private(&pkcs8_der(der)?)?;
        #[cfg(feature = "rust-crypto")]
        let rust_crypto = crate::crypto::rust_crypto::load_private(&key)?;
        Ok(PrivateKey(Arc::new(Inner {
            public,
            pkcs1_der: Zeroizing::new(der.to_vec()),
            #[cfg(feature = "aws-lc")]
            aws_lc,
            #[cfg(feature = "rust-crypto")]
            rust_crypto,
        })))
    }

    /// Parses a PKCS#8 `PrivateKeyInfo` DER (RFC 5208) holding an RSA key.
    ///
    /// # Errors
    /// As [`PrivateKey::from_pkcs1_der`], and [`KeyError::NotRsaPrivateKey`] for other
    /// algorithms.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let info = pkcs8::PrivateKeyInfo::from_der(der).map_err(|source| KeyError::Malformed {
            what: "pkcs#8 private key",
            source,
        })?;
        if info.algorithm.oid != super::RSA_ENCRYPTION {
            return Err(KeyError::NotRsaPrivateKey {
                found: algorithm_name(&info.algorithm.oid),
            });
        }
        PrivateKey::from_pkcs1_der(info.private_key)
    }

    /// The PKCS#1 `RSAPrivateKey` DER.
    pub fn to_pkcs1_der(&self) -> Zeroizing<Vec<u8>> {
        self.0.pkcs1_der.clone()
    }

    /// The key as one `RSA PRIVATE KEY` PEM block (PKCS#1), as upstream writes `tls.key`.
    pub fn to_pkcs1_pem(&self) -> Zeroizing<String> {
        pem::encode(PKCS1_PEM_LABEL, &self.0.pkcs1_der)
    }

    /// The key's public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.0.public
    }

    /// The fingerprint of the key's public half.
    pub fn fingerprint(&self) -> Fingerprint {
        self.0.public.fingerprint()
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `msg`, with the default backend.
    pub(crate) fn sign_pkcs1_sha256(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let signature = match Backend::default() {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => crate::crypto::aws_lc::sign_pkcs1_sha256(&self.0.pkcs1_der, msg),
            #[cfg(feature = "rust-crypto")]
            Backend::RustCrypto => {
                crate::crypto::rust_crypto::sign_pkcs1_sha256(&self.0.rust_crypto, msg)
            }
        };
        Ok(signature?)
    }
}

impl crate::crypto::PrivateHandles for PrivateKey {
    #[cfg(feature = "aws-lc")]
    fn aws_lc(&self) -> &crate::crypto::aws_lc::PrivateHandle {
        &self.0.aws_lc
    }

    #[cfg(feature = "rust-crypto")]
    fn rust_crypto(&self) -> &crate::crypto::rust_crypto::PrivateHandle {
        &self.0.rust_crypto
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("fingerprint", &self.0.public.fingerprint().as_str())
            .finish_non_exhaustive()
    }
}

/// Wraps a PKCS#1 private key DER into a PKCS#8 `PrivateKeyInfo` DER (aws-lc loads only PKCS#8).
#[cfg(feature = "aws-lc")]
fn pkcs8_der(pkcs1_der: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let info = pkcs8::PrivateKeyInfo::new(
        spki::AlgorithmIdentifierRef {
            oid: super::RSA_ENCRYPTION,
            parameters: Some(der::asn1::AnyRef::NULL),
        },
        pkcs1_der,
    );
    let malformed = |source| KeyError::Malformed {
        what: "pkcs#8 private key",
        source,
    };
    // Allocated once at its final size: a growing buffer would leave copies of the key behind.
    let len = der::Encode::encoded_len(&info).map_err(malformed)?;
    let len = usize::try_from(u32::from(len)).unwrap_or(0);
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    der::Encode::encode_to_vec(&info, &mut out).map_err(malformed)?;
    Ok(out)
}
