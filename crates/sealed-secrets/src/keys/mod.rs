//! RSA keys, their fingerprints, X.509 certificates and the controller's key Secrets.
//!
//! This module exists because keys cross three boundaries with fixed formats (docs/upstream-behavior.md, "Keys"):
//! the controller stores each key pair as a `kubernetes.io/tls` Secret (`tls.key` as a PKCS#1
//! `RSA PRIVATE KEY` PEM, `tls.crt` as a `CERTIFICATE` PEM); kubeseal reads the certificate to
//! seal; and bring-your-own keys arrive as PKCS#1 or PKCS#8 PEM from `openssl`.
//!
//! Parsing is backend-neutral (strict DER through the RustCrypto formats crates); each enabled
//! crypto [`Backend`](crate::crypto::Backend) then loads the key, so a key that parses is usable
//! by every backend. Keys are limited to 2048..=8192 bits (the range aws-lc accepts; upstream
//! also accepted 1024-bit keys).
//!
//! Certificate parsing is deliberately lenient about content (empty subject, `encipherOnly`
//! key usage, any validity): nothing verifies these certificates, only their public key and
//! validity period are read.

mod cert;
mod error;
mod fingerprint;
mod pem;
mod private;
mod public;
mod secret;

pub use cert::Certificate;
pub use error::KeyError;
pub use fingerprint::Fingerprint;
pub use private::PrivateKey;
pub use public::PublicKey;
pub use secret::{from_key_secret, to_key_secret};

/// Smallest accepted RSA modulus, in bits.
pub const MIN_KEY_BITS: usize = 2048;
pub use crate::crypto::MAX_KEY_BITS;

/// rsaEncryption (RFC 8017 A.1), the algorithm of RSA keys in SPKI and PKCS#8.
const RSA_ENCRYPTION: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// A readable name for a public-key algorithm OID, for "expected RSA ... but found ..." errors.
fn algorithm_name(oid: &der::asn1::ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "rsa".to_owned(),
        "1.2.840.113549.1.1.10" => "rsa-pss".to_owned(),
        "1.2.840.10045.2.1" => "ecdsa".to_owned(),
        "1.3.101.110" => "x25519".to_owned(),
        "1.3.101.111" => "x448".to_owned(),
        "1.3.101.112" => "ed25519".to_owned(),
        "1.3.101.113" => "ed448".to_owned(),
        "1.2.840.10040.4.1" => "dsa".to_owned(),
        other => format!("unknown algorithm {other}"),
    }
}

#[cfg(test)]
mod tests;
