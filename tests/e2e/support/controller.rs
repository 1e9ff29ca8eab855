//! Our controller (`sealed-secrets-controller`) as a local process for one test, under the controller's
//! ServiceAccount token (bound only by `controller-manifests/rbac.yaml`), keeping its keys in and watching the
//! test's namespace; exposed through the API server's service proxy when a test needs kubeseal to find it.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use sealed_secrets::keys::Certificate;
use sealed_secrets_test_support::metrics::metric_value;
use sealed_secrets_test_support::process::workspace_binary;
use sealed_secrets_test_support::wait::wait_for;
use sealed_secrets_test_support::{
    ManagedProcess, ProcessSpec, ServiceAccountIdentity, TestContext, manifests, proxy,
};

use super::raw_http::http;

/// Time for the controller to start, generate a 2048-bit key and become ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

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

    /// [`Controller::start`] with extra environment variables (e.g. `RUST_LOG`).
    pub async fn start_with(
        ctx: &TestContext,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Controller> {
        let mut controller = Controller::spawn(ctx, extra_args, env).await?;
        controller.wait_ready(START_TIMEOUT).await?;
        Ok(controller)
    }

    /// [`Controller::start`], then [`Controller::expose`]: kubeseal finds it as users' kubeseal does.
    pub async fn start_exposed(
        ctx: &TestContext,
        extra_args: &[&str],
    ) -> anyhow::Result<Controller> {
        let controller = Controller::start(ctx, extra_args).await?;
        controller.expose(ctx).await?;
        Ok(controller)
    }

    /// Starts the controller without waiting for it to be ready; `env` adds environment variables (e.g.
    /// `POD_NAME`, the Lease identity).
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
        let spec = ProcessSpec::new("controller", workspace_binary("sealed-secrets-controller")?)
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
            .env("RUST_LOG", "info")
            .env("SEALED_SECRETS_LOG_LEVEL", "INFO");
        let spec = env.iter().fold(spec, |spec, (k, v)| spec.env(*k, *v));
        let process = ManagedProcess::spawn(ctx.cluster, spec)?;
        Ok(Controller {
            process,
            listen,
            metrics,
        })
    }

    /// Makes it the controller behind Service `sealed-secrets-controller` (port `http`) in the test's
    /// namespace, where kubeseal looks with `--controller-namespace` ([`proxy::expose_controller`]).
    pub async fn expose(&self, ctx: &TestContext) -> anyhow::Result<()> {
        proxy::expose_controller(&ctx.client, &ctx.namespace, self.listen).await
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
        parse_cert(r.body.as_bytes())
    }

    /// The metrics text.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(http(self.metrics, "GET", "/metrics", &[], b"").await?.body)
    }
}

/// The certificate served at `/v1/cert.pem` by whichever controller (ours or Bitnami's) is behind Service
/// `sealed-secrets-controller` in the test's namespace, through the service proxy, as PEM.
pub async fn served_cert_pem(ctx: &TestContext) -> anyhow::Result<String> {
    proxy::controller_get(&ctx.client, &ctx.namespace, "/v1/cert.pem").await
}

/// The first certificate of a PEM chain.
pub fn parse_cert(pem: &[u8]) -> anyhow::Result<Certificate> {
    Certificate::parse_pem_chain(pem)?
        .into_iter()
        .next()
        .context("no certificate in PEM")
}

/// Binds the shipped `sealed-secrets-key-admin` Role (from `controller-manifests/rbac.yaml`) in the test's
/// namespace, for the controller's ServiceAccount, exactly as the manifests bind it in `kube-system`.
async fn bind_key_admin_role(ctx: &TestContext) -> anyhow::Result<()> {
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
