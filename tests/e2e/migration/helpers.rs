//! What both migration directions share: the objects to seal (with either kubeseal), snapshots of key Secrets
//! and unsealed Secrets, and the checks of both.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, ensure};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::ListParams;
use sealed_secrets::SealedSecret;
use sealed_secrets::keys::Certificate;
use sealed_secrets::names::INTEGRITY_ANNOTATION;
use sealed_secrets_test_support::TestContext;
use sealed_secrets_test_support::unique::unique_name;

use crate::support::controller::{parse_cert, served_cert_pem};
use crate::support::kubeseal::{Kubeseal, against_cluster, cluster_args};
use crate::support::map;
use crate::support::sealed::{create, integrity, moved, string_data, user_annotations};
pub use sealed_secrets::names::KEY_LABEL;

/// One Secret to seal: its name, scope, template metadata and values.
#[derive(Debug, Clone)]
pub struct Case {
    /// Name of the Secret and SealedSecret.
    pub name: String,
    /// `strict`, `namespace-wide` or `cluster-wide` (kubeseal's `--scope`).
    pub scope: &'static str,
    /// Template `type` (none: the API server's default, `Opaque`).
    pub type_: Option<&'static str>,
    /// Template labels.
    pub labels: BTreeMap<String, String>,
    /// Template annotations (kubeseal may add its scope annotation).
    pub annotations: BTreeMap<String, String>,
    /// The values (random per run).
    pub data: BTreeMap<String, String>,
}

impl Case {
    /// A case with random values (so nothing can pass by accident).
    pub fn new(name: &str, scope: &'static str, keys: &[&str]) -> Case {
        Case {
            name: name.to_owned(),
            scope,
            type_: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            data: keys
                .iter()
                .map(|k| ((*k).to_owned(), unique_name(&format!("v-{k}"))))
                .collect(),
        }
    }

    /// The same case with template type, labels and annotations.
    pub fn with_template(
        mut self,
        type_: &'static str,
        labels: &[(&str, &str)],
        annotations: &[(&str, &str)],
    ) -> Case {
        self.type_ = Some(type_);
        self.labels = map(labels);
        self.annotations = map(annotations);
        self
    }

    /// The input Secret as JSON (both kubeseals read JSON and YAML).
    pub fn input(&self, namespace: &str) -> String {
        let mut metadata = serde_json::json!({"name": self.name, "namespace": namespace});
        if !self.labels.is_empty() {
            metadata["labels"] = serde_json::json!(self.labels);
        }
        if !self.annotations.is_empty() {
            metadata["annotations"] = serde_json::json!(self.annotations);
        }
        let mut secret = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": metadata, "stringData": self.data,
        });
        if let Some(t) = self.type_ {
            secret["type"] = serde_json::json!(t);
        }
        secret.to_string()
    }
}

/// Where kubeseal gets the certificate from.
pub enum CertSource<'a> {
    /// `--cert FILE` (offline, as CI pipelines seal).
    File(&'a std::path::Path),
    /// The controller behind Service `sealed-secrets-controller` in the test's namespace, through the API
    /// server's service proxy (`--controller-namespace`).
    Cluster,
}

/// Seals `case` with `cli` and creates the SealedSecret in the test's namespace.
pub async fn seal_and_create(
    ctx: &TestContext,
    cli: Kubeseal,
    cert: &CertSource<'_>,
    case: &Case,
) -> anyhow::Result<SealedSecret> {
    let mut args = match cert {
        CertSource::File(path) => vec!["--cert".to_owned(), path.to_string_lossy().into_owned()],
        CertSource::Cluster => cluster_args(ctx),
    };
    args.extend(["--scope", case.scope, "-o", "json"].map(str::to_owned));
    let input = case.input(&ctx.namespace);
    let out = cli
        .run_ok(ctx.cluster, &args, &input)
        .await
        .with_context(|| format!("{cli:?} kubeseal sealing {}", case.name))?;
    let sealed: SealedSecret = serde_json::from_str(&out)
        .with_context(|| format!("{cli:?} kubeseal output for {}: {out}", case.name))?;
    create(&ctx.client, &sealed)
        .await
        .with_context(|| format!("creating SealedSecret {}", case.name))
}

/// The certificate served at `/v1/cert.pem` through the service proxy (whichever controller is behind it).
pub async fn cert_through_proxy(ctx: &TestContext) -> anyhow::Result<Certificate> {
    parse_cert(served_cert_pem(ctx).await?.as_bytes())
}

/// Writes `cert` to a file under the run's state dir (for `--cert`).
pub fn write_cert(ctx: &TestContext, cert: &Certificate) -> anyhow::Result<PathBuf> {
    let dir = ctx.cluster.dir.join("migration");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.pem", ctx.namespace));
    std::fs::write(&path, cert.to_pem())?;
    Ok(path)
}

/// A key Secret as both controllers store it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySecret {
    /// Secret name.
    pub name: String,
    /// Secret UID (a re-created Secret has another).
    pub uid: String,
    /// Value of the key label (`active`).
    pub label_value: String,
    /// Secret type (`kubernetes.io/tls`).
    pub type_: Option<String>,
    /// SHA-256 fingerprint of the certificate's public key.
    pub fingerprint: String,
}

/// Every key Secret in the test's namespace (label present, any value), by name.
pub async fn key_secrets(ctx: &TestContext) -> anyhow::Result<Vec<KeySecret>> {
    let list = ctx
        .api::<Secret>()
        .list(&ListParams::default().labels(KEY_LABEL))
        .await?;
    let mut keys = Vec::new();
    for s in list.items {
        let name = s.metadata.name.clone().unwrap_or_default();
        let crt = s
            .data
            .as_ref()
            .and_then(|d| d.get("tls.crt"))
            .with_context(|| format!("key Secret {name} without tls.crt"))?;
        let fingerprint = parse_cert(&crt.0)?
            .public_key()?
            .fingerprint()
            .as_str()
            .to_owned();
        keys.push(KeySecret {
            uid: s.metadata.uid.clone().unwrap_or_default(),
            label_value: s
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(KEY_LABEL))
                .cloned()
                .unwrap_or_default(),
            type_: s.type_.clone(),
            fingerprint,
            name,
        });
    }
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(keys)
}

/// What an unsealed Secret holds, apart from server-side fields and our integrity annotation.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretContent {
    /// Secret type.
    pub type_: Option<String>,
    /// Values, decoded.
    pub data: BTreeMap<String, String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations except ours (integrity).
    pub annotations: BTreeMap<String, String>,
    /// Owner references.
    pub owners: Vec<OwnerReference>,
}

/// An unsealed Secret as recorded before and after a switch of controllers.
#[derive(Debug, Clone)]
pub struct SecretState {
    /// Secret UID.
    pub uid: String,
    /// Secret resourceVersion (changes with every write).
    pub resource_version: String,
    /// Our `sealed-secrets-rs.io/integrity` annotation, if present.
    pub integrity: Option<String>,
    pub content: SecretContent,
}

impl SecretState {
    /// The state of `secret`.
    pub fn of(secret: &Secret) -> SecretState {
        SecretState {
            uid: secret.metadata.uid.clone().unwrap_or_default(),
            resource_version: secret.metadata.resource_version.clone().unwrap_or_default(),
            integrity: integrity(secret).cloned(),
            content: SecretContent {
                type_: secret.type_.clone(),
                data: string_data(secret),
                labels: secret.metadata.labels.clone().unwrap_or_default(),
                annotations: user_annotations(secret).unwrap_or_default(),
                owners: secret.metadata.owner_references.clone().unwrap_or_default(),
            },
        }
    }
}

/// Waits until Secret `name` satisfies `check`; its state.
pub async fn wait_secret_state<F>(
    ctx: &TestContext,
    name: &str,
    what: &str,
    check: F,
) -> anyhow::Result<SecretState>
where
    F: Fn(&SecretState) -> bool,
{
    let secret = ctx
        .secret(name)
        .wait(what, |s| Ok(check(&SecretState::of(s))))
        .await?;
    Ok(SecretState::of(&secret))
}

/// Checks that an unsealed Secret is what `case` (sealed into `sealed`) describes: the values, the template's
/// type, labels and annotations, and one controller owner reference to the SealedSecret.
pub fn check_unsealed(
    case: &Case,
    sealed: &SealedSecret,
    state: &SecretState,
) -> anyhow::Result<()> {
    let c = &state.content;
    ensure!(
        c.data == case.data,
        "{}: data {:?}",
        case.name,
        c.data.keys()
    );
    ensure!(
        c.type_.as_deref() == Some(case.type_.unwrap_or("Opaque")),
        "{}: type {:?}",
        case.name,
        c.type_
    );
    let template = &sealed.spec.template.metadata;
    ensure!(
        c.labels == template.labels.clone().unwrap_or_default() && c.labels == case.labels,
        "{}: labels {:?}",
        case.name,
        c.labels
    );
    let mut want_annotations = template.annotations.clone().unwrap_or_default();
    want_annotations.remove(INTEGRITY_ANNOTATION);
    ensure!(
        c.annotations == want_annotations
            && case
                .annotations
                .iter()
                .all(|(k, v)| c.annotations.get(k) == Some(v)),
        "{}: annotations {:?}",
        case.name,
        c.annotations
    );
    ensure!(
        c.owners.len() == 1
            && c.owners[0].kind == "SealedSecret"
            && c.owners[0].name == case.name
            && Some(&c.owners[0].uid) == sealed.metadata.uid.as_ref()
            && c.owners[0].controller == Some(true),
        "{}: owner references {:?}",
        case.name,
        c.owners
    );
    Ok(())
}

/// Waits until SealedSecret `name` is `Synced=True` for its current generation, as written by Bitnami's
/// controller (no `Ready` condition) or, with `by_ours`, by ours (`Ready=True` too).
pub async fn wait_synced(
    ctx: &TestContext,
    name: &str,
    by_ours: bool,
) -> anyhow::Result<SealedSecret> {
    let what = if by_ours {
        "Synced=True and Ready=True for its generation (written by ours)"
    } else {
        "Synced=True for its generation"
    };
    ctx.sealed_secret(name)
        .wait(what, |ss| {
            let status = ss.status.as_ref();
            let observed = status.and_then(|s| s.observed_generation) == ss.metadata.generation;
            let is_true = |t: &str| {
                status
                    .and_then(|s| s.conditions.as_ref())
                    .into_iter()
                    .flatten()
                    .any(|c| c.type_ == t && c.status == "True")
            };
            Ok(observed && is_true("Synced") && (!by_ours || is_true("Ready")))
        })
        .await
}

/// The current time as `--key-cutoff-time` wants it (RFC 1123 with a numeric zone, what `date -R` prints).
pub async fn now_rfc1123z() -> anyhow::Result<String> {
    let out = sealed_secrets_test_support::process::run_to_completion(
        std::path::Path::new("date"),
        &["-R"],
        None,
    )
    .await?;
    Ok(out.trim().to_owned())
}

/// Sleeps past the second of the latest key's certificate NotBefore, so that a key generated next sorts
/// strictly after it on both controllers (NotBefore has second precision; ties are broken differently).
pub async fn next_second() {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
}

/// `sealed` as a user keeps it in Git (no server fields, no status), as JSON.
pub fn as_committed(sealed: &SealedSecret) -> anyhow::Result<String> {
    let name = sealed.metadata.name.clone().unwrap_or_default();
    let ns = sealed.metadata.namespace.clone().unwrap_or_default();
    Ok(serde_json::to_string(&moved(sealed, &ns, &name))?)
}

/// Runs our kubeseal on `stdin` with the controller behind the service proxy (`--re-encrypt`, `--validate`).
pub async fn our_kubeseal_cluster(
    ctx: &TestContext,
    args: &[&str],
    stdin: &str,
) -> anyhow::Result<String> {
    Kubeseal::Ours
        .run_ok(ctx.cluster, &against_cluster(ctx, args), stdin)
        .await
}

/// Checks that every key Secret has the format both controllers write and read: generateName
/// `sealed-secrets-key` (5 random characters appended), type `kubernetes.io/tls`, label value `active`.
pub fn check_key_format(keys: &[KeySecret]) -> anyhow::Result<()> {
    for k in keys {
        ensure!(
            k.name.len() == "sealed-secrets-key".len() + 5
                && k.name.starts_with("sealed-secrets-key")
                && k.type_.as_deref() == Some("kubernetes.io/tls")
                && k.label_value == "active",
            "key Secret format: {k:?}"
        );
    }
    Ok(())
}
