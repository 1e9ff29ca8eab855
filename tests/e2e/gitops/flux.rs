//! Flux (source-controller and kustomize-controller v1.9.6, built by `scripts/setup-gitops.sh`) for one test:
//! both as local processes against the control plane, their objects (a `GitRepository`, `Kustomization`s) in
//! the test's namespace, which is the only one they watch (objects a Kustomization applies may go anywhere).
//! Also what the Flux tests put in the repository for the controller's install ([`add_controller_install`]) and
//! the real kstatus library's verdict on objects ([`kstatus`]).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::anyhow;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use sealed_secrets_test_support::proxy::free_port;
use sealed_secrets_test_support::wait::wait_for;
use sealed_secrets_test_support::{ManagedProcess, ProcessSpec, TestContext};
use serde_json::{Value, json};

use super::repo::Repo;
use super::{gitops_dir, tool};
use sealed_secrets_test_support::cluster::repo_root;

/// Where the controller's install lives in the repository (the infra Kustomization's path).
pub const INSTALL_PATH: &str = "infrastructure/sealed-secrets";

/// Writes the controller's install to [`INSTALL_PATH`]: the shipped `controller-manifests/` as they are, under
/// `controller-manifests/`, and beside them the node tests' overlay
/// ([`crate::support::deployment::OVERLAY`]: the image they import, `imagePullPolicy: IfNotPresent` as shipped,
/// `minReadySeconds: 5`) with its path to the manifests adjusted; `replicas` (if given) scales the Deployment.
pub fn add_controller_install(repo: &Repo, replicas: Option<u32>) -> anyhow::Result<()> {
    let shipped = repo_root().join("controller-manifests");
    for entry in std::fs::read_dir(&shipped)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| anyhow!("odd file in {}", shipped.display()))?;
        repo.write(
            &format!("{INSTALL_PATH}/controller-manifests/{name}"),
            &std::fs::read_to_string(&path)?,
        )?;
    }
    let overlay_dir = crate::support::deployment::OVERLAY;
    let overlay =
        std::fs::read_to_string(repo_root().join(overlay_dir).join("kustomization.yaml"))?;
    let from = "- ../../controller-manifests\n";
    anyhow::ensure!(
        overlay.contains(from),
        "{overlay_dir}/kustomization.yaml no longer lists {from:?}"
    );
    let mut overlay = overlay.replace(from, "- controller-manifests\n");
    if let Some(n) = replicas {
        anyhow::ensure!(
            !overlay.contains("\nreplicas:"),
            "the overlay sets replicas"
        );
        overlay.push_str(&format!(
            "replicas:\n- name: sealed-secrets-controller\n  count: {n}\n"
        ));
    }
    repo.write(&format!("{INSTALL_PATH}/kustomization.yaml"), &overlay)
}

/// What the kstatus library kustomize-controller links (`tests/gitops/kstatus`, built by
/// `scripts/setup-gitops.sh`) computes for each of `objects`: (status, message).
pub async fn kstatus(objects: &[Value]) -> anyhow::Result<Vec<(String, String)>> {
    let input = serde_json::to_string(objects)?;
    let out = sealed_secrets_test_support::process::run_to_completion::<&str>(
        &tool("kstatus"),
        &[],
        Some(&input),
    )
    .await?;
    let verdicts: Vec<Value> = serde_json::from_str(&out)?;
    Ok(verdicts
        .iter()
        .map(|v| {
            (
                v["status"].as_str().unwrap_or_default().to_owned(),
                v["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

/// Name of the GitRepository.
pub const SOURCE: &str = "gitops";

/// Flux running for one test.
pub struct Flux {
    /// Where its objects live (the test's namespace).
    pub namespace: String,
    /// kustomize-controller (its log is quoted on failures).
    pub kustomize_controller: ManagedProcess,
    kustomizations: Api<DynamicObject>,
    sources: Api<DynamicObject>,
    _source_controller: ManagedProcess,
}

fn addr() -> anyhow::Result<String> {
    Ok(free_port(IpAddr::V4(Ipv4Addr::LOCALHOST))?.to_string())
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

impl Flux {
    /// Installs the CRDs and starts both controllers.
    pub async fn start(ctx: &TestContext) -> anyhow::Result<Flux> {
        let crds = gitops_dir().join("crds/flux");
        let names = [
            "gitrepositories.source.toolkit.fluxcd.io",
            "kustomizations.kustomize.toolkit.fluxcd.io",
        ];
        super::install_crds(ctx, &crds, &names).await?;
        let state = ctx.cluster.dir.join("flux").join(&ctx.namespace);
        std::fs::create_dir_all(state.join("storage"))?;
        let kubeconfig = ctx.cluster.kubeconfig.display().to_string();
        let storage = addr()?;
        let common = |spec: ProcessSpec| -> anyhow::Result<ProcessSpec> {
            Ok(spec
                .args(["--metrics-addr".to_owned(), addr()?])
                .args(["--health-addr".to_owned(), addr()?])
                .args([
                    "--enable-leader-election=false",
                    "--watch-all-namespaces=false",
                    "--log-level=debug",
                ])
                .env("RUNTIME_NAMESPACE", &ctx.namespace)
                .env("KUBECONFIG", &kubeconfig)
                .env("HOME", state.display().to_string()))
        };
        let source_controller = ManagedProcess::spawn(
            ctx.cluster,
            common(
                ProcessSpec::new("flux-source-controller", tool("source-controller"))
                    .args([
                        "--storage-path".to_owned(),
                        state.join("storage").display().to_string(),
                    ])
                    .args(["--storage-addr".to_owned(), storage.clone()])
                    .args(["--storage-adv-addr".to_owned(), storage]),
            )?,
        )?;
        // --requeue-dependency: how soon an app whose dependency is not Ready yet looks again (default 30s).
        let kustomize_controller = ManagedProcess::spawn(
            ctx.cluster,
            common(
                ProcessSpec::new("flux-kustomize-controller", tool("kustomize-controller"))
                    .arg("--requeue-dependency=2s"),
            )?,
        )?;
        Ok(Flux {
            namespace: ctx.namespace.clone(),
            kustomize_controller,
            kustomizations: Api::namespaced_with(
                ctx.client.clone(),
                &ctx.namespace,
                &resource(
                    "kustomize.toolkit.fluxcd.io",
                    "v1",
                    "Kustomization",
                    "kustomizations",
                ),
            ),
            sources: Api::namespaced_with(
                ctx.client.clone(),
                &ctx.namespace,
                &resource(
                    "source.toolkit.fluxcd.io",
                    "v1",
                    "GitRepository",
                    "gitrepositories",
                ),
            ),
            _source_controller: source_controller,
        })
    }

    /// Creates the GitRepository for `url` (branch `main`).
    pub async fn create_source(&self, ctx: &TestContext, url: &str) -> anyhow::Result<()> {
        let source = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": SOURCE, "namespace": self.namespace},
            "spec": {"url": url, "interval": "10m", "ref": {"branch": "main"}, "timeout": "30s"},
        });
        ctx.kubectl().apply(&source.to_string()).await?;
        Ok(())
    }

    /// Applies Kustomization `name` with `spec` (merged over: the GitRepository, `interval: 10m`, `prune`,
    /// `wait`, `timeout: 5m`, `retryInterval: 10s`).
    pub async fn apply_kustomization(
        &self,
        ctx: &TestContext,
        name: &str,
        spec: Value,
    ) -> anyhow::Result<()> {
        let mut full = json!({
            "sourceRef": {"kind": "GitRepository", "name": SOURCE},
            "interval": "10m", "retryInterval": "10s", "timeout": "5m", "prune": true, "wait": true,
        });
        if let (Some(base), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
            base.extend(extra.clone());
        }
        let k = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": full,
        });
        ctx.kubectl().apply(&k.to_string()).await?;
        Ok(())
    }

    /// Asks source-controller to fetch Git now (what `flux reconcile source git` does).
    pub async fn fetch_now(&self) -> anyhow::Result<()> {
        let now = sealed_secrets_test_support::unique::unique_name("at");
        let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": now}}});
        self.sources
            .patch(SOURCE, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    /// The Kustomization as JSON.
    pub async fn kustomization(&self, name: &str) -> anyhow::Result<Value> {
        Ok(serde_json::to_value(self.kustomizations.get(name).await?)?)
    }

    /// Waits (up to `timeout`) until Kustomization `name` has `Ready` with `status` at `revision` (when
    /// given); returns the Kustomization.
    pub async fn wait_ready(
        &self,
        name: &str,
        status: &str,
        revision: Option<&str>,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let what = format!("Kustomization {name} Ready={status} at {revision:?}");
        wait_for(&what, timeout, || async {
            let k = self.kustomization(name).await?;
            let ready = condition(&k, "Ready");
            let at = |key: &str| k["status"][key].as_str().unwrap_or("").to_owned();
            let revision_ok = revision.is_none_or(|r| {
                // lastAttemptedRevision moves on failures, lastAppliedRevision on success: "main@sha1:<rev>".
                at("lastAttemptedRevision").ends_with(r)
            });
            if ready["status"] == status
                && revision_ok
                && k["status"]["observedGeneration"] == k["metadata"]["generation"]
            {
                Ok(Some(k))
            } else {
                Err(anyhow!(
                    "Ready={} {}: {}; attempted {}",
                    ready["status"],
                    ready["reason"],
                    ready["message"],
                    at("lastAttemptedRevision")
                ))
            }
        })
        .await
        .map_err(|e| anyhow!("{e:#}\n{}", self.log_tail()))
    }

    /// The last lines of kustomize-controller's log.
    pub fn log_tail(&self) -> String {
        let log = self.kustomize_controller.stderr() + &self.kustomize_controller.stdout();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// The condition of `type_` of a Flux object (Null if absent).
pub fn condition(obj: &Value, type_: &str) -> Value {
    obj["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The objects in a Kustomization's inventory, as `<namespace>_<name>_<group>_<Kind>` ids.
pub fn inventory(k: &Value) -> Vec<String> {
    k["status"]["inventory"]["entries"]
        .as_array()
        .map(|es| {
            es.iter()
                .filter_map(|e| e["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
