//! The manifests in `controller-manifests/`: the SealedSecret CRD, the controller's ServiceAccount and RBAC.
//!
//! Cluster-wide objects are applied once per test process (server-side apply, so concurrent test processes
//! sharing a control plane don't conflict).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client};
use tokio::sync::OnceCell;

use crate::cluster::{ClusterInfo, repo_root};
use crate::kubectl::Kubectl;

pub use sealed_secrets::names::CRD_NAME;

/// Path of a file in `controller-manifests/`.
pub fn manifest_path(file: &str) -> PathBuf {
    repo_root().join("controller-manifests").join(file)
}

/// Reads a file from `controller-manifests/`.
pub fn read_manifest(file: &str) -> anyhow::Result<String> {
    let path = manifest_path(file);
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// The CRD to install: `controller-manifests/crd.yaml` when it exists, else [`FALLBACK_CRD`].
pub fn crd_yaml() -> anyhow::Result<String> {
    if manifest_path("crd.yaml").exists() {
        read_manifest("crd.yaml")
    } else {
        Ok(FALLBACK_CRD.to_owned())
    }
}

/// Applies the SealedSecret CRD with kubectl (once per process) and waits until it is Established.
pub async fn ensure_crd(cluster: &ClusterInfo, client: &Client) -> anyhow::Result<()> {
    static APPLIED: OnceCell<()> = OnceCell::const_new();
    APPLIED
        .get_or_try_init(|| async {
            Kubectl::new(cluster, &cluster.kubeconfig)
                .apply(&crd_yaml()?)
                .await
                .map(|_| ())
        })
        .await?;
    wait_crd_established(client, Duration::from_secs(30)).await
}

/// Waits until the SealedSecret CRD has the `Established` condition.
pub async fn wait_crd_established(client: &Client, timeout: Duration) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    tokio::time::timeout(
        timeout,
        await_condition(crds, CRD_NAME, conditions::is_crd_established()),
    )
    .await
    .with_context(|| format!("CRD {CRD_NAME} not Established after {timeout:?}"))?
    .with_context(|| format!("watching CRD {CRD_NAME}"))?;
    Ok(())
}

/// Applies `service-account.yaml` and `rbac.yaml` from `controller-manifests/` (once per process).
pub async fn ensure_controller_rbac(cluster: &ClusterInfo) -> anyhow::Result<()> {
    static APPLIED: OnceCell<()> = OnceCell::const_new();
    APPLIED
        .get_or_try_init(|| async {
            let kubectl = Kubectl::new(cluster, &cluster.kubeconfig);
            kubectl
                .apply(&read_manifest("service-account.yaml")?)
                .await?;
            kubectl.apply(&read_manifest("rbac.yaml")?).await?;
            anyhow::Ok(())
        })
        .await?;
    Ok(())
}

/// A stand-in SealedSecret CRD (group, names, version, status subresource and the essential schema of
/// Bitnami's), used only until `controller-manifests/crd.yaml` exists. Never installed by the shipped manifests.
pub const FALLBACK_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: sealedsecrets.bitnami.com
spec:
  group: bitnami.com
  names:
    kind: SealedSecret
    listKind: SealedSecretList
    plural: sealedsecrets
    singular: sealedsecret
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        required: [spec]
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            required: [encryptedData]
            properties:
              data: {type: string, format: byte}
              encryptedData:
                type: object
                additionalProperties: {type: string}
                x-kubernetes-preserve-unknown-fields: true
              template:
                type: object
                properties:
                  data:
                    type: object
                    nullable: true
                    additionalProperties: {type: string}
                  immutable: {type: boolean}
                  type: {type: string}
                  metadata:
                    type: object
                    nullable: true
                    x-kubernetes-preserve-unknown-fields: true
                    properties:
                      annotations: {type: object, additionalProperties: {type: string}}
                      labels: {type: object, additionalProperties: {type: string}}
                      finalizers: {type: array, items: {type: string}}
                      name: {type: string}
                      namespace: {type: string}
          status:
            type: object
            properties:
              observedGeneration: {type: integer, format: int64}
              conditions:
                type: array
                items:
                  type: object
                  required: [status, type]
                  properties:
                    lastTransitionTime: {type: string, format: date-time}
                    lastUpdateTime: {type: string, format: date-time}
                    message: {type: string}
                    reason: {type: string}
                    status: {type: string}
                    type: {type: string}
"#;

/// The SealedSecret API resource (`bitnami.com/v1alpha1`, plural `sealedsecrets`) for dynamic clients.
pub fn sealed_secret_resource() -> kube::discovery::ApiResource {
    let gvk = kube::api::GroupVersionKind::gvk("bitnami.com", "v1alpha1", "SealedSecret");
    kube::discovery::ApiResource::from_gvk_with_plural(&gvk, "sealedsecrets")
}

/// Dynamic API for SealedSecrets in `namespace`, or in all namespaces when `None`.
pub fn sealed_secrets_api(
    client: &Client,
    namespace: Option<&str>,
) -> Api<kube::api::DynamicObject> {
    let ar = sealed_secret_resource();
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}
