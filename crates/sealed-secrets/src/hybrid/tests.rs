//! Unit tests of the hybrid scheme against the committed test-only fixture keys.

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;
use crate::keys::PrivateKey;

const RSA2048: &[u8] = include_bytes!("../../tests/vectors/keys/test-only-rsa2048.pem");
const RSA2048_OTHER: &[u8] = include_bytes!("../../tests/vectors/keys/test-only-rsa2048-other.pem");
const RSA4096: &[u8] = include_bytes!("../../tests/vectors/keys/test-only-rsa4096.pem");

/// The three scope labels: strict, namespace-wide, cluster-wide.
const LABELS: [&[u8]; 3] = [b"default/db-creds", b"default", b""];

fn key(pem: &[u8]) -> PrivateKey {
    PrivateKey::from_pem(pem).expect("fixture key parses")
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

#[test]
fn round_trip_every_scope_and_backend_pair() {
    let key = key(RSA2048);
    for &label in &LABELS {
        for &enc in Backend::ALL {
            let ct = hybrid_encrypt_with(enc, &mut rng(), key.public_key(), b"hunter2", label)
                .expect("encrypt");
            assert_eq!(ct.len(), 2 + 256 + 7 + TAG_LEN);
            for &dec in Backend::ALL {
                let pt = hybrid_decrypt_with(dec, &key, &ct, label)
                    .unwrap_or_else(|e| panic!("{enc} -> {dec} label {label:?}: {e}"));
                assert_eq!(pt.as_slice(), b"hunter2");
            }
        }
    }
}

#[test]
fn default_functions_round_trip_empty_and_large_plaintext() {
    let key = key(RSA2048);
    for plaintext in [Vec::new(), vec![0xa5; 100_000]] {
        let ct =
            hybrid_encrypt(&mut rng(), key.public_key(), &plaintext, b"ns/name").expect("encrypt");
        assert_eq!(
            hybrid_decrypt(&key, &ct, b"ns/name")
                .expect("decrypt")
                .as_slice(),
            plaintext
        );
    }
}

#[test]
fn rsa4096_output_starts_with_0200() {
    let key = key(RSA4096);
    for &backend in Backend::ALL {
        let ct =
            hybrid_encrypt_with(backend, &mut rng(), key.public_key(), b"x", b"").expect("encrypt");
        assert_eq!(&ct[..2], &[0x02, 0x00]);
        use base64::Engine as _;
        assert!(
            base64::engine::general_purpose::STANDARD
                .encode(&ct)
                .starts_with("Ag")
        );
        assert_eq!(
            hybrid_decrypt_with(backend, &key, &ct, b"")
                .expect("decrypt")
                .as_slice(),
            b"x"
        );
    }
}

#[test]
fn wrong_label_and_wrong_key_fail_with_rsa_decrypt() {
    let key = key(RSA2048);
    let other = self::key(RSA2048_OTHER);
    let ct = hybrid_encrypt(&mut rng(), key.public_key(), b"v", b"ns/a").expect("encrypt");
    for &backend in Backend::ALL {
        for label in [&b"ns/b"[..], b"ns", b""] {
            let err = hybrid_decrypt_with(backend, &key, &ct, label).expect_err("wrong label");
            assert!(matches!(err, CryptoError::RsaDecrypt), "{backend}: {err:?}");
        }
        let err = hybrid_decrypt_with(backend, &other, &ct, b"ns/a").expect_err("wrong key");
        assert!(matches!(err, CryptoError::RsaDecrypt), "{backend}: {err:?}");
    }
}

#[test]
fn malformed_input_gives_typed_errors() {
    let key = key(RSA2048);
    let big = self::key(RSA4096);
    let ct = hybrid_encrypt(&mut rng(), key.public_key(), b"value", b"").expect("encrypt");
    let mut flipped_tag = ct.clone();
    *flipped_tag.last_mut().expect("non-empty") ^= 1;
    let mut flipped_body = ct.clone();
    flipped_body[2 + 256] ^= 0x80;
    let mut flipped_rsa = ct.clone();
    flipped_rsa[10] ^= 1;
    let cases: Vec<(&str, Vec<u8>, &PrivateKey, &str)> = vec![
        ("empty", vec![], &key, "too-short"),
        ("one byte", vec![1], &key, "too-short"),
        ("prefix only", vec![1, 0], &key, "length-prefix-past-end"),
        (
            "truncated rsa part",
            ct[..100].to_vec(),
            &key,
            "length-prefix-past-end",
        ),
        (
            "prefix ffff",
            [&[0xff, 0xff][..], &ct[2..]].concat(),
            &key,
            "length-prefix-past-end",
        ),
        (
            "prefix 0",
            [&[0, 0][..], &ct[2..]].concat(),
            &key,
            "rsa-ciphertext-size",
        ),
        (
            "smaller prefix",
            [&[0, 255][..], &ct[2..]].concat(),
            &key,
            "rsa-ciphertext-size",
        ),
        (
            "2048 ciphertext, 4096 key",
            ct.clone(),
            &big,
            "rsa-ciphertext-size",
        ),
        (
            "no tag",
            ct[..2 + 256].to_vec(),
            &key,
            "aes-ciphertext-too-short",
        ),
        (
            "truncated tag",
            ct[..ct.len() - 1].to_vec(),
            &key,
            "aes-open",
        ),
        ("flipped tag", flipped_tag, &key, "aes-open"),
        ("flipped aes body", flipped_body, &key, "aes-open"),
        ("flipped rsa part", flipped_rsa, &key, "rsa-decrypt"),
    ];
    for (name, input, key, kind) in cases {
        for &backend in Backend::ALL {
            let err = hybrid_decrypt_with(backend, key, &input, b"").expect_err(name);
            assert_eq!(err.kind(), kind, "{name} with {backend}: {err}");
        }
    }
}

#[test]
fn errors_do_not_leak_plaintext() {
    let key = key(RSA2048);
    let ct =
        hybrid_encrypt(&mut rng(), key.public_key(), b"s3cr3t-value", b"ns/a").expect("encrypt");
    let err = hybrid_decrypt(&key, &ct, b"ns/b").expect_err("wrong label");
    assert!(!format!("{err} {err:?}").contains("s3cr3t"));
}

#[test]
fn seeded_rng_fixes_session_key() {
    // The session key comes from the injected rng: equal seeds give equal AES parts.
    let key = key(RSA2048);
    let a = hybrid_encrypt(&mut rng(), key.public_key(), b"same", b"").expect("encrypt");
    let b = hybrid_encrypt(&mut rng(), key.public_key(), b"same", b"").expect("encrypt");
    assert_eq!(a[2 + 256..], b[2 + 256..]);
}

#[cfg(feature = "rust-crypto")]
#[test]
fn rust_crypto_is_deterministic_and_rejects_non_utf8_labels() {
    let key = key(RSA2048);
    let enc = |label: &[u8]| {
        hybrid_encrypt_with(
            Backend::RustCrypto,
            &mut rng(),
            key.public_key(),
            b"v",
            label,
        )
    };
    assert_eq!(
        enc(b"ns/a").expect("encrypt"),
        enc(b"ns/a").expect("encrypt")
    );
    assert_eq!(enc(&[0xff]).expect_err("non-utf8").kind(), "label-not-utf8");
}

#[test]
fn backend_default_is_first() {
    assert_eq!(Backend::default(), Backend::ALL[0]);
    #[cfg(feature = "aws-lc")]
    assert_eq!(Backend::default(), Backend::AwsLc);
    assert!(!Backend::default().name().is_empty());
}
