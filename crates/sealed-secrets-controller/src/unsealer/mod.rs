//! Unsealing off the async reactor, in two bounded pools of blocking tasks.
//!
//! RSA-4096 decryption costs milliseconds per value, so it never runs on the async thread that
//! drives watches and the HTTP server:
//! - reconciles unseal on [`fair::FairSlots`] (one slot per CPU), shared round-robin between
//!   namespaces, so one namespace's expensive objects never hold every slot while another's
//!   wait;
//! - HTTP requests (`/v1/verify`, `/v1/rotate`) run on their own small pool (half the CPUs, at
//!   least one slot), so reconciliation never waits behind the API. Its slots are shared
//!   round-robin between clients (by address), so one client's requests never hold the pool while
//!   another's wait; when a client already has [`HTTP_QUEUE_PER_CLIENT`] requests waiting, or
//!   [`HTTP_QUEUE`] wait in all, a request is refused at once ([`UnsealFailure::Busy`], answered
//!   503) instead of queueing without bound.
//!
//! Every call is bounded by [`Limits`]: [`sealed_secrets::unseal::DEFAULT_RSA_OPERATIONS`] RSA
//! attempts per object in a
//! reconcile, [`HTTP_RSA_OPERATIONS`] per *request* over all its objects on the HTTP pool, and one
//! template budget per object. HTTP work stops at the next RSA operation once its request is
//! cancelled (the client went away or the request timed out).
//!
//! Key order (see [`crate::keys::KeyRegistry::keys_in_try_order`]): the key named by the
//! SealedSecret's key hint annotation (kubeseal writes it), then the key that opened the object's
//! first value the last time (the reconciler reads it from the Secret's integrity annotation),
//! then the remaining keys newest first. Within one object, the key that opened a value is tried
//! first for the next ones (the format library does that), so an object sealed with one key costs
//! one RSA operation per value when hinted, and `keys + values - 1` at worst when not (objects
//! sealed by upstream's kubeseal carry no hint). Every unseal feeds
//! `sealed_secrets_controller_rsa_decrypt_operations_total` and
//! `sealed_secrets_controller_unseal_duration_seconds`.

pub mod fair;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sealed_secrets::SealedSecret;
use sealed_secrets::keys::{Fingerprint, PrivateKey};
use sealed_secrets::names::KEY_HINT_ANNOTATION;
use sealed_secrets::unseal::{
    Budget, Limits, NoTemplates, UnsealError, UnsealOptions, UnsealStats, UnsealedSecret,
    unseal_counted, verify,
};

use self::fair::FairSlots;
use crate::keys::KeyRegistry;
use crate::keys::registry::KeyEntry;
use crate::metrics::Metrics;
use crate::templates::GoTemplates;

/// Requests that may wait for the HTTP pool at once; more are refused with 503.
pub const HTTP_QUEUE: usize = 64;
/// Requests of one client that may wait for the HTTP pool at once.
pub const HTTP_QUEUE_PER_CLIENT: usize = 2;
/// RSA attempts one HTTP request may spend over all its objects: about a second of RSA-4096 on
/// one core, enough for an object of 512 values with a key hint (kubeseal sends one object per
/// request).
pub const HTTP_RSA_OPERATIONS: u64 = 512;

/// Why an unseal did not produce a Secret.
#[derive(Debug, thiserror::Error)]
pub enum UnsealFailure {
    /// The SealedSecret could not be unsealed.
    #[error(transparent)]
    Unseal(#[from] UnsealError),
    /// The blocking task panicked or was cancelled.
    #[error("unsealing task failed")]
    Task,
    /// Too many HTTP requests wait for the pool already.
    #[error("too many requests are being served; try again shortly")]
    Busy,
}

/// Requests waiting for the HTTP pool, in all and per client.
#[derive(Debug, Default)]
struct Waiting {
    total: usize,
    per_client: std::collections::HashMap<String, usize>,
}

/// One request counted as waiting; uncounted when dropped.
struct WaitingTicket {
    waiting: Arc<std::sync::Mutex<Waiting>>,
    client: String,
}

impl WaitingTicket {
    fn take(waiting: &Arc<std::sync::Mutex<Waiting>>, client: &str) -> Result<Self, UnsealFailure> {
        let mut w = waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = w.per_client.get(client).copied().unwrap_or(0);
        if w.total >= HTTP_QUEUE || mine >= HTTP_QUEUE_PER_CLIENT {
            return Err(UnsealFailure::Busy);
        }
        w.total += 1;
        w.per_client.insert(client.to_owned(), mine + 1);
        Ok(WaitingTicket {
            waiting: waiting.clone(),
            client: client.to_owned(),
        })
    }
}

impl Drop for WaitingTicket {
    fn drop(&mut self) {
        let mut w = self
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        w.total = w.total.saturating_sub(1);
        if let Some(n) = w.per_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                w.per_client.remove(&self.client);
            }
        }
    }
}

/// Sets its flag when dropped: held by an HTTP handler, it cancels the request's blocking work
/// when the handler is dropped (client gone, request timed out).
#[derive(Debug, Default)]
pub struct CancelOnDrop(Arc<AtomicBool>);

impl CancelOnDrop {
    /// The flag the blocking work watches.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The shared unsealing pools.
#[derive(Clone)]
pub struct Unsealer {
    registry: Arc<KeyRegistry>,
    metrics: Metrics,
    reconcile_slots: Arc<FairSlots>,
    http_slots: Arc<FairSlots>,
    http_waiting: Arc<std::sync::Mutex<Waiting>>,
    options: UnsealOptions,
    limits: Limits,
}

impl Unsealer {
    /// Pools of `slots` concurrent reconcile unseals and `slots / 2` HTTP requests (at least one
    /// each).
    pub fn new(
        registry: Arc<KeyRegistry>,
        metrics: Metrics,
        slots: usize,
        options: UnsealOptions,
    ) -> Unsealer {
        Unsealer {
            registry,
            metrics,
            reconcile_slots: FairSlots::new(slots),
            http_slots: FairSlots::new((slots / 2).max(1)),
            http_waiting: Arc::default(),
            options,
            limits: Limits::default(),
        }
    }

    /// The keys it unseals with.
    pub fn registry(&self) -> &Arc<KeyRegistry> {
        &self.registry
    }

    /// The default unseal options (`--accept-deprecated-v1-data`).
    pub fn options(&self) -> UnsealOptions {
        self.options
    }

    /// The default pool size: one per CPU.
    pub fn default_slots() -> usize {
        std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(2)
    }

    fn keys_for(&self, sealed: &SealedSecret, previous: Option<&str>) -> Vec<Arc<KeyEntry>> {
        let hint = sealed
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(KEY_HINT_ANNOTATION))
            .map(String::as_str);
        let preferred: Vec<&str> = hint.into_iter().chain(previous).collect();
        self.registry.keys_in_try_order(&preferred)
    }

    fn record(&self, started: Instant, rsa_operations: u64) {
        self.metrics
            .unseal_duration
            .observe(started.elapsed().as_secs_f64());
        self.metrics.rsa_decrypt_operations.inc_by(rsa_operations);
    }

    /// Unseals `sealed` for a reconcile, on a slot of its namespace: hint first, then `previous`
    /// (the key that opened it last time, if known), then newest first. Also returns the key
    /// that opened the first value.
    pub async fn unseal(
        &self,
        sealed: Arc<SealedSecret>,
        previous: Option<String>,
    ) -> Result<(UnsealedSecret, Option<Fingerprint>), UnsealFailure> {
        let tenant = sealed.namespace_or_empty().to_owned();
        let slot = self.reconcile_slots.acquire(&tenant).await;
        let keys = self.keys_for(&sealed, previous.as_deref());
        let (options, limits) = (self.options, self.limits);
        let started = Instant::now();
        let (result, stats) = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let refs: Vec<&PrivateKey> = keys.iter().map(|e| &e.key).collect();
            let mut stats = UnsealStats::default();
            let result = unseal_counted(
                &sealed,
                &refs,
                &options,
                &GoTemplates,
                &Budget::new(limits),
                &mut stats,
            );
            (result, stats)
        })
        .await
        .map_err(|_| UnsealFailure::Task)?;
        self.record(started, stats.rsa_operations);
        Ok((result?, stats.opened_with))
    }

    /// Runs `work` on the HTTP pool for `client`, refusing when too many requests wait already.
    async fn on_http_pool<T, F>(&self, client: &str, work: F) -> Result<T, UnsealFailure>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _waiting = WaitingTicket::take(&self.http_waiting, client)?;
        let slot = self.http_slots.acquire(client).await;
        drop(_waiting);
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|_| UnsealFailure::Task)
    }

    /// `/v1/verify`: checks that every value of every object decrypts, rendering nothing, within
    /// one budget of RSA attempts for the whole request. The error names the first object that
    /// does not unseal.
    pub async fn verify(
        &self,
        client: &str,
        objects: Vec<SealedSecret>,
        cancel: Arc<AtomicBool>,
    ) -> Result<(), (String, UnsealFailure)> {
        let prepared: Vec<(SealedSecret, Vec<Arc<KeyEntry>>)> = objects
            .into_iter()
            .map(|sealed| {
                let keys = self.keys_for(&sealed, None);
                (sealed, keys)
            })
            .collect();
        let (options, limits) = (self.options, self.limits);
        let started = Instant::now();
        let (result, rsa) = self
            .on_http_pool(client, move || {
                let mut spent = 0u64;
                for (sealed, keys) in &prepared {
                    let refs: Vec<&PrivateKey> = keys.iter().map(|e| &e.key).collect();
                    let mut stats = UnsealStats::default();
                    let budget = Budget::new(Limits {
                        rsa_operations: HTTP_RSA_OPERATIONS.saturating_sub(spent),
                        ..limits
                    })
                    .cancelled_by(&cancel);
                    let result = verify(sealed, &refs, &options, &budget, &mut stats);
                    spent += stats.rsa_operations;
                    if let Err(e) = result {
                        return (Err((sealed.display_name(), e)), spent);
                    }
                }
                (Ok(()), spent)
            })
            .await
            .map_err(|e| (String::new(), e))?;
        self.record(started, rsa);
        result.map_err(|(name, e)| (name, UnsealFailure::Unseal(e)))
    }

    /// `/v1/rotate`: decrypts the encrypted items of `sealed` (templates are not rendered: they
    /// are carried over as they are), accepting the deprecated `spec.data`.
    pub async fn decrypt_items(
        &self,
        client: &str,
        mut sealed: SealedSecret,
        cancel: Arc<AtomicBool>,
    ) -> Result<UnsealedSecret, UnsealFailure> {
        sealed.spec.template.data = None;
        let keys = self.keys_for(&sealed, None);
        let options = UnsealOptions {
            accept_deprecated_v1_data: true,
            ..self.options
        };
        let limits = Limits {
            rsa_operations: HTTP_RSA_OPERATIONS,
            ..self.limits
        };
        let started = Instant::now();
        let (result, stats) = self
            .on_http_pool(client, move || {
                let refs: Vec<&PrivateKey> = keys.iter().map(|e| &e.key).collect();
                let mut stats = UnsealStats::default();
                let budget = Budget::new(limits).cancelled_by(&cancel);
                // Templates were removed above: they are carried over, never rendered.
                let result =
                    unseal_counted(&sealed, &refs, &options, &NoTemplates, &budget, &mut stats);
                (result, stats)
            })
            .await?;
        self.record(started, stats.rsa_operations);
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::ObjectMeta;
    use sealed_secrets::keys::Certificate;

    use super::*;
    use crate::keys::registry::{KeyEntry, Source};

    /// Four keys, oldest first; a SealedSecret with three values sealed with the oldest.
    fn setup() -> (Unsealer, Vec<String>, SealedSecret) {
        let registry = Arc::new(KeyRegistry::default());
        let mut fingerprints = Vec::new();
        let mut oldest = None;
        for i in 0..4u64 {
            let key = PrivateKey::generate(2048).expect("generate");
            let cert =
                Certificate::self_signed(&key, "", SystemTime::now(), Duration::from_secs(60))
                    .expect("certificate");
            fingerprints.push(key.fingerprint().to_string());
            if i == 0 {
                oldest = Some(key.public_key().clone());
            }
            let order = SystemTime::UNIX_EPOCH + Duration::from_secs(1000 + i);
            registry.upsert(
                Source::Labeled,
                KeyEntry::new(key, cert, order, format!("key-{i}")),
            );
        }
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some("s".into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            data: Some(
                ["a", "b", "c"]
                    .iter()
                    .map(|k| (k.to_string(), ByteString(k.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Default::default()
        };
        let sealed =
            sealed_secrets::seal::seal(&mut rand::rngs::OsRng, &secret, &oldest.expect("key 0"))
                .expect("seal");
        let unsealer = Unsealer::new(registry, Metrics::new(), 2, UnsealOptions::default());
        (unsealer, fingerprints, sealed)
    }

    fn without_hint(sealed: &SealedSecret) -> SealedSecret {
        let mut copy = sealed.clone();
        if let Some(a) = copy.metadata.annotations.as_mut() {
            a.remove(KEY_HINT_ANNOTATION);
        }
        copy
    }

    async fn rsa_ops(
        unsealer: &Unsealer,
        sealed: SealedSecret,
        previous: Option<String>,
    ) -> (u64, Option<Fingerprint>) {
        let before = unsealer.metrics.rsa_decrypt_operations.get();
        let (secret, opened) = unsealer
            .unseal(Arc::new(sealed), previous)
            .await
            .expect("unseals");
        assert_eq!(secret.data.as_ref().map(|d| d.len()), Some(3));
        (
            unsealer.metrics.rsa_decrypt_operations.get() - before,
            opened,
        )
    }

    #[tokio::test]
    async fn hint_first_then_previous_opener_then_newest_first() {
        let (unsealer, fps, sealed) = setup();
        // Hinted (as our kubeseal writes it): one RSA operation per value.
        let (ops, opened) = rsa_ops(&unsealer, sealed.clone(), None).await;
        assert_eq!(ops, 3);
        assert_eq!(
            opened.map(|f| f.to_string()).as_deref(),
            Some(fps[0].as_str())
        );
        // No hint (Bitnami's kubeseal): newest first, so 4 tries for the first value, then the
        // key that opened it is tried first for the rest.
        let (ops, _) = rsa_ops(&unsealer, without_hint(&sealed), None).await;
        assert_eq!(ops, 4 + 2);
        // No hint, but the Secret's integrity annotation names the key that opened it last time.
        let (ops, _) = rsa_ops(&unsealer, without_hint(&sealed), Some(fps[0].clone())).await;
        assert_eq!(ops, 3);
        // A hint naming a key the controller does not hold falls back to every key.
        let mut unknown = without_hint(&sealed);
        unknown
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(KEY_HINT_ANNOTATION.into(), "SHA256:unknown".into());
        let (ops, _) = rsa_ops(&unsealer, unknown, None).await;
        assert_eq!(ops, 6);
        // A stale previous opener costs one extra try at most; the hint still wins.
        let (ops, _) = rsa_ops(&unsealer, sealed, Some(fps[3].clone())).await;
        assert_eq!(ops, 3);
    }

    #[tokio::test]
    async fn verify_spends_one_rsa_budget_per_request_and_stops_when_cancelled() {
        let (unsealer, _, sealed) = setup();
        let many = vec![without_hint(&sealed); 1000];
        let before = unsealer.metrics.rsa_decrypt_operations.get();
        let cancel = CancelOnDrop::default();
        let (name, failure) = unsealer
            .verify("client", many, cancel.flag())
            .await
            .expect_err("over budget");
        assert_eq!(name, "ns/s");
        assert!(
            matches!(&failure, UnsealFailure::Unseal(e) if e.is_over_budget()),
            "{failure}"
        );
        assert_eq!(
            unsealer.metrics.rsa_decrypt_operations.get() - before,
            HTTP_RSA_OPERATIONS,
            "the whole request shares one budget"
        );
        let flag = {
            let cancelled = CancelOnDrop::default();
            cancelled.flag()
        };
        let failure = unsealer
            .verify("client", vec![sealed], flag)
            .await
            .expect_err("cancelled");
        assert!(matches!(
            failure.1,
            UnsealFailure::Unseal(UnsealError::Cancelled)
        ));
    }
}
