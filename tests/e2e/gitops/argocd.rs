//! Argo CD (v3.2.11, built by `scripts/setup-gitops.sh`) for one test: redis, the repo server and the
//! application controller as local processes against the control plane, managing Applications in the test's
//! namespace (Argo CD's own namespace for this test).
//!
//! What argocd-server would otherwise set up is created here: `argocd-cm` (in-cluster destination off, the
//! tracking method, a short reconciliation period, optional health customizations), `argocd-secret`, the
//! `default` AppProject, and the control plane registered as a cluster Secret (its real URL, the admin token,
//! its CA), which Applications use as their destination.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use base64::Engine as _;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use sealed_secrets_test_support::proxy::free_port;
use sealed_secrets_test_support::wait::wait_for;
use sealed_secrets_test_support::{ManagedProcess, ProcessSpec, TestContext};
use serde_json::{Value, json};

use super::repo::Env;
use super::{gitops_dir, tool};

/// How long an Application may take to reach a state (sync, health) in these tests.
pub const APP_TIMEOUT: Duration = Duration::from_secs(90);

/// Argo CD's two ways of recognising the objects of an Application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracking {
    /// `argocd.argoproj.io/tracking-id` annotation (the v3 default).
    Annotation,
    /// `app.kubernetes.io/instance` label.
    Label,
}

impl Tracking {
    fn as_str(self) -> &'static str {
        match self {
            Tracking::Annotation => "annotation",
            Tracking::Label => "label",
        }
    }
}

/// Argo CD running for one test.
pub struct ArgoCd {
    /// Argo CD's namespace (the test's).
    pub namespace: String,
    /// The destination server URL (the control plane's).
    pub server: String,
    /// The application controller (its log counts syncs).
    pub controller: ManagedProcess,
    apps: Api<DynamicObject>,
    _repo_server: ManagedProcess,
    _redis: ManagedProcess,
}

fn localhost_port() -> anyhow::Result<u16> {
    Ok(free_port(IpAddr::V4(Ipv4Addr::LOCALHOST))?.port())
}

/// The Application resource.
pub fn application_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"),
        "applications",
    )
}

impl ArgoCd {
    /// Installs the CRDs, writes Argo CD's settings (`extra_cm`: more `argocd-cm` entries) and starts redis,
    /// the repo server and the application controller.
    pub async fn start(
        ctx: &TestContext,
        tracking: Tracking,
        extra_cm: &[(&str, &str)],
    ) -> anyhow::Result<ArgoCd> {
        let crds = gitops_dir().join("crds/argocd");
        super::install_crds(
            ctx,
            &crds,
            &["applications.argoproj.io", "appprojects.argoproj.io"],
        )
        .await?;
        let ns = ctx.namespace.clone();
        let mut cm = serde_json::Map::new();
        cm.insert("cluster.inClusterEnabled".into(), "false".into());
        cm.insert(
            "application.resourceTrackingMethod".into(),
            tracking.as_str().into(),
        );
        cm.insert("timeout.reconciliation".into(), "30s".into());
        for (k, v) in extra_cm {
            cm.insert((*k).into(), (*v).into());
        }
        let ca = std::fs::read(&ctx.cluster.ca_file).context("reading the cluster CA")?;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let cluster_config = json!({
            "bearerToken": ctx.cluster.admin_token()?,
            "tlsClientConfig": {"caData": b64(&ca)},
        });
        let part_of = json!({"app.kubernetes.io/part-of": "argocd"});
        let objects = json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "argocd-cm", "namespace": ns, "labels": part_of}, "data": cm},
            {"apiVersion": "v1", "kind": "Secret",
             "metadata": {"name": "argocd-secret", "namespace": ns, "labels": part_of},
             "stringData": {"server.secretkey": sealed_secrets_test_support::unique::unique_name("key")}},
            {"apiVersion": "v1", "kind": "Secret",
             "metadata": {"name": "local-cluster", "namespace": ns,
                          "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
             "stringData": {"name": "local", "server": ctx.cluster.server,
                            "config": cluster_config.to_string()}},
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
             "metadata": {"name": "default", "namespace": ns},
             "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                      "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}},
        ]});
        ctx.kubectl().apply(&objects.to_string()).await?;

        let state = ctx.cluster.dir.join("argocd").join(&ns);
        for d in ["ssh", "tls", "gnupg", "redis"] {
            std::fs::create_dir_all(state.join(d))?;
        }
        let redis_port = localhost_port()?;
        let mut redis = ManagedProcess::spawn(
            ctx.cluster,
            ProcessSpec::new("argocd-redis", "redis-server").args([
                "--bind".to_owned(),
                "127.0.0.1".to_owned(),
                "--port".to_owned(),
                redis_port.to_string(),
                "--save".to_owned(),
                String::new(),
                "--appendonly".to_owned(),
                "no".to_owned(),
                "--dir".to_owned(),
                state.join("redis").display().to_string(),
            ]),
        )?;
        redis
            .wait_for_output("Ready to accept connections", Duration::from_secs(20))
            .await?;
        let redis_addr = format!("127.0.0.1:{redis_port}");

        // The repo server calls git-verify-wrapper.sh from PATH and runs kustomize from PATH.
        let path = format!(
            "{}:{}",
            gitops_dir().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let repo_port = localhost_port()?;
        let mut repo_server = ManagedProcess::spawn(
            ctx.cluster,
            ProcessSpec::new("argocd-repo-server", tool("argocd-repo-server"))
                .args(["--redis", &redis_addr, "--address", "127.0.0.1"])
                .args(["--port".to_owned(), repo_port.to_string()])
                .args(["--metrics-port".to_owned(), localhost_port()?.to_string()])
                .args([
                    "--metrics-address",
                    "127.0.0.1",
                    "--disable-tls",
                    "--loglevel",
                    "info",
                ])
                .env("PATH", &path)
                .env("ARGOCD_GPG_ENABLED", "false")
                .env(
                    "ARGOCD_SSH_DATA_PATH",
                    state.join("ssh").display().to_string(),
                )
                .env(
                    "ARGOCD_TLS_DATA_PATH",
                    state.join("tls").display().to_string(),
                )
                .env(
                    "ARGOCD_GNUPGHOME",
                    state.join("gnupg").display().to_string(),
                )
                .env("HOME", state.display().to_string()),
        )?;
        repo_server
            .wait_for_output("argocd-repo-server is listening", Duration::from_secs(60))
            .await?;

        let controller = ManagedProcess::spawn(
            ctx.cluster,
            ProcessSpec::new(
                "argocd-application-controller",
                tool("argocd-application-controller"),
            )
            .args([
                "--kubeconfig".to_owned(),
                ctx.cluster.kubeconfig.display().to_string(),
            ])
            .args(["--namespace", &ns, "--redis", &redis_addr])
            .args(["--repo-server".to_owned(), format!("127.0.0.1:{repo_port}")])
            .args(["--repo-server-plaintext", "--persist-resource-health"])
            .args(["--self-heal-timeout-seconds", "2", "--loglevel", "info"])
            .args(["--metrics-port".to_owned(), localhost_port()?.to_string()])
            .env("HOME", state.display().to_string()),
        )?;
        Ok(ArgoCd {
            namespace: ns.clone(),
            server: ctx.cluster.server.clone(),
            controller,
            apps: Api::namespaced_with(ctx.client.clone(), &ns, &application_resource()),
            _repo_server: repo_server,
            _redis: redis,
        })
    }

    /// Creates Application `demo-<env>` for `env`'s overlay: automated sync with prune and selfHeal.
    pub async fn create_app(
        &self,
        ctx: &TestContext,
        repo_url: &str,
        env: &Env,
    ) -> anyhow::Result<String> {
        let name = format!("demo-{}", env.name);
        let app = json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {
                "project": "default",
                "source": {"repoURL": repo_url, "targetRevision": "main", "path": env.path()},
                "destination": {"server": self.server, "namespace": env.namespace},
                "syncPolicy": {"automated": {"prune": true, "selfHeal": true}},
            },
        });
        ctx.kubectl().apply(&app.to_string()).await?;
        Ok(name)
    }

    /// The Application as JSON.
    pub async fn app(&self, name: &str) -> anyhow::Result<Value> {
        let app = self.apps.get(name).await?;
        Ok(serde_json::to_value(app)?)
    }

    /// Asks Argo CD to look at Git again now (what a webhook does): the `argocd.argoproj.io/refresh` annotation.
    pub async fn refresh(&self, name: &str) -> anyhow::Result<()> {
        let patch = json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}});
        self.apps
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    /// Waits until Application `name` satisfies `check` (given its JSON); the message says what was last seen.
    pub async fn wait_app<F>(&self, name: &str, what: &str, check: F) -> anyhow::Result<Value>
    where
        F: Fn(&Value) -> bool,
    {
        let result = wait_for(
            &format!("Application {name} {what}"),
            APP_TIMEOUT,
            || async {
                let app = self.app(name).await?;
                if check(&app) {
                    Ok(Some(app))
                } else {
                    Err(anyhow!("{}", summary(&app)))
                }
            },
        )
        .await;
        result.map_err(|e| anyhow!("{e:#}\n{}", self.controller_log_tail()))
    }

    /// Waits until `name` is Synced at `revision` (when given) and its health is `health`.
    pub async fn wait_synced(
        &self,
        name: &str,
        revision: Option<&str>,
        health: &str,
    ) -> anyhow::Result<Value> {
        self.wait_app(
            name,
            &format!("Synced and {health} at {revision:?}"),
            |app| {
                sync_status(app) == "Synced"
                    && health_status(app) == health
                    && revision.is_none_or(|r| app["status"]["sync"]["revision"] == r)
                    && operation_done(app)
            },
        )
        .await
    }

    /// The last lines of the application controller's log (for failure messages).
    pub fn controller_log_tail(&self) -> String {
        let log = self.controller.stderr() + &self.controller.stdout();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// How many automated syncs the application controller has started for `name` (its JSON log has one line
    /// per sync with the project field, and one more for the Event, without it).
    pub fn syncs_started(&self, name: &str) -> usize {
        let app = format!("\"application\":\"{name}\"");
        (self.controller.stderr() + &self.controller.stdout())
            .lines()
            .filter(|l| {
                l.contains("Initiated automated sync")
                    && l.contains(&app)
                    && l.contains("\"project\"")
            })
            .count()
    }
}

/// `status.sync.status`.
pub fn sync_status(app: &Value) -> &str {
    app["status"]["sync"]["status"].as_str().unwrap_or("")
}

/// `status.health.status`.
pub fn health_status(app: &Value) -> &str {
    app["status"]["health"]["status"].as_str().unwrap_or("")
}

/// No operation running (the last one finished).
pub fn operation_done(app: &Value) -> bool {
    app.get("operation").is_none() && app["status"]["operationState"]["phase"] != "Running"
}

/// The entry of `status.resources` for `kind`/`name`.
pub fn resource<'a>(app: &'a Value, kind: &str, name: &str) -> Option<&'a Value> {
    app["status"]["resources"]
        .as_array()?
        .iter()
        .find(|r| r["kind"] == kind && r["name"] == name)
}

/// One line about an Application's state, for failure messages.
pub fn summary(app: &Value) -> String {
    let resources: Vec<String> = app["status"]["resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    format!(
                        "{}/{} {} {} {}",
                        r["kind"].as_str().unwrap_or(""),
                        r["name"].as_str().unwrap_or(""),
                        r["status"].as_str().unwrap_or(""),
                        r["health"]["status"].as_str().unwrap_or(""),
                        r["health"]["message"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "sync {} at {}, health {} ({}), operation {} {}, conditions {}, resources [{}]",
        sync_status(app),
        app["status"]["sync"]["revision"].as_str().unwrap_or(""),
        health_status(app),
        app["status"]["health"]["message"].as_str().unwrap_or(""),
        app["status"]["operationState"]["phase"]
            .as_str()
            .unwrap_or(""),
        app["status"]["operationState"]["message"]
            .as_str()
            .unwrap_or(""),
        app["status"]["conditions"],
        resources.join("; ")
    )
}

/// Waits `quiet` while checking that `check` holds all along (polled); for "nothing happens" assertions.
pub async fn holds_for<F, Fut>(quiet: Duration, what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<String>>>,
{
    let start = Instant::now();
    while start.elapsed() < quiet {
        if let Some(problem) = check().await? {
            return Err(anyhow!(
                "{what} stopped holding after {:?}: {problem}",
                start.elapsed()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}
