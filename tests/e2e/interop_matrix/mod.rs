//! The two-way interop matrix: {our kubeseal, Bitnami's kubeseal v0.36.6} × {our controller, Bitnami's
//! controller v0.36.6} × {strict, namespace-wide, cluster-wide}, on the real local control plane.
//!
//! Each test starts one controller (ours or Bitnami's, 2048-bit key, `/v1/verify` and `/v1/rotate` rate
//! limits raised so that the many requests of one test are not throttled) and loops over both CLIs and
//! all scopes:
//!
//! - [`seal`]: `--fetch-cert` through the service proxy, sealing with `--cert` (the Secret the controller
//!   writes has exactly the input's data, type, labels and annotations), `--validate` (single and
//!   multi-document input, renamed and moved objects) and `--re-encrypt` (scope and template kept, the
//!   result unseals to the same data) give the same results from both CLIs.
//! - [`raw_merge_recovery`]: `--raw` values from both CLIs assembled into SealedSecrets, `--merge-into`
//!   with every creator/merger pair, and `--recovery-unseal` of all of them with the controller's key
//!   backup, by both CLIs.
//! - [`set_unset`]: our `kubeseal set`/`unset`/`edit` on files written by both CLIs, unsealed by the controller
//!   with exactly the edited data, every other line of the file unchanged.
//! - [`stable`]: `--stable-cache` keeps unchanged values' ciphertexts; every version unseals.

mod harness;
mod raw_merge_recovery;
mod seal;
mod set_unset;
mod stable;
