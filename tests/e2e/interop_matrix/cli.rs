//! The two kubeseal implementations behind one interface: same flags, same stdin, exit status, stdout and
//! stderr captured, no ambient configuration (no `KUBECONFIG`, no `SEALED_SECRETS_*`, no in-cluster
//! variables), so that every run says exactly what it uses.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;

use anyhow::{Context as _, anyhow, bail};
use sealed_secrets_test_support::cluster::ClusterInfo;
use sealed_secrets_test_support::process::workspace_binary;
use tokio::io::AsyncWriteExt as _;

/// One kubeseal implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cli {
    /// `crates/kubeseal` (`target/debug/kubeseal`).
    Ours,
    /// Bitnami's kubeseal v0.36.6 from the test-binary cache.
    Bitnami,
}

impl Cli {
    /// Both, ours first.
    pub const ALL: [Cli; 2] = [Cli::Ours, Cli::Bitnami];

    /// Short name, used in object names and messages.
    pub fn tag(self) -> &'static str {
        match self {
            Cli::Ours => "ours",
            Cli::Bitnami => "bitnami",
        }
    }

    fn program(self, cluster: &ClusterInfo) -> anyhow::Result<PathBuf> {
        match self {
            Cli::Ours => our_kubeseal(),
            Cli::Bitnami => Ok(cluster.bin("bitnami-kubeseal")),
        }
    }
}

/// Our kubeseal binary, built on first use if it is missing.
fn our_kubeseal() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let path = workspace_binary("kubeseal");
            if !path.exists() {
                let status = std::process::Command::new(
                    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
                )
                .args(["build", "-p", "kubeseal", "--bin", "kubeseal"])
                .current_dir(sealed_secrets_test_support::cluster::repo_root())
                .status()
                .map_err(|e| format!("running cargo build: {e}"))?;
                if !status.success() {
                    return Err(format!("cargo build -p kubeseal failed: {status}"));
                }
            }
            Ok(path)
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

/// The outcome of one kubeseal run.
#[derive(Debug)]
pub struct Outcome {
    /// Exit status 0.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Outcome {
    /// The first line of stderr (the error itself; ours may add `hint:` lines after it).
    pub fn error_line(&self) -> &str {
        self.stderr.lines().next().unwrap_or("")
    }
}

/// Runs `cli args...` with `stdin`.
pub async fn run(
    cli: Cli,
    cluster: &ClusterInfo,
    args: &[&str],
    stdin: &str,
) -> anyhow::Result<Outcome> {
    let program = cli.program(cluster)?;
    let mut command = tokio::process::Command::new(&program);
    command
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SEALED_SECRETS_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).await?;
    }
    let out = child.wait_with_output().await?;
    Ok(Outcome {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs `cli args...` and expects success; its stdout.
pub async fn run_ok(
    cli: Cli,
    cluster: &ClusterInfo,
    args: &[&str],
    stdin: &str,
) -> anyhow::Result<String> {
    let out = run(cli, cluster, args, stdin).await?;
    if !out.ok {
        bail!("{} kubeseal {args:?} failed:\n{}", cli.tag(), out.stderr);
    }
    Ok(out.stdout)
}
