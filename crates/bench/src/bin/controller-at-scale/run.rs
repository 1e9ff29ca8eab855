//! One run of one controller (a cold start or a restart): from its start until every SealedSecret is Synced,
//! with what it cost.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use kube::Client;
use sealed_secrets_bench::machine;
use sealed_secrets_test_support::ClusterInfo;

use crate::audit::AuditTail;
use crate::contestant::{Contestant, Kind, count_in_file};
use crate::metrics;

/// The control plane's processes (their PIDs in `<cluster dir>/pids/`).
pub const CONTROL_PLANE: [&str; 3] = ["etcd", "kube-apiserver", "kube-controller-manager"];

/// What one run measured.
pub struct RunResult {
    pub label: String,
    pub kind: Kind,
    /// `cold` or `restart`.
    pub run: &'static str,
    pub synced: Duration,
    /// Ours: from its metric; Bitnami has none.
    pub rsa_ops: Option<f64>,
    pub reconciles: f64,
    /// Ours: reconciles that found the Secret up to date (no RSA work).
    pub skipped: Option<f64>,
    pub peak_rss_mib: f64,
    pub steady_rss_mib: f64,
    pub steady_anon_mib: f64,
    pub steady_file_mib: f64,
    pub controller_cpu: f64,
    /// etcd, kube-apiserver, kube-controller-manager.
    pub plane_cpu: [f64; 3],
    pub other_cpu: f64,
    /// The cores the controller could use.
    pub cores: usize,
    /// API requests between start and all-Synced, per `verb resource`.
    pub api: BTreeMap<String, u64>,
    pub api_until_stop: u64,
}

/// The run's settings.
pub struct RunSettings<'a> {
    pub cluster: &'a ClusterInfo,
    pub admin: &'a Client,
    pub objects: usize,
    pub settle: Duration,
    pub timeout: Duration,
}

fn plane_cpu(cluster: &ClusterInfo, ticks: f64) -> [f64; 3] {
    CONTROL_PLANE.map(|n| {
        machine::pid_from_file(&cluster.pid_dir().join(format!("{n}.pid")))
            .map_or(0.0, |pid| machine::cpu_seconds(pid, ticks))
    })
}

/// Starts `c`, waits until every object is reconciled and Synced, measures, stops it.
pub async fn measure(
    s: &RunSettings<'_>,
    c: &Contestant,
    run: &'static str,
) -> anyhow::Result<RunResult> {
    let ticks = machine::clock_ticks();
    let objects = s.objects as f64;
    let plane_before = plane_cpu(s.cluster, ticks);
    let machine_before = machine::busy_cpu_seconds(ticks);
    let mut audit = AuditTail::new(s.cluster.dir.join("logs/audit.log"), c.user());
    let mut ctl = c.start(s.cluster, s.admin).await?;
    let t = Instant::now();
    let synced = loop {
        ctl.process.ensure_running()?;
        audit.poll()?;
        if let Ok(text) = metrics::get(ctl.metrics).await {
            let requests = metrics::value(&text, "sealed_secrets_controller_unseal_requests_total");
            let synced = metrics::value(&text, "sealed_secrets_controller_condition_info");
            // Bitnami on a restart writes no status (unchanged) and counts an object when it starts it: done
            // when as many successes are logged (at the end of each reconcile).
            let complete = match (c.kind, run) {
                (Kind::Bitnami, "restart") => {
                    requests >= objects
                        && count_in_file(ctl.process.log_paths().0, "reason: 'Unsealed'")
                            >= s.objects
                }
                _ => requests >= objects && synced >= objects,
            };
            if complete {
                break t.elapsed();
            }
        }
        if t.elapsed() > s.timeout {
            bail!(
                "{} {run}: not all SealedSecrets Synced after {:?}",
                c.label,
                s.timeout
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let pid = ctl.process.pid();
    let text = metrics::get(ctl.metrics).await?;
    let controller_cpu = machine::cpu_seconds(pid, ticks);
    let plane_after = plane_cpu(s.cluster, ticks);
    let plane: [f64; 3] = std::array::from_fn(|i| plane_after[i] - plane_before[i]);
    let machine_cpu = machine::busy_cpu_seconds(ticks) - machine_before;
    audit.poll()?;
    let api = audit.counts();
    tokio::time::sleep(s.settle).await;
    let mib = |field| machine::status_kib(pid, field) as f64 / 1024.0;
    let result = RunResult {
        label: c.label.clone(),
        kind: c.kind,
        run,
        synced,
        rsa_ops: (c.kind == Kind::Ours).then(|| {
            metrics::value(
                &text,
                "sealed_secrets_controller_rsa_decrypt_operations_total",
            )
        }),
        reconciles: metrics::value(&text, "sealed_secrets_controller_unseal_requests_total"),
        skipped: (c.kind == Kind::Ours)
            .then(|| metrics::value(&text, "sealed_secrets_controller_unseal_skipped_total")),
        peak_rss_mib: mib("VmHWM"),
        steady_rss_mib: mib("VmRSS"),
        steady_anon_mib: mib("RssAnon"),
        steady_file_mib: mib("RssFile"),
        controller_cpu,
        plane_cpu: plane,
        other_cpu: (machine_cpu - controller_cpu - plane.iter().sum::<f64>()).max(0.0),
        cores: if c.isolated { 1 } else { machine::cpus() },
        api,
        api_until_stop: 0,
    };
    ctl.process.stop()?;
    audit.poll()?;
    Ok(RunResult {
        api_until_stop: audit.counts().values().sum(),
        ..result
    })
}
