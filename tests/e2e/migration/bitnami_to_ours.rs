//! Bitnami's controller (v0.36.6) runs first and is replaced by ours, keys in the same namespace.

use std::collections::BTreeMap;

use anyhow::{Context as _, ensure};
use kube::api::PostParams;
use sealed_secrets::SealedSecret;
use sealed_secrets::names::KEY_HINT_ANNOTATION;
use sealed_secrets_test_support::ServiceAccountIdentity;
use sealed_secrets_test_support::bitnami::BitnamiController;

use super::helpers::*;
use crate::support::controller::Controller;
use crate::support::e2e_test;
use crate::support::health::{argo_health, condition, kstatus, synced};
use crate::support::kubeseal::Kubeseal;

e2e_test!(
    ours_adopts_bitnamis_key_secrets_and_status_and_generates_no_key,
    |ctx| async move {
        // Bitnami's keys live in `identity.pod_namespace` = the test's namespace, which is also where
        // `Controller::start` points ours (POD_NAMESPACE) and binds the key-admin Role.
        let identity = ServiceAccountIdentity::controller(&ctx).await?;
        ensure!(identity.pod_namespace == ctx.namespace);
        let mut bitnami = BitnamiController::start(&ctx, &identity, &["--key-size=2048"]).await?;
        let first_keys = key_secrets(&ctx).await?;
        ensure!(
            first_keys.len() == 1,
            "Bitnami generated one key: {first_keys:?}"
        );
        let first_cert = cert_through_proxy(&ctx).await?;
        ensure!(
            first_cert.public_key()?.fingerprint().as_str() == first_keys[0].fingerprint,
            "Bitnami serves its key Secret's certificate"
        );
        let cert_file = write_cert(&ctx, &first_cert)?;

        // Sealed offline by Bitnami's kubeseal with `--cert` (the first key): strict with a full template, and
        // namespace-wide.
        let mut cases = vec![
            Case::new("strict-tpl", "strict", &["username", "password"]).with_template(
                "kubernetes.io/basic-auth",
                &[("app", "demo"), ("tier", "db")],
                &[("team", "payments"), ("example.com/owner", "alice")],
            ),
            Case::new("ns-wide", "namespace-wide", &["api-key"]),
        ];
        let mut sealed = BTreeMap::new();
        for case in &cases {
            let ss = seal_and_create(&ctx, Kubeseal::Bitnami, &CertSource::File(&cert_file), case)
                .await?;
            sealed.insert(case.name.clone(), ss);
            wait_secret_state(&ctx, &case.name, "unsealed by Bitnami", |_| true).await?;
        }

        // A real cluster has several keys (Bitnami renews every 30 days): restart Bitnami with a cutoff time
        // after its key, so that it generates a second, later one; then seal cluster-wide with that one.
        next_second().await;
        let cutoff = now_rfc1123z().await?;
        let exit = bitnami.process.stop()?;
        ensure!(exit.success(), "Bitnami's controller exited with {exit}");
        drop(bitnami);
        let cutoff_flag = format!("--key-cutoff-time={cutoff}");
        let mut bitnami =
            BitnamiController::start(&ctx, &identity, &["--key-size=2048", &cutoff_flag]).await?;
        let keys_before = key_secrets(&ctx).await?;
        ensure!(
            keys_before.len() == 2,
            "Bitnami generated a second key: {keys_before:?}"
        );
        check_key_format(&keys_before)?;
        let bitnami_cert = cert_through_proxy(&ctx).await?;
        let latest = bitnami_cert.public_key()?.fingerprint().as_str().to_owned();
        ensure!(
            latest != first_keys[0].fingerprint
                && keys_before.iter().any(|k| k.fingerprint == latest),
            "Bitnami serves its new key"
        );
        let case = Case::new("cluster-wide", "cluster-wide", &["token", "ca.crt"]);
        let ss = seal_and_create(&ctx, Kubeseal::Bitnami, &CertSource::Cluster, &case).await?;
        sealed.insert(case.name.clone(), ss);
        cases.push(case);

        let mut before = BTreeMap::new();
        let mut bitnami_status = BTreeMap::new();
        for case in &cases {
            let state =
                wait_secret_state(&ctx, &case.name, "unsealed by Bitnami", |_| true).await?;
            check_unsealed(case, &sealed[&case.name], &state)?;
            ensure!(
                state.integrity.is_none(),
                "Bitnami writes no integrity annotation"
            );
            let ss = wait_synced(&ctx, &case.name, false).await?;
            before.insert(case.name.clone(), state);
            bitnami_status.insert(case.name.clone(), ss);
        }

        // The switch.
        let exit = bitnami.process.stop()?;
        ensure!(exit.success(), "Bitnami's controller exited with {exit}");
        let ctl = Controller::start_exposed(&ctx, &[]).await?;

        // Ours adopted Bitnami's key: same certificate (directly and through the proxy), no new key.
        ensure!(
            ctl.cert().await?.der() == bitnami_cert.der(),
            "ours serves Bitnami's latest certificate"
        );
        ensure!(cert_through_proxy(&ctx).await?.der() == bitnami_cert.der());
        ensure!(
            ctl.metric("sealed_secrets_controller_keys").await? == 2.0,
            "ours loaded both keys"
        );
        ensure!(
            key_secrets(&ctx).await? == keys_before,
            "the key Secrets are unchanged"
        );

        // Every Secret is kept (same UID, same content); ours only adds its integrity annotation, once.
        let mut after = BTreeMap::new();
        for case in &cases {
            let state = wait_secret_state(
                &ctx,
                &case.name,
                "integrity annotation added by ours",
                |s| s.integrity.is_some(),
            )
            .await?;
            let old = &before[&case.name];
            ensure!(
                state.uid == old.uid,
                "{}: the Secret was replaced",
                case.name
            );
            assert_eq!(
                state.content, old.content,
                "{}: ours changed the content of Bitnami's Secret",
                case.name
            );
            check_unsealed(case, &sealed[&case.name], &state)?;
            after.insert(case.name.clone(), state);
        }

        // The status ours writes reads as Bitnami's did, for Argo CD and for kstatus (Flux).
        for case in &cases {
            let theirs = &bitnami_status[&case.name];
            let ours = wait_synced(&ctx, &case.name, true).await?;
            assert_eq!(
                argo_health(theirs),
                "Healthy",
                "{}: Bitnami's status",
                case.name
            );
            assert_eq!(argo_health(&ours), argo_health(theirs), "{}", case.name);
            assert_eq!(
                kstatus(theirs),
                "Current",
                "{}: Bitnami's status",
                case.name
            );
            assert_eq!(kstatus(&ours), kstatus(theirs), "{}", case.name);
            // `Synced` did not transition: ours keeps Bitnami's lastTransitionTime and the condition first.
            let (old, new) = (
                condition(theirs, "Synced").context("Bitnami's Synced")?,
                condition(&ours, "Synced").context("our Synced")?,
            );
            assert_eq!(
                new.last_transition_time, old.last_transition_time,
                "{}: Synced lastTransitionTime",
                case.name
            );
            let first = ours.status.as_ref().and_then(|s| s.conditions.as_ref());
            assert_eq!(
                first.and_then(|c| c.first()).map(|c| c.type_.as_str()),
                Some("Synced"),
                "{}: Synced stays first",
                case.name
            );
        }

        // New SealedSecrets after the switch, sealed by both CLIs against the certificate ours serves.
        let new_cases = [
            Case::new("after-bitnami-cli", "strict", &["password"]),
            Case::new("after-our-cli", "namespace-wide", &["password"]).with_template(
                "Opaque",
                &[("app", "later")],
                &[("note", "sealed after the switch")],
            ),
        ];
        for (case, cli) in new_cases.iter().zip([Kubeseal::Bitnami, Kubeseal::Ours]) {
            let ss = seal_and_create(&ctx, cli, &CertSource::Cluster, case).await?;
            let hint = ss
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(KEY_HINT_ANNOTATION));
            match cli {
                Kubeseal::Ours => ensure!(
                    hint == Some(&latest),
                    "our kubeseal names Bitnami's latest key: {hint:?}"
                ),
                Kubeseal::Bitnami => ensure!(hint.is_none(), "Bitnami's kubeseal writes no hint"),
            }
            let state = wait_secret_state(&ctx, &case.name, "unsealed by ours", |s| {
                s.integrity.is_some()
            })
            .await?;
            check_unsealed(case, &ss, &state)?;
            let status = wait_synced(&ctx, &case.name, true).await?;
            assert_eq!(argo_health(&status), "Healthy");
            assert_eq!(kstatus(&status), "Current");
        }

        // After the migration, rotate an object sealed with Bitnami's first key: our kubeseal re-encrypts it
        // through ours (latest key, hint written, scope and template kept); ours unseals it into the same Secret.
        let old = &sealed["strict-tpl"];
        let rotated: SealedSecret = serde_json::from_str(
            &our_kubeseal_cluster(&ctx, &["--re-encrypt", "-o", "json"], &as_committed(old)?)
                .await?,
        )?;
        ensure!(
            rotated
                .spec
                .encrypted_data
                .keys()
                .eq(old.spec.encrypted_data.keys())
                && rotated.spec.encrypted_data != old.spec.encrypted_data
                && rotated.spec.template == old.spec.template,
            "re-encrypted: new values, same items and template"
        );
        let hint = rotated
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(KEY_HINT_ANNOTATION));
        ensure!(
            hint == Some(&latest),
            "re-encrypted with the latest key: {hint:?}"
        );
        let api = ctx.api::<SealedSecret>();
        let mut current = api.get("strict-tpl").await?;
        current.spec = rotated.spec.clone();
        current.metadata.annotations = rotated.metadata.annotations.clone();
        let replaced = api
            .replace("strict-tpl", &PostParams::default(), &current)
            .await?;
        ensure!(replaced.metadata.generation == Some(2));
        ctx.sealed_secret("strict-tpl")
            .wait("generation 2 synced", |ss| {
                Ok(
                    ss.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
                        && synced(ss) == "True",
                )
            })
            .await?;
        let state = wait_secret_state(&ctx, "strict-tpl", "re-unsealed by ours", |s| {
            s.integrity != after["strict-tpl"].integrity
        })
        .await?;
        ensure!(
            state.uid == before["strict-tpl"].uid,
            "strict-tpl: the Secret was replaced"
        );
        assert_eq!(
            state.content, before["strict-tpl"].content,
            "strict-tpl after re-encryption"
        );
        after.insert("strict-tpl".to_owned(), state);

        // Still no new key, and the migrated Secrets were written once (the annotation), not again since.
        ensure!(key_secrets(&ctx).await? == keys_before, "no key generated");
        for case in &cases {
            let now = wait_secret_state(&ctx, &case.name, "exists", |_| true).await?;
            ensure!(
                now.resource_version == after[&case.name].resource_version,
                "{}: ours wrote the Secret again",
                case.name
            );
        }
        Ok(())
    }
);
