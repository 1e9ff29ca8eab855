//! Finding the run's control plane: `SSRS_CLUSTER_DIR/cluster.json` written by `scripts/cluster.sh up`, or a
//! private control plane started on demand (`SSRS_START_CLUSTER=1`).

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context as _, bail};
use serde::Deserialize;

/// Environment variable holding the control plane's state directory.
pub const CLUSTER_DIR_ENV: &str = "SSRS_CLUSTER_DIR";
/// Environment variable that turns a missing control plane into a test failure (set by `make test`).
pub const REQUIRE_ENV: &str = "SSRS_REQUIRE_CLUSTER";
/// Environment variable that lets the test binary start its own control plane when none is given.
pub const START_ENV: &str = "SSRS_START_CLUSTER";

/// What `scripts/cluster.sh up` records about a running control plane (`<dir>/cluster.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct ClusterInfo {
    /// Run id (also part of the network namespace name).
    pub id: String,
    /// State directory: pki/, logs/, pids/, kubeconfigs.
    pub dir: PathBuf,
    /// Directory with kube-apiserver, kubectl, etcd, bitnami-kubeseal, bitnami-controller.
    pub testbin: PathBuf,
    /// The repository's `scripts/` directory of the harness that started the run.
    pub scripts: PathBuf,
    /// API server URL, `https://127.0.0.1:<port>`.
    pub server: String,
    /// API server port on 127.0.0.1.
    pub apiserver_port: u16,
    /// Admin kubeconfig (a `system:masters` token).
    pub kubeconfig: PathBuf,
    /// CA certificate that signed the API server's serving certificate.
    pub ca_file: PathBuf,
    /// File holding the admin bearer token.
    pub admin_token_file: PathBuf,
    /// Network namespace created for this run.
    pub netns: String,
    /// Host-side (root namespace) address of the veth pair: local backends listen here.
    pub host_ip: Ipv4Addr,
    /// Address of the veth end inside the network namespace.
    pub netns_ip: Ipv4Addr,
}

impl ClusterInfo {
    /// Reads `<dir>/cluster.json`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("cluster.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {} (is the control plane up?)", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Path of a binary in the test-binary cache, e.g. `kubectl` or `bitnami-kubeseal`.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.testbin.join(name)
    }

    /// The admin bearer token.
    pub fn admin_token(&self) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(&self.admin_token_file)
            .with_context(|| format!("reading {}", self.admin_token_file.display()))?
            .trim()
            .to_owned())
    }

    /// Directory for logs of processes started by tests (`<dir>/logs/tests`).
    pub fn test_log_dir(&self) -> PathBuf {
        self.dir.join("logs").join("tests")
    }

    /// Directory where PIDs of test-started processes are recorded, so `cluster.sh down` stops leftovers.
    pub fn pid_dir(&self) -> PathBuf {
        self.dir.join("pids")
    }
}

/// The process-wide control plane, or `None` (after a loud message) when there is none and none is required.
///
/// # Panics
/// When `SSRS_REQUIRE_CLUSTER=1` and no control plane can be had: a test run under `make test` must not skip.
pub fn cluster() -> Option<&'static ClusterInfo> {
    static CLUSTER: OnceLock<Result<Option<ClusterInfo>, String>> = OnceLock::new();
    match CLUSTER.get_or_init(|| discover().map_err(|e| format!("{e:#}"))) {
        Ok(Some(info)) => Some(info),
        Ok(None) => {
            if required() {
                panic!(
                    "\n\n*** END-TO-END TEST WITHOUT A CONTROL PLANE ***\n{REQUIRE_ENV}=1 but {CLUSTER_DIR_ENV} is not set.\n\
                     Run `make test-e2e` (it starts one), or `make cluster-up` and export the printed variables,\n\
                     or set {START_ENV}=1 to let the test binary start its own.\n"
                );
            }
            loud(&format!(
                "SKIPPED: no control plane ({CLUSTER_DIR_ENV} unset). Run `make test-e2e`, or `make cluster-up` + \
                 `eval \"$(scripts/cluster.sh env)\"`, or set {START_ENV}=1. Under `make test` this is an error."
            ));
            None
        }
        Err(e) => panic!("\n\n*** CONTROL PLANE UNAVAILABLE ***\n{e}\n"),
    }
}

/// Whether `SSRS_REQUIRE_CLUSTER=1`.
pub fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn discover() -> anyhow::Result<Option<ClusterInfo>> {
    if let Some(dir) = std::env::var_os(CLUSTER_DIR_ENV).filter(|d| !d.is_empty()) {
        return ClusterInfo::load(Path::new(&dir)).map(Some);
    }
    if std::env::var(START_ENV).is_ok_and(|v| v == "1") {
        return start_private().map(Some);
    }
    Ok(None)
}

/// Starts a control plane owned by this test process: `cluster.sh up --watch-pid <our pid>`.
fn start_private() -> anyhow::Result<ClusterInfo> {
    let script = repo_root().join("scripts").join("cluster.sh");
    loud(&format!(
        "starting a private control plane with {}",
        script.display()
    ));
    let out = Command::new(&script)
        .arg("up")
        .arg("--watch-pid")
        .arg(std::process::id().to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} up failed ({})", script.display(), out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout
        .lines()
        .last()
        .context("cluster.sh up printed no state dir")?
        .trim();
    ClusterInfo::load(Path::new(dir))
}

/// The repository root (this crate lives in `<root>/crates/test-support`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// Writes a message straight to stderr, bypassing libtest's output capture, so skips are never silent.
pub(crate) fn loud(msg: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "sealed-secrets-test-support: {msg}"
    );
}
