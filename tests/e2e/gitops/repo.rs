//! The Git repository under test: a bare repository served over smart HTTP on 127.0.0.1
//! (`tests/gitops/git_http_server.py`, `git http-backend` behind a tiny server; both agents accept it, Flux
//! accepts nothing else locally), and a work tree the test commits to, laid out as users lay it out:
//!
//! ```text
//! apps/demo/base/{kustomization.yaml,configmap.yaml}        what every environment shares
//! overlays/<env>/kustomization.yaml                        namespace, labels, a patch of the ConfigMap
//! overlays/<env>/db-credentials.sealed.yaml                sealed for <env>'s namespace with our kubeseal
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use sealed_secrets_test_support::cluster::repo_root;
use sealed_secrets_test_support::process::{output, run_to_completion};
use sealed_secrets_test_support::wait::wait_for;
use sealed_secrets_test_support::{ManagedProcess, ProcessSpec, TestContext};

use super::super::support::kubeseal::{Kubeseal, against_cluster};
use super::super::support::sealed::SecretFixture;

/// Name of the app in `apps/`.
pub const APP: &str = "demo";
/// Name of each overlay's SealedSecret (and of the Secret it becomes).
pub const SECRET: &str = "db-credentials";
/// The committed CI step that seals a Secret with only the certificate and commits it.
pub const CI_SCRIPT: &str = "examples/gitops/ci-seal.sh";

/// One environment: its overlay directory and the namespace it deploys to.
#[derive(Debug, Clone)]
pub struct Env {
    /// `staging` or `production`.
    pub name: &'static str,
    /// The namespace (created by the test).
    pub namespace: String,
}

impl Env {
    /// `overlays/<name>`.
    pub fn path(&self) -> String {
        format!("overlays/{}", self.name)
    }
}

/// The bare repository, its HTTP server and the test's work tree.
pub struct Repo {
    /// `http://127.0.0.1:PORT/gitops.git`.
    pub url: String,
    /// The work tree (commits go straight to the bare repository's `main`).
    pub work: PathBuf,
    _server: ManagedProcess,
    _dir: TempDir,
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Repo {
    /// Creates an empty repository (branch `main`) and serves it.
    pub async fn create(ctx: &TestContext) -> anyhow::Result<Repo> {
        let dir = ctx.cluster.dir.join("gitops").join(&ctx.namespace);
        std::fs::create_dir_all(dir.join("srv"))
            .with_context(|| format!("creating {}", dir.display()))?;
        let dir = TempDir(dir);
        let bare = dir.0.join("srv/gitops.git");
        let work = dir.0.join("work");
        git(
            &dir.0,
            &["init", "-q", "--bare", "-b", "main", path_str(&bare)?],
        )
        .await?;
        git(&dir.0, &["init", "-q", "-b", "main", path_str(&work)?]).await?;
        git(&work, &["remote", "add", "origin", path_str(&bare)?]).await?;
        let port_file = dir.0.join("port");
        let script = repo_root().join("tests/gitops/git_http_server.py");
        let mut server = ManagedProcess::spawn(
            ctx.cluster,
            ProcessSpec::new("git-http", "python3")
                .arg(script)
                .arg(dir.0.join("srv"))
                .arg(&port_file),
        )?;
        let port = wait_for(
            "the Git HTTP server's port",
            Duration::from_secs(10),
            || async { Ok(std::fs::read_to_string(&port_file).ok()) },
        )
        .await;
        let port = match port {
            Ok(port) => port,
            Err(e) => {
                server.ensure_running()?;
                return Err(e);
            }
        };
        Ok(Repo {
            url: format!("http://127.0.0.1:{}/gitops.git", port.trim()),
            work,
            _server: server,
            _dir: dir,
        })
    }

    /// Writes `text` to `path` in the work tree (directories created).
    pub fn write(&self, path: &str, text: &str) -> anyhow::Result<()> {
        let file = self.work.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))
    }

    /// Reads `path` from the work tree.
    pub fn read(&self, path: &str) -> anyhow::Result<String> {
        let file = self.work.join(path);
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))
    }

    /// Runs git in the work tree.
    pub async fn git(&self, args: &[&str]) -> anyhow::Result<String> {
        git(&self.work, args).await
    }

    /// Commits everything and pushes to `main`; the new revision.
    pub async fn commit(&self, message: &str) -> anyhow::Result<String> {
        self.git(&["add", "-A"]).await?;
        self.git(&["commit", "-q", "-m", message]).await?;
        self.git(&["push", "-q", "origin", "HEAD:main"]).await?;
        Ok(self.git(&["rev-parse", "HEAD"]).await?.trim().to_owned())
    }

    /// The layout: the shared base, one overlay per environment with its SealedSecret sealed by our kubeseal
    /// against the running controller (exposed in the test's namespace), committed.
    pub async fn lay_out(&self, ctx: &TestContext, envs: &[Env]) -> anyhow::Result<String> {
        self.write(
            &format!("apps/{APP}/base/kustomization.yaml"),
            BASE_KUSTOMIZATION,
        )?;
        self.write(&format!("apps/{APP}/base/configmap.yaml"), BASE_CONFIGMAP)?;
        for env in envs {
            self.write(
                &format!("{}/kustomization.yaml", env.path()),
                &overlay_kustomization(env),
            )?;
            let sealed = seal(
                ctx,
                &env.namespace,
                SECRET,
                &[("password", &format!("{}-pw", env.name))],
            )
            .await?;
            self.write(&format!("{}/{SECRET}.sealed.yaml", env.path()), &sealed)?;
        }
        self.commit("apps/demo with a staging and a production overlay")
            .await
    }
}

/// Our kubeseal, against the controller exposed in the test's namespace: a Secret `namespace/name` with `data`
/// sealed (strict scope), as YAML.
pub async fn seal(
    ctx: &TestContext,
    namespace: &str,
    name: &str,
    data: &[(&str, &str)],
) -> anyhow::Result<String> {
    let secret = data
        .iter()
        .fold(
            SecretFixture::new(name).namespace(namespace),
            |f, (k, v)| f.data(k, v),
        )
        .build();
    let input = serde_json::to_string(&secret)?;
    Kubeseal::Ours
        .run_ok(
            ctx.cluster,
            &against_cluster(ctx, &["--format", "yaml"]),
            &input,
        )
        .await
}

/// The shared base: a ConfigMap (the app without a Deployment).
const BASE_KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - configmap.yaml
";

const BASE_CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: demo-config
data:
  environment: base
  database-secret: db-credentials
";

/// An overlay: the namespace, a label, a patch of the ConfigMap, and the environment's SealedSecret.
fn overlay_kustomization(env: &Env) -> String {
    format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {ns}
labels:
  - pairs:
      environment: {name}
resources:
  - ../../apps/{APP}/base
  - {SECRET}.sealed.yaml
patches:
  - target:
      kind: ConfigMap
      name: demo-config
    patch: |-
      - op: replace
        path: /data/environment
        value: {name}
",
        ns = env.namespace,
        name = env.name,
    )
}

/// A copy of `sealed_yaml` whose first encrypted value is corrupted: still valid base64 of the same length, so
/// only decryption notices (no key decrypts it).
pub fn corrupt(sealed_yaml: &str) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let mut done = false;
    let mut in_data = false;
    for line in sealed_yaml.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("encryptedData:") {
            in_data = true;
        } else if in_data
            && !done
            && let Some((key, value)) = line.split_once(": ")
        {
            {
                let mut v: Vec<char> = value.chars().collect();
                // A character in the middle of the AES-GCM part: the tag check fails for every key.
                let i = v.len() * 3 / 4;
                v[i] = if v[i] == 'A' { 'B' } else { 'A' };
                out.push(format!("{key}: {}", v.into_iter().collect::<String>()));
                done = true;
                continue;
            }
        }
        out.push(line.to_owned());
    }
    if !done {
        bail!("no encrypted value found to corrupt");
    }
    Ok(out.join("\n") + "\n")
}

/// The path of the committed CI script.
pub fn ci_script() -> PathBuf {
    repo_root().join(CI_SCRIPT)
}

async fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let mut cmd = tokio::process::Command::new("git");
    cmd.current_dir(dir)
        .args([
            "-c",
            "user.name=gitops-test",
            "-c",
            "user.email=gitops-test@example.invalid",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir);
    let out = output(&mut cmd, None).await?;
    if !out.status.success() {
        bail!(
            "git {} failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str().context("non-UTF-8 path")
}

/// `kustomize build DIR` with the cached kustomize.
pub async fn kustomize_build(dir: &Path) -> anyhow::Result<String> {
    run_to_completion(&super::tool("kustomize"), &["build", path_str(dir)?], None).await
}

/// `kustomize ARGS...` run in `dir` with the cached kustomize (e.g. `edit remove resource FILE`).
pub async fn kustomize_in(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let mut cmd = tokio::process::Command::new(super::tool("kustomize"));
    cmd.current_dir(dir).args(args);
    let out = output(&mut cmd, None).await?;
    if !out.status.success() {
        bail!(
            "kustomize {} failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
