//! The two HTTP servers: the API on `--listen-addr` (default `:8080`) and `/metrics` on
//! `--listen-metrics-addr` (default `:8081`).
//!
//! Routing is by exact path and method: a known path with the wrong method answers 405 (with
//! `Allow`), anything else 404 `404 page not found`. Requests to `/v1/cert.pem`, `/v1/verify`
//! and `/v1/rotate` are counted in `sealed_secrets_controller_http_requests_total` and timed in
//! `sealed_secrets_controller_http_request_duration_seconds`. Each request is bounded by
//! `--write-timeout` (answering 408 past it). Both servers drain in-flight requests on shutdown.

pub mod api;
pub mod ratelimit;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::timeout::TimeoutLayer;

use crate::metrics::{HttpDurationLabels, HttpLabels, Metrics};

pub use api::ApiState;

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
    /// The server failed while running.
    #[error("HTTP server on {addr} failed")]
    Serve {
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

/// Serves `router` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: tokio::net::TcpListener,
    addr: String,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    tracing::info!(addr = %addr, "HTTP server serving");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| ServeError::Serve { addr, source })
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_style_addresses() {
        assert_eq!(super::bind_address(":8080"), "0.0.0.0:8080");
        assert_eq!(super::bind_address("127.0.0.1:1"), "127.0.0.1:1");
    }
}
