//! The validated configuration: the second parsing step after [`crate::flags::Flags`].
//!
//! Every check that upstream does late (or not at all, crashing instead) happens here, before
//! anything starts, with an error that names the flag and says what to do: malformed
//! `--privatekey-labels`/`--privatekey-annotations` items, `--rate-limit 0`, an unparsable
//! `--key-cutoff-time`, an illegal `--key-prefix`, unknown log levels and formats.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;

use crate::flags::{Flags, LeaderFlags};
use crate::http::HttpConfig;
use crate::keys::{KeyConfig, KeyOrder};
use crate::leader::ElectionConfig;
use crate::logging::{LogConfig, LogFormat};
use crate::reconcile::ReconcileConfig;

/// The Kubernetes client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Explicit kubeconfig; otherwise kube's inference order.
    pub kubeconfig: Option<PathBuf>,
}

/// The validated configuration of one controller process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Keys.
    pub keys: KeyConfig,
    /// Reconciling.
    pub reconcile: ReconcileConfig,
    /// HTTP servers.
    pub http: HttpConfig,
    /// Logging.
    pub log: LogConfig,
    /// Kubernetes client.
    pub client: ClientConfig,
    /// Leader election; `None` with `--leader-elect=false` (always the leader).
    pub leader: Option<ElectionConfig>,
    /// Warnings about accepted-but-ignored or deprecated flags, logged once logging is up.
    pub notices: Vec<String>,
}

/// A flag value that cannot be used. Rendered as `invalid --flag: what` plus a hint line.
#[derive(Debug, thiserror::Error)]
#[error("invalid {flag} {value:?}: {problem}\nhint: {hint}")]
pub struct ConfigError {
    /// The flag, with its dashes.
    pub flag: &'static str,
    /// The value given (never secret: flags carry no key material).
    pub value: String,
    /// What is wrong.
    pub problem: String,
    /// What to do.
    pub hint: &'static str,
}

fn invalid(
    flag: &'static str,
    value: &str,
    problem: impl Into<String>,
    hint: &'static str,
) -> ConfigError {
    ConfigError {
        flag,
        value: value.to_owned(),
        problem: problem.into(),
        hint,
    }
}

impl Config {
    /// Validates the raw flags.
    pub fn from_flags(flags: &Flags) -> Result<Config, ConfigError> {
        let mut notices = Vec::new();
        validate_key_prefix(&flags.key_prefix)?;
        if !(sealed_secrets::keys::MIN_KEY_BITS..=sealed_secrets::keys::MAX_KEY_BITS)
            .contains(&flags.key_size)
        {
            return Err(invalid(
                "--key-size",
                &flags.key_size.to_string(),
                format!(
                    "must be between {} and {} bits",
                    sealed_secrets::keys::MIN_KEY_BITS,
                    sealed_secrets::keys::MAX_KEY_BITS
                ),
                "use the default of 4096",
            ));
        }
        if flags.rotate_period.is_some() {
            notices.push("--rotate-period is deprecated: use --key-renew-period".to_owned());
        }
        let renew = flags
            .key_renew_period
            .or(flags.rotate_period)
            .unwrap_or(Duration::from_secs(720 * 3600));
        let order = match flags.key_order_priority.as_str() {
            "CertNotBefore" => KeyOrder::CertNotBefore,
            "SecretCreationTimestamp" => KeyOrder::SecretCreationTimestamp,
            other => {
                return Err(invalid(
                    "--key-order-priority",
                    other,
                    "unknown ordering",
                    "use CertNotBefore or SecretCreationTimestamp",
                ));
            }
        };
        let cutoff = parse_cutoff(&flags.key_cutoff_time)?;
        let secret_labels = parse_key_values("--privatekey-labels", &flags.privatekey_labels)?;
        let secret_annotations =
            parse_key_values("--privatekey-annotations", &flags.privatekey_annotations)?;

        let rate_limit = u32::try_from(flags.rate_limit)
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| {
                invalid(
                    "--rate-limit",
                    &flags.rate_limit.to_string(),
                    "must be a positive number of requests per second",
                    "use the default of 2, or a larger value to allow more requests",
                )
            })?;
        let rate_limit_burst = u32::try_from(flags.rate_limit_burst).map_err(|_| {
            invalid(
                "--rate-limit-burst",
                &flags.rate_limit_burst.to_string(),
                "must not be negative",
                "use the default of 2",
            )
        })?;
        let max_unseal_retries = u32::try_from(flags.max_unseal_retries).map_err(|_| {
            invalid(
                "--max-unseal-retries",
                &flags.max_unseal_retries.to_string(),
                "must not be negative",
                "use the default of 5 (0 goes to the slow retries at once)",
            )
        })?;
        let trusted_proxies = crate::http::client::TrustedProxies::parse(&flags.trusted_proxies)
            .map_err(|e| {
                invalid(
                    "--trusted-proxies",
                    &flags.trusted_proxies,
                    e.to_string(),
                    "list addresses or CIDR ranges of the API server, e.g. 10.0.0.10,192.168.0.0/24, or auto",
                )
            })?;
        if flags.watch_for_secrets {
            notices.push(
                "--watch-for-secrets is always on: key Secrets are always watched".to_owned(),
            );
        }
        if flags.kubeclient_qps != 5.0 || flags.kubeclient_burst != 10 {
            notices.push(
                "--kubeclient-qps and --kubeclient-burst are accepted for compatibility; the API client is not \
                 rate-limited on the client side (the API server's priority and fairness applies)"
                    .to_owned(),
            );
        }
        let additional_namespaces = split_list(&flags.additional_namespaces);
        if flags.all_namespaces && !additional_namespaces.is_empty() {
            notices.push(
                "--additional-namespaces is set, so only the controller's namespace and those namespaces are watched \
                 (as upstream; --all-namespaces does not apply)"
                    .to_owned(),
            );
        }
        let label_selector = Some(flags.label_selector.trim().to_owned()).filter(|s| !s.is_empty());

        Ok(Config {
            keys: KeyConfig {
                prefix: flags.key_prefix.clone(),
                size: flags.key_size,
                ttl: flags.key_ttl,
                common_name: flags.my_cn.clone(),
                renew_period: (!renew.is_zero()).then_some(renew),
                order,
                cutoff,
                secret_labels,
                secret_annotations,
            },
            reconcile: ReconcileConfig {
                all_namespaces: flags.all_namespaces && additional_namespaces.is_empty(),
                additional_namespaces,
                label_selector,
                accept_deprecated_v1_data: flags.accept_deprecated_v1_data,
                old_gc_behavior: flags.old_gc_behavior,
                update_status: flags.update_status,
                skip_recreate: flags.skip_recreate,
                max_unseal_retries,
                reverify_period: (!flags.reverify_period.is_zero())
                    .then_some(flags.reverify_period),
            },
            http: HttpConfig {
                listen_addr: flags.listen_addr.clone(),
                metrics_addr: flags.listen_metrics_addr.clone(),
                read_timeout: flags.read_timeout,
                write_timeout: flags.write_timeout,
                rate_limit,
                rate_limit_burst,
                trusted_proxies: std::sync::Arc::new(trusted_proxies),
            },
            log: LogConfig {
                level: parse_log_level(&flags.log_level)?,
                format: match flags.log_format.to_ascii_lowercase().as_str() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => {
                        return Err(invalid(
                            "--log-format",
                            &flags.log_format,
                            "unknown format",
                            "use text or json",
                        ));
                    }
                },
                info_to_stdout: flags.log_info_stdout,
            },
            client: ClientConfig {
                kubeconfig: flags.kubeconfig.clone(),
            },
            leader: election(&flags.leader)?,
            notices,
        })
    }
}

/// Upstream's key prefix rules: at most 245 characters of `a-z`, `0-9` and `-` (a generateName
/// prefix the API server accepts, leaving room for the random suffix).
fn validate_key_prefix(prefix: &str) -> Result<(), ConfigError> {
    const HINT: &str = "use lower-case letters, digits and '-' (default: sealed-secrets-key)";
    if prefix.is_empty() {
        return Err(invalid("--key-prefix", prefix, "must not be empty", HINT));
    }
    if prefix.len() >= 245 {
        return Err(invalid(
            "--key-prefix",
            prefix,
            format!(
                "name is too long, must be shorter than 245, got {}",
                prefix.len()
            ),
            HINT,
        ));
    }
    if let Some(c) = prefix
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(invalid(
            "--key-prefix",
            prefix,
            format!("name contains illegal character {c}"),
            HINT,
        ));
    }
    Ok(())
}

/// `--key-cutoff-time`: RFC 1123 with a numeric zone (`date -R`), empty for none.
fn parse_cutoff(value: &str) -> Result<Option<Timestamp>, ConfigError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    jiff::fmt::rfc2822::parse(value)
        .map(|zoned| Some(zoned.timestamp()))
        .map_err(|_| {
            invalid(
                "--key-cutoff-time",
                value,
                "not an RFC 1123 time with a numeric zone",
                "use the format printed by `date -R`, e.g. \"Mon, 14 Oct 2024 21:45:30 +0200\"",
            )
        })
}

/// `k=v,k2=v2`: duplicates keep the last value; a trailing comma is fine; an item without `=`
/// or with an empty key is an error (upstream crashes on it). A value may contain `=`.
fn parse_key_values(
    flag: &'static str,
    value: &str,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut map = BTreeMap::new();
    for item in value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                map.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            _ => {
                return Err(invalid(
                    flag,
                    value,
                    format!("item {item:?} is not key=value"),
                    "write comma-separated key=value pairs, e.g. team=infra,tier=keys",
                ));
            }
        }
    }
    Ok(map)
}

/// Comma-separated list, trimmed, without empty items or duplicates, in order.
fn split_list(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !out.iter().any(|seen| seen == item) {
            out.push(item.to_owned());
        }
    }
    out
}

fn parse_log_level(value: &str) -> Result<tracing::Level, ConfigError> {
    match value.to_ascii_uppercase().as_str() {
        "TRACE" => Ok(tracing::Level::TRACE),
        "DEBUG" => Ok(tracing::Level::DEBUG),
        "INFO" => Ok(tracing::Level::INFO),
        "WARN" | "WARNING" => Ok(tracing::Level::WARN),
        "ERROR" => Ok(tracing::Level::ERROR),
        _ => Err(invalid(
            "--log-level",
            value,
            "unknown level",
            "use DEBUG, INFO, WARN or ERROR",
        )),
    }
}

/// `None` with `--leader-elect=false`. The timing must satisfy
/// `lease duration > renew deadline + retry period`, so a leader that cannot renew steps down
/// before any follower can take over (see `leader::lease`).
fn election(flags: &LeaderFlags) -> Result<Option<ElectionConfig>, ConfigError> {
    if !flags.leader_elect {
        return Ok(None);
    }
    const HINT: &str = "keep --leader-elect-lease-duration > --leader-elect-renew-deadline + \
                        --leader-elect-retry-period, e.g. 15s, 10s and 2s (the defaults)";
    let positive = [
        (
            "--leader-elect-lease-duration",
            flags.leader_elect_lease_duration,
        ),
        (
            "--leader-elect-renew-deadline",
            flags.leader_elect_renew_deadline,
        ),
        (
            "--leader-elect-retry-period",
            flags.leader_elect_retry_period,
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
    if flags.leader_elect_lease_duration
        <= flags.leader_elect_renew_deadline + flags.leader_elect_retry_period
    {
        return Err(ConfigError {
            flag: "--leader-elect-lease-duration",
            value: format!("{:?}", flags.leader_elect_lease_duration),
            problem: format!(
                "must be longer than --leader-elect-renew-deadline ({:?}) plus \
                 --leader-elect-retry-period ({:?})",
                flags.leader_elect_renew_deadline, flags.leader_elect_retry_period
            ),
            hint: HINT,
        });
    }
    let name = flags.leader_elect_lease_name.trim();
    if name.is_empty()
        || name.len() > 253
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Err(ConfigError {
            flag: "--leader-elect-lease-name",
            value: flags.leader_elect_lease_name.clone(),
            problem: "not a valid object name".into(),
            hint: "use lower-case letters, digits, '-' and '.' (default: sealed-secrets-controller)",
        });
    }
    Ok(Some(ElectionConfig {
        lease_name: name.to_owned(),
        lease_duration: flags.leader_elect_lease_duration,
        renew_deadline: flags.leader_elect_renew_deadline,
        retry_period: flags.leader_elect_retry_period,
    }))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn config(args: &[&str]) -> Result<Config, ConfigError> {
        let flags =
            Flags::try_parse_from(std::iter::once("controller").chain(args.iter().copied()))
                .expect("flags parse");
        Config::from_flags(&flags)
    }

    fn error(args: &[&str]) -> String {
        config(args).expect_err("must be rejected").to_string()
    }

    #[test]
    fn defaults() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.keys.renew_period, Some(Duration::from_secs(720 * 3600)));
        assert_eq!(c.keys.order, KeyOrder::CertNotBefore);
        assert!(c.reconcile.all_namespaces);
        assert_eq!(c.http.rate_limit.get(), 2);
        assert!(c.notices.is_empty());
    }

    #[test]
    fn table_of_rejected_flags() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--rate-limit=0"],
                "invalid --rate-limit \"0\": must be a positive number",
            ),
            (&["--rate-limit=-3"], "invalid --rate-limit \"-3\""),
            (&["--rate-limit-burst=-1"], "invalid --rate-limit-burst"),
            (
                &["--privatekey-labels=a=b,broken"],
                "item \"broken\" is not key=value",
            ),
            (
                &["--privatekey-annotations==v"],
                "item \"=v\" is not key=value",
            ),
            (
                &["--key-cutoff-time=yesterday"],
                "invalid --key-cutoff-time \"yesterday\"",
            ),
            (
                &["--key-prefix=Bad_Prefix"],
                "name contains illegal character B",
            ),
            (
                &["--key-order-priority=Random"],
                "invalid --key-order-priority",
            ),
            (&["--log-level=chatty"], "invalid --log-level"),
            (&["--log-format=xml"], "invalid --log-format"),
            (&["--key-size=512"], "invalid --key-size"),
        ];
        for (args, expected) in cases {
            let message = error(args);
            assert!(message.contains(expected), "{args:?}: {message}");
            assert!(
                message.contains("\nhint: "),
                "{args:?} has a hint: {message}"
            );
        }
        let long = format!("--key-prefix={}", "a".repeat(245));
        assert!(error(&[&long]).contains("name is too long, must be shorter than 245, got 245"));
    }

    #[test]
    fn key_values_are_parsed_leniently_but_safely() {
        let c = config(&["--privatekey-labels=team=infra,path=a/b.c,eq=x=y,"]).expect("valid");
        assert_eq!(
            c.keys.secret_labels.get("team").map(String::as_str),
            Some("infra")
        );
        assert_eq!(
            c.keys.secret_labels.get("path").map(String::as_str),
            Some("a/b.c")
        );
        assert_eq!(
            c.keys.secret_labels.get("eq").map(String::as_str),
            Some("x=y")
        );
    }

    #[test]
    fn cutoff_time_rfc1123z() {
        let c = config(&["--key-cutoff-time=Mon, 14 Oct 2024 21:45:30 +0200"]).expect("valid");
        assert_eq!(c.keys.cutoff.map(|t| t.as_second()), Some(1_728_935_130));
    }

    #[test]
    fn renewal_zero_disables_and_alias_is_noticed() {
        let c = config(&["--key-renew-period=0"]).expect("valid");
        assert_eq!(c.keys.renew_period, None);
        let c = config(&["--rotate-period=1h"]).expect("valid");
        assert_eq!(c.keys.renew_period, Some(Duration::from_secs(3600)));
        assert!(c.notices[0].contains("deprecated"));
    }

    #[test]
    fn additional_namespaces_limit_the_watch() {
        let c = config(&["--additional-namespaces=a, b,a,"]).expect("valid");
        assert_eq!(c.reconcile.additional_namespaces, vec!["a", "b"]);
        assert!(!c.reconcile.all_namespaces);
        assert_eq!(c.notices.len(), 1);
    }

    #[test]
    fn election_defaults_are_kubernetes_own() {
        let election = config(&[]).expect("valid").leader.expect("elects");
        assert_eq!(election.lease_name, "sealed-secrets-controller");
        assert_eq!(
            (
                election.lease_duration,
                election.renew_deadline,
                election.retry_period
            ),
            (
                Duration::from_secs(15),
                Duration::from_secs(10),
                Duration::from_secs(2)
            )
        );
        assert!(
            config(&["--leader-elect=false"])
                .expect("valid")
                .leader
                .is_none()
        );
    }

    #[test]
    fn unsafe_election_timing_is_rejected() {
        for args in [
            &["--leader-elect-lease-duration=10s"][..],
            &["--leader-elect-renew-deadline=14s"],
            &["--leader-elect-retry-period=0"],
            &["--leader-elect-lease-name=Not_Valid"],
        ] {
            let error = config(args).expect_err("rejected").to_string();
            assert!(error.contains("\nhint: "), "{args:?}: {error}");
        }
        let fast = config(&[
            "--leader-elect-lease-duration=4s",
            "--leader-elect-renew-deadline=2s",
            "--leader-elect-retry-period=500ms",
        ])
        .expect("valid")
        .leader
        .expect("elects");
        assert_eq!(fast.retry_period, Duration::from_millis(500));
    }
}
