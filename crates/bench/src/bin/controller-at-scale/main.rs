//! Our controller next to Bitnami's controller v0.36 on one local control plane, the same workload for both:
//! `--keys` RSA key Secrets (certificates one day apart) and `--objects` SealedSecrets of `--values` values each,
//! every object sealed with a random *older* key, carrying the key hint as our kubeseal writes it.
//!
//! Each controller ("contestant") gets its own namespace holding the same keys and objects and runs under its own
//! ServiceAccount, so the control plane's audit log tells its API requests apart. Each is started cold (no
//! Secret exists) and waited for until every SealedSecret is Synced, then stopped and started again (restart).
//! Per run: time until all Synced, RSA operations (ours: its metric; Bitnami has none, so it is estimated from
//! its algorithm and bounded by its CPU time and Go's cost of one decryption), peak and steady RSS, CPU time of
//! the controller, the control plane and everything else, and API requests. An extra run of ours alone on CPU 0
//! (the control plane on the other CPUs) shows how it does when it does not share its cores with the API server.
//!
//! The control plane comes from `sealed-secrets-test-support`: `$SSRS_CLUSTER_DIR`, or a private one with
//! `SSRS_START_CLUSTER=1` (`make bench-controller` does that). Not a test: it never fails on the numbers.

mod audit;
mod contestant;
mod metrics;
mod run;
mod summary;
mod workload;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use sealed_secrets_bench::machine;
use sealed_secrets_bench::report::{Report, now_utc};
use sealed_secrets_test_support::cluster;
use sealed_secrets_test_support::context::client_from_kubeconfig;
use sealed_secrets_test_support::manifests::ensure_crd;

use contestant::{Contestant, Kind};
use run::{CONTROL_PLANE, RunSettings};
use workload::{Size, Workload};

#[derive(Parser)]
#[command(
    about = "Our controller next to Bitnami's at scale, on one local control plane (see BENCHMARKS.md)"
)]
struct Args {
    /// Our controller (release build).
    #[arg(long, default_value = "target/release/sealed-secrets-controller")]
    controller: PathBuf,
    /// Bitnami's controller (`bitnami-controller` in the test-binary cache); without it, ours only.
    #[arg(long)]
    bitnami: Option<PathBuf>,
    /// Extra Bitnami runs with `--kubeclient-qps Q --kubeclient-burst 2Q` (repeat).
    #[arg(long = "bitnami-qps")]
    bitnami_qps: Vec<u32>,
    /// No extra run of ours alone on CPU 0.
    #[arg(long)]
    no_isolated: bool,
    /// Key Secrets.
    #[arg(long, default_value_t = 12)]
    keys: usize,
    /// RSA key size.
    #[arg(long, default_value_t = 4096)]
    key_size: usize,
    /// SealedSecrets.
    #[arg(long, default_value_t = 1000)]
    objects: usize,
    /// Values per SealedSecret.
    #[arg(long, default_value_t = 3)]
    values: usize,
    /// Seconds after all-Synced before the steady RSS is read.
    #[arg(long, default_value_t = 5)]
    settle_s: u64,
    /// Give up on a run after this many seconds.
    #[arg(long, default_value_t = 3600)]
    timeout_s: u64,
    /// Where the report goes.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.controller.is_file() {
        bail!(
            "--controller {}: no such file (cargo build --release -p sealed-secrets-controller)",
            args.controller.display()
        );
    }
    let Some(cluster) = cluster::cluster() else {
        bail!(
            "no control plane: set SSRS_START_CLUSTER=1 (a private one) or SSRS_CLUSTER_DIR (make bench-controller does)"
        );
    };
    let admin = client_from_kubeconfig(&cluster.kubeconfig, None).await?;
    ensure_crd(cluster, &admin).await?;

    let contestants = contestants(&args)?;
    let size = Size {
        keys: args.keys,
        key_bits: args.key_size,
        objects: args.objects,
        values: args.values,
    };
    let started = Instant::now();
    let load_before = machine::load_average();
    let workload = Workload::generate(size).await?;
    let rsa_ms = workload.rsa_decrypt_ms()?;
    let go_rsa_ms = if args.bitnami.is_some() {
        go_rsa_decrypt_ms()
    } else {
        None
    };
    for c in &contestants {
        eprintln!(
            "controller-at-scale: installing the workload in namespace {}",
            c.namespace
        );
        workload.install(&admin, &c.namespace).await?;
    }

    let settings = RunSettings {
        cluster,
        admin: &admin,
        objects: args.objects,
        settle: Duration::from_secs(args.settle_s),
        timeout: Duration::from_secs(args.timeout_s),
    };
    let mut results = Vec::new();
    let mut checks = Vec::new();
    for c in &contestants {
        if c.isolated {
            set_affinity(cluster, &format!("1-{}", machine::cpus() - 1))?;
        }
        for run in ["cold", "restart"] {
            eprintln!("controller-at-scale: {} {run} ...", c.label);
            let result = run::measure(&settings, c, run).await;
            if let Ok(r) = &result {
                eprintln!(
                    "controller-at-scale: {} {run}: all Synced after {:.2} s",
                    c.label,
                    r.synced.as_secs_f64()
                );
            }
            if result.is_err() && c.isolated {
                let _ = set_affinity(cluster, &format!("0-{}", machine::cpus() - 1));
            }
            results.push(result?);
        }
        if c.isolated {
            set_affinity(cluster, &format!("0-{}", machine::cpus() - 1))?;
        }
        checks.push((
            c.label.clone(),
            workload::check(&admin, &c.namespace).await?,
        ));
    }

    let mut report = Report::new(&args.out, "controller-vs-bitnami");
    report.line("== Controller vs Bitnami (one control plane, the same workload) ==");
    report.line(format!(
        "date: {}; machine: {}; load average before {load_before}, after {}; benchmark {:.0} s",
        now_utc(),
        machine::describe(),
        machine::load_average(),
        started.elapsed().as_secs_f64()
    ));
    let summary = summary::Summary {
        size,
        values: workload.values(),
        rsa_ms,
        go_rsa_ms,
        results: &results,
        checks: &checks,
    };
    summary.write(&mut report);
    let path = report.save()?;
    eprintln!(
        "report: {} (controller logs: {})",
        path.display(),
        cluster.test_log_dir().display()
    );
    Ok(())
}

/// Ours, ours alone on CPU 0, Bitnami's with default flags, Bitnami's with raised client limits.
fn contestants(args: &Args) -> anyhow::Result<Vec<Contestant>> {
    let ours = |label: &str, isolated| Contestant {
        label: label.into(),
        kind: Kind::Ours,
        binary: args.controller.clone(),
        namespace: format!("bench-{label}"),
        extra_args: Vec::new(),
        isolated,
    };
    let mut all = vec![ours("ours", false)];
    let can_isolate = machine::cpus() >= 2 && which("taskset");
    if !args.no_isolated && can_isolate {
        // Right after ours, so both run under the same conditions (before Bitnami's long runs).
        all.push(ours("ours-isolated", true));
    }
    if let Some(binary) = &args.bitnami {
        if !binary.is_file() {
            bail!(
                "--bitnami {}: no such file (scripts/setup-testbin.sh builds it)",
                binary.display()
            );
        }
        let bitnami = |label: String, extra_args| Contestant {
            namespace: format!("bench-{label}"),
            label,
            kind: Kind::Bitnami,
            binary: binary.clone(),
            extra_args,
            isolated: false,
        };
        all.push(bitnami("bitnami".into(), Vec::new()));
        for q in &args.bitnami_qps {
            all.push(bitnami(
                format!("bitnami-qps{q}"),
                vec![
                    format!("--kubeclient-qps={q}"),
                    format!("--kubeclient-burst={}", 2 * q),
                ],
            ));
        }
    }
    Ok(all)
}

fn which(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Moves the control plane (all its threads) and this program to `cpus`.
fn set_affinity(cluster: &cluster::ClusterInfo, cpus: &str) -> anyhow::Result<()> {
    let mut pids = vec![std::process::id()];
    for n in CONTROL_PLANE {
        let file = cluster.pid_dir().join(format!("{n}.pid"));
        pids.push(
            machine::pid_from_file(&file)
                .with_context(|| format!("no pid in {}", file.display()))?,
        );
    }
    for pid in pids {
        let status = Command::new("taskset")
            .args(["-a", "-p", "-c", cpus, &pid.to_string()])
            .stdout(Stdio::null())
            .status()
            .context("running taskset")?;
        if !status.success() {
            bail!("taskset -a -p -c {cpus} {pid} failed ({status})");
        }
    }
    Ok(())
}

/// Go's cost of one RSA-4096 OAEP decryption (`go/rsa-decrypt`), when Go is installed.
fn go_rsa_decrypt_ms() -> Option<f64> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("go/rsa-decrypt");
    let go = ["go", "/usr/local/go/bin/go"]
        .into_iter()
        .find(|g| which_go(g))?;
    let out = Command::new(go)
        .args(["run", "."])
        .current_dir(&dir)
        .env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("GOFLAGS", "")
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .strip_prefix("go_rsa_decrypt_ms=")?
        .parse()
        .ok()
}

fn which_go(go: &str) -> bool {
    Command::new(go)
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
