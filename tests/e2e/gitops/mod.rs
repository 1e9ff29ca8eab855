//! The GitOps workflow end to end (`make test-gitops`): the real agents, Argo CD and Flux, as local processes
//! against the control plane, syncing SealedSecrets from a Git repository created by each test and served over
//! smart HTTP on 127.0.0.1, with our controller unsealing them (see docs/gitops.md for the workflow).
//!
//! - [`repo`]: the repository (`apps/demo/base`, `overlays/{staging,production}`, each overlay's SealedSecret
//!   sealed for its namespace by our kubeseal) and its HTTP server;
//! - [`argocd`] / [`flux`]: the agents for one test (`scripts/setup-gitops.sh` builds them into the cache);
//! - [`argocd_tests`]: Synced and Healthy through Argo CD's built-in SealedSecret check, a commit adds a Secret,
//!   a corrupted ciphertext is Degraded with our message and healed by the fix, the controller's Secret is never
//!   pruned nor OutOfSync and no sync loop over a quiet minute, prune and garbage collection, key renewal with
//!   `kubeseal --re-encrypt`, annotation and label tracking, the health customization of docs/gitops.md;
//! - [`flux_tests`]: Flux installs our controller on the node (the shipped manifests through the node tests'
//!   overlay, `wait: true`) and the apps `dependsOn` it: they stay DependencyNotReady until its Pods are Ready,
//!   then the Pods unseal; a corrupted ciphertext fails the Kustomization at once (`Stalled=True`) and the fix
//!   recovers it, prune on removal, the `healthCheckExprs` of docs/gitops.md, and the verdicts of the real kstatus
//!   library (`tests/gitops/kstatus`) on our SealedSecrets.
//!
//! `make test-gitops` runs them on a control plane with a real node (`scripts/cluster.sh up --node`, the image of
//! `scripts/test-image.sh`): the Argo CD tests run our controller as a local process, the Flux tests as Pods.
//! They run one at a time (`--test-threads=1`): each starts its own agent; Argo CD's application controller
//! watches every namespace of the cluster, and two at once would only compete for the two cores.

mod argocd;
mod argocd_tests;
mod flux;
mod flux_tests;
mod repo;

use std::path::PathBuf;

use sealed_secrets_test_support::TestContext;

use crate::support::controller::Controller;
use repo::{Env, Repo};

/// The cache directory of `scripts/setup-gitops.sh` (`SSRS_GITOPS_DIR`, set by `make test-gitops`).
pub fn gitops_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SSRS_GITOPS_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("SSRS_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/sealed-secrets-rs")
        });
    cache.join("gitops")
}

/// A tool built by `scripts/setup-gitops.sh`.
pub fn tool(name: &str) -> PathBuf {
    gitops_dir().join("bin").join(name)
}

/// Applies the CRDs in `dir` (server-side, idempotent) and waits until each of `names` is Established.
pub async fn install_crds(
    ctx: &TestContext,
    dir: &std::path::Path,
    names: &[&str],
) -> anyhow::Result<()> {
    let dir = dir
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("non-UTF-8 path"))?;
    let kubectl = ctx.kubectl();
    kubectl
        .run(
            &["apply", "--server-side", "--force-conflicts", "-f", dir],
            None,
        )
        .await?;
    for name in names {
        let what = format!("CRD {name} Established");
        sealed_secrets_test_support::wait::wait_for(
            &what,
            std::time::Duration::from_secs(60),
            || async {
                let jsonpath =
                    "-o=jsonpath={.status.conditions[?(@.type==\"Established\")].status}";
                let status = kubectl.run(&["get", "crd", name, jsonpath], None).await?;
                Ok((status.trim() == "True").then_some(()))
            },
        )
        .await?;
    }
    Ok(())
}

/// What every GitOps test starts from: our controller (exposed in the test's namespace, also watching the two
/// environments' namespaces), the environments, and the repository laid out and committed.
pub struct Setup {
    /// Our controller.
    pub ctl: Controller,
    /// `staging` and `production`.
    pub envs: Vec<Env>,
    /// The repository.
    pub repo: Repo,
    /// The revision of the first commit.
    pub first: String,
}

impl Setup {
    /// Namespaces, controller, repository. On a control plane with a node, a controller an earlier test
    /// installed there as Pods is removed first (it would unseal this test's objects too).
    pub async fn new(ctx: &TestContext) -> anyhow::Result<Setup> {
        if sealed_secrets_test_support::node::NodeInfo::of(ctx.cluster)?.is_some() {
            crate::support::deployment::remove(ctx).await?;
        }
        let envs = vec![
            Env {
                name: "staging",
                namespace: ctx.another_namespace().await?,
            },
            Env {
                name: "production",
                namespace: ctx.another_namespace().await?,
            },
        ];
        let watch = format!(
            "--additional-namespaces={},{}",
            envs[0].namespace, envs[1].namespace
        );
        let ctl = Controller::start_exposed(ctx, &[&watch]).await?;
        let repo = Repo::create(ctx).await?;
        let first = repo.lay_out(ctx, &envs).await?;
        Ok(Setup {
            ctl,
            envs,
            repo,
            first,
        })
    }

    /// Copies the local controller's key Secrets to kube-system, where the installed controller's Pods load them
    /// (as restoring a key backup does: `kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`
    /// applied in the controller's namespace), so the Pods decrypt what the repository holds.
    pub async fn copy_keys_to_kube_system(&self, ctx: &TestContext) -> anyhow::Result<()> {
        use k8s_openapi::api::core::v1::Secret;
        use kube::api::{ListParams, PostParams};
        let here: kube::Api<Secret> = kube::Api::namespaced(ctx.client.clone(), &ctx.namespace);
        let there: kube::Api<Secret> =
            kube::Api::namespaced(ctx.client.clone(), crate::support::deployment::NAMESPACE);
        let keys = here
            .list(&ListParams::default().labels(sealed_secrets::names::KEY_LABEL))
            .await?
            .items;
        anyhow::ensure!(!keys.is_empty(), "the local controller has no key");
        for key in keys {
            let copy = Secret {
                metadata: kube::api::ObjectMeta {
                    name: key.metadata.name,
                    labels: key.metadata.labels,
                    annotations: key.metadata.annotations,
                    ..Default::default()
                },
                data: key.data,
                type_: key.type_,
                ..Default::default()
            };
            there.create(&PostParams::default(), &copy).await?;
        }
        Ok(())
    }
}
