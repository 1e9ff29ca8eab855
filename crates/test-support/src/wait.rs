//! Polling helpers with timeouts and failure messages that say what was awaited and what was last seen.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

/// Default timeout for waits in tests (Bitnami's integration tests use 15 s; the 2-core CI machine is slower).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Polling interval of [`wait_for`].
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Polls `check` every [`POLL_INTERVAL`] until it returns `Ok(Some(value))`, or fails after `timeout`.
///
/// `Ok(None)` means "not yet"; `Err(e)` also means "not yet", and the last such error is part of the timeout
/// message, so a check can explain what it saw: `Err(anyhow!("status is {status:?}"))`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let start = Instant::now();
    let mut last: Option<anyhow::Error> = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = Some(e),
        }
        if start.elapsed() >= timeout {
            return Err(match last {
                Some(e) => anyhow!(
                    "timed out after {timeout:?} waiting for {what}; last observation: {e:#}"
                ),
                None => anyhow!("timed out after {timeout:?} waiting for {what}"),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Waits until Secret `namespace/name` exists and returns it.
pub async fn wait_for_secret(
    client: &Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> anyhow::Result<Secret> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    wait_for(&format!("Secret {namespace}/{name}"), timeout, || async {
        Ok(api.get_opt(name).await?)
    })
    .await
}

/// Waits until Secret `namespace/name` no longer exists.
pub async fn wait_for_secret_gone(
    client: &Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    wait_for(
        &format!("Secret {namespace}/{name} to be deleted"),
        timeout,
        || async {
            match api.get_opt(name).await? {
                None => Ok(Some(())),
                Some(s) => Err(anyhow!(
                    "still present (deletionTimestamp {:?})",
                    s.metadata.deletion_timestamp
                )),
            }
        },
    )
    .await
}

/// A Secret's `data` as UTF-8 strings (lossy), for assertions.
pub fn secret_string_data(secret: &Secret) -> std::collections::BTreeMap<String, String> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect()
}
