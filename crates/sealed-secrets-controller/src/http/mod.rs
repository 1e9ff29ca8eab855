//! The two HTTP servers: the API on `--listen-addr` (default `:8080`) and `/metrics` on
//! `--listen-metrics-addr` (default `:8081`).
//!
//! Routing is by exact path and method: a known path with the wrong method answers 405 (with
//! `Allow`), anything else 404 `404 page not found`. Requests to `/v1/cert.pem`, `/v1/verify`
//! and `/v1/rotate` are counted in `sealed_secrets_controller_http_requests_total` and timed in
//! `sealed_secrets_controller_http_request_duration_seconds`. Each request is bounded by
//! `--write-timeout` (answering 408 past it). Both servers drain in-flight requests on shutdown.
//!
//! Both servers run on [`serve`], an accept loop with limits that `axum::serve` lacks: at most
//! [`MAX_CONNECTIONS`] open connections, [`MAX_CONNECTIONS_PER_PEER`] of them from one address
//! (trusted proxies excepted), and a header-read timeout ([`ServerLimits::header_timeout`]) that
//! closes a connection whose request head does not arrive in time, also an idle keep-alive one.
//! So slow or half-sent requests cannot pile up.

pub mod api;
pub mod client;
pub mod ratelimit;

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::timeout::TimeoutLayer;

use crate::metrics::{HttpDurationLabels, HttpLabels, Metrics};

pub use api::ApiState;

/// The two HTTP servers.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Address of the API server (`host:port`, `:port` meaning every interface).
    pub listen_addr: String,
    /// Address of the metrics server.
    pub metrics_addr: String,
    /// Time limit to read a request.
    pub read_timeout: Duration,
    /// Time limit to answer a request.
    pub write_timeout: Duration,
    /// Sustained requests per second per client on /v1/verify and /v1/rotate.
    pub rate_limit: NonZeroU32,
    /// Extra requests allowed at once.
    pub rate_limit_burst: u32,
    /// Peers whose `X-Forwarded-For` is believed (`--trusted-proxies`).
    pub trusted_proxies: std::sync::Arc<crate::http::client::TrustedProxies>,
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address as given.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Turns Go's `:8080` into `0.0.0.0:8080`; other forms are used as given.
pub fn bind_address(addr: &str) -> String {
    match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => addr.to_owned(),
    }
}

/// Binds `addr` (before serving, so a bad address fails startup).
pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(bind_address(addr))
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_owned(),
            source,
        })
}

/// The API router.
pub fn api_router(state: Arc<ApiState>, metrics: Metrics, timeout: std::time::Duration) -> Router {
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/v1/cert.pem", get(api::cert))
        .route("/v1/verify", axum::routing::post(api::verify))
        .route("/v1/rotate", axum::routing::post(api::rotate))
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn_with_state(metrics, instrument))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
}

/// The metrics router.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .fallback(not_found)
        .with_state(metrics)
}

async fn serve_metrics(State(metrics): State<Metrics>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
        .into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "404 page not found\n",
    )
        .into_response()
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "get",
        Method::POST => "post",
        Method::PUT => "put",
        Method::DELETE => "delete",
        Method::HEAD => "head",
        Method::PATCH => "patch",
        Method::OPTIONS => "options",
        Method::CONNECT => "connect",
        Method::TRACE => "trace",
        _ => "unknown",
    }
}

/// Counts and times the instrumented paths.
async fn instrument(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let path = match request.uri().path() {
        "/v1/cert.pem" => "/v1/cert.pem",
        "/v1/verify" => "/v1/verify",
        "/v1/rotate" => "/v1/rotate",
        _ => return next.run(request).await,
    };
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            path,
            code: response.status().as_u16().to_string(),
            method,
        })
        .inc();
    metrics
        .http_duration
        .get_or_create(&HttpDurationLabels { path, method })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Open connections a server accepts at most; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 512;
/// Open connections one address may hold (trusted proxies excepted).
pub const MAX_CONNECTIONS_PER_PEER: usize = 32;
/// How long shutdown waits for open connections to finish.
const DRAIN: Duration = Duration::from_secs(10);

/// Connection limits of a server.
#[derive(Clone)]
pub struct ServerLimits {
    /// Time allowed for a request head (request line and headers) to arrive, from the moment
    /// the connection waits for one.
    pub header_timeout: Duration,
    /// Peers exempt from the per-address cap (the API server proxies many clients).
    pub trusted: Arc<client::TrustedProxies>,
}

/// Counts connections per peer address.
#[derive(Default)]
struct PerPeer(Mutex<HashMap<IpAddr, usize>>);

/// One counted connection; uncounted when dropped.
struct PeerSlot {
    peers: Arc<PerPeer>,
    ip: IpAddr,
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut peers = self
            .peers
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = peers.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                peers.remove(&self.ip);
            }
        }
    }
}

impl PerPeer {
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<PeerSlot> {
        let mut peers = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = peers.entry(ip).or_insert(0);
        if *n >= MAX_CONNECTIONS_PER_PEER {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            peers: self.clone(),
            ip,
        })
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains open connections (for at
/// most ten seconds). Handlers can read the peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    addr: String,
    router: Router,
    limits: ServerLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    tracing::info!(addr = %addr, "HTTP server serving");
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let peers = Arc::new(PerPeer::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(addr = %addr, error = %error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let ip = client::canonical(peer.ip());
        let counted = if limits.trusted.trusts(ip) {
            None
        } else {
            match peers.take(ip) {
                Some(slot) => Some(slot),
                None => {
                    tracing::debug!(peer = %ip, "too many connections from one address; closing");
                    continue;
                }
            }
        };
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            router.clone(),
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        ));
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _permit = permit;
            let _counted = counted;
            // A reset or timed-out connection is the client's business, not an error of ours.
            let _ = connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(addr = %addr, "connections still open after shutdown; closing them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_style_addresses() {
        assert_eq!(super::bind_address(":8080"), "0.0.0.0:8080");
        assert_eq!(super::bind_address("127.0.0.1:1"), "127.0.0.1:1");
    }
}
