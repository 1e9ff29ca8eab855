//! Dispatch: one validated run, one mode.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::flags::Flags;
use crate::mode::{Mode, Run};
use crate::{controller_modes, merge, output, raw, recovery, seal};

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
        Mode::Validate => controller_modes::validate(&run),
        Mode::ReEncrypt => controller_modes::re_encrypt(&run),
        Mode::FetchCert => {
            let pem = run.cert.fetch()?;
            output::write(&run.output, &pem)
        }
        Mode::MergeInto { file } => merge::run(&run, file),
        Mode::Raw { from_file } => raw::run(&run, from_file.as_deref()),
        Mode::Seal => seal::run(&run),
    }
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}
