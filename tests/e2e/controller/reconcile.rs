//! Reconciling: create, update, item renames, types, immutability, wrong keys, scope-annotation changes, and
//! the status as Argo CD and kstatus read it.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use sealed_secrets::SealedSecret;
use sealed_secrets_test_support::TestContext;

use super::support::*;

#[tokio::test]
async fn create_unseals_with_template_labels_status_event_and_healthy_for_argo_and_kstatus()
-> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("ctl-create").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    let mut s = secret(ns, "mysecret", &[("foo", "bar")]);
    s.metadata.labels = Some(map(&[("team", "a")]));
    let sealed = create(&ctx.client, &seal(&ctl.cert().await?, &s)?).await?;
    let secret = wait_secret(&ctx.client, ns, "mysecret", "exists", |_| true).await?;
    assert_eq!(data(&secret), map(&[("foo", "bar")]));
    assert_eq!(secret.metadata.labels, Some(map(&[("team", "a")])));
    let owner = &secret
        .metadata
        .owner_references
        .as_ref()
        .expect("owner reference")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("SealedSecret", Some(true))
    );
    assert_eq!(Some(owner.uid.clone()), sealed.metadata.uid);
    let ss = wait_sealed(&ctx.client, ns, "mysecret", "Synced", |ss| {
        Ok(synced(ss) == "True")
    })
    .await?;
    let c = cond(&ss, "Synced").expect("Synced");
    assert_eq!(c.last_transition_time, c.last_update_time);
    assert_eq!(
        ss.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .map(|c| c[0].type_.clone())
            .as_deref(),
        Some("Synced"),
        "Synced first"
    );
    assert_eq!(
        cond(&ss, "Ready").map(|c| c.reason.clone()),
        Some(Some("Unsealed".to_owned()))
    );
    assert_eq!(argo_health(&ss), "Healthy");
    assert_eq!(kstatus(&ss), "Current");
    wait_event(
        &ctx.client,
        ns,
        "mysecret",
        "Unsealed",
        "SealedSecret unsealed successfully",
    )
    .await?;
    drop(ctl);
    Ok(())
}

#[tokio::test]
async fn spec_update_updates_data_and_observed_generation_without_a_transition()
-> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("ctl-update").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    let cert = ctl.cert().await?;
    create(
        &ctx.client,
        &seal(&cert, &secret(ns, "s", &[("foo", "bar")]))?,
    )
    .await?;
    wait_sealed(
        &ctx.client,
        ns,
        "s",
        "Synced",
        |ss| Ok(synced(ss) == "True"),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resealed = seal(&cert, &secret(ns, "s", &[("foo", "baz")]))?;
    let api: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), ns);
    let patch = serde_json::json!({"spec": {"encryptedData": resealed.spec.encrypted_data}});
    api.patch("s", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    wait_secret(&ctx.client, ns, "s", "foo=baz", |s| {
        data(s).get("foo").map(String::as_str) == Some("baz")
    })
    .await?;
    let ss = wait_sealed(&ctx.client, ns, "s", "observedGeneration 2", |ss| {
        Ok(ss.status.as_ref().and_then(|s| s.observed_generation) == Some(2))
    })
    .await?;
    let c = cond(&ss, "Synced").expect("Synced");
    assert_eq!(c.status, "True");
    assert_ne!(c.last_transition_time, c.last_update_time);
    assert_eq!(kstatus(&ss), "Current");
    Ok(())
}

#[tokio::test]
async fn renamed_and_appended_items() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("ctl-items").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    let cert = ctl.cert().await?;
    let sealed = seal(&cert, &secret(ns, "s", &[("foo", "bar")]))?;
    create(&ctx.client, &sealed).await?;
    wait_secret(&ctx.client, ns, "s", "foo", |s| data(s).contains_key("foo")).await?;
    let api: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), ns);
    // Rename the item: only the new name remains, same value.
    let value = sealed.spec.encrypted_data["foo"].clone();
    let patch = serde_json::json!({"spec": {"encryptedData": {"foo": null, "renamed": value}}});
    api.patch("s", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    wait_secret(&ctx.client, ns, "s", "only renamed", |s| {
        data(s) == map(&[("renamed", "bar")])
    })
    .await?;
    // Append an item: both are there.
    let extra = seal(&cert, &secret(ns, "s", &[("second", "2")]))?
        .spec
        .encrypted_data["second"]
        .clone();
    let patch = serde_json::json!({"spec": {"encryptedData": {"second": extra}}});
    api.patch("s", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    wait_secret(&ctx.client, ns, "s", "both items", |s| {
        data(s) == map(&[("renamed", "bar"), ("second", "2")])
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn template_type_dockerconfigjson() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("ctl-type").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    let mut s = secret(ns, "pull", &[(".dockerconfigjson", r#"{"auths":{}}"#)]);
    s.type_ = Some("kubernetes.io/dockerconfigjson".to_owned());
    create(&ctx.client, &seal(&ctl.cert().await?, &s)?).await?;
    let secret = wait_secret(&ctx.client, ns, "pull", "exists", |_| true).await?;
    assert_eq!(
        secret.type_.as_deref(),
        Some("kubernetes.io/dockerconfigjson")
    );
    assert_eq!(
        data(&secret),
        map(&[(".dockerconfigjson", r#"{"auths":{}}"#)])
    );
    wait_sealed(&ctx.client, ns, "pull", "Synced", |ss| {
        Ok(synced(ss) == "True")
    })
    .await?;
    wait_event(&ctx.client, ns, "pull", "Unsealed", "").await?;
    Ok(())
}

#[tokio::test]
async fn immutable_secret_is_created_and_an_update_reports_immutable() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("ctl-immutable").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    let cert = ctl.cert().await?;
    let mut s = secret(ns, "frozen", &[("foo", "bar")]);
    s.immutable = Some(true);
    create(&ctx.client, &seal(&cert, &s)?).await?;
    let secret = wait_secret(&ctx.client, ns, "frozen", "exists", |_| true).await?;
    assert_eq!(secret.immutable, Some(true));
    wait_sealed(&ctx.client, ns, "frozen", "Synced", |ss| {
        Ok(synced(ss) == "True")
    })
    .await?;
    wait_event(&ctx.client, ns, "frozen", "Unsealed", "").await?;
    let new_value = seal(&cert, &secret_with(ns, "frozen", "baz"))?
        .spec
        .encrypted_data["foo"]
        .clone();
    let api: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), ns);
    let patch = serde_json::json!({"spec": {"encryptedData": {"foo": new_value}}});
    api.patch("frozen", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let ss = wait_sealed(
        &ctx.client,
        ns,
        "frozen",
        "observedGeneration 2 and False",
        |ss| {
            Ok(
                ss.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
                    && synced(ss) == "False",
            )
        },
    )
    .await?;
    assert_eq!(
        cond(&ss, "Ready").and_then(|c| c.reason.clone()).as_deref(),
        Some("SecretImmutable")
    );
    assert_eq!(argo_health(&ss), "Degraded");
    wait_event(
        &ctx.client,
        ns,
        "frozen",
        "ErrUpdateFailed",
        "the target Secret is immutable",
    )
    .await?;
    Ok(())
}

fn secret_with(ns: &str, name: &str, value: &str) -> Secret {
    secret(ns, name, &[("foo", value)])
}

#[tokio::test]
async fn sealed_with_another_key_fails_degraded_and_not_ready() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("ctl-wrongkey").await? else {
        return Ok(());
    };
    let _ctl = Controller::start(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    let other = sealed_secrets::keys::PrivateKey::generate(2048)?;
    let cert = sealed_secrets::keys::Certificate::self_signed(
        &other,
        "",
        std::time::SystemTime::now(),
        Duration::from_secs(3600),
    )?;
    create(
        &ctx.client,
        &seal(&cert, &secret(ns, "wrong", &[("foo", "bar")]))?,
    )
    .await?;
    let ss = wait_sealed(&ctx.client, ns, "wrong", "Synced False", |ss| {
        Ok(synced(ss) == "False")
    })
    .await?;
    assert_eq!(
        cond(&ss, "Synced")
            .and_then(|c| c.message.clone())
            .as_deref(),
        Some("no key could decrypt secret (foo)")
    );
    assert_eq!(argo_health(&ss), "Degraded");
    assert_eq!(kstatus(&ss), "InProgress", "Ready=False is not Current");
    wait_event(
        &ctx.client,
        ns,
        "wrong",
        "ErrUnsealFailed",
        "Failed to unseal: no key could decrypt secret (foo)",
    )
    .await?;
    assert_no_secret(&ctx.client, ns, "wrong", Duration::from_secs(1)).await?;
    Ok(())
}

#[tokio::test]
async fn scope_annotation_change_re_reconciles() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("ctl-scopechange").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    // Sealed cluster-wide, applied without the annotation: strict label, so it fails...
    let mut s = secret(ns, "cw", &[("foo", "bar")]);
    s.metadata.annotations = Some(map(&[("sealedsecrets.bitnami.com/cluster-wide", "true")]));
    let mut sealed = seal(&ctl.cert().await?, &s)?;
    sealed
        .metadata
        .annotations
        .as_mut()
        .expect("annotations")
        .remove("sealedsecrets.bitnami.com/cluster-wide");
    create(&ctx.client, &sealed).await?;
    wait_sealed(&ctx.client, ns, "cw", "Synced False", |ss| {
        Ok(synced(ss) == "False")
    })
    .await?;
    // ...and adding the annotation (metadata only, generation unchanged) makes it unseal.
    let api: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), ns);
    let patch = serde_json::json!({"metadata": {"annotations": {"sealedsecrets.bitnami.com/cluster-wide": "true"}}});
    api.patch("cw", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    wait_secret(&ctx.client, ns, "cw", "unsealed", |s| {
        data(s) == map(&[("foo", "bar")])
    })
    .await?;
    let ss = wait_sealed(&ctx.client, ns, "cw", "Synced True", |ss| {
        Ok(synced(ss) == "True")
    })
    .await?;
    assert_eq!(argo_health(&ss), "Healthy");
    Ok(())
}
