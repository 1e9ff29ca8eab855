//! Processes started by tests (controllers, backends): stdout/stderr captured to files under
//! `<cluster dir>/logs/tests/`, printed (tails) when the handle is dropped — libtest shows that output only for
//! failing tests — and stopped on drop (SIGTERM, then SIGKILL after 10 s).
//!
//! Each PID is also recorded in `<cluster dir>/pids/`, so `scripts/cluster.sh down` stops a process that
//! outlived an interrupted test binary.
//!
//! Also: [`workspace_binary`] (our binaries, built on first use if missing) and one-shot commands
//! ([`output`], [`run_to_completion`]).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};

use crate::cluster::ClusterInfo;
use crate::unique::unique_name;
use crate::wait;

/// Lines of each log printed when a process handle is dropped.
const LOG_TAIL_LINES: usize = 150;
/// Time a process gets to exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What to run: program, arguments, extra environment.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Short name for log files and messages, e.g. `bitnami-controller`.
    pub name: String,
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl ProcessSpec {
    /// A process named `name` running `program` with no arguments.
    pub fn new(name: impl Into<String>, program: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The command line, for messages.
    pub fn display(&self) -> String {
        std::iter::once(self.program.to_string_lossy().into_owned())
            .chain(self.args.iter().map(|a| a.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A running process owned by a test; stopped and its logs printed on drop.
pub struct ManagedProcess {
    spec: ProcessSpec,
    child: Child,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    pid_file: PathBuf,
    exit: Option<ExitStatus>,
    quiet: bool,
}

impl ManagedProcess {
    /// Starts `spec` with stdin closed and stdout/stderr going to files in the cluster's test log dir.
    pub fn spawn(cluster: &ClusterInfo, spec: ProcessSpec) -> anyhow::Result<Self> {
        let log_dir = cluster.test_log_dir();
        std::fs::create_dir_all(&log_dir)
            .with_context(|| format!("creating {}", log_dir.display()))?;
        let base = unique_name(&spec.name);
        let stdout_path = log_dir.join(format!("{base}.stdout.log"));
        let stderr_path = log_dir.join(format!("{base}.stderr.log"));
        let stdout = File::create(&stdout_path)
            .with_context(|| format!("creating {}", stdout_path.display()))?;
        let stderr = File::create(&stderr_path)
            .with_context(|| format!("creating {}", stderr_path.display()))?;
        let child = Command::new(&spec.program)
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", spec.display()))?;
        let pid = child.id();
        let pid_file = cluster.pid_dir().join(format!("test-{base}.pid"));
        // "PID STARTTIME", the format scripts/cluster.sh checks before it kills anything.
        if let Some(start) = proc_start_time(pid) {
            std::fs::write(&pid_file, format!("{pid} {start}\n"))
                .with_context(|| format!("writing {}", pid_file.display()))?;
        }
        Ok(Self {
            spec,
            child,
            stdout_path,
            stderr_path,
            pid_file,
            exit: None,
            quiet: false,
        })
    }

    /// Prints no log tails when dropped (for programs that are not tests, such as the benchmarks, whose output
    /// libtest does not capture); the logs stay in their files.
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The spec it was started from.
    pub fn spec(&self) -> &ProcessSpec {
        &self.spec
    }

    /// Everything it wrote to stdout so far.
    pub fn stdout(&self) -> String {
        read_lossy(&self.stdout_path)
    }

    /// Everything it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        read_lossy(&self.stderr_path)
    }

    /// Paths of the stdout and stderr log files.
    pub fn log_paths(&self) -> (&Path, &Path) {
        (&self.stdout_path, &self.stderr_path)
    }

    /// Its exit status if it has exited (reaps it).
    pub fn try_exit_status(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().context("checking the process")?;
        }
        Ok(self.exit)
    }

    /// Fails, quoting the logs, if the process has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.try_exit_status()? {
            bail!("{} exited ({status}); {}", self.spec.name, self.log_tails());
        }
        Ok(())
    }

    /// Waits until `needle` appears in its stdout or stderr; fails early if it exits.
    pub async fn wait_for_output(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<()> {
        let what = format!("{:?} in the output of {}", needle, self.spec.name);
        let start = Instant::now();
        loop {
            if self.stdout().contains(needle) || self.stderr().contains(needle) {
                return Ok(());
            }
            self.ensure_running()
                .with_context(|| format!("waiting for {what}"))?;
            if start.elapsed() >= timeout {
                bail!(
                    "timed out after {timeout:?} waiting for {what}; {}",
                    self.log_tails()
                );
            }
            tokio::time::sleep(wait::POLL_INTERVAL).await;
        }
    }

    /// Stops the process: SIGTERM, then SIGKILL after 10 s. Returns its exit status.
    pub fn stop(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.try_exit_status()? {
            let _ = std::fs::remove_file(&self.pid_file);
            return Ok(status);
        }
        // Not reaped yet, so the PID still names our child and cannot have been reused.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_GRACE;
        let status = loop {
            if let Some(status) = self.child.try_wait().context("waiting for the process")? {
                break status;
            }
            if Instant::now() >= deadline {
                self.child.kill().context("killing the process")?;
                break self
                    .child
                    .wait()
                    .context("waiting for the killed process")?;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.exit = Some(status);
        let _ = std::fs::remove_file(&self.pid_file);
        Ok(status)
    }

    /// The last lines of both logs, for error messages.
    pub fn log_tails(&self) -> String {
        format!(
            "command: {}\n--- {} stdout ({}) ---\n{}\n--- {} stderr ({}) ---\n{}",
            self.spec.display(),
            self.spec.name,
            self.stdout_path.display(),
            tail(&self.stdout(), LOG_TAIL_LINES),
            self.spec.name,
            self.stderr_path.display(),
            tail(&self.stderr(), LOG_TAIL_LINES),
        )
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        let status = match self.stop() {
            Ok(s) => s.to_string(),
            Err(e) => format!("could not stop: {e:#}"),
        };
        if self.quiet {
            return;
        }
        // Captured by libtest: shown only when the test fails.
        eprintln!(
            "=== process {} (pid {}) stopped: {status}\n{}",
            self.spec.name,
            self.child.id(),
            self.log_tails()
        );
    }
}

/// Start time (clock ticks since boot, field 22 of `/proc/PID/stat`): with the PID, identifies a process.
pub fn proc_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(n);
    let mut out = if skip > 0 {
        format!("[... {skip} earlier lines]\n")
    } else {
        String::new()
    };
    out.push_str(&lines[skip..].join("\n"));
    out
}

/// Path of binary `name` of this workspace (the package of the same name, e.g. `sealed-secrets-controller` or
/// `kubeseal`): `$CARGO_TARGET_DIR` or `<repo>/target`, profile `debug` unless `SSRS_PROFILE` says otherwise.
/// When the file is missing, `cargo build -p NAME --bin NAME` builds it, once per test process.
pub fn workspace_binary(name: &str) -> anyhow::Result<PathBuf> {
    static BUILT: Mutex<BTreeMap<String, Result<PathBuf, String>>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    built
        .entry(name.to_owned())
        .or_insert_with(|| build_if_missing(name))
        .clone()
        .map_err(|e| anyhow!(e))
}

fn build_if_missing(name: &str) -> Result<PathBuf, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::cluster::repo_root().join("target"));
    let profile = std::env::var("SSRS_PROFILE").unwrap_or_else(|_| "debug".to_owned());
    let path = target.join(profile).join(name);
    if !path.exists() {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "-p", name, "--bin", name])
            .current_dir(crate::cluster::repo_root())
            .status()
            .map_err(|e| format!("running cargo build: {e}"))?;
        if !status.success() {
            return Err(format!("cargo build -p {name} failed: {status}"));
        }
    }
    Ok(path)
}

/// Runs `command` to completion with its output captured and `stdin` written to it (stdin closed when
/// `None`); its output, whatever the exit status. The process is killed if the future is dropped.
pub async fn output(
    command: &mut tokio::process::Command,
    stdin: Option<&str>,
) -> anyhow::Result<Output> {
    use tokio::io::AsyncWriteExt as _;
    let program = command
        .as_std()
        .get_program()
        .to_string_lossy()
        .into_owned();
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())
            .await
            .with_context(|| format!("writing the stdin of {program}"))?;
    }
    child
        .wait_with_output()
        .await
        .with_context(|| format!("waiting for {program}"))
}

/// Runs `program args...` to completion with `stdin` (if any); returns stdout, or fails quoting stderr.
pub async fn run_to_completion<S: AsRef<std::ffi::OsStr>>(
    program: &Path,
    args: &[S],
    stdin: Option<&str>,
) -> anyhow::Result<String> {
    let out = output(tokio::process::Command::new(program).args(args), stdin).await?;
    if !out.status.success() {
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        bail!(
            "{} {} failed ({}):\n{}",
            program.display(),
            shown.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
