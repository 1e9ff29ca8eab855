//! `make bench` (scripts/bench-controller.sh): the controller at scale on a local control plane.
//!
//! Creates `--keys` key Secrets (certificates backdated one day apart, so the last is the latest) and
//! `--objects` SealedSecrets of `--values` values each, every object sealed with a random *older* key and
//! carrying the key hint as our kubeseal writes it. Measures the cost of one RSA-OAEP decryption with such a
//! key on one core, then starts the controller (cold start: no Secret exists yet) and waits until every
//! SealedSecret is Synced, reading the controller's own metrics; then stops it, starts it again and waits
//! until every object has been reconciled again. Prints the time, RSA operations per value and peak RSS
//! (VmHWM) of each run as `key=value` lines.
//!
//! Not a test: it never fails on the numbers. Run it against a throw-away control plane only.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use clap::Parser;
use futures::StreamExt as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
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
    /// The controller binary (release build).
    #[arg(long)]
    controller: PathBuf,
    /// Namespace for keys and SealedSecrets (created; must not exist).
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
    /// Directory for the controller's logs.
    #[arg(long, default_value = "target/bench")]
    log_dir: PathBuf,
    /// State directory of the control plane (`$SSRS_CLUSTER_DIR`): its `pids/` are measured for CPU time.
    #[arg(long)]
    cluster_dir: Option<PathBuf>,
    /// Extra controller flags (repeat).
    #[arg(long = "controller-arg")]
    controller_args: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let kubeconfig = Kubeconfig::read_from(&args.kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let client = Client::try_from(config)?;
    let ns = args.namespace.clone();
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
        .await
        .with_context(|| format!("creating namespace {ns}"))?;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("cores={cores}");
    println!("cpu={}", cpu_model());

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
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for (key, cert) in &keys {
        let secret = keys::to_key_secret(key, cert, &ns, "sealed-secrets-key");
        secrets.create(&PostParams::default(), &secret).await?;
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
            sealed_secrets::crypto::hybrid_encrypt(&mut rng, key.public_key(), b"value", b"ns/n")?;
        let rounds = 200;
        let t = Instant::now();
        for _ in 0..rounds {
            sealed_secrets::crypto::hybrid_decrypt(key, &ciphertext, b"ns/n")?;
        }
        t.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds)
    };
    println!("rsa_decrypt_ms={rsa_ms:.3}");

    // SealedSecrets, each with a random older key (never the latest) and its hint.
    let t = Instant::now();
    let mut rng = rand::thread_rng();
    let older = keys.len().saturating_sub(1).max(1);
    let mut objects = Vec::with_capacity(args.objects);
    for i in 0..args.objects {
        let (key, _) = &keys[rng.gen_range(0..older)];
        let data = (0..args.values)
            .map(|v| {
                let mut value = [0u8; 24];
                rng.fill_bytes(&mut value);
                (format!("value{v}"), ByteString(value.to_vec()))
            })
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
    println!("sealing_s={:.2}", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), &ns);
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
    println!("create_objects_s={:.2}", t.elapsed().as_secs_f64());

    let values = (args.objects * args.values) as f64;
    let ideal_s = values * rsa_ms / 1000.0 / cores as f64;
    println!(
        "values={values} ideal_cold_start_s={ideal_s:.2} target_cold_start_s={:.2}",
        ideal_s * 1.5
    );

    std::fs::create_dir_all(&args.log_dir)?;
    let ticks = clock_ticks();
    for run in ["cold", "restart"] {
        let plane_before = control_plane_cpu(args.cluster_dir.as_deref(), ticks);
        let machine_before = machine_busy_cpu(ticks);
        let mut ctl = start_controller(&args, run)?;
        let t = Instant::now();
        let done = loop {
            if let Some(status) = ctl.child.try_wait()? {
                bail!(
                    "controller exited ({status}); see {}",
                    args.log_dir.display()
                );
            }
            if let Ok(text) = get(ctl.metrics, "/metrics") {
                let requests = metric(&text, "sealed_secrets_controller_unseal_requests_total");
                let synced = metric(&text, "sealed_secrets_controller_condition_info");
                if requests >= args.objects as f64 && synced >= args.objects as f64 {
                    break t.elapsed();
                }
            }
            if t.elapsed() > Duration::from_secs(1800) {
                bail!("not all SealedSecrets synced after 30 minutes");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let text = get(ctl.metrics, "/metrics")?;
        let rsa = metric(
            &text,
            "sealed_secrets_controller_rsa_decrypt_operations_total",
        );
        let skipped = metric(&text, "sealed_secrets_controller_unseal_skipped_total");
        let requests = metric(&text, "sealed_secrets_controller_unseal_requests_total");
        let hwm = peak_rss_kib(ctl.child.id());
        let controller_cpu = cpu_seconds(ctl.child.id(), ticks);
        let plane_cpu = control_plane_cpu(args.cluster_dir.as_deref(), ticks) - plane_before;
        let machine_cpu = machine_busy_cpu(ticks) - machine_before;
        stop(&mut ctl.child)?;
        println!(
            "run={run} synced_s={:.2} rsa_ops={rsa} rsa_ops_per_value={:.3} reconciles={requests} \
             skipped={skipped} peak_rss_mib={:.1} controller_cpu_s={controller_cpu:.2} \
             control_plane_cpu_s={plane_cpu:.2} other_cpu_s={:.2} \
             controller_alone_s={:.2}",
            done.as_secs_f64(),
            rsa / values,
            hwm as f64 / 1024.0,
            (machine_cpu - controller_cpu - plane_cpu).max(0.0),
            controller_cpu / cores as f64,
        );
    }
    // Every SealedSecret really is Synced.
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
    println!("synced_objects={synced}");
    Ok(())
}

struct Running {
    child: Child,
    metrics: SocketAddr,
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn start_controller(args: &Args, run: &str) -> anyhow::Result<Running> {
    let listen = free_port()?;
    let metrics = free_port()?;
    let log = |suffix: &str| {
        std::fs::File::create(args.log_dir.join(format!("controller-{run}.{suffix}.log")))
    };
    let child = Command::new(&args.controller)
        .arg(format!("--kubeconfig={}", args.kubeconfig.display()))
        .arg(format!("--listen-addr={listen}"))
        .arg(format!("--listen-metrics-addr={metrics}"))
        .arg("--all-namespaces=false")
        .arg("--key-renew-period=0")
        .args(&args.controller_args)
        .env("POD_NAMESPACE", &args.namespace)
        .stdin(Stdio::null())
        .stdout(log("stdout")?)
        .stderr(log("stderr")?)
        .spawn()
        .with_context(|| format!("starting {}", args.controller.display()))?;
    Ok(Running { child, metrics })
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
    let (_, body) = raw.split_once("\r\n\r\n").context("no HTTP body")?;
    Ok(body.to_owned())
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

/// VmHWM (peak resident set size) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
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

/// CPU time of the control plane's processes (the PIDs recorded in `<dir>/pids/*.pid`).
fn control_plane_cpu(dir: Option<&std::path::Path>, ticks: f64) -> f64 {
    let Some(entries) = dir.and_then(|d| std::fs::read_dir(d.join("pids")).ok()) else {
        return 0.0;
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u32>().ok())
        .map(|pid| cpu_seconds(pid, ticks))
        .sum()
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
