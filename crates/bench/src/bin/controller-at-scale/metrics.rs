//! The controllers' Prometheus metrics.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// `GET /metrics` (HTTP/1.1, `Connection: close`; Go's chunked bodies decoded).
pub async fn get(addr: SocketAddr) -> anyhow::Result<String> {
    let mut stream = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    .context("connect timeout")??;
    stream
        .write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut raw = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_string(&mut raw),
    )
    .await
    .context("read timeout")??;
    let (head, body) = raw.split_once("\r\n\r\n").context("no HTTP body")?;
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok(body.to_owned());
    }
    let mut out = String::new();
    let mut rest = body;
    loop {
        let (size, after) = rest.split_once("\r\n").context("bad chunk")?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(after.get(..size).context("short chunk")?);
        rest = after[size..]
            .strip_prefix("\r\n")
            .context("bad chunk end")?;
    }
}

/// The sum of a metric over its label sets (0 when absent).
pub use sealed_secrets_test_support::metrics::metric_value as value;
