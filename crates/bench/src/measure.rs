//! Wall time and peak memory of one run of a command, as `/usr/bin/time` measures them.
//!
//! Peak RSS is the `ru_maxrss` of a reaped child. A process's `RUSAGE_CHILDREN` reports the largest of all its
//! children, so each run is made by a fresh measuring process with exactly one child: the benchmark binary
//! started again as `<self> --measure-one-run RESULT -- PROGRAM ARGS...` ([`measuring_child`]), which times
//! `PROGRAM` from spawn to exit and writes `wall_ns peak_rss_kib` to `RESULT`. The measuring process's own
//! start-up is outside the measured time.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::resource::{UsageWho, getrusage};

/// The argument that makes a benchmark binary act as the measuring process.
const MEASURE_FLAG: &str = "--measure-one-run";

/// One measured run.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// From spawn to exit.
    pub wall: Duration,
    /// Peak resident set size, KiB.
    pub peak_rss_kib: u64,
}

impl Sample {
    /// Wall time in milliseconds.
    pub fn ms(&self) -> f64 {
        self.wall.as_secs_f64() * 1e3
    }

    /// Peak RSS in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }
}

/// Call first in `main`: when this process was started as the measuring process, runs the command, writes the
/// result and exits; otherwise returns.
pub fn measuring_child() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_none_or(|a| a != MEASURE_FLAG) {
        return;
    }
    let code = match measure_here(&args[2..]) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("measuring process: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn measure_here(args: &[OsString]) -> anyhow::Result<()> {
    let [result, sep, program, rest @ ..] = args else {
        bail!("usage: {MEASURE_FLAG} RESULT -- PROGRAM [ARGS...]");
    };
    if sep != "--" {
        bail!("usage: {MEASURE_FLAG} RESULT -- PROGRAM [ARGS...]");
    }
    let start = Instant::now();
    let status = Command::new(program)
        .args(rest)
        .status()
        .with_context(|| format!("running {}", Path::new(program).display()))?;
    let wall = start.elapsed();
    if !status.success() {
        bail!("{} failed: {status}", Path::new(program).display());
    }
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).context("getrusage")?;
    std::fs::write(result, format!("{} {}\n", wall.as_nanos(), usage.max_rss()))
        .context("writing the result")?;
    Ok(())
}

/// Runs commands through the measuring process.
pub struct Measurer {
    exe: PathBuf,
    result: PathBuf,
}

impl Measurer {
    /// A measurer writing its intermediate results under `work_dir`.
    pub fn new(work_dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            exe: std::env::current_exe().context("finding this benchmark's binary")?,
            result: work_dir.join("measure-result"),
        })
    }

    /// Runs `program args` with its stdout to `stdout` (stderr inherited); fails if it fails.
    pub fn run(&self, program: &Path, args: &[&str], stdout: Stdio) -> anyhow::Result<Sample> {
        let status = Command::new(&self.exe)
            .arg(MEASURE_FLAG)
            .arg(&self.result)
            .arg("--")
            .arg(program)
            .args(args)
            .stdout(stdout)
            .status()
            .context("starting the measuring process")?;
        if !status.success() {
            bail!("{} {} failed ({status})", program.display(), args.join(" "));
        }
        let text = std::fs::read_to_string(&self.result).context("reading the measurement")?;
        let mut words = text.split_whitespace().map(str::parse::<u64>);
        match (words.next(), words.next()) {
            (Some(Ok(ns)), Some(Ok(kib))) => Ok(Sample {
                wall: Duration::from_nanos(ns),
                peak_rss_kib: kib,
            }),
            _ => bail!("malformed measurement {text:?}"),
        }
    }
}
