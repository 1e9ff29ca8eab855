//! Arbitrary bytes as a hybrid ciphertext, against a fixed test-only 2048-bit key, on every
//! backend. The first input byte picks the label (mod 4): the seed vectors' strict, namespace-wide
//! and cluster-wide labels, or a wrong one; the rest is the ciphertext. One label per input keeps
//! the RSA work (the bottleneck) at one decryption per backend. Must never panic, and the
//! backends must agree.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealed_secrets::crypto::Backend;
use sealed_secrets::hybrid::hybrid_decrypt_with;
use sealed_secrets::keys::PrivateKey;

static KEY: LazyLock<PrivateKey> = LazyLock::new(|| {
    PrivateKey::from_pem(include_bytes!(
        "../../crates/sealed-secrets/tests/vectors/keys/test-only-rsa2048.pem"
    ))
    .expect("the test-only fixture key parses")
});

const LABELS: [&[u8]; 4] = [b"default/db-creds", b"default", b"", b"wrong/label"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, ciphertext)) = data.split_first() else {
        return;
    };
    let label = LABELS[usize::from(selector) % LABELS.len()];
    let results: Vec<_> = Backend::ALL
        .iter()
        .map(|&backend| {
            hybrid_decrypt_with(backend, &KEY, ciphertext, label)
                .map(|pt| pt.to_vec())
                .map_err(|e| e.kind())
        })
        .collect();
    // Backends agree on the plaintext, or on the kind of error.
    assert!(
        results.windows(2).all(|w| w[0] == w[1]),
        "backends disagree: {results:?}"
    );
});
