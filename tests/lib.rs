//! End-to-end tests for sealed-secrets-rs live in `e2e/` (one test binary, `cargo test -p sealed-secrets-e2e`);
//! they need a control plane: run them with `make test-e2e`. This library is intentionally empty.
