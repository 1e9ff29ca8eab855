//! The single-replica setup the Deployment's comments describe: `replicas: 1` and `--leader-elect=false`. The one
//! replica reconciles without a Lease, serves the certificate and unseals.

use std::time::Duration;

use crate::support::deployment::{Installation, OVERLAY, SINGLE_REPLICA_OVERLAY};
use crate::support::e2e_test;
use crate::support::health::synced_is;
use crate::support::kubeseal::Kubeseal;
use crate::support::sealed::{SecretFixture, string_data};

e2e_test!(
    one_replica_without_leader_election_serves_and_unseals,
    |ctx| async move {
        let inst = Installation::apply(&ctx, SINGLE_REPLICA_OVERLAY, 1).await?;
        let result = async {
            let pod = inst.pod_names().await?.into_iter().next().expect("one Pod");
            let args = inst
                .deployments
                .get(crate::support::deployment::NAME)
                .await?
                .spec
                .and_then(|s| s.template.spec?.containers.first()?.args.clone());
            assert_eq!(
                args.as_deref(),
                Some(&["--leader-elect=false".to_owned()][..])
            );
            let ns = ctx.namespace.as_str();
            let input = serde_json::to_string(
                &SecretFixture::new("single")
                    .namespace(ns)
                    .data("k", "v")
                    .build(),
            )?;
            let kubeconfig = ctx.cluster.kubeconfig.to_string_lossy().into_owned();
            let sealed = Kubeseal::Ours
                .run_ok(
                    ctx.cluster,
                    &["--kubeconfig", &kubeconfig, "-o", "yaml"],
                    &input,
                )
                .await?;
            ctx.kubectl()
                .run(&["apply", "-n", ns, "-f", "-"], Some(&sealed))
                .await?;
            ctx.sealed_secret("single")
                .wait("Synced=True", synced_is("True"))
                .await?;
            let secret = ctx.secret("single").wait("present", |_| Ok(true)).await?;
            assert_eq!(string_data(&secret).get("k").map(String::as_str), Some("v"));
            // It never took the Lease.
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert_ne!(
                inst.leader().await?.as_deref(),
                Some(pod.as_str()),
                "--leader-elect=false took the Lease"
            );
            inst.assert_no_restarts().await
        }
        .await;
        // Back to the shipped two replicas for the tests that follow, whatever happened here.
        inst.apply_overlay(OVERLAY).await?;
        inst.wait_rolled_out(2).await?;
        result
    }
);
