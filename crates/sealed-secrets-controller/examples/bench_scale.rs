//! `make bench` (scripts/bench-controller.sh): the controller at scale on a local control plane, optionally
//! side by side with Bitnami's controller (v0.36.6) on the same control plane and the same workload.
//!
//! Creates `--keys` key Secrets (certificates backdated one day apart, so the last is the latest) and
//! `--objects` SealedSecrets of `--values` values each, every object sealed with a random *older* key and
//! carrying the key hint as our kubeseal writes it. Every controller under test ("contestant") gets its own
//! namespace holding the same keys and the same workload (each object sealed with the same key and the same
//! plaintexts; the ciphertexts differ, the scope label contains the namespace), and runs under its own
//! ServiceAccount (bound to cluster-admin), so the control plane's audit log (`logs/audit.log`, which records
//! ServiceAccount requests) tells the API requests of each apart.
//!
//! Measures the cost of one RSA-OAEP decryption with such a key on one core, then for each contestant starts the
//! controller (cold start: no Secret exists yet) and waits until every SealedSecret is Synced; then stops it
//! (SIGTERM), starts it again and waits until every object has been reconciled again (restart). Prints, for each
//! run, one `key=value` line: time until all Synced, RSA operations (ours: its metric; Bitnami has none),
//! peak RSS (VmHWM) and steady RSS (VmRSS `--settle-s` seconds after all Synced), CPU time of the controller, of
//! the control plane and of everything else on the machine, and the API requests the controller made between
//! its start and all-Synced (audit events per verb and resource).
//!
//! Completion: our controller, and Bitnami's on a cold start, when `unseal_requests_total` and the sum of
//! `condition_info` both reach `--objects` (Bitnami sets `condition_info` only after a status write, which it
//! does last). Bitnami on a restart writes no status (it is unchanged) and its `unseal_requests_total` counts an
//! object when it *starts* it: so completion is `unseal_requests_total` reaching `--objects` and as many
//! `reason: 'Unsealed'` lines in its log (its event recorder logs each success when the reconcile ends, after
//! its Secret GET and UPDATE; the event itself is posted to the API asynchronously).
//!
//! Bitnami's controller supports only in-cluster configuration: it runs through `scripts/in-cluster-exec.sh`
//! with a TokenRequest token of its ServiceAccount (`scripts/cluster.sh in-cluster-dir`), `namespace` = its
//! namespace (where it finds the keys: label `sealedsecrets.bitnami.com/sealed-secrets-key=active`), default
//! flags except `--all-namespaces=false` (it watches its own namespace only, like ours), `--key-renew-period=0`
//! (as ours) and the listen addresses; so its client-side limit is the default `--kubeclient-qps 5` /
//! `--kubeclient-burst 10`. `--bitnami-qps Q` adds a run with `--kubeclient-qps Q --kubeclient-burst 2Q`.
//!
//! Not a test: it never fails on the numbers. Run it against a throw-away control plane only.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use clap::Parser;
use futures::StreamExt as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use rand::{Rng as _, RngCore as _};
use sealed_secrets::SealedSecret;
use sealed_secrets::keys::{self, Certificate, PrivateKey};

#[derive(Parser)]
struct Args {
    /// Admin kubeconfig of the control plane.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Our controller binary (release build).
    #[arg(long)]
    controller: PathBuf,
    /// Namespace for our controller's keys and SealedSecrets (created if missing; must hold nothing else).
    #[arg(long, default_value = "bench")]
    namespace: String,
    /// Number of key Secrets.
    #[arg(long, default_value_t = 12)]
    keys: usize,
    /// RSA key size.
    #[arg(long, default_value_t = 4096)]
    key_size: usize,
    /// Number of SealedSecrets.
    #[arg(long, default_value_t = 1000)]
    objects: usize,
    /// Values per SealedSecret.
    #[arg(long, default_value_t = 3)]
    values: usize,
    /// Directory for the controllers' logs.
    #[arg(long, default_value = "target/bench")]
    log_dir: PathBuf,
    /// State directory of the control plane (`$SSRS_CLUSTER_DIR`): its `pids/` are measured for CPU time, its
    /// audit log counts API requests, `cluster.json` names the scripts; needed for ServiceAccounts and Bitnami.
    #[arg(long)]
    cluster_dir: Option<PathBuf>,
    /// Extra flags for our controller (repeat).
    #[arg(long = "controller-arg")]
    controller_args: Vec<String>,
    /// Do not run our controller (only Bitnami's).
    #[arg(long)]
    skip_ours: bool,
    /// Bitnami's controller binary (`bitnami-controller` from the test-binary cache): run it too.
    #[arg(long)]
    bitnami_controller: Option<PathBuf>,
    /// Namespace for Bitnami's default run (extra runs: `<this>-qps<Q>`).
    #[arg(long, default_value = "bench-bitnami")]
    bitnami_namespace: String,
    /// Skip Bitnami's run with default flags (only the `--bitnami-qps` runs).
    #[arg(long)]
    skip_bitnami_default: bool,
    /// Extra Bitnami runs with `--kubeclient-qps Q --kubeclient-burst 2Q` (repeat).
    #[arg(long = "bitnami-qps")]
    bitnami_qps: Vec<u32>,
    /// Also run our controller alone on CPU 0, with the control plane (and this program) on the other CPUs, in a
    /// namespace of its own (`<namespace>-isolated`): how close it comes to the ideal when it does not share its
    /// cores with the API server, as in a real cluster. Needs `--cluster-dir` and at least 2 CPUs.
    #[arg(long)]
    isolated: bool,
    /// Seconds to wait after all Synced before reading the steady RSS.
    #[arg(long, default_value_t = 5)]
    settle_s: u64,
    /// Give up on a run after this many seconds.
    #[arg(long, default_value_t = 3600)]
    timeout_s: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Ours,
    Bitnami,
}

struct Contestant {
    label: String,
    kind: Kind,
    namespace: String,
    extra_args: Vec<String>,
    /// Run alone on CPU 0, everything else on the other CPUs.
    isolated: bool,
}

const SERVICE_ACCOUNT: &str = "bench-controller";

/// One object of the workload: the index of its (older) key and its values.
type Object = (usize, Vec<(String, Vec<u8>)>);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let kubeconfig = Kubeconfig::read_from(&args.kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let client = Client::try_from(config)?;

    let mut contestants = Vec::new();
    if !args.skip_ours {
        contestants.push(Contestant {
            label: "ours".into(),
            kind: Kind::Ours,
            namespace: args.namespace.clone(),
            extra_args: args.controller_args.clone(),
            isolated: false,
        });
    }
    if args.bitnami_controller.is_some() {
        if args.cluster_dir.is_none() {
            bail!("--bitnami-controller needs --cluster-dir (in-cluster configuration)");
        }
        if !args.skip_bitnami_default {
            contestants.push(Contestant {
                label: "bitnami".into(),
                kind: Kind::Bitnami,
                namespace: args.bitnami_namespace.clone(),
                extra_args: Vec::new(),
                isolated: false,
            });
        }
        for q in &args.bitnami_qps {
            contestants.push(Contestant {
                label: format!("bitnami-qps{q}"),
                kind: Kind::Bitnami,
                namespace: format!("{}-qps{q}", args.bitnami_namespace),
                extra_args: vec![
                    format!("--kubeclient-qps={q}"),
                    format!("--kubeclient-burst={}", 2 * q),
                ],
                isolated: false,
            });
        }
    }

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if args.isolated && !args.skip_ours {
        if args.cluster_dir.is_none() || cores < 2 {
            bail!("--isolated needs --cluster-dir and at least 2 CPUs");
        }
        // Right after ours, so both run under the same conditions (before Bitnami's long runs).
        contestants.insert(
            1,
            Contestant {
                label: "ours-isolated".into(),
                kind: Kind::Ours,
                namespace: format!("{}-isolated", args.namespace),
                extra_args: args.controller_args.clone(),
                isolated: true,
            },
        );
    }
    println!("cores={cores}");
    println!("cpu={}", cpu_model().replace(' ', "_"));
    println!(
        "objects={} values_per_object={} keys={} key_size={}",
        args.objects, args.values, args.keys, args.key_size
    );

    // Keys, generated in parallel; certificates one day apart, the last one the latest.
    let started = Instant::now();
    let mut generated = Vec::new();
    for i in 0..args.keys {
        let bits = args.key_size;
        let age = Duration::from_secs(86_400 * (args.keys - i) as u64);
        generated.push(tokio::task::spawn_blocking(move || {
            let key = PrivateKey::generate(bits)?;
            let cert = Certificate::self_signed(
                &key,
                "",
                SystemTime::now() - age,
                Duration::from_secs(10 * 365 * 86_400),
            )?;
            anyhow::Ok((key, cert))
        }));
    }
    let mut keys = Vec::new();
    for task in generated {
        keys.push(task.await??);
    }
    println!(
        "keys_created={} key_generation_s={:.1}",
        keys.len(),
        started.elapsed().as_secs_f64()
    );

    // One RSA-OAEP decryption (plus AES-GCM of a small value), on one core.
    let rsa_ms = {
        let (key, _) = &keys[0];
        let mut rng = rand::rngs::OsRng;
        let ciphertext =
            sealed_secrets::hybrid::hybrid_encrypt(&mut rng, key.public_key(), b"value", b"ns/n")?;
        let rounds = 200;
        let t = Instant::now();
        for _ in 0..rounds {
            sealed_secrets::hybrid::hybrid_decrypt(key, &ciphertext, b"ns/n")?;
        }
        t.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds)
    };
    println!("rsa_decrypt_ms={rsa_ms:.3}");

    // The workload: per object, a random older key (never the latest) and random values; the same for every
    // contestant.
    let mut rng = rand::thread_rng();
    let older = keys.len().saturating_sub(1).max(1);
    let workload: Vec<Object> = (0..args.objects)
        .map(|_| {
            let key = rng.gen_range(0..older);
            let values = (0..args.values)
                .map(|v| {
                    let mut value = [0u8; 24];
                    rng.fill_bytes(&mut value);
                    (format!("value{v}"), value.to_vec())
                })
                .collect();
            (key, values)
        })
        .collect();

    for c in &contestants {
        prepare_namespace(&client, &args, c, &keys, &workload).await?;
    }

    let values = (args.objects * args.values) as f64;
    let ideal_s = values * rsa_ms / 1000.0 / cores as f64;
    println!(
        "values={values} ideal_cold_start_s={ideal_s:.2} target_cold_start_s={:.2}",
        ideal_s * 1.5
    );

    std::fs::create_dir_all(&args.log_dir)?;
    let ticks = clock_ticks();
    for c in &contestants {
        if c.isolated {
            pin_others(&args, cores)?;
        }
        for run in ["cold", "restart"] {
            let controller_cores = if c.isolated { 1 } else { cores };
            let result = measure_run(&args, c, run, ticks, controller_cores, values, rsa_ms);
            if c.isolated && result.is_err() {
                unpin_others(&args, cores);
            }
            result?;
        }
        if c.isolated {
            unpin_others(&args, cores);
        }
        // Every SealedSecret really is Synced.
        let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), &c.namespace);
        let list = sealed_api.list(&ListParams::default()).await?;
        let synced = list
            .items
            .iter()
            .filter(|ss| {
                ss.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Synced" && c.status == "True"))
            })
            .count();
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &c.namespace);
        let unsealed = secrets
            .list_metadata(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|s| {
                s.metadata
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("bench-"))
            })
            .count();
        println!(
            "controller={} synced_objects={synced} unsealed_secrets={unsealed}",
            c.label
        );
    }
    Ok(())
}

fn ignore_conflict<T>(r: Result<T, kube::Error>) -> anyhow::Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Namespace, ServiceAccount bound to cluster-admin (when there is a cluster dir), keys and SealedSecrets.
async fn prepare_namespace(
    client: &Client,
    args: &Args,
    c: &Contestant,
    keys: &[(PrivateKey, Certificate)],
    workload: &[Object],
) -> anyhow::Result<()> {
    let ns = &c.namespace;
    ignore_conflict(
        Api::<Namespace>::all(client.clone())
            .create(
                &PostParams::default(),
                &Namespace {
                    metadata: ObjectMeta {
                        name: Some(ns.clone()),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )
            .await,
    )
    .with_context(|| format!("creating namespace {ns}"))?;
    if args.cluster_dir.is_some() {
        ignore_conflict(
            Api::<ServiceAccount>::namespaced(client.clone(), ns)
                .create(
                    &PostParams::default(),
                    &ServiceAccount {
                        metadata: ObjectMeta {
                            name: Some(SERVICE_ACCOUNT.into()),
                            ..Default::default()
                        },
                        ..Default::default()
                    },
                )
                .await,
        )?;
        ignore_conflict(
            Api::<ClusterRoleBinding>::all(client.clone())
                .create(
                    &PostParams::default(),
                    &ClusterRoleBinding {
                        metadata: ObjectMeta {
                            name: Some(format!("bench-controller-{ns}")),
                            ..Default::default()
                        },
                        role_ref: RoleRef {
                            api_group: "rbac.authorization.k8s.io".into(),
                            kind: "ClusterRole".into(),
                            name: "cluster-admin".into(),
                        },
                        subjects: Some(vec![Subject {
                            kind: "ServiceAccount".into(),
                            name: SERVICE_ACCOUNT.into(),
                            namespace: Some(ns.clone()),
                            ..Default::default()
                        }]),
                    },
                )
                .await,
        )?;
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    for (key, cert) in keys {
        let secret = keys::to_key_secret(key, cert, ns, "sealed-secrets-key");
        secrets.create(&PostParams::default(), &secret).await?;
    }
    let t = Instant::now();
    let mut objects = Vec::with_capacity(workload.len());
    for (i, (key, values)) in workload.iter().enumerate() {
        let (key, _) = &keys[*key];
        let data = values
            .iter()
            .map(|(k, v)| (k.clone(), ByteString(v.clone())))
            .collect();
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(format!("bench-{i:05}")),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            data: Some(data),
            ..Default::default()
        };
        objects.push(sealed_secrets::seal(
            &mut rand::rngs::OsRng,
            &secret,
            key.public_key(),
        )?);
    }
    let sealing_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
    let results: Vec<_> = futures::stream::iter(objects.into_iter().map(|o| {
        let api = sealed_api.clone();
        async move { api.create(&PostParams::default(), &o).await }
    }))
    .buffer_unordered(16)
    .collect()
    .await;
    for r in results {
        r?;
    }
    println!(
        "controller={} namespace={ns} sealing_s={sealing_s:.2} create_objects_s={:.2}",
        c.label,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What `cluster.json` of the control plane says.
struct ClusterJson {
    scripts: PathBuf,
    apiserver_port: u16,
}

fn cluster_json(dir: &Path) -> anyhow::Result<ClusterJson> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cluster.json"))?)?;
    Ok(ClusterJson {
        scripts: PathBuf::from(v["scripts"].as_str().context("cluster.json: scripts")?),
        apiserver_port: u16::try_from(v["apiserver_port"].as_u64().context("apiserver_port")?)?,
    })
}

fn run_script(program: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !out.status.success() {
        bail!(
            "{} {args:?} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn measure_run(
    args: &Args,
    c: &Contestant,
    run: &str,
    ticks: f64,
    cores: usize,
    values: f64,
    rsa_ms: f64,
) -> anyhow::Result<()> {
    let objects = args.objects as f64;
    let plane_each_before = control_plane_cpu_each(args.cluster_dir.as_deref(), ticks);
    let machine_before = machine_busy_cpu(ticks);
    let mut audit = args.cluster_dir.as_ref().map(|d| {
        AuditTail::new(
            d.join("logs/audit.log"),
            format!("system:serviceaccount:{}:{SERVICE_ACCOUNT}", c.namespace),
        )
    });
    let mut ctl = start_controller(args, c, run)?;
    let t = Instant::now();
    let done = loop {
        if let Some(status) = ctl.child.try_wait()? {
            bail!(
                "controller {} exited ({status}); see {}",
                c.label,
                args.log_dir.display()
            );
        }
        if let Some(a) = audit.as_mut() {
            a.poll()?;
        }
        if let Ok(text) = get(ctl.metrics, "/metrics") {
            let requests = metric(&text, "sealed_secrets_controller_unseal_requests_total");
            let synced = metric(&text, "sealed_secrets_controller_condition_info");
            let complete = match (c.kind, run) {
                (Kind::Bitnami, "restart") => {
                    requests >= objects
                        && count_in_file(&ctl.stdout_log, "reason: 'Unsealed'") >= args.objects
                }
                _ => requests >= objects && synced >= objects,
            };
            if complete {
                break t.elapsed();
            }
        }
        if t.elapsed() > Duration::from_secs(args.timeout_s) {
            let _ = stop(&mut ctl.child);
            bail!(
                "{} {run}: not all SealedSecrets synced after {} s",
                c.label,
                args.timeout_s
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let pid = ctl.child.id();
    let text = get(ctl.metrics, "/metrics")?;
    let (rsa, rsa_per_value) = match c.kind {
        Kind::Ours => {
            let rsa = metric(
                &text,
                "sealed_secrets_controller_rsa_decrypt_operations_total",
            );
            (format!("{rsa}"), format!("{:.3}", rsa / values))
        }
        Kind::Bitnami => ("not_measurable".into(), "not_measurable".into()),
    };
    let skipped = match c.kind {
        Kind::Ours => format!(
            "{}",
            metric(&text, "sealed_secrets_controller_unseal_skipped_total")
        ),
        Kind::Bitnami => "none".into(),
    };
    let requests = metric(&text, "sealed_secrets_controller_unseal_requests_total");
    let rss_synced = proc_status_kib(pid, "VmRSS:");
    let controller_cpu = cpu_seconds(pid, ticks);
    let plane_each = control_plane_cpu_each(args.cluster_dir.as_deref(), ticks);
    let plane_cpu = plane_each.iter().sum::<f64>() - plane_each_before.iter().sum::<f64>();
    let machine_cpu = machine_busy_cpu(ticks) - machine_before;
    let api = audit.as_mut().map(|a| {
        let _ = a.poll();
        a.snapshot()
    });
    std::thread::sleep(Duration::from_secs(args.settle_s));
    let rss_steady = proc_status_kib(pid, "VmRSS:");
    // The split: anonymous memory (heap, stacks) and file-backed pages (the binary's code and the shared
    // libraries it touched); the mappings themselves are kept beside the logs for a closer look.
    let rss_anon = proc_status_kib(pid, "RssAnon:");
    let rss_file = proc_status_kib(pid, "RssFile:");
    if let Ok(smaps) = std::fs::read_to_string(format!("/proc/{pid}/smaps")) {
        let _ = std::fs::write(args.log_dir.join(format!("{}-{run}.smaps", c.label)), smaps);
    }
    let hwm = proc_status_kib(pid, "VmHWM:");
    stop(&mut ctl.child)?;
    let mut line = format!(
        "controller={} run={run} synced_s={:.2} rsa_ops={rsa} rsa_ops_per_value={rsa_per_value} \
         reconciles={requests} skipped={skipped} peak_rss_mib={:.1} rss_at_synced_mib={:.1} \
         steady_rss_mib={:.1} steady_rss_anon_mib={:.1} steady_rss_file_mib={:.1} controller_cpu_s={controller_cpu:.2} control_plane_cpu_s={plane_cpu:.2} \
         other_cpu_s={:.2} controller_alone_s={:.2}",
        c.label,
        done.as_secs_f64(),
        hwm as f64 / 1024.0,
        rss_synced as f64 / 1024.0,
        rss_steady as f64 / 1024.0,
        rss_anon as f64 / 1024.0,
        rss_file as f64 / 1024.0,
        (machine_cpu - controller_cpu - plane_cpu).max(0.0),
        controller_cpu / cores as f64,
    );
    // The ideal for this run: every value one RSA decryption, spread over the controller's cores.
    let ideal = values * rsa_ms / 1000.0 / cores as f64;
    line.push_str(&format!(
        " controller_cores={cores} ideal_s={ideal:.2} ratio_to_ideal={:.2}",
        done.as_secs_f64() / ideal
    ));
    line.push_str(" control_plane_cpu_by_process=");
    let each: Vec<String> = CONTROL_PLANE
        .iter()
        .zip(plane_each.iter().zip(plane_each_before))
        .map(|(n, (after, before))| format!("{n}={:.2}", after - before))
        .collect();
    line.push_str(&each.join(","));
    if let Some(api) = api {
        let total: u64 = api.values().sum();
        line.push_str(&format!(" api_requests={total} api_by_request="));
        let detail: Vec<String> = api
            .iter()
            .map(|(k, v)| format!("{}={v}", k.replace(' ', ":")))
            .collect();
        line.push_str(&detail.join(","));
    }
    if let Some(mut a) = audit {
        let _ = a.poll();
        line.push_str(&format!(
            " api_requests_until_stop={}",
            a.snapshot().values().sum::<u64>()
        ));
    }
    println!("{line}");
    Ok(())
}

/// Reads the audit log from where it ended when created; counts the requests of one user per `verb resource`.
struct AuditTail {
    path: PathBuf,
    offset: u64,
    user: String,
    partial: Vec<u8>,
    seen: HashSet<String>,
    counts: BTreeMap<String, u64>,
}

impl AuditTail {
    fn new(path: PathBuf, user: String) -> Self {
        let offset = std::fs::metadata(&path).map_or(0, |m| m.len());
        Self {
            path,
            offset,
            user,
            partial: Vec::new(),
            seen: HashSet::new(),
            counts: BTreeMap::new(),
        }
    }

    fn poll(&mut self) -> anyhow::Result<()> {
        let mut f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(_) => return Ok(()),
        };
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let Some(last_nl) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        let rest = self.partial.split_off(last_nl + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        for line in complete.split(|&b| b == b'\n') {
            if line.is_empty()
                || !line
                    .windows(self.user.len())
                    .any(|w| w == self.user.as_bytes())
            {
                continue;
            }
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            if v["user"]["username"].as_str() != Some(self.user.as_str()) {
                continue;
            }
            let Some(id) = v["auditID"].as_str() else {
                continue;
            };
            if !self.seen.insert(id.to_owned()) {
                continue;
            }
            let verb = v["verb"].as_str().unwrap_or("?");
            let resource = v["objectRef"]["resource"].as_str().unwrap_or("nonresource");
            let key = match v["objectRef"]["subresource"].as_str() {
                Some(sub) => format!("{verb} {resource}/{sub}"),
                None => format!("{verb} {resource}"),
            };
            *self.counts.entry(key).or_default() += 1;
        }
        Ok(())
    }

    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.clone()
    }
}

struct Running {
    child: Child,
    metrics: SocketAddr,
    stdout_log: PathBuf,
}

/// Moves the control plane (all threads) and this program off CPU 0, which the isolated controller gets alone.
fn pin_others(args: &Args, cores: usize) -> anyhow::Result<()> {
    set_affinity(args, &format!("1-{}", cores - 1))
}

/// Gives the control plane and this program all CPUs back.
fn unpin_others(args: &Args, cores: usize) {
    if let Err(e) = set_affinity(args, &format!("0-{}", cores - 1)) {
        eprintln!("bench_scale: could not restore CPU affinity: {e:#}");
    }
}

fn set_affinity(args: &Args, cpus: &str) -> anyhow::Result<()> {
    let dir = args.cluster_dir.as_ref().context("no cluster dir")?;
    let mut pids = vec![std::process::id()];
    for n in CONTROL_PLANE {
        let pid = std::fs::read_to_string(dir.join(format!("pids/{n}.pid")))
            .with_context(|| format!("pid file of {n}"))?;
        // "PID STARTTIME"
        let pid = pid.split_whitespace().next().unwrap_or_default();
        pids.push(
            pid.parse()
                .with_context(|| format!("pid of {n}: {pid:?}"))?,
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

/// Occurrences of `needle` in a (log) file.
fn count_in_file(path: &Path, needle: &str) -> usize {
    std::fs::read(path).map_or(0, |b| {
        b.windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count()
    })
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn start_controller(args: &Args, c: &Contestant, run: &str) -> anyhow::Result<Running> {
    let listen = free_port()?;
    let metrics = free_port()?;
    let log_path = |suffix: &str| {
        args.log_dir
            .join(format!("controller-{}-{run}.{suffix}.log", c.label))
    };
    let log = |suffix: &str| std::fs::File::create(log_path(suffix));
    let flags = [
        format!("--listen-addr={listen}"),
        format!("--listen-metrics-addr={metrics}"),
        "--all-namespaces=false".to_owned(),
        "--key-renew-period=0".to_owned(),
    ];
    let mut cmd = match c.kind {
        Kind::Ours => {
            let kubeconfig = match &args.cluster_dir {
                Some(dir) => {
                    // A fresh token of its ServiceAccount, so the audit log tells its requests apart.
                    let cj = cluster_json(dir)?;
                    let out = dir.join(format!("bench-{}.kubeconfig", c.label));
                    run_script(
                        &cj.scripts.join("cluster.sh"),
                        &[
                            "sa-kubeconfig",
                            &dir.to_string_lossy(),
                            &c.namespace,
                            SERVICE_ACCOUNT,
                            &out.to_string_lossy(),
                        ],
                    )?;
                    out
                }
                None => args.kubeconfig.clone(),
            };
            let mut cmd = if c.isolated {
                let mut cmd = Command::new("taskset");
                cmd.args(["-c", "0"]).arg(&args.controller);
                cmd
            } else {
                Command::new(&args.controller)
            };
            cmd.arg(format!("--kubeconfig={}", kubeconfig.display()));
            cmd
        }
        Kind::Bitnami => {
            let dir = args.cluster_dir.as_ref().context("no cluster dir")?;
            let cj = cluster_json(dir)?;
            let sa_dir = dir.join(format!("bench-{}.in-cluster", c.label));
            run_script(
                &cj.scripts.join("cluster.sh"),
                &[
                    "in-cluster-dir",
                    &dir.to_string_lossy(),
                    &c.namespace,
                    SERVICE_ACCOUNT,
                    &c.namespace,
                    &sa_dir.to_string_lossy(),
                ],
            )?;
            let mut cmd = Command::new(cj.scripts.join("in-cluster-exec.sh"));
            cmd.arg(&sa_dir)
                .arg("--")
                .arg(
                    args.bitnami_controller
                        .as_ref()
                        .context("no Bitnami binary")?,
                )
                .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
                .env("KUBERNETES_SERVICE_PORT", cj.apiserver_port.to_string());
            cmd
        }
    };
    let child = cmd
        .args(&flags)
        .args(&c.extra_args)
        .env("POD_NAMESPACE", &c.namespace)
        .stdin(Stdio::null())
        .stdout(log("stdout")?)
        .stderr(log("stderr")?)
        .spawn()
        .with_context(|| format!("starting controller {}", c.label))?;
    if let Some(dir) = &args.cluster_dir {
        // `cluster.sh down` stops it if this program dies first.
        let cj = cluster_json(dir)?;
        let _ = run_script(
            &cj.scripts.join("cluster.sh"),
            &[
                "track",
                &dir.to_string_lossy(),
                &format!("bench-{}", c.label),
                &child.id().to_string(),
            ],
        );
    }
    Ok(Running {
        child,
        metrics,
        stdout_log: log_path("stdout"),
    })
}

fn stop(child: &mut Child) -> anyhow::Result<()> {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    let t = Instant::now();
    while child.try_wait()?.is_none() {
        if t.elapsed() > Duration::from_secs(20) {
            child.kill()?;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// One HTTP/1.1 GET; the body.
fn get(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").context("no HTTP body")?;
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok(body.to_owned());
    }
    // Chunked (Go's net/http): `SIZE-HEX\r\nDATA\r\n` ... `0\r\n\r\n`.
    let mut out = String::new();
    let mut rest = body;
    loop {
        let (size, after) = rest.split_once("\r\n").context("bad chunk")?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(after.get(..size).context("short chunk")?);
        rest = after[size..]
            .strip_prefix("\r\n")
            .context("bad chunk end")?;
    }
}

/// Sum of a metric over its label sets.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let value = match rest.chars().next()? {
                ' ' => rest.trim(),
                '{' => rest.rsplit_once('}')?.1.trim(),
                _ => return None,
            };
            value.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum()
}

/// A `/proc/PID/status` field in KiB (`VmHWM:` peak resident set size, `VmRSS:` current).
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// User + system CPU time of a process so far (fields 14 and 15 of `/proc/PID/stat`).
fn cpu_seconds(pid: u32, ticks: f64) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = &stat[stat.rfind(')')? + 1..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / ticks)
        })
        .unwrap_or(0.0)
}

/// Busy CPU time of the whole machine (all processes: user, nice, system, irq, softirq, steal).
fn machine_busy_cpu(ticks: f64) -> f64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let line = s.lines().next()?;
            let fields: Vec<f64> = line
                .split_whitespace()
                .skip(1)
                .filter_map(|f| f.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal
            let busy = [0, 1, 2, 5, 6, 7]
                .iter()
                .filter_map(|&i| fields.get(i))
                .sum::<f64>();
            Some(busy / ticks)
        })
        .unwrap_or(0.0)
}

/// The control plane's processes (their PIDs in `<dir>/pids/`; not the controllers this program tracks there).
const CONTROL_PLANE: [&str; 3] = ["etcd", "kube-apiserver", "kube-controller-manager"];

/// CPU time of each control-plane process, in the order of [`CONTROL_PLANE`] (0 for one not found).
fn control_plane_cpu_each(dir: Option<&std::path::Path>, ticks: f64) -> [f64; 3] {
    let Some(dir) = dir else { return [0.0; 3] };
    CONTROL_PLANE.map(|n| {
        std::fs::read_to_string(dir.join(format!("pids/{n}.pid")))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
            .map_or(0.0, |pid| cpu_seconds(pid, ticks))
    })
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
