//! One test's view of the control plane: its own namespace, an admin client, and shortcuts to the helpers.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use crate::cluster::{self, ClusterInfo};
use crate::kubectl::Kubectl;
pub use crate::unique::unique_name;
use crate::wait;

/// A test's namespace and admin client on the run's control plane.
///
/// The namespace is left in place when the test ends, so a failed test's objects can be inspected on a
/// `make cluster-up` cluster; the whole control plane is thrown away at the end of `make test-e2e`.
pub struct TestContext {
    /// The control plane.
    pub cluster: &'static ClusterInfo,
    /// Admin (`system:masters`) client, default namespace = [`TestContext::namespace`].
    pub client: Client,
    /// This test's namespace, `e2e-<prefix>-<random>`.
    pub namespace: String,
}

impl TestContext {
    /// Creates a fresh namespace for the test named `prefix` (lower-case letters, digits, `-`).
    ///
    /// Returns `Ok(None)` after a loud message when there is no control plane and `SSRS_REQUIRE_CLUSTER` is
    /// not set; panics when it is set (see [`cluster::cluster`]).
    pub async fn new(prefix: &str) -> anyhow::Result<Option<Self>> {
        let Some(cluster) = cluster::cluster() else {
            return Ok(None);
        };
        let namespace = unique_name(&format!("e2e-{prefix}"));
        let client = client_from_kubeconfig(&cluster.kubeconfig, Some(&namespace)).await?;
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(namespace.clone()),
                labels: Some(BTreeMap::from([(
                    "sealed-secrets-rs/e2e".to_owned(),
                    prefix.to_owned(),
                )])),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("creating test namespace {namespace}"))?;
        Ok(Some(Self {
            cluster,
            client,
            namespace,
        }))
    }

    /// Typed API for namespaced resources in the test's namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// kubectl with the admin kubeconfig.
    pub fn kubectl(&self) -> Kubectl {
        Kubectl::new(self.cluster, &self.cluster.kubeconfig)
    }

    /// The default timeout for waits in tests ([`wait::DEFAULT_TIMEOUT`]).
    pub fn timeout(&self) -> Duration {
        wait::DEFAULT_TIMEOUT
    }

    /// Waits until Secret `name` exists in the test's namespace (see [`wait::wait_for_secret`]).
    pub async fn wait_for_secret(&self, name: &str, timeout: Duration) -> anyhow::Result<Secret> {
        wait::wait_for_secret(&self.client, &self.namespace, name, timeout).await
    }
}

/// A client for a kubeconfig file, optionally with a different default namespace.
pub async fn client_from_kubeconfig(
    path: &std::path::Path,
    namespace: Option<&str>,
) -> anyhow::Result<Client> {
    let kubeconfig = Kubeconfig::read_from(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .with_context(|| format!("loading kubeconfig {}", path.display()))?;
    if let Some(ns) = namespace {
        config.default_namespace = ns.to_owned();
    }
    Client::try_from(config).context("building a Kubernetes client")
}
