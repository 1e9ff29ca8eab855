//! One test's view of the control plane: its own namespace, an admin client, and shortcuts to the helpers.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use sealed_secrets::SealedSecret;

use crate::cluster::{self, ClusterInfo};
use crate::kubectl::Kubectl;
use crate::unique::{dns_label, unique_name};
use crate::wait::{self, Awaited};

/// Label on every test namespace; its value is the test's name.
pub const NAMESPACE_LABEL: &str = "sealed-secrets-rs/e2e";

/// A test's namespace and admin client on the run's control plane.
///
/// The namespace is left in place when the test ends, so a failed test's objects can be inspected on a
/// `make cluster-up` cluster; the whole control plane is thrown away at the end of `make test-e2e`.
pub struct TestContext {
    /// The control plane.
    pub cluster: &'static ClusterInfo,
    /// Admin (`system:masters`) client, default namespace = [`TestContext::namespace`].
    pub client: Client,
    /// This test's namespace, `e2e-<name>-<random>`.
    pub namespace: String,
    /// The test's name as given to [`TestContext::new`].
    pub name: String,
}

impl TestContext {
    /// Creates a fresh namespace for the test named `name` (its lower-case letters and digits are kept, the
    /// rest become `-`; long names are shortened).
    ///
    /// Returns `Ok(None)` after a loud message when there is no control plane and `SSRS_REQUIRE_CLUSTER` is
    /// not set; panics when it is set (see [`cluster::cluster`]).
    pub async fn new(name: &str) -> anyhow::Result<Option<Self>> {
        let Some(cluster) = cluster::cluster() else {
            return Ok(None);
        };
        let namespace = unique_name(&format!("e2e-{name}"));
        let client = client_from_kubeconfig(&cluster.kubeconfig, Some(&namespace)).await?;
        let ctx = Self {
            cluster,
            client,
            namespace: namespace.clone(),
            name: name.to_owned(),
        };
        ctx.create_namespace(&namespace).await?;
        Ok(Some(ctx))
    }

    /// Creates one more namespace for this test (`e2e-<name>-<random>`, e.g. a second namespace to move
    /// objects to); its name.
    pub async fn another_namespace(&self) -> anyhow::Result<String> {
        let namespace = unique_name(&format!("e2e-{}", self.name));
        self.create_namespace(&namespace).await?;
        Ok(namespace)
    }

    async fn create_namespace(&self, namespace: &str) -> anyhow::Result<()> {
        let label = dns_label(&self.name, 63);
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(namespace.to_owned()),
                labels: Some(BTreeMap::from([(NAMESPACE_LABEL.to_owned(), label)])),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("creating test namespace {namespace}"))?;
        Ok(())
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

    /// Secret `name` in the test's namespace, to wait for (see [`Awaited`]).
    pub fn secret<'a>(&'a self, name: &'a str) -> Awaited<'a, Secret> {
        Awaited::new(&self.client, &self.namespace, name)
    }

    /// SealedSecret `name` in the test's namespace, to wait for (see [`Awaited`]).
    pub fn sealed_secret<'a>(&'a self, name: &'a str) -> Awaited<'a, SealedSecret> {
        Awaited::new(&self.client, &self.namespace, name)
    }
}

impl TestContext {
    /// An admin client that answers every error at once. kube's client retries 429, 503 and 504 answers by
    /// default, which would hide an eviction the disruption budget refuses or a moment when a Service has no
    /// ready endpoint.
    pub async fn client_without_retries(&self) -> anyhow::Result<Client> {
        let kubeconfig = Kubeconfig::read_from(&self.cluster.kubeconfig)
            .with_context(|| format!("reading kubeconfig {}", self.cluster.kubeconfig.display()))?;
        let mut config =
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
        config.default_namespace = self.namespace.clone();
        config.default_retry = false;
        Client::try_from(config).context("building a Kubernetes client")
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
