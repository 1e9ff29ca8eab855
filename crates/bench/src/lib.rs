//! Benchmarks of sealed-secrets-rs, one binary per question (`make bench` runs them all):
//!
//! - `kubeseal-vs-bitnami` (`make bench-kubeseal`): our kubeseal next to Bitnami's v0.36 kubeseal, whole
//!   processes sealing offline with `--cert`: one Secret, and 1,000 Secrets as one stream and as 1,000 runs.
//! - `controller-at-scale` (`make bench-controller`): our controller next to Bitnami's v0.36 controller on one
//!   local control plane (from `sealed-secrets-test-support`), 1,000 SealedSecrets and 12 keys: time until
//!   everything is Synced on a cold start and a restart, RSA operations, memory, CPU and API requests.
//!
//! The format library's own throughput per crypto backend is `cargo bench -p sealed-secrets --bench crypto`
//! (`make bench-library`). Each binary prints its report and writes it to `target/bench/<name>.txt`; none fails
//! on the numbers: results and targets are compared in BENCHMARKS.md.
//!
//! This crate owns the measuring (wall time, peak and steady memory, CPU time, from `/proc` and `getrusage`) and
//! the reports; it must not be a dependency of any shipped crate.

pub mod machine;
pub mod measure;
pub mod report;
