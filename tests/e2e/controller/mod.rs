//! End-to-end tests of our controller (`sealed-secrets-controller`), each against its own process running
//! under the controller's ServiceAccount token, bound only by `controller-manifests/rbac.yaml`.
//!
//! Every upstream integration check of the controller is a test here, plus the fixes and
//! additions: scope-annotation changes re-reconcile, hand-edited Secrets are restored, keys added at runtime
//! are used without a restart, a malformed key Secret is skipped, SIGUSR1 renews, and the status satisfies
//! Argo CD's and kstatus' health rules. The "controller at scale" tests: leader election and failover between
//! replicas (`ha`), zero-work restarts, repairs and SealedSecrets without a key hint (`restart`).

mod api;
mod ha;
mod interop;
mod keys;
mod ownership;
mod reconcile;
mod restart;
mod scopes;
mod security;
