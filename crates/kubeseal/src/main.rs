//! `kubeseal`: reads Kubernetes Secret manifests and writes SealedSecrets that are safe to
//! store in Git, a drop-in for Bitnami's kubeseal v0.36 (flags, environment, output, errors).
//!
//! Modules: [`flags`] (the raw command line) -> [`mode`] (a validated run) -> [`app`] (dispatch)
//! -> one of [`seal`], [`merge`], [`raw`], [`recovery`]; [`cert`] gets the certificate
//! ([`controller`] reaches the controller through the API server's service proxy, and
//! [`controller_modes`] runs `--validate` and `--re-encrypt` there), [`namespace`] the default
//! namespace, [`input`]/[`output`] read and write, [`report`] prints errors and hints.
//! [`rules`] reads the repository's `.sealed-secrets.yaml` (certificate, pin, defaults per path).
//! [`edit`] runs the `set` and `unset` subcommands and [`editor`] `edit` (a first argument upstream
//! would ignore). [`lint`] runs the `lint` subcommand (offline checks for CI).
//!
//! Owns the command line. Builds on the format library (`sealed-secrets`) alone; must not depend on
//! the controller or the template engine (it never renders `spec.template.data`: the controller does),
//! and needs no cluster for sealing with `--cert`.

mod app;
mod cert;
mod controller;
mod controller_modes;
mod edit;
mod editor;
mod flags;
mod input;
mod lint;
mod merge;
mod mode;
mod names;
mod namespace;
mod output;
mod raw;
mod recovery;
mod report;
mod rules;
mod seal;
mod stable;

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "lint") {
        return report::exit(lint::run(args));
    }
    if let Some(name) = edit::subcommand(&args) {
        if name == "edit" {
            return report::exit(editor::run(args));
        }
        return report::exit(edit::run(name, args));
    }
    report::exit(app::run(flags::Flags::parse_env()))
}
