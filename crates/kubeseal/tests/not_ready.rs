//! A controller that is still starting answers 503 (no key yet, or no ready replica behind the
//! Service): kubeseal waits and asks again, saying so once, instead of failing. The API server is
//! played by a throwaway server on 127.0.0.1 (`--server http://...`).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;

const SERVICE: &str = "/api/v1/namespaces/kube-system/services/sealed-secrets-controller";
const CERT: &str =
    "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem";

/// Answers requests, one per connection: the Service, then `not_ready` times 503 for the
/// certificate, then the certificate. Returns the request paths it saw.
fn fake_api_server(not_ready: usize, cert: Vec<u8>) -> (String, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        let mut refusals = 0;
        loop {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let mut header = String::new();
            let mut length = 0usize;
            while reader.read_line(&mut header).unwrap() > 2 {
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                header.clear();
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let (status, content): (&str, Vec<u8>) = if path == SERVICE {
                (
                    "200 OK",
                    br#"{"spec":{"ports":[{"name":"http","port":8080}]}}"#.to_vec(),
                )
            } else if path == CERT && refusals < not_ready {
                refusals += 1;
                ("503 Service Unavailable", b"no sealing key yet: the controller is generating its first key; try again in a few seconds\n".to_vec())
            } else if path == CERT {
                ("200 OK", cert.clone())
            } else {
                ("404 Not Found", Vec::new())
            };
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                content.len()
            )
            .unwrap();
            stream.write_all(&content).unwrap();
            let done = path == CERT && status.starts_with("200");
            seen.push(path);
            if done {
                return seen;
            }
        }
    });
    (url, handle)
}

#[test]
fn fetch_cert_waits_while_the_controller_has_no_key() {
    let cert =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cmd/fixtures/cert.pem"))
            .unwrap();
    let (url, server) = fake_api_server(2, cert.clone());
    let out = Command::new(env!("CARGO_BIN_EXE_kubeseal"))
        .args(["--fetch-cert", "--server", &url])
        .env("HOME", "/nonexistent-home")
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(out.stdout, cert);
    assert_eq!(
        stderr,
        "the controller is not ready yet (no sealing key yet: the controller is generating its first key; try again in a few seconds); retrying for up to 60 s\n"
    );
    assert_eq!(server.join().unwrap(), [SERVICE, CERT, CERT, CERT]);
}
