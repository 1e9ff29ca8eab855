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

use clap::{ArgAction, Args};
use kube::Client;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::ConfigError;
use crate::flags::{parse_go_bool, parse_go_duration};
use crate::metrics::Metrics;

/// Leader election flags (flattened into [`crate::flags::Flags`]).
#[derive(Debug, Clone, Args)]
pub struct LeaderFlags {
    /// Elect a leader through a Lease so several replicas can run; only the leader reconciles
    /// and generates keys (false: this process always leads; run one replica only).
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECT", default_value = "true",
          value_parser = parse_go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub leader_elect: bool,

    /// How long followers wait after the leader's last renewal before taking over.
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECT_LEASE_DURATION", default_value = "15s",
          value_parser = parse_go_duration)]
    pub leader_elect_lease_duration: Duration,

    /// How long the leader keeps leading without a successful renewal before it steps down.
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECT_RENEW_DEADLINE", default_value = "10s",
          value_parser = parse_go_duration)]
    pub leader_elect_renew_deadline: Duration,

    /// Interval between attempts to acquire or renew the Lease.
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECT_RETRY_PERIOD", default_value = "2s",
          value_parser = parse_go_duration)]
    pub leader_elect_retry_period: Duration,

    /// Name of the Lease (in the controller namespace).
    #[arg(
        long,
        env = "SEALED_SECRETS_LEADER_ELECT_LEASE_NAME",
        default_value = "sealed-secrets-controller"
    )]
    pub leader_elect_lease_name: String,
}

/// Validated election timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionConfig {
    /// Lease name.
    pub lease_name: String,
    /// See [`LeaderFlags::leader_elect_lease_duration`].
    pub lease_duration: Duration,
    /// See [`LeaderFlags::leader_elect_renew_deadline`].
    pub renew_deadline: Duration,
    /// See [`LeaderFlags::leader_elect_retry_period`].
    pub retry_period: Duration,
}

impl LeaderFlags {
    /// `None` with `--leader-elect=false`. The timing must satisfy
    /// `lease duration > renew deadline + retry period`, so a leader that cannot renew steps down
    /// before any follower can take over (see [`lease`]).
    pub fn validate(&self) -> Result<Option<ElectionConfig>, ConfigError> {
        if !self.leader_elect {
            return Ok(None);
        }
        const HINT: &str = "keep --leader-elect-lease-duration > --leader-elect-renew-deadline + \
                            --leader-elect-retry-period, e.g. 15s, 10s and 2s (the defaults)";
        let positive = [
            (
                "--leader-elect-lease-duration",
                self.leader_elect_lease_duration,
            ),
            (
                "--leader-elect-renew-deadline",
                self.leader_elect_renew_deadline,
            ),
            (
                "--leader-elect-retry-period",
                self.leader_elect_retry_period,
            ),
        ];
        for (flag, value) in positive {
            if value < Duration::from_millis(100) {
                return Err(ConfigError {
                    flag,
                    value: format!("{value:?}"),
                    problem: "must be at least 100ms".into(),
                    hint: HINT,
                });
            }
        }
        if self.leader_elect_lease_duration
            <= self.leader_elect_renew_deadline + self.leader_elect_retry_period
        {
            return Err(ConfigError {
                flag: "--leader-elect-lease-duration",
                value: format!("{:?}", self.leader_elect_lease_duration),
                problem: format!(
                    "must be longer than --leader-elect-renew-deadline ({:?}) plus \
                     --leader-elect-retry-period ({:?})",
                    self.leader_elect_renew_deadline, self.leader_elect_retry_period
                ),
                hint: HINT,
            });
        }
        let name = self.leader_elect_lease_name.trim();
        if name.is_empty()
            || name.len() > 253
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            return Err(ConfigError {
                flag: "--leader-elect-lease-name",
                value: self.leader_elect_lease_name.clone(),
                problem: "not a valid object name".into(),
                hint: "use lower-case letters, digits, '-' and '.' (default: sealed-secrets-controller)",
            });
        }
        Ok(Some(ElectionConfig {
            lease_name: name.to_owned(),
            lease_duration: self.leader_elect_lease_duration,
            renew_deadline: self.leader_elect_renew_deadline,
            retry_period: self.leader_elect_retry_period,
        }))
    }
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

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        leader: LeaderFlags,
    }

    fn validate(args: &[&str]) -> Result<Option<ElectionConfig>, ConfigError> {
        Cli::try_parse_from(std::iter::once("c").chain(args.iter().copied()))
            .expect("flags parse")
            .leader
            .validate()
    }

    #[test]
    fn defaults_are_kubernetes_own() {
        let config = validate(&[]).expect("valid").expect("elects");
        assert_eq!(config.lease_name, "sealed-secrets-controller");
        assert_eq!(
            (
                config.lease_duration,
                config.renew_deadline,
                config.retry_period
            ),
            (
                Duration::from_secs(15),
                Duration::from_secs(10),
                Duration::from_secs(2)
            )
        );
        assert_eq!(validate(&["--leader-elect=false"]).expect("valid"), None);
    }

    #[test]
    fn unsafe_timing_is_rejected() {
        for args in [
            &["--leader-elect-lease-duration=10s"][..],
            &["--leader-elect-renew-deadline=14s"],
            &["--leader-elect-retry-period=0"],
            &["--leader-elect-lease-name=Not_Valid"],
        ] {
            let error = validate(args).expect_err("rejected").to_string();
            assert!(error.contains("\nhint: "), "{args:?}: {error}");
        }
        let fast = validate(&[
            "--leader-elect-lease-duration=4s",
            "--leader-elect-renew-deadline=2s",
            "--leader-elect-retry-period=500ms",
        ])
        .expect("valid")
        .expect("elects");
        assert_eq!(fast.retry_period, Duration::from_millis(500));
    }
}
