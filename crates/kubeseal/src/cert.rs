//! Where the sealing certificate comes from, and the checks it must pass (docs/upstream-behavior.md, "kubeseal").
//!
//! A [`CertSource`] is a local file, a URL (`http://`, `https://`, `file://`), or the
//! controller in the cluster (through the API server's service proxy, [`crate::controller`]). The
//! certificate is fetched and parsed once per run, however many Secrets are sealed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use sealed_secrets::keys::{Certificate, PublicKey};

use crate::controller::Controller;
use crate::flags::ConnectionFlags;
use crate::report::{HintExt, message_with_hint};

/// Where to get the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// A local file (`--cert path`).
    File(PathBuf),
    /// A URL (`--cert https://...`, `http://`, `file://`).
    Url(String),
    /// The controller's `/v1/cert.pem`, through the API server's service proxy.
    Controller(Box<Controller>),
}

impl CertSource {
    /// The source for a `--cert` value (empty: the controller).
    pub fn from_flag(
        cert: &str,
        controller_namespace: &str,
        controller_name: &str,
        connection: &ConnectionFlags,
    ) -> CertSource {
        if cert.is_empty() {
            return CertSource::Controller(Box::new(Controller {
                namespace: controller_namespace.to_owned(),
                name: controller_name.to_owned(),
                connection: connection.clone(),
            }));
        }
        match url_scheme(cert) {
            // No scheme, or a one-letter "scheme" (a Windows drive): a path.
            None => CertSource::File(PathBuf::from(cert)),
            Some(scheme) if scheme.len() == 1 => CertSource::File(PathBuf::from(cert)),
            Some(_) => CertSource::Url(cert.to_owned()),
        }
    }

    /// The certificate bytes, verbatim (at most [`MAX_CERT_BYTES`]).
    pub fn fetch(&self) -> Result<Vec<u8>> {
        match self {
            CertSource::File(path) => read_limited(path, &path.display().to_string()),
            CertSource::Url(url) => fetch_url(url),
            CertSource::Controller(controller) => controller.connect()?.cert(),
        }
    }
}

/// Largest certificate file or download read (a certificate is about 2 KiB; this stops
/// `--cert /dev/zero` and the like from filling memory).
pub const MAX_CERT_BYTES: u64 = 1024 * 1024;

/// Reads at most [`MAX_CERT_BYTES`] of `path`; more is an error.
fn read_limited(path: &std::path::Path, shown: &str) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).with_context(|| format!("open {shown}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_CERT_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("read {shown}"))?;
    if bytes.len() as u64 > MAX_CERT_BYTES {
        return Err(message_with_hint(
            format!("{shown} is larger than 1 MiB: it is not a certificate"),
            "pass the controller's PEM certificate (about 2 KiB), as written by `kubeseal --fetch-cert`",
        ));
    }
    Ok(bytes)
}

/// The first certificate of `pem`, checked like upstream: RSA key, not expired at `now`; and
/// (unlike upstream) already valid at `now`.
pub fn parse_cert(pem: &[u8], now: SystemTime) -> Result<PublicKey> {
    let certs = Certificate::parse_pem_chain(pem).hint(
        "--cert must be a PEM certificate (-----BEGIN CERTIFICATE-----), as written by `kubeseal --fetch-cert`",
    )?;
    let Some(cert) = certs.into_iter().next() else {
        bail!("data does not contain any valid RSA or ECDSA certificates");
    };
    let key = cert.public_key()?;
    let not_before = cert.not_before();
    if now < not_before {
        return Err(message_with_hint(
            format!(
                "the certificate is not valid yet: it starts on {}",
                go_long_date(not_before)
            ),
            "check this machine's clock, and that the certificate is the controller's (`kubeseal --fetch-cert`)",
        ));
    }
    let not_after = cert.not_after();
    if now > not_after {
        return Err(message_with_hint(
            format!(
                "failed to encrypt using an expired certificate on {}",
                go_long_date(not_after)
            ),
            "the controller renews its key every 30 days: fetch its current certificate again",
        ));
    }
    Ok(key)
}

/// The scheme of `s` if it starts like a URL (`scheme:`), per RFC 3986's scheme syntax.
fn url_scheme(s: &str) -> Option<&str> {
    let colon = s.find(':')?;
    let scheme = &s[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

fn fetch_url(url: &str) -> Result<Vec<u8>> {
    let scheme = url_scheme(url).unwrap_or("").to_ascii_lowercase();
    match scheme.as_str() {
        "file" => {
            let rest = &url[scheme.len() + 1..];
            let path = rest.strip_prefix("//").unwrap_or(rest);
            read_limited(std::path::Path::new(path), path)
                .with_context(|| format!("cannot fetch {url:?}"))
        }
        "http" => {
            eprintln!(
                "warning: fetching the certificate over plain http: anyone on the network path can \
                 replace it with their own; use https:// or a certificate file"
            );
            fetch_http(url)
        }
        "https" => fetch_http(url),
        other => bail!("cannot fetch {url:?}: unsupported protocol scheme {other:?}"),
    }
}

fn fetch_http(url: &str) -> Result<Vec<u8>> {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent();
    let mut response = agent
        .get(url)
        .header("Accept", "application/x-pem-file, */*")
        .call()
        .with_context(|| format!("cannot fetch {url:?}"))?;
    let status = response.status();
    if status != 200 {
        bail!(
            "cannot fetch {url:?}: {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_CERT_BYTES)
        .read_to_vec()
        .with_context(|| format!("cannot fetch {url:?}"))
}

/// A date as Go's `"January 2, 2006"` layout writes it, in UTC.
pub fn go_long_date(t: SystemTime) -> String {
    match jiff::Timestamp::try_from(t) {
        Ok(ts) => ts
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%B %-d, %Y")
            .to_string(),
        Err(_) => "an unrepresentable date".to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        let none = ConnectionFlags::default();
        assert_eq!(
            CertSource::from_flag("cert.pem", "ns", "n", &none),
            CertSource::File("cert.pem".into())
        );
        assert_eq!(
            CertSource::from_flag("C:\\certs\\c.pem", "ns", "n", &none),
            CertSource::File("C:\\certs\\c.pem".into())
        );
        assert_eq!(
            CertSource::from_flag("./a:b", "ns", "n", &none),
            CertSource::File("./a:b".into())
        );
        assert_eq!(
            CertSource::from_flag("https://example.invalid/v1/cert.pem", "ns", "n", &none),
            CertSource::Url("https://example.invalid/v1/cert.pem".into())
        );
        assert_eq!(
            CertSource::from_flag("", "kube-system", "sealed-secrets-controller", &none),
            CertSource::Controller(Box::new(Controller {
                namespace: "kube-system".into(),
                name: "sealed-secrets-controller".into(),
                connection: ConnectionFlags::default(),
            }))
        );
    }

    #[test]
    fn unsupported_scheme() {
        let err = CertSource::Url("ftp://x/cert.pem".into())
            .fetch()
            .unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "cannot fetch \"ftp://x/cert.pem\": unsupported protocol scheme \"ftp\""
        );
    }

    #[test]
    fn huge_files_are_refused_without_reading_them_whole() {
        let err = CertSource::File("/dev/zero".into()).fetch().unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "/dev/zero is larger than 1 MiB: it is not a certificate"
        );
        let err = CertSource::Url("file:///dev/zero".into())
            .fetch()
            .unwrap_err();
        assert!(
            format!("{err:#}").ends_with("/dev/zero is larger than 1 MiB: it is not a certificate")
        );
    }

    #[test]
    fn not_yet_valid_certificates_are_refused() {
        let key = sealed_secrets::keys::PrivateKey::generate(2048).unwrap();
        let start = SystemTime::now() + Duration::from_secs(86_400 * 3);
        let cert =
            Certificate::self_signed(&key, "", start, Duration::from_secs(86_400 * 30)).unwrap();
        let err = parse_cert(cert.to_pem().as_bytes(), SystemTime::now()).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("the certificate is not valid yet: it starts on "),
            "{err:#}"
        );
        assert!(parse_cert(cert.to_pem().as_bytes(), start + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn go_dates() {
        use std::time::UNIX_EPOCH;
        let at = |secs: u64| go_long_date(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "January 1, 1970");
        assert_eq!(at(1_136_214_245), "January 2, 2006");
        assert_eq!(at(951_782_400), "February 29, 2000");
        assert_eq!(at(4_102_444_799), "December 31, 2099");
    }
}
