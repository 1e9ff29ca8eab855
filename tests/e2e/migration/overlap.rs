//! A rolling switch: the Deployment is replaced in place, so for a while Bitnami's controller and ours run at
//! once against the same keys and objects (the default RollingUpdate strategy starts the new pod before it
//! stops the old one).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::ensure;
use sealed_secrets_test_support::bitnami::BitnamiController;
use sealed_secrets_test_support::{ServiceAccountIdentity, TestContext};

use super::helpers::*;
use crate::support::controller::Controller;
use crate::support::e2e_test;
use crate::support::health::{argo_health, kstatus};
use crate::support::kubeseal::Kubeseal;

/// How long the Secrets must stay unchanged to count as settled (no write ping-pong between the two).
const QUIET: Duration = Duration::from_secs(2);
/// How long the two may take to settle.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The current state of each case's Secret, by name.
async fn secret_states(
    ctx: &TestContext,
    cases: &[Case],
) -> anyhow::Result<BTreeMap<String, SecretState>> {
    let mut states = BTreeMap::new();
    for case in cases {
        states.insert(
            case.name.clone(),
            wait_secret_state(ctx, &case.name, "exists", |_| true).await?,
        );
    }
    Ok(states)
}

e2e_test!(
    bitnami_and_ours_running_at_once_make_no_key_and_settle,
    |ctx| async move {
        let identity = ServiceAccountIdentity::controller(&ctx).await?;
        let mut bitnami = BitnamiController::start(&ctx, &identity, &["--key-size=2048"]).await?;
        let keys_before = key_secrets(&ctx).await?;
        ensure!(keys_before.len() == 1, "{keys_before:?}");
        let cert = cert_through_proxy(&ctx).await?;
        let cert_file = write_cert(&ctx, &cert)?;
        let mut cases = vec![
            Case::new("strict-tpl", "strict", &["password"]).with_template(
                "Opaque",
                &[("app", "demo")],
                &[("team", "payments")],
            ),
            Case::new("ns-wide", "namespace-wide", &["api-key"]),
        ];
        let mut sealed = BTreeMap::new();
        for case in &cases {
            let ss = seal_and_create(&ctx, Kubeseal::Bitnami, &CertSource::File(&cert_file), case)
                .await?;
            sealed.insert(case.name.clone(), ss);
        }
        let mut before = BTreeMap::new();
        for case in &cases {
            before.insert(
                case.name.clone(),
                wait_secret_state(&ctx, &case.name, "unsealed by Bitnami", |_| true).await?,
            );
            wait_synced(&ctx, &case.name, false).await?;
        }

        // Ours starts while Bitnami still runs: it adopts the key and generates none.
        let ctl = Controller::start(&ctx, &[]).await?;
        ensure!(ctl.cert().await?.der() == cert.der(), "same certificate");

        // A SealedSecret created while both run (sealed by our kubeseal offline, with its key hint): both
        // controllers reconcile it.
        let case = Case::new("during-overlap", "cluster-wide", &["token"]);
        let ss =
            seal_and_create(&ctx, Kubeseal::Ours, &CertSource::File(&cert_file), &case).await?;
        sealed.insert(case.name.clone(), ss);
        cases.push(case);

        // Everything converges to ours' Secrets (integrity annotation present) and status, and then stays put:
        // Bitnami does not react to Secret updates, so the two do not fight over the annotation.
        for case in &cases {
            let state = wait_secret_state(&ctx, &case.name, "annotated by ours", |s| {
                s.integrity.is_some()
            })
            .await?;
            check_unsealed(case, &sealed[&case.name], &state)?;
            if let Some(old) = before.get(&case.name) {
                ensure!(
                    state.uid == old.uid,
                    "{}: the Secret was replaced",
                    case.name
                );
                assert_eq!(state.content, old.content, "{}", case.name);
            }
            let status = wait_synced(&ctx, &case.name, true).await?;
            assert_eq!(argo_health(&status), "Healthy");
            assert_eq!(kstatus(&status), "Current");
        }
        // Both controllers may write each new object once more (Bitnami retries a conflicting update with
        // backoff and drops the annotation, ours restores it), then nothing changes any more.
        let start = std::time::Instant::now();
        let settled = loop {
            let first = secret_states(&ctx, &cases).await?;
            tokio::time::sleep(QUIET).await;
            let second = secret_states(&ctx, &cases).await?;
            let versions = |m: &BTreeMap<String, SecretState>| {
                m.values()
                    .map(|s| s.resource_version.clone())
                    .collect::<Vec<_>>()
            };
            if versions(&first) == versions(&second) {
                break second;
            }
            ensure!(
                start.elapsed() < SETTLE_TIMEOUT,
                "the Secrets keep changing while both controllers run: {:?} -> {:?}",
                versions(&first),
                versions(&second)
            );
        };
        for case in &cases {
            let state = &settled[&case.name];
            ensure!(
                state.integrity.is_some(),
                "{}: ours' annotation stays",
                case.name
            );
            check_unsealed(case, &sealed[&case.name], state)?;
        }

        // The old pod goes away; still one key.
        let exit = bitnami.process.stop()?;
        ensure!(exit.success(), "Bitnami's controller exited with {exit}");
        ensure!(key_secrets(&ctx).await? == keys_before, "no key generated");
        Ok(())
    }
);
