//! Ownership rules: pre-existing Secrets with `managed`/`patch`, restoring deleted or hand-edited Secrets, and
//! leaving other people's Secrets alone (docs/upstream-behavior.md, "The controller").

use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use sealed_secrets_test_support::TestContext;

use super::support::*;
use sealed_secrets::names::{MANAGED_ANNOTATION as MANAGED, PATCH_ANNOTATION as PATCH};

/// A pre-existing Secret `s` with data other=x, shared=old, label extra=x and `annotations`.
async fn pre_existing(
    ctx: &TestContext,
    annotations: &[(&str, &str)],
    with_content: bool,
) -> anyhow::Result<()> {
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("s".into()),
            annotations: (!annotations.is_empty()).then(|| map(annotations)),
            labels: with_content.then(|| map(&[("extra", "x")])),
            ..Default::default()
        },
        data: with_content.then(|| {
            [("other", "x"), ("shared", "old")]
                .iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect()
        }),
        ..Default::default()
    };
    ctx.api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    Ok(())
}

/// Seals s = {shared: new} with template label tpl=1 and creates it.
async fn seal_s(ctx: &TestContext, ctl: &Controller) -> anyhow::Result<()> {
    let mut s = secret(&ctx.namespace, "s", &[("shared", "new")]);
    s.metadata.labels = Some(map(&[("tpl", "1")]));
    create(&ctx.client, &seal(&ctl.cert().await?, &s)?).await?;
    Ok(())
}

#[tokio::test]
async fn managed_secret_is_taken_over() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("own-managed").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    pre_existing(&ctx, &[(MANAGED, "true")], true).await?;
    seal_s(&ctx, &ctl).await?;
    let s = wait_secret(&ctx.client, &ctx.namespace, "s", "taken over", |s| {
        s.metadata.owner_references.is_some()
    })
    .await?;
    assert_eq!(data(&s), map(&[("shared", "new")]), "data replaced");
    assert_eq!(
        user_annotations(&s).unwrap_or_default().len(),
        0,
        "annotations replaced by the template's (none)"
    );
    assert_eq!(s.metadata.labels, Some(map(&[("tpl", "1")])));
    wait_event(&ctx.client, &ctx.namespace, "s", "Unsealed", "").await?;
    wait_sealed(&ctx.client, &ctx.namespace, "s", "Synced", |ss| {
        Ok(synced(ss) == "True")
    })
    .await?;
    // Deleting it (now owned) re-creates it.
    ctx.api::<Secret>()
        .delete("s", &DeleteParams::default())
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = wait_secret(&ctx.client, &ctx.namespace, "s", "re-created", |s| {
        s.metadata.owner_references.is_some()
    })
    .await?;
    assert_eq!(data(&s), map(&[("shared", "new")]));
    Ok(())
}

#[tokio::test]
async fn managed_and_patch_merges_and_sets_the_owner() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("own-mpatch").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    pre_existing(&ctx, &[(MANAGED, "true"), (PATCH, "true")], true).await?;
    seal_s(&ctx, &ctl).await?;
    let s = wait_secret(&ctx.client, &ctx.namespace, "s", "merged", |s| {
        data(s).get("shared").map(String::as_str) == Some("new")
    })
    .await?;
    assert_eq!(data(&s), map(&[("other", "x"), ("shared", "new")]));
    assert!(s.metadata.owner_references.is_some());
    assert_eq!(
        user_annotations(&s),
        Some(map(&[(MANAGED, "true"), (PATCH, "true")]))
    );
    assert_eq!(
        s.metadata.labels,
        Some(map(&[("extra", "x"), ("tpl", "1")]))
    );
    Ok(())
}

#[tokio::test]
async fn patch_only_merges_without_owner_and_is_not_re_created() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("own-patch").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    pre_existing(&ctx, &[(PATCH, "true")], true).await?;
    seal_s(&ctx, &ctl).await?;
    let s = wait_secret(&ctx.client, &ctx.namespace, "s", "merged", |s| {
        data(s).get("shared").map(String::as_str) == Some("new")
    })
    .await?;
    assert_eq!(data(&s), map(&[("other", "x"), ("shared", "new")]));
    assert!(s.metadata.owner_references.is_none());
    assert_eq!(user_annotations(&s), Some(map(&[(PATCH, "true")])));
    assert_eq!(
        s.metadata.labels,
        Some(map(&[("extra", "x"), ("tpl", "1")]))
    );
    wait_sealed(&ctx.client, &ctx.namespace, "s", "Synced", |ss| {
        Ok(synced(ss) == "True")
    })
    .await?;
    ctx.api::<Secret>()
        .delete("s", &DeleteParams::default())
        .await?;
    assert_no_secret(&ctx.client, &ctx.namespace, "s", Duration::from_secs(3)).await?;
    Ok(())
}

#[tokio::test]
async fn empty_secret_with_patch_gets_the_sealed_data() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("own-empty").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    pre_existing(&ctx, &[(PATCH, "true")], false).await?;
    seal_s(&ctx, &ctl).await?;
    let s = wait_secret(&ctx.client, &ctx.namespace, "s", "patched", |s| {
        s.data.is_some()
    })
    .await?;
    assert_eq!(data(&s), map(&[("shared", "new")]));
    assert!(s.metadata.owner_references.is_none());
    assert_eq!(s.metadata.labels, Some(map(&[("tpl", "1")])));
    assert_eq!(user_annotations(&s), Some(map(&[(PATCH, "true")])));
    Ok(())
}

#[tokio::test]
async fn unowned_secret_is_refused_and_not_re_created_after_deletion() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("own-unowned").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    pre_existing(&ctx, &[], true).await?;
    seal_s(&ctx, &ctl).await?;
    let ss = wait_sealed(&ctx.client, &ctx.namespace, "s", "Synced False", |ss| {
        Ok(synced(ss) == "False")
    })
    .await?;
    assert_eq!(
        cond(&ss, "Synced")
            .and_then(|c| c.message.clone())
            .as_deref(),
        Some("Resource \"s\" already exists and is not managed by SealedSecret")
    );
    wait_event(
        &ctx.client,
        &ctx.namespace,
        "s",
        "ErrUpdateFailed",
        "is not managed by SealedSecret",
    )
    .await?;
    let untouched = ctx.api::<Secret>().get("s").await?;
    assert_eq!(data(&untouched), map(&[("other", "x"), ("shared", "old")]));
    ctx.api::<Secret>()
        .delete("s", &DeleteParams::default())
        .await?;
    assert_no_secret(&ctx.client, &ctx.namespace, "s", Duration::from_secs(3)).await?;
    Ok(())
}

#[tokio::test]
async fn deleted_or_hand_edited_owned_secret_is_restored() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("own-restore").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    create(
        &ctx.client,
        &seal(&ctl.cert().await?, &secret(ns, "r", &[("foo", "bar")]))?,
    )
    .await?;
    let first = wait_secret(&ctx.client, ns, "r", "exists", |_| true).await?;
    ctx.api::<Secret>()
        .delete("r", &DeleteParams::default())
        .await?;
    let again = wait_secret(&ctx.client, ns, "r", "re-created", |s| {
        s.metadata.uid != first.metadata.uid
    })
    .await?;
    assert_eq!(data(&again), map(&[("foo", "bar")]));
    assert!(again.metadata.owner_references.is_some());
    wait_for_unsealed_count(&ctx, "r", 2).await?;
    // Hand edit: data changed and an item added; the controller puts it back.
    let patch = serde_json::json!({"stringData": {"foo": "tampered", "extra": "x"}});
    ctx.api::<Secret>()
        .patch("r", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    wait_secret(&ctx.client, ns, "r", "restored", |s| {
        data(s) == map(&[("foo", "bar")])
    })
    .await?;
    Ok(())
}

async fn wait_for_unsealed_count(
    ctx: &TestContext,
    name: &str,
    at_least: i32,
) -> anyhow::Result<()> {
    let api: Api<k8s_openapi::api::core::v1::Event> = ctx.api();
    sealed_secrets_test_support::wait::wait_for(
        "Unsealed events",
        Duration::from_secs(30),
        || async {
            let list = api
                .list(
                    &kube::api::ListParams::default()
                        .fields(&format!("involvedObject.name={name}")),
                )
                .await?;
            let count: i32 = list
                .items
                .iter()
                .filter(|e| e.reason.as_deref() == Some("Unsealed"))
                .map(|e| e.count.unwrap_or(1))
                .sum();
            Ok((count >= at_least).then_some(()))
        },
    )
    .await
}

#[tokio::test]
async fn unowned_managed_secret_is_re_created_after_deletion() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("own-skipowner").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    let mut s = secret(ns, "m", &[("foo", "bar")]);
    s.metadata.annotations = Some(map(&[
        (MANAGED, "true"),
        (
            "sealedsecrets.bitnami.com/skip-set-owner-references",
            "true",
        ),
    ]));
    create(&ctx.client, &seal(&ctl.cert().await?, &s)?).await?;
    let first = wait_secret(&ctx.client, ns, "m", "exists", |_| true).await?;
    assert!(
        first.metadata.owner_references.is_none(),
        "skip-set-owner-references"
    );
    wait_sealed(
        &ctx.client,
        ns,
        "m",
        "Synced",
        |ss| Ok(synced(ss) == "True"),
    )
    .await?;
    ctx.api::<Secret>()
        .delete("m", &DeleteParams::default())
        .await?;
    let again = wait_secret(&ctx.client, ns, "m", "re-created", |s| {
        s.metadata.uid != first.metadata.uid
    })
    .await?;
    assert_eq!(data(&again), map(&[("foo", "bar")]));
    Ok(())
}
