//! Interop with an independent implementation of the hybrid scheme (`tests/python/hybrid.py`,
//! pyca/cryptography): Python decrypts what Rust encrypts and Rust decrypts what Python encrypts,
//! for all three scopes and every enabled backend; then the Python test suite checks the committed
//! vectors.
//!
//! The interpreter is `$SSRS_PYTHON`, or the venv that `scripts/python-test-env.sh` creates (and
//! reuses) under `${SSRS_CACHE_DIR:-$HOME/.cache/sealed-secrets-rs}/venv`. These tests fail rather
//! than skip when it cannot be set up.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::rngs::OsRng;
use sealed_secrets::crypto::Backend;
use sealed_secrets::hybrid::{hybrid_decrypt_with, hybrid_encrypt_with};
use sealed_secrets::keys::{Certificate, PrivateKey};

/// Strict, namespace-wide and cluster-wide labels.
const SCOPE_LABELS: [&str; 3] = ["default/db-creds", "default", ""];

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Some(p) = std::env::var_os("SSRS_PYTHON") {
            return PathBuf::from(p);
        }
        let script = crate_dir().join("../../scripts/python-test-env.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed: set SSRS_PYTHON to a python with cryptography",
            script.display()
        );
        let stdout = String::from_utf8(out.stdout).expect("utf-8 path");
        PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("the script prints the python path")
                .trim(),
        )
    })
}

/// Runs `hybrid.py <args>` with `stdin`; returns stdout, panicking with stderr on failure.
fn hybrid_py(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new(python())
        .arg(crate_dir().join("tests/python/hybrid.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("python runs");
    assert!(
        out.status.success(),
        "hybrid.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn key_path(name: &str) -> PathBuf {
    crate_dir().join("tests/vectors/keys").join(name)
}

fn key(name: &str) -> PrivateKey {
    PrivateKey::from_pem(&std::fs::read(key_path(name)).expect("fixture")).expect("fixture parses")
}

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("ssrs-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn python_decrypts_what_rust_encrypts() {
    for key_name in ["test-only-rsa2048.pem", "test-only-rsa4096.pem"] {
        let key = key(key_name);
        let key_file = key_path(key_name);
        for label in SCOPE_LABELS {
            for &backend in Backend::ALL {
                let plaintext = format!("value for {label:?} from {backend}");
                let ct = hybrid_encrypt_with(
                    backend,
                    &mut OsRng,
                    key.public_key(),
                    plaintext.as_bytes(),
                    label.as_bytes(),
                )
                .expect("encrypt");
                let args = [
                    "decrypt",
                    "--key",
                    key_file.to_str().expect("utf-8"),
                    "--label",
                    label,
                ];
                let out = hybrid_py(&args, STANDARD.encode(&ct).as_bytes());
                assert_eq!(out, plaintext.as_bytes(), "{key_name} {backend} {label:?}");
            }
        }
    }
}

#[test]
fn rust_decrypts_what_python_encrypts_with_our_certificate() {
    let tmp = TempDir::new("crypto-python");
    let key = key("test-only-rsa4096.pem");
    // Python reads the public key from a certificate we generate (empty subject, encipherOnly).
    let cert = Certificate::self_signed(&key, "", SystemTime::now(), Duration::from_secs(3600))
        .expect("cert");
    let cert_file = tmp.0.join("cert.pem");
    std::fs::write(&cert_file, cert.to_pem()).expect("write cert");
    for label in SCOPE_LABELS {
        let plaintext = format!("python value for {label:?}");
        let args = [
            "encrypt",
            "--cert",
            cert_file.to_str().expect("utf-8"),
            "--label",
            label,
        ];
        let out = hybrid_py(&args, plaintext.as_bytes());
        let ct = STANDARD
            .decode(String::from_utf8(out).expect("base64").trim())
            .expect("base64");
        assert_eq!(&ct[..2], &[0x02, 0x00]);
        for &backend in Backend::ALL {
            let pt = hybrid_decrypt_with(backend, &key, &ct, label.as_bytes()).expect("decrypt");
            assert_eq!(pt.as_slice(), plaintext.as_bytes(), "{backend} {label:?}");
            let wrong = if label.is_empty() { "default" } else { "" };
            assert!(hybrid_decrypt_with(backend, &key, &ct, wrong.as_bytes()).is_err());
        }
    }
}

#[test]
fn python_test_suite_passes() {
    let out = Command::new(python())
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/python",
        ])
        .current_dir(crate_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("pytest runs");
    assert!(
        out.status.success(),
        "pytest failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
