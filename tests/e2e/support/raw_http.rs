//! One HTTP/1.1 request over a fresh connection to a local address: the controller's API and metrics directly
//! (not through the service proxy), with chosen headers and, for rate-limit tests, a chosen source address.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

/// How long a request may take, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP answer.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// Body as text (de-chunked).
    pub body: String,
}

/// Where a request goes: a `SocketAddr`, or `(from, to)` to send it from local address `from` (so the server
/// sees that peer).
pub struct Route {
    from: Option<IpAddr>,
    to: SocketAddr,
}

impl From<SocketAddr> for Route {
    fn from(to: SocketAddr) -> Self {
        Route { from: None, to }
    }
}

impl From<(IpAddr, SocketAddr)> for Route {
    fn from((from, to): (IpAddr, SocketAddr)) -> Self {
        Route {
            from: Some(from),
            to,
        }
    }
}

/// `method path` with `headers` and `body`, over a fresh connection along `route`.
pub async fn http(
    route: impl Into<Route>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<HttpResponse> {
    let Route { from, to } = route.into();
    let socket = if to.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(from) = from {
        socket.bind(SocketAddr::new(from, 0))?;
    }
    let stream = socket
        .connect(to)
        .await
        .with_context(|| format!("connecting to {to}"))?;
    exchange(stream, to, method, path, headers, body).await
}

async fn exchange(
    mut stream: TcpStream,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<HttpResponse> {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(REQUEST_TIMEOUT, stream.read_to_end(&mut raw))
        .await
        .context("HTTP timeout")??;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("no HTTP header end in {text:?}"))?;
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status in {text:?}"))?;
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
