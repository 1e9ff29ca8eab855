//! Our controller runs first and is replaced by Bitnami's (v0.36.6), keys in the same namespace: the way back.

use std::collections::BTreeMap;

use anyhow::ensure;
use sealed_secrets::seal::KEY_HINT_ANNOTATION;
use sealed_secrets_test_support::bitnami::{
    BitnamiController, CONTROLLER_PORT_NAME, CONTROLLER_SERVICE,
};
use sealed_secrets_test_support::{ServiceAccountIdentity, TestContext, proxy};

use super::helpers::*;
use super::support::{Controller, argo_health};

#[tokio::test]
async fn bitnami_adopts_our_key_secret_and_keeps_our_secrets() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("migr-o2b").await? else {
        return Ok(());
    };
    // Ours keeps its keys in the test's namespace (POD_NAMESPACE); Bitnami's identity believes it runs there.
    let mut ctl = Controller::start(&ctx, &[]).await?;
    proxy::expose(
        &ctx.client,
        &ctx.namespace,
        CONTROLLER_SERVICE,
        CONTROLLER_PORT_NAME,
        ctl.listen,
    )
    .await?;
    let keys_before = key_secrets(&ctx).await?;
    ensure!(
        keys_before.len() == 1,
        "ours generated one key: {keys_before:?}"
    );
    let our_cert = ctl.cert().await?;
    let fingerprint = keys_before[0].fingerprint.clone();
    ensure!(our_cert.public_key()?.fingerprint().as_str() == fingerprint);

    // Sealed by our kubeseal through the service proxy (each with our key-hint annotation): three scopes,
    // one with a full template.
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
        let ss = seal_and_create(&ctx, Cli::Ours, &CertSource::Cluster, case).await?;
        let hint = ss
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(KEY_HINT_ANNOTATION));
        ensure!(
            hint == Some(&fingerprint),
            "{}: key hint {hint:?}",
            case.name
        );
        sealed.insert(case.name.clone(), ss);
    }
    let mut before = BTreeMap::new();
    for case in &cases {
        let state = wait_secret_state(&ctx, &case.name, "unsealed by ours", |s| {
            s.integrity.is_some()
        })
        .await?;
        check_unsealed(case, &sealed[&case.name], &state)?;
        let status = wait_synced(&ctx, &case.name, true).await?;
        assert_eq!(argo_health(&status), "Healthy");
        assert_eq!(kstatus_compute(&status), "Current");
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
        "Bitnami serves our certificate"
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
    for (case, cli) in new_cases.iter().zip([Cli::Bitnami, Cli::Ours]) {
        let ss = seal_and_create(&ctx, cli, &CertSource::Cluster, case).await?;
        if cli == Cli::Ours {
            let hint = ss
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(KEY_HINT_ANNOTATION));
            ensure!(hint == Some(&fingerprint), "key hint {hint:?}");
        }
        let state = wait_secret_state(&ctx, &case.name, "unsealed by Bitnami", |_| true).await?;
        ensure!(state.integrity.is_none());
        check_unsealed(case, &ss, &state)?;
        let status = wait_synced(&ctx, &case.name, false).await?;
        assert_eq!(argo_health(&status), "Healthy");
        assert_eq!(kstatus_compute(&status), "Current");
    }
    ensure!(key_secrets(&ctx).await? == keys_before, "no key generated");
    Ok(())
}
