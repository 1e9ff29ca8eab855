//! Arbitrary bytes as a hybrid ciphertext, against a fixed test-only 2048-bit key, with the right
//! labels of the seed vectors (strict, namespace-wide, cluster-wide) and a wrong one, on every
//! backend. Must never panic; a success must be reproducible by the other backend.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealed_secrets::crypto::{Backend, hybrid_decrypt_with};
use sealed_secrets::keys::PrivateKey;

static KEY: LazyLock<PrivateKey> = LazyLock::new(|| {
    PrivateKey::from_pem(include_bytes!(
        "../../crates/sealed-secrets/tests/vectors/keys/test-only-rsa2048.pem"
    ))
    .expect("the test-only fixture key parses")
});

const LABELS: [&[u8]; 4] = [b"default/db-creds", b"default", b"", b"wrong/label"];

fuzz_target!(|data: &[u8]| {
    for label in LABELS {
        let results: Vec<_> = Backend::ALL
            .iter()
            .map(|&backend| hybrid_decrypt_with(backend, &KEY, data, label).map(|pt| pt.to_vec()))
            .collect();
        // Backends agree on success and on the plaintext.
        let oks: Vec<_> = results.iter().map(|r| r.as_ref().ok()).collect();
        assert!(oks.windows(2).all(|w| w[0] == w[1]), "backends disagree");
    }
});
