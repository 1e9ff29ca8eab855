//! Helpers for the controller tests: start our controller as a local process under the restricted identity,
//! seal objects against its certificate, talk HTTP to it, and evaluate GitOps health rules.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Event, Namespace, Secret};
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::{Api, Client};
use sealed_secrets::SealedSecret;
use sealed_secrets::keys::Certificate;
pub use sealed_secrets::names::INTEGRITY_ANNOTATION;
use sealed_secrets_test_support::context::unique_name;
use sealed_secrets_test_support::process::workspace_binary;
use sealed_secrets_test_support::wait::wait_for;
use sealed_secrets_test_support::{
    ManagedProcess, ProcessSpec, ServiceAccountIdentity, TestContext, manifests, proxy,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Time for the controller to start, generate a 2048-bit key and become ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The controller binary of this workspace, built on first use if it is missing.
pub fn controller_binary() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let path = workspace_binary("sealed-secrets-controller");
            if !path.exists() {
                let status = std::process::Command::new(
                    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
                )
                .args([
                    "build",
                    "-p",
                    "sealed-secrets-controller",
                    "--bin",
                    "sealed-secrets-controller",
                ])
                .current_dir(sealed_secrets_test_support::cluster::repo_root())
                .status()
                .map_err(|e| format!("running cargo build: {e}"))?;
                if !status.success() {
                    return Err(format!(
                        "cargo build -p sealed-secrets-controller failed: {status}"
                    ));
                }
            }
            Ok(path)
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

/// Our controller, running for one test.
pub struct Controller {
    /// The process (stopped on drop; its logs are printed for failing tests).
    pub process: ManagedProcess,
    /// Main HTTP address.
    pub listen: SocketAddr,
    /// Metrics address.
    pub metrics: SocketAddr,
}

impl Controller {
    /// Starts the controller with the restricted identity, keys in the test's namespace, watching only that
    /// namespace (plus `extra_args`), and waits until `/readyz` answers 200.
    pub async fn start(ctx: &TestContext, extra_args: &[&str]) -> anyhow::Result<Controller> {
        Controller::start_with(ctx, extra_args, &[]).await
    }

    /// [`Controller::start`] with extra environment variables (e.g. `POD_NAME`, the Lease identity).
    pub async fn start_with(
        ctx: &TestContext,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Controller> {
        let mut controller = Controller::spawn(ctx, extra_args, env).await?;
        controller.wait_ready(START_TIMEOUT).await?;
        Ok(controller)
    }

    /// Starts the controller without waiting for it to be ready.
    ///
    /// The controller namespace is the test's: the shipped `sealed-secrets-key-admin` Role (key Secrets and
    /// the leader Lease) is bound there exactly as `rbac.yaml` binds it in `kube-system`.
    pub async fn spawn(
        ctx: &TestContext,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Controller> {
        manifests::ensure_crd(ctx.cluster, &ctx.client).await?;
        let identity = ServiceAccountIdentity::controller(ctx).await?;
        bind_key_admin_role(ctx).await?;
        let listen = proxy::free_backend_addr(ctx.cluster)?;
        let metrics = proxy::free_backend_addr(ctx.cluster)?;
        let mut spec = ProcessSpec::new("controller", controller_binary()?)
            .arg(format!("--kubeconfig={}", identity.kubeconfig.display()))
            .arg(format!("--listen-addr={listen}"))
            .arg(format!("--listen-metrics-addr={metrics}"))
            .arg("--all-namespaces=false")
            .arg("--key-size=2048")
            .args(
                // No scheduled renewal unless the test asks for one.
                (!extra_args
                    .iter()
                    .any(|a| a.starts_with("--key-renew-period")))
                .then_some("--key-renew-period=0"),
            )
            .args(extra_args.iter().copied())
            .env("POD_NAMESPACE", &ctx.namespace)
            .env("RUST_LOG", "info");
        spec = spec.env("SEALED_SECRETS_LOG_LEVEL", "INFO");
        for (k, v) in env {
            spec = spec.env(*k, *v);
        }
        let process = ManagedProcess::spawn(ctx.cluster, spec)?;
        Ok(Controller {
            process,
            listen,
            metrics,
        })
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let listen = self.listen;
        let ready = wait_for("controller /readyz", timeout, || async {
            match http(listen, "GET", "/readyz", &[], b"").await {
                Ok(r) if r.status == 200 => Ok(Some(())),
                Ok(r) => Err(anyhow!("{} {}", r.status, r.body)),
                Err(e) => Err(e),
            }
        })
        .await;
        if let Err(e) = ready {
            self.process.ensure_running()?;
            return Err(e.context(format!(
                "controller not ready; {}",
                self.process.log_tails()
            )));
        }
        Ok(())
    }

    /// The value of metric `name` (summed over its label sets; 0 if absent).
    pub async fn metric(&self, name: &str) -> anyhow::Result<f64> {
        Ok(metric_value(&self.metrics().await?, name))
    }

    /// The current certificate (`GET /v1/cert.pem`).
    pub async fn cert(&self) -> anyhow::Result<Certificate> {
        let r = http(self.listen, "GET", "/v1/cert.pem", &[], b"").await?;
        if r.status != 200 {
            bail!("GET /v1/cert.pem: {} {}", r.status, r.body);
        }
        Certificate::parse_pem_chain(r.body.as_bytes())?
            .into_iter()
            .next()
            .context("no certificate")
    }

    /// The metrics text.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(http(self.metrics, "GET", "/metrics", &[], b"").await?.body)
    }
}

/// The value of metric `name` in a Prometheus text exposition, summed over its label sets; 0 if absent.
pub fn metric_value(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let value = match rest.chars().next()? {
                ' ' => rest.trim(),
                '{' => rest.rsplit_once('}')?.1.trim(),
                _ => return None,
            };
            value.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum()
}

/// Binds the shipped `sealed-secrets-key-admin` Role (from `controller-manifests/rbac.yaml`) in the test's
/// namespace, for the controller's ServiceAccount, exactly as the manifests bind it in `kube-system`.
pub async fn bind_key_admin_role(ctx: &TestContext) -> anyhow::Result<()> {
    let rbac = manifests::read_manifest("rbac.yaml")?;
    let mut docs = Vec::new();
    for doc in rbac.split("\n---\n") {
        let is_role =
            doc.contains("kind: Role\n") && doc.contains("name: sealed-secrets-key-admin\n");
        let is_binding = doc.contains("kind: RoleBinding\n")
            && doc.contains("kind: Role\n  name: sealed-secrets-key-admin");
        if is_role || is_binding {
            // The first `namespace:` is the object's own; the binding's subject keeps kube-system.
            docs.push(doc.replacen(
                "namespace: kube-system",
                &format!("namespace: {}", ctx.namespace),
                1,
            ));
        }
    }
    if docs.len() != 2 {
        bail!(
            "controller-manifests/rbac.yaml: expected the sealed-secrets-key-admin Role and its RoleBinding"
        );
    }
    ctx.kubectl().apply(&docs.join("\n---\n")).await?;
    Ok(())
}

/// An HTTP answer.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// Body as text.
    pub body: String,
}

/// One HTTP/1.1 request over a fresh connection.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<HttpResponse> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .context("HTTP timeout")??;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").context("no HTTP header end")?;
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("bad status line")?;
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A Secret to seal.
pub fn secret(namespace: &str, name: &str, data: &[(&str, &str)]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

/// Seals `secret` against `cert`.
pub fn seal(cert: &Certificate, secret: &Secret) -> anyhow::Result<SealedSecret> {
    let key = cert.public_key()?;
    Ok(sealed_secrets::seal::seal(
        &mut rand::rngs::OsRng,
        secret,
        &key,
    )?)
}

/// Creates `sealed` in its namespace.
pub async fn create(client: &Client, sealed: &SealedSecret) -> anyhow::Result<SealedSecret> {
    let ns = sealed
        .metadata
        .namespace
        .clone()
        .context("sealed secret without namespace")?;
    Ok(Api::<SealedSecret>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), sealed)
        .await?)
}

/// A copy of `sealed` renamed and/or moved, as a user would `kubectl apply` it (server fields dropped).
pub fn moved(sealed: &SealedSecret, namespace: &str, name: &str) -> SealedSecret {
    let mut copy = sealed.clone();
    copy.metadata = ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        annotations: sealed.metadata.annotations.clone(),
        labels: sealed.metadata.labels.clone(),
        ..Default::default()
    };
    copy.status = None;
    copy
}

/// Waits until SealedSecret `ns/name` satisfies `check` (which explains itself on `Err`).
pub async fn wait_sealed<F>(
    client: &Client,
    ns: &str,
    name: &str,
    what: &str,
    check: F,
) -> anyhow::Result<SealedSecret>
where
    F: Fn(&SealedSecret) -> anyhow::Result<bool>,
{
    let api: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
    wait_for(
        &format!("SealedSecret {ns}/{name}: {what}"),
        Duration::from_secs(30),
        || async {
            let ss = api.get(name).await?;
            Ok(check(&ss)?.then_some(ss))
        },
    )
    .await
}

/// Waits until Secret `ns/name` satisfies `check`.
pub async fn wait_secret<F>(
    client: &Client,
    ns: &str,
    name: &str,
    what: &str,
    check: F,
) -> anyhow::Result<Secret>
where
    F: Fn(&Secret) -> bool,
{
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    wait_for(
        &format!("Secret {ns}/{name}: {what}"),
        Duration::from_secs(30),
        || async {
            let s = api.get_opt(name).await?;
            Ok(s.filter(|s| check(s)))
        },
    )
    .await
}

/// Asserts Secret `ns/name` does not appear within `for_`.
pub async fn assert_no_secret(
    client: &Client,
    ns: &str,
    name: &str,
    for_: Duration,
) -> anyhow::Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let until = std::time::Instant::now() + for_;
    while std::time::Instant::now() < until {
        if api.get_opt(name).await?.is_some() {
            bail!("Secret {ns}/{name} exists but must not");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// The Secret's data as strings.
pub fn data(secret: &Secret) -> BTreeMap<String, String> {
    sealed_secrets_test_support::wait::secret_string_data(secret)
}

/// A Secret's annotations without the controller's integrity annotation (`None` if nothing else is left).
pub fn user_annotations(secret: &Secret) -> Option<BTreeMap<String, String>> {
    let mut annotations = secret.metadata.annotations.clone()?;
    annotations.remove(INTEGRITY_ANNOTATION);
    (!annotations.is_empty()).then_some(annotations)
}

/// `[(k, v)]` as a map.
pub fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// (type, reason, message) of the Events about object `name` in `ns`.
pub async fn events(
    client: &Client,
    ns: &str,
    name: &str,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let list = api
        .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await?;
    Ok(list
        .items
        .into_iter()
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default(),
            )
        })
        .collect())
}

/// Waits for an Event with `reason` (and a message containing `needle`) about `name`.
pub async fn wait_event(
    client: &Client,
    ns: &str,
    name: &str,
    reason: &str,
    needle: &str,
) -> anyhow::Result<()> {
    wait_for(
        &format!("event {reason} on {ns}/{name}"),
        Duration::from_secs(30),
        || async {
            let all = events(client, ns, name).await?;
            if all
                .iter()
                .any(|(_, r, m)| r == reason && m.contains(needle))
            {
                Ok(Some(()))
            } else {
                Err(anyhow!("events so far: {all:?}"))
            }
        },
    )
    .await
}

/// A second namespace for tests that move objects.
pub async fn other_namespace(client: &Client, prefix: &str) -> anyhow::Result<String> {
    let name = unique_name(&format!("e2e-{prefix}"));
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(name)
}

fn condition<'a>(
    ss: &'a SealedSecret,
    type_: &str,
) -> Option<&'a sealed_secrets::types::SealedSecretCondition> {
    ss.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// Argo CD's built-in SealedSecret health (resource_customizations/bitnami.com/SealedSecret/health.lua):
/// the first `Synced` condition decides; no conditions means Progressing.
pub fn argo_health(ss: &SealedSecret) -> &'static str {
    for c in ss
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        if c.type_ == "Synced" && c.status == "False" {
            return "Degraded";
        }
        if c.type_ == "Synced" && c.status == "True" {
            return "Healthy";
        }
    }
    "Progressing"
}

/// kstatus (Flux) for a custom resource: a stale observedGeneration or `Reconciling=True` is InProgress;
/// `Stalled=True` Failed; `Ready=False`/`Unknown` InProgress; otherwise (Ready=True or no Ready) Current.
pub fn kstatus(ss: &SealedSecret) -> &'static str {
    let status = ss.status.as_ref();
    if let Some(observed) = status.and_then(|s| s.observed_generation)
        && Some(observed) != ss.metadata.generation
    {
        return "InProgress";
    }
    if condition(ss, "Reconciling").is_some_and(|c| c.status == "True") {
        return "InProgress";
    }
    if condition(ss, "Stalled").is_some_and(|c| c.status == "True") {
        return "Failed";
    }
    // kstatus' generic rule: a resource without a Ready condition whose generation was observed is Current.
    match condition(ss, "Ready").map(|c| c.status.as_str()) {
        Some("False" | "Unknown") => "InProgress",
        _ => "Current",
    }
}

/// The Synced condition's status, or "" without one.
pub fn synced(ss: &SealedSecret) -> String {
    condition(ss, "Synced")
        .map(|c| c.status.clone())
        .unwrap_or_default()
}

/// The named condition.
pub fn cond<'a>(
    ss: &'a SealedSecret,
    type_: &str,
) -> Option<&'a sealed_secrets::types::SealedSecretCondition> {
    condition(ss, type_)
}
