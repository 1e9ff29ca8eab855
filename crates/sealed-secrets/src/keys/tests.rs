//! Unit tests of key, certificate and key Secret handling, on the committed test-only fixtures.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::Encode;
use x509_cert::ext::Extension;

use super::*;
use crate::crypto::Backend;
use crate::names::KEY_LABEL;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/keys/");
const CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/certs/");

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(format!("{dir}{name}")).expect("fixture exists")
}

fn rsa2048() -> PrivateKey {
    PrivateKey::from_pem(&fixture(KEYS, "test-only-rsa2048.pem")).expect("fixture parses")
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn pkcs1_and_pkcs8_pem_parse_to_the_same_key() {
    let pkcs1 = rsa2048();
    let pkcs8 = PrivateKey::from_pem(&fixture(KEYS, "test-only-rsa2048.pkcs8.pem")).expect("pkcs8");
    assert_eq!(pkcs1.public_key(), pkcs8.public_key());
    assert_eq!(*pkcs1.to_pkcs1_der(), *pkcs8.to_pkcs1_der());
    assert_eq!(pkcs1.public_key().modulus_bits(), 2048);
}

#[test]
fn pkcs1_pem_round_trips_and_matches_openssl_text() {
    let pem = fixture(KEYS, "test-only-rsa2048.pem");
    let key = PrivateKey::from_pem(&pem).expect("parses");
    let written = key.to_pkcs1_pem();
    assert!(written.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert_eq!(
        written.as_bytes(),
        pem.as_slice(),
        "same 64-column layout as openssl"
    );
    assert_eq!(
        PrivateKey::from_pem(written.as_bytes())
            .expect("re-parses")
            .public_key(),
        key.public_key()
    );
}

#[test]
fn from_pem_skips_other_blocks_and_text() {
    let cert = fixture(CERTS, "openssl-req-x509-rsa2048.pem");
    let key = fixture(KEYS, "test-only-rsa2048.pem");
    let mixed = [
        b"leading text\n".as_slice(),
        &cert,
        b"\nbetween\n",
        &key,
        b"trailing",
    ]
    .concat();
    assert_eq!(
        PrivateKey::from_pem(&mixed).expect("parses").public_key(),
        rsa2048().public_key()
    );
    // CRLF line endings are accepted too.
    let crlf = String::from_utf8(key).expect("ascii").replace('\n', "\r\n");
    assert!(PrivateKey::from_pem(crlf.as_bytes()).is_ok());
}

#[test]
fn non_rsa_private_keys_name_their_type() {
    for (file, found) in [
        ("test-only-ec-p256.pem", "ecdsa"),
        ("test-only-ec-p256.pkcs8.pem", "ecdsa"),
        ("test-only-ed25519.pkcs8.pem", "ed25519"),
    ] {
        let err = PrivateKey::from_pem(&fixture(KEYS, file)).expect_err(file);
        assert_eq!(
            err.to_string(),
            format!("expected RSA private key but found {found}"),
            "{file}"
        );
    }
}

#[test]
fn garbage_pem_gives_typed_errors() {
    let cases: [(&[u8], &str); 7] = [
        (b"", "no private key"),
        (b"\xff\x00garbage", "no private key"),
        (
            b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            "malformed pkcs#1",
        ),
        (
            b"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
            "malformed pkcs#8",
        ),
        (
            b"-----BEGIN RSA PRIVATE KEY-----\n!!!!\n-----END RSA PRIVATE KEY-----\n",
            "no private key",
        ),
        (
            b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "no private key",
        ),
        (b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n", "no private key"),
    ];
    for (input, expected) in cases {
        let err = PrivateKey::from_pem(input).expect_err("garbage");
        assert!(err.to_string().contains(expected), "{input:?}: {err}");
    }
}

#[test]
fn fingerprint_is_openssh_sha256() {
    // Expected value from `ssh-keygen -lf` on the fixture's public key (see tests/vectors/README.md).
    let expected =
        std::fs::read_to_string(format!("{KEYS}test-only-rsa2048.fingerprint")).expect("fixture");
    let key = rsa2048();
    assert_eq!(key.fingerprint().as_str(), expected.trim());
    assert!(key.fingerprint().as_str().starts_with("SHA256:"));
    assert_eq!(key.fingerprint().as_str().len(), "SHA256:".len() + 43);
    assert_eq!(key.fingerprint(), key.public_key().fingerprint());
    assert_eq!(key.fingerprint().to_string(), key.fingerprint().as_str());
}

#[test]
fn debug_prints_only_the_fingerprint() {
    let key = rsa2048();
    let debug = format!("{key:?}");
    assert!(debug.contains(key.fingerprint().as_str()));
    assert!(debug.len() < 120, "{debug}");
    assert!(!format!("{:?}", key.public_key()).is_empty());
}

#[test]
fn public_key_der_round_trips() {
    let key = rsa2048();
    let public = key.public_key();
    assert_eq!(
        &PublicKey::from_pkcs1_der(&public.to_pkcs1_der()).expect("pkcs1"),
        public
    );
    assert_eq!(
        &PublicKey::from_spki_der(&public.to_spki_der()).expect("spki"),
        public
    );
    assert_eq!(public.modulus_len(), 256);
}

#[test]
fn generated_certificate_has_upstream_shape() {
    let key = rsa2048();
    let not_before = at(1_700_000_000) + Duration::from_millis(999);
    let ttl = Duration::from_secs(87_600 * 3600);
    let cert = Certificate::self_signed(&key, "", not_before, ttl).expect("builds");
    assert_eq!(&cert.public_key().expect("rsa"), key.public_key());
    assert_eq!(cert.not_before(), at(1_700_000_000));
    assert_eq!(cert.not_after(), at(1_700_000_000 + 87_600 * 3600));

    let tbs = &cert.inner.tbs_certificate;
    assert_eq!(tbs.version, x509_cert::certificate::Version::V3);
    assert!(tbs.subject.0.is_empty(), "empty subject");
    assert_eq!(tbs.subject.to_der().expect("der"), [0x30, 0x00]);
    assert_eq!(tbs.issuer, tbs.subject);
    assert!(tbs.serial_number.as_bytes().len() <= 17);
    assert_eq!(
        cert.inner.signature_algorithm.oid.to_string(),
        "1.2.840.113549.1.1.11"
    );

    let exts: &[Extension] = tbs.extensions.as_deref().expect("extensions");
    let summary: Vec<(String, bool)> = exts
        .iter()
        .map(|e| (e.extn_id.to_string(), e.critical))
        .collect();
    assert_eq!(
        summary,
        [
            ("2.5.29.15".to_owned(), true),
            ("2.5.29.19".to_owned(), true),
            ("2.5.29.14".to_owned(), false)
        ]
    );
    assert_eq!(exts[0].extn_value.as_bytes(), [0x03, 0x02, 0x00, 0x01]);
    assert_eq!(
        exts[1].extn_value.as_bytes(),
        [0x30, 0x03, 0x01, 0x01, 0xff]
    );
    let ski = &exts[2].extn_value.as_bytes();
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.public_key().to_pkcs1_der());
    assert_eq!(ski[..2], [0x04, 20]);
    assert_eq!(ski[2..], digest[..20]);

    // The PEM form parses back to the same DER.
    let pem = cert.to_pem();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    let parsed = Certificate::parse_pem_chain(pem.as_bytes()).expect("parses");
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].der(), cert.der());
}

#[test]
fn generated_certificate_with_cn_and_generalized_time() {
    let key = rsa2048();
    let cert = Certificate::self_signed(
        &key,
        "sealed-secret",
        at(2_600_000_000),
        Duration::from_secs(3600),
    )
    .expect("builds");
    let tbs = &cert.inner.tbs_certificate;
    assert_eq!(tbs.subject.to_string(), "CN=sealed-secret");
    assert_eq!(tbs.issuer, tbs.subject);
    assert!(matches!(
        tbs.validity.not_before,
        x509_cert::time::Time::GeneralTime(_)
    ));
    assert_eq!(cert.not_after(), at(2_600_003_600));
    let utf8 = Certificate::self_signed(&key, "clé", at(1_700_000_000), Duration::from_secs(1))
        .expect("builds");
    assert_eq!(utf8.inner.tbs_certificate.subject.to_string(), "CN=clé");
}

#[test]
fn self_signed_signature_verifies() {
    // Verify the PKCS#1 v1.5 signature with aws-lc or rsa, whichever is enabled.
    let key = rsa2048();
    let cert = Certificate::self_signed(&key, "", at(1_700_000_000), Duration::from_secs(60))
        .expect("builds");
    let tbs = cert.inner.tbs_certificate.to_der().expect("der");
    let sig = cert.inner.signature.raw_bytes();
    #[cfg(feature = "aws-lc")]
    {
        use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key().to_pkcs1_der())
            .verify(&tbs, sig)
            .expect("signature verifies");
    }
    #[cfg(feature = "rust-crypto")]
    {
        use rsa::pkcs1::DecodeRsaPublicKey;
        use sha2::Digest;
        let public =
            rsa::RsaPublicKey::from_pkcs1_der(&key.public_key().to_pkcs1_der()).expect("rsa");
        public
            .verify(
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                &sha2::Sha256::digest(&tbs),
                sig,
            )
            .expect("signature verifies");
    }
}

#[test]
fn openssl_certificates_parse() {
    let certs = Certificate::parse_pem_chain(&fixture(CERTS, "openssl-req-x509-rsa2048.pem"))
        .expect("parses");
    assert_eq!(&certs[0].public_key().expect("rsa"), rsa2048().public_key());
    assert!(
        certs[0].not_after() > at(4_000_000_000),
        "GeneralizedTime after 2050"
    );
    assert!(format!("{:?}", certs[0]).contains("sealed-secret"));

    let ec = Certificate::parse_pem_chain(&fixture(CERTS, "openssl-req-x509-ec-p256.pem"))
        .expect("parses");
    let err = ec[0].public_key().expect_err("ec");
    assert_eq!(err.to_string(), "expected RSA public key but found ecdsa");
}

#[test]
fn certificate_chains_and_errors() {
    let rsa = fixture(CERTS, "openssl-req-x509-rsa2048.pem");
    let ec = fixture(CERTS, "openssl-req-x509-ec-p256.pem");
    let both = [rsa.as_slice(), b"\n", &ec].concat();
    assert_eq!(Certificate::parse_pem_chain(&both).expect("two").len(), 2);

    let err = Certificate::parse_pem_chain(b"no pem here").expect_err("none");
    assert_eq!(
        err.to_string(),
        "data does not contain any valid RSA or ECDSA certificates"
    );
    let key_only = fixture(KEYS, "test-only-rsa2048.pem");
    assert!(matches!(
        Certificate::parse_pem_chain(&key_only),
        Err(KeyError::NoCertificates)
    ));

    let bad = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    let with_bad = [rsa.as_slice(), bad].concat();
    let err = Certificate::parse_pem_chain(&with_bad).expect_err("malformed second");
    assert!(
        matches!(err, KeyError::MalformedCertificate { index: 2, .. }),
        "{err:?}"
    );
    assert!(Certificate::from_der(b"").is_err());
}

#[test]
fn key_secret_round_trip() {
    let key = rsa2048();
    let cert = Certificate::self_signed(&key, "", at(1_700_000_000), Duration::from_secs(60))
        .expect("builds");
    let mut secret = to_key_secret(&key, &cert, "kube-system", "sealed-secrets-key");
    assert_eq!(
        secret.metadata.generate_name.as_deref(),
        Some("sealed-secrets-key")
    );
    assert_eq!(secret.metadata.namespace.as_deref(), Some("kube-system"));
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    let labels = secret.metadata.labels.as_ref().expect("labels");
    assert_eq!(labels.get(KEY_LABEL).map(String::as_str), Some("active"));
    let data = secret.data.as_ref().expect("data");
    assert!(
        data["tls.key"]
            .0
            .starts_with(b"-----BEGIN RSA PRIVATE KEY-----\n")
    );
    assert!(
        data["tls.crt"]
            .0
            .starts_with(b"-----BEGIN CERTIFICATE-----\n")
    );

    let (parsed, certs) = from_key_secret(&secret).expect("round trip");
    assert_eq!(parsed.public_key(), key.public_key());
    assert_eq!(certs[0].der(), cert.der());

    secret.metadata.name = Some("sealed-secrets-keyabcde".to_owned());
    secret.data.as_mut().expect("data").remove("tls.crt");
    let err = from_key_secret(&secret).expect_err("missing");
    assert_eq!(
        err.to_string(),
        "secret kube-system/sealed-secrets-keyabcde has no tls.crt"
    );

    secret.data.as_mut().expect("data").insert(
        "tls.key".to_owned(),
        k8s_openapi::ByteString(b"junk".to_vec()),
    );
    let err = from_key_secret(&secret).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid tls.key in secret kube-system/sealed-secrets-keyabcde"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn generate_with_every_backend() {
    for &backend in Backend::ALL {
        let key = PrivateKey::generate_with(backend, 2048).expect("generates");
        assert_eq!(key.public_key().modulus_bits(), 2048);
        let ct = crate::hybrid::hybrid_encrypt(&mut rand::rngs::OsRng, key.public_key(), b"v", b"")
            .expect("encrypt");
        for &dec in Backend::ALL {
            assert_eq!(
                crate::hybrid::hybrid_decrypt_with(dec, &key, &ct, b"")
                    .expect("decrypt")
                    .as_slice(),
                b"v"
            );
        }
    }
    assert!(matches!(
        PrivateKey::generate(1024),
        Err(KeyError::UnsupportedKeySize { bits: 1024 })
    ));
}

#[cfg(feature = "aws-lc")]
#[test]
fn aws_lc_rejects_odd_generate_sizes() {
    let err = PrivateKey::generate_with(Backend::AwsLc, 2049).expect_err("odd size");
    assert!(
        matches!(err, KeyError::UnsupportedGenerateSize { .. }),
        "{err:?}"
    );
}

#[test]
fn key_size_limits() {
    let err = PublicKey::from_components(&[0xff; 128], &[1, 0, 1]).expect_err("1024-bit");
    assert!(matches!(err, KeyError::UnsupportedKeySize { bits: 1024 }));
    let err = PublicKey::from_components(&[], &[1, 0, 1]).expect_err("zero");
    assert!(matches!(err, KeyError::UnsupportedKeySize { bits: 0 }));
}
