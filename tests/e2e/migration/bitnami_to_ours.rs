//! Bitnami's controller (v0.36.6) runs first and is replaced by ours, keys in the same namespace.

use std::collections::BTreeMap;

use anyhow::{Context as _, ensure};
use sealed_secrets::seal::KEY_HINT_ANNOTATION;
use sealed_secrets_test_support::bitnami::{
    BitnamiController, CONTROLLER_PORT_NAME, CONTROLLER_SERVICE,
};
use sealed_secrets_test_support::{ServiceAccountIdentity, TestContext, manifests, proxy};

use super::helpers::*;
use super::support::{Controller, argo_health, cond};

#[tokio::test]
async fn ours_adopts_bitnamis_key_secrets_and_status_and_generates_no_key() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("migr-b2o").await? else {
        return Ok(());
    };
    manifests::ensure_crd(ctx.cluster, &ctx.client).await?;
    // Bitnami's keys live in `identity.pod_namespace` = the test's namespace, which is also where
    // `Controller::start` points ours (POD_NAMESPACE) and binds the key-admin Role.
    let identity = ServiceAccountIdentity::controller(&ctx).await?;
    ensure!(identity.pod_namespace == ctx.namespace);
    let mut bitnami = BitnamiController::start(&ctx, &identity, &["--key-size=2048"]).await?;

    let keys_before = key_secrets(&ctx).await?;
    ensure!(
        keys_before.len() == 1,
        "Bitnami generated one key: {keys_before:?}"
    );
    let bitnami_cert = cert_through_proxy(&ctx).await?;
    ensure!(
        bitnami_cert.public_key()?.fingerprint().as_str() == keys_before[0].fingerprint,
        "Bitnami serves its key Secret's certificate"
    );
    let cert_file = write_cert(&ctx, &bitnami_cert)?;

    // Sealed offline by Bitnami's kubeseal with `--cert`: the three scopes, one with a full template.
    let cases = [
        Case::new("strict-tpl", "strict", &["username", "password"]).with_template(
            "kubernetes.io/basic-auth",
            &[("app", "demo"), ("tier", "db")],
            &[("team", "payments"), ("example.com/owner", "alice")],
        ),
        Case::new("ns-wide", "namespace-wide", &["api-key"]),
        Case::new("cluster-wide", "cluster-wide", &["token", "ca.crt"]),
    ];
    let mut sealed = BTreeMap::new();
    for case in &cases {
        let ss = seal_and_create(&ctx, Cli::Bitnami, &CertSource::File(&cert_file), case).await?;
        sealed.insert(case.name.clone(), ss);
    }
    let mut before = BTreeMap::new();
    let mut bitnami_status = BTreeMap::new();
    for case in &cases {
        let state = wait_secret_state(&ctx, &case.name, "unsealed by Bitnami", |_| true).await?;
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
    let ctl = Controller::start(&ctx, &[]).await?;
    proxy::expose(
        &ctx.client,
        &ctx.namespace,
        CONTROLLER_SERVICE,
        CONTROLLER_PORT_NAME,
        ctl.listen,
    )
    .await?;

    // Ours adopted Bitnami's key: same certificate (directly and through the proxy), no new key.
    ensure!(
        ctl.cert().await?.der() == bitnami_cert.der(),
        "ours serves Bitnami's certificate"
    );
    ensure!(cert_through_proxy(&ctx).await?.der() == bitnami_cert.der());
    ensure!(
        ctl.metric("sealed_secrets_controller_keys").await? == 1.0,
        "ours loaded exactly one key"
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
            kstatus_compute(theirs),
            "Current",
            "{}: Bitnami's status",
            case.name
        );
        assert_eq!(
            kstatus_compute(&ours),
            kstatus_compute(theirs),
            "{}",
            case.name
        );
        // `Synced` did not transition: ours keeps Bitnami's lastTransitionTime and the condition first.
        let (old, new) = (
            cond(theirs, "Synced").context("Bitnami's Synced")?,
            cond(&ours, "Synced").context("our Synced")?,
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
    for (case, cli) in new_cases.iter().zip([Cli::Bitnami, Cli::Ours]) {
        let ss = seal_and_create(&ctx, cli, &CertSource::Cluster, case).await?;
        let hint = ss
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(KEY_HINT_ANNOTATION));
        match cli {
            Cli::Ours => ensure!(
                hint.map(String::as_str) == Some(keys_before[0].fingerprint.as_str()),
                "our kubeseal names Bitnami's key: {hint:?}"
            ),
            Cli::Bitnami => ensure!(hint.is_none(), "Bitnami's kubeseal writes no hint"),
        }
        let state = wait_secret_state(&ctx, &case.name, "unsealed by ours", |s| {
            s.integrity.is_some()
        })
        .await?;
        check_unsealed(case, &ss, &state)?;
        let status = wait_synced(&ctx, &case.name, true).await?;
        assert_eq!(argo_health(&status), "Healthy");
        assert_eq!(kstatus_compute(&status), "Current");
    }

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
