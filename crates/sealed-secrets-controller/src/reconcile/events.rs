//! Kubernetes Events: upstream's reasons (`Unsealed`, `ErrUnsealFailed`, `ErrUpdateFailed`) on
//! SealedSecrets, and `ErrKeyInvalid` on malformed key Secrets.
//!
//! Events are published through kube's [`Recorder`] (events.k8s.io/v1, reporting controller
//! `sealed-secrets`, which aggregates repeats into a series). Publishing never fails a reconcile:
//! a rejected event is logged at debug level. Every event is also logged.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// `Normal` reason after a Secret was created or updated.
pub const UNSEALED: &str = "Unsealed";
/// `Warning` reason when decryption or templating failed.
pub const ERR_UNSEAL_FAILED: &str = "ErrUnsealFailed";
/// `Warning` reason when the Secret could not be read, created or updated.
pub const ERR_UPDATE_FAILED: &str = "ErrUpdateFailed";
/// `Warning` reason on a key Secret that could not be read.
pub const ERR_KEY_INVALID: &str = "ErrKeyInvalid";
/// Message of [`UNSEALED`] events.
pub const UNSEALED_MESSAGE: &str = "SealedSecret unsealed successfully";

/// Publishes events; cheap to clone.
#[derive(Clone)]
pub struct Events {
    recorder: std::sync::Arc<Recorder>,
}

impl Events {
    /// A recorder reporting as `sealed-secrets`, instance `instance` (the pod name when known).
    pub fn new(client: Client, instance: Option<String>) -> Events {
        let reporter = Reporter {
            controller: "sealed-secrets".to_owned(),
            instance,
        };
        Events {
            recorder: std::sync::Arc::new(Recorder::new(client, reporter)),
        }
    }

    /// Publishes a `Normal` event.
    pub async fn normal(&self, regarding: &ObjectReference, reason: &str, message: &str) {
        self.publish(regarding, EventType::Normal, reason, message)
            .await;
    }

    /// Publishes a `Warning` event.
    pub async fn warning(&self, regarding: &ObjectReference, reason: &str, message: &str) {
        self.publish(regarding, EventType::Warning, reason, message)
            .await;
    }

    async fn publish(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        message: &str,
    ) {
        let object = format!(
            "{}/{}/{}",
            regarding.kind.as_deref().unwrap_or_default(),
            regarding.namespace.as_deref().unwrap_or_default(),
            regarding.name.as_deref().unwrap_or_default()
        );
        tracing::info!(%object, event_type = ?type_, reason, message, "Event");
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(truncate(message, 1000)),
            action: if type_ == EventType::Normal {
                "Unseal"
            } else {
                "Reconcile"
            }
            .to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, regarding).await {
            tracing::debug!(%object, reason, error = %error, "could not publish event");
        }
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary (events.k8s.io limits notes to 1 kB).
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(super::truncate("abc", 10), "abc");
        assert_eq!(super::truncate("ééé", 3), "é…");
    }
}
