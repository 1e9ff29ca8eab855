//! Test support for sealed-secrets-rs end-to-end tests: a real local Kubernetes control plane.
//!
//! Owns everything the end-to-end tests and the benchmarks share (the control plane, identities,
//! processes, fixtures); no shipped crate may depend on it.
//!
//! The control plane (etcd, kube-apiserver, kube-controller-manager, a network namespace with a veth pair) is
//! started by `scripts/cluster.sh up`, usually through `make test-e2e`, which exports `SSRS_CLUSTER_DIR`.
//! Each test then calls [`TestContext::new`], which gives it its own namespace and an admin [`kube::Client`]
//! (the e2e tests do that through their `e2e_test!` macro):
//!
//! ```no_run
//! # async fn t() -> anyhow::Result<()> {
//! use sealed_secrets_test_support::TestContext;
//! let Some(ctx) = TestContext::new("my-test").await? else { return Ok(()) }; // loud skip without a cluster
//! let secret = ctx.secret("name").wait("exists", |_| Ok(true)).await?;
//! # Ok(()) }
//! ```
//!
//! Environment:
//! - `SSRS_CLUSTER_DIR`: state dir of a running control plane (`scripts/cluster.sh env` prints it).
//! - `SSRS_REQUIRE_CLUSTER=1` (set by `make test`): a missing control plane is a loud failure, never a skip.
//! - `SSRS_START_CLUSTER=1`: without `SSRS_CLUSTER_DIR`, start a private control plane for this test binary;
//!   it is torn down by a watchdog when the test process exits.
//!
//! Modules: [`cluster`] (finding or starting the control plane), [`context`] (per-test namespace and clients),
//! [`kubectl`], [`manifests`] (CRD and RBAC from `controller-manifests/`), [`identity`] (ServiceAccount tokens,
//! kubeconfigs and in-cluster files), [`process`] (processes with captured logs, one-shot commands, this
//! workspace's binaries built if missing), [`proxy`] (Services backed by local processes, reached through the
//! API server's service proxy; the controller's Service), [`bitnami`] (Bitnami's controller), [`metrics`]
//! (reading `/metrics`), [`node`] (the real node: images, containers), [`http_backend`] (a tiny HTTP server for proxy tests), [`wait`] (polling, waiting for
//! objects) and [`unique`] (names).

pub mod bitnami;
pub mod cluster;
pub mod context;
pub mod http_backend;
pub mod identity;
pub mod kubectl;
pub mod manifests;
pub mod metrics;
pub mod node;
pub mod process;
pub mod proxy;
pub mod unique;
pub mod wait;

pub use cluster::ClusterInfo;
pub use context::TestContext;
pub use identity::ServiceAccountIdentity;
pub use process::{ManagedProcess, ProcessSpec};
pub use wait::{Awaited, DEFAULT_TIMEOUT, POLL_INTERVAL, wait_for};
