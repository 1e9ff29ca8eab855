//! The key registry: every sealing key the controller holds, shared by the reconcilers and the
//! HTTP API.
//!
//! Keys are registered under the name of the Secret that holds them, so a key Secret that is
//! deleted, relabelled or replaced takes effect at once. The *latest* key (greatest ordering time,
//! see [`super::KeyOrder`]; on a tie the one registered first) seals and serves
//! `/v1/cert.pem`; every key decrypts. Decryption order ([`KeyRegistry::keys_in_try_order`]) puts
//! preferred keys first, in the order given: the key whose fingerprint the SealedSecret names
//! (annotation [`sealed_secrets::names::KEY_HINT_ANNOTATION`]), then the key that opened the
//! object's first value last time (recorded in the Secret's integrity annotation); then the
//! others newest first. Keys shared by several Secrets are tried once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use sealed_secrets::keys::{Certificate, Fingerprint, PrivateKey};
use tokio::sync::watch;

use crate::integrity::IntegrityKey;

/// Where a key Secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// Labelled `sealedsecrets.bitnami.com/sealed-secrets-key=active`.
    Labeled,
    /// The legacy Secret named exactly `--key-prefix`.
    Legacy,
}

/// One key and what is known about it. Never logged with its private part.
#[derive(Clone)]
pub struct KeyEntry {
    /// The private key.
    pub key: PrivateKey,
    /// The first certificate of the Secret (served by `/v1/cert.pem`).
    pub cert: Certificate,
    /// Fingerprint of the public key.
    pub fingerprint: Fingerprint,
    /// Decides which key is the latest.
    pub order_time: SystemTime,
    /// Name of the Secret holding it.
    pub secret_name: String,
}

impl KeyEntry {
    /// An entry for `key`, deriving its fingerprint.
    pub fn new(
        key: PrivateKey,
        cert: Certificate,
        order_time: SystemTime,
        secret_name: String,
    ) -> KeyEntry {
        KeyEntry {
            fingerprint: key.fingerprint(),
            key,
            cert,
            order_time,
            secret_name,
        }
    }
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("fingerprint", &self.fingerprint)
            .field("order_time", &self.order_time)
            .field("secret_name", &self.secret_name)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    /// Secret name -> (entry, registration sequence number).
    by_secret: BTreeMap<String, (Arc<KeyEntry>, u64)>,
    /// Secret name -> sources that currently report it.
    sources: BTreeMap<String, BTreeSet<Source>>,
    /// Sources whose initial list has been loaded.
    synced: BTreeSet<Source>,
    next_seq: u64,
}

/// The shared registry.
pub struct KeyRegistry {
    state: RwLock<State>,
    /// Bumped on every change; readiness and waiters subscribe to it.
    version: watch::Sender<u64>,
    /// The integrity key of the last key set asked for.
    integrity: std::sync::Mutex<Option<Arc<IntegrityKey>>>,
}

impl Default for KeyRegistry {
    fn default() -> Self {
        KeyRegistry {
            state: RwLock::new(State::default()),
            version: watch::channel(0).0,
            integrity: std::sync::Mutex::default(),
        }
    }
}

impl KeyRegistry {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn changed(&self) {
        self.version.send_modify(|v| *v += 1);
    }

    /// Registers (or replaces) the key held by Secret `entry.secret_name`, seen through `source`.
    pub fn upsert(&self, source: Source, entry: KeyEntry) {
        {
            let mut state = self.write();
            let name = entry.secret_name.clone();
            let same_key = state
                .by_secret
                .get(&name)
                .map(|(e, seq)| (e.fingerprint == entry.fingerprint, *seq));
            let seq = match same_key {
                Some((true, seq)) => seq,
                _ => {
                    state.next_seq += 1;
                    state.next_seq
                }
            };
            state.by_secret.insert(name.clone(), (Arc::new(entry), seq));
            state.sources.entry(name).or_default().insert(source);
        }
        self.changed();
    }

    /// Forgets Secret `name` as seen through `source`; the key goes when no source reports it.
    pub fn remove(&self, source: Source, name: &str) {
        let removed = {
            let mut state = self.write();
            remove_locked(&mut state, source, name)
        };
        if removed {
            self.changed();
        }
    }

    /// After a (re)list through `source`: forgets the Secrets of that source not in `present`,
    /// and marks the source as loaded.
    pub fn resync(&self, source: Source, present: &BTreeSet<String>) {
        {
            let mut state = self.write();
            let stale: Vec<String> = state
                .sources
                .iter()
                .filter(|(name, sources)| sources.contains(&source) && !present.contains(*name))
                .map(|(name, _)| name.clone())
                .collect();
            for name in stale {
                remove_locked(&mut state, source, &name);
            }
            state.synced.insert(source);
        }
        self.changed();
    }

    /// True once every source has delivered its initial list.
    pub fn is_synced(&self) -> bool {
        let state = self.read();
        state.synced.contains(&Source::Labeled) && state.synced.contains(&Source::Legacy)
    }

    /// Waits until [`KeyRegistry::is_synced`].
    pub async fn wait_synced(&self) {
        let mut rx = self.version.subscribe();
        while !self.is_synced() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys_in_try_order(&[]).len()
    }

    /// True when no key is loaded.
    pub fn is_empty(&self) -> bool {
        self.read().by_secret.is_empty()
    }

    /// The latest key: greatest ordering time, the earliest registered on a tie.
    pub fn latest(&self) -> Option<Arc<KeyEntry>> {
        let state = self.read();
        state
            .by_secret
            .values()
            .max_by(|(a, sa), (b, sb)| a.order_time.cmp(&b.order_time).then(sb.cmp(sa)))
            .map(|(e, _)| e.clone())
    }

    /// Distinct keys in decryption order: the `preferred` fingerprints that are held, in the
    /// order given, then the others newest first.
    pub fn keys_in_try_order(&self, preferred: &[&str]) -> Vec<Arc<KeyEntry>> {
        let state = self.read();
        let mut entries: Vec<(Arc<KeyEntry>, u64)> = state.by_secret.values().cloned().collect();
        drop(state);
        let rank = |e: &KeyEntry| {
            preferred
                .iter()
                .position(|p| e.fingerprint.as_str() == *p)
                .unwrap_or(usize::MAX)
        };
        entries.sort_by(|(a, sa), (b, sb)| {
            rank(a)
                .cmp(&rank(b))
                .then(b.order_time.cmp(&a.order_time))
                .then(sa.cmp(sb))
        });
        let mut seen = BTreeSet::new();
        entries
            .into_iter()
            .map(|(e, _)| e)
            .filter(|e| seen.insert(e.fingerprint.clone()))
            .collect()
    }
}

impl KeyRegistry {
    /// The integrity key of every key held now (derived again only when the set changes);
    /// `None` while no key is held.
    pub fn integrity_key(&self) -> Option<Arc<IntegrityKey>> {
        let state = self.read();
        let fingerprints: Vec<&str> = state
            .by_secret
            .values()
            .map(|(e, _)| e.fingerprint.as_str())
            .collect();
        let id = crate::integrity::KeySetId::of(fingerprints.iter().copied());
        let cached = self
            .integrity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .filter(|k| k.id == id);
        if cached.is_some() {
            return cached;
        }
        let keys: Vec<&PrivateKey> = state.by_secret.values().map(|(e, _)| &e.key).collect();
        let derived = IntegrityKey::derive(&keys).map(Arc::new);
        *self
            .integrity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = derived.clone();
        derived
    }
}

fn remove_locked(state: &mut State, source: Source, name: &str) -> bool {
    let Some(sources) = state.sources.get_mut(name) else {
        return false;
    };
    sources.remove(&source);
    if sources.is_empty() {
        state.sources.remove(name);
        state.by_secret.remove(name);
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;
    use std::time::Duration;

    use super::*;

    /// Two real 2048-bit keys, generated once for all tests.
    fn keys() -> &'static [(PrivateKey, Certificate); 2] {
        static KEYS: OnceLock<[(PrivateKey, Certificate); 2]> = OnceLock::new();
        KEYS.get_or_init(|| {
            let make = || {
                let key = PrivateKey::generate(2048).expect("generate");
                let cert = Certificate::self_signed(
                    &key,
                    "",
                    SystemTime::now(),
                    Duration::from_secs(3600),
                )
                .expect("certificate");
                (key, cert)
            };
            [make(), make()]
        })
    }

    fn entry(i: usize, secret: &str, order_secs: u64) -> KeyEntry {
        let (key, cert) = &keys()[i];
        KeyEntry::new(
            key.clone(),
            cert.clone(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(order_secs),
            secret.to_owned(),
        )
    }

    #[test]
    fn latest_is_greatest_order_time_and_older_keys_do_not_replace_it() {
        let r = KeyRegistry::default();
        assert!(r.latest().is_none());
        r.upsert(Source::Labeled, entry(0, "k0", 200));
        r.upsert(Source::Labeled, entry(1, "k1", 100));
        assert_eq!(
            r.latest().map(|e| e.secret_name.clone()).as_deref(),
            Some("k0")
        );
        // A tie keeps the first registered.
        r.upsert(Source::Labeled, entry(1, "k1", 200));
        assert_eq!(
            r.latest().map(|e| e.secret_name.clone()).as_deref(),
            Some("k0")
        );
    }

    #[test]
    fn try_order_is_hint_first_then_newest_and_deduplicated() {
        let r = KeyRegistry::default();
        r.upsert(Source::Labeled, entry(0, "old", 100));
        r.upsert(Source::Labeled, entry(1, "new", 200));
        r.upsert(Source::Legacy, entry(0, "legacy-copy", 50));
        let names =
            |v: Vec<Arc<KeyEntry>>| v.iter().map(|e| e.secret_name.clone()).collect::<Vec<_>>();
        assert_eq!(names(r.keys_in_try_order(&[])), vec!["new", "old"]);
        let old = keys()[0].0.fingerprint().to_string();
        let new = keys()[1].0.fingerprint().to_string();
        assert_eq!(names(r.keys_in_try_order(&[&old])), vec!["old", "new"]);
        assert_eq!(
            names(r.keys_in_try_order(&["SHA256:unknown"])),
            vec!["new", "old"]
        );
        // Hint first, then the key that opened the object last time, then newest first.
        assert_eq!(
            names(r.keys_in_try_order(&["SHA256:unknown", &old, &new])),
            vec!["old", "new"]
        );
        assert_eq!(
            names(r.keys_in_try_order(&[&new, &old])),
            vec!["new", "old"]
        );
        let both = r.integrity_key().expect("keys held");
        assert!(Arc::ptr_eq(&both, &r.integrity_key().expect("cached")));
        r.remove(Source::Labeled, "new");
        assert_ne!(r.integrity_key().expect("one key").id, both.id);
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn removal_and_resync_per_source() {
        let r = KeyRegistry::default();
        assert!(!r.is_synced());
        r.upsert(Source::Labeled, entry(0, "a", 1));
        r.upsert(Source::Legacy, entry(0, "a", 1));
        r.upsert(Source::Labeled, entry(1, "b", 2));
        r.remove(Source::Labeled, "a");
        assert_eq!(r.len(), 2, "still reported by the legacy source");
        r.resync(Source::Labeled, &BTreeSet::new());
        assert_eq!(r.len(), 1);
        assert!(!r.is_synced());
        r.resync(Source::Legacy, &BTreeSet::new());
        assert!(r.is_synced());
        assert!(r.is_empty());
    }
}
