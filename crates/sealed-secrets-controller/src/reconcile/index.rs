//! What the controller knows about Secrets without reading them, from the metadata-only watch.
//!
//! - [`SecretIndex`]: the names of the Secrets that exist, per watch scope, once that scope's list
//!   is complete. A reconcile whose Secret is known to be absent creates it without reading it
//!   first, which on a cold start saves one request per SealedSecret. The index can be stale (a
//!   Secret created a moment ago by someone else): the create then fails with `AlreadyExists` and
//!   the reconcile reads the Secret and goes on as usual, so staleness costs a request, never
//!   correctness. Only names are kept: no data, labels or annotations.
//! - [`Writes`]: Secrets the controller is writing right now. The watch event of a write can arrive
//!   before the write call returns the new resourceVersion; such events are held back and compared
//!   with it when the call returns, so the controller's own writes never re-trigger a reconcile, and
//!   a change by someone else in that window still does.

use std::collections::{HashMap, HashSet};

use super::WatchScope;

/// Names of existing Secrets, per namespace, for the scopes whose list is complete.
#[derive(Debug, Default)]
pub struct SecretIndex {
    all_synced: bool,
    synced: HashSet<String>,
    names: HashMap<String, HashSet<String>>,
}

impl SecretIndex {
    /// `Some(exists)` if the Secret's scope is listed completely, `None` if unknown.
    pub fn exists(&self, namespace: &str, name: &str) -> Option<bool> {
        (self.all_synced || self.synced.contains(namespace)).then(|| {
            self.names
                .get(namespace)
                .is_some_and(|names| names.contains(name))
        })
    }

    /// A (re)list of `scope` begins, or its watch stops: forget what it held.
    pub fn reset(&mut self, scope: &WatchScope) {
        match scope {
            WatchScope::All => {
                self.all_synced = false;
                self.synced.clear();
                self.names.clear();
            }
            WatchScope::Namespace(ns) => {
                self.synced.remove(ns);
                self.names.remove(ns);
            }
        }
    }

    /// The list of `scope` is complete.
    pub fn synced(&mut self, scope: &WatchScope) {
        match scope {
            WatchScope::All => self.all_synced = true,
            WatchScope::Namespace(ns) => {
                self.synced.insert(ns.clone());
            }
        }
    }

    /// The Secret exists.
    pub fn insert(&mut self, namespace: &str, name: &str) {
        self.names
            .entry(namespace.to_owned())
            .or_default()
            .insert(name.to_owned());
    }

    /// The Secret is gone.
    pub fn remove(&mut self, namespace: &str, name: &str) {
        if let Some(names) = self.names.get_mut(namespace) {
            names.remove(name);
            if names.is_empty() {
                self.names.remove(namespace);
            }
        }
    }
}

/// Secrets being written: the resourceVersions their watch events carried meanwhile.
#[derive(Debug, Default)]
pub struct Writes {
    in_flight: HashMap<(String, String), Vec<String>>,
}

impl Writes {
    /// A write of `namespace/name` starts.
    pub fn begin(&mut self, namespace: &str, name: &str) {
        self.in_flight
            .insert((namespace.to_owned(), name.to_owned()), Vec::new());
    }

    /// A watch event with `resource_version` arrived for `namespace/name`: true if a write of it
    /// is in flight (the event is held back, not a trigger).
    pub fn hold(&mut self, namespace: &str, name: &str, resource_version: Option<&str>) -> bool {
        let key = (namespace.to_owned(), name.to_owned());
        match self.in_flight.get_mut(&key) {
            Some(seen) => {
                seen.push(resource_version.unwrap_or_default().to_owned());
                true
            }
            None => false,
        }
    }

    /// The write of `namespace/name` ended with `written` (the resourceVersion it returned, `None`
    /// if it failed): true if an event held back meanwhile was not that write, i.e. someone else
    /// changed the Secret and it must be looked at again.
    pub fn end(&mut self, namespace: &str, name: &str, written: Option<&str>) -> bool {
        let key = (namespace.to_owned(), name.to_owned());
        self.in_flight
            .remove(&key)
            .unwrap_or_default()
            .iter()
            .any(|rv| Some(rv.as_str()) != written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_until_the_scope_is_listed() {
        let mut index = SecretIndex::default();
        let ns = WatchScope::Namespace("a".into());
        assert_eq!(index.exists("a", "s"), None);
        index.insert("a", "s");
        index.synced(&ns);
        assert_eq!(index.exists("a", "s"), Some(true));
        assert_eq!(index.exists("a", "t"), Some(false));
        assert_eq!(
            index.exists("b", "s"),
            None,
            "another namespace is not listed"
        );
        index.remove("a", "s");
        assert_eq!(index.exists("a", "s"), Some(false));
        index.reset(&ns);
        assert_eq!(
            index.exists("a", "t"),
            None,
            "a relist makes it unknown again"
        );
    }

    #[test]
    fn all_namespaces_scope() {
        let mut index = SecretIndex::default();
        index.insert("x", "s");
        index.synced(&WatchScope::All);
        assert_eq!(index.exists("x", "s"), Some(true));
        assert_eq!(index.exists("y", "s"), Some(false));
        index.reset(&WatchScope::All);
        assert_eq!(index.exists("x", "s"), None);
        index.synced(&WatchScope::All);
        assert_eq!(index.exists("x", "s"), Some(false), "names were forgotten");
    }

    #[test]
    fn own_write_events_are_held_and_others_reported() {
        let mut writes = Writes::default();
        assert!(!writes.hold("a", "s", Some("1")), "nothing in flight");
        writes.begin("a", "s");
        assert!(writes.hold("a", "s", Some("5")));
        assert!(
            !writes.end("a", "s", Some("5")),
            "only our own write was seen"
        );
        assert!(!writes.hold("a", "s", Some("6")), "no longer in flight");

        writes.begin("a", "s");
        assert!(writes.hold("a", "s", Some("7")));
        assert!(writes.hold("a", "s", Some("8")));
        assert!(
            writes.end("a", "s", Some("8")),
            "a foreign change came first"
        );

        writes.begin("a", "s");
        assert!(!writes.end("a", "s", None), "a failed write with no events");
        writes.begin("a", "s");
        writes.hold("a", "s", Some("9"));
        assert!(
            writes.end("a", "s", None),
            "a failed write: the event was someone else's"
        );
    }
}
