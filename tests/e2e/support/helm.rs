//! Helm (built from Go modules by `scripts/setup-helm.sh`) against the test cluster, for the chart's node tests:
//! our chart (`charts/sealed-secrets`) and Bitnami's chart 2.18.5 (prepared in the cache from Bitnami's Go
//! module by `scripts/setup-helm.sh --bitnami-chart`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::ListParams;
use sealed_secrets::names::KEY_LABEL;
use sealed_secrets_test_support::TestContext;
use sealed_secrets_test_support::cluster::repo_root;

use super::deployment::NAMESPACE;

/// The release name of the seed command (`helm install sealed-secrets ... --namespace kube-system`).
pub const RELEASE: &str = "sealed-secrets";
/// The flag that gives the controller the name kubeseal looks for by default.
pub const FULLNAME: &str = "fullnameOverride=sealed-secrets-controller";

/// Helm with the cluster's admin kubeconfig and its own cache and config directories under the run's dir.
pub struct Helm {
    bin: PathBuf,
    kubeconfig: PathBuf,
    home: PathBuf,
}

impl Helm {
    /// Helm for the test's cluster: `$SSRS_HELM` (set by `make test-node`), else `scripts/setup-helm.sh`.
    pub fn new(ctx: &TestContext) -> anyhow::Result<Self> {
        let bin = match std::env::var_os("SSRS_HELM").filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(script_output(&["scripts/setup-helm.sh"])?),
        };
        Ok(Helm {
            bin,
            kubeconfig: ctx.cluster.kubeconfig.clone(),
            home: ctx.cluster.dir.join("helm"),
        })
    }

    /// Runs `helm ARGS... --kubeconfig K`; its stdout, or an error with its stderr.
    pub async fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .env("HELM_CACHE_HOME", self.home.join("cache"))
            .env("HELM_CONFIG_HOME", self.home.join("config"))
            .env("HELM_DATA_HOME", self.home.join("data"))
            .kill_on_drop(true);
        let out = tokio::time::timeout(std::time::Duration::from_secs(300), cmd.output())
            .await
            .with_context(|| format!("helm {args:?} did not finish in 300 s"))?
            .with_context(|| format!("running {}", self.bin.display()))?;
        if !out.status.success() {
            bail!(
                "helm {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `helm uninstall sealed-secrets -n kube-system --wait` (nothing if there is no such release).
    pub async fn uninstall(&self) -> anyhow::Result<()> {
        self.run(&[
            "uninstall",
            RELEASE,
            "--namespace",
            NAMESPACE,
            "--ignore-not-found",
            "--wait",
        ])
        .await
        .map(drop)
    }
}

/// Our chart.
pub fn chart() -> String {
    repo_root()
        .join("charts/sealed-secrets")
        .to_string_lossy()
        .into_owned()
}

/// Bitnami's chart 2.18.5: `$SSRS_BITNAMI_CHART` (set by `make test-node`), else prepared by
/// `scripts/setup-helm.sh --bitnami-chart`.
pub fn bitnami_chart() -> anyhow::Result<String> {
    match std::env::var("SSRS_BITNAMI_CHART") {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => script_output(&["scripts/setup-helm.sh", "--bitnami-chart"]),
    }
}

/// Bitnami's controller image (v0.36.6 binaries on our image base, `docker.io/bitnami/sealed-secrets-controller:
/// 0.36.6`): `$SSRS_BITNAMI_IMAGE` (set by `make test-node`), else built by `scripts/image.sh --bitnami`.
pub fn bitnami_image() -> anyhow::Result<PathBuf> {
    match std::env::var("SSRS_BITNAMI_IMAGE") {
        Ok(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => Ok(repo_root().join(script_output(&["scripts/image.sh", "--bitnami"])?)),
    }
}

/// Removes a release a failed test may have left (its Deployment's selector would block the next installation).
pub async fn uninstall_leftovers(ctx: &TestContext) -> anyhow::Result<()> {
    Helm::new(ctx)?.uninstall().await
}

/// The key Secrets in kube-system: name -> resourceVersion.
pub async fn keys(ctx: &TestContext) -> anyhow::Result<BTreeMap<String, String>> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), NAMESPACE);
    Ok(secrets
        .list_metadata(&ListParams::default().labels(KEY_LABEL))
        .await?
        .items
        .into_iter()
        .filter_map(|m| Some((m.metadata.name?, m.metadata.resource_version?)))
        .collect())
}

/// The last stdout line of a repository script (the path it prints).
fn script_output(args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new(repo_root().join(args[0]))
        .args(&args[1..])
        .current_dir(repo_root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", args[0]))?;
    if !out.status.success() {
        bail!("{} failed ({})", args.join(" "), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned())
}
