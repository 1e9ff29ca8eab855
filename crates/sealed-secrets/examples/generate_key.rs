//! Generates an RSA key pair and a self-signed certificate shaped like the controller's, with
//! the format library. Used to make the EXAMPLE key shipped in `examples/` and the test
//! fixtures; never use such a key for real secrets.
//!
//! ```text
//! cargo run -p sealed-secrets --example generate_key -- KEY.pem CERT.pem [--bits N] [--days N] [--expired]
//! ```

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use sealed_secrets::keys::{Certificate, PrivateKey};

const DAY: u64 = 86_400;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut bits, mut days, mut expired, mut paths) = (4096usize, 3650u64, false, Vec::new());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bits" => bits = it.next().context("--bits needs a value")?.parse()?,
            "--days" => days = it.next().context("--days needs a value")?.parse()?,
            "--expired" => expired = true,
            path => paths.push(path.to_owned()),
        }
    }
    let [key_path, cert_path] = paths.as_slice() else {
        bail!("usage: generate_key KEY.pem CERT.pem [--bits N] [--days N] [--expired]");
    };
    let key = PrivateKey::generate(bits)?;
    let now = SystemTime::now();
    let (not_before, ttl) = if expired {
        (now - Duration::from_secs(2 * DAY), Duration::from_secs(DAY))
    } else {
        (
            now - Duration::from_secs(60),
            Duration::from_secs(days * DAY),
        )
    };
    let cert = Certificate::self_signed(&key, "", not_before, ttl)?;
    std::fs::write(key_path, key.to_pkcs1_pem().as_bytes())
        .with_context(|| format!("cannot write {key_path}"))?;
    std::fs::write(cert_path, cert.to_pem())
        .with_context(|| format!("cannot write {cert_path}"))?;
    Ok(())
}
