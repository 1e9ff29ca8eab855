//! Unsealing off the async reactor: a bounded pool of blocking tasks.
//!
//! RSA-4096 decryption costs milliseconds per value, so it never runs on the tokio workers that
//! drive watches and the HTTP server. At most `slots` unseals run at once (default: the number
//! of CPUs), each on tokio's blocking pool. Keys are tried hint-first (see
//! [`crate::keys::KeyRegistry::keys_in_try_order`]); within one object the key that opened the
//! first value is tried first for the rest (the format library does that). Every unseal feeds
//! `sealed_secrets_controller_rsa_decrypt_operations_total` and
//! `sealed_secrets_controller_unseal_duration_seconds`.

use std::sync::Arc;
use std::time::Instant;

use sealed_secrets::SealedSecret;
use sealed_secrets::keys::PrivateKey;
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

    /// The default pool size: one per CPU.
    pub fn default_slots() -> usize {
        std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(2)
    }

    /// Unseals `sealed` with every key, hint first.
    pub async fn unseal(&self, sealed: Arc<SealedSecret>) -> Result<UnsealedSecret, UnsealFailure> {
        self.unseal_with(sealed, self.options).await
    }

    /// [`Unsealer::unseal`] with explicit options.
    pub async fn unseal_with(
        &self,
        sealed: Arc<SealedSecret>,
        options: UnsealOptions,
    ) -> Result<UnsealedSecret, UnsealFailure> {
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
        let keys = self.registry.keys_in_try_order(hint.as_deref());
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
        Ok(result?)
    }
}
