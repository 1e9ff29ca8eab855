//! The Events recorded about one object.

use anyhow::anyhow;
use k8s_openapi::api::core::v1::Event;
use kube::api::ListParams;
use kube::{Api, Client};
use sealed_secrets_test_support::wait::{DEFAULT_TIMEOUT, wait_for};

/// The Events about object `name` in `namespace`.
async fn list(client: &Client, namespace: &str, name: &str) -> anyhow::Result<Vec<Event>> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().fields(&format!("involvedObject.name={name}"));
    Ok(api.list(&params).await?.items)
}

/// (type, reason, message) of the Events about object `name` in `namespace`.
pub async fn events(
    client: &Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Vec<(String, String, String)>> {
    Ok(list(client, namespace, name)
        .await?
        .into_iter()
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default(),
            )
        })
        .collect())
}

/// Waits for an Event with `reason` (and a message containing `needle`) about `name`.
pub async fn wait_event(
    client: &Client,
    namespace: &str,
    name: &str,
    reason: &str,
    needle: &str,
) -> anyhow::Result<()> {
    wait_for(
        &format!("event {reason} on {namespace}/{name}"),
        DEFAULT_TIMEOUT,
        || async {
            let all = events(client, namespace, name).await?;
            if all
                .iter()
                .any(|(_, r, m)| r == reason && m.contains(needle))
            {
                Ok(Some(()))
            } else {
                Err(anyhow!("events so far: {all:?}"))
            }
        },
    )
    .await
}

/// Waits until the Events with `reason` about `name` count `at_least` occurrences (an Event's `count`
/// included: repeated Events are aggregated).
pub async fn wait_event_count(
    client: &Client,
    namespace: &str,
    name: &str,
    reason: &str,
    at_least: i32,
) -> anyhow::Result<()> {
    wait_for(&format!("{reason} events"), DEFAULT_TIMEOUT, || async {
        let count: i32 = list(client, namespace, name)
            .await?
            .iter()
            .filter(|e| e.reason.as_deref() == Some(reason))
            .map(|e| e.count.unwrap_or(1))
            .sum();
        Ok((count >= at_least).then_some(()))
    })
    .await
}
