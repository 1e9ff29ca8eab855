//! Unsealing off the async reactor: a bounded pool of blocking tasks.
//!
//! RSA-4096 decryption costs milliseconds per value, so it never runs on the tokio workers that
//! drive watches and the HTTP server. At most `slots` unseals run at once (default: the number
//! of CPUs), each on tokio's blocking pool; callers wait for a slot asynchronously.
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

use std::sync::Arc;
use std::time::Instant;

use sealed_secrets::SealedSecret;
use sealed_secrets::keys::{Fingerprint, PrivateKey};
use sealed_secrets::seal::KEY_HINT_ANNOTATION;
use sealed_secrets::unseal::{
    UnsealError, UnsealOptions, UnsealStats, UnsealedSecret, unseal_counted,
};
use tokio::sync::Semaphore;

use crate::keys::KeyRegistry;
use crate::metrics::Metrics;

/// Why an unseal did not produce a Secret.
#[derive(Debug, thiserror::Error)]
pub enum UnsealFailure {
    /// The SealedSecret could not be unsealed.
    #[error(transparent)]
    Unseal(#[from] UnsealError),
    /// The blocking task panicked or was cancelled.
    #[error("unsealing task failed")]
    Task,
}

/// The shared unsealing pool.
#[derive(Clone)]
pub struct Unsealer {
    registry: Arc<KeyRegistry>,
    metrics: Metrics,
    slots: Arc<Semaphore>,
    options: UnsealOptions,
}

impl Unsealer {
    /// A pool of `slots` concurrent unseals (at least one).
    pub fn new(
        registry: Arc<KeyRegistry>,
        metrics: Metrics,
        slots: usize,
        options: UnsealOptions,
    ) -> Unsealer {
        Unsealer {
            registry,
            metrics,
            slots: Arc::new(Semaphore::new(slots.max(1))),
            options,
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

    /// Unseals `sealed` with every key: hint first, then `previous` (the key that opened it last
    /// time, if known), then newest first. Also returns the key that opened the first value.
    pub async fn unseal(
        &self,
        sealed: Arc<SealedSecret>,
        previous: Option<String>,
    ) -> Result<(UnsealedSecret, Option<Fingerprint>), UnsealFailure> {
        self.unseal_ordered(sealed, previous, self.options).await
    }

    /// Unseals `sealed` with explicit options, hint first.
    pub async fn unseal_with(
        &self,
        sealed: Arc<SealedSecret>,
        options: UnsealOptions,
    ) -> Result<UnsealedSecret, UnsealFailure> {
        Ok(self.unseal_ordered(sealed, None, options).await?.0)
    }

    async fn unseal_ordered(
        &self,
        sealed: Arc<SealedSecret>,
        previous: Option<String>,
        options: UnsealOptions,
    ) -> Result<(UnsealedSecret, Option<Fingerprint>), UnsealFailure> {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| UnsealFailure::Task)?;
        let hint = sealed
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(KEY_HINT_ANNOTATION))
            .cloned();
        let preferred: Vec<&str> = hint
            .iter()
            .chain(previous.iter())
            .map(String::as_str)
            .collect();
        let keys = self.registry.keys_in_try_order(&preferred);
        let started = Instant::now();
        let (result, stats) = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let refs: Vec<&PrivateKey> = keys.iter().map(|e| &e.key).collect();
            let mut stats = UnsealStats::default();
            let result = unseal_counted(&sealed, &refs, &options, &mut stats);
            (result, stats)
        })
        .await
        .map_err(|_| UnsealFailure::Task)?;
        self.metrics
            .unseal_duration
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .rsa_decrypt_operations
            .inc_by(stats.rsa_operations);
        Ok((result?, stats.opened_with))
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
}
