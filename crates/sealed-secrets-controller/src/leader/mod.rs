//! Leadership: which replica reconciles and renews keys.
//!
//! Every replica follows the key Secrets and serves the HTTP API; only the leader reconciles
//! SealedSecrets and generates keys. The runner waits for [`Leadership::acquired`], runs the
//! leader's work until [`Leadership::lost`] (or shutdown), and starts over. Two modes:
//! [`Leadership::always`] (`--leader-elect=false`: one replica, always the leader) and
//! [`Leadership::elect`], a `coordination.k8s.io/v1` Lease in the controller namespace
//! ([`lease`]). The flags and their defaults are Kubernetes' own (`kube-controller-manager`):
//! lease 15 s, renew deadline 10 s, retry period 2 s.

pub mod lease;

use std::time::Duration;

use kube::Client;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Validated election timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionConfig {
    /// Lease name.
    pub lease_name: String,
    /// How long followers wait after the leader's last renewal before taking over.
    pub lease_duration: Duration,
    /// How long the leader keeps leading without a successful renewal before it steps down.
    pub renew_deadline: Duration,
    /// Interval between attempts to acquire or renew the Lease.
    pub retry_period: Duration,
}

/// This replica's identity in the Lease: `$POD_NAME`, else `<hostname>_<pid>`.
pub fn identity() -> String {
    if let Some(pod) = std::env::var("POD_NAME")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
    {
        return pod;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("{host}_{}", std::process::id())
}

/// The leadership state of this replica.
pub struct Leadership {
    rx: watch::Receiver<bool>,
    /// Keeps the channel open for [`Leadership::always`].
    _tx: Option<watch::Sender<bool>>,
    /// Asks the election loop to give the Lease up and stop (see [`Leadership::release`]).
    release: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
}

impl Leadership {
    /// Always the leader (one replica).
    pub fn always() -> Leadership {
        let (tx, rx) = watch::channel(true);
        Leadership {
            rx,
            _tx: Some(tx),
            release: None,
        }
    }

    /// Runs the Lease election in the background (see [`lease::Election::run`]).
    pub fn elect(
        client: Client,
        namespace: &str,
        identity: String,
        config: ElectionConfig,
        metrics: Metrics,
    ) -> Leadership {
        let (tx, rx) = watch::channel(false);
        let release = CancellationToken::new();
        let election = lease::Election::new(client, namespace, identity, config);
        let task = tokio::spawn(election.run(tx, metrics, release.clone()));
        Leadership {
            rx,
            _tx: None,
            release: Some((release, task)),
        }
    }

    /// A receiver of the state (true while leading), for the writers' fence.
    pub fn receiver(&self) -> watch::Receiver<bool> {
        self.rx.clone()
    }

    /// Resolves once this replica leads (at once if it already does).
    pub async fn acquired(&mut self) {
        while !*self.rx.borrow_and_update() {
            if self.rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Resolves when this replica stops leading (never for [`Leadership::always`]).
    pub async fn lost(&mut self) {
        while *self.rx.borrow_and_update() {
            if self.rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// At shutdown, after the leader's work has stopped: gives the Lease up (so another replica
    /// takes over at its next retry instead of after the lease duration) and stops the election.
    pub async fn release(self) {
        if let Some((token, task)) = self.release {
            token.cancel();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                tracing::warn!("could not release the leader lease in time");
            }
        }
    }
}
