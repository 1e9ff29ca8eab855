//! Voluntary disruptions: a rolling update keeps a ready endpoint that serves the certificate at every moment,
//! and the PodDisruptionBudget refuses to evict the last available replica.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::{EvictParams, Patch, PatchParams};

use sealed_secrets_test_support::wait::wait_for;

use crate::support::deployment::{Installation, NAME, NAMESPACE, OVERLAY, endpoint_ips};
use crate::support::e2e_test;

/// Rolls the Deployment to `args` while reading the certificate through the Service and the Service's ready
/// endpoints every 100 ms; returns (reads, failed reads, moments without a ready endpoint).
async fn roll_while_reading(
    inst: &Installation<'_>,
    args: &[&str],
) -> anyhow::Result<(usize, Vec<String>, usize)> {
    let stop = Arc::new(AtomicBool::new(false));
    let no_endpoint = Arc::new(AtomicUsize::new(0));
    let reader = {
        let stop = stop.clone();
        let no_endpoint = no_endpoint.clone();
        // No retries: a 503 (no endpoint) must count as a failed read, not be retried away.
        let client = inst.ctx.client_without_retries().await?;
        tokio::spawn(async move {
            let (mut reads, mut failures) = (0usize, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let uri = sealed_secrets_test_support::proxy::proxy_path(
                    NAMESPACE,
                    NAME,
                    "http",
                    "/v1/cert.pem",
                );
                let req = http::Request::get(&uri).body(Vec::new()).expect("request");
                match client.request_text(req).await {
                    Ok(body) if body.contains("BEGIN CERTIFICATE") => {}
                    Ok(body) => failures.push(format!("200 without a certificate: {body}")),
                    Err(e) => failures.push(e.to_string()),
                }
                reads += 1;
                let ready = endpoint_ips(&client, true).await.map_or(0, |ips| ips.len());
                if ready == 0 {
                    no_endpoint.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (reads, failures)
        })
    };
    let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": NAME, "args": args}]}}}});
    inst.deployments
        .patch(NAME, &PatchParams::default(), &Patch::Strategic(&patch))
        .await?;
    let rolled = inst.wait_rolled_out(2).await;
    stop.store(true, Ordering::Relaxed);
    let (reads, failures) = reader.await?;
    rolled?;
    Ok((reads, failures, no_endpoint.load(Ordering::Relaxed)))
}

e2e_test!(
    a_rolling_update_always_leaves_a_ready_endpoint_serving_the_certificate,
    |ctx| async move {
        let inst = Installation::apply(&ctx, OVERLAY, 2).await?;
        // A changed argument (the default renewal period, spelled out) rolls both replicas; then back.
        for args in [&["--key-renew-period=720h"][..], &[][..]] {
            let before = inst.pod_names().await?;
            let (reads, failures, no_endpoint) = roll_while_reading(&inst, args).await?;
            let after = inst.pod_names().await?;
            eprintln!(
                "rolled to args {args:?}: {reads} certificate reads, {} failed, {no_endpoint} without a ready endpoint",
                failures.len()
            );
            assert!(
                before.is_disjoint(&after),
                "every Pod was replaced: {before:?} -> {after:?}"
            );
            assert!(reads > 10, "only {reads} reads during the rollout");
            assert!(
                failures.is_empty(),
                "certificate reads failed during the rollout: {failures:?}"
            );
            assert_eq!(no_endpoint, 0, "moments without a ready endpoint");
        }
        inst.assert_no_restarts().await
    }
);

e2e_test!(
    the_disruption_budget_refuses_to_evict_the_last_available_replica,
    |ctx| async move {
        let inst = Installation::apply(&ctx, OVERLAY, 2).await?;
        // The eviction API trusts the budget's status, which the disruption controller keeps: wait until it
        // counts the two Pods now running (right after a rollout it may still count a surge Pod).
        let budgets: Api<PodDisruptionBudget> = Api::namespaced(ctx.client.clone(), NAMESPACE);
        wait_for(
            "the disruption budget to count two healthy Pods",
            Duration::from_secs(60),
            || async {
                let status = budgets.get(NAME).await?.status.unwrap_or_default();
                let settled = status.current_healthy == 2
                    && status.expected_pods == 2
                    && status.disruptions_allowed == 1;
                if settled {
                    Ok(Some(()))
                } else {
                    Err(anyhow::anyhow!("budget status {status:?}"))
                }
            },
        )
        .await?;
        let pods: Vec<String> = inst.pod_names().await?.into_iter().collect();
        // A client that does not retry the 429 (kube's default client would, until the eviction is allowed).
        let pods_api: Api<Pod> = Api::namespaced(ctx.client_without_retries().await?, NAMESPACE);
        let evict = |pod: String| {
            let api = pods_api.clone();
            async move { api.evict(&pod, &EvictParams::default()).await }
        };
        evict(pods[0].clone())
            .await
            .map_err(|e| anyhow::anyhow!("evicting the first replica: {e}"))?;
        // One replica is left available (its replacement is not available for minReadySeconds at least).
        match evict(pods[1].clone()).await {
            Err(kube::Error::Api(e)) => {
                assert_eq!(e.code, 429, "the second eviction: {e:?}");
                eprintln!("second eviction refused: {} {}", e.code, e.message);
            }
            Ok(_) => {
                anyhow::bail!("the PodDisruptionBudget let the last available replica be evicted")
            }
            Err(e) => return Err(e.into()),
        }
        inst.wait_rolled_out(2).await?;
        assert!(
            inst.pod_names().await?.contains(&pods[1]),
            "the refused eviction left {} running",
            pods[1]
        );
        inst.assert_no_restarts().await
    }
);
