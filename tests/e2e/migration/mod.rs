//! Migration between Bitnami's controller (v0.36.6) and ours, both ways, on one live namespace: one
//! controller runs, generates its keys and unseals SealedSecrets of every scope; it is stopped and the other
//! starts with the same key namespace. The newcomer must adopt the key Secrets (same certificate, no new key),
//! keep every Secret (same UID and content), unseal what was sealed before and after the switch by either
//! kubeseal, and leave a status that Argo CD and kstatus (Flux) read as before. `overlap` runs both at once,
//! as a rolling Deployment update does.
//!
//! Differences these tests pin (for docs/compatibility.md): ours adds its integrity annotation to Bitnami's
//! Secrets (one write each) and Bitnami removes it again on the way back; after the way back, the `Ready`
//! condition (and `Synced`'s `reason`) ours wrote stay as they were, because Bitnami only maintains `Synced`.

mod bitnami_to_ours;
mod helpers;
mod ours_to_bitnami;
mod overlap;
