//! The API server's service proxy (`/api/v1/namespaces/NS/services/http:NAME:PORT/proxy/...`) in front of a
//! local process: the process listens on the run's veth host address ([`ClusterInfo::host_ip`]), and a Service
//! with an Endpoints object and an EndpointSlice points at it.
//!
//! Two API server rules shape this (kube-apiserver 1.35 `pkg/registry/core/service/storage.ResourceLocation`):
//! - Endpoints validation rejects loopback addresses, hence the run's own network namespace and veth pair;
//! - the proxy resolves the backend from the core/v1 Endpoints object and "only proxies to addresses that are
//!   actually pods": each address needs a `targetRef` to a Pod in the Service's namespace whose
//!   `status.podIPs` holds that address. So [`expose`] also creates a stand-in Pod (never scheduled: there is no
//!   scheduler or kubelet) and writes the backend address into its status.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde::de::DeserializeOwned;

use crate::cluster::ClusterInfo;
use crate::wait;

/// Port of the Services created by [`expose`] (the shipped `service.yaml` uses 8080 too).
pub const SERVICE_PORT: i32 = 8080;
/// Name of the controller's Service (kubeseal's default `--controller-name`).
pub const CONTROLLER_SERVICE: &str = "sealed-secrets-controller";
/// Port name of that Service (the Helm chart's; kubeseal uses the first port's name).
pub const CONTROLLER_PORT_NAME: &str = "http";

/// A free TCP port on `ip` (bound and released; good enough on a run-private address).
pub fn free_port(ip: IpAddr) -> anyhow::Result<SocketAddr> {
    let listener =
        TcpListener::bind((ip, 0)).with_context(|| format!("binding a free port on {ip}"))?;
    listener.local_addr().context("reading the bound address")
}

/// A free address on the run's veth host address, for a backend reachable through the service proxy.
pub fn free_backend_addr(cluster: &ClusterInfo) -> anyhow::Result<SocketAddr> {
    free_port(IpAddr::V4(cluster.host_ip))
}

/// Makes the service proxy for Service `namespace/name`, port `port_name`, forward to `backend`.
///
/// Creates the Service if it does not exist yet (no selector, port `port_name` = 8080; an existing one, e.g.
/// from `controller-manifests/service.yaml`, is kept), a stand-in Pod `<name>-local` labelled
/// `name: <name>` with `status.podIPs = [backend ip]`, and an Endpoints object and EndpointSlice whose address
/// refers to that Pod.
pub async fn expose(
    client: &Client,
    namespace: &str,
    name: &str,
    port_name: &str,
    backend: SocketAddr,
) -> anyhow::Result<()> {
    let ip = backend.ip().to_string();
    let port = i32::from(backend.port());
    let pod_name = format!("{name}-local");
    let pp = PatchParams::apply("ssrs-e2e").force();
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod: Pod = from_json(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": pod_name, "namespace": namespace, "labels": {"name": name},
            "annotations": {"sealed-secrets-rs/e2e": format!("stand-in for a local process at {backend}")}},
        // On a control plane with a real node, a nodeSelector no node matches keeps the stand-in off the kubelet
        // (which would try to run it and take over its status).
        "spec": {"automountServiceAccountToken": false,
            "nodeSelector": {"sealed-secrets-rs/e2e": "no-node-runs-stand-ins"},
            "containers": [{"name": "local-process", "image": "local.invalid/local-process"}]},
    }))?;
    let pod = pods
        .patch(&pod_name, &pp, &Patch::Apply(&pod))
        .await
        .with_context(|| format!("applying Pod {namespace}/{pod_name}"))?;
    let status =
        serde_json::json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}});
    pods.patch_status(&pod_name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .with_context(|| format!("setting the IP of Pod {namespace}/{pod_name}"))?;
    let target_ref = serde_json::json!({"kind": "Pod", "namespace": namespace, "name": pod_name, "uid": pod.metadata.uid});

    let svc: Service = from_json(serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"name": port_name, "port": SERVICE_PORT, "targetPort": port, "protocol": "TCP"}]},
    }))?;
    let eps: Endpoints = from_json(serde_json::json!({
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": name, "namespace": namespace},
        "subsets": [{"addresses": [{"ip": ip, "targetRef": target_ref}], "ports": [{"name": port_name, "port": port, "protocol": "TCP"}]}],
    }))?;
    let slice: EndpointSlice = from_json(serde_json::json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": format!("{name}-ssrs"), "namespace": namespace, "labels": {
            "kubernetes.io/service-name": name,
            "endpointslice.kubernetes.io/managed-by": "ssrs-test-harness",
        }},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": true}, "targetRef": target_ref}],
        "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
    }))?;
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    if services.get_opt(name).await?.is_none() {
        services
            .create(&PostParams::default(), &svc)
            .await
            .with_context(|| format!("creating Service {namespace}/{name}"))?;
    }
    Api::<Endpoints>::namespaced(client.clone(), namespace)
        .patch(name, &pp, &Patch::Apply(&eps))
        .await
        .with_context(|| format!("applying Endpoints {namespace}/{name}"))?;
    Api::<EndpointSlice>::namespaced(client.clone(), namespace)
        .patch(&format!("{name}-ssrs"), &pp, &Patch::Apply(&slice))
        .await
        .with_context(|| format!("applying EndpointSlice {namespace}/{name}-ssrs"))?;
    Ok(())
}

/// Makes a controller listening on `backend` (ours or Bitnami's) the one kubeseal finds in `namespace`: Service
/// [`CONTROLLER_SERVICE`], port [`CONTROLLER_PORT_NAME`] (see [`expose`]).
pub async fn expose_controller(
    client: &Client,
    namespace: &str,
    backend: SocketAddr,
) -> anyhow::Result<()> {
    expose(
        client,
        namespace,
        CONTROLLER_SERVICE,
        CONTROLLER_PORT_NAME,
        backend,
    )
    .await
}

/// GET `path` from whichever controller is behind Service [`CONTROLLER_SERVICE`] in `namespace`, through the
/// service proxy (see [`proxy_get`]).
pub async fn controller_get(
    client: &Client,
    namespace: &str,
    path: &str,
) -> anyhow::Result<String> {
    proxy_get(
        client,
        namespace,
        CONTROLLER_SERVICE,
        CONTROLLER_PORT_NAME,
        path,
    )
    .await
}

/// `/api/v1/namespaces/NS/services/http:NAME:PORT/proxy/PATH` (`path` starts with `/`).
pub fn proxy_path(namespace: &str, name: &str, port_name: &str, path: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/services/http:{name}:{port_name}/proxy{path}")
}

/// GET through the service proxy; the body as text (errors for non-2xx answers).
pub async fn proxy_get(
    client: &Client,
    namespace: &str,
    name: &str,
    port_name: &str,
    path: &str,
) -> anyhow::Result<String> {
    let uri = proxy_path(namespace, name, port_name, path);
    let req = http::Request::get(&uri)
        .body(Vec::new())
        .context("building the proxy request")?;
    client
        .request_text(req)
        .await
        .with_context(|| format!("GET {uri}"))
}

/// Polls [`proxy_get`] until it succeeds (e.g. until a controller's `/healthz` answers).
pub async fn wait_for_proxy_get(
    client: &Client,
    namespace: &str,
    name: &str,
    port_name: &str,
    path: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    let what = format!("GET {}", proxy_path(namespace, name, port_name, path));
    wait::wait_for(&what, timeout, || async {
        proxy_get(client, namespace, name, port_name, path)
            .await
            .map(Some)
    })
    .await
}

fn from_json<T: DeserializeOwned>(v: serde_json::Value) -> anyhow::Result<T> {
    serde_json::from_value(v).context("building a Kubernetes object")
}
