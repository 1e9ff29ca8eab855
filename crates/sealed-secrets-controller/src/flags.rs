//! The command line, exactly as upstream's `controller` binary spells it (docs/upstream-behavior.md, "The controller").
//!
//! This is the first of two parsing steps: [`Flags`] stays as close to the command line as
//! possible (every upstream flag name, default and `SEALED_SECRETS_<FLAG>` environment variable,
//! plus our `--kubeconfig`); [`crate::config::Config::from_flags`] then validates it into the
//! typed configuration the controller runs with. Go's flag syntax is kept: booleans are given as
//! `--flag` or `--flag=false`, durations as Go durations (`720h0m0s`, `90s`, `0`).

use std::time::Duration;

use clap::{ArgAction, Args, Parser};
use sealed_secrets::go_syntax::{parse_bool, parse_duration};

/// Every flag of the controller. Each one can also be set through the environment variable
/// `SEALED_SECRETS_<NAME>` (upper case, `-` replaced by `_`); the command line wins.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "sealed-secrets-controller",
    about = "Turns SealedSecrets into Secrets; holds and renews the sealing keys",
    disable_version_flag = true
)]
pub struct Flags {
    /// Prefix used to name keys (generateName of new key Secrets, name of the legacy key Secret).
    #[arg(
        long,
        env = "SEALED_SECRETS_KEY_PREFIX",
        default_value = "sealed-secrets-key"
    )]
    pub key_prefix: String,

    /// Size of encryption key (RSA bits).
    #[arg(long, env = "SEALED_SECRETS_KEY_SIZE", default_value_t = 4096)]
    pub key_size: usize,

    /// Duration that certificate is valid for.
    #[arg(long, env = "SEALED_SECRETS_KEY_TTL", default_value = "87600h0m0s", value_parser = parse_duration)]
    pub key_ttl: Duration,

    /// Common Name used in the generated certificate (empty: an empty subject, as upstream).
    #[arg(long, env = "SEALED_SECRETS_MY_CN", default_value = "")]
    pub my_cn: String,

    /// New key generation period (automatic rotation disabled if 0) [default: 720h0m0s]
    #[arg(long, env = "SEALED_SECRETS_KEY_RENEW_PERIOD", value_parser = parse_duration)]
    pub key_renew_period: Option<Duration>,

    /// Deprecated alias of --key-renew-period [default: 720h0m0s]
    #[arg(long, env = "SEALED_SECRETS_ROTATE_PERIOD", value_parser = parse_duration, hide_short_help = true)]
    pub rotate_period: Option<Duration>,

    /// Which timestamp orders the keys: CertNotBefore or SecretCreationTimestamp.
    #[arg(
        long,
        env = "SEALED_SECRETS_KEY_ORDER_PRIORITY",
        default_value = "CertNotBefore"
    )]
    pub key_order_priority: String,

    /// Create a new key at startup if the latest key is older than this time (RFC 1123 with a
    /// numeric zone, as printed by `date -R`).
    #[arg(long, env = "SEALED_SECRETS_KEY_CUTOFF_TIME", default_value = "")]
    pub key_cutoff_time: String,

    /// Accept the deprecated v1 `spec.data` format.
    #[arg(long, env = "SEALED_SECRETS_ACCEPT_DEPRECATED_V1_DATA", default_value = "true",
          value_parser = parse_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub accept_deprecated_v1_data: bool,

    /// Scan all namespaces or only the current namespace.
    #[arg(long, env = "SEALED_SECRETS_ALL_NAMESPACES", default_value = "true",
          value_parser = parse_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub all_namespaces: bool,

    /// Comma-separated list of additional namespaces to be scanned (then only the controller's
    /// namespace and these are scanned).
    #[arg(long, env = "SEALED_SECRETS_ADDITIONAL_NAMESPACES", default_value = "")]
    pub additional_namespaces: String,

    /// Label selector restricting which SealedSecrets are reconciled.
    #[arg(long, env = "SEALED_SECRETS_LABEL_SELECTOR", default_value = "")]
    pub label_selector: String,

    /// Sustained rate of /v1/verify and /v1/rotate requests per second and client.
    #[arg(long, env = "SEALED_SECRETS_RATE_LIMIT", default_value_t = 2)]
    pub rate_limit: i64,

    /// Extra requests of /v1/verify and /v1/rotate allowed at once per client.
    #[arg(long, env = "SEALED_SECRETS_RATE_LIMIT_BURST", default_value_t = 2)]
    pub rate_limit_burst: i64,

    /// Comma-separated `key=value` annotations added to new key Secrets.
    #[arg(
        long,
        env = "SEALED_SECRETS_PRIVATEKEY_ANNOTATIONS",
        default_value = ""
    )]
    pub privatekey_annotations: String,

    /// Comma-separated `key=value` labels added to new key Secrets.
    #[arg(long, env = "SEALED_SECRETS_PRIVATEKEY_LABELS", default_value = "")]
    pub privatekey_labels: String,

    /// Delete the same-named Secret when a SealedSecret is deleted (instead of relying on the
    /// owner reference and Kubernetes garbage collection).
    #[arg(long, env = "SEALED_SECRETS_OLD_GC_BEHAVIOR", default_value = "false",
          value_parser = parse_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub old_gc_behavior: bool,

    /// Write the status subresource of SealedSecrets.
    #[arg(long, env = "SEALED_SECRETS_UPDATE_STATUS", default_value = "true",
          value_parser = parse_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub update_status: bool,

    /// Accepted for compatibility: key Secrets are always watched (added, changed and removed
    /// keys take effect without a restart).
    #[arg(long, env = "SEALED_SECRETS_WATCH_FOR_SECRETS", default_value = "false",
          value_parser = parse_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub watch_for_secrets: bool,

    /// Do not watch Secrets (deleted or edited Secrets are then not restored).
    #[arg(long, env = "SEALED_SECRETS_SKIP_RECREATE", default_value = "false",
          value_parser = parse_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub skip_recreate: bool,

    /// Log INFO and below to stdout and WARN and above to stderr (false: everything to stderr).
    #[arg(long, env = "SEALED_SECRETS_LOG_INFO_STDOUT", default_value = "true",
          value_parser = parse_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub log_info_stdout: bool,

    /// Log level: DEBUG, INFO, WARN or ERROR (case-insensitive; TRACE also accepted).
    #[arg(long, env = "SEALED_SECRETS_LOG_LEVEL", default_value = "INFO")]
    pub log_level: String,

    /// Log format: text or json.
    #[arg(long, env = "SEALED_SECRETS_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// Retries of a failed SealedSecret with short backoff (0.5 s doubling) before it is only
    /// retried every 15 minutes (doubling to 6 hours); any change to it, or its Secret, retries at
    /// once.
    #[arg(long, env = "SEALED_SECRETS_MAX_UNSEAL_RETRIES", default_value_t = 5)]
    pub max_unseal_retries: i64,

    /// How often every Secret is checked by decrypting its SealedSecret again, even when its
    /// integrity annotation says it is up to date (0 never does).
    #[arg(long, env = "SEALED_SECRETS_REVERIFY_PERIOD", default_value = "24h0m0s", value_parser = parse_duration)]
    pub reverify_period: Duration,

    /// Peers whose X-Forwarded-For is believed for rate limiting (the API server, whose service
    /// proxy appends the client's address): comma-separated addresses and CIDR ranges, and/or
    /// `auto` for the API server's addresses from the `kubernetes` EndpointSlice in `default`.
    /// Empty trusts no peer: every client is its TCP peer address.
    #[arg(long, env = "SEALED_SECRETS_TRUSTED_PROXIES", default_value = "auto")]
    pub trusted_proxies: String,

    /// Requests per second to the API server (negative: no limit).
    #[arg(
        long,
        env = "SEALED_SECRETS_KUBECLIENT_QPS",
        default_value_t = 5.0,
        allow_negative_numbers = true
    )]
    pub kubeclient_qps: f64,

    /// Burst of requests to the API server.
    #[arg(long, env = "SEALED_SECRETS_KUBECLIENT_BURST", default_value_t = 10)]
    pub kubeclient_burst: i64,

    /// HTTP listen address of the API (certificate, verify, rotate, health).
    #[arg(long, env = "SEALED_SECRETS_LISTEN_ADDR", default_value = ":8080")]
    pub listen_addr: String,

    /// HTTP listen address of /metrics.
    #[arg(
        long,
        env = "SEALED_SECRETS_LISTEN_METRICS_ADDR",
        default_value = ":8081"
    )]
    pub listen_metrics_addr: String,

    /// Time limit for reading a request of both HTTP servers.
    #[arg(long, env = "SEALED_SECRETS_READ_TIMEOUT", default_value = "2m0s", value_parser = parse_duration)]
    pub read_timeout: Duration,

    /// Time limit for answering a request of both HTTP servers.
    #[arg(long, env = "SEALED_SECRETS_WRITE_TIMEOUT", default_value = "2m0s", value_parser = parse_duration)]
    pub write_timeout: Duration,

    /// Leader election (several replicas).
    #[command(flatten)]
    pub leader: LeaderFlags,

    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then the in-cluster service account).
    #[arg(long, env = "SEALED_SECRETS_KUBECONFIG")]
    pub kubeconfig: Option<std::path::PathBuf>,

    /// Print the version and exit.
    #[arg(long, action = ArgAction::SetTrue)]
    pub version: bool,
}

/// Leader election flags (flattened into [`Flags`]).
#[derive(Debug, Clone, Args)]
pub struct LeaderFlags {
    /// Elect a leader through a Lease so several replicas can run; only the leader reconciles
    /// and generates keys (false: this process always leads; run one replica only).
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECT", default_value = "true",
          value_parser = parse_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub leader_elect: bool,

    /// How long followers wait after the leader's last renewal before taking over.
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECT_LEASE_DURATION", default_value = "15s",
          value_parser = parse_duration)]
    pub leader_elect_lease_duration: Duration,

    /// How long the leader keeps leading without a successful renewal before it steps down.
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECT_RENEW_DEADLINE", default_value = "10s",
          value_parser = parse_duration)]
    pub leader_elect_renew_deadline: Duration,

    /// Interval between attempts to acquire or renew the Lease.
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECT_RETRY_PERIOD", default_value = "2s",
          value_parser = parse_duration)]
    pub leader_elect_retry_period: Duration,

    /// Name of the Lease (in the controller namespace).
    #[arg(
        long,
        env = "SEALED_SECRETS_LEADER_ELECT_LEASE_NAME",
        default_value = "sealed-secrets-controller"
    )]
    pub leader_elect_lease_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Flags, clap::Error> {
        Flags::try_parse_from(
            std::iter::once("sealed-secrets-controller").chain(args.iter().copied()),
        )
    }

    #[test]
    fn defaults_match_upstream() {
        let f = parse(&[]).expect("defaults parse");
        assert_eq!(f.key_prefix, "sealed-secrets-key");
        assert_eq!(f.key_size, 4096);
        assert_eq!(f.key_ttl, Duration::from_secs(87600 * 3600));
        assert_eq!(f.key_renew_period, None);
        assert_eq!(f.key_order_priority, "CertNotBefore");
        assert!(
            f.all_namespaces && f.update_status && f.accept_deprecated_v1_data && f.log_info_stdout
        );
        assert!(!f.old_gc_behavior && !f.skip_recreate && !f.watch_for_secrets);
        assert_eq!((f.rate_limit, f.rate_limit_burst), (2, 2));
        assert_eq!(f.listen_addr, ":8080");
        assert_eq!(f.listen_metrics_addr, ":8081");
        assert_eq!(f.read_timeout, Duration::from_secs(120));
    }

    #[test]
    fn go_style_booleans() {
        assert!(
            !parse(&["--all-namespaces=false"])
                .expect("parses")
                .all_namespaces
        );
        assert!(parse(&["--skip-recreate"]).expect("parses").skip_recreate);
        assert!(parse(&["--skip-recreate=T"]).expect("parses").skip_recreate);
        assert!(parse(&["--skip-recreate=yes"]).is_err());
    }

    #[test]
    fn unknown_flag_is_a_usage_error() {
        let err = parse(&["--no-such-flag"]).expect_err("unknown flag");
        assert_eq!(err.exit_code(), 2);
    }
}
