//! Smoke tests of the harness itself: the control plane, kube-controller-manager, RBAC with restricted
//! identities, the service-proxy path through the run's network namespace, and Bitnami's binaries on top.

mod bitnami;
mod crd;
mod gc;
mod manifests;
mod rbac;
mod service_proxy;
