//! Restricted identities: a ServiceAccount, a TokenRequest token for it, a kubeconfig holding the token, and
//! the in-cluster files (`token`, `ca.crt`, `namespace`) for programs that only support in-cluster config.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

use crate::cluster::ClusterInfo;
use crate::context::{TestContext, client_from_kubeconfig};
use crate::kubectl::Kubectl;
use crate::manifests;
use crate::unique::unique_name;

/// Namespace of the controller's ServiceAccount in `controller-manifests/`.
pub const CONTROLLER_SA_NAMESPACE: &str = "kube-system";
/// Name of the controller's ServiceAccount in `controller-manifests/`.
pub const CONTROLLER_SA_NAME: &str = "sealed-secrets-controller";
/// Token lifetime requested from the API server.
pub const TOKEN_SECONDS: i64 = 3600;

/// A ServiceAccount's credentials, written to files for processes under test.
#[derive(Debug, Clone)]
pub struct ServiceAccountIdentity {
    /// ServiceAccount namespace.
    pub namespace: String,
    /// ServiceAccount name.
    pub name: String,
    /// The bearer token (TokenRequest, API server audience).
    pub token: String,
    /// Kubeconfig with the token, the API server URL and CA; default namespace = `pod_namespace`.
    pub kubeconfig: PathBuf,
    /// Directory with `token`, `ca.crt`, `namespace` (see `scripts/in-cluster-exec.sh`).
    pub in_cluster_dir: PathBuf,
    /// The namespace the process believes it runs in (`namespace` file, kubeconfig default namespace).
    pub pod_namespace: String,
}

impl ServiceAccountIdentity {
    /// The controller's identity, bound only by `controller-manifests/{service-account,rbac}.yaml`
    /// (applied first), believing it runs in the test's namespace (where Bitnami's controller keeps its keys).
    pub async fn controller(ctx: &TestContext) -> anyhow::Result<Self> {
        manifests::ensure_controller_rbac(ctx.cluster).await?;
        Self::issue(
            ctx.cluster,
            &ctx.client,
            CONTROLLER_SA_NAMESPACE,
            CONTROLLER_SA_NAME,
            &ctx.namespace,
        )
        .await
    }

    /// Creates ServiceAccount `namespace/name` if it does not exist (with no permissions of its own) and
    /// issues a token for it.
    pub async fn create(
        cluster: &ClusterInfo,
        admin: &Client,
        namespace: &str,
        name: &str,
    ) -> anyhow::Result<Self> {
        let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), namespace);
        if sas.get_opt(name).await?.is_none() {
            let sa = ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    ..Default::default()
                },
                ..Default::default()
            };
            sas.create(&PostParams::default(), &sa)
                .await
                .with_context(|| format!("creating ServiceAccount {namespace}/{name}"))?;
        }
        Self::issue(cluster, admin, namespace, name, namespace).await
    }

    /// Issues a TokenRequest token for an existing ServiceAccount and writes the kubeconfig and in-cluster files
    /// under `<cluster dir>/identities/`.
    pub async fn issue(
        cluster: &ClusterInfo,
        admin: &Client,
        namespace: &str,
        name: &str,
        pod_namespace: &str,
    ) -> anyhow::Result<Self> {
        let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), namespace);
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: vec![],
                expiration_seconds: Some(TOKEN_SECONDS),
                ..Default::default()
            },
            ..Default::default()
        };
        let issued = sas
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .with_context(|| format!("TokenRequest for ServiceAccount {namespace}/{name}"))?;
        let token = issued
            .status
            .context("TokenRequest returned no status")?
            .token;

        let dir = cluster
            .dir
            .join("identities")
            .join(unique_name(&format!("{namespace}-{name}")));
        let in_cluster_dir = dir.join("serviceaccount");
        std::fs::create_dir_all(&in_cluster_dir)
            .with_context(|| format!("creating {}", in_cluster_dir.display()))?;
        write(&in_cluster_dir.join("token"), &token)?;
        std::fs::copy(&cluster.ca_file, in_cluster_dir.join("ca.crt")).context("copying ca.crt")?;
        write(&in_cluster_dir.join("namespace"), pod_namespace)?;
        let kubeconfig = dir.join("kubeconfig");
        write(
            &kubeconfig,
            &kubeconfig_json(
                cluster,
                &format!("{namespace}-{name}"),
                &token,
                pod_namespace,
            ),
        )?;
        Ok(Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            token,
            kubeconfig,
            in_cluster_dir,
            pod_namespace: pod_namespace.to_owned(),
        })
    }

    /// A client authenticated as this ServiceAccount.
    pub async fn client(&self) -> anyhow::Result<Client> {
        client_from_kubeconfig(&self.kubeconfig, Some(&self.pod_namespace)).await
    }

    /// kubectl authenticated as this ServiceAccount.
    pub fn kubectl(&self, cluster: &ClusterInfo) -> Kubectl {
        Kubectl::new(cluster, &self.kubeconfig)
    }

    /// The command that runs `program` as a pod of this ServiceAccount would (in-cluster configuration only):
    /// `scripts/in-cluster-exec.sh`, and its arguments up to `program`; `program`'s own arguments follow, and
    /// the environment needs [`Self::in_cluster_env`].
    pub fn in_cluster_command(
        &self,
        cluster: &ClusterInfo,
        program: &Path,
    ) -> (PathBuf, Vec<OsString>) {
        let args = vec![
            self.in_cluster_dir.clone().into_os_string(),
            "--".into(),
            program.as_os_str().to_owned(),
        ];
        (cluster.scripts.join("in-cluster-exec.sh"), args)
    }

    /// `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT` for in-cluster clients of this control plane.
    pub fn in_cluster_env(cluster: &ClusterInfo) -> Vec<(String, String)> {
        vec![
            ("KUBERNETES_SERVICE_HOST".to_owned(), "127.0.0.1".to_owned()),
            (
                "KUBERNETES_SERVICE_PORT".to_owned(),
                cluster.apiserver_port.to_string(),
            ),
        ]
    }
}

/// A kubeconfig (JSON is valid YAML) for `server` with a bearer token.
pub fn kubeconfig_json(cluster: &ClusterInfo, user: &str, token: &str, namespace: &str) -> String {
    let v = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "ssrs", "cluster": {
            "server": cluster.server,
            "certificate-authority": cluster.ca_file,
        }}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "ssrs", "user": user, "namespace": namespace}}],
        "current-context": user,
    });
    v.to_string()
}

fn write(path: &Path, content: &str) -> anyhow::Result<()> {
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))
}

/// Ok if `result` is an HTTP 403 from the API server; an error naming `what` otherwise.
pub fn expect_forbidden<T: std::fmt::Debug>(
    result: Result<T, kube::Error>,
    what: &str,
) -> anyhow::Result<()> {
    match result {
        Err(kube::Error::Api(status)) if status.is_forbidden() => Ok(()),
        Err(e) => Err(anyhow::anyhow!(
            "{what}: expected 403 Forbidden, got error {e}"
        )),
        Ok(v) => Err(anyhow::anyhow!(
            "{what}: expected 403 Forbidden, but it was allowed: {v:?}"
        )),
    }
}
