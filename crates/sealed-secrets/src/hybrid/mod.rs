//! Hybrid encryption of one value: RSA-OAEP wraps a fresh AES-256-GCM key.
//!
//! This module exists because every value in a SealedSecret is encrypted on its own, with the
//! exact byte layout upstream's controller and kubeseal read and write (docs/upstream-behavior.md, "Wire format"):
//!
//! ```text
//! offset 0..2      L, the RSA ciphertext length, unsigned 16-bit big-endian
//! offset 2..2+L    RSA-OAEP (RFC 8017 7.1; SHA-256, MGF1-SHA-256, label = scope label)
//!                  of a 32-byte session key; L is the modulus size in bytes (512 for RSA-4096)
//! offset 2+L..end  AES-256-GCM (NIST SP 800-38D) of the plaintext under the session key,
//!                  12-byte all-zero nonce, no AAD, 16-byte tag appended
//! ```
//!
//! The zero nonce is safe because each session key encrypts exactly one value. The label binds
//! the value to its scope (see [`crate::scope`]); decrypting with another label fails.
//!
//! The primitives come from [`crate::crypto`]'s [`Backend`]s; both produce the same layout and
//! decrypt each other's output.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::crypto::{Backend, CryptoError, LENGTH_PREFIX_LEN, SESSION_KEY_LEN, TAG_LEN};
use crate::keys::{PrivateKey, PublicKey};

/// Encrypts `plaintext` for `key` with the default [`Backend`], binding it to `label`.
///
/// Output bytes: `L` (u16 big-endian) `||` RSA-OAEP-SHA256(label)(session key) (`L` bytes, the
/// modulus size) `||` AES-256-GCM(session key, zero nonce, no AAD)(plaintext) `||` 16-byte tag.
/// The output is `2 + modulus bytes + plaintext.len() + 16` bytes long; with a 4096-bit key it
/// starts `02 00`.
///
/// The 32-byte session key is drawn from `rng`; the OAEP padding seed is drawn from `rng` by the
/// `rust-crypto` backend and from the library's own generator by `aws-lc`.
///
/// # Errors
/// [`CryptoError::Rng`] if `rng` fails, and backend failures ([`CryptoError::RsaEncrypt`],
/// [`CryptoError::LabelNotUtf8`] with `rust-crypto`).
pub fn hybrid_encrypt<R: CryptoRngCore + ?Sized>(
    rng: &mut R,
    key: &PublicKey,
    plaintext: &[u8],
    label: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    hybrid_encrypt_with(Backend::default(), rng, key, plaintext, label)
}

/// Decrypts what [`hybrid_encrypt`] produced, with the default [`Backend`].
///
/// Input bytes are as documented on [`hybrid_encrypt`]; `label` must be the one used to encrypt.
/// The returned plaintext is zeroized when dropped.
///
/// # Errors
/// A typed [`CryptoError`] naming the first check that failed, in this order: fewer than 2
/// bytes ([`CryptoError::TooShort`]), length prefix past the end
/// ([`CryptoError::LengthPrefixPastEnd`]), length prefix not the key's modulus size
/// ([`CryptoError::RsaCiphertextSize`]), AES part shorter than the tag
/// ([`CryptoError::AesCiphertextTooShort`]), RSA-OAEP failure, i.e. wrong key or wrong label
/// ([`CryptoError::RsaDecrypt`]), session key not 32 bytes ([`CryptoError::SessionKeySize`]),
/// GCM authentication failure ([`CryptoError::AesOpen`]).
pub fn hybrid_decrypt(
    key: &PrivateKey,
    ciphertext: &[u8],
    label: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    hybrid_decrypt_with(Backend::default(), key, ciphertext, label)
}

/// [`hybrid_encrypt`] with an explicit [`Backend`]; the output layout is identical.
///
/// # Errors
/// As [`hybrid_encrypt`].
pub fn hybrid_encrypt_with<R: CryptoRngCore + ?Sized>(
    backend: Backend,
    rng: &mut R,
    key: &PublicKey,
    plaintext: &[u8],
    label: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut session_key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
    rng.try_fill_bytes(session_key.as_mut_slice())
        .map_err(CryptoError::Rng)?;

    let rsa_ciphertext = backend.oaep_encrypt(rng, key, session_key.as_slice(), label)?;
    let prefix = u16::try_from(rsa_ciphertext.len())
        .expect("RSA ciphertexts are at most 1024 bytes: keys are limited to 8192 bits");

    let aes_start = LENGTH_PREFIX_LEN + rsa_ciphertext.len();
    let mut out = Vec::with_capacity(aes_start + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&prefix.to_be_bytes());
    out.extend_from_slice(&rsa_ciphertext);
    out.extend_from_slice(plaintext);
    // Encrypt the plaintext in place in the output buffer, so no other copy of it is made.
    let tag = backend.gcm_seal_in_place(&session_key, &mut out[aes_start..])?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// [`hybrid_decrypt`] with an explicit [`Backend`]; any backend decrypts any backend's output.
///
/// # Errors
/// As [`hybrid_decrypt`].
pub fn hybrid_decrypt_with(
    backend: Backend,
    key: &PrivateKey,
    ciphertext: &[u8],
    label: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let parts = split(ciphertext, key.public_key().modulus_len())?;
    let session_key = backend.oaep_decrypt(key, parts.rsa, label)?;
    let session_key: &[u8; SESSION_KEY_LEN] =
        session_key
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::SessionKeySize {
                len: session_key.len(),
            })?;

    let mut buf = Zeroizing::new(parts.aes_body.to_vec());
    let tag: &[u8; TAG_LEN] = parts
        .aes_tag
        .try_into()
        .expect("split returns a tag of exactly TAG_LEN bytes");
    backend.gcm_open_in_place(session_key, &mut buf, tag)?;
    Ok(buf)
}

/// The three parts of a hybrid ciphertext, borrowed from it.
#[derive(Debug)]
struct Parts<'a> {
    /// The RSA-OAEP ciphertext of the session key (modulus size).
    rsa: &'a [u8],
    /// The AES-GCM ciphertext without its tag.
    aes_body: &'a [u8],
    /// The 16-byte GCM tag.
    aes_tag: &'a [u8],
}

/// Checks the framing of `ciphertext` against a key whose modulus is `modulus_len` bytes.
fn split(ciphertext: &[u8], modulus_len: usize) -> Result<Parts<'_>, CryptoError> {
    let Some((prefix, rest)) = ciphertext.split_first_chunk::<LENGTH_PREFIX_LEN>() else {
        return Err(CryptoError::TooShort {
            len: ciphertext.len(),
        });
    };
    let prefix = usize::from(u16::from_be_bytes(*prefix));
    if prefix > rest.len() {
        return Err(CryptoError::LengthPrefixPastEnd {
            prefix,
            available: rest.len(),
        });
    }
    if prefix != modulus_len {
        return Err(CryptoError::RsaCiphertextSize {
            prefix,
            modulus_len,
        });
    }
    let (rsa, aes) = rest.split_at(prefix);
    if aes.len() < TAG_LEN {
        return Err(CryptoError::AesCiphertextTooShort { len: aes.len() });
    }
    let (aes_body, aes_tag) = aes.split_at(aes.len() - TAG_LEN);
    Ok(Parts {
        rsa,
        aes_body,
        aes_tag,
    })
}

#[cfg(test)]
mod tests;
