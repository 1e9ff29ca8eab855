//! The controller under test (ours or Bitnami's, behind the same Service), scopes, the expected Secret and
//! its exact comparison, key backups and a work directory for the files kubeseal reads and writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail, ensure};
use k8s_openapi::api::core::v1::Secret;
use sealed_secrets::names::INTEGRITY_ANNOTATION;
use sealed_secrets_test_support::bitnami::BitnamiController;
use sealed_secrets_test_support::{ServiceAccountIdentity, TestContext};

use crate::support::controller::{Controller, served_cert_pem};
use crate::support::kubeseal::{Kubeseal, cluster_args};
use crate::support::sealed::integrity;

/// `/v1/verify` and `/v1/rotate` are rate-limited per client (2/s, burst 2, in both implementations); all
/// requests arrive from the API server's address, and one test sends dozens of them.
const RATE_LIMIT_ARGS: [&str; 2] = ["--rate-limit=1000", "--rate-limit-burst=1000"];

/// Which controller implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// `crates/sealed-secrets-controller`.
    Ours,
    /// Bitnami's controller v0.36.6.
    Bitnami,
}

impl Impl {
    /// Short name.
    pub fn tag(self) -> &'static str {
        match self {
            Impl::Ours => "ours",
            Impl::Bitnami => "bitnami",
        }
    }
}

/// A running controller, reachable through Service `sealed-secrets-controller` (port `http`) in the test's
/// namespace, keeping its keys there and watching only that namespace.
pub struct ControllerUnderTest {
    /// Which implementation.
    pub which: Impl,
    _ours: Option<Controller>,
    _bitnami: Option<BitnamiController>,
}

impl ControllerUnderTest {
    /// Starts `which` under the restricted controller identity with a 2048-bit key.
    pub async fn start(ctx: &TestContext, which: Impl) -> anyhow::Result<Self> {
        match which {
            Impl::Ours => {
                let ctl = Controller::start_exposed(ctx, &RATE_LIMIT_ARGS).await?;
                Ok(Self {
                    which,
                    _ours: Some(ctl),
                    _bitnami: None,
                })
            }
            Impl::Bitnami => {
                let identity = ServiceAccountIdentity::controller(ctx).await?;
                let args = [&["--key-size=2048"][..], &RATE_LIMIT_ARGS[..]].concat();
                let ctl = BitnamiController::start(ctx, &identity, &args).await?;
                Ok(Self {
                    which,
                    _ours: None,
                    _bitnami: Some(ctl),
                })
            }
        }
    }
}

/// `--fetch-cert` with both CLIs: each must print exactly the certificate the controller serves. Writes it
/// to `cert.pem` in `work` and returns that path.
pub async fn fetch_cert_with_both(
    ctx: &TestContext,
    ctl: &ControllerUnderTest,
    work: &Path,
) -> anyhow::Result<PathBuf> {
    let served = served_cert_pem(ctx).await?;
    ensure!(
        served.starts_with("-----BEGIN CERTIFICATE-----"),
        "{served}"
    );
    let args = cluster_args(ctx);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.push("--fetch-cert");
    for cli in Kubeseal::ALL {
        let fetched = cli.run_ok(ctx.cluster, &args, "").await?;
        ensure!(
            fetched == served,
            "{} kubeseal --fetch-cert from the {} controller printed\n{fetched}\nbut the controller serves\n{served}",
            cli.tag(),
            ctl.which.tag()
        );
    }
    let path = work.join("cert.pem");
    std::fs::write(&path, &served)?;
    Ok(path)
}

/// A sealing scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Label `ns/name`.
    Strict,
    /// Label `ns`.
    NamespaceWide,
    /// Empty label.
    ClusterWide,
}

impl Scope {
    /// All three.
    pub const ALL: [Scope; 3] = [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide];

    /// The `--scope` value (also used in object names).
    pub fn flag(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }

    /// The scope annotation (none for strict).
    pub fn annotation(self) -> Option<(&'static str, &'static str)> {
        match self {
            Scope::Strict => None,
            Scope::NamespaceWide => Some(("sealedsecrets.bitnami.com/namespace-wide", "true")),
            Scope::ClusterWide => Some(("sealedsecrets.bitnami.com/cluster-wide", "true")),
        }
    }

    /// Whether a SealedSecret of this scope still decrypts after a rename (same namespace).
    pub fn survives_rename(self) -> bool {
        self != Scope::Strict
    }

    /// Whether a SealedSecret of this scope still decrypts in another namespace.
    pub fn survives_move(self) -> bool {
        self == Scope::ClusterWide
    }
}

/// What the Secret written by the controller (or by `--recovery-unseal`) must contain, exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// `metadata.name`.
    pub name: String,
    /// `type`.
    pub type_: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `data`, decoded.
    pub data: BTreeMap<String, Vec<u8>>,
}

/// The parts of `secret` that [`Expected`] describes; for Secrets written by our controller its integrity
/// annotation (docs/security.md) is removed first: that one extra key is allowed, nothing else.
fn observed(secret: &Secret, written_by: Option<Impl>) -> Expected {
    let mut annotations = secret.metadata.annotations.clone().unwrap_or_default();
    if written_by == Some(Impl::Ours) {
        annotations.remove(INTEGRITY_ANNOTATION);
    }
    Expected {
        name: secret.metadata.name.clone().unwrap_or_default(),
        type_: secret.type_.clone().unwrap_or_default(),
        labels: secret.metadata.labels.clone().unwrap_or_default(),
        annotations,
        data: secret
            .data
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect(),
    }
}

/// Compares `secret` with `expected`, field by field; `written_by` is the controller that wrote it (`None`
/// for a `--recovery-unseal` output).
pub fn compare(
    secret: &Secret,
    expected: &Expected,
    written_by: Option<Impl>,
) -> anyhow::Result<()> {
    let seen = observed(secret, written_by);
    let mut diffs = Vec::new();
    if seen.name != expected.name {
        diffs.push(format!("name: {:?} != {:?}", seen.name, expected.name));
    }
    if seen.type_ != expected.type_ {
        diffs.push(format!("type: {:?} != {:?}", seen.type_, expected.type_));
    }
    if seen.labels != expected.labels {
        diffs.push(format!(
            "labels:\n  got      {:?}\n  expected {:?}",
            seen.labels, expected.labels
        ));
    }
    if seen.annotations != expected.annotations {
        diffs.push(format!(
            "annotations:\n  got      {:?}\n  expected {:?}",
            seen.annotations, expected.annotations
        ));
    }
    if seen.data != expected.data {
        diffs.push(format!(
            "data:\n  got      {}\n  expected {}",
            show_data(&seen.data),
            show_data(&expected.data)
        ));
    }
    if written_by == Some(Impl::Bitnami) && integrity(secret).is_some() {
        diffs.push(format!(
            "Bitnami's controller cannot have written {INTEGRITY_ANNOTATION}"
        ));
    }
    if written_by.is_some() {
        let owners = secret.metadata.owner_references.clone().unwrap_or_default();
        let ok = owners.len() == 1
            && owners[0].kind == "SealedSecret"
            && owners[0].api_version == "bitnami.com/v1alpha1"
            && owners[0].name == expected.name
            && owners[0].controller == Some(true);
        if !ok {
            diffs.push(format!("ownerReferences: {owners:?}"));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(
            "Secret {} differs from the expected one:\n{}",
            expected.name,
            diffs.join("\n")
        ))
    }
}

fn show_data(data: &BTreeMap<String, Vec<u8>>) -> String {
    let items: Vec<String> = data
        .iter()
        .map(|(k, v)| match std::str::from_utf8(v) {
            Ok(s) => format!("{k}={s:?}"),
            Err(_) => format!("{k}=<bytes {v:?}>"),
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Waits until the controller has written Secret `expected.name` in the test's namespace and it matches
/// `expected` exactly (the last difference is reported on timeout).
pub async fn wait_secret_exactly(
    ctx: &TestContext,
    ctl: &ControllerUnderTest,
    expected: &Expected,
) -> anyhow::Result<Secret> {
    let what = format!("written by the {} controller", ctl.which.tag());
    ctx.secret(&expected.name)
        .wait(&what, |secret| {
            compare(secret, expected, Some(ctl.which)).map(|()| true)
        })
        .await
}

/// `kubectl apply -n NS -f -` of `manifest` (YAML or JSON).
pub async fn apply(ctx: &TestContext, manifest: &str) -> anyhow::Result<()> {
    ctx.kubectl()
        .apply_in(&ctx.namespace, manifest)
        .await
        .map(drop)
}

/// The controller's key backup, as users make it
/// (`kubectl get secret -n NS -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`, a List), written to
/// `backup.yaml` in `work`.
pub async fn key_backup(ctx: &TestContext, work: &Path) -> anyhow::Result<PathBuf> {
    let backup = ctx
        .kubectl()
        .run(
            &[
                "get",
                "secret",
                "-n",
                &ctx.namespace,
                "-l",
                "sealedsecrets.bitnami.com/sealed-secrets-key",
                "-o",
                "yaml",
            ],
            None,
        )
        .await?;
    if !backup.contains("kind: List") || !backup.contains("tls.key") {
        bail!("unexpected key backup:\n{backup}");
    }
    let path = work.join("backup.yaml");
    std::fs::write(&path, backup)?;
    Ok(path)
}

/// `cli --recovery-unseal --recovery-private-key BACKUP -o json` of `sealed`: the Secret it prints.
pub async fn recovery_unseal(
    ctx: &TestContext,
    cli: Kubeseal,
    backup: &Path,
    sealed: &str,
) -> anyhow::Result<Secret> {
    let backup = backup.to_string_lossy();
    let out = cli
        .run_ok(
            ctx.cluster,
            &[
                "--recovery-unseal",
                "--recovery-private-key",
                &backup,
                "-o",
                "json",
            ],
            sealed,
        )
        .await?;
    serde_json::from_str(&out)
        .with_context(|| format!("{} kubeseal --recovery-unseal printed\n{out}", cli.tag()))
}

/// A directory for this test's files, under the control plane's state dir (removed with it; kept with
/// `SSRS_KEEP_CLUSTER_DIR=1` for debugging).
pub fn work_dir(ctx: &TestContext) -> anyhow::Result<PathBuf> {
    let dir = ctx.cluster.dir.join("interop-matrix").join(&ctx.namespace);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// `[(k, v)]` as a data map.
pub fn bytes(pairs: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
        .collect()
}
