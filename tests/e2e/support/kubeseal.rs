//! The two kubeseal implementations behind one interface: same flags, same stdin, exit status, stdout and
//! stderr captured, no ambient configuration (no `KUBECONFIG`, no `SEALED_SECRETS_*`, no in-cluster
//! variables), so that every run says exactly what it uses.

use std::ffi::OsStr;
use std::fmt::Debug;
use std::path::PathBuf;

use anyhow::bail;
use sealed_secrets_test_support::cluster::ClusterInfo;
use sealed_secrets_test_support::process::{output, workspace_binary};
use sealed_secrets_test_support::{ServiceAccountIdentity, TestContext};
use tokio::process::Command;

/// One kubeseal implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kubeseal {
    /// `crates/kubeseal` (`target/debug/kubeseal`, built if missing).
    Ours,
    /// Bitnami's kubeseal v0.36.6 from the test-binary cache.
    Bitnami,
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

impl Kubeseal {
    /// Both, ours first.
    pub const ALL: [Kubeseal; 2] = [Kubeseal::Ours, Kubeseal::Bitnami];

    /// Short name, used in object names and messages.
    pub fn tag(self) -> &'static str {
        match self {
            Kubeseal::Ours => "ours",
            Kubeseal::Bitnami => "bitnami",
        }
    }

    fn program(self, cluster: &ClusterInfo) -> anyhow::Result<PathBuf> {
        match self {
            Kubeseal::Ours => workspace_binary("kubeseal"),
            Kubeseal::Bitnami => Ok(cluster.bin("bitnami-kubeseal")),
        }
    }

    /// Runs `kubeseal args...` with `stdin`.
    pub async fn run<S: AsRef<OsStr>>(
        self,
        cluster: &ClusterInfo,
        args: &[S],
        stdin: &str,
    ) -> anyhow::Result<Outcome> {
        let mut command = without_ambient_config(self.program(cluster)?);
        command.args(args);
        execute(command, stdin).await
    }

    /// Runs `kubeseal args...` with `stdin` in the working directory `dir` (where repository rules are
    /// looked up).
    pub async fn run_in_dir<S: AsRef<OsStr>>(
        self,
        cluster: &ClusterInfo,
        dir: &std::path::Path,
        args: &[S],
        stdin: &str,
    ) -> anyhow::Result<Outcome> {
        let mut command = without_ambient_config(self.program(cluster)?);
        command.args(args).current_dir(dir);
        execute(command, stdin).await
    }

    /// Runs `kubeseal args...` and expects success; its stdout.
    pub async fn run_ok<S: AsRef<OsStr> + Debug>(
        self,
        cluster: &ClusterInfo,
        args: &[S],
        stdin: &str,
    ) -> anyhow::Result<String> {
        let out = self.run(cluster, args, stdin).await?;
        if !out.ok {
            bail!("{} kubeseal {args:?} failed:\n{}", self.tag(), out.stderr);
        }
        Ok(out.stdout)
    }

    /// Runs `kubeseal args...` as a pod of ServiceAccount `identity` would: in-cluster configuration only (no
    /// kubeconfig, no HOME), the token, CA and namespace mounted where client libraries look for them.
    pub async fn run_in_cluster(
        self,
        cluster: &ClusterInfo,
        identity: &ServiceAccountIdentity,
        args: &[&str],
        stdin: &str,
    ) -> anyhow::Result<Outcome> {
        let (exec, exec_args) = identity.in_cluster_command(cluster, &self.program(cluster)?);
        let mut command = without_ambient_config(exec);
        command
            .args(exec_args)
            .args(args)
            .env("HOME", "/nonexistent")
            .envs(ServiceAccountIdentity::in_cluster_env(cluster));
        execute(command, stdin).await
    }
}

/// `--kubeconfig ADMIN --controller-namespace NS`: what the cluster modes of both kubeseals need to reach the
/// controller exposed in the test's namespace.
pub fn cluster_args(ctx: &TestContext) -> Vec<String> {
    vec![
        "--kubeconfig".to_owned(),
        ctx.cluster.kubeconfig.to_string_lossy().into_owned(),
        "--controller-namespace".to_owned(),
        ctx.namespace.clone(),
    ]
}

/// [`cluster_args`] followed by `args`.
pub fn against_cluster(ctx: &TestContext, args: &[&str]) -> Vec<String> {
    let mut all = cluster_args(ctx);
    all.extend(args.iter().map(|a| (*a).to_owned()));
    all
}

/// A command for `program` that inherits none of the test process's kubeseal or Kubernetes configuration.
fn without_ambient_config(program: PathBuf) -> Command {
    let mut command = Command::new(program);
    command
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SEALED_SECRETS_") {
            command.env_remove(key);
        }
    }
    command
}

async fn execute(mut command: Command, stdin: &str) -> anyhow::Result<Outcome> {
    let out = output(&mut command, Some(stdin)).await?;
    Ok(Outcome {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
