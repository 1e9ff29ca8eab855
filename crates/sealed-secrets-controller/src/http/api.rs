//! The handlers of the main HTTP server (docs/upstream-behavior.md, "The controller"; our
//! differences are in docs/controller.md and docs/security.md).
//!
//! - `GET /healthz`: liveness, always `ok`.
//! - `GET /readyz`: 200 once keys are loaded and, on the leader, the reconcile watches have
//!   synced; a follower only needs the keys (it serves the API, not the reconciles). Once ready,
//!   a replica stays ready when it becomes the leader, so a failover never leaves the Service
//!   without endpoints. 503 saying why otherwise.
//! - `GET /v1/cert.pem`: the latest key's certificate (one PEM block).
//! - `POST /v1/verify`: a YAML/JSON stream of SealedSecrets (Lists and several documents
//!   accepted): 200 if every value of every one decrypts, 409 naming the first object and item
//!   that does not, 400 if the body is not SealedSecrets. Nothing else: no template is parsed or
//!   rendered, and the decrypted values are wiped at once (see `docs/security.md`).
//! - `POST /v1/rotate`: one SealedSecret, re-encrypted with the latest key. The scope is read from
//!   the top-level annotations only and never changes (CVE-2026-22728); template metadata and
//!   `template.data` are kept as they are; 409 if it cannot be decrypted, 400 if malformed.
//!
//! Until the first key exists (a fresh install generates it at startup), `cert.pem`, `verify`
//! and `rotate` answer 503 with `Retry-After`. Verify and rotate are rate-limited per client
//! ([`super::client`]), run on their own pool with a budget of RSA attempts per request, and stop
//! when the request is cancelled ([`crate::unsealer`]); 503 when that pool is saturated.
//!
//! Bodies of error answers are one line of text, never secret values.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sealed_secrets::SealedSecret;
use sealed_secrets::manifest::parse_sealed_secrets;
use sealed_secrets::seal::reseal;

use super::client::TrustedProxies;
use super::ratelimit::RateLimiter;
use crate::keys::KeyRegistry;
use crate::unsealer::{CancelOnDrop, UnsealFailure, Unsealer};

/// Headers to add to a response (the rate limit's).
type ResponseHeaders = Vec<(&'static str, String)>;

/// What the handlers share.
pub struct ApiState {
    /// Keys.
    pub registry: Arc<KeyRegistry>,
    /// The unsealing pool.
    pub unsealer: Unsealer,
    /// Limits verify and rotate.
    pub limiter: RateLimiter,
    /// Whose `X-Forwarded-For` counts.
    pub trusted: Arc<TrustedProxies>,
    /// Set once every reconcile watch has synced (as the leader).
    pub watches_synced: Arc<AtomicBool>,
    /// True while this replica leads.
    pub leading: tokio::sync::watch::Receiver<bool>,
    /// Set the first time `/readyz` answers 200.
    pub ready_once: AtomicBool,
}

/// Seconds a client should wait while there is no key yet.
const NO_KEY_RETRY_AFTER: &str = "5";

/// The 503 answer while no sealing key exists.
fn no_key_yet() -> Response {
    let mut response = text(
        StatusCode::SERVICE_UNAVAILABLE,
        "no sealing key yet: the controller is generating its first key; try again in a few seconds\n",
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from_static(NO_KEY_RETRY_AFTER),
    );
    response
}

/// The 503 answer while the HTTP pool is saturated.
fn busy() -> Response {
    let mut response = text(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many requests are being served; try again shortly\n",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    response
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

/// `GET /healthz`.
pub async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n")
}

/// `GET /readyz`.
pub async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    if !state.registry.is_synced() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: key secrets not loaded yet\n",
        );
    }
    if state.registry.is_empty() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no sealing key\n",
        );
    }
    let leading = *state.leading.borrow();
    if leading
        && !state.watches_synced.load(Ordering::Acquire)
        && !state.ready_once.load(Ordering::Acquire)
    {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: watches not synced yet\n",
        );
    }
    state.ready_once.store(true, Ordering::Release);
    text(StatusCode::OK, "ok\n")
}

/// `GET /v1/cert.pem`.
pub async fn cert(State(state): State<Arc<ApiState>>) -> Response {
    match state.registry.latest() {
        Some(latest) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            latest.cert.to_pem(),
        )
            .into_response(),
        None => no_key_yet(),
    }
}

/// Applies the rate limit of `path` to the request's client; the client (its address) and the
/// rate-limit headers, or `Err` with the 429 answer.
fn limit(
    state: &ApiState,
    peer: SocketAddr,
    headers: &HeaderMap,
    path: &str,
) -> Result<(String, ResponseHeaders), Box<Response>> {
    let client = state.trusted.client(peer.ip(), headers);
    let decision = state
        .limiter
        .check(&RateLimiter::key(client, path), std::time::Instant::now());
    let headers = decision.headers();
    if decision.allowed {
        Ok((client.to_string(), headers))
    } else {
        let mut response = text(StatusCode::TOO_MANY_REQUESTS, "limit exceeded\n");
        add_headers(&mut response, &headers);
        Err(Box::new(response))
    }
}

fn add_headers(response: &mut Response, headers: &[(&'static str, String)]) {
    for (name, value) in headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(*name, value);
        }
    }
}

fn parse_body(body: &[u8]) -> Result<Vec<SealedSecret>, Box<Response>> {
    match parse_sealed_secrets(body) {
        Ok(docs) if docs.is_empty() => Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            "no SealedSecret in the request body\n",
        ))),
        Ok(docs) => Ok(docs.into_iter().map(|(_, sealed)| sealed).collect()),
        Err(error) => Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            format!("{}\n", crate::error_text::error_chain(&error)),
        ))),
    }
}

/// `POST /v1/verify`.
pub async fn verify(
    State(state): State<Arc<ApiState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (client, rate) = match limit(&state, peer, &headers, "/v1/verify") {
        Ok(allowed) => allowed,
        Err(denied) => return *denied,
    };
    let mut response = match parse_body(&body) {
        Err(response) => *response,
        Ok(_) if state.registry.is_empty() => no_key_yet(),
        Ok(objects) => {
            // Dropped (and so cancelling the work) if the request times out or the client leaves.
            let cancel = CancelOnDrop::default();
            match state.unsealer.verify(&client, objects, cancel.flag()).await {
                Ok(()) => text(StatusCode::OK, ""),
                Err((_, UnsealFailure::Busy)) => busy(),
                Err((_, UnsealFailure::Task)) => {
                    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
                }
                Err((name, UnsealFailure::Unseal(error))) if error.is_over_budget() => text(
                    StatusCode::BAD_REQUEST,
                    format!("{name}: {error}; or verify fewer objects per request\n"),
                ),
                Err((name, UnsealFailure::Unseal(error))) => {
                    text(StatusCode::CONFLICT, format!("{name}: {error}\n"))
                }
            }
        }
    };
    add_headers(&mut response, &rate);
    response
}

/// `POST /v1/rotate`.
pub async fn rotate(
    State(state): State<Arc<ApiState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (client, rate) = match limit(&state, peer, &headers, "/v1/rotate") {
        Ok(allowed) => allowed,
        Err(denied) => return *denied,
    };
    let mut response = match parse_body(&body) {
        Err(response) => *response,
        Ok(mut objects) if objects.len() == 1 => match objects.pop() {
            Some(sealed) => rotate_one(&state, &client, sealed).await,
            None => text(
                StatusCode::BAD_REQUEST,
                "no SealedSecret in the request body\n",
            ),
        },
        Ok(objects) => text(
            StatusCode::BAD_REQUEST,
            format!(
                "expected one SealedSecret, got {}: re-encrypt them one at a time\n",
                objects.len()
            ),
        ),
    };
    add_headers(&mut response, &rate);
    response
}

async fn rotate_one(state: &ApiState, client: &str, sealed: SealedSecret) -> Response {
    let Some(latest) = state.registry.latest() else {
        return no_key_yet();
    };
    let name = sealed.display_name();
    // Decrypt the encrypted items only: templates are carried over untouched, not flattened.
    let cancel = CancelOnDrop::default();
    let unsealed = match state
        .unsealer
        .decrypt_items(client, sealed.clone(), cancel.flag())
        .await
    {
        Ok(unsealed) => unsealed,
        Err(UnsealFailure::Busy) => return busy(),
        Err(UnsealFailure::Task) => {
            return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
        }
        Err(UnsealFailure::Unseal(error)) if error.is_undecryptable() => {
            return text(StatusCode::CONFLICT, format!("{name}: {error}\n"));
        }
        Err(UnsealFailure::Unseal(error)) => {
            return text(StatusCode::BAD_REQUEST, format!("{name}: {error}\n"));
        }
    };
    let public = latest.key.public_key().clone();
    let resealed = tokio::task::spawn_blocking(move || {
        reseal(&mut rand::rngs::OsRng, &sealed, unsealed.secret(), &public)
    })
    .await;
    match resealed {
        Ok(Ok(rotated)) => match serde_json::to_vec(&rotated) {
            Ok(json) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                json,
            )
                .into_response(),
            Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
        },
        Ok(Err(error)) => text(StatusCode::BAD_REQUEST, format!("{name}: {error}\n")),
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
    }
}
