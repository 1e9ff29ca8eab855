//! The pure-Rust backend (feature `rust-crypto`): the RustCrypto `rsa` and `aes-gcm` crates.
//!
//! Exists for portable builds without a C toolchain. Every `rsa`/`aes-gcm` call lives here. The
//! `rsa` crate zeroizes private keys on drop, and RSA private operations are blinded. Its OAEP
//! takes the label as a `String`, so this backend accepts only UTF-8 labels (scope labels always
//! are: Kubernetes names are ASCII).

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use rand_core::{CryptoRngCore, OsRng};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::{BigUint, Oaep, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{CryptoError, NONCE_LEN, SESSION_KEY_LEN, TAG_LEN};
use super::{KeyMaterialError, MAX_KEY_BITS};

const NAME: &str = "rust-crypto";

/// An RSA public key loaded for OAEP encryption.
pub(crate) struct PublicHandle(RsaPublicKey);

/// An RSA private key loaded for OAEP decryption and signing.
pub(crate) struct PrivateHandle(RsaPrivateKey);

fn rejected(e: rsa::Error) -> KeyMaterialError {
    KeyMaterialError::Rejected {
        backend: NAME,
        reason: e.to_string(),
    }
}

/// Loads an RSA public key from its big-endian modulus and exponent.
pub(crate) fn load_public(n: &[u8], e: &[u8]) -> Result<PublicHandle, KeyMaterialError> {
    RsaPublicKey::new_with_max_size(
        BigUint::from_bytes_be(n),
        BigUint::from_bytes_be(e),
        MAX_KEY_BITS,
    )
    .map(PublicHandle)
    .map_err(rejected)
}

/// Loads (and validates) a two-prime RSA private key from its parsed PKCS#1 structure.
pub(crate) fn load_private(
    key: &pkcs1::RsaPrivateKey<'_>,
) -> Result<PrivateHandle, KeyMaterialError> {
    let uint = |u: pkcs1::UintRef<'_>| BigUint::from_bytes_be(u.as_bytes());
    RsaPrivateKey::from_components(
        uint(key.modulus),
        uint(key.public_exponent),
        uint(key.private_exponent),
        vec![uint(key.prime1), uint(key.prime2)],
    )
    .map(PrivateHandle)
    .map_err(rejected)
}

/// Generates an RSA key of `bits` with the OS generator and returns its PKCS#1 DER.
pub(crate) fn generate_pkcs1(bits: usize) -> Result<Zeroizing<Vec<u8>>, KeyMaterialError> {
    let key = RsaPrivateKey::new(&mut OsRng, bits)
        .map_err(|_| KeyMaterialError::Generate { backend: NAME })?;
    let der = key
        .to_pkcs1_der()
        .map_err(|_| KeyMaterialError::Generate { backend: NAME })?;
    Ok(der.to_bytes())
}

/// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2) over `msg`, blinded.
pub(crate) fn sign_pkcs1_sha256(
    key: &PrivateHandle,
    msg: &[u8],
) -> Result<Vec<u8>, KeyMaterialError> {
    key.0
        .sign_with_rng(
            &mut OsRng,
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(msg),
        )
        .map_err(|_| KeyMaterialError::Sign { backend: NAME })
}

/// OAEP parameters: SHA-256 for both the label hash and MGF1, with `label`.
fn oaep(label: &[u8]) -> Result<Oaep, CryptoError> {
    let label = std::str::from_utf8(label).map_err(|_| CryptoError::LabelNotUtf8)?;
    Ok(Oaep::new_with_label::<Sha256, _>(label))
}

/// RSA-OAEP encryption (SHA-256, MGF1-SHA-256, `label`) of `msg`; the seed comes from `rng`.
pub(crate) fn oaep_encrypt<R: CryptoRngCore + ?Sized>(
    mut rng: &mut R,
    key: &PublicHandle,
    msg: &[u8],
    label: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    key.0
        .encrypt(&mut rng, oaep(label)?, msg)
        .map_err(|_| CryptoError::RsaEncrypt { backend: NAME })
}

/// RSA-OAEP decryption (SHA-256, MGF1-SHA-256, `label`) of `ciphertext`, blinded.
pub(crate) fn oaep_decrypt(
    key: &PrivateHandle,
    ciphertext: &[u8],
    label: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    key.0
        .decrypt_blinded(&mut OsRng, oaep(label)?, ciphertext)
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::RsaDecrypt)
}

/// The all-zero GCM nonce; safe because each session key seals exactly one value.
const ZERO_NONCE: [u8; NONCE_LEN] = [0u8; NONCE_LEN];

/// AES-256-GCM encryption of `buf` in place, zero nonce, no AAD; returns the 16-byte tag.
pub(crate) fn gcm_seal_in_place(
    key: &[u8; SESSION_KEY_LEN],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], CryptoError> {
    let tag = Aes256Gcm::new(key.into())
        .encrypt_in_place_detached(Nonce::from_slice(&ZERO_NONCE), b"", buf)
        .map_err(|_| CryptoError::AesSeal { backend: NAME })?;
    Ok(tag.into())
}

/// AES-256-GCM decryption of `buf` in place, zero nonce, no AAD, checking `tag`.
pub(crate) fn gcm_open_in_place(
    key: &[u8; SESSION_KEY_LEN],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), CryptoError> {
    Aes256Gcm::new(key.into())
        .decrypt_in_place_detached(
            Nonce::from_slice(&ZERO_NONCE),
            b"",
            buf,
            Tag::from_slice(tag),
        )
        .map_err(|_| CryptoError::AesOpen)
}
