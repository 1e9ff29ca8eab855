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
use sealed_secrets_test_support::TestContext;
use sealed_secrets_test_support::wait::wait_for;

use crate::support::controller::Controller;
use crate::support::events::events;
use crate::support::health::{synced, synced_is};
use crate::support::kubeseal::Kubeseal;
use crate::support::sealed::{SecretFixture, integrity, string_data};
use crate::support::{e2e_test, map};

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
        .filter(|s| integrity(s).is_some())
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

e2e_test!(
    a_restart_over_200_up_to_date_sealed_secrets_does_no_rsa_work,
    controller = [],
    |ctx, mut ctl| async move {
        const COUNT: usize = 200;
        let ns = ctx.namespace.clone();
        let cert = ctl.cert().await?;
        for i in 0..COUNT {
            SecretFixture::new(&format!("s{i:03}"))
                .namespace(&ns)
                .data("a", "1")
                .data("b", "2")
                .create_sealed(&ctx.client, &cert)
                .await?;
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
);

e2e_test!(
    secrets_edited_by_hand_are_repaired_after_a_restart,
    controller = [],
    |ctx, mut ctl| async move {
        let cert = ctl.cert().await?;
        for name in ["untouched", "data-edited", "label-edited", "replaced"] {
            SecretFixture::new(name)
                .namespace(&ctx.namespace)
                .data("v", name)
                .create_sealed(&ctx.client, &cert)
                .await?;
        }
        for name in ["untouched", "data-edited", "label-edited", "replaced"] {
            ctx.secret(name)
                .wait("written", |s| Ok(integrity(s).is_some()))
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
            let s = ctx
                .secret(name)
                .wait("repaired", |s| {
                    Ok(string_data(s).get("v").map(String::as_str) == Some(name))
                })
                .await?;
            assert_eq!(string_data(&s), map(&[("v", name)]));
        }
        ctx.secret("label-edited")
            .wait("label removed", |s| {
                Ok(!s
                    .metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key("evil")))
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
);

e2e_test!(
    a_sealed_secret_without_key_hint_from_bitnami_kubeseal_unseals_with_several_keys,
    controller = [],
    |ctx, ctl| async move {
        let ns = ctx.namespace.clone();
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
        let sealed = Kubeseal::Bitnami
            .run_ok(
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
        ctx.kubectl().apply_in(&ns, &sealed).await?;
        let secret = ctx.secret("legacy").wait("exists", |_| Ok(true)).await?;
        assert_eq!(string_data(&secret), map(&[("password", "hunter2")]));
        ctx.sealed_secret("legacy")
            .wait("Synced", synced_is("True"))
            .await?;
        // Newest key first (fails), then the old one.
        assert_eq!(ctl.metric(RSA_OPS).await? - before, 2.0);
        Ok(())
    }
);
