//! Losing the leader: deleting its Pod hands the Lease to another replica at once (the leader releases it on
//! SIGTERM), and nothing is rewritten, lost or generated twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, ListParams};
use sealed_secrets::names::KEY_LABEL;
use sealed_secrets_test_support::wait::wait_for;

use crate::support::deployment::{Installation, NAMESPACE, OVERLAY};
use crate::support::e2e_test;
use crate::support::health::synced_is;
use crate::support::sealed::{SecretFixture, string_data};

/// The Lease duration the controller uses by default: without a release, a new leader takes over after it.
const LEASE_DURATION: Duration = Duration::from_secs(15);
/// The manifests' terminationGracePeriodSeconds.
const GRACE: Duration = Duration::from_secs(30);
/// The shipped Deployment's preStop sleep before SIGTERM.
const PRE_STOP: Duration = Duration::from_secs(3);

e2e_test!(
    deleting_the_leader_pod_hands_over_and_rewrites_nothing,
    |ctx| async move {
        let inst = Installation::apply(&ctx, OVERLAY, 2).await?;
        let ns = ctx.namespace.as_str();
        let cert = crate::support::controller::parse_cert(
            inst.service_get("/v1/cert.pem").await?.1.as_bytes(),
        )?;
        for i in 0..3 {
            SecretFixture::new(&format!("before-{i}"))
                .namespace(ns)
                .data("k", &format!("v{i}"))
                .create_sealed(&ctx.client, &cert)
                .await?;
            ctx.sealed_secret(&format!("before-{i}"))
                .wait("Synced=True", synced_is("True"))
                .await?;
        }
        let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
        let versions = |list: Vec<Secret>| -> BTreeMap<String, String> {
            list.into_iter()
                .filter_map(|s| Some((s.metadata.name?, s.metadata.resource_version?)))
                .collect()
        };
        let before = versions(secrets.list(&ListParams::default()).await?.items);
        let key_secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), NAMESPACE);
        let keys_before = key_secrets
            .list_metadata(&ListParams::default().labels(KEY_LABEL))
            .await?
            .items
            .len();

        let leader = inst.leader().await?.expect("a leader");
        let pods_before = inst.pod_names().await?;
        assert!(
            pods_before.contains(&leader),
            "the leader {leader} is one of {pods_before:?}"
        );
        let deleted = Instant::now();
        inst.pods.delete(&leader, &DeleteParams::default()).await?;
        // The leader releases the Lease on SIGTERM, after the preStop sleep. By then the ReplicaSet's replacement
        // may already be running and competing for it with the other replica; either may win, never the old one.
        let (new_leader, handover) = wait_for(
            &format!("a replica other than {leader} to lead"),
            LEASE_DURATION * 2,
            || async {
                match inst.leader().await? {
                    Some(holder) if holder != leader => Ok(Some((holder, deleted.elapsed()))),
                    holder => Err(anyhow::anyhow!("the Lease is held by {holder:?}")),
                }
            },
        )
        .await?;
        let gone = inst.wait_pod_gone(&leader, GRACE * 2).await?;
        eprintln!(
            "leader {leader} deleted: {new_leader} leads after {handover:?}; the Pod was gone after {gone:?}"
        );
        assert!(
            handover < LEASE_DURATION,
            "the handover took {handover:?}, not less than the lease duration"
        );
        assert!(
            gone < GRACE,
            "the old leader took {gone:?} to exit (grace period {GRACE:?})"
        );

        // Two replicas again, one leader: the one that took over keeps the Lease, the other follows.
        let pods = inst.wait_rolled_out(2).await?;
        let names: BTreeSet<String> = pods
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        assert!(
            names.contains(&new_leader) && !names.contains(&leader),
            "the new leader {new_leader} is one of the rolled-out {names:?}, the old one {leader} is not"
        );
        assert_eq!(
            inst.leader().await?.as_deref(),
            Some(new_leader.as_str()),
            "the Lease stayed with {new_leader}"
        );

        // The new leader works, and rewrote nothing: same resourceVersions, no new key.
        SecretFixture::new("after")
            .namespace(ns)
            .data("k", "after")
            .create_sealed(&ctx.client, &cert)
            .await?;
        ctx.sealed_secret("after")
            .wait("Synced=True", synced_is("True"))
            .await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut after = versions(secrets.list(&ListParams::default()).await?.items);
        let created = after.remove("after");
        assert!(
            created.is_some(),
            "the Secret of a SealedSecret made after the failover exists"
        );
        assert_eq!(after, before, "no Secret was rewritten or lost");
        for i in 0..3 {
            let s = secrets.get(&format!("before-{i}")).await?;
            assert_eq!(string_data(&s).get("k"), Some(&format!("v{i}")));
        }
        let keys_after = key_secrets
            .list_metadata(&ListParams::default().labels(KEY_LABEL))
            .await?
            .items
            .len();
        assert_eq!(keys_after, keys_before, "no second key");
        inst.assert_no_restarts().await
    }
);

e2e_test!(
    sigterm_releases_the_lease_and_the_pod_exits_within_its_grace_period,
    |ctx| async move {
        let inst = Installation::apply(&ctx, OVERLAY, 2).await?;
        let leader = inst.leader().await?.expect("a leader");
        let (_, pid) = inst
            .container_pids()
            .await?
            .into_iter()
            .find(|(pod, _)| *pod == leader)
            .expect("the leader's container");
        // Watch the Lease from the moment of deletion: the leaving leader clears its holder identity (released)
        // or the other replica takes it at once; either way, well before the 15 s lease would run out.
        let deleted = Instant::now();
        inst.pods.delete(&leader, &DeleteParams::default()).await?;
        let released = wait_for(
            "the Lease to leave the deleted leader",
            LEASE_DURATION * 2,
            || async {
                Ok((inst.leader().await?.as_deref() != Some(leader.as_str()))
                    .then(|| deleted.elapsed()))
            },
        )
        .await?;
        // The container process itself exits on SIGTERM (not killed after the grace period).
        let exited = wait_for(
            "the leader's container process to exit",
            GRACE * 2,
            || async {
                Ok((!std::path::Path::new(&format!("/proc/{pid}")).exists())
                    .then(|| deleted.elapsed()))
            },
        )
        .await?;
        eprintln!("Lease left {leader} after {released:?}; its process exited after {exited:?}");
        // The shipped preStop sleep (3 s) keeps the Pod serving before SIGTERM; then the Lease goes at once.
        assert!(
            released < PRE_STOP + Duration::from_secs(5),
            "Lease released after {released:?}"
        );
        assert!(
            exited < PRE_STOP + Duration::from_secs(10),
            "exited after {exited:?}, grace period {GRACE:?}"
        );
        inst.wait_rolled_out(2).await?;
        inst.assert_no_restarts().await
    }
);
