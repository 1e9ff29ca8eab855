//! Sealing keys: the registry every component reads, loading and following key Secrets, and
//! generating and renewing keys (docs/upstream-behavior.md, "Keys").

pub mod maker;
pub mod registry;
pub mod watch;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

pub use registry::KeyRegistry;

/// Which timestamp decides which key is the latest (`--key-order-priority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyOrder {
    /// The certificate's NotBefore (upstream's default).
    #[default]
    CertNotBefore,
    /// The key Secret's creationTimestamp.
    SecretCreationTimestamp,
}

/// Everything about keys: generation, storage and renewal.
#[derive(Debug, Clone)]
pub struct KeyConfig {
    /// generateName of new key Secrets and name of the legacy key Secret.
    pub prefix: String,
    /// RSA bits of new keys.
    pub size: usize,
    /// Validity of new certificates.
    pub ttl: Duration,
    /// Common Name of new certificates (empty: empty subject).
    pub common_name: String,
    /// Automatic renewal period; `None` disables renewal.
    pub renew_period: Option<Duration>,
    /// How the latest key is chosen.
    pub order: KeyOrder,
    /// Generate a key at startup if the latest one is older than this.
    pub cutoff: Option<Timestamp>,
    /// Extra labels of new key Secrets.
    pub secret_labels: BTreeMap<String, String>,
    /// Extra annotations of new key Secrets.
    pub secret_annotations: BTreeMap<String, String>,
}
