//! Our controller runs first and is replaced by Bitnami's (v0.36.6), keys in the same namespace: the way back.

use std::collections::BTreeMap;

use std::time::Duration;

use anyhow::{Context as _, ensure};
use kube::api::{Patch, PatchParams};
use sealed_secrets::SealedSecret;
use sealed_secrets::names::KEY_HINT_ANNOTATION;
use sealed_secrets_test_support::ServiceAccountIdentity;
use sealed_secrets_test_support::bitnami::BitnamiController;
use sealed_secrets_test_support::process::run_to_completion;
use sealed_secrets_test_support::wait::wait_for;

use super::helpers::*;
use crate::support::controller::Controller;
use crate::support::e2e_test;
use crate::support::health::{argo_health, condition, kstatus, synced};
use crate::support::kubeseal::Kubeseal;

e2e_test!(
    bitnami_adopts_our_key_secret_and_keeps_our_secrets,
    |ctx| async move {
        // Ours keeps its keys in the test's namespace (POD_NAMESPACE); Bitnami's identity believes it runs there.
        let mut ctl = Controller::start_exposed(&ctx, &[]).await?;
        let first_keys = key_secrets(&ctx).await?;
        ensure!(
            first_keys.len() == 1,
            "ours generated one key: {first_keys:?}"
        );
        let first = first_keys[0].fingerprint.clone();
        ensure!(ctl.cert().await?.public_key()?.fingerprint().as_str() == first);

        // Sealed by our kubeseal through the service proxy (each with our key-hint annotation): three scopes,
        // one with a full template.
        let mut cases = vec![
            Case::new("strict-tpl", "strict", &["username", "password"]).with_template(
                "kubernetes.io/basic-auth",
                &[("app", "demo"), ("tier", "db")],
                &[("team", "payments"), ("example.com/owner", "alice")],
            ),
            Case::new("ns-wide", "namespace-wide", &["api-key"]),
            Case::new("cluster-wide", "cluster-wide", &["token", "ca.crt"]),
        ];
        let mut sealed = BTreeMap::new();
        let mut hints = BTreeMap::new();
        for case in &cases {
            let ss = seal_and_create(&ctx, Kubeseal::Ours, &CertSource::Cluster, case).await?;
            sealed.insert(case.name.clone(), ss);
            hints.insert(case.name.clone(), first.clone());
        }

        // A second, later key (SIGUSR1, as an operator renews by hand), and one object sealed with it.
        next_second().await;
        run_to_completion(
            std::path::Path::new("kill"),
            &["-USR1", &ctl.process.pid().to_string()],
            None,
        )
        .await?;
        let keys_before = wait_for("a second key Secret", Duration::from_secs(30), || async {
            let keys = key_secrets(&ctx).await?;
            Ok((keys.len() == 2).then_some(keys))
        })
        .await?;
        let our_cert = wait_for(
            "the new certificate served",
            Duration::from_secs(30),
            || async {
                let cert = ctl.cert().await?;
                Ok((cert.public_key()?.fingerprint().as_str() != first).then_some(cert))
            },
        )
        .await?;
        let latest = our_cert.public_key()?.fingerprint().as_str().to_owned();
        ensure!(keys_before.iter().any(|k| k.fingerprint == latest));
        check_key_format(&keys_before)?;
        let case = Case::new("strict-key2", "strict", &["password"]);
        let ss = seal_and_create(&ctx, Kubeseal::Ours, &CertSource::Cluster, &case).await?;
        sealed.insert(case.name.clone(), ss);
        hints.insert(case.name.clone(), latest.clone());
        cases.push(case);

        let mut before = BTreeMap::new();
        for case in &cases {
            let hint = sealed[&case.name]
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(KEY_HINT_ANNOTATION));
            ensure!(
                hint == Some(&hints[&case.name]),
                "{}: key hint {hint:?}",
                case.name
            );
            let state = wait_secret_state(&ctx, &case.name, "unsealed by ours", |s| {
                s.integrity.is_some()
            })
            .await?;
            check_unsealed(case, &sealed[&case.name], &state)?;
            let status = wait_synced(&ctx, &case.name, true).await?;
            assert_eq!(argo_health(&status), "Healthy");
            assert_eq!(kstatus(&status), "Current");
            before.insert(case.name.clone(), state);
        }

        // The switch.
        let exit = ctl.process.stop()?;
        ensure!(exit.success(), "our controller exited with {exit}");
        let identity = ServiceAccountIdentity::controller(&ctx).await?;
        ensure!(identity.pod_namespace == ctx.namespace);
        let _bitnami = BitnamiController::start(&ctx, &identity, &["--key-size=2048"]).await?;

        // Bitnami adopted our key: same certificate through the proxy, no new key.
        ensure!(
            cert_through_proxy(&ctx).await?.der() == our_cert.der(),
            "Bitnami serves our latest certificate"
        );
        ensure!(
            key_secrets(&ctx).await? == keys_before,
            "the key Secrets are unchanged"
        );

        // Bitnami re-processes every SealedSecret at start. It replaces the Secret's annotations with the
        // template's, which drops our integrity annotation: that write is the proof it unsealed the object
        // with our key. Everything else stays (same UID, values, type, labels, other annotations, owner).
        for case in &cases {
            let state = wait_secret_state(&ctx, &case.name, "re-written by Bitnami", |s| {
                s.integrity.is_none()
            })
            .await?;
            let old = &before[&case.name];
            ensure!(
                state.uid == old.uid,
                "{}: the Secret was replaced",
                case.name
            );
            assert_eq!(
                state.content, old.content,
                "{}: Bitnami changed the content of our Secret",
                case.name
            );
            check_unsealed(case, &sealed[&case.name], &state)?;
            let status = wait_synced(&ctx, &case.name, false).await?;
            assert_eq!(argo_health(&status), "Healthy", "{}", case.name);
        }

        // New SealedSecrets after the switch, both CLIs fetching Bitnami's (= our) certificate through the proxy.
        let new_cases = [
            Case::new("after-bitnami-cli", "strict", &["password"]),
            Case::new("after-our-cli", "cluster-wide", &["password"]).with_template(
                "Opaque",
                &[("app", "later")],
                &[("note", "sealed after the switch")],
            ),
        ];
        for (case, cli) in new_cases.iter().zip([Kubeseal::Bitnami, Kubeseal::Ours]) {
            let ss = seal_and_create(&ctx, cli, &CertSource::Cluster, case).await?;
            if cli == Kubeseal::Ours {
                let hint = ss
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(KEY_HINT_ANNOTATION));
                ensure!(hint == Some(&latest), "key hint {hint:?}");
            }
            let state =
                wait_secret_state(&ctx, &case.name, "unsealed by Bitnami", |_| true).await?;
            ensure!(state.integrity.is_none());
            check_unsealed(case, &ss, &state)?;
            let status = wait_synced(&ctx, &case.name, false).await?;
            assert_eq!(argo_health(&status), "Healthy");
            assert_eq!(kstatus(&status), "Current");
        }
        ensure!(key_secrets(&ctx).await? == keys_before, "no key generated");

        // Caveat of the way back (docs/compatibility.md): Bitnami writes only `Synced` and copies the rest of the
        // status it read, so the `Ready` condition ours wrote stays as it was. Break ns-wide (a value sealed for
        // another object): Bitnami reports Synced=False for generation 2 and Argo CD says Degraded, while the
        // stale `Ready=True` makes kstatus (Flux) say Current.
        let foreign = sealed["strict-key2"].spec.encrypted_data["password"].clone();
        let api = ctx.api::<SealedSecret>();
        let patch = serde_json::json!({"spec": {"encryptedData": {"api-key": foreign}}});
        api.patch("ns-wide", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        let broken = ctx
            .sealed_secret("ns-wide")
            .wait("Synced=False for generation 2", |ss| {
                Ok(
                    ss.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
                        && synced(ss) == "False",
                )
            })
            .await?;
        let synced_cond = condition(&broken, "Synced").context("Synced")?;
        let message = synced_cond.message.clone().unwrap_or_default();
        ensure!(
            message.contains("no key could decrypt secret (api-key)"),
            "{message}"
        );
        // Bitnami never sets `reason`: the one ours wrote stays on the now-False condition.
        assert_eq!(
            synced_cond.reason.as_deref(),
            Some("Unsealed"),
            "stale Synced reason"
        );
        assert_eq!(argo_health(&broken), "Degraded");
        let ready = condition(&broken, "Ready").context("ours' Ready condition")?;
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_deref()),
            ("True", Some("Unsealed")),
            "stale Ready"
        );
        assert_eq!(kstatus(&broken), "Current", "kstatus reads the stale Ready");
        // The Secret is left as it was.
        let kept = wait_secret_state(&ctx, "ns-wide", "exists", |_| true).await?;
        assert_eq!(kept.content, before["ns-wide"].content);
        Ok(())
    }
);
