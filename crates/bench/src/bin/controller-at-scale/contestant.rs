//! The controllers under test: ours (kubeconfig of its ServiceAccount) and Bitnami's (in-cluster configuration
//! only), each started as a process of the test-support crate with its logs in the control plane's log dir.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kube::Client;
use sealed_secrets_test_support::bitnami::in_cluster_spec;
use sealed_secrets_test_support::proxy::free_port;
use sealed_secrets_test_support::{
    ClusterInfo, ManagedProcess, ProcessSpec, ServiceAccountIdentity,
};

use crate::workload::SERVICE_ACCOUNT;

/// Which implementation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ours,
    Bitnami,
}

/// One controller under test, in its own namespace.
pub struct Contestant {
    /// `ours`, `ours-isolated`, `bitnami`, `bitnami-qps50`.
    pub label: String,
    pub kind: Kind,
    pub binary: PathBuf,
    pub namespace: String,
    pub extra_args: Vec<String>,
    /// Runs alone on CPU 0, everything else on the other CPUs.
    pub isolated: bool,
}

/// A started controller.
pub struct Running {
    pub process: ManagedProcess,
    pub metrics: SocketAddr,
}

impl Contestant {
    /// Its ServiceAccount's user name, as the audit log records it.
    pub fn user(&self) -> String {
        format!("system:serviceaccount:{}:{SERVICE_ACCOUNT}", self.namespace)
    }

    /// Starts it with a fresh token of its ServiceAccount, default flags except `--all-namespaces=false` (it
    /// watches its own namespace), `--key-renew-period=0` and the listen addresses.
    pub async fn start(&self, cluster: &ClusterInfo, admin: &Client) -> anyhow::Result<Running> {
        let identity =
            ServiceAccountIdentity::create(cluster, admin, &self.namespace, SERVICE_ACCOUNT)
                .await?;
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let metrics = free_port(loopback)?;
        let mut args = vec![
            format!("--listen-addr={}", free_port(loopback)?),
            format!("--listen-metrics-addr={metrics}"),
            "--all-namespaces=false".to_owned(),
            "--key-renew-period=0".to_owned(),
        ];
        args.extend(self.extra_args.iter().cloned());
        let spec = match self.kind {
            Kind::Ours => {
                args.push(format!("--kubeconfig={}", identity.kubeconfig.display()));
                let spec = if self.isolated {
                    ProcessSpec::new(&self.label, "taskset")
                        .args(["-c", "0"])
                        .arg(&self.binary)
                } else {
                    ProcessSpec::new(&self.label, &self.binary)
                };
                spec.args(args).env("POD_NAMESPACE", &self.namespace)
            }
            Kind::Bitnami => {
                in_cluster_spec(cluster, &identity, &self.label, self.binary.clone(), args)
            }
        };
        let process = ManagedProcess::spawn(cluster, spec)
            .with_context(|| format!("starting {}", self.label))?
            .quiet();
        Ok(Running { process, metrics })
    }
}

/// Occurrences of `needle` in a (log) file.
pub fn count_in_file(path: &Path, needle: &str) -> usize {
    std::fs::read(path).map_or(0, |b| {
        b.windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count()
    })
}
