//! RSA public keys: what kubeseal seals to.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use der::asn1::{AnyRef, BitStringRef};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};

use super::{Fingerprint, KeyError, MAX_KEY_BITS, MIN_KEY_BITS, algorithm_name};

/// An RSA public key (2048 to 8192 bits), loaded into every enabled crypto backend.
///
/// Cloning is cheap (shared). Two keys are equal when their modulus and exponent are.
#[derive(Clone)]
pub struct PublicKey(Arc<Inner>);

struct Inner {
    /// Modulus, big-endian, no leading zero bytes.
    n: Vec<u8>,
    /// Public exponent, big-endian, no leading zero bytes.
    e: Vec<u8>,
    /// PKCS#1 `RSAPublicKey` DER.
    pkcs1_der: Vec<u8>,
    bits: usize,
    fingerprint: Fingerprint,
    #[cfg(feature = "aws-lc")]
    aws_lc: crate::crypto::aws_lc::PublicHandle,
    #[cfg(feature = "rust-crypto")]
    rust_crypto: crate::crypto::rust_crypto::PublicHandle,
}

impl PublicKey {
    /// Parses a PKCS#1 `RSAPublicKey` DER (RFC 8017 A.1.1).
    ///
    /// # Errors
    /// [`KeyError::Malformed`] for bad DER, [`KeyError::UnsupportedKeySize`] outside
    /// 2048..=8192 bits, [`KeyError::BackendRejected`] if a backend refuses the key.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let key = pkcs1::RsaPublicKey::from_der(der).map_err(|source| KeyError::Malformed {
            what: "pkcs#1 rsa public key",
            source,
        })?;
        PublicKey::from_components(key.modulus.as_bytes(), key.public_exponent.as_bytes())
    }

    /// Parses an X.509 `SubjectPublicKeyInfo` DER (RFC 5280 4.1.2.7) holding an RSA key.
    ///
    /// # Errors
    /// As [`PublicKey::from_pkcs1_der`], and [`KeyError::NotRsaPublicKey`] for other algorithms.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let spki =
            spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|source| KeyError::Malformed {
                what: "subject public key info",
                source,
            })?;
        if spki.algorithm.oid != super::RSA_ENCRYPTION {
            return Err(KeyError::NotRsaPublicKey {
                found: algorithm_name(&spki.algorithm.oid),
            });
        }
        let key = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyError::Malformed {
                what: "subject public key bit string",
                source: der::Tag::BitString.value_error(),
            })?;
        PublicKey::from_pkcs1_der(key)
    }

    /// Builds a key from its big-endian modulus and exponent (leading zeros allowed).
    pub(crate) fn from_components(n: &[u8], e: &[u8]) -> Result<PublicKey, KeyError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = bit_len(n);
        if !(MIN_KEY_BITS..=MAX_KEY_BITS).contains(&bits) {
            return Err(KeyError::UnsupportedKeySize { bits });
        }
        let malformed = |source| KeyError::Malformed {
            what: "rsa public key",
            source,
        };
        let pkcs1_der = pkcs1::RsaPublicKey {
            modulus: pkcs1::UintRef::new(n).map_err(malformed)?,
            public_exponent: pkcs1::UintRef::new(e).map_err(malformed)?,
        }
        .to_der()
        .map_err(malformed)?;
        #[cfg(feature = "aws-lc")]
        let aws_lc = crate::crypto::aws_lc::load_public(&spki_der(&pkcs1_der).map_err(malformed)?)?;
        #[cfg(feature = "rust-crypto")]
        let rust_crypto = crate::crypto::rust_crypto::load_public(n, e)?;
        Ok(PublicKey(Arc::new(Inner {
            fingerprint: fingerprint(n, e),
            n: n.to_vec(),
            e: e.to_vec(),
            pkcs1_der,
            bits,
            #[cfg(feature = "aws-lc")]
            aws_lc,
            #[cfg(feature = "rust-crypto")]
            rust_crypto,
        })))
    }

    /// The OpenSSH SHA-256 fingerprint (`SHA256:` + unpadded base64), upstream's key identity.
    pub fn fingerprint(&self) -> Fingerprint {
        self.0.fingerprint.clone()
    }

    /// Size of the modulus in bits (4096 for upstream's default keys).
    pub fn modulus_bits(&self) -> usize {
        self.0.bits
    }

    /// Size of the modulus in bytes: the length of every RSA ciphertext for this key.
    pub fn modulus_len(&self) -> usize {
        self.0.n.len()
    }

    /// The modulus, big-endian, without leading zero bytes.
    pub fn modulus(&self) -> &[u8] {
        &self.0.n
    }

    /// The public exponent, big-endian, without leading zero bytes.
    pub fn exponent(&self) -> &[u8] {
        &self.0.e
    }

    /// The PKCS#1 `RSAPublicKey` DER.
    pub fn to_pkcs1_der(&self) -> Vec<u8> {
        self.0.pkcs1_der.clone()
    }

    /// The X.509 `SubjectPublicKeyInfo` DER (`rsaEncryption`, NULL parameters).
    pub fn to_spki_der(&self) -> Vec<u8> {
        spki_der(&self.0.pkcs1_der).expect("a key that encoded as PKCS#1 also encodes as SPKI")
    }
}

impl crate::crypto::PublicHandles for PublicKey {
    #[cfg(feature = "aws-lc")]
    fn aws_lc(&self) -> &crate::crypto::aws_lc::PublicHandle {
        &self.0.aws_lc
    }

    #[cfg(feature = "rust-crypto")]
    fn rust_crypto(&self) -> &crate::crypto::rust_crypto::PublicHandle {
        &self.0.rust_crypto
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.n == other.0.n && self.0.e == other.0.e
    }
}

impl Eq for PublicKey {}

impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.n.hash(state);
        self.0.e.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.0.bits)
            .field("fingerprint", &self.0.fingerprint.as_str())
            .finish()
    }
}

/// Wraps a PKCS#1 public key DER into a SubjectPublicKeyInfo DER.
fn spki_der(pkcs1_der: &[u8]) -> der::Result<Vec<u8>> {
    spki::SubjectPublicKeyInfoRef {
        algorithm: spki::AlgorithmIdentifierRef {
            oid: super::RSA_ENCRYPTION,
            parameters: Some(AnyRef::NULL),
        },
        subject_public_key: BitStringRef::from_bytes(pkcs1_der)?,
    }
    .to_der()
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Bit length of a big-endian integer without leading zero bytes.
fn bit_len(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(&first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

/// `SHA256:` + unpadded base64 of SHA-256 over the SSH wire encoding of the key.
fn fingerprint(n: &[u8], e: &[u8]) -> Fingerprint {
    let mut hasher = Sha256::new();
    ssh_string(&mut hasher, b"ssh-rsa");
    ssh_mpint(&mut hasher, e);
    ssh_mpint(&mut hasher, n);
    Fingerprint::from(format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(hasher.finalize())
    ))
}

/// RFC 4251 `string`: u32 big-endian length, then the bytes.
fn ssh_string(hasher: &mut Sha256, bytes: &[u8]) {
    let len =
        u32::try_from(bytes.len()).expect("DER-decoded key components are far smaller than 4 GiB");
    hasher.update(len.to_be_bytes());
    hasher.update(bytes);
}

/// RFC 4251 `mpint` of a non-negative integer without leading zeros: a 0x00 byte is prepended
/// when the high bit is set, so it does not read as negative.
fn ssh_mpint(hasher: &mut Sha256, magnitude: &[u8]) {
    if magnitude.first().is_some_and(|&b| b & 0x80 != 0) {
        let len = u32::try_from(magnitude.len() + 1)
            .expect("DER-decoded key components are far smaller than 4 GiB");
        hasher.update(len.to_be_bytes());
        hasher.update([0u8]);
        hasher.update(magnitude);
    } else {
        ssh_string(hasher, magnitude);
    }
}
