//! Bitnami's reference controller (`bitnami-controller` v0.36.6 from the test-binary cache).
//!
//! Bitnami's controller only supports in-cluster configuration, so it runs through `scripts/in-cluster-exec.sh`:
//! a private mount namespace with the identity's `token`, `ca.crt` and `namespace` mounted at
//! `/var/run/secrets/kubernetes.io/serviceaccount`, and `KUBERNETES_SERVICE_HOST/PORT` pointing at the API server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::ClusterInfo;
use crate::context::TestContext;
use crate::identity::ServiceAccountIdentity;
use crate::manifests;
use crate::process::{ManagedProcess, ProcessSpec};
use crate::proxy::{self, CONTROLLER_PORT_NAME, CONTROLLER_SERVICE};

/// Time for the controller to generate its first 4096-bit key and answer `/healthz`.
pub const CONTROLLER_START_TIMEOUT: Duration = Duration::from_secs(90);

/// `program args...` run with in-cluster configuration for `identity` (see the module docs).
pub fn in_cluster_spec(
    cluster: &ClusterInfo,
    identity: &ServiceAccountIdentity,
    name: &str,
    program: PathBuf,
    args: Vec<String>,
) -> ProcessSpec {
    let (exec, exec_args) = identity.in_cluster_command(cluster, &program);
    let mut spec = ProcessSpec::new(name, exec).args(exec_args).args(args);
    for (k, v) in ServiceAccountIdentity::in_cluster_env(cluster) {
        spec = spec.env(k, v);
    }
    spec
}

/// A Bitnami controller running under a restricted identity, reachable through the service proxy.
pub struct BitnamiController {
    /// The process (stopped on drop; logs printed for failing tests).
    pub process: ManagedProcess,
    /// Its main HTTP address (veth host address).
    pub listen: SocketAddr,
    /// Its metrics address.
    pub metrics: SocketAddr,
    /// Namespace of its Service and keys (the identity's `pod_namespace`).
    pub namespace: String,
}

impl BitnamiController {
    /// Starts `bitnami-controller` for `identity` (keys in `identity.pod_namespace`, which is also the only
    /// namespace it watches: `--all-namespaces=false` keeps concurrent tests apart) once the SealedSecret CRD
    /// is Established, exposes it as Service `sealed-secrets-controller` port `http` in that namespace
    /// ([`proxy::expose_controller`]) and waits until `/healthz` answers through the service proxy.
    /// `extra_args` are appended to the controller's flags.
    pub async fn start(
        ctx: &TestContext,
        identity: &ServiceAccountIdentity,
        extra_args: &[&str],
    ) -> anyhow::Result<Self> {
        let cluster = ctx.cluster;
        manifests::ensure_crd(cluster, &ctx.client).await?;
        let listen = proxy::free_backend_addr(cluster)?;
        let metrics = proxy::free_backend_addr(cluster)?;
        let mut args = vec![
            format!("--listen-addr={listen}"),
            format!("--listen-metrics-addr={metrics}"),
            "--key-renew-period=0".to_owned(),
            "--all-namespaces=false".to_owned(),
        ];
        args.extend(extra_args.iter().map(|s| (*s).to_owned()));
        let spec = in_cluster_spec(
            cluster,
            identity,
            "bitnami-controller",
            cluster.bin("bitnami-controller"),
            args,
        );
        let mut process = ManagedProcess::spawn(cluster, spec)?;
        let namespace = identity.pod_namespace.clone();
        proxy::expose_controller(&ctx.client, &namespace, listen).await?;
        let health = proxy::wait_for_proxy_get(
            &ctx.client,
            &namespace,
            CONTROLLER_SERVICE,
            CONTROLLER_PORT_NAME,
            "/healthz",
            CONTROLLER_START_TIMEOUT,
        )
        .await;
        if let Err(e) = health {
            process.ensure_running()?;
            return Err(e.context(format!(
                "bitnami-controller not healthy; {}",
                process.log_tails()
            )));
        }
        Ok(Self {
            process,
            listen,
            metrics,
            namespace,
        })
    }
}
