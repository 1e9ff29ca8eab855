//! `--cert URL`: http:// (served by a throwaway server on 127.0.0.1), file:// with an absolute
//! path, and the error for a non-200 answer. These need a live socket or an absolute path, so
//! they are Rust tests rather than trycmd cases. So are the repository rules whose certificate URL
//! serves another certificate than the pinned one, over http and over https from a server whose
//! certificate a private test CA issued (`fixtures/tls`, trusted through `SSL_CERT_FILE`).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cmd/fixtures")
}

/// Serves one HTTP request on 127.0.0.1 with `status` and `body`; returns the base URL and the
/// request line the server saw.
fn serve_once(status: &'static str, body: Vec<u8>) -> (String, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body).unwrap();
        request_line
    });
    (url, handle)
}

fn kubeseal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubeseal"))
        .args(args)
        .env("HOME", "/nonexistent-home")
        .env_remove("KUBECONFIG")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn http_cert_is_fetched_and_used() {
    let cert = std::fs::read(fixtures().join("cert.pem")).unwrap();
    let (url, server) = serve_once("200 OK", cert.clone());
    let secret = fixtures().join("secret.yaml");
    let out = kubeseal(&[
        "--cert",
        &format!("{url}/v1/cert.pem"),
        "-f",
        secret.to_str().unwrap(),
        "-o",
        "yaml",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n"),
        "{stdout}"
    );
    assert_eq!(
        server.join().unwrap().trim_end(),
        "GET /v1/cert.pem HTTP/1.1"
    );
}

/// What kubeseal says before fetching a certificate over plain http.
const HTTP_WARNING: &str = "warning: fetching the certificate over plain http: anyone on the network path can \
replace it with their own; use https:// or a certificate file\n";

#[test]
fn http_fetch_cert_copies_the_bytes() {
    let (url, server) = serve_once("200 OK", b"not even a certificate\n".to_vec());
    let out = kubeseal(&["--fetch-cert", "--cert", &format!("{url}/cert")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"not even a certificate\n");
    server.join().unwrap();
}

#[test]
fn http_error_status_is_reported() {
    let (url, server) = serve_once("404 Not Found", b"nope".to_vec());
    let cert_url = format!("{url}/v1/cert.pem");
    let out = kubeseal(&[
        "--cert",
        &cert_url,
        "-f",
        fixtures().join("secret.yaml").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("{HTTP_WARNING}error: cannot fetch \"{cert_url}\": 404 Not Found\n")
    );
    assert!(out.stdout.is_empty());
    server.join().unwrap();
}

#[test]
fn file_url_with_absolute_path() {
    let cert = fixtures().join("cert.pem");
    let out = kubeseal(&[
        "--fetch-cert",
        "--cert",
        &format!("file://{}", cert.display()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, std::fs::read(&cert).unwrap());
}

#[test]
fn unreachable_url_is_an_error_not_a_hang() {
    // Bind then drop a listener so the port is closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/v1/cert.pem");
    let out = kubeseal(&["--fetch-cert", "--cert", &url]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("{HTTP_WARNING}error: cannot fetch \"{url}\": ")),
        "{stderr}"
    );
}

/// A fresh directory under the system's temporary directory, for a repository rules file.
fn temp_repo(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kubeseal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixtures().join("secret.yaml"), dir.join("secret.yaml")).unwrap();
    dir
}

/// The fixture certificate's SHA-256 fingerprint (`openssl x509 -fingerprint -sha256`).
const CERT_SHA256: &str = "60:20:A5:40:1D:22:54:75:4C:62:2F:D6:41:34:C0:C7:3D:26:2C:B1:BB:B8:D2:96:DF:E0:90:CB:0A:B5:AF:E8";
/// The other fixture certificate's.
const OTHER_SHA256: &str = "A2:B2:F6:08:DD:06:83:01:FE:5C:C8:01:21:1A:B8:F3:D0:43:58:DF:66:33:F4:67:33:CE:F7:52:58:C1:1E:A5";

fn kubeseal_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubeseal"))
        .args(args)
        .current_dir(dir)
        .env("HOME", "/nonexistent-home")
        .env_remove("KUBECONFIG")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_rule_url_serving_another_certificate_is_refused() {
    let other = std::fs::read(fixtures().join("other-cert.pem")).unwrap();
    let (url, server) = serve_once("200 OK", other);
    let dir = temp_repo("rule-url");
    std::fs::write(
        dir.join(".sealed-secrets.yaml"),
        format!("rules:\n  - path: \"**\"\n    cert: {url}/v1/cert.pem\n    fingerprint: \"{CERT_SHA256}\"\n"),
    )
    .unwrap();
    let out = kubeseal_in(&dir, &["-f", "secret.yaml", "-w", "db.yaml"]);
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "error: the certificate's SHA-256 fingerprint {OTHER_SHA256} does not match {CERT_SHA256} pinned at .sealed-secrets.yaml:4\n"
        )),
        "{stderr}"
    );
    assert!(!dir.join("db.yaml").exists(), "nothing is written");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_pin_holds_for_a_cert_url_flag() {
    let other = std::fs::read(fixtures().join("other-cert.pem")).unwrap();
    let (url, server) = serve_once("200 OK", other);
    let dir = temp_repo("flag-url");
    std::fs::write(
        dir.join(".sealed-secrets.yaml"),
        format!(
            "rules:\n  - path: \"**\"\n    fingerprint: {}\n",
            CERT_SHA256.replace(':', "")
        ),
    )
    .unwrap();
    let cert_url = format!("{url}/v1/cert.pem");
    let out = kubeseal_in(&dir, &["--fetch-cert", "--cert", &cert_url]);
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no certificate is printed");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "{OTHER_SHA256} does not match {CERT_SHA256} pinned at .sealed-secrets.yaml:3"
        )),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Serves one HTTPS request on 127.0.0.1 with the test CA's server certificate
/// (`fixtures/tls`, for IP 127.0.0.1) and `body`; returns the base URL. The server thread ends
/// quietly when the client refuses the handshake.
fn serve_tls_once(body: Vec<u8>) -> (String, thread::JoinHandle<()>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls = fixtures().join("tls");
    let chain = vec![CertificateDer::from_pem_file(tls.join("server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(tls.join("server-key.pem")).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let conn = rustls::ServerConnection::new(std::sync::Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, stream);
        let mut reader = BufReader::new(&mut tls);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(n) if n > 2 => {}
                Ok(_) => break,
                Err(_) => return, // the client refused the certificate
            }
        }
        let _ = write!(
            tls,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = tls.write_all(&body);
        tls.conn.send_close_notify();
        let _ = tls.flush();
    });
    (url, handle)
}

/// kubeseal trusting the test CA the way users add a private CA: `SSL_CERT_FILE`.
fn kubeseal_trusting_test_ca(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubeseal"))
        .args(args)
        .current_dir(dir)
        .env("HOME", "/nonexistent-home")
        .env("SSL_CERT_FILE", fixtures().join("tls/ca.pem"))
        .env_remove("SSL_CERT_DIR")
        .env_remove("KUBECONFIG")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn https_cert_from_a_server_with_a_private_ca_is_fetched() {
    let cert = std::fs::read(fixtures().join("cert.pem")).unwrap();
    let (url, server) = serve_tls_once(cert.clone());
    let out = kubeseal_trusting_test_ca(
        &fixtures(),
        &["--fetch-cert", "--cert", &format!("{url}/v1/cert.pem")],
    );
    server.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, cert);
    assert!(out.stderr.is_empty(), "no plain-http warning over https");
}

#[test]
fn https_from_an_untrusted_ca_is_refused() {
    let cert = std::fs::read(fixtures().join("cert.pem")).unwrap();
    let (url, server) = serve_tls_once(cert);
    let cert_url = format!("{url}/v1/cert.pem");
    let out = Command::new(env!("CARGO_BIN_EXE_kubeseal"))
        .args(["--fetch-cert", "--cert", &cert_url])
        .env("HOME", "/nonexistent-home")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("error: cannot fetch \"{cert_url}\": ")),
        "{stderr}"
    );
}

#[test]
fn a_rule_https_url_serving_another_certificate_is_refused() {
    let other = std::fs::read(fixtures().join("other-cert.pem")).unwrap();
    let (url, server) = serve_tls_once(other);
    let dir = temp_repo("rule-https");
    std::fs::write(
        dir.join(".sealed-secrets.yaml"),
        format!("rules:\n  - path: \"**\"\n    cert: {url}/v1/cert.pem\n    fingerprint: \"{CERT_SHA256}\"\n"),
    )
    .unwrap();
    let out = kubeseal_trusting_test_ca(&dir, &["-f", "secret.yaml", "-w", "db.yaml"]);
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        format!(
            "error: the certificate's SHA-256 fingerprint {OTHER_SHA256} does not match {CERT_SHA256} pinned at .sealed-secrets.yaml:4\n\
             hint: nothing was sealed; if the controller's key was renewed on purpose, check the new certificate out of band and update the rule (`kubeseal --fetch-cert --pin`)\n"
        )
    );
    assert!(!dir.join("db.yaml").exists(), "nothing is written");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_rule_https_url_serving_the_pinned_certificate_seals() {
    let cert = std::fs::read(fixtures().join("cert.pem")).unwrap();
    let (url, server) = serve_tls_once(cert);
    let dir = temp_repo("rule-https-ok");
    std::fs::write(
        dir.join(".sealed-secrets.yaml"),
        format!("rules:\n  - path: \"**\"\n    cert: {url}/v1/cert.pem\n    fingerprint: \"{CERT_SHA256}\"\n"),
    )
    .unwrap();
    let out = kubeseal_trusting_test_ca(&dir, &["-f", "secret.yaml", "-w", "db.yaml"]);
    server.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sealed = std::fs::read_to_string(dir.join("db.yaml")).unwrap();
    assert!(sealed.contains("kind: SealedSecret"), "{sealed}");
    std::fs::remove_dir_all(&dir).unwrap();
}
