//! Loading key Secrets from the controller's namespace, and following them while running.
//!
//! Two watches (full objects, controller namespace only): Secrets labelled
//! `sealedsecrets.bitnami.com/sealed-secrets-key=active`, and the legacy Secret named exactly
//! `--key-prefix`. A key Secret added, changed, deleted or relabelled takes effect at once. A
//! malformed one is logged, evented (`ErrKeyInvalid`), counted in
//! `sealed_secrets_controller_key_secret_errors_total` and skipped; messages never contain key
//! material, and the Secret's data is zeroized as soon as it is parsed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::SystemTime;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource as _};
use sealed_secrets::keys::{self, KeyError};
use sealed_secrets::names::{KEY_LABEL, KEY_LABEL_ACTIVE};

use super::KeyOrder;
use super::registry::{KeyEntry, KeyRegistry, Source};
use crate::events::{ERR_KEY_INVALID, Events};
use crate::metrics::{KeyErrorLabels, Metrics};

/// Why a key Secret was skipped.
#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    /// The key or certificate could not be read.
    #[error("cannot load key from secret {secret}")]
    Parse {
        /// `namespace/name`.
        secret: String,
        /// What the format library reported (no key material).
        #[source]
        source: KeyError,
    },
    /// `tls.crt` holds no certificate.
    #[error("secret {secret} has no certificate in tls.crt")]
    NoCertificate {
        /// `namespace/name`.
        secret: String,
    },
}

impl KeyLoadError {
    /// Metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            KeyLoadError::Parse {
                source: KeyError::MissingSecretField { .. },
                ..
            } => "missing-field",
            KeyLoadError::Parse {
                source:
                    KeyError::InvalidSecretField {
                        field: "tls.crt", ..
                    },
                ..
            } => "invalid-cert",
            KeyLoadError::Parse { .. } => "invalid-key",
            KeyLoadError::NoCertificate { .. } => "invalid-cert",
        }
    }
}

/// Parses a key Secret into a registry entry. Zeroizes the Secret's data either way.
pub fn parse_key_secret(secret: &mut Secret, order: KeyOrder) -> Result<KeyEntry, KeyLoadError> {
    let id = format!(
        "{}/{}",
        secret.metadata.namespace.as_deref().unwrap_or_default(),
        secret.metadata.name.as_deref().unwrap_or_default()
    );
    let parsed = keys::from_key_secret(secret);
    sealed_secrets::unseal::zeroize_data(secret);
    let (key, certs) = parsed.map_err(|source| KeyLoadError::Parse {
        secret: id.clone(),
        source,
    })?;
    let cert = certs
        .into_iter()
        .next()
        .ok_or(KeyLoadError::NoCertificate { secret: id })?;
    let order_time = match order {
        KeyOrder::CertNotBefore => cert.not_before(),
        KeyOrder::SecretCreationTimestamp => secret
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| SystemTime::from(t.0))
            .unwrap_or_else(|| cert.not_before()),
    };
    Ok(KeyEntry::new(
        key,
        cert,
        order_time,
        secret.metadata.name.clone().unwrap_or_default(),
    ))
}

/// What the key watchers need.
#[derive(Clone)]
pub struct KeyWatch {
    /// Client for the controller namespace.
    pub client: Client,
    /// The controller namespace.
    pub namespace: String,
    /// `--key-prefix`: the legacy Secret's name.
    pub prefix: String,
    /// `--key-order-priority`.
    pub order: KeyOrder,
    /// Where keys go.
    pub registry: Arc<KeyRegistry>,
    /// Counts malformed key Secrets.
    pub metrics: Metrics,
    /// Reports malformed key Secrets.
    pub events: Events,
}

impl KeyWatch {
    /// Follows both key watches until the process ends. Watch errors are retried with backoff.
    pub async fn run(self) {
        let labeled = watcher::Config::default().labels(&format!("{KEY_LABEL}={KEY_LABEL_ACTIVE}"));
        let legacy = watcher::Config::default().fields(&format!("metadata.name={}", self.prefix));
        tokio::join!(
            self.follow(Source::Labeled, labeled),
            self.follow(Source::Legacy, legacy)
        );
    }

    async fn follow(&self, source: Source, config: watcher::Config) {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let mut stream = std::pin::pin!(watcher::watcher(api, config).default_backoff());
        let mut listing: BTreeSet<String> = BTreeSet::new();
        // Last resourceVersion reported as malformed, per Secret, so a relist does not repeat it.
        let mut reported: BTreeMap<String, String> = BTreeMap::new();
        while let Some(event) = stream.next().await {
            match event {
                Ok(Event::Init) => listing.clear(),
                Ok(Event::InitApply(mut secret)) => {
                    if let Some(name) = self.apply(source, &mut secret, &mut reported).await {
                        listing.insert(name);
                    }
                }
                Ok(Event::InitDone) => {
                    self.registry.resync(source, &listing);
                    self.metrics
                        .keys
                        .set(i64::try_from(self.registry.len()).unwrap_or(i64::MAX));
                    tracing::info!(source = ?source, from_source = listing.len(), keys = self.registry.len(),
                        "key secrets loaded");
                }
                Ok(Event::Apply(mut secret)) => {
                    self.apply(source, &mut secret, &mut reported).await;
                    self.metrics
                        .keys
                        .set(i64::try_from(self.registry.len()).unwrap_or(i64::MAX));
                }
                Ok(Event::Delete(mut secret)) => {
                    sealed_secrets::unseal::zeroize_data(&mut secret);
                    let name = secret.metadata.name.clone().unwrap_or_default();
                    tracing::info!(secretname = %name, "key secret removed; its key is no longer used");
                    self.registry.remove(source, &name);
                    reported.remove(&name);
                    self.metrics
                        .keys
                        .set(i64::try_from(self.registry.len()).unwrap_or(i64::MAX));
                }
                Err(error) => {
                    tracing::warn!(error = %error, source = ?source, "key secret watch failed; retrying")
                }
            }
        }
    }

    /// Registers one key Secret; returns its name when it holds a usable key.
    async fn apply(
        &self,
        source: Source,
        secret: &mut Secret,
        reported: &mut BTreeMap<String, String>,
    ) -> Option<String> {
        let name = secret.metadata.name.clone().unwrap_or_default();
        match parse_key_secret(secret, self.order) {
            Ok(entry) => {
                tracing::info!(secretname = %name, fingerprint = %entry.fingerprint, "registered private key");
                reported.remove(&name);
                self.registry.upsert(source, entry);
                Some(name)
            }
            Err(error) => {
                // A Secret that used to hold a key and no longer does must not keep serving it.
                self.registry.remove(source, &name);
                let version = secret.metadata.resource_version.clone().unwrap_or_default();
                if reported.get(&name) != Some(&version) {
                    reported.insert(name.clone(), version);
                    let message = crate::error_text::error_chain(&error);
                    tracing::error!(secretname = %name, error = %message, "skipping malformed key secret");
                    self.metrics
                        .key_secret_errors
                        .get_or_create(&KeyErrorLabels {
                            reason: error.reason(),
                        })
                        .inc();
                    self.events
                        .warning(&secret.object_ref(&()), ERR_KEY_INVALID, &message)
                        .await;
                }
                None
            }
        }
    }
}
