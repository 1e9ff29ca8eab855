//! The aws-lc-rs backend (feature `aws-lc`, the default).
//!
//! Exists to keep every aws-lc-rs call in one place: loading RSA keys, key generation, PKCS#1
//! v1.5 signing for certificates, RSA-OAEP and AES-256-GCM. aws-lc frees key material with
//! `OPENSSL_free`, which clears it; DER buffers it hands back are zeroized on drop.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use zeroize::Zeroizing;

use super::KeyMaterialError;
use super::{CryptoError, NONCE_LEN, SESSION_KEY_LEN, TAG_LEN};

const NAME: &str = "aws-lc";

/// An RSA public key loaded for OAEP encryption.
pub(crate) struct PublicHandle(OaepPublicEncryptingKey);

/// An RSA private key loaded for OAEP decryption.
pub(crate) struct PrivateHandle(OaepPrivateDecryptingKey);

/// Loads an RSA public key from its X.509 SubjectPublicKeyInfo DER.
pub(crate) fn load_public(spki_der: &[u8]) -> Result<PublicHandle, KeyMaterialError> {
    let key = PublicEncryptingKey::from_der(spki_der).map_err(|e| KeyMaterialError::Rejected {
        backend: NAME,
        reason: e.to_string(),
    })?;
    let key = OaepPublicEncryptingKey::new(key).map_err(|_| KeyMaterialError::Rejected {
        backend: NAME,
        reason: "cannot use the key for rsa-oaep".to_owned(),
    })?;
    Ok(PublicHandle(key))
}

/// Loads an RSA private key from its PKCS#8 DER.
pub(crate) fn load_private(pkcs8_der: &[u8]) -> Result<PrivateHandle, KeyMaterialError> {
    let key =
        PrivateDecryptingKey::from_pkcs8(pkcs8_der).map_err(|e| KeyMaterialError::Rejected {
            backend: NAME,
            reason: e.to_string(),
        })?;
    let key = OaepPrivateDecryptingKey::new(key).map_err(|_| KeyMaterialError::Rejected {
        backend: NAME,
        reason: "cannot use the key for rsa-oaep".to_owned(),
    })?;
    Ok(PrivateHandle(key))
}

/// Generates an RSA key of `bits` (2048, 3072, 4096 or 8192) and returns its PKCS#8 DER.
pub(crate) fn generate_pkcs8(bits: usize) -> Result<Zeroizing<Vec<u8>>, KeyMaterialError> {
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        8192 => KeySize::Rsa8192,
        _ => {
            return Err(KeyMaterialError::UnsupportedGenerateSize {
                bits,
                backend: NAME,
                supported: "2048, 3072, 4096 or 8192",
            });
        }
    };
    let key = PrivateDecryptingKey::generate(size)
        .map_err(|_| KeyMaterialError::Generate { backend: NAME })?;
    let der = key
        .as_der()
        .map_err(|_| KeyMaterialError::Generate { backend: NAME })?;
    Ok(Zeroizing::new(der.as_ref().to_vec()))
}

/// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2) over `msg` with the PKCS#1 DER key.
pub(crate) fn sign_pkcs1_sha256(pkcs1_der: &[u8], msg: &[u8]) -> Result<Vec<u8>, KeyMaterialError> {
    let key = RsaKeyPair::from_der(pkcs1_der).map_err(|e| KeyMaterialError::Rejected {
        backend: NAME,
        reason: e.to_string(),
    })?;
    let mut sig = vec![0u8; key.public_modulus_len()];
    let rng = aws_lc_rs::rand::SystemRandom::new();
    key.sign(&RSA_PKCS1_SHA256, &rng, msg, &mut sig)
        .map_err(|_| KeyMaterialError::Sign { backend: NAME })?;
    Ok(sig)
}

/// RSA-OAEP encryption (SHA-256, MGF1-SHA-256, `label`) of `msg`; output is modulus-sized.
pub(crate) fn oaep_encrypt(
    key: &PublicHandle,
    msg: &[u8],
    label: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![0u8; key.0.ciphertext_size()];
    let len = key
        .0
        .encrypt(&OAEP_SHA256_MGF1SHA256, msg, &mut out, Some(label))
        .map_err(|_| CryptoError::RsaEncrypt { backend: NAME })?
        .len();
    out.truncate(len);
    Ok(out)
}

/// RSA-OAEP decryption (SHA-256, MGF1-SHA-256, `label`) of a modulus-sized `ciphertext`.
pub(crate) fn oaep_decrypt(
    key: &PrivateHandle,
    ciphertext: &[u8],
    label: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut out = Zeroizing::new(vec![0u8; key.0.min_output_size()]);
    let len = key
        .0
        .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, Some(label))
        .map_err(|_| CryptoError::RsaDecrypt)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// The AES-256-GCM key for one session key.
fn gcm_key(key: &[u8; SESSION_KEY_LEN]) -> LessSafeKey {
    LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte key is always a valid AES-256 key"),
    )
}

/// The all-zero GCM nonce; safe because each session key seals exactly one value.
fn zero_nonce() -> Nonce {
    Nonce::assume_unique_for_key([0u8; NONCE_LEN])
}

/// AES-256-GCM encryption of `buf` in place, zero nonce, no AAD; returns the 16-byte tag.
pub(crate) fn gcm_seal_in_place(
    key: &[u8; SESSION_KEY_LEN],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], CryptoError> {
    let tag = gcm_key(key)
        .seal_in_place_separate_tag(zero_nonce(), Aad::empty(), buf)
        .map_err(|_| CryptoError::AesSeal { backend: NAME })?;
    tag.as_ref()
        .try_into()
        .map_err(|_| CryptoError::AesSeal { backend: NAME })
}

/// AES-256-GCM decryption of `buf` in place, zero nonce, no AAD, checking `tag`.
pub(crate) fn gcm_open_in_place(
    key: &[u8; SESSION_KEY_LEN],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), CryptoError> {
    gcm_key(key)
        .open_in_place_separate_tag(zero_nonce(), Aad::empty(), tag, buf)
        .map_err(|_| CryptoError::AesOpen)?;
    Ok(())
}
