//! Zero-work restarts: a restarted controller confirms up-to-date Secrets by their integrity annotation (spec
//! digest + MAC) with no RSA decryption and no writes, repairs Secrets edited by hand, and still unseals
//! SealedSecrets without a key hint (Bitnami's kubeseal writes none).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::anyhow;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, Patch, PatchParams};
use sealed_secrets::SealedSecret;
use sealed_secrets_test_support::wait::wait_for;
use sealed_secrets_test_support::{TestContext, bitnami};

use super::support::*;
use sealed_secrets::names::INTEGRITY_ANNOTATION as INTEGRITY;

const RSA_OPS: &str = "sealed_secrets_controller_rsa_decrypt_operations_total";
const SKIPPED: &str = "sealed_secrets_controller_unseal_skipped_total";
const REQUESTS: &str = "sealed_secrets_controller_unseal_requests_total";

/// name -> resourceVersion of every Secret in the namespace that the controller wrote.
async fn written_versions(ctx: &TestContext) -> anyhow::Result<BTreeMap<String, String>> {
    Ok(ctx
        .api::<Secret>()
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|s| {
            s.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(INTEGRITY))
        })
        .map(|s| {
            (
                s.metadata.name.unwrap_or_default(),
                s.metadata.resource_version.unwrap_or_default(),
            )
        })
        .collect())
}

async fn wait_metric(ctl: &Controller, name: &str, at_least: f64) -> anyhow::Result<f64> {
    wait_for(
        &format!("{name} >= {at_least}"),
        Duration::from_secs(120),
        || async {
            let v = ctl.metric(name).await?;
            if v >= at_least {
                Ok(Some(v))
            } else {
                Err(anyhow!("{name} = {v}"))
            }
        },
    )
    .await
}

#[tokio::test]
async fn a_restart_over_200_up_to_date_sealed_secrets_does_no_rsa_work() -> anyhow::Result<()> {
    const COUNT: usize = 200;
    let Some(ctx) = TestContext::new("ctl-restart").await? else {
        return Ok(());
    };
    let ns = ctx.namespace.clone();
    let mut ctl = Controller::start(&ctx, &[]).await?;
    let cert = ctl.cert().await?;
    for i in 0..COUNT {
        let sealed = seal(
            &cert,
            &secret(&ns, &format!("s{i:03}"), &[("a", "1"), ("b", "2")]),
        )?;
        create(&ctx.client, &sealed).await?;
    }
    let versions = wait_for("every Secret written", Duration::from_secs(180), || async {
        let v = written_versions(&ctx).await?;
        if v.len() == COUNT {
            Ok(Some(v))
        } else {
            Err(anyhow!("{} of {COUNT}", v.len()))
        }
    })
    .await?;
    let events_before = events(&ctx.client, &ns, "s000").await?;
    let first_ops = ctl.metric(RSA_OPS).await?;
    assert_eq!(
        first_ops,
        (2 * COUNT) as f64,
        "one RSA operation per value with the key hint"
    );
    let status = ctl.process.stop()?;
    assert!(status.success(), "{status}");
    drop(ctl);

    let ctl = Controller::start(&ctx, &[]).await?;
    // Every SealedSecret is reconciled again (the full pass) ...
    wait_metric(&ctl, SKIPPED, COUNT as f64).await?;
    assert!(ctl.metric(REQUESTS).await? >= COUNT as f64);
    // ... with no RSA decryption and no write.
    assert_eq!(ctl.metric(RSA_OPS).await?, 0.0);
    assert_eq!(written_versions(&ctx).await?, versions);
    assert_eq!(
        events(&ctx.client, &ns, "s000").await?,
        events_before,
        "no event on restart"
    );
    let synced_count = ctx
        .api::<SealedSecret>()
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|ss| synced(ss) == "True")
        .count();
    assert_eq!(synced_count, COUNT);
    Ok(())
}

#[tokio::test]
async fn secrets_edited_by_hand_are_repaired_after_a_restart() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("ctl-repair").await? else {
        return Ok(());
    };
    let ns = ctx.namespace.clone();
    let mut ctl = Controller::start(&ctx, &[]).await?;
    let cert = ctl.cert().await?;
    for name in ["untouched", "data-edited", "label-edited", "replaced"] {
        create(
            &ctx.client,
            &seal(&cert, &secret(&ns, name, &[("v", name)]))?,
        )
        .await?;
    }
    for name in ["untouched", "data-edited", "label-edited", "replaced"] {
        wait_secret(&ctx.client, &ns, name, "written", |s| {
            s.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(INTEGRITY))
        })
        .await?;
    }
    ctl.process.stop()?;
    drop(ctl);

    // While the controller is down: change a value, add a label, and replace one Secret wholesale with a copy
    // that carries the old annotation but other data.
    let secrets = ctx.api::<Secret>();
    let patch = |v: serde_json::Value| Patch::Merge(v);
    secrets
        .patch(
            "data-edited",
            &PatchParams::default(),
            &patch(serde_json::json!({"data": {"v": "dGFtcGVyZWQ="}})),
        )
        .await?;
    secrets
        .patch(
            "label-edited",
            &PatchParams::default(),
            &patch(serde_json::json!({"metadata": {"labels": {"evil": "yes"}}})),
        )
        .await?;
    let mut replaced = secrets.get("replaced").await?;
    replaced.data = Some(BTreeMap::from([(
        "v".to_owned(),
        ByteString(b"forged".to_vec()),
    )]));
    replaced.metadata.resource_version = None;
    replaced.metadata.uid = None;
    replaced.metadata.creation_timestamp = None;
    replaced.metadata.managed_fields = None;
    secrets
        .delete("replaced", &kube::api::DeleteParams::default())
        .await?;
    wait_for("old Secret gone", Duration::from_secs(10), || async {
        Ok(secrets.get_opt("replaced").await?.is_none().then_some(()))
    })
    .await?;
    secrets
        .create(&kube::api::PostParams::default(), &replaced)
        .await?;

    let ctl = Controller::start(&ctx, &[]).await?;
    for name in ["data-edited", "replaced"] {
        let s = wait_secret(&ctx.client, &ns, name, "repaired", |s| {
            data(s).get("v").map(String::as_str) == Some(name)
        })
        .await?;
        assert_eq!(data(&s), map(&[("v", name)]));
    }
    wait_secret(&ctx.client, &ns, "label-edited", "label removed", |s| {
        !s.metadata
            .labels
            .as_ref()
            .is_some_and(|l| l.contains_key("evil"))
    })
    .await?;
    wait_metric(&ctl, SKIPPED, 1.0).await?;
    // One value each, opened at the first try (key hint): three RSA operations for three repairs, none for
    // the untouched Secret.
    wait_metric(&ctl, RSA_OPS, 3.0).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(ctl.metric(RSA_OPS).await?, 3.0);
    Ok(())
}

#[tokio::test]
async fn a_sealed_secret_without_key_hint_from_bitnami_kubeseal_unseals_with_several_keys()
-> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("ctl-nohint").await? else {
        return Ok(());
    };
    let ns = ctx.namespace.clone();
    let ctl = Controller::start(&ctx, &[]).await?;
    let old_cert = ctl.cert().await?;
    // A second, newer key (SIGUSR1), so the old one is not the first tried without a hint. Keys are ordered
    // by their certificate's NotBefore (whole seconds): let a second pass first.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let status = std::process::Command::new("kill")
        .args(["-USR1", &ctl.process.pid().to_string()])
        .status()?;
    assert!(status.success());
    wait_metric(&ctl, "sealed_secrets_controller_keys", 2.0).await?;
    wait_for(
        "the new key to be the latest",
        Duration::from_secs(10),
        || async { Ok((ctl.cert().await?.to_pem() != old_cert.to_pem()).then_some(())) },
    )
    .await?;

    let cert_file = ctx
        .cluster
        .test_log_dir()
        .join(format!("{ns}-old-cert.pem"));
    std::fs::write(&cert_file, old_cert.to_pem())?;
    let cert_arg = cert_file.to_string_lossy().into_owned();
    let input = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: legacy\n  namespace: {ns}\nstringData:\n  password: hunter2\n"
    );
    let sealed = bitnami::kubeseal(
        ctx.cluster,
        &["--cert", cert_arg.as_str(), "-o", "yaml"],
        &input,
    )
    .await?;
    assert!(
        !sealed.contains("sealed-secrets-rs.io/sealing-key"),
        "Bitnami's kubeseal writes no hint:\n{sealed}"
    );
    let before = ctl.metric(RSA_OPS).await?;
    ctx.kubectl()
        .run(&["apply", "-n", &ns, "-f", "-"], Some(&sealed))
        .await?;
    let secret = wait_secret(&ctx.client, &ns, "legacy", "exists", |_| true).await?;
    assert_eq!(data(&secret), map(&[("password", "hunter2")]));
    wait_sealed(&ctx.client, &ns, "legacy", "Synced", |ss| {
        Ok(synced(ss) == "True")
    })
    .await?;
    // Newest key first (fails), then the old one.
    assert_eq!(ctl.metric(RSA_OPS).await? - before, 2.0);
    Ok(())
}
