//! `sealed-secrets-controller`: turns SealedSecrets into Secrets, holds and renews the sealing
//! keys, and serves the certificate, verify and rotate API (see `docs/controller.md`).
//!
//! Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT) or `--version`/`--help`, 2 for flag
//! misuse, 1 for runtime errors.
//!
//! Modules, in the order a SealedSecret meets them: [`flags`] (the command line) -> [`config`]
//! (validated, one plain struct per subsystem) -> [`run`] (starts everything); [`leader`] (Lease
//! election), [`keys`] (load, watch, generate and renew the key Secrets), [`reconcile`] (SealedSecret
//! -> [`unsealer`] -> Secret, status, [`events`]), [`integrity`] (the Secret's annotation that lets a
//! restart skip decryption), [`templates`] (`spec.template.data` through `go-template`), [`http`]
//! (certificate, verify, rotate, health), [`metrics`], [`logging`], [`error_text`].
//!
//! Owns reconciling and the keys in the cluster. Builds on `sealed-secrets` (the format) and
//! `go-template` (the template engine); must not depend on kubeseal or the test support crate.

mod config;
mod error_text;
mod events;
mod flags;
mod http;
mod integrity;
mod keys;
mod leader;
mod logging;
mod metrics;
mod reconcile;
mod run;
mod templates;
mod unsealer;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let flags = match flags::Flags::try_parse() {
        Ok(flags) => flags,
        Err(error) => {
            // --help goes to stdout with code 0; usage errors to stderr with code 2.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    if flags.version {
        println!("controller version: v{}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let config = match config::Config::from_flags(&flags) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    logging::init(&config.log);
    // One thread runs all async work (watches, reconciles, HTTP): it needs a fraction of a core, while the RSA
    // work, which needs all of them, runs on the blocking pool (bounded by the unsealer's slots). One async
    // thread also means one malloc arena for the caches and watch traffic instead of one per worker thread,
    // each keeping its own share of freed memory: a smaller resident size for good.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "fatal");
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
