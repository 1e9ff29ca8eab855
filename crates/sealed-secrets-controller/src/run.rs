//! Startup, the leader's work, and shutdown.
//!
//! Order: metrics → Kubernetes client → key watches and both HTTP servers (so `/healthz`
//! answers while keys load; `/readyz` says when the controller is ready) → leader election
//! (a Lease, unless `--leader-elect=false`) → wait for the key Secrets to load → each time this
//! replica becomes the leader: generate a key if there is none (checked with a fresh LIST), start
//! renewal (period, SIGUSR1) and the reconcile loops, which start with a full pass over every
//! SealedSecret; when leadership is lost they stop at once and every write is fenced. Followers
//! serve the HTTP API from the key Secrets they watch. SIGTERM or SIGINT stops the loops, gives the
//! Lease up, and drains the HTTP servers; the process then exits 0.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use futures::future::join_all;
use k8s_openapi::api::core::v1::Namespace;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use sealed_secrets::unseal::UnsealOptions;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::{ClientConfig, Config};
use crate::events::Events;
use crate::http::{self, ApiState, ratelimit::RateLimiter};
use crate::keys::KeyRegistry;
use crate::keys::maker::KeyMaker;
use crate::keys::watch::KeyWatch;
use crate::leader::{self, Leadership};
use crate::metrics::Metrics;
use crate::reconcile::{self, Context, WatchScope};
use crate::unsealer::Unsealer;

/// Reconciles in flight per CPU (the RSA work itself is bounded by the unseal pool).
const RECONCILES_PER_CPU: usize = 4;

/// Longest time a request head may take to arrive (less if `--read-timeout` is shorter).
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How often `--trusted-proxies=auto` reads the API server's addresses again.
const DISCOVERY_PERIOD: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs the controller until SIGTERM/SIGINT.
pub async fn run(config: Config) -> anyhow::Result<()> {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "Starting sealed-secrets controller"
    );
    for notice in &config.notices {
        tracing::warn!("{notice}");
    }
    let shutdown = CancellationToken::new();
    spawn_signal_handlers(shutdown.clone())?;
    let renew_requests = spawn_sigusr1()?;

    let metrics = Metrics::new();
    let client = client(&config.client).await?;
    let namespace = my_namespace(&client);
    let pod = std::env::var("POD_NAME").ok().filter(|s| !s.is_empty());
    let events = Events::new(client.clone(), pod);
    let registry = Arc::new(KeyRegistry::default());
    let options = UnsealOptions {
        accept_deprecated_v1_data: config.reconcile.accept_deprecated_v1_data,
        template_error_detail: false,
    };
    let unsealer = Unsealer::new(
        registry.clone(),
        metrics.clone(),
        Unsealer::default_slots(),
        options,
    );
    let watches_synced = Arc::new(AtomicBool::new(false));
    let mut leadership = match &config.leader {
        Some(election) => Leadership::elect(
            client.clone(),
            &namespace,
            leader::identity(),
            election.clone(),
            metrics.clone(),
        ),
        None => {
            metrics.leader.set(1);
            Leadership::always()
        }
    };

    // HTTP first: bind errors fail startup; probes answer while keys load.
    let api_listener = http::bind(&config.http.listen_addr).await?;
    let metrics_listener = http::bind(&config.http.metrics_addr).await?;
    let trusted = config.http.trusted_proxies.clone();
    if trusted.discovers() {
        tokio::spawn(discover_api_server(client.clone(), trusted.clone()));
    }
    let state = Arc::new(ApiState {
        registry: registry.clone(),
        unsealer: unsealer.clone(),
        limiter: RateLimiter::new(config.http.rate_limit, config.http.rate_limit_burst),
        trusted: trusted.clone(),
        watches_synced: watches_synced.clone(),
        leading: leadership.receiver(),
        ready_once: AtomicBool::new(false),
    });
    let timeout = config.http.write_timeout.max(config.http.read_timeout);
    let limits = http::ServerLimits {
        header_timeout: config.http.read_timeout.min(HEADER_TIMEOUT),
        trusted,
    };
    let api_server = tokio::spawn(http::serve(
        api_listener,
        config.http.listen_addr.clone(),
        http::api_router(state, metrics.clone(), timeout),
        limits.clone(),
        shutdown.clone().cancelled_owned(),
    ));
    let metrics_server = tokio::spawn(http::serve(
        metrics_listener,
        config.http.metrics_addr.clone(),
        http::metrics_router(metrics.clone()),
        limits,
        shutdown.clone().cancelled_owned(),
    ));

    tracing::info!(namespace = %namespace, "Searching for existing private keys");
    let key_watch = KeyWatch {
        client: client.clone(),
        namespace: namespace.clone(),
        prefix: config.keys.prefix.clone(),
        order: config.keys.order,
        registry: registry.clone(),
        metrics: metrics.clone(),
        events: events.clone(),
    };
    tokio::spawn(key_watch.run());
    tokio::select! {
        () = registry.wait_synced() => {}
        () = shutdown.cancelled() => {
            leadership.release().await;
            return drain(api_server, metrics_server).await;
        }
    }

    let scopes = watch_scopes(&client, &config, &namespace).await?;
    let ctx = Arc::new(Context::new(
        client.clone(),
        unsealer,
        metrics,
        events,
        config.reconcile.clone(),
        leadership.receiver(),
    ));
    let maker = KeyMaker {
        client,
        namespace,
        config: config.keys.clone(),
        registry,
        leading: leadership.receiver(),
    };
    let leader = LeaderWork {
        ctx,
        maker,
        scopes,
        watches_synced,
    };

    // Shared so that SIGUSR1 keeps working after leadership is lost and regained.
    let renew_requests = Arc::new(tokio::sync::Mutex::new(renew_requests));
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            () = leadership.acquired() => {}
        }
        let stop = shutdown.child_token();
        let work = leader.run(stop.clone(), renew_requests.clone());
        tokio::pin!(work);
        tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                stop.cancel();
                work.await?;
                break;
            }
            result = &mut work => {
                result?;
                if shutdown.is_cancelled() {
                    break;
                }
            }
            () = leadership.lost() => {
                tracing::warn!("leadership lost; stopping the reconcile loops");
                stop.cancel();
                work.await?;
            }
        }
    }
    // The loops have stopped: only now may another replica take over.
    leadership.release().await;
    drain(api_server, metrics_server).await
}

type Server = tokio::task::JoinHandle<Result<(), http::ServeError>>;

async fn drain(api: Server, metrics: Server) -> anyhow::Result<()> {
    for server in [api, metrics] {
        server.await.context("HTTP server task failed")??;
    }
    tracing::info!("shut down");
    Ok(())
}

/// What only the leader does.
struct LeaderWork {
    ctx: Arc<Context>,
    maker: KeyMaker,
    scopes: Vec<WatchScope>,
    watches_synced: Arc<AtomicBool>,
}

impl LeaderWork {
    /// Ensures a key, renews keys, reconciles; returns when `stop` is cancelled.
    async fn run(
        &self,
        stop: CancellationToken,
        renew_requests: Arc<tokio::sync::Mutex<mpsc::Receiver<()>>>,
    ) -> anyhow::Result<()> {
        self.maker
            .ensure_key()
            .await
            .context("cannot create the initial sealing key")?;
        let renewal = tokio::spawn(self.maker.clone().renew_forever(renew_requests));
        // Reconciles in flight: enough that API round trips (read, write, status, event) overlap
        // the RSA work of others and the unseal pool (one slot per CPU) never idles.
        let concurrency =
            u16::try_from(Unsealer::default_slots().saturating_mul(RECONCILES_PER_CPU))
                .unwrap_or(u16::MAX);
        let mut loops = Vec::new();
        let mut ready = Vec::new();
        for scope in &self.scopes {
            let (tx, rx) = oneshot::channel();
            ready.push(rx);
            loops.push(tokio::spawn(reconcile::run_scope(
                self.ctx.clone(),
                scope.clone(),
                concurrency,
                tx,
                stop.clone(),
            )));
        }
        let synced = self.watches_synced.clone();
        tokio::spawn(async move {
            if join_all(ready).await.iter().all(Result::is_ok) {
                synced.store(true, std::sync::atomic::Ordering::Release);
                tracing::info!("watches synced; ready");
            }
        });
        join_all(loops).await;
        renewal.abort();
        Ok(())
    }
}

/// `--trusted-proxies=auto`: keeps the addresses of the `kubernetes` EndpointSlice in `default`
/// (the API server's) as trusted proxies, read every minute. Without permission to read it (or
/// where it does not exist) no address is added, and clients through the proxy share the API
/// server's address for rate limiting.
async fn discover_api_server(client: Client, trusted: Arc<http::client::TrustedProxies>) {
    use k8s_openapi::api::discovery::v1::EndpointSlice;
    let api: Api<EndpointSlice> = Api::namespaced(client, "default");
    let mut reported = false;
    loop {
        match api.get_opt("kubernetes").await {
            Ok(Some(slice)) => {
                let addresses: Vec<std::net::IpAddr> = slice
                    .endpoints
                    .iter()
                    .flat_map(|e| e.addresses.iter())
                    .filter_map(|a| a.parse().ok())
                    .collect();
                tracing::debug!(addresses = ?addresses, "trusted proxies: the API server's addresses");
                trusted.set_discovered(addresses);
            }
            Ok(None) | Err(_) if !reported => {
                reported = true;
                tracing::info!(
                    "cannot read the API server's addresses (EndpointSlice default/kubernetes); \
                     requests through the service proxy are rate-limited as one client \
                     (set --trusted-proxies to the API server's addresses to limit each client)"
                );
            }
            _ => {}
        }
        tokio::time::sleep(DISCOVERY_PERIOD).await;
    }
}

/// The scopes to watch: every namespace, or the controller's plus `--additional-namespaces`
/// that exist.
async fn watch_scopes(
    client: &Client,
    config: &Config,
    namespace: &str,
) -> anyhow::Result<Vec<WatchScope>> {
    if config.reconcile.all_namespaces {
        return Ok(vec![WatchScope::All]);
    }
    let mut scopes = vec![WatchScope::Namespace(namespace.to_owned())];
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for extra in &config.reconcile.additional_namespaces {
        if extra == namespace {
            continue;
        }
        match namespaces
            .get_opt(extra)
            .await
            .with_context(|| format!("cannot read namespace {extra}"))?
        {
            Some(_) => scopes.push(WatchScope::Namespace(extra.clone())),
            None => tracing::warn!(namespace = %extra, "namespace doesn't exist; not watching it"),
        }
    }
    Ok(scopes)
}

/// The Kubernetes client: `--kubeconfig`, else KUBECONFIG, ~/.kube/config, in-cluster.
async fn client(config: &ClientConfig) -> anyhow::Result<Client> {
    let kube_config = match &config.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .with_context(|| format!("cannot use kubeconfig {}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .context("cannot find Kubernetes credentials")?,
    };
    Client::try_from(kube_config).context("cannot create the Kubernetes client")
}

/// The controller namespace: `POD_NAMESPACE`, else the client's default namespace: in a Pod,
/// the service account's (kube reads its namespace file), else the kubeconfig context's.
fn my_namespace(client: &Client) -> String {
    match std::env::var("POD_NAMESPACE") {
        Ok(ns) if !ns.trim().is_empty() => ns.trim().to_owned(),
        _ => client.default_namespace().to_owned(),
    }
}

fn spawn_signal_handlers(shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
            _ = int.recv() => tracing::info!("SIGINT received; shutting down"),
        }
        shutdown.cancel();
    });
    Ok(())
}

fn spawn_sigusr1() -> anyhow::Result<mpsc::Receiver<()>> {
    let mut usr1 = signal(SignalKind::user_defined1()).context("cannot listen for SIGUSR1")?;
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        while usr1.recv().await.is_some() {
            tracing::info!("SIGUSR1 received; generating a new key");
            if tx.try_send(()).is_err() {
                tracing::warn!("a key renewal is already pending");
            }
        }
    });
    Ok(rx)
}
