//! Dispatch: one validated run, one mode.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cert::CertSource;
use crate::flags::Flags;
use crate::mode::{Mode, Run};
use crate::{cert, controller_modes, merge, output, raw, recovery, rules, seal};

/// The version printed by `--version`: `KUBESEAL_VERSION` at build time, else the crate's with a `v` in
/// front, as upstream's releases print theirs (`kubeseal version: v0.36.6`).
pub const VERSION: &str = match option_env!("KUBESEAL_VERSION") {
    Some(v) => v,
    None => concat!("v", env!("CARGO_PKG_VERSION")),
};

/// Runs kubeseal with parsed flags.
pub fn run(flags: Flags) -> Result<()> {
    let run = Run::from_flags(flags)?;
    for warning in &run.warnings {
        eprintln!("{warning}");
    }
    match &run.mode {
        Mode::Version => write_stdout(format!("kubeseal version: {VERSION}\n").as_bytes()),
        Mode::Completion(shell) => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut completion_command(), "kubeseal", &mut out);
            write_stdout(&out)
        }
        Mode::ManPage => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Flags::command())
                .render(&mut out)
                .context("cannot render the man page")?;
            write_stdout(&out)
        }
        Mode::RecoveryUnseal { keys } => recovery::run(&run, keys),
        Mode::Validate => controller_modes::validate(&run),
        Mode::ReEncrypt => controller_modes::re_encrypt(&run),
        Mode::FetchCert if run.pin => pin(&run),
        Mode::FetchCert => {
            let pem = run.cert.fetch()?;
            output::write(&run.output, &pem)
        }
        Mode::MergeInto { file } => merge::run(&run, file),
        Mode::Raw { from_file } => raw::run(&run, from_file.as_deref()),
        Mode::Seal => seal::run(&run),
    }
}

/// The command line as the shells complete it: the sealing flags, and the subcommands that a
/// first argument selects (`set`, `unset`, `edit`, `lint`; dispatched before clap parses).
fn completion_command() -> clap::Command {
    let sub = |cmd: clap::Command, name: &'static str| {
        cmd.name(name).bin_name(format!("kubeseal {name}"))
    };
    Flags::command()
        .disable_help_subcommand(true)
        .subcommand(sub(crate::edit::SetFlags::command(), "set"))
        .subcommand(sub(crate::edit::UnsetFlags::command(), "unset"))
        .subcommand(sub(crate::editor::EditFlags::command(), "edit"))
        .subcommand(sub(crate::lint::LintFlags::command(), "lint"))
}

/// `--fetch-cert --pin`: shows the certificate's fingerprint, writes the certificate as
/// `--fetch-cert` does, and pins it in the repository rule for the working directory (with the
/// certificate's file or URL when there is one).
fn pin(run: &Run) -> Result<()> {
    // Not checked against an earlier pin: this replaces it.
    let pem = run.cert.source.fetch()?;
    cert::parse_cert(&pem, std::time::SystemTime::now())?;
    let sha256 = rules::fingerprint(&pem)?;
    eprintln!(
        "certificate SHA-256 fingerprint: {}",
        rules::openssl_form(&sha256)
    );
    output::write(&run.output, &pem)?;
    let cert = match (&run.output, &run.cert.source) {
        (output::Target::File(path), _) | (_, CertSource::File(path)) => {
            Some(path.to_string_lossy().into_owned())
        }
        (_, CertSource::Url(url)) => Some(url.clone()),
        (_, CertSource::Controller(_)) => None,
    };
    eprintln!("{}", rules::pin_here(cert.as_deref(), &sha256)?);
    Ok(())
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_know_the_subcommands_and_their_flags() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut completion_command(), "kubeseal", &mut out);
            let text = String::from_utf8(out).unwrap();
            for word in [
                "set",
                "unset",
                "edit",
                "lint",
                "from-env-file",
                "stable-cache",
                "no-rules",
                "sarif",
            ] {
                assert!(text.contains(word), "{shell}: {word} missing");
            }
        }
    }
}
