//! Running the test-binary kubectl against the control plane.

use std::path::{Path, PathBuf};

use crate::cluster::ClusterInfo;
use crate::process::run_to_completion;

/// kubectl bound to one kubeconfig (admin or a restricted identity).
#[derive(Debug, Clone)]
pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
}

impl Kubectl {
    /// kubectl from the cluster's test-binary cache with `--kubeconfig kubeconfig`.
    pub fn new(cluster: &ClusterInfo, kubeconfig: &Path) -> Self {
        Self {
            bin: cluster.bin("kubectl"),
            kubeconfig: kubeconfig.to_owned(),
        }
    }

    /// Runs `kubectl --kubeconfig K ARGS...` with `stdin` and returns stdout; fails with stderr on a non-zero exit.
    pub async fn run(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        let mut full: Vec<&std::ffi::OsStr> =
            vec!["--kubeconfig".as_ref(), self.kubeconfig.as_os_str()];
        full.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
        run_to_completion(&self.bin, &full, stdin).await
    }

    /// `kubectl apply --server-side --force-conflicts -f -` with `yaml` (safe when tests apply concurrently).
    pub async fn apply(&self, yaml: &str) -> anyhow::Result<String> {
        self.run(
            &[
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager=ssrs-e2e",
                "-f",
                "-",
            ],
            Some(yaml),
        )
        .await
    }

    /// `kubectl apply -n NAMESPACE -f -` with `manifest` (YAML or JSON): a client-side apply, as users apply
    /// what kubeseal printed.
    pub async fn apply_in(&self, namespace: &str, manifest: &str) -> anyhow::Result<String> {
        self.run(&["apply", "-n", namespace, "-f", "-"], Some(manifest))
            .await
    }
}
