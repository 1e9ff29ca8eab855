//! Dispatch: one validated run, one mode.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::flags::Flags;
use crate::mode::{Mode, Run};
use crate::report::message_with_hint;
use crate::{merge, output, raw, recovery, seal};

/// The version printed by `--version`: `KUBESEAL_VERSION` at build time, else the crate's.
pub const VERSION: &str = match option_env!("KUBESEAL_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
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
            clap_complete::generate(*shell, &mut Flags::command(), "kubeseal", &mut out);
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
        Mode::Validate => Err(cluster_only(
            "cannot validate sealed secret",
            "validate offline with --recovery-unseal and a backup of the controller's keys",
        )),
        Mode::ReEncrypt => Err(cluster_only(
            "cannot re-encrypt secret",
            "re-seal the original Secret with --cert and the controller's current certificate",
        )),
        Mode::FetchCert => {
            let pem = run.cert.fetch()?;
            output::write(&run.output, &pem)
        }
        Mode::MergeInto { file } => merge::run(&run, file),
        Mode::Raw { from_file } => raw::run(&run, from_file.as_deref()),
        Mode::Seal => seal::run(&run),
    }
}

/// The error for modes that need the controller, until cluster access lands.
fn cluster_only(what: &str, hint: &str) -> anyhow::Error {
    message_with_hint(
        format!(
            "{what}: this mode needs the controller in the cluster, which this kubeseal cannot reach yet"
        ),
        hint,
    )
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}
