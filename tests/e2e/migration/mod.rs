//! Migration between Bitnami's controller (v0.36.6) and ours, both ways, on one live namespace: one
//! controller runs, generates its key and unseals SealedSecrets of every scope; it is stopped and the other
//! starts with the same key namespace. The newcomer must adopt the key Secret (same certificate, no new key),
//! keep every Secret (same UID and content), unseal what was sealed before and after the switch by either
//! kubeseal, and leave a status that Argo CD and kstatus (Flux) read as before.

mod bitnami_to_ours;
mod helpers;
mod ours_to_bitnami;
mod overlap;

/// The controller tests' helpers (our controller under its restricted identity, waits, Argo CD's health rule),
/// shared by path.
#[path = "../controller/support.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod support;
