//! Arbitrary bytes as key and certificate input: PEM (as in a key Secret's tls.key / tls.crt or a
//! kubeseal --cert file) and raw DER. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealed_secrets::keys::{Certificate, PrivateKey, PublicKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = PrivateKey::from_pem(data) {
        let _ = key.to_pkcs1_pem();
        let _ = key.fingerprint();
    }
    if let Ok(certs) = Certificate::parse_pem_chain(data) {
        for cert in certs {
            let _ = cert.public_key();
            let _ = (cert.not_before(), cert.not_after(), cert.to_pem());
            let _ = format!("{cert:?}");
        }
    }
    let _ = PrivateKey::from_pkcs1_der(data);
    let _ = PrivateKey::from_pkcs8_der(data);
    let _ = PublicKey::from_spki_der(data);
    if let Ok(cert) = Certificate::from_der(data) {
        let _ = cert.public_key();
        let _ = format!("{cert:?}");
    }
});
