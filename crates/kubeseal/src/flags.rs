//! The raw command line, flag for flag as upstream kubeseal v0.36 (docs/upstream-behavior.md, "kubeseal").
//!
//! This layer only parses: names, short forms, defaults and `SEALED_SECRETS_*` environment
//! fallbacks. [`crate::mode`] turns it into a validated [`crate::mode::Mode`]. Boolean flags
//! accept `--flag`, `--flag=true` and `--flag=false` like Go's pflag. For the two string-list
//! flags, `--from-file` and `--recovery-private-key`, values from the environment and from the
//! command line are concatenated (environment first), as upstream's flagenv does; every other
//! flag given on the command line replaces its environment value.
//!
//! Deliberately without an environment variable: the klog logging flags (not env-settable
//! upstream either) and our hidden `--completion`/`--man-page` generators (an environment
//! variable must never turn a sealing run into something else).

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser};
use sealed_secrets::Scope;
use sealed_secrets::go_syntax::parse_bool;

/// Seal Kubernetes Secrets into SealedSecrets that are safe to store in Git.
///
/// Reads Secret manifests (YAML or JSON, several documents or a List) from stdin or
/// --secret-file and writes SealedSecrets to stdout or --sealed-secret-file. With --cert it
/// works offline, with only the controller's public certificate.
#[derive(Debug, Parser)]
#[command(
    name = "kubeseal",
    disable_version_flag = true,
    max_term_width = 100,
    after_help = "Environment: every flag can also be set as SEALED_SECRETS_<FLAG_NAME>, e.g. SEALED_SECRETS_CERT=cert.pem.\n\n\
Editing a SealedSecret file in place (only the items named change; see kubeseal set --help):\n  \
kubeseal set FILE KEY=VALUE... [--from-file KEY=PATH] [--from-env-file PATH]\n  \
kubeseal unset FILE KEY...\n  \
kubeseal edit FILE [--recovery-private-key KEY]   (in $VISUAL/$EDITOR)\n\n\
Checking manifests offline, e.g. in CI (see kubeseal lint --help):\n  \
kubeseal lint [PATH...|-] [--cert FILE]... [--format text|json|sarif] [--strict]"
)]
pub struct Flags {
    /// Seal with this certificate (PEM file, or http://, https://, file:// URL) instead of asking the controller
    #[arg(
        long,
        env = "SEALED_SECRETS_CERT",
        value_name = "FILE|URL",
        default_value = "",
        hide_default_value = true
    )]
    pub cert: String,

    /// Namespace the controller runs in (cluster modes)
    #[arg(
        long,
        env = "SEALED_SECRETS_CONTROLLER_NAMESPACE",
        default_value = "kube-system"
    )]
    pub controller_namespace: String,

    /// Service name of the controller (cluster modes)
    #[arg(
        long,
        env = "SEALED_SECRETS_CONTROLLER_NAME",
        default_value = "sealed-secrets-controller"
    )]
    pub controller_name: String,

    /// Output format: json or yaml (a -w file ending in .yaml/.yml is always yaml)
    #[arg(
        short = 'o',
        long = "format",
        env = "SEALED_SECRETS_FORMAT",
        default_value = "json"
    )]
    pub format: String,

    /// Write the output to this file (replaced atomically, only on success) instead of stdout
    #[arg(
        short = 'w',
        long,
        env = "SEALED_SECRETS_SEALED_SECRET_FILE",
        default_value = "",
        hide_default_value = true
    )]
    pub sealed_secret_file: String,

    /// Read the input from this file instead of stdin
    #[arg(
        short = 'f',
        long,
        env = "SEALED_SECRETS_SECRET_FILE",
        default_value = "",
        hide_default_value = true
    )]
    pub secret_file: String,

    /// Print the sealing certificate (to keep it for --cert) and exit
    #[arg(long, env = "SEALED_SECRETS_FETCH_CERT", value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", hide_default_value = true,
          value_parser = parse_bool, hide_possible_values = true)]
    pub fetch_cert: bool,

    /// With --fetch-cert: show the certificate's SHA-256 fingerprint and pin it in the repository
    /// rule for the working directory (.sealed-secrets.yaml, created if missing)
    #[arg(long, env = "SEALED_SECRETS_PIN", value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", hide_default_value = true,
          value_parser = parse_bool, hide_possible_values = true)]
    pub pin: bool,

    /// Seal a Secret even if it has no data or stringData
    #[arg(long, env = "SEALED_SECRETS_ALLOW_EMPTY_DATA", value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", hide_default_value = true,
          value_parser = parse_bool, hide_possible_values = true)]
    pub allow_empty_data: bool,

    /// Check with the controller that the input SealedSecrets can be unsealed (cluster mode)
    #[arg(long, env = "SEALED_SECRETS_VALIDATE", value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", hide_default_value = true,
          value_parser = parse_bool, hide_possible_values = true)]
    pub validate: bool,

    /// Seal the input Secret's items into this existing SealedSecret file, in place, keeping its name, namespace, scope and format
    #[arg(
        long,
        env = "SEALED_SECRETS_MERGE_INTO",
        value_name = "FILE",
        default_value = "",
        hide_default_value = true
    )]
    pub merge_into: String,

    /// Keep the ciphertext of every item whose value, scope and certificate did not change since kubeseal wrote it into the -w or --merge-into file, as recorded (keyed hashes, nothing else) in this private cache directory; see README, "Stable re-sealing"
    #[arg(
        long,
        env = "SEALED_SECRETS_STABLE_CACHE",
        value_name = "DIR",
        default_value = "",
        hide_default_value = true
    )]
    pub stable_cache: String,

    /// Seal one value (from --from-file or stdin) and print its ciphertext instead of a SealedSecret
    #[arg(long, env = "SEALED_SECRETS_RAW", value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", hide_default_value = true,
          value_parser = parse_bool, hide_possible_values = true)]
    pub raw: bool,

    /// Secret name: required with --raw and strict scope; otherwise renames the input Secret
    #[arg(
        long,
        env = "SEALED_SECRETS_NAME",
        default_value = "",
        hide_default_value = true
    )]
    pub name: String,

    /// With --raw: read the value from this file (a `key=` prefix is accepted and ignored)
    #[arg(long, env = "SEALED_SECRETS_FROM_FILE", value_name = "[KEY=]PATH", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub from_file: Vec<String>,

    /// Scope: strict (bound to namespace and name; the default), namespace-wide or cluster-wide. Without it, the input Secret's sealedsecrets.bitnami.com/{namespace-wide,cluster-wide} annotations decide
    #[arg(long, env = "SEALED_SECRETS_SCOPE", value_parser = parse_scope)]
    pub scope: Option<Scope>,

    /// Re-encrypt the input SealedSecrets with the controller's latest key (cluster mode)
    #[arg(long = "re-encrypt", env = "SEALED_SECRETS_RE_ENCRYPT", value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", hide_default_value = true,
          value_parser = parse_bool, hide_possible_values = true)]
    pub re_encrypt: bool,

    /// Deprecated alias of --re-encrypt
    #[arg(long, env = "SEALED_SECRETS_ROTATE", hide = true, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = parse_bool, hide_possible_values = true)]
    pub rotate: bool,

    /// Disaster recovery: decrypt the input SealedSecrets offline with --recovery-private-key and print the Secrets
    #[arg(long, env = "SEALED_SECRETS_RECOVERY_UNSEAL", value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", hide_default_value = true,
          value_parser = parse_bool, hide_possible_values = true)]
    pub recovery_unseal: bool,

    /// Private key files for --recovery-unseal (comma list or repeated): PEM keys, or backups of the controller's key Secrets (YAML/JSON, Lists)
    #[arg(long, env = "SEALED_SECRETS_RECOVERY_PRIVATE_KEY", value_name = "FILE", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub recovery_private_key: Vec<String>,

    /// Print the version and exit
    #[arg(long, env = "SEALED_SECRETS_VERSION", value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", hide_default_value = true,
          value_parser = parse_bool, hide_possible_values = true)]
    pub version: bool,

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) and exit
    #[arg(long, hide = true, value_name = "SHELL")]
    pub completion: Option<clap_complete::Shell>,

    /// Print the man page (roff) and exit
    #[arg(long = "man-page", hide = true)]
    pub man_page: bool,

    #[command(flatten)]
    pub connection: ConnectionFlags,

    #[command(flatten)]
    pub logging: LogFlags,

    /// Positional arguments are accepted and ignored, as upstream.
    #[arg(hide = true, num_args = 0.., value_name = "IGNORED")]
    pub ignored: Vec<OsString>,

    /// Whether `--namespace` came from the command line or its environment variable (an
    /// explicit namespace, which turns on the namespace mismatch check).
    #[arg(skip)]
    pub namespace_explicit: bool,

    /// Whether `-o/--format` was given (command line or environment) rather than defaulted.
    #[arg(skip)]
    pub format_explicit: bool,

    /// Which of `cert`, `scope`, `controller_name`, `controller_namespace` were given (command line
    /// or environment): those win over a repository rule.
    #[arg(skip)]
    pub given: Vec<&'static str>,
}

/// kubectl-style connection flags (client-go's override flags), used by the cluster modes
/// ([`crate::controller`]); the offline modes read only `--namespace`, `--context` and `--kubeconfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
#[command(next_help_heading = "Cluster connection (kubectl flags)")]
pub struct ConnectionFlags {
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(
        long,
        env = "SEALED_SECRETS_KUBECONFIG",
        default_value = "",
        hide_default_value = true
    )]
    pub kubeconfig: String,
    /// Client certificate file for TLS
    #[arg(long, env = "SEALED_SECRETS_CLIENT_CERTIFICATE")]
    pub client_certificate: Option<String>,
    /// Client key file for TLS
    #[arg(long, env = "SEALED_SECRETS_CLIENT_KEY")]
    pub client_key: Option<String>,
    /// Bearer token for the API server
    #[arg(long, env = "SEALED_SECRETS_TOKEN")]
    pub token: Option<String>,
    /// User to impersonate
    #[arg(long = "as", env = "SEALED_SECRETS_AS")]
    pub as_user: Option<String>,
    /// UID to impersonate
    #[arg(long = "as-uid", env = "SEALED_SECRETS_AS_UID")]
    pub as_uid: Option<String>,
    /// Group to impersonate (repeatable)
    #[arg(long = "as-group", env = "SEALED_SECRETS_AS_GROUP", action = clap::ArgAction::Append)]
    pub as_group: Vec<String>,
    /// Username for basic authentication
    #[arg(long, env = "SEALED_SECRETS_USERNAME")]
    pub username: Option<String>,
    /// Password for basic authentication
    #[arg(long, env = "SEALED_SECRETS_PASSWORD")]
    pub password: Option<String>,
    /// API server address
    #[arg(long, env = "SEALED_SECRETS_SERVER")]
    pub server: Option<String>,
    /// Server name for the API server's certificate check
    #[arg(long, env = "SEALED_SECRETS_TLS_SERVER_NAME")]
    pub tls_server_name: Option<String>,
    /// CA certificate file for the API server
    #[arg(long, env = "SEALED_SECRETS_CERTIFICATE_AUTHORITY")]
    pub certificate_authority: Option<String>,
    /// Do not check the API server's certificate
    #[arg(long, env = "SEALED_SECRETS_INSECURE_SKIP_TLS_VERIFY", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_value = "false", default_missing_value = "true", hide_default_value = true,
          value_parser = parse_bool, hide_possible_values = true)]
    pub insecure_skip_tls_verify: bool,
    /// Proxy URL for the API server
    #[arg(long, env = "SEALED_SECRETS_PROXY_URL")]
    pub proxy_url: Option<String>,
    /// Do not ask the API server for compressed responses
    #[arg(long, env = "SEALED_SECRETS_DISABLE_COMPRESSION", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_value = "false", default_missing_value = "true", hide_default_value = true,
          value_parser = parse_bool, hide_possible_values = true)]
    pub disable_compression: bool,
    /// Kubeconfig cluster to use
    #[arg(long, env = "SEALED_SECRETS_CLUSTER")]
    pub cluster: Option<String>,
    /// Kubeconfig user to use
    #[arg(long, env = "SEALED_SECRETS_USER")]
    pub user: Option<String>,
    /// Namespace for Secrets that do not set one (default: the kubeconfig context's)
    #[arg(short = 'n', long, env = "SEALED_SECRETS_NAMESPACE")]
    pub namespace: Option<String>,
    /// Kubeconfig context to use
    #[arg(long, env = "SEALED_SECRETS_CONTEXT")]
    pub context: Option<String>,
    /// Timeout of one API request (e.g. 10s, 1m; 0 for none)
    #[arg(long, env = "SEALED_SECRETS_REQUEST_TIMEOUT", default_value = "0")]
    pub request_timeout: String,
}

/// klog's flags, accepted and ignored as upstream accepts them (not env-settable upstream).
#[derive(Debug, Args)]
pub struct LogFlags {
    /// klog verbosity (ignored)
    #[arg(short = 'v', long = "v", hide = true, value_name = "LEVEL")]
    pub verbosity: Option<String>,
    #[arg(long = "vmodule", hide = true)]
    pub vmodule: Option<String>,
    #[arg(long = "log_dir", hide = true)]
    pub log_dir: Option<String>,
    #[arg(long = "log_file", hide = true)]
    pub log_file: Option<String>,
    #[arg(long = "log_file_max_size", hide = true)]
    pub log_file_max_size: Option<String>,
    #[arg(long = "log_backtrace_at", hide = true)]
    pub log_backtrace_at: Option<String>,
    #[arg(long = "stderrthreshold", hide = true)]
    pub stderrthreshold: Option<String>,
    #[arg(long = "logtostderr", hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub logtostderr: Option<String>,
    #[arg(long = "alsologtostderr", hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub alsologtostderr: Option<String>,
    #[arg(long = "one_output", hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub one_output: Option<String>,
    #[arg(long = "skip_headers", hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub skip_headers: Option<String>,
    #[arg(long = "skip_log_headers", hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub skip_log_headers: Option<String>,
    #[arg(long = "add_dir_header", hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub add_dir_header: Option<String>,
}

/// `--scope` values, with upstream's message for anything else.
fn parse_scope(value: &str) -> Result<Scope, String> {
    value.parse::<Scope>().map_err(|e| e.to_string())
}

/// The string-list flags whose environment and command-line values are concatenated.
const CONCATENATED: [(&str, &str); 2] = [
    ("from_file", "SEALED_SECRETS_FROM_FILE"),
    (
        "recovery_private_key",
        "SEALED_SECRETS_RECOVERY_PRIVATE_KEY",
    ),
];

impl Flags {
    /// Parses the process's arguments and environment. Usage errors print clap's message and
    /// exit with status 2; `--help` prints help and exits 0.
    pub fn parse_env() -> Flags {
        Flags::parse_from_matches(Flags::command().get_matches())
    }

    /// Parses `args` (the first is the program name), with the process environment.
    #[cfg(test)]
    pub fn try_parse_args<I, T>(args: I) -> Result<Flags, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Flags::command().try_get_matches_from(args)?;
        Ok(Flags::parse_from_matches(matches))
    }

    fn parse_from_matches(matches: ArgMatches) -> Flags {
        let mut flags = Flags::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        let from = |id: &str| matches.value_source(id);
        flags.namespace_explicit = matches!(
            from("namespace"),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        flags.format_explicit = matches!(
            from("format"),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        flags.given = ["cert", "scope", "controller_name", "controller_namespace"]
            .into_iter()
            .filter(|id| {
                matches!(
                    from(id),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            })
            .collect();
        for (id, var) in CONCATENATED {
            if from(id) != Some(ValueSource::CommandLine) {
                continue;
            }
            let Some(env) = std::env::var_os(var) else {
                continue;
            };
            let env = env.to_string_lossy();
            let mut values: Vec<String> = env
                .split(',')
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect();
            let list = match id {
                "from_file" => &mut flags.from_file,
                _ => &mut flags.recovery_private_key,
            };
            values.append(list);
            *list = values;
        }
        flags
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Flags {
        let mut all = vec!["kubeseal"];
        all.extend_from_slice(args);
        match Flags::try_parse_args(all) {
            Ok(flags) => flags,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn clap_definition_is_valid() {
        Flags::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let f = parse(&[]);
        assert_eq!(f.format, "json");
        assert_eq!(f.controller_namespace, "kube-system");
        assert_eq!(f.controller_name, "sealed-secrets-controller");
        assert_eq!(f.connection.request_timeout, "0");
        assert!(!f.raw && !f.namespace_explicit && !f.format_explicit);
        assert_eq!(f.scope, None);
    }

    #[test]
    fn go_style_booleans_lists_and_ignored_positionals() {
        let f = parse(&[
            "--raw=true",
            "--allow-empty-data",
            "--from-file",
            "a,b",
            "--from-file=c",
            "x",
            "-n",
            "ns",
        ]);
        assert!(f.raw && f.allow_empty_data);
        assert_eq!(f.from_file, ["a", "b", "c"]);
        assert_eq!(f.ignored, [OsString::from("x")]);
        assert!(f.namespace_explicit);
        let f = parse(&[
            "--raw=false",
            "--recovery-private-key",
            "k1",
            "--recovery-private-key",
            "k2,k3",
        ]);
        assert!(!f.raw);
        assert_eq!(f.recovery_private_key, ["k1", "k2", "k3"]);
        let f = parse(&[
            "--scope",
            "cluster-wide",
            "-o",
            "yaml",
            "-v",
            "5",
            "--logtostderr",
        ]);
        assert_eq!(f.scope, Some(Scope::ClusterWide));
        assert!(f.format_explicit);
    }

    #[test]
    fn bad_scope_is_a_usage_error() {
        let err = Flags::try_parse_args(["kubeseal", "--scope", "global"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string()
                .contains("must be one of: strict, namespace-wide, cluster-wide"),
            "{err}"
        );
    }
}
