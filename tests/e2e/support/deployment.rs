//! The shipped manifests installed on the real node (`kubectl apply -k` of an overlay under `tests/`), and what
//! the node tests read from the running Pods: readiness, the Lease, the HTTP API through the Pod and Service
//! proxies, container processes on the host, memory, restarts, logs.
//!
//! There is one installation per cluster (kube-system, the names the manifests ship), so an [`Installation`]
//! holds a process-wide lock: node tests run one at a time, each starting from [`Installation::apply`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::api::{ListParams, LogParams};
use sealed_secrets::SealedSecret;
use sealed_secrets_test_support::cluster::repo_root;
use sealed_secrets_test_support::node::{NodeInfo, image_archive};
use sealed_secrets_test_support::wait::wait_for;
use sealed_secrets_test_support::{TestContext, proxy};
use tokio::sync::{Mutex, MutexGuard};

use super::health::synced_is;
use super::helm;
use super::kubeseal::Kubeseal;
use super::sealed::{SecretFixture, string_data};

/// Where the manifests install the controller.
pub const NAMESPACE: &str = "kube-system";
/// The Deployment, Service, Lease and PodDisruptionBudget name.
pub const NAME: &str = "sealed-secrets-controller";
/// The Pods' label selector (the shipped manifests).
pub const SELECTOR: &str = "name=sealed-secrets-controller";
/// The Pods' label selector when the chart installs release `sealed-secrets` (as Bitnami's chart selects them).
pub const HELM_SELECTOR: &str =
    "app.kubernetes.io/name=sealed-secrets,app.kubernetes.io/instance=sealed-secrets";
/// The overlay the node tests install: the shipped manifests, `minReadySeconds: 5`.
pub const OVERLAY: &str = "tests/node-overlay";
/// The same with one replica and `--leader-elect=false`.
pub const SINGLE_REPLICA_OVERLAY: &str = "tests/node-overlay-single";
/// How long a rollout may take on the test node.
pub const ROLLOUT_TIMEOUT: Duration = Duration::from_secs(180);

static INSTALLATION: Mutex<()> = Mutex::const_new(());

/// The controller installed on the node for one test.
pub struct Installation<'a> {
    /// The test.
    pub ctx: &'a TestContext,
    /// The node.
    pub node: NodeInfo,
    /// Pods in kube-system.
    pub pods: Api<Pod>,
    /// The controller's Deployment.
    pub deployments: Api<Deployment>,
    /// The label selector of the controller's Pods.
    pub selector: &'static str,
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl<'a> Installation<'a> {
    /// Waits for the other node tests, imports the image, `kubectl apply -k overlay`, and waits until the
    /// Deployment has rolled out `replicas` Ready Pods.
    pub async fn apply(
        ctx: &'a TestContext,
        overlay: &str,
        replicas: usize,
    ) -> anyhow::Result<Self> {
        let inst = Self::prepare(ctx, SELECTOR, &[image_archive()?]).await?;
        helm::uninstall_leftovers(ctx).await?;
        inst.apply_overlay(overlay).await?;
        inst.wait_rolled_out(replicas).await?;
        Ok(inst)
    }

    /// Waits for the other node tests, removes any earlier installation ([`remove`]) and imports the image, but
    /// installs nothing: for a test whose GitOps agent applies the manifests (the same overlay) itself.
    pub async fn imported(ctx: &'a TestContext) -> anyhow::Result<Self> {
        let inst = Self::prepare(ctx, SELECTOR, &[image_archive()?]).await?;
        remove(ctx).await?;
        Ok(inst)
    }

    /// Waits for the other node tests, imports `images`, and removes what the shipped manifests installed
    /// (all but the CRD: a Helm release cannot take over objects it did not create), so that the test can install
    /// with Helm ([`helm::Helm`]); its Pods are those of release `sealed-secrets`.
    pub async fn for_helm(ctx: &'a TestContext, images: &[PathBuf]) -> anyhow::Result<Self> {
        let inst = Self::prepare(ctx, HELM_SELECTOR, images).await?;
        helm::uninstall_leftovers(ctx).await?;
        let rendered = ctx
            .kubectl()
            .run(
                &["kustomize", &repo_root().join(OVERLAY).to_string_lossy()],
                None,
            )
            .await?;
        let without_crd: Vec<&str> = rendered
            .split("\n---\n")
            .filter(|doc| !doc.contains("kind: CustomResourceDefinition"))
            .collect();
        ctx.kubectl()
            .run(
                &["delete", "--ignore-not-found", "--wait=true", "-f", "-"],
                Some(&without_crd.join("\n---\n")),
            )
            .await
            .context("removing the kustomize installation")?;
        wait_for(
            "the kustomize-installed Pods to be gone",
            ROLLOUT_TIMEOUT,
            || async {
                let left = inst
                    .pods
                    .list(&ListParams::default().labels(SELECTOR))
                    .await?;
                Ok(left.items.is_empty().then_some(()))
            },
        )
        .await?;
        Ok(inst)
    }

    async fn prepare(
        ctx: &'a TestContext,
        selector: &'static str,
        images: &[PathBuf],
    ) -> anyhow::Result<Self> {
        let guard = INSTALLATION.lock().await;
        let node = NodeInfo::of(ctx.cluster)?.ok_or_else(|| {
            anyhow!(
                "the control plane has no node: the node tests run under `make test-node` (cluster.sh up --node)"
            )
        })?;
        for image in images {
            node.import(image).await?;
        }
        Ok(Installation {
            ctx,
            node,
            pods: Api::namespaced(ctx.client.clone(), NAMESPACE),
            deployments: Api::namespaced(ctx.client.clone(), NAMESPACE),
            selector,
            _one_at_a_time: guard,
        })
    }

    /// `kubectl apply -k overlay` (a directory under the repository root).
    pub async fn apply_overlay(&self, overlay: &str) -> anyhow::Result<()> {
        let dir = repo_root().join(overlay);
        self.ctx
            .kubectl()
            .run(&["apply", "-k", &dir.to_string_lossy()], None)
            .await
            .map(drop)
            .with_context(|| format!("kubectl apply -k {overlay}"))
    }

    /// The controller's Pods that are not terminating.
    pub async fn pods(&self) -> anyhow::Result<Vec<Pod>> {
        let list = self
            .pods
            .list(&ListParams::default().labels(self.selector))
            .await?;
        Ok(list
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect())
    }

    /// Waits until the Deployment is rolled out: its current generation observed, `replicas` updated, ready and
    /// available Pods, and no other Pod (old or terminating) left. Fails with every Pod's state and logs.
    pub async fn wait_rolled_out(&self, replicas: usize) -> anyhow::Result<Vec<Pod>> {
        self.wait_rolled_out_within(replicas, ROLLOUT_TIMEOUT).await
    }

    /// [`Installation::wait_rolled_out`] with another timeout.
    pub async fn wait_rolled_out_within(
        &self,
        replicas: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Pod>> {
        let result = wait_for("the controller Deployment to roll out", timeout, || async {
            let d = self.deployments.get(NAME).await?;
            let status = d.status.clone().unwrap_or_default();
            let want = i32::try_from(replicas)?;
            let all = self
                .pods
                .list(&ListParams::default().labels(self.selector))
                .await?
                .items;
            let done = status.observed_generation >= d.metadata.generation
                && status.updated_replicas == Some(want)
                && status.ready_replicas == Some(want)
                && status.available_replicas == Some(want)
                && status.replicas == Some(want)
                && all.len() == replicas
                && all.iter().all(is_ready);
            if done {
                Ok(Some(all))
            } else {
                Err(anyhow!("deployment status {status:?}; {} Pods", all.len()))
            }
        })
        .await;
        match result {
            Ok(pods) => Ok(pods),
            Err(e) => Err(e.context(self.diagnose().await)),
        }
    }

    /// Every controller Pod's phase, conditions and container states, and the last lines of its logs (and of
    /// its previous container, after a restart): for failure messages.
    pub async fn diagnose(&self) -> String {
        let mut out = String::from("controller Pods:\n");
        let pods = match self
            .pods
            .list(&ListParams::default().labels(self.selector))
            .await
        {
            Ok(l) => l.items,
            Err(e) => return format!("could not list the controller Pods: {e}"),
        };
        for pod in pods {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let status = pod.status.clone().unwrap_or_default();
            out.push_str(&format!(
                "--- {name}: phase {:?}, deleting {}, conditions {:?}, containers {:?}\n",
                status.phase,
                pod.metadata.deletion_timestamp.is_some(),
                status
                    .conditions
                    .unwrap_or_default()
                    .iter()
                    .map(|c| (&c.type_, &c.status))
                    .collect::<Vec<_>>(),
                status
                    .container_statuses
                    .unwrap_or_default()
                    .iter()
                    .map(|c| (c.restart_count, &c.state))
                    .collect::<Vec<_>>(),
            ));
            for previous in [false, true] {
                let params = LogParams {
                    previous,
                    tail_lines: Some(40),
                    ..Default::default()
                };
                if let Ok(log) = self.pods.logs(&name, &params).await {
                    let which = if previous {
                        "previous container"
                    } else {
                        "container"
                    };
                    out.push_str(&format!("{which} log of {name}:\n{log}\n"));
                }
            }
        }
        out
    }

    /// The Lease holder (the leader's Pod name), if any.
    pub async fn leader(&self) -> anyhow::Result<Option<String>> {
        let leases: Api<Lease> = Api::namespaced(self.ctx.client.clone(), NAMESPACE);
        Ok(leases
            .get_opt(NAME)
            .await?
            .and_then(|l| l.spec?.holder_identity)
            .filter(|h| !h.is_empty()))
    }

    /// GET `path` on one Pod through the API server's Pod proxy: status code and body.
    pub async fn pod_get(&self, pod: &str, path: &str) -> anyhow::Result<(u16, String)> {
        get(
            self.ctx,
            &format!("/api/v1/namespaces/{NAMESPACE}/pods/{pod}:8080/proxy{path}"),
        )
        .await
    }

    /// GET `path` through the controller Service (the API server's service proxy picks a ready endpoint).
    pub async fn service_get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        get(self.ctx, &proxy::proxy_path(NAMESPACE, NAME, "http", path)).await
    }

    /// Fails, with the Pods' logs, if a controller container has restarted.
    pub async fn assert_no_restarts(&self) -> anyhow::Result<()> {
        for pod in self.pods().await? {
            let restarts: i32 = pod
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .map(|cs| cs.iter().map(|c| c.restart_count).sum())
                .unwrap_or(0);
            if restarts != 0 {
                bail!(
                    "Pod {} restarted its container {restarts} time(s)\n{}",
                    pod.metadata.name.unwrap_or_default(),
                    self.diagnose().await
                );
            }
        }
        Ok(())
    }

    /// The host PID of each running controller container, by Pod name.
    pub async fn container_pids(&self) -> anyhow::Result<Vec<(String, u32)>> {
        let mut out = Vec::new();
        for pod in self.pods().await? {
            let id = pod
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|cs| cs.first())
                .and_then(|c| c.container_id.clone())
                .context("a controller Pod without a running container")?;
            out.push((
                pod.metadata.name.unwrap_or_default(),
                self.node.container_pid(&id).await?,
            ));
        }
        Ok(out)
    }

    /// The highest memory use any controller container has reached (its cgroup's peak), in bytes.
    pub async fn peak_memory(&self) -> anyhow::Result<u64> {
        let mut peak = 0;
        for (pod, pid) in self.container_pids().await? {
            peak =
                peak.max(cgroup_peak_memory(pid).with_context(|| format!("memory of Pod {pod}"))?);
        }
        Ok(peak)
    }

    /// Names of the current Pods.
    pub async fn pod_names(&self) -> anyhow::Result<BTreeSet<String>> {
        Ok(self
            .pods()
            .await?
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect())
    }

    /// Waits until `pod` no longer exists; how long it took.
    pub async fn wait_pod_gone(&self, pod: &str, timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        wait_for(&format!("Pod {pod} to be gone"), timeout, || async {
            Ok(self.pods.get_opt(pod).await?.is_none().then_some(()))
        })
        .await?;
        Ok(started.elapsed())
    }
}

/// Removes the controller the shipped manifests installed in kube-system, if any: its Deployment (waiting until its
/// Pods are gone) and its key Secrets. What else they installed (CRD, RBAC, Service, ...) stays; a test installing
/// again starts from no running controller and no key.
pub async fn remove(ctx: &TestContext) -> anyhow::Result<()> {
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), NAMESPACE);
    if deployments.get_opt(NAME).await?.is_some() {
        deployments
            .delete(NAME, &kube::api::DeleteParams::foreground())
            .await?;
    }
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), NAMESPACE);
    wait_for(
        "the earlier controller Deployment and its Pods to be gone",
        ROLLOUT_TIMEOUT,
        || async {
            let left = pods.list(&ListParams::default().labels(SELECTOR)).await?;
            let gone = deployments.get_opt(NAME).await?.is_none() && left.items.is_empty();
            Ok(gone.then_some(()))
        },
    )
    .await?;
    let keys: Api<Secret> = Api::namespaced(ctx.client.clone(), NAMESPACE);
    keys.delete_collection(
        &kube::api::DeleteParams::default(),
        &ListParams::default().labels(sealed_secrets::names::KEY_LABEL),
    )
    .await?;
    Ok(())
}

/// Seals a one-item Secret `name` with our kubeseal as the user of `kubeconfig` (the certificate and the sealing go
/// through the API server's service proxy to the controller, as with kubeseal's defaults), applies it with kubectl
/// as users do, and waits until it is Synced; the SealedSecret and its Secret.
pub async fn seal_and_apply(
    ctx: &TestContext,
    kubeconfig: &Path,
    name: &str,
    key: &str,
    value: &str,
) -> anyhow::Result<(SealedSecret, Secret)> {
    let ns = ctx.namespace.as_str();
    let input = serde_json::to_string(
        &SecretFixture::new(name)
            .namespace(ns)
            .data(key, value)
            .build(),
    )?;
    let kubeconfig = kubeconfig.to_string_lossy();
    let sealed = Kubeseal::Ours
        .run_ok(
            ctx.cluster,
            &["--kubeconfig", &kubeconfig, "-o", "yaml"],
            &input,
        )
        .await?;
    ctx.kubectl()
        .run(&["apply", "-n", ns, "-f", "-"], Some(&sealed))
        .await?;
    let ss = ctx
        .sealed_secret(name)
        .wait("Synced=True", synced_is("True"))
        .await?;
    let secret = ctx.secret(name).wait("present", |_| Ok(true)).await?;
    anyhow::ensure!(
        string_data(&secret).get(key).map(String::as_str) == Some(value),
        "Secret {name} does not hold the sealed value"
    );
    Ok((ss, secret))
}

/// The controller Service's endpoint addresses (all, or only the ready ones), from its EndpointSlices.
pub async fn endpoint_ips(client: &kube::Client, ready_only: bool) -> anyhow::Result<Vec<String>> {
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), NAMESPACE);
    let list = slices
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={NAME}")))
        .await?;
    Ok(list
        .items
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .filter(|e| !ready_only || e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
        .flat_map(|e| e.addresses.iter().cloned())
        .collect())
}

/// Whether a Pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// GET through the API server as admin, without retries: status code and body (an error status is an answer,
/// not an error).
async fn get(ctx: &TestContext, uri: &str) -> anyhow::Result<(u16, String)> {
    let req = http::Request::get(uri)
        .body(Vec::new())
        .context("building the request")?;
    match ctx.client_without_retries().await?.request_text(req).await {
        Ok(body) => Ok((200, body)),
        Err(kube::Error::Api(e)) => Ok((e.code, e.message)),
        Err(e) => Err(anyhow!(e).context(format!("GET {uri}"))),
    }
}

/// The peak memory of the cgroup a process is in: `memory.max_usage_in_bytes` (cgroup v1) or `memory.peak` (v2).
fn cgroup_peak_memory(pid: u32) -> anyhow::Result<u64> {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))?;
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let file = if controllers.split(',').any(|c| c == "memory") {
            format!("/sys/fs/cgroup/memory{path}/memory.max_usage_in_bytes")
        } else if controllers.is_empty()
            && std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
        {
            format!("/sys/fs/cgroup{path}/memory.peak")
        } else {
            continue;
        };
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
        return text
            .trim()
            .parse()
            .with_context(|| format!("parsing {file}"));
    }
    bail!("process {pid} is in no memory cgroup")
}

/// One field of `/proc/PID/status` (`Uid`, `CapEff`, `NoNewPrivs`, `Seccomp`), as written there.
pub fn proc_status_field(pid: u32, field: &str) -> anyhow::Result<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_owned())
        })
        .ok_or_else(|| anyhow!("no {field} in /proc/{pid}/status"))
}

/// The mount options of a process's root filesystem (`ro,...` when read-only).
pub fn root_mount_options(pid: u32) -> anyhow::Result<String> {
    let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))?;
    mountinfo
        .lines()
        .rev()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            (fields.get(4) == Some(&"/")).then(|| fields.get(5).map(|o| (*o).to_owned()))?
        })
        .next()
        .ok_or_else(|| anyhow!("no root mount in /proc/{pid}/mountinfo"))
}
