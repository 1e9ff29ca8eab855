//! High availability: several controller processes elect one leader through a Lease in the controller
//! namespace (under the shipped RBAC); the leader alone reconciles and generates keys, every replica serves
//! the HTTP API, and killing the leader hands over within one lease duration with nothing left unreconciled.
//!
//! Short lease timings keep these tests fast: lease 4 s, renew deadline 2 s, retry period 500 ms.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use sealed_secrets_test_support::TestContext;
use sealed_secrets_test_support::wait::wait_for;

use crate::support::controller::{Controller, START_TIMEOUT};
use crate::support::health::synced_is;
use crate::support::raw_http::http;
use crate::support::sealed::{SecretFixture, string_data};
use crate::support::{e2e_test, map};

const LEASE: Duration = Duration::from_secs(4);
const FAST_LEASE: [&str; 3] = [
    "--leader-elect-lease-duration=4s",
    "--leader-elect-renew-deadline=2s",
    "--leader-elect-retry-period=500ms",
];
const LEASE_NAME: &str = "sealed-secrets-controller";

async fn replica(ctx: &TestContext, name: &str) -> anyhow::Result<Controller> {
    Controller::spawn(ctx, &FAST_LEASE, &[("POD_NAME", name)]).await
}

async fn is_leader(ctl: &Controller) -> bool {
    matches!(ctl.metric("sealed_secrets_controller_leader").await, Ok(v) if v == 1.0)
}

async fn holder(ctx: &TestContext) -> anyhow::Result<(Option<String>, i32)> {
    let lease = ctx.api::<Lease>().get(LEASE_NAME).await?;
    let spec = lease.spec.unwrap_or_default();
    Ok((
        spec.holder_identity,
        spec.lease_transitions.unwrap_or_default(),
    ))
}

async fn key_count(ctx: &TestContext) -> anyhow::Result<usize> {
    Ok(ctx
        .api::<Secret>()
        .list(&ListParams::default().labels(&key_selector()))
        .await?
        .items
        .len())
}

/// Waits until exactly one of `replicas` reports itself the leader; returns its index.
async fn one_leader(replicas: &[&Controller]) -> anyhow::Result<usize> {
    wait_for("exactly one leader", Duration::from_secs(30), || async {
        let mut leaders = Vec::new();
        for (i, r) in replicas.iter().enumerate() {
            if is_leader(r).await {
                leaders.push(i);
            }
        }
        match leaders.as_slice() {
            [one] => Ok(Some(*one)),
            other => Err(anyhow!("leaders: {other:?}")),
        }
    })
    .await
}

async fn seal_and_create(
    ctx: &TestContext,
    ctl: &Controller,
    name: &str,
    value: &str,
) -> anyhow::Result<()> {
    SecretFixture::new(name)
        .namespace(&ctx.namespace)
        .data("v", value)
        .create_sealed(&ctx.client, &ctl.cert().await?)
        .await?;
    Ok(())
}

e2e_test!(
    two_replicas_one_leader_both_serve_the_api_and_sigkill_hands_over_within_the_lease,
    |ctx| async move {
        let ns = ctx.namespace.clone();
        let mut a = replica(&ctx, "replica-a").await?;
        a.wait_ready(START_TIMEOUT).await?;
        let mut b = replica(&ctx, "replica-b").await?;
        b.wait_ready(START_TIMEOUT).await?;
        let leader = one_leader(&[&a, &b]).await?;
        let (mut old, new, new_name) = if leader == 0 {
            (a, b, "replica-b")
        } else {
            (b, a, "replica-a")
        };
        let (holder_before, transitions_before) = holder(&ctx).await?;
        assert_ne!(holder_before.as_deref(), Some(new_name));

        // Both replicas answer the API from the key Secrets they watch.
        let cert = old.cert().await?;
        assert_eq!(new.cert().await?.to_pem(), cert.to_pem());
        let sealed = SecretFixture::new("api")
            .namespace(&ns)
            .data("k", "v")
            .seal(&cert)?;
        let body = serde_json::to_vec(&sealed)?;
        for ctl in [&old, &new] {
            let verify = http(ctl.listen, "POST", "/v1/verify", &[], &body).await?;
            assert_eq!(verify.status, 200, "verify: {}", verify.body);
            let rotate = http(ctl.listen, "POST", "/v1/rotate", &[], &body).await?;
            assert_eq!(rotate.status, 200, "rotate: {}", rotate.body);
        }

        // The leader reconciles; the follower does not write.
        seal_and_create(&ctx, &old, "before", "1").await?;
        ctx.secret("before").wait("exists", |_| Ok(true)).await?;
        assert_eq!(
            new.metric("sealed_secrets_controller_unseal_requests_total")
                .await?,
            0.0
        );

        // SIGKILL the leader; create a SealedSecret during the handover.
        let killed = Instant::now();
        let status = std::process::Command::new("kill")
            .args(["-KILL", &old.process.pid().to_string()])
            .status()
            .context("sending SIGKILL")?;
        assert!(status.success());
        seal_and_create(&ctx, &new, "during", "2").await?;
        wait_for("the follower to take over", LEASE * 3, || async {
            Ok(is_leader(&new).await.then_some(()))
        })
        .await?;
        let handover = killed.elapsed();
        // One lease duration, plus the test's polling and request latency.
        assert!(
            handover <= LEASE + Duration::from_millis(1500),
            "handover took {handover:?} (lease {LEASE:?})"
        );
        let (holder_after, transitions_after) = holder(&ctx).await?;
        assert_eq!(holder_after.as_deref(), Some(new_name));
        assert_eq!(transitions_after, transitions_before + 1);

        // The new leader's full pass reconciles what was created during the handover.
        let secret = ctx.secret("during").wait("exists", |_| Ok(true)).await?;
        assert_eq!(string_data(&secret), map(&[("v", "2")]));
        ctx.sealed_secret("during")
            .wait("Synced", synced_is("True"))
            .await?;
        // No second key, and the Secret written by the old leader verifies without RSA work.
        assert_eq!(key_count(&ctx).await?, 1);
        assert!(
            new.metric("sealed_secrets_controller_unseal_skipped_total")
                .await?
                >= 1.0
        );
        let _ = old.process.try_exit_status();
        eprintln!("handover after SIGKILL: {handover:?}");
        Ok(())
    }
);

e2e_test!(
    sigterm_releases_the_lease_for_a_fast_handover,
    |ctx| async move {
        let mut a = replica(&ctx, "replica-a").await?;
        a.wait_ready(START_TIMEOUT).await?;
        let mut b = replica(&ctx, "replica-b").await?;
        b.wait_ready(START_TIMEOUT).await?;
        let leader = one_leader(&[&a, &b]).await?;
        let (mut old, new) = if leader == 0 { (a, b) } else { (b, a) };
        let stopped = Instant::now();
        let status = old.process.stop()?;
        assert!(status.success(), "exit status {status}");
        wait_for("the follower to take over", LEASE * 2, || async {
            Ok(is_leader(&new).await.then_some(()))
        })
        .await?;
        let handover = stopped.elapsed();
        // The old leader cleared holderIdentity: the follower takes over at its next retry, not after the lease.
        assert!(handover < LEASE, "handover took {handover:?}");
        seal_and_create(&ctx, &new, "after", "3").await?;
        ctx.secret("after").wait("exists", |_| Ok(true)).await?;
        Ok(())
    }
);

e2e_test!(
    three_replicas_started_at_once_on_an_empty_namespace_create_exactly_one_key,
    |ctx| async move {
        assert_eq!(key_count(&ctx).await?, 0);
        let mut replicas = Vec::new();
        for name in ["replica-a", "replica-b", "replica-c"] {
            replicas.push(replica(&ctx, name).await?);
        }
        for r in &mut replicas {
            r.wait_ready(START_TIMEOUT).await?;
        }
        let refs: Vec<&Controller> = replicas.iter().collect();
        let leader = one_leader(&refs).await?;
        assert_eq!(key_count(&ctx).await?, 1);
        // Every replica serves the one key.
        let pem = replicas[leader].cert().await?.to_pem();
        for r in &replicas {
            assert_eq!(r.cert().await?.to_pem(), pem);
        }
        let keys = ctx
            .api::<Secret>()
            .list(&ListParams::default().labels(&key_selector()))
            .await?;
        if keys.items.len() != 1 {
            bail!(
                "expected one key Secret, found {:?}",
                keys.items
                    .iter()
                    .map(|s| s.metadata.name.clone())
                    .collect::<Vec<_>>()
            );
        }
        // Give a late generation a chance to show up.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(key_count(&ctx).await?, 1);
        Ok(())
    }
);

e2e_test!(
    scheduled_renewal_survives_a_failover_without_a_double_key,
    |ctx| async move {
        const PERIOD: Duration = Duration::from_secs(5);
        let args = [
            FAST_LEASE[0],
            FAST_LEASE[1],
            FAST_LEASE[2],
            "--key-renew-period=5s",
        ];
        let mut a = Controller::spawn(&ctx, &args, &[("POD_NAME", "replica-a")]).await?;
        a.wait_ready(START_TIMEOUT).await?;
        let mut b = Controller::spawn(&ctx, &args, &[("POD_NAME", "replica-b")]).await?;
        b.wait_ready(START_TIMEOUT).await?;
        let leader = one_leader(&[&a, &b]).await?;
        let (old, new) = if leader == 0 { (a, b) } else { (b, a) };
        // The first scheduled renewal, then kill the leader right after it.
        wait_for("the first renewal", PERIOD * 3, || async {
            Ok((key_count(&ctx).await? == 2).then_some(()))
        })
        .await?;
        let renewed = Instant::now();
        std::process::Command::new("kill")
            .args(["-KILL", &old.process.pid().to_string()])
            .status()
            .context("sending SIGKILL")?;
        wait_for("the follower to take over", LEASE * 3, || async {
            Ok(is_leader(&new).await.then_some(()))
        })
        .await?;
        // The new leader keeps the schedule: no key right after the takeover ...
        let quiet_until = renewed + PERIOD - Duration::from_millis(1500);
        if let Some(left) = quiet_until.checked_duration_since(Instant::now()) {
            tokio::time::sleep(left).await;
        }
        assert_eq!(
            key_count(&ctx).await?,
            2,
            "no renewal before the period is up"
        );
        // ... and renews once when the period is up.
        wait_for("the next renewal", PERIOD * 3, || async {
            Ok((key_count(&ctx).await? >= 3).then_some(()))
        })
        .await?;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(key_count(&ctx).await?, 3, "exactly one renewal per period");
        Ok(())
    }
);

/// The key Secrets in use: `KEY_LABEL=active`.
fn key_selector() -> String {
    format!(
        "{}={}",
        sealed_secrets::names::KEY_LABEL,
        sealed_secrets::names::KEY_LABEL_ACTIVE
    )
}
