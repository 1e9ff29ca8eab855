//! Kubernetes Events: upstream's reasons (`Unsealed`, `ErrUnsealFailed`, `ErrUpdateFailed`) on
//! SealedSecrets, and `ErrKeyInvalid` on malformed key Secrets.
//!
//! Events are core/v1 Events with source component `sealed-secrets`, as upstream writes them, so
//! the RBAC of upstream's manifests and Helm chart (core `events` create/patch) is enough; kube's
//! `Recorder` writes events.k8s.io/v1 Events, which that RBAC does not allow. A repeat of the same
//! event (object, type, reason, message) within ten minutes increments `count` and
//! `lastTimestamp` of the existing Event instead of creating a new one. Publishing never fails a
//! reconcile: a rejected event is logged at warn level once. Every event is also logged.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};

/// Repeats within this window are aggregated into one Event.
const AGGREGATION_WINDOW: Duration = Duration::from_secs(600);
/// Event source component (upstream's).
const COMPONENT: &str = "sealed-secrets";

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

/// Event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Informational.
    Normal,
    /// Something failed.
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Expired entries of the aggregation cache are dropped at most this often.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Hash of (namespace, kind, name, uid, type, reason, message) of an event, for aggregation. A hash
/// rather than the strings themselves keeps the cache small (one entry per object unsealed within
/// the window, i.e. every SealedSecret after a start); it is keyed randomly per process, so nobody
/// can craft two events that share an entry.
type EventKey = u64;

/// Name, count and time of the last publication of an aggregated event.
type Published = (String, i32, Instant);

/// The aggregation cache: the last publication per event, and when expired ones were last dropped.
struct Recent {
    hasher: RandomState,
    published: HashMap<EventKey, Published>,
    pruned: Instant,
}

impl Recent {
    fn key(&self, parts: (&str, &str, &str, &str, EventType, &str, &str)) -> EventKey {
        self.hasher.hash_one(parts)
    }

    /// The last publication of `key` within the window.
    fn get(&mut self, key: EventKey) -> Option<Published> {
        if self.pruned.elapsed() >= PRUNE_INTERVAL {
            self.published
                .retain(|_, (_, _, at)| at.elapsed() < AGGREGATION_WINDOW);
            self.published.shrink_to_fit();
            self.pruned = Instant::now();
        }
        self.published
            .get(&key)
            .filter(|(_, _, at)| at.elapsed() < AGGREGATION_WINDOW)
            .cloned()
    }
}

impl Default for Recent {
    fn default() -> Self {
        Recent {
            hasher: RandomState::new(),
            published: HashMap::new(),
            pruned: Instant::now(),
        }
    }
}

/// Publishes events; cheap to clone.
#[derive(Clone)]
pub struct Events {
    client: Client,
    host: Option<String>,
    /// Event name, count and time of the last publication, per key.
    recent: Arc<Mutex<Recent>>,
    /// Set after the first rejected publication, so a missing permission is reported once.
    warned: Arc<std::sync::atomic::AtomicBool>,
}

impl Events {
    /// A publisher reporting as `sealed-secrets` from `host` (the pod name when known).
    pub fn new(client: Client, host: Option<String>) -> Events {
        Events {
            client,
            host,
            recent: Arc::default(),
            warned: Arc::default(),
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
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let name = regarding.name.clone().unwrap_or_default();
        let kind = regarding.kind.clone().unwrap_or_default();
        let message = truncate(message, 1000);
        tracing::info!(object = %format!("{kind}/{namespace}/{name}"), event_type = type_.as_str(), reason,
            message = %message, "Event");
        let now = Time(jiff::Timestamp::now());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let key;
        let previous = {
            let mut recent = self
                .recent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            key = recent.key((
                &namespace,
                &kind,
                &name,
                regarding.uid.as_deref().unwrap_or_default(),
                type_,
                reason,
                &message,
            ));
            recent.get(key)
        };
        let result = match previous {
            Some((event_name, count, _)) => {
                let patch = serde_json::json!({ "count": count + 1, "lastTimestamp": now });
                api.patch(&event_name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| (event_name, count + 1))
            }
            None => {
                let event = Event {
                    metadata: ObjectMeta {
                        name: Some(format!(
                            "{name}.{:x}",
                            jiff::Timestamp::now().as_nanosecond()
                        )),
                        namespace: Some(namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    involved_object: regarding.clone(),
                    reason: Some(reason.to_owned()),
                    message: Some(message.clone()),
                    type_: Some(type_.as_str().to_owned()),
                    count: Some(1),
                    first_timestamp: Some(now.clone()),
                    last_timestamp: Some(now),
                    source: Some(EventSource {
                        component: Some(COMPONENT.to_owned()),
                        host: self.host.clone(),
                    }),
                    reporting_component: Some(COMPONENT.to_owned()),
                    reporting_instance: self.host.clone(),
                    ..Event::default()
                };
                api.create(&PostParams::default(), &event)
                    .await
                    .map(|created| (created.metadata.name.unwrap_or_default(), 1))
            }
        };
        match result {
            Ok((event_name, count)) => {
                let mut recent = self
                    .recent
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                recent
                    .published
                    .insert(key, (event_name, count, Instant::now()));
            }
            Err(error) => {
                if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    tracing::warn!(namespace = %namespace, reason, error = %error, "could not publish event");
                } else {
                    tracing::debug!(namespace = %namespace, reason, error = %error, "could not publish event");
                }
                // A patch of an Event that expired is retried as a new Event next time.
                let mut recent = self
                    .recent
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                recent.published.remove(&key);
            }
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
    use super::*;

    #[test]
    fn aggregation_key_tells_events_apart() {
        let mut recent = Recent::default();
        let parts = (
            "ns",
            "SealedSecret",
            "s",
            "uid-1",
            EventType::Normal,
            UNSEALED,
            "m",
        );
        let key = recent.key(parts);
        assert_eq!(key, recent.key(parts));
        assert_ne!(
            key,
            recent.key((
                "ns",
                "SealedSecret",
                "s",
                "uid-2",
                EventType::Normal,
                UNSEALED,
                "m"
            ))
        );
        assert_ne!(
            key,
            recent.key((
                "ns",
                "SealedSecret",
                "s",
                "uid-1",
                EventType::Warning,
                UNSEALED,
                "m"
            ))
        );
        assert_ne!(
            key,
            recent.key((
                "ns",
                "SealedSecret",
                "s",
                "uid-1",
                EventType::Normal,
                UNSEALED,
                "n"
            ))
        );
        assert_eq!(recent.get(key), None);
        recent
            .published
            .insert(key, ("s.1".to_owned(), 1, Instant::now()));
        assert_eq!(
            recent.get(key).map(|(name, count, _)| (name, count)),
            Some(("s.1".to_owned(), 1))
        );
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(super::truncate("abc", 10), "abc");
        assert_eq!(super::truncate("ééé", 3), "é…");
    }
}
