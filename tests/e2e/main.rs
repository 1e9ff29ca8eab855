//! End-to-end tests on a real local control plane (`make test-e2e`; see docs/testing.md).
//!
//! Each module covers one area; every test gets its own namespace from
//! [`sealed_secrets_test_support::TestContext`].

mod controller;
mod interop_matrix;
mod kubeseal;
mod migration;
mod smoke;
