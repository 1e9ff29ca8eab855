//! Library throughput for the crypto backend this build uses by default (`make bench` runs it
//! once per backend): values sealed and unsealed per second, against the raw RSA-4096 OAEP
//! decryption of the same backend library, called directly. The difference is what the
//! format library adds (framing, AES-GCM, base64, the Secret types).
//!
//! Not a test: it prints numbers and asserts nothing. Run with
//! `cargo bench -p sealed-secrets --bench crypto [--no-default-features --features rust-crypto]`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rand::rngs::OsRng;
use sealed_secrets::Scope;
use sealed_secrets::crypto::Backend;
use sealed_secrets::hybrid::{hybrid_decrypt_with, hybrid_encrypt_with};
use sealed_secrets::keys::PrivateKey;
use sealed_secrets::unseal::{UnsealOptions, unseal};

/// Runs `f` repeatedly for about `budget`, returning seconds per call.
fn time_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        f();
        calls += 1;
    }
    start.elapsed().as_secs_f64() / calls as f64
}

/// Raw RSA-4096 OAEP-SHA256 decryption with the backend's own library.
fn raw_rsa_decrypt(
    backend: Backend,
    pkcs8: &[u8],
    ciphertext: &[u8],
    label: &[u8],
    budget: Duration,
) -> f64 {
    match backend.name() {
        "aws-lc" => {
            use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey};
            let key = OaepPrivateDecryptingKey::new(
                PrivateDecryptingKey::from_pkcs8(pkcs8).expect("generated key loads"),
            )
            .expect("generated key supports OAEP");
            let mut out = vec![0u8; key.min_output_size()];
            time_per_call(budget, || {
                let pt = key
                    .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, Some(label))
                    .expect("decrypts");
                black_box(pt);
            })
        }
        _ => {
            use rsa::pkcs8::DecodePrivateKey;
            let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).expect("generated key loads");
            let label = String::from_utf8(label.to_vec()).expect("bench label is UTF-8");
            time_per_call(budget, || {
                let padding = rsa::Oaep::new_with_label::<sha2::Sha256, _>(label.clone());
                black_box(
                    key.decrypt_blinded(&mut OsRng, padding, ciphertext)
                        .expect("decrypts"),
                );
            })
        }
    }
}

fn main() {
    let budget = Duration::from_millis(
        std::env::var("BENCH_MILLIS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000),
    );
    let backend = Backend::default();
    let pkcs8 = PrivateDecryptingKey::generate(KeySize::Rsa4096)
        .expect("aws-lc generates RSA-4096")
        .as_der()
        .expect("PKCS#8 encodes")
        .as_ref()
        .to_vec();
    let key = PrivateKey::from_pkcs8_der(&pkcs8).expect("the library loads the key");
    let public = key.public_key().clone();
    let label = Scope::Strict.label("bench", "db-creds");
    let value = b"correct horse battery staple 0123";

    // One value: the hybrid layer.
    let seal_value = time_per_call(budget, || {
        black_box(hybrid_encrypt_with(backend, &mut OsRng, &public, value, &label).expect("seals"));
    });
    let ciphertext =
        hybrid_encrypt_with(backend, &mut OsRng, &public, value, &label).expect("seals");
    let open_value = time_per_call(budget, || {
        black_box(hybrid_decrypt_with(backend, &key, &ciphertext, &label).expect("opens"));
    });
    let rsa_ciphertext = &ciphertext[2..2 + public.modulus_len()];
    let raw = raw_rsa_decrypt(backend, &pkcs8, rsa_ciphertext, &label, budget);

    // A whole Secret of 10 items through seal() and unseal(), per value.
    let items = 10usize;
    let data: BTreeMap<String, ByteString> = (0..items)
        .map(|i| (format!("key{i}"), ByteString(value.to_vec())))
        .collect();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("db-creds".into()),
            namespace: Some("bench".into()),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    };
    let seal_secret = time_per_call(budget, || {
        black_box(sealed_secrets::seal::seal(&mut OsRng, &secret, &public).expect("seals"));
    }) / items as f64;
    let sealed = sealed_secrets::seal::seal(&mut OsRng, &secret, &public).expect("seals");
    let options = UnsealOptions {
        accept_deprecated_v1_data: false,
        ..UnsealOptions::default()
    };
    let unseal_secret = time_per_call(budget, || {
        black_box(
            unseal(
                &sealed,
                &[&key],
                &options,
                &sealed_secrets::unseal::NoTemplates,
            )
            .expect("unseals"),
        );
    }) / items as f64;

    let per_sec = |t: f64| 1.0 / t;
    let overhead = |t: f64| (t - raw) / raw * 100.0;
    println!("backend: {}", backend.name());
    println!(
        "  raw RSA-4096 OAEP decrypt ({}):   {:>9.0} /s  {:>8.1} us",
        backend.name(),
        per_sec(raw),
        raw * 1e6
    );
    println!(
        "  seal one value (hybrid encrypt):     {:>9.0} /s  {:>8.1} us",
        per_sec(seal_value),
        seal_value * 1e6
    );
    println!(
        "  seal via seal(), per value:          {:>9.0} /s  {:>8.1} us",
        per_sec(seal_secret),
        seal_secret * 1e6
    );
    println!(
        "  unseal one value (hybrid decrypt):   {:>9.0} /s  {:>8.1} us  overhead vs raw RSA: {:+.1}%",
        per_sec(open_value),
        open_value * 1e6,
        overhead(open_value)
    );
    println!(
        "  unseal via unseal(), per value:      {:>9.0} /s  {:>8.1} us  overhead vs raw RSA: {:+.1}%",
        per_sec(unseal_secret),
        unseal_secret * 1e6,
        overhead(unseal_secret)
    );
}
