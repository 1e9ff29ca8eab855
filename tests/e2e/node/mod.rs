//! The shipped image and manifests as real Pods on a real node: `make test-node` starts the control plane with a
//! node (`scripts/cluster.sh up --node`: kubelet, containerd, runc with seccomp, bridge CNI), builds the image
//! (`make image`), and runs these tests; each imports the image into the node and installs with
//! `kubectl apply -k tests/node-overlay` (the shipped files; only `minReadySeconds` is lowered). They share that one
//! installation in kube-system and run one at a time ([`crate::support::deployment::Installation`]).
//!
//! - [`startup`]: both replicas Ready through their own probes, and a Ready replica always serves the certificate;
//!   kubeseal through the service proxy reaches a real Pod; a SealedSecret unseals, healthy for Argo CD and kstatus.
//! - [`failover`]: deleting the leader Pod hands over at once (the Lease is released on SIGTERM), the replacement
//!   joins as a follower, nothing is rewritten or lost, no second key.
//! - [`rollout`]: a rolling update never leaves the Service without a ready endpoint serving the certificate; the
//!   PodDisruptionBudget refuses to evict the last available replica.
//! - [`hardening`]: non-root, read-only root filesystem, no capabilities, seccomp, enforced by runc; memory peak.
//! - [`single_replica`]: one replica with `--leader-elect=false`.
//! - [`diagnostics`]: a crash-looping Pod's log reaches the failure message.
//! - [`helm`]: the Helm chart: the seed command, upgrade, uninstall and reinstall keep the keys and every Secret;
//!   a values file written for Bitnami's chart; a release moved from Bitnami's chart to ours in place.
//!
//! Every test ends by checking that no controller container has restarted.

mod diagnostics;
mod failover;
mod hardening;
mod helm;
mod rollout;
mod single_replica;
mod startup;
