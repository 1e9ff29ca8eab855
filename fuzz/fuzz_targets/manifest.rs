//! Arbitrary bytes as kubeseal input or a /v1/verify body: YAML/JSON streams, Lists, Secrets,
//! SealedSecrets and key backups. Must never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealed_secrets::manifest::{self, Untyped};

fuzz_target!(|data: &[u8]| {
    let _ = manifest::parse_documents(data, Untyped::Secret);
    let _ = manifest::parse_secrets(data);
    if let Ok(sealed) = manifest::parse_sealed_secrets(data) {
        for (_, s) in sealed {
            let _ = serde_json::to_vec(&s);
        }
    }
    let _ = manifest::parse_key_backup(data);
});
