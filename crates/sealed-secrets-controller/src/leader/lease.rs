//! Leader election on a `coordination.k8s.io/v1` Lease, with Kubernetes' own semantics
//! (client-go's `leaderelection`), written for this controller.
//!
//! - **Acquire.** A candidate reads the Lease every retry period, and at once whenever it changes
//!   (it watches that one Lease), so a released Lease goes to a waiting follower within moments
//!   rather than to whichever replica happens to start next. It takes it (an update with
//!   the `resourceVersion` it read, so two candidates cannot both win; or a create if there is
//!   none) when nobody holds it, or when the holder has not renewed for
//!   `lease duration - retry period` of the candidate's own clock, counted from when it first saw
//!   the holder's latest record. Only durations of the candidate's monotonic clock are used,
//!   never timestamps written by another machine, so clock skew between nodes does not matter.
//! - **Renew.** The leader renews every retry period. If no renewal succeeds within the renew
//!   deadline (API server unreachable, partition, a slow request is cut off at the deadline), it
//!   steps down at once: the reconcile loops stop and every write is fenced. Because
//!   `lease duration > renew deadline + retry period` (checked at startup), the old leader has
//!   stopped before any candidate can take over: the record a candidate saw was written no later
//!   than when it saw it, and the holder stops at most `renew deadline` after its last success.
//! - **Hand over.** A leader killed without warning is replaced within one lease duration of its
//!   last renewal. On a graceful shutdown it clears `holderIdentity` after its work has stopped,
//!   so a follower, which sees the change on its watch, takes over at once.
//!
//! The Lease needs `create`, and `get`, `update`, `list` and `watch` on the one Lease by name
//! (list and watch with a `metadata.name` field selector), in the controller namespace, which
//! `controller-manifests/rbac.yaml` grants.

use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::ElectionConfig;
use crate::metrics::Metrics;

/// What a candidate should do after reading the Lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Try to take the Lease now.
    Acquire,
    /// Someone else holds it; look again after this long.
    Wait(Duration),
}

/// The next signal of `changes`, or never when there is none; `None` when the stream ended.
async fn next_change(changes: &mut Option<BoxStream<'static, ()>>) -> Option<()> {
    match changes {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// Decides whether `me` may take a Lease held by `holder`, whose current record the candidate
/// first saw at `observed_at`.
pub fn decide(
    holder: Option<&str>,
    me: &str,
    observed_at: Instant,
    now: Instant,
    config: &ElectionConfig,
) -> Step {
    match holder {
        None | Some("") => Step::Acquire,
        // A previous run with the same identity (same pod restarted): it is gone.
        Some(holder) if holder == me => Step::Acquire,
        Some(_) => {
            let expiry = observed_at + config.lease_duration.saturating_sub(config.retry_period);
            if now >= expiry {
                Step::Acquire
            } else {
                Step::Wait((expiry - now).min(config.retry_period))
            }
        }
    }
}

/// `leaseDurationSeconds` written into the Lease: the duration rounded up to whole seconds
/// (informational for other tools; candidates here use their own configuration).
pub fn lease_seconds(duration: Duration) -> i32 {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i32::try_from(secs.max(1)).unwrap_or(i32::MAX)
}

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

fn holder(lease: &Lease) -> Option<&str> {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.as_deref())
        .filter(|h| !h.is_empty())
}

/// One replica's candidacy.
pub struct Election {
    api: Api<Lease>,
    name: String,
    identity: String,
    config: ElectionConfig,
}

/// How a term as leader ended.
enum TermEnd {
    /// Shutdown: the Lease was released (or that was attempted).
    Released,
    /// Stepped down; back to candidate.
    Lost,
}

impl Election {
    /// A candidate for Lease `config.lease_name` in `namespace`.
    pub fn new(
        client: Client,
        namespace: &str,
        identity: String,
        config: ElectionConfig,
    ) -> Election {
        Election {
            api: Api::namespaced(client, namespace),
            name: config.lease_name.clone(),
            identity,
            config,
        }
    }

    /// Campaigns and leads until `release` is cancelled; publishes the state on `tx` (and in
    /// the `leader` gauge). On release, a leader gives the Lease up.
    pub async fn run(self, tx: watch::Sender<bool>, metrics: Metrics, release: CancellationToken) {
        tracing::info!(identity = %self.identity, lease = %self.name, "Campaigning for leadership");
        loop {
            let Some((lease, sent)) = self.campaign(&release).await else {
                return;
            };
            tracing::info!(identity = %self.identity, lease = %self.name, "Became the leader");
            metrics.leader.set(1);
            let _ = tx.send(true);
            let end = self.lead(lease, sent, &tx, &release).await;
            metrics.leader.set(0);
            let _ = tx.send(false);
            match end {
                TermEnd::Released => return,
                TermEnd::Lost => {}
            }
        }
    }

    /// Waits until this replica holds the Lease; returns it and when the winning request was
    /// sent; `None` when released first.
    async fn campaign(&self, release: &CancellationToken) -> Option<(Lease, Instant)> {
        // resourceVersion of the record last seen, and when it was first seen.
        let mut seen: Option<(String, Instant)> = None;
        let mut last_holder: Option<String> = None;
        let mut changes = Some(self.changes());
        loop {
            if release.is_cancelled() {
                return None;
            }
            let mut wait = self.config.retry_period;
            // Conservative: the time before the read stands for the time of the write that follows.
            let sent_at = Instant::now();
            match self.api.get_opt(&self.name).await {
                Ok(None) => match self.create().await {
                    Ok(lease) => return Some((lease, sent_at)),
                    Err(error) if is_conflict(&error) => wait = Duration::ZERO,
                    Err(error) => {
                        tracing::warn!(error = %error, lease = %self.name, "cannot create the leader lease")
                    }
                },
                Ok(Some(lease)) => {
                    let version = lease.metadata.resource_version.clone().unwrap_or_default();
                    let now = Instant::now();
                    let observed_at = match &seen {
                        Some((v, at)) if *v == version => *at,
                        _ => {
                            seen = Some((version, now));
                            now
                        }
                    };
                    let current = holder(&lease).map(str::to_owned);
                    if current != last_holder {
                        if let Some(h) = &current {
                            tracing::info!(holder = %h, lease = %self.name, "Following the leader");
                        }
                        last_holder = current.clone();
                    }
                    match decide(
                        current.as_deref(),
                        &self.identity,
                        observed_at,
                        now,
                        &self.config,
                    ) {
                        Step::Acquire => match self.take(lease).await {
                            Ok(lease) => return Some((lease, sent_at)),
                            // Someone else was faster (or the holder renewed): look again.
                            Err(error) if is_conflict(&error) => {}
                            Err(error) => {
                                tracing::warn!(error = %error, lease = %self.name, "cannot take the leader lease")
                            }
                        },
                        Step::Wait(d) => wait = d,
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, lease = %self.name, "cannot read the leader lease")
                }
            }
            tokio::select! {
                () = release.cancelled() => return None,
                () = tokio::time::sleep(wait) => {}
                change = next_change(&mut changes) => {
                    if change.is_none() {
                        changes = None; // the watch ended: polling alone from now on
                    }
                }
            }
        }
    }

    /// Every change to the Lease (and the watch's own restarts), as a signal to read it again.
    fn changes(&self) -> BoxStream<'static, ()> {
        let config = watcher::Config::default().fields(&format!("metadata.name={}", self.name));
        watcher(self.api.clone(), config)
            .default_backoff()
            .filter_map(|event| async move {
                match event {
                    Ok(_) => Some(()),
                    Err(error) => {
                        tracing::debug!(error = %error, "watching the leader lease");
                        None
                    }
                }
            })
            .boxed()
    }

    /// Renews until the renew deadline passes without success (or the Lease is taken), or until
    /// `release`.
    async fn lead(
        &self,
        mut lease: Lease,
        acquired: Instant,
        tx: &watch::Sender<bool>,
        release: &CancellationToken,
    ) -> TermEnd {
        // When the last successful renewal was sent (acquisition counts as one).
        let mut renewed = acquired;
        loop {
            let deadline = renewed + self.config.renew_deadline;
            let next = (Instant::now() + self.config.retry_period).min(deadline);
            tokio::select! {
                () = release.cancelled() => {
                    // Stop leading first, then give the Lease up.
                    let _ = tx.send(false);
                    self.give_up(lease).await;
                    return TermEnd::Released;
                }
                () = tokio::time::sleep_until(next) => {}
            }
            let sent = Instant::now();
            if sent >= deadline {
                tracing::warn!(identity = %self.identity, deadline = ?self.config.renew_deadline,
                    "could not renew the leader lease in time; stepping down");
                return TermEnd::Lost;
            }
            match tokio::time::timeout(deadline - sent, self.renew(&lease)).await {
                Ok(Ok(updated)) => {
                    lease = updated;
                    renewed = sent;
                }
                Ok(Err(error)) if is_conflict(&error) => {
                    // Someone else wrote the Lease: still ours?
                    match self.api.get_opt(&self.name).await {
                        Ok(Some(current)) if holder(&current) == Some(self.identity.as_str()) => {
                            lease = current;
                        }
                        Ok(current) => {
                            let by = current
                                .as_ref()
                                .and_then(holder)
                                .unwrap_or("nobody")
                                .to_owned();
                            tracing::warn!(identity = %self.identity, holder = %by,
                                "the leader lease was taken over; stepping down");
                            return TermEnd::Lost;
                        }
                        Err(error) => {
                            tracing::warn!(error = %error, "cannot read the leader lease")
                        }
                    }
                }
                Ok(Err(error)) => {
                    tracing::warn!(error = %error, "cannot renew the leader lease; retrying")
                }
                Err(_) => {
                    tracing::warn!(identity = %self.identity, deadline = ?self.config.renew_deadline,
                        "renewing the leader lease timed out; stepping down");
                    return TermEnd::Lost;
                }
            }
        }
    }

    fn spec(&self, previous: Option<&LeaseSpec>) -> LeaseSpec {
        let transitions = previous.and_then(|s| s.lease_transitions).unwrap_or(0);
        // A transition whenever an existing Lease changes hands, also when it was released (as
        // client-go counts them); not when its holder takes it again after a restart.
        let changed =
            previous.is_some_and(|s| s.holder_identity.as_deref() != Some(&self.identity));
        let stamp = now();
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(lease_seconds(self.config.lease_duration)),
            acquire_time: Some(stamp.clone()),
            renew_time: Some(stamp),
            lease_transitions: Some(if changed {
                transitions.saturating_add(1)
            } else {
                transitions
            }),
            ..previous.cloned().unwrap_or_default()
        }
    }

    async fn create(&self) -> Result<Lease, kube::Error> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                ..Default::default()
            },
            spec: Some(self.spec(None)),
        };
        self.api.create(&PostParams::default(), &lease).await
    }

    /// Takes `lease` (read just before), failing with 409 if it changed since.
    async fn take(&self, mut lease: Lease) -> Result<Lease, kube::Error> {
        lease.spec = Some(self.spec(lease.spec.as_ref()));
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
    }

    async fn renew(&self, lease: &Lease) -> Result<Lease, kube::Error> {
        let mut lease = lease.clone();
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        spec.renew_time = Some(now());
        spec.lease_duration_seconds = Some(lease_seconds(self.config.lease_duration));
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
    }

    async fn give_up(&self, mut lease: Lease) {
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        spec.holder_identity = None;
        spec.acquire_time = None;
        spec.renew_time = None;
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => tracing::info!(identity = %self.identity, "Released the leader lease"),
            Err(error) => {
                tracing::warn!(error = %error, "could not release the leader lease; it expires by itself")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ElectionConfig {
        ElectionConfig {
            lease_name: "l".into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    #[test]
    fn free_or_own_leases_are_taken_at_once() {
        let t = Instant::now();
        for holder in [None, Some(""), Some("me")] {
            assert_eq!(decide(holder, "me", t, t, &config()), Step::Acquire);
        }
    }

    #[test]
    fn a_held_lease_is_taken_lease_minus_retry_after_its_last_record_was_seen() {
        let seen = Instant::now();
        let c = config();
        let at = |secs: u64| seen + Duration::from_secs(secs);
        assert_eq!(
            decide(Some("other"), "me", seen, seen, &c),
            Step::Wait(c.retry_period)
        );
        assert_eq!(
            decide(Some("other"), "me", seen, at(12), &c),
            Step::Wait(Duration::from_secs(1)),
            "the wait never overshoots the expiry"
        );
        assert_eq!(decide(Some("other"), "me", seen, at(13), &c), Step::Acquire);
        // Safety margin: the old leader stops by (record time + renew deadline) <= seen + 10 s,
        // strictly before a candidate acts at seen + 13 s.
        assert!(c.renew_deadline < c.lease_duration - c.retry_period);
    }

    #[test]
    fn lease_seconds_round_up() {
        assert_eq!(lease_seconds(Duration::from_secs(15)), 15);
        assert_eq!(lease_seconds(Duration::from_millis(3500)), 4);
        assert_eq!(lease_seconds(Duration::from_millis(100)), 1);
    }
}
