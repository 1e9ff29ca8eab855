//! Generating keys: at startup when there is none (or the latest is older than
//! `--key-cutoff-time`), every `--key-renew-period`, and on SIGUSR1.
//!
//! A new key is written as a key Secret (`generateName: <prefix>`, label
//! `sealedsecrets.bitnami.com/sealed-secrets-key=active`, plus `--privatekey-labels` and
//! `--privatekey-annotations`) and registered at once, without waiting for the watch. RSA key
//! generation runs on the blocking pool. Old keys are never deleted. The renewal cadence is
//! fixed: the first renewal comes `period - age(latest key)` after startup, then every
//! `period`; manual triggers do not move it.
//!
//! Only the leader generates keys. Before it generates the first one
//! ([`KeyMaker::ensure_key`]) it lists the key Secrets from the API server itself (not the watch
//! cache, which may lag behind a key the previous leader wrote just before it died), so replicas
//! starting together or a failover never produce a second key. A scheduled renewal checks the
//! same way whether a key made by the previous leader since the schedule was set makes it
//! unnecessary.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use sealed_secrets::keys::{self, Certificate, KeyError, PrivateKey};
use sealed_secrets::names::{KEY_LABEL, KEY_LABEL_ACTIVE};
use tokio::sync::mpsc;

use super::KeyConfig;
use super::registry::{KeyEntry, KeyRegistry, Source};

/// Why a key could not be generated or stored.
#[derive(Debug, thiserror::Error)]
pub enum KeyGenError {
    /// RSA generation or certificate signing failed.
    #[error("cannot generate a key")]
    Generate(#[source] KeyError),
    /// The blocking task did not complete.
    #[error("key generation task failed")]
    Task,
    /// The key Secrets could not be listed before generating the first key.
    #[error("cannot list the key secrets in namespace {namespace}")]
    List {
        /// The controller namespace.
        namespace: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Leadership was lost before the key was written; nothing was written.
    #[error("not the leader any more; the key was not written")]
    NotLeader,
    /// The API server refused the key Secret.
    #[error("cannot write the new key secret in namespace {namespace}")]
    Write {
        /// The controller namespace.
        namespace: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Generates keys and writes key Secrets.
#[derive(Clone)]
pub struct KeyMaker {
    /// Client for the controller namespace.
    pub client: Client,
    /// The controller namespace.
    pub namespace: String,
    /// Key flags.
    pub config: KeyConfig,
    /// Where new keys are registered.
    pub registry: Arc<KeyRegistry>,
    /// True while this replica leads: a key is written only then (key generation takes
    /// seconds, leadership may be lost meanwhile).
    pub leading: tokio::sync::watch::Receiver<bool>,
}

impl KeyMaker {
    /// Generates a key, writes its Secret and registers it.
    pub async fn new_key(&self) -> Result<Arc<KeyEntry>, KeyGenError> {
        let bits = self.config.size;
        let cn = self.config.common_name.clone();
        let ttl = self.config.ttl;
        let (key, cert) = tokio::task::spawn_blocking(move || {
            let key = PrivateKey::generate(bits)?;
            let cert = Certificate::self_signed(&key, &cn, SystemTime::now(), ttl)?;
            Ok::<_, KeyError>((key, cert))
        })
        .await
        .map_err(|_| KeyGenError::Task)?
        .map_err(KeyGenError::Generate)?;

        let mut secret = keys::to_key_secret(&key, &cert, &self.namespace, &self.config.prefix);
        let labels = secret.metadata.labels.get_or_insert_with(Default::default);
        for (k, v) in &self.config.secret_labels {
            if k != KEY_LABEL {
                labels.insert(k.clone(), v.clone());
            }
        }
        if !self.config.secret_annotations.is_empty() {
            secret.metadata.annotations = Some(self.config.secret_annotations.clone());
        }
        if !*self.leading.borrow() {
            sealed_secrets::unseal::zeroize_data(&mut secret);
            return Err(KeyGenError::NotLeader);
        }
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let created = api.create(&PostParams::default(), &secret).await;
        sealed_secrets::unseal::zeroize_data(&mut secret);
        let mut created = created.map_err(|source| KeyGenError::Write {
            namespace: self.namespace.clone(),
            source,
        })?;
        sealed_secrets::unseal::zeroize_data(&mut created);
        let name = created.metadata.name.clone().unwrap_or_default();
        tracing::info!(namespace = %self.namespace, name = %name, "New key written");
        tracing::info!(certificate = %cert.to_pem(), "Certificate generated");
        // Keys generated here are the newest, whatever --key-order-priority says.
        let entry = KeyEntry::new(key, cert, SystemTime::now(), name);
        self.registry.upsert(Source::Labeled, entry.clone());
        Ok(Arc::new(entry))
    }

    /// As a new leader: generates a key if [`KeyMaker::needs_initial_key`], after checking with
    /// a fresh LIST from the API server (keys found there are registered). Returns the new key,
    /// if one was made.
    pub async fn ensure_key(&self) -> Result<Option<Arc<KeyEntry>>, KeyGenError> {
        if !self.needs_initial_key() {
            return Ok(None);
        }
        self.load_from_api().await?;
        if !self.needs_initial_key() {
            tracing::info!("a key written by another replica was found; not generating one");
            return Ok(None);
        }
        let reason = if self.registry.is_empty() {
            "no key found"
        } else {
            "latest key older than --key-cutoff-time"
        };
        tracing::info!(reason, "generating a new key");
        match self.new_key().await {
            Ok(entry) => Ok(Some(entry)),
            // The new leader makes the key.
            Err(KeyGenError::NotLeader) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Lists the labelled key Secrets and reads the legacy one straight from the API server
    /// (a quorum read), registering every usable key; malformed ones are left to the watch,
    /// which reports them.
    async fn load_from_api(&self) -> Result<(), KeyGenError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let list_error = |source| KeyGenError::List {
            namespace: self.namespace.clone(),
            source,
        };
        let selector = format!("{KEY_LABEL}={KEY_LABEL_ACTIVE}");
        let labeled = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(list_error)?;
        let legacy = api.get_opt(&self.config.prefix).await.map_err(list_error)?;
        let found = labeled
            .items
            .into_iter()
            .map(|s| (Source::Labeled, s))
            .chain(legacy.map(|s| (Source::Legacy, s)));
        for (source, mut secret) in found {
            if let Ok(entry) = super::watch::parse_key_secret(&mut secret, self.config.order) {
                self.registry.upsert(source, entry);
            }
            sealed_secrets::unseal::zeroize_data(&mut secret);
        }
        Ok(())
    }

    /// A key is needed when there is none, or the latest is older than the cutoff.
    pub fn needs_initial_key(&self) -> bool {
        match self.registry.latest() {
            None => true,
            Some(latest) => self
                .config
                .cutoff
                .is_some_and(|cutoff| latest.order_time < SystemTime::from(cutoff)),
        }
    }

    /// Renews keys forever: on the period (if any) and on every message of `manual` (held while
    /// this runs; the leader's renewal task is aborted when leadership ends, releasing it).
    pub async fn renew_forever(self, manual: Arc<tokio::sync::Mutex<mpsc::Receiver<()>>>) {
        let mut manual = manual.lock().await;
        let first = self
            .config
            .renew_period
            .map(|period| first_renewal(period, self.latest_age()));
        let mut next = first.map(|delay| tokio::time::Instant::now() + delay);
        // Keys this loop generated (the latest key at the start counts as known too).
        let mut made_here: std::collections::BTreeSet<sealed_secrets::keys::Fingerprint> = self
            .registry
            .latest()
            .map(|latest| latest.fingerprint.clone())
            .into_iter()
            .collect();
        loop {
            let timer = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = timer => {
                    let Some(period) = self.config.renew_period else {
                        continue;
                    };
                    // A new leader's cache may lag behind a key its predecessor just made:
                    // check with the API server before renewing on schedule.
                    if let Err(error) = self.load_from_api().await {
                        tracing::warn!(error = %crate::error_text::error_chain(&error),
                            "cannot list key secrets before renewing; renewing anyway");
                    }
                    // A key made elsewhere (by the previous leader) since the schedule was set
                    // moves it; this loop's own renewals, manual ones included, do not.
                    let age = self.latest_age();
                    let foreign = self
                        .registry
                        .latest()
                        .is_some_and(|latest| !made_here.contains(&latest.fingerprint));
                    if foreign && age + RENEWAL_SLACK < period {
                        tracing::info!("the latest key is recent (made by the previous leader); renewal rescheduled");
                        next = Some(tokio::time::Instant::now() + first_renewal(period, age));
                        continue;
                    }
                    next = next.map(|at| at + period);
                    if let Some(entry) = self.renew("scheduled").await {
                        made_here.insert(entry.fingerprint.clone());
                    }
                }
                message = manual.recv() => {
                    if message.is_none() {
                        return;
                    }
                    if let Some(entry) = self.renew("requested").await {
                        made_here.insert(entry.fingerprint.clone());
                    }
                }
            }
        }
    }

    fn latest_age(&self) -> Duration {
        self.registry
            .latest()
            .and_then(|latest| SystemTime::now().duration_since(latest.order_time).ok())
            .unwrap_or_default()
    }

    async fn renew(&self, why: &str) -> Option<Arc<KeyEntry>> {
        match self.new_key().await {
            Ok(entry) => {
                tracing::info!(fingerprint = %entry.fingerprint, trigger = why, "key renewed");
                Some(entry)
            }
            Err(error) => {
                tracing::error!(
                    error = %crate::error_text::error_chain(&error),
                    trigger = why,
                    "Failed to generate new key"
                );
                None
            }
        }
    }
}

/// A scheduled renewal goes ahead when the latest key is at most this much younger than the
/// period (timers are not exact).
const RENEWAL_SLACK: Duration = Duration::from_secs(1);

/// Delay until the first renewal: what is left of the period for the latest key (at least 0).
pub fn first_renewal(period: Duration, latest_age: Duration) -> Duration {
    period.saturating_sub(latest_age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_renewal_counts_the_latest_keys_age() {
        let day = Duration::from_secs(86_400);
        assert_eq!(first_renewal(30 * day, 10 * day), 20 * day);
        assert_eq!(first_renewal(30 * day, 40 * day), Duration::ZERO);
        assert_eq!(
            first_renewal(Duration::from_secs(20), Duration::from_millis(19_900)),
            Duration::from_millis(100)
        );
    }
}
