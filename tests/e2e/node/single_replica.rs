//! The single-replica setup the Deployment's comments describe: `replicas: 1` and `--leader-elect=false`. The one
//! replica reconciles without a Lease, serves the certificate and unseals.

use std::time::Duration;

use crate::support::deployment::{Installation, OVERLAY, SINGLE_REPLICA_OVERLAY, seal_and_apply};
use crate::support::e2e_test;

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
            seal_and_apply(&ctx, &ctx.cluster.kubeconfig, "single", "k", "v").await?;
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
