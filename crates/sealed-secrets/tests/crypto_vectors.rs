//! Known-answer vectors: every `tests/vectors/*.txt` file is decrypted with every enabled
//! backend. `ok_*` files must decrypt to their `plaintext`; `fail_*` files must be rejected with
//! their `error` kind. The format is described in `tests/vectors/README.md`.
//!
//! Also feeds every regression input under `tests/vectors/fuzz/` back to the decoders they
//! crashed or hung, which must now return (any result, no panic).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealed_secrets::crypto::Backend;
use sealed_secrets::hybrid::hybrid_decrypt_with;
use sealed_secrets::keys::{Certificate, PrivateKey};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// One vector file: `key: value` header lines, a blank line, the base64 ciphertext.
struct Vector {
    name: String,
    headers: BTreeMap<String, String>,
    ciphertext: Vec<u8>,
}

impl Vector {
    fn parse(path: &Path) -> Vector {
        let name = path
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (head, body) = text
            .split_once("\n\n")
            .unwrap_or_else(|| panic!("{name}: no blank line"));
        let headers = head
            .lines()
            .map(|line| {
                let (k, v) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("{name}: bad header {line:?}"));
                (k.to_owned(), v.strip_prefix(' ').unwrap_or(v).to_owned())
            })
            .collect();
        let body: String = body.split_whitespace().collect();
        let ciphertext = STANDARD
            .decode(body)
            .unwrap_or_else(|e| panic!("{name}: body is not base64: {e}"));
        Vector {
            name,
            headers,
            ciphertext,
        }
    }

    fn header(&self, key: &str) -> &str {
        self.headers
            .get(key)
            .unwrap_or_else(|| panic!("{}: missing header {key:?}", self.name))
    }

    fn plaintext(&self) -> Vec<u8> {
        match self.headers.get("plaintext-base64") {
            Some(b64) => STANDARD.decode(b64).expect("plaintext-base64 is base64"),
            None => self.header("plaintext").as_bytes().to_vec(),
        }
    }
}

fn load_vectors() -> Vec<Vector> {
    let mut paths: Vec<PathBuf> = fs::read_dir(vectors_dir())
        .expect("vectors dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    paths.iter().map(|p| Vector::parse(p)).collect()
}

fn load_key(name: &str) -> PrivateKey {
    let pem = fs::read(vectors_dir().join("keys").join(name))
        .unwrap_or_else(|e| panic!("key {name}: {e}"));
    PrivateKey::from_pem(&pem).unwrap_or_else(|e| panic!("key {name}: {e}"))
}

#[test]
fn known_answer_vectors() {
    let vectors = load_vectors();
    let ok = vectors.iter().filter(|v| v.name.starts_with("ok_")).count();
    let fail = vectors
        .iter()
        .filter(|v| v.name.starts_with("fail_"))
        .count();
    assert!(
        ok >= 6 && fail >= 10,
        "expected the committed vectors, found {ok} ok and {fail} fail"
    );
    assert_eq!(
        ok + fail,
        vectors.len(),
        "every vector file is named ok_* or fail_*"
    );

    let mut failures = Vec::new();
    for v in &vectors {
        let key = load_key(v.header("key"));
        let label = v.header("label").as_bytes();
        for &backend in Backend::ALL {
            let result = hybrid_decrypt_with(backend, &key, &v.ciphertext, label);
            let problem = match (v.header("expect"), result) {
                ("success", Ok(pt)) if *pt == v.plaintext() => None,
                ("success", Ok(_)) => Some("decrypted to the wrong plaintext".to_owned()),
                ("success", Err(e)) => Some(format!("failed: {e}")),
                ("failure", Ok(_)) => Some("decrypted but must be rejected".to_owned()),
                ("failure", Err(e)) if e.kind() == v.header("error") => None,
                ("failure", Err(e)) => Some(format!(
                    "wrong error {} ({e}), expected {}",
                    e.kind(),
                    v.header("error")
                )),
                (other, _) => Some(format!("unknown expect: {other}")),
            };
            if let Some(problem) = problem {
                failures.push(format!("{} [{backend}]: {problem}", v.name));
            }
        }
        let prefix = if v.header("expect") == "success" {
            "ok_"
        } else {
            "fail_"
        };
        assert!(
            v.name.starts_with(prefix),
            "{}: name does not match expect",
            v.name
        );
    }
    assert!(
        failures.is_empty(),
        "vector failures:\n{}",
        failures.join("\n")
    );
}

/// Inputs kept from fuzzing (`tests/vectors/fuzz/<target>/*`) must not panic any more.
#[test]
fn fuzz_regressions_do_not_panic() {
    let key = load_key("test-only-rsa2048.pem");
    for target in ["hybrid_decrypt", "key_pem"] {
        let dir = vectors_dir().join("fuzz").join(target);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "md") {
                continue;
            }
            let data = fs::read(&path).expect("regression input");
            match target {
                "hybrid_decrypt" => {
                    // As in fuzz/fuzz_targets/hybrid_decrypt.rs: label selector byte, ciphertext.
                    let labels: [&[u8]; 4] = [b"default/db-creds", b"default", b"", b"wrong/label"];
                    let Some((&selector, ciphertext)) = data.split_first() else {
                        continue;
                    };
                    let label = labels[usize::from(selector) % labels.len()];
                    for &backend in Backend::ALL {
                        let _ = hybrid_decrypt_with(backend, &key, ciphertext, label);
                    }
                }
                _ => {
                    let _ = PrivateKey::from_pem(&data);
                    let _ = Certificate::parse_pem_chain(&data);
                }
            }
        }
    }
}
