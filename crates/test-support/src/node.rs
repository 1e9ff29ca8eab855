//! The real node of a control plane started with `scripts/cluster.sh up --node` (kubelet + containerd + runc,
//! `scripts/node.sh`): what the node tests need to run the shipped image and manifests as Pods.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context as _, anyhow, bail};
use serde::Deserialize;

use crate::cluster::{ClusterInfo, repo_root};
use crate::process::output;

/// Where `make test-node` puts the path of the image archive it built (`make image`) for the tests to import.
pub const IMAGE_ENV: &str = "SSRS_IMAGE";

/// What `scripts/node.sh up` wrote to `<cluster dir>/node/node.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct NodeInfo {
    /// The Node object's name.
    pub name: String,
    /// The node's network namespace.
    pub netns: String,
    /// The host end of the node's veth pair (the kubelet listens there).
    pub host_ip: String,
    /// The Pods' address range.
    pub pod_cidr: String,
    /// containerd's socket.
    pub containerd_socket: PathBuf,
    /// Where `ctr`, `runc` and the CNI plugins are.
    pub nodebin: PathBuf,
}

impl NodeInfo {
    /// The node of `cluster`, or `None` when it was started without one.
    pub fn of(cluster: &ClusterInfo) -> anyhow::Result<Option<Self>> {
        let path = cluster.dir.join("node/node.json");
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("parsing {}", path.display()))
    }

    /// `ctr args...` against the node's containerd (namespace `k8s.io`); its stdout.
    pub async fn ctr(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut all = vec![
            "--address".to_owned(),
            self.containerd_socket.to_string_lossy().into_owned(),
        ];
        all.extend(["-n", "k8s.io"].map(str::to_owned));
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let mut command = tokio::process::Command::new(self.nodebin.join("ctr"));
        command.args(&all);
        let out = output(&mut command, None).await?;
        if !out.status.success() {
            bail!(
                "ctr {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Imports an OCI image archive into the node's containerd.
    pub async fn import(&self, archive: &Path) -> anyhow::Result<()> {
        self.ctr(&["images", "import", &archive.to_string_lossy()])
            .await
            .map(drop)
            .with_context(|| format!("importing {} into the node", archive.display()))
    }

    /// The host PID of a running container (`containerd://ID` or `ID`, as a Pod's status names it).
    pub async fn container_pid(&self, container_id: &str) -> anyhow::Result<u32> {
        let id = container_id
            .strip_prefix("containerd://")
            .unwrap_or(container_id);
        let tasks = self.ctr(&["tasks", "ls"]).await?;
        tasks
            .lines()
            .find_map(|l| {
                let mut words = l.split_whitespace();
                (words.next() == Some(id)).then(|| words.next()?.parse().ok())?
            })
            .ok_or_else(|| anyhow!("no running task for container {id} in:\n{tasks}"))
    }
}

/// The controller image archive: `$SSRS_IMAGE` (set by `make test-node`), else built once with `scripts/image.sh`.
pub fn image_archive() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Some(path) = std::env::var_os(IMAGE_ENV).filter(|p| !p.is_empty()) {
                return Ok(PathBuf::from(path));
            }
            let out = std::process::Command::new(repo_root().join("scripts/image.sh"))
                .current_dir(repo_root())
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|e| format!("running scripts/image.sh: {e}"))?;
            if !out.status.success() {
                return Err(format!("scripts/image.sh failed ({})", out.status));
            }
            let stdout = String::from_utf8_lossy(&out.stdout);
            let path = stdout.lines().last().unwrap_or_default().trim();
            Ok(repo_root().join(path))
        })
        .clone()
        .map_err(|e| anyhow!(e))
}
