//! End-to-end tests on a real local control plane (`make test-e2e`; see docs/testing.md).
//!
//! Each module covers one area; every test is declared with [`support::e2e_test!`], which gives it its own
//! namespace through [`sealed_secrets_test_support::TestContext`]. What the tests share is in [`support`].

mod controller;
mod gitops;
mod interop_matrix;
mod kubeseal;
mod migration;
mod node;
mod smoke;
mod support;
