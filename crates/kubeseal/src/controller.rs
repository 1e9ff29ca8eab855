//! The connection to the controller, through the API server's service proxy: `--fetch-cert`,
//! sealing without `--cert`, and the requests of [`crate::controller_modes`]
//! (docs/upstream-behavior.md, "The controller" and "kubeseal").
//!
//! The client is configured as kubectl users expect: `--kubeconfig`, else the files of
//! `KUBECONFIG`, else `~/.kube/config`, else the in-cluster service account; `--context`,
//! `--cluster`, `--user` pick from the kubeconfig; `--server`, `--token`, `--certificate-authority`,
//! `--insecure-skip-tls-verify`, `--client-certificate`, `--client-key`, `--as*`,
//! `--username`/`--password`, `--tls-server-name` and `--request-timeout` override it. A
//! current-thread tokio runtime is created only here, so offline runs never start one.
//!
//! Every failure becomes one message the user can act on, never a chain of transport errors.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use kube::{Client, Error as KubeError};

use crate::flags::ConnectionFlags;
use crate::report::{hinted, message_with_hint};

/// Where the controller is: its Service, and how to reach the API server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    /// `--controller-namespace`.
    pub namespace: String,
    /// `--controller-name`.
    pub name: String,
    /// The kubectl-style connection flags.
    pub connection: ConnectionFlags,
}

/// A connection to the controller through the API server.
pub struct Session {
    runtime: tokio::runtime::Runtime,
    client: Client,
    server: String,
    namespace: String,
    name: String,
    port: Option<String>,
}

/// How long a 503 (controller starting, no ready replica) or 429 (rate limit) answer is retried.
const NOT_READY_WAIT: Duration = Duration::from_secs(60);
/// Pause between those retries.
const NOT_READY_RETRY: Duration = Duration::from_secs(2);
/// Pause after a 429 (the controller allows 2 requests a second by default).
const RATE_LIMITED_RETRY: Duration = Duration::from_millis(500);

/// The offline alternative, for hints.
const OFFLINE_HINT: &str = "to seal offline, pass the controller's certificate with --cert FILE|URL \
     (whoever runs the controller can save it with `kubeseal --fetch-cert > cert.pem`)";

impl Controller {
    /// Builds the API client (no request yet).
    pub fn connect(&self) -> Result<Session> {
        crate::names::check_namespace("--controller-namespace", &self.namespace)?;
        crate::names::check_name("--controller-name", &self.name)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let mut config = runtime.block_on(client_config(&self.connection))?;
        // kube's own retries of 503 would wait minutes without a word; `send` retries for a
        // bounded time and says so.
        config.default_retry = false;
        let server = config.cluster_url.to_string();
        let server = server.trim_end_matches('/').to_owned();
        let client = {
            let _guard = runtime.enter();
            Client::try_from(config).map_err(|e| {
                hinted(
                    anyhow!(
                        "cannot create a client for the API server {server}: {}",
                        root_cause(&e)
                    ),
                    "check the cluster, user and certificates of your kubeconfig context",
                )
            })?
        };
        Ok(Session {
            runtime,
            client,
            server,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            port: None,
        })
    }
}

impl Session {
    /// `GET .../proxy/v1/cert.pem`.
    pub fn cert(&mut self) -> Result<Vec<u8>> {
        let path = self.proxy_path("v1/cert.pem")?;
        let text = self
            .send(|| {
                http::Request::get(path.as_str())
                    .header(http::header::ACCEPT, "application/x-pem-file, */*")
                    .body(Vec::new())
            })
            .map_err(|e| self.proxy_error("cannot fetch certificate", "get", e))?;
        Ok(text.into_bytes())
    }

    /// Sends the request `build` makes; while the answer is 503 (the controller is starting and
    /// has no key yet, or no replica is ready) or 429 (its rate limit), waits and sends it again,
    /// for at most [`NOT_READY_WAIT`], saying so once on stderr (as client-go retries a 429).
    fn send(
        &self,
        build: impl Fn() -> http::Result<http::Request<Vec<u8>>>,
    ) -> Result<String, KubeError> {
        let deadline = std::time::Instant::now() + NOT_READY_WAIT;
        let (mut told_503, mut told_429) = (false, false);
        loop {
            let request = build().map_err(KubeError::HttpError)?;
            match self.runtime.block_on(self.client.request_text(request)) {
                Err(KubeError::Api(status))
                    if matches!(status.code, 429 | 503) && std::time::Instant::now() < deadline =>
                {
                    let wait = NOT_READY_WAIT.as_secs();
                    if status.code == 503 && !told_503 {
                        told_503 = true;
                        eprintln!(
                            "the controller is not ready yet ({}); retrying for up to {wait} s",
                            first_line(status.message.trim())
                        );
                    }
                    if status.code == 429 && !told_429 {
                        told_429 = true;
                        eprintln!(
                            "the controller's rate limit was reached; retrying for up to {wait} s"
                        );
                    }
                    std::thread::sleep(if status.code == 429 {
                        RATE_LIMITED_RETRY
                    } else {
                        NOT_READY_RETRY
                    });
                }
                other => return other,
            }
        }
    }

    /// `POST .../proxy/v1/verify` with one SealedSecret; `name` is for the message.
    pub fn verify(&mut self, body: Vec<u8>, name: &str) -> Result<()> {
        let path = self.proxy_path("v1/verify")?;
        match self.post(&path, body) {
            Ok(_) => Ok(()),
            Err(KubeError::Api(status)) if status.code == 409 => Err(message_with_hint(
                format!("unable to decrypt sealed secret: {name}"),
                "the controller has no key that decrypts it for its current name, namespace and scope; \
                 re-seal the Secret with the controller's certificate",
            )),
            Err(e) => Err(self.proxy_error("cannot validate sealed secret", "create", e)),
        }
    }

    /// `POST .../proxy/v1/rotate` with one SealedSecret; returns the response JSON.
    pub fn rotate(&mut self, body: Vec<u8>) -> Result<String> {
        let path = self.proxy_path("v1/rotate")?;
        match self.post(&path, body) {
            Ok(text) => Ok(text),
            Err(KubeError::Api(status)) if status.code == 409 => {
                Err(anyhow!("unable to rotate secret"))
            }
            Err(e) => Err(self.proxy_error("cannot re-encrypt secret", "create", e)),
        }
    }

    fn post(&self, path: &str, body: Vec<u8>) -> Result<String, KubeError> {
        self.send(|| {
            http::Request::post(path)
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::ACCEPT, "application/json")
                .body(body.clone())
        })
    }

    /// `/api/v1/namespaces/NS/services/http:NAME:PORT/proxy/<rest>`, looking the port name up once.
    fn proxy_path(&mut self, rest: &str) -> Result<String> {
        let port = match &self.port {
            Some(port) => port.clone(),
            None => {
                let port = self.port_name()?;
                self.port = Some(port.clone());
                port
            }
        };
        Ok(format!(
            "/api/v1/namespaces/{}/services/http:{}:{port}/proxy/{rest}",
            self.namespace, self.name
        ))
    }

    /// The name of the controller Service's first port (empty if unnamed), as upstream.
    fn port_name(&self) -> Result<String> {
        let path = format!(
            "/api/v1/namespaces/{}/services/{}",
            self.namespace, self.name
        );
        let request = http::Request::get(path)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .context("cannot build the request")?;
        let service: serde_json::Value = match self.runtime.block_on(self.client.request(request)) {
            Ok(service) => service,
            Err(KubeError::Api(status)) if status.code == 403 => {
                return Err(hinted(
                    anyhow!("cannot get sealed secret service: {}", status.message),
                    format!(
                        "kubeseal reads Service {ns}/{name} to find the controller: ask for RBAC verb `get` on \
                         `services` in namespace {ns} (and `get`/`create` on `services/proxy`), or {OFFLINE_HINT}",
                        ns = self.namespace,
                        name = self.name
                    ),
                ));
            }
            Err(KubeError::Api(status)) => {
                return Err(hinted(
                    anyhow!(
                        "cannot get sealed secret service: {}.\nPlease, use the flag --controller-name and \
                         --controller-namespace to set up the name and namespace of the sealed secrets controller",
                        status.message
                    ),
                    format!(
                        "looked for Service {name} in namespace {ns} on {server}; if the controller runs elsewhere, \
                         pass --controller-namespace NS --controller-name NAME (or SEALED_SECRETS_CONTROLLER_NAMESPACE/\
                         SEALED_SECRETS_CONTROLLER_NAME); {OFFLINE_HINT}",
                        name = self.name,
                        ns = self.namespace,
                        server = self.server
                    ),
                ));
            }
            Err(e) => return Err(self.transport_error("cannot get sealed secret service", &e)),
        };
        Ok(service
            .pointer("/spec/ports/0/name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_owned())
    }

    /// A failed request through the service proxy. `verb` is the RBAC verb it needs on `services/proxy`.
    fn proxy_error(&self, what: &str, verb: &str, err: KubeError) -> anyhow::Error {
        let (ns, name) = (&self.namespace, &self.name);
        match &err {
            KubeError::Api(status) if status.code == 403 => hinted(
                anyhow!("{what}: {}", status.message),
                format!(
                    "this needs RBAC verb `{verb}` on `services/proxy` (resource name {name}) in namespace {ns}; \
                     ask your cluster admin for it, or {OFFLINE_HINT}"
                ),
            ),
            KubeError::Api(status) if status.code == 401 => hinted(
                anyhow!("{what}: {}", status.message),
                "the API server did not accept your credentials: refresh them (kubeconfig user, --token)",
            ),
            KubeError::Api(status) if matches!(status.code, 502..=504) => hinted(
                anyhow!("{what}: {} {}", status.code, status.message),
                format!(
                    "the API server could not reach the controller behind Service {ns}/{name}: check that the \
                     controller is running and ready (`kubectl get pods,endpoints -n {ns}`); {OFFLINE_HINT}"
                ),
            ),
            KubeError::Api(status) => anyhow!("{what}: {} {}", status.code, status.message),
            _ => self.transport_error(what, &err),
        }
    }

    /// The API server could not be reached (connection, TLS, timeout).
    fn transport_error(&self, what: &str, err: &KubeError) -> anyhow::Error {
        hinted(
            anyhow!(
                "{what}: cannot reach the API server {}: {}",
                self.server,
                root_cause(err)
            ),
            format!(
                "check the cluster of your kubeconfig context (--kubeconfig, KUBECONFIG, --context, --server); \
                 {OFFLINE_HINT}"
            ),
        )
    }
}

/// The innermost error's message: the one a user can act on (e.g. "Connection refused").
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = err;
    while let Some(source) = last.source() {
        last = source;
    }
    last.to_string()
}

/// The first line of a message (multi-line parser errors quote their input).
fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

/// The client configuration, kubectl-style.
async fn client_config(flags: &ConnectionFlags) -> Result<Config> {
    let options = KubeConfigOptions {
        context: flags.context.clone().filter(|s| !s.is_empty()),
        cluster: flags.cluster.clone().filter(|s| !s.is_empty()),
        user: flags.user.clone().filter(|s| !s.is_empty()),
    };
    let server = flags.server.clone().filter(|s| !s.is_empty());
    let mut config = if !flags.kubeconfig.is_empty() {
        let path = Path::new(&flags.kubeconfig);
        // First line only: parser messages quote the file, which may hold credentials.
        let kubeconfig = Kubeconfig::read_from(path).map_err(|e| {
            anyhow!(
                "cannot read kubeconfig {}: {}",
                path.display(),
                first_line(&e.to_string())
            )
        })?;
        Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| kubeconfig_error(&e, Some(path)))?
    } else if kubeconfig_present() {
        Config::from_kubeconfig(&options)
            .await
            .map_err(|e| kubeconfig_error(&e, None))?
    } else if in_cluster() {
        Config::incluster().map_err(|e| {
            hinted(
                anyhow!(
                    "cannot use the in-cluster configuration: {}",
                    root_cause(&e)
                ),
                "pass --kubeconfig FILE, or check the pod's service account token",
            )
        })?
    } else if let Some(server) = &server {
        Config::new(
            server
                .parse()
                .with_context(|| format!("invalid --server {server:?}"))?,
        )
    } else {
        return Err(message_with_hint(
            "cannot connect to the cluster: no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a cluster",
            format!("pass --kubeconfig FILE (or set KUBECONFIG); {OFFLINE_HINT}"),
        ));
    };
    if let Some(server) = server {
        config.cluster_url = server
            .parse()
            .with_context(|| format!("invalid --server {server:?}"))?;
    }
    if let Some(ca) = flags
        .certificate_authority
        .as_ref()
        .filter(|s| !s.is_empty())
    {
        std::fs::metadata(ca)
            .with_context(|| format!("cannot read --certificate-authority {ca}"))?;
        config.root_cert_file = Some(ca.into());
        config.root_cert = None;
    }
    if flags.insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
    }
    if let Some(name) = flags.tls_server_name.as_ref().filter(|s| !s.is_empty()) {
        config.tls_server_name = Some(name.clone());
    }
    let auth = &mut config.auth_info;
    if let Some(token) = flags.token.as_ref().filter(|s| !s.is_empty()) {
        auth.token = Some(secrecy::SecretString::from(token.clone()));
        auth.token_file = None;
        auth.exec = None;
        auth.auth_provider = None;
    }
    if let Some(user) = flags.username.as_ref().filter(|s| !s.is_empty()) {
        auth.username = Some(user.clone());
    }
    if let Some(password) = flags.password.as_ref().filter(|s| !s.is_empty()) {
        auth.password = Some(secrecy::SecretString::from(password.clone()));
    }
    if let Some(cert) = flags.client_certificate.as_ref().filter(|s| !s.is_empty()) {
        auth.client_certificate = Some(cert.clone());
        auth.client_certificate_data = None;
    }
    if let Some(key) = flags.client_key.as_ref().filter(|s| !s.is_empty()) {
        auth.client_key = Some(key.clone());
        auth.client_key_data = None;
    }
    if let Some(user) = flags.as_user.as_ref().filter(|s| !s.is_empty()) {
        auth.impersonate = Some(user.clone());
    }
    if let Some(uid) = flags.as_uid.as_ref().filter(|s| !s.is_empty()) {
        auth.impersonate_uid = Some(uid.clone());
    }
    if !flags.as_group.is_empty() {
        auth.impersonate_groups = Some(flags.as_group.clone());
    }
    if flags.disable_compression {
        config.disable_compression = true;
    }
    if let Some(proxy) = flags.proxy_url.as_ref().filter(|s| !s.is_empty()) {
        config.proxy_url = Some(
            proxy
                .parse()
                .with_context(|| format!("invalid --proxy-url {proxy:?}"))?,
        );
    }
    if let Some(timeout) = parse_timeout(&flags.request_timeout)? {
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
    }
    Ok(config)
}

fn kubeconfig_error(err: &kube::config::KubeconfigError, path: Option<&Path>) -> anyhow::Error {
    use kube::config::KubeconfigError as E;
    let which = path.map_or_else(
        || "the kubeconfig".to_owned(),
        |p| format!("kubeconfig {}", p.display()),
    );
    let what = match err {
        E::LoadContext(name) => format!("context {name:?} is not in {which}"),
        E::LoadClusterOfContext(name) => format!("cluster {name:?} is not in {which}"),
        E::CurrentContextNotSet => format!("{which} sets no current-context (pass --context)"),
        _ => format!("cannot use {which}: {}", first_line(&root_cause(err))),
    };
    hinted(
        anyhow!("{what}"),
        "check --kubeconfig/KUBECONFIG and --context, --cluster, --user",
    )
}

/// Whether `KUBECONFIG` lists an existing file, or `~/.kube/config` exists.
fn kubeconfig_present() -> bool {
    match std::env::var_os("KUBECONFIG") {
        Some(list) if !list.is_empty() => std::env::split_paths(&list).any(|p| p.is_file()),
        _ => std::env::home_dir().is_some_and(|home| home.join(".kube").join("config").is_file()),
    }
}

fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
        && std::env::var_os("KUBERNETES_SERVICE_PORT").is_some()
}

/// `--request-timeout`: a Go duration (`10s`, `1m30s`, `500ms`) or a bare number of seconds; 0 is none.
fn parse_timeout(value: &str) -> Result<Option<Duration>> {
    let value = value.trim();
    if value.is_empty() || value == "0" {
        return Ok(None);
    }
    if let Ok(secs) = value.parse::<u64>() {
        return Ok((secs > 0).then(|| Duration::from_secs(secs)));
    }
    match sealed_secrets::go_syntax::parse_duration(value) {
        Ok(d) => Ok((!d.is_zero()).then_some(d)),
        Err(_) => Err(message_with_hint(
            format!("invalid --request-timeout {value:?}"),
            "use a duration like 10s, 1m or 1m30s (0 for none)",
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("0").unwrap(), None);
        assert_eq!(parse_timeout("").unwrap(), None);
        assert_eq!(parse_timeout("5").unwrap(), Some(Duration::from_secs(5)));
        assert_eq!(parse_timeout("10s").unwrap(), Some(Duration::from_secs(10)));
        assert_eq!(
            parse_timeout("1m30s").unwrap(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_timeout("250ms").unwrap(),
            Some(Duration::from_millis(250))
        );
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("10x").is_err());
    }
}
