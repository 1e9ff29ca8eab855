//! CLI behaviour as data, one directory per command or mode (`seal`, `raw`, `recovery`, `merge`,
//! `fetch-cert`, `validate`, `re-encrypt`, `cluster`, `cert`, `examples`, `cli`, `set`, `unset`, `edit`, `rules`, `lint`, `stable`) under `tests/cmd/`,
//! with the shared inputs in `tests/cmd/fixtures/`: every case is a command line with its expected
//! stdout, stderr and exit status (`*.toml`), or a sequence of commands sharing a sandbox
//! directory (`*.trycmd`, used for round trips: seal, then `--recovery-unseal` with the
//! fixture key gives back the input). Sealed output is random, so it is matched with `[..]`.
//!
//! The environment is pinned so no kubeconfig of the machine leaks in: `HOME` points nowhere
//! and each case that must see no kubeconfig removes `KUBECONFIG`
//! (a case's own `env.add` would lose to a global setting). Regenerate expectations with `TRYCMD=overwrite`, then review.

#[test]
fn cli_tests() {
    trycmd::TestCases::new()
        .register_bin(
            "kubeseal",
            std::path::PathBuf::from(env!("CARGO_BIN_EXE_kubeseal")),
        )
        .env("HOME", "/nonexistent-home")
        .case("tests/cmd/*/*.toml")
        .case("tests/cmd/*/*.trycmd");
}
