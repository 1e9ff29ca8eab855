//! Installing: the replicas become Ready through their own probes, every Ready replica serves the certificate,
//! and kubeseal reaches a real Pod through the API server's service proxy.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, ListParams};
use sealed_secrets::names::KEY_LABEL;
use sealed_secrets_test_support::ServiceAccountIdentity;
use sealed_secrets_test_support::wait::wait_for;

use crate::support::deployment::{
    Installation, NAME, NAMESPACE, OVERLAY, endpoint_ips, is_ready, seal_and_apply,
};
use crate::support::e2e_test;
use crate::support::health::{argo_health, kstatus};
use crate::support::kubeseal::Kubeseal;

e2e_test!(
    replicas_become_ready_and_a_ready_replica_always_serves_the_certificate,
    |ctx| async move {
        let inst = Installation::apply(&ctx, OVERLAY, 2).await?;
        // Start from nothing: no controller Pod, no key. The leader generates the first key; a replica must not
        // be Ready before it can serve the certificate (a follower learns the key from its watch).
        inst.deployments
            .delete(NAME, &DeleteParams::foreground())
            .await?;
        wait_for(
            "the controller Pods to be gone",
            Duration::from_secs(90),
            || async {
                Ok(inst
                    .pods
                    .list(&ListParams::default().labels("name=sealed-secrets-controller"))
                    .await?
                    .items
                    .is_empty()
                    .then_some(()))
            },
        )
        .await?;
        let keys: Api<Secret> = Api::namespaced(ctx.client.clone(), NAMESPACE);
        keys.delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(KEY_LABEL),
        )
        .await?;

        inst.apply_overlay(OVERLAY).await?;
        let started = Instant::now();
        let mut checked = 0;
        loop {
            let pods = inst.pods().await?;
            let ready: Vec<_> = pods.iter().filter(|p| is_ready(p)).collect();
            for pod in &ready {
                let name = pod.metadata.name.as_deref().unwrap_or_default();
                let (status, body) = inst.pod_get(name, "/v1/cert.pem").await?;
                assert!(
                    status == 200 && body.contains("BEGIN CERTIFICATE"),
                    "Pod {name} is Ready but /v1/cert.pem answered {status}: {body}"
                );
                checked += 1;
            }
            if pods.len() == 2 && ready.len() == 2 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "not Ready after 120 s\n{}",
                inst.diagnose().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!(
            "both replicas Ready {:?} after apply; {checked} certificate reads from Ready replicas",
            started.elapsed()
        );
        inst.wait_rolled_out(2).await?;
        // Their own probes decided: liveness /healthz, readiness /readyz, as shipped.
        for pod in inst.pods().await? {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let c = &pod.spec.as_ref().expect("spec").containers[0];
            let path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
                p.as_ref()
                    .and_then(|p| p.http_get.as_ref())
                    .and_then(|h| h.path.clone())
            };
            assert_eq!(
                path(&c.readiness_probe).as_deref(),
                Some("/readyz"),
                "{name}"
            );
            assert_eq!(
                path(&c.liveness_probe).as_deref(),
                Some("/healthz"),
                "{name}"
            );
            assert_eq!(inst.pod_get(&name, "/readyz").await?.0, 200, "{name}");
        }
        let key_count = keys
            .list_metadata(&ListParams::default().labels(KEY_LABEL))
            .await?
            .items
            .len();
        assert_eq!(key_count, 1, "two replicas starting together make one key");
        inst.assert_no_restarts().await
    }
);

e2e_test!(
    kubeseal_seals_through_the_service_proxy_and_the_pods_unseal,
    |ctx| async move {
        let inst = Installation::apply(&ctx, OVERLAY, 2).await?;
        // The Service's endpoints are the controller Pods themselves, on the node's Pod network.
        let pod_ips: Vec<String> = inst
            .pods()
            .await?
            .iter()
            .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
            .collect();
        let endpoints = endpoint_ips(&ctx.client, false).await?;
        assert!(!endpoints.is_empty(), "the Service has no endpoints");
        for ip in &endpoints {
            assert!(
                pod_ips.contains(ip),
                "endpoint {ip} is not a controller Pod ({pod_ips:?})"
            );
            assert!(
                ip.starts_with(inst.node.pod_cidr.trim_end_matches("0/24")),
                "{ip} is not on the Pod network"
            );
        }

        // An ordinary user (authenticated, no other rights), with kubeseal's defaults: the certificate and the
        // sealing go through the service proxy to a Pod.
        let ns = ctx.namespace.as_str();
        let user = ServiceAccountIdentity::create(ctx.cluster, &ctx.client, ns, "sealer").await?;
        let kubeconfig = user.kubeconfig.to_string_lossy().into_owned();
        let fetched = Kubeseal::Ours
            .run_ok(
                ctx.cluster,
                &["--kubeconfig", &kubeconfig, "--fetch-cert"],
                "",
            )
            .await?;
        let (_, served) = inst.service_get("/v1/cert.pem").await?;
        assert_eq!(
            fetched.trim(),
            served.trim(),
            "kubeseal --fetch-cert returns what the Pods serve"
        );
        let (ss, _) = seal_and_apply(
            &ctx,
            &user.kubeconfig,
            "through-the-proxy",
            "password",
            "hunter2",
        )
        .await?;
        assert_eq!(argo_health(&ss), "Healthy");
        assert_eq!(kstatus(&ss), "Current");
        inst.assert_no_restarts().await
    }
);
