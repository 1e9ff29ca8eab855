//! The reconcile loop: every watched SealedSecret becomes its Secret.
//!
//! Triggers (upstream's are in docs/upstream-behavior.md, "The controller"; ours differ as below):
//! - a SealedSecret appears, or its generation (spec), annotations (scope, key hint) or labels
//!   change; its own status writes do not trigger (they change none of these);
//! - a Secret controlled by a SealedSecret, or annotated `managed: "true"`, is deleted or changed
//!   by someone else (Secrets are watched metadata-only: no Secret data is cached; the Secret is
//!   read only while its SealedSecret is being reconciled). Changes the controller made itself
//!   are recognised by their resourceVersion and do not trigger.
//!
//! Failures are retried `--max-unseal-retries` times with short backoff, then every 15 minutes,
//! doubling to 6 hours ([`backoff_delay`]); any new trigger retries at once. A Secret that is not
//! ours, or immutable, is not retried on a timer: only a change (of the SealedSecret, or the
//! Secret deleted or marked `managed`) can fix it. Unsealing itself is bounded per object (RSA
//! attempts, template budget) and shared fairly between namespaces ([`crate::unsealer`]).
//!
//! Each reconcile reads the Secret first (unless the metadata watch says it does not exist, see
//! [`index`]): when its integrity annotation ([`crate::integrity`])
//! shows it was written by the controller for the SealedSecret as it is now, with the keys it holds
//! now, nobody changed it since and its values were decrypted within `--reverify-period`, the
//! reconcile stops there, with no RSA work, no write and no event (counted in
//! `sealed_secrets_controller_unseal_skipped_total`), and comes back when the period is over. Otherwise: unseal on the blocking pool
//! ([`crate::unsealer`]), plan the write ([`secret`]), write, then the status ([`status`]) and
//! events ([`crate::events`]).
//!
//! Only the leader writes: every write first checks [`Context::is_leading`], so a replica that
//! lost its lease stops writing at once, even in the middle of a reconcile.
//!
//! [`run_scope`] runs one watch scope (all namespaces, or one namespace) until its shutdown
//! future resolves, so the caller can stop it when leadership is lost.

pub mod error;

pub mod index;
pub mod secret;
pub mod status;
mod watch;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;

use kube::api::{Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Action;
use kube::{Api, Client, Resource as _, ResourceExt as _};
use sealed_secrets::SealedSecret;

use self::error::ReconcileError;
use self::index::{SecretIndex, Writes};
use self::secret::Plan;
use self::status::{Outcome, SYNCED};
use crate::events::{Events, UNSEALED, UNSEALED_MESSAGE};
use crate::integrity::{self, Integrity, Verdict};
use crate::metrics::{ConditionLabels, Metrics};
use crate::unsealer::{UnsealFailure, Unsealer};

pub use self::watch::run_scope;

/// Which SealedSecrets are reconciled, and how.
#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    /// Watch every namespace (false: only the controller's namespace plus `additional_namespaces`).
    pub all_namespaces: bool,
    /// Further namespaces to watch besides the controller's own (deduplicated, in flag order).
    pub additional_namespaces: Vec<String>,
    /// Label selector for SealedSecrets.
    pub label_selector: Option<String>,
    /// Accept the deprecated `spec.data` format.
    pub accept_deprecated_v1_data: bool,
    /// Delete the same-named Secret when a SealedSecret is deleted.
    pub old_gc_behavior: bool,
    /// Write the status subresource.
    pub update_status: bool,
    /// Do not watch Secrets (no restoring of deleted or edited Secrets).
    pub skip_recreate: bool,
    /// Failures in a row retried with short backoff before the slow retries start.
    pub max_unseal_retries: u32,
    /// How often each Secret is checked by decryption even when its integrity annotation
    /// verifies; `None` never.
    pub reverify_period: Option<Duration>,
}

/// First retry delay after a failure.
const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// First retry delay once `--max-unseal-retries` retries have failed.
const SLOW_BACKOFF_BASE: Duration = Duration::from_secs(15 * 60);
/// Longest retry delay.
const BACKOFF_CAP: Duration = Duration::from_secs(6 * 3600);

/// What one watch scope covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchScope {
    /// Every namespace.
    All,
    /// One namespace.
    Namespace(String),
}

/// What every reconcile needs.
pub struct Context {
    /// Kubernetes client.
    pub client: Client,
    /// The unsealing pool.
    pub unsealer: Unsealer,
    /// Metrics.
    pub metrics: Metrics,
    /// Event publisher.
    pub events: Events,
    /// Flags.
    pub config: ReconcileConfig,
    /// Failures in a row per SealedSecret, for the backoff.
    failures: Mutex<HashMap<(String, String), u32>>,
    /// resourceVersion of the Secrets as the controller last wrote or confirmed them.
    known: Mutex<HashMap<(String, String), String>>,
    /// Which Secrets exist, from the metadata watch.
    pub(crate) index: Mutex<SecretIndex>,
    /// Secret writes in flight.
    writes: Mutex<Writes>,
    /// True while this replica leads; every write checks it.
    leading: tokio::sync::watch::Receiver<bool>,
}

impl Context {
    /// A context with empty backoff and write memory.
    pub fn new(
        client: Client,
        unsealer: Unsealer,
        metrics: Metrics,
        events: Events,
        config: ReconcileConfig,
        leading: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        Context {
            client,
            unsealer,
            metrics,
            events,
            config,
            failures: Mutex::default(),
            known: Mutex::default(),
            index: Mutex::default(),
            writes: Mutex::default(),
            leading,
        }
    }

    /// True while this replica is the leader (checked before every write).
    pub fn is_leading(&self) -> bool {
        *self.leading.borrow()
    }

    fn fence(&self) -> Result<(), ReconcileError> {
        if self.is_leading() {
            Ok(())
        } else {
            Err(ReconcileError::NotLeader)
        }
    }

    fn remember(&self, secret: &Secret) {
        if let (Some(ns), Some(name), Some(rv)) = (
            &secret.metadata.namespace,
            &secret.metadata.name,
            &secret.metadata.resource_version,
        ) {
            lock(&self.known).insert((ns.clone(), name.clone()), rv.clone());
        }
    }

    /// Forgets what it remembers of `namespace/name` (its SealedSecret or Secret was deleted).
    pub(crate) fn forget(&self, namespace: &str, name: &str, sealed_too: bool) {
        let key = (namespace.to_owned(), name.to_owned());
        lock(&self.known).remove(&key);
        if sealed_too {
            lock(&self.failures).remove(&key);
        }
    }

    /// Objects remembered (for tests of the forgetting).
    #[cfg(test)]
    pub(crate) fn remembered(&self) -> (usize, usize) {
        (lock(&self.known).len(), lock(&self.failures).len())
    }

    pub(crate) fn is_known(&self, meta: &PartialObjectMeta<Secret>) -> bool {
        let key = (meta.namespace().unwrap_or_default(), meta.name_any());
        lock(&self.known)
            .get(&key)
            .is_some_and(|rv| meta.metadata.resource_version.as_ref() == Some(rv))
    }

    /// True if a write of this Secret is in flight: its watch event is held back until the write
    /// returns (see [`index::Writes`]).
    pub(crate) fn hold(&self, meta: &PartialObjectMeta<Secret>) -> bool {
        lock(&self.writes).hold(
            &meta.namespace().unwrap_or_default(),
            &meta.name_any(),
            meta.metadata.resource_version.as_deref(),
        )
    }

    /// Runs the write `call` of `namespace/name`, holding back its watch events meanwhile; the
    /// flag is true if an event held back was someone else's change.
    async fn write<F>(&self, namespace: &str, name: &str, call: F) -> (kube::Result<Secret>, bool)
    where
        F: Future<Output = kube::Result<Secret>>,
    {
        lock(&self.writes).begin(namespace, name);
        let result = call.await;
        let written = result
            .as_ref()
            .ok()
            .and_then(|s| s.metadata.resource_version.as_deref());
        let foreign = lock(&self.writes).end(namespace, name, written);
        if let Ok(secret) = &result {
            self.remember(secret);
            lock(&self.index).insert(namespace, name);
        }
        (result, foreign)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Delay before retry number `failures` (1-based): 0.5 s doubling for the first `max_retries`
/// (`--max-unseal-retries`), then 15 minutes doubling; never more than 6 hours.
pub fn backoff_delay(failures: u32, max_retries: u32) -> Duration {
    let (base, n) = if failures <= max_retries {
        (BACKOFF_BASE, failures)
    } else {
        (SLOW_BACKOFF_BASE, failures - max_retries)
    };
    let factor = 2u32.saturating_pow(n.saturating_sub(1).min(20));
    base.saturating_mul(factor).min(BACKOFF_CAP)
}

/// Reconciles one SealedSecret.
pub async fn reconcile(
    sealed: Arc<SealedSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    ctx.metrics.unseal_requests.inc();
    let namespace = sealed.namespace().unwrap_or_default();
    let name = sealed.name_any();
    tracing::debug!(namespace = %namespace, name = %name, "Updating");
    let mut result = sync_secret(&sealed, &ctx, Read::UnlessAbsent).await;
    if matches!(result, Ok(Sync::ExistsAfterAll)) {
        tracing::debug!(namespace = %namespace, name = %name, "Secret appeared meanwhile; reading it");
        result = sync_secret(&sealed, &ctx, Read::Always).await;
    }
    if matches!(result, Err(ReconcileError::NotLeader)) || !ctx.is_leading() {
        tracing::debug!(namespace = %namespace, name = %name, "not leading; the new leader reconciles it");
        return Ok(Action::await_change());
    }
    let outcome = match &result {
        Ok(_) => Outcome::Synced,
        Err(e) => Outcome::Failed {
            reason: e.condition_reason(),
            message: e.to_string(),
            stalled: e.is_stalled(),
        },
    };
    let status_changed = if ctx.config.update_status {
        write_status(&sealed, &ctx, &outcome).await
    } else {
        true
    };
    let reference = sealed.object_ref(&());
    let mut action = match &result {
        Ok(sync) => next_check(sync, ctx.config.reverify_period),
        Err(_) => Action::await_change(),
    };
    match &result {
        Ok(Sync::Written { recheck, .. }) => {
            ctx.events
                .normal(&reference, UNSEALED, UNSEALED_MESSAGE)
                .await;
            if *recheck {
                tracing::debug!(namespace = %namespace, name = %name,
                    "Secret changed by someone else while being written; checking it again");
                action = Action::requeue(Duration::ZERO);
            }
        }
        Ok(Sync::UpToDate { .. } | Sync::ExistsAfterAll) => {
            tracing::debug!(namespace = %namespace, name = %name, "secret up to date")
        }
        Err(error) => {
            ctx.metrics.unseal_error(error.reason(), &namespace);
            let failures = lock(&ctx.failures)
                .get(&(namespace.clone(), name.clone()))
                .copied()
                .unwrap_or(0);
            if failures >= ctx.config.max_unseal_retries {
                tracing::warn!(namespace = %namespace, name = %name, reason = error.reason(), error = %error,
                    "Error updating, retrying slowly (--max-unseal-retries reached)");
            } else {
                tracing::warn!(namespace = %namespace, name = %name, reason = error.reason(), error = %error,
                    "Error updating, will retry");
            }
            if status_changed {
                ctx.events
                    .warning(&reference, error.event_reason(), &error.event_message())
                    .await;
            }
        }
    }
    if result.is_ok() {
        lock(&ctx.failures).remove(&(namespace, name));
    }
    result.map(|_| action)
}

/// Retries with short backoff `--max-unseal-retries` times, then slowly ([`backoff_delay`]);
/// except for a Secret that is not ours or immutable, which only a change can fix: those wait for
/// the SealedSecret to change or for the Secret to be deleted or marked `managed` (all of which
/// trigger a reconcile).
pub fn error_policy(
    sealed: Arc<SealedSecret>,
    error: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    if matches!(
        error,
        ReconcileError::Unmanaged { .. }
            | ReconcileError::Immutable { .. }
            | ReconcileError::NotLeader
    ) {
        return Action::await_change();
    }
    let key = (sealed.namespace().unwrap_or_default(), sealed.name_any());
    let mut failures = lock(&ctx.failures);
    let count = failures.entry(key).or_insert(0);
    *count = count.saturating_add(1);
    Action::requeue(backoff_delay(*count, ctx.config.max_unseal_retries))
}

/// A Secret read from the API server, its data zeroized when dropped.
struct Wiped(Option<Secret>);

impl Drop for Wiped {
    fn drop(&mut self) {
        if let Some(secret) = self.0.as_mut() {
            sealed_secrets::unseal::zeroize_data(secret);
        }
    }
}

/// What [`sync_secret`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sync {
    /// The Secret was already up to date; its values were decrypted at `decrypted` (Unix
    /// seconds; now, if that took an unseal).
    UpToDate {
        /// When the values were last decrypted.
        decrypted: u64,
    },
    /// The Secret was created or changed; `recheck` if someone else changed it meanwhile.
    Written {
        /// Look at the Secret again.
        recheck: bool,
    },
    /// The Secret was believed absent and not read, but creating it found it exists: read it
    /// and try again ([`Read::Always`]).
    ExistsAfterAll,
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// After a successful reconcile: come back when the Secret is due to be checked by decryption
/// again (`--reverify-period` after its values were last decrypted), else on a change only.
fn next_check(sync: &Sync, reverify: Option<Duration>) -> Action {
    let Some(period) = reverify else {
        return Action::await_change();
    };
    let decrypted = match sync {
        Sync::UpToDate { decrypted } => *decrypted,
        Sync::Written { .. } | Sync::ExistsAfterAll => unix_now(),
    };
    let due = decrypted.saturating_add(period.as_secs());
    // A second late, so the check finds it due.
    Action::requeue(Duration::from_secs(
        due.saturating_sub(unix_now()).saturating_add(1),
    ))
}

/// Whether [`sync_secret`] reads the Secret first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Unless the metadata watch says it does not exist ([`index::SecretIndex`]).
    UnlessAbsent,
    /// Always.
    Always,
}

/// Brings the Secret up to date.
///
/// Reads the Secret first (unless it is known not to exist); if its integrity annotation verifies
/// against the SealedSecret as it is now, nothing else happens. Otherwise unseals (hint first,
/// then the key that opened it last time), stamps the integrity annotation and writes.
async fn sync_secret(
    sealed: &Arc<SealedSecret>,
    ctx: &Context,
    read: Read,
) -> Result<Sync, ReconcileError> {
    let namespace = sealed.namespace().unwrap_or_default();
    let name = sealed.name_any();
    let uid = sealed.metadata.uid.clone().unwrap_or_default();
    let registry = ctx.unsealer.registry();
    // Serializing a typed spec cannot fail in practice; without a digest the Secret is simply
    // written without the annotation, and checked the slow way next time.
    let digest = integrity::spec_digest(sealed, &ctx.unsealer.options()).ok();
    let absent =
        read == Read::UnlessAbsent && lock(&ctx.index).exists(&namespace, &name) == Some(false);
    let existing = if absent {
        Wiped(None)
    } else {
        Wiped(wire::get(&ctx.client, &namespace, &name).await?)
    };
    let mut previous = None;
    let integrity_key = registry.integrity_key();
    if let Some(secret) = existing.0.as_ref() {
        if let Some(digest) = &digest {
            let now = unix_now();
            match integrity::check(
                secret,
                digest,
                integrity_key.as_deref(),
                now,
                ctx.config.reverify_period,
            ) {
                Verdict::Verified { at } if secret::may_manage(secret, &uid) => {
                    ctx.remember(secret);
                    ctx.metrics.unseal_skipped.inc();
                    return Ok(Sync::UpToDate { decrypted: at });
                }
                Verdict::Tampered => tracing::info!(namespace = %namespace, name = %name,
                    "Secret differs from what the controller wrote (changed by someone else); restoring it"),
                verdict => {
                    tracing::debug!(namespace = %namespace, name = %name, verdict = ?verdict,
                    "Secret needs unsealing")
                }
            }
        }
        previous = Integrity::of(secret).and_then(|i| i.opened_hint());
    }
    let (unsealed, opened_with) = ctx
        .unsealer
        .unseal(sealed.clone(), previous)
        .await
        .map_err(|e| match e {
            UnsealFailure::Unseal(e) => ReconcileError::Unseal(e),
            UnsealFailure::Task | UnsealFailure::Busy => ReconcileError::Task,
        })?;
    // The MAC key comes from every key held, so nobody holding fewer keys can forge it; the
    // key that opened the first value is recorded as the next unseal's first try.
    let opened = opened_with.map(|fp| fp.to_string()).unwrap_or_default();
    let decrypted = unix_now();
    let stamp = |desired: &mut Secret| {
        if let (Some(digest), Some(key)) = (&digest, &integrity_key) {
            integrity::stamp(desired, digest, key, &opened, decrypted);
        }
    };
    let plan = secret::plan(existing.0.as_ref(), unsealed.secret(), &uid, stamp);
    match plan {
        Plan::Create(desired) => {
            let desired = Wiped(Some(*desired));
            ctx.fence()?;
            let Some(body) = desired.0.as_ref() else {
                return Err(ReconcileError::Task);
            };
            let (created, recheck) = ctx
                .write(
                    &namespace,
                    &name,
                    wire::create(&ctx.client, &namespace, body),
                )
                .await;
            match created {
                Ok(created) => drop(Wiped(Some(created))),
                Err(kube::Error::Api(status)) if absent && status.code == 409 => {
                    return Ok(Sync::ExistsAfterAll);
                }
                Err(e) => return Err(e.into()),
            }
            if secret::may_manage(body, &uid) {
                Ok(Sync::Written { recheck })
            } else {
                // Created without an owner reference (skip-set-owner-references) and without
                // `managed`: upstream reports it as not managed right away.
                Err(ReconcileError::Unmanaged {
                    message: secret::unmanaged_message(&name),
                })
            }
        }
        Plan::Update(desired) => {
            let desired = Wiped(Some(*desired));
            ctx.fence()?;
            let Some(body) = desired.0.as_ref() else {
                return Err(ReconcileError::Task);
            };
            let (replaced, recheck) = ctx
                .write(
                    &namespace,
                    &name,
                    wire::replace(&ctx.client, &namespace, &name, body),
                )
                .await;
            match replaced {
                Ok(secret) => {
                    drop(Wiped(Some(secret)));
                    Ok(Sync::Written { recheck })
                }
                Err(kube::Error::Api(status)) if secret::is_immutable_error(&status.message) => {
                    Err(ReconcileError::Immutable {
                        message: secret::immutable_message(&namespace, &name),
                    })
                }
                Err(e) => Err(e.into()),
            }
        }
        Plan::UpToDate => {
            if let Some(existing) = existing.0.as_ref() {
                ctx.remember(existing);
            }
            Ok(Sync::UpToDate { decrypted })
        }
        Plan::Unmanaged => Err(ReconcileError::Unmanaged {
            message: secret::unmanaged_message(&name),
        }),
    }
}

/// Writes the status if it changed; returns whether it needed a write.
async fn write_status(sealed: &SealedSecret, ctx: &Context, outcome: &Outcome) -> bool {
    if !ctx.is_leading() {
        return false;
    }
    let Some(status) = status::next_status(
        sealed.status.as_ref(),
        sealed.metadata.generation,
        outcome,
        status::now(),
    ) else {
        // Unchanged (e.g. after a restart): the gauge still reports the current condition.
        let synced = sealed
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == SYNCED));
        if let Some(synced) = synced {
            ctx.metrics
                .condition_info
                .get_or_create(&condition_labels(sealed))
                .set(status::condition_value(&synced.status));
        }
        return false;
    };
    let namespace = sealed.namespace().unwrap_or_default();
    let name = sealed.name_any();
    let api: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = serde_json::json!({ "status": status });
    match api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            let synced = status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == SYNCED);
            if let Some(synced) = synced {
                ctx.metrics
                    .condition_info
                    .get_or_create(&condition_labels(sealed))
                    .set(status::condition_value(&synced.status));
            }
        }
        Err(error) => {
            ctx.metrics.unseal_error("status", &namespace);
            tracing::warn!(namespace = %namespace, name = %name, error = %error, "Error updating SealedSecret status");
        }
    }
    true
}

pub(crate) fn condition_labels(sealed: &SealedSecret) -> ConditionLabels {
    ConditionLabels {
        namespace: sealed.namespace().unwrap_or_default(),
        name: sealed.name_any(),
        condition: SYNCED.to_owned(),
        ss_app_kubernetes_io_instance: sealed
            .labels()
            .get("app.kubernetes.io/instance")
            .cloned()
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_short_for_max_retries_then_slow_and_capped() {
        assert_eq!(backoff_delay(1, 5), Duration::from_millis(500));
        assert_eq!(backoff_delay(2, 5), Duration::from_secs(1));
        assert_eq!(backoff_delay(5, 5), Duration::from_secs(8));
        assert_eq!(backoff_delay(6, 5), Duration::from_secs(15 * 60));
        assert_eq!(backoff_delay(7, 5), Duration::from_secs(30 * 60));
        assert_eq!(backoff_delay(30, 5), BACKOFF_CAP);
        assert_eq!(backoff_delay(u32::MAX, 5), BACKOFF_CAP);
        assert_eq!(
            backoff_delay(1, 0),
            Duration::from_secs(15 * 60),
            "no fast retries"
        );
    }

    #[test]
    fn verified_secrets_come_back_when_due() {
        let day = Duration::from_secs(86_400);
        let now = unix_now();
        assert_eq!(
            next_check(
                &Sync::UpToDate {
                    decrypted: now - 3600
                },
                Some(day)
            ),
            Action::requeue(Duration::from_secs(86_400 - 3600 + 1))
        );
        assert_eq!(
            next_check(&Sync::UpToDate { decrypted: 0 }, Some(day)),
            Action::requeue(Duration::from_secs(1)),
            "overdue: at once"
        );
        assert_eq!(
            next_check(&Sync::UpToDate { decrypted: now }, None),
            Action::await_change()
        );
    }
}
