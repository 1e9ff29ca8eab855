//! Scopes on the cluster: a strict SealedSecret renamed or moved fails; namespace-wide may be renamed but not
//! moved; cluster-wide may be both (docs/upstream-behavior.md, "Scopes"). The controller watches the test namespace and a second one.

use std::time::Duration;

use sealed_secrets_test_support::TestContext;

use super::support::*;
use sealed_secrets::names::{
    CLUSTER_WIDE_ANNOTATION as CLUSTER_WIDE, NAMESPACE_WIDE_ANNOTATION as NAMESPACE_WIDE,
};

async fn setup(prefix: &str) -> anyhow::Result<Option<(TestContext, Controller, String)>> {
    let Some(ctx) = TestContext::new(prefix).await? else {
        return Ok(None);
    };
    let other = other_namespace(&ctx.client, prefix).await?;
    let ctl = Controller::start(&ctx, &[&format!("--additional-namespaces={other}")]).await?;
    Ok(Some((ctx, ctl, other)))
}

async fn sealed_for(
    ctl: &Controller,
    ns: &str,
    annotation: Option<&str>,
) -> anyhow::Result<sealed_secrets::SealedSecret> {
    let mut s = secret(ns, "orig", &[("foo", "bar")]);
    if let Some(a) = annotation {
        s.metadata.annotations = Some(map(&[(a, "true")]));
    }
    seal(&ctl.cert().await?, &s)
}

#[tokio::test]
async fn strict_renamed_or_moved_fails() -> anyhow::Result<()> {
    let Some((ctx, ctl, other)) = setup("scope-strict").await? else {
        return Ok(());
    };
    let ns = ctx.namespace.as_str();
    let sealed = sealed_for(&ctl, ns, None).await?;
    create(&ctx.client, &moved(&sealed, ns, "renamed")).await?;
    create(&ctx.client, &moved(&sealed, &other, "orig")).await?;
    wait_event(
        &ctx.client,
        ns,
        "renamed",
        "ErrUnsealFailed",
        "no key could decrypt secret",
    )
    .await?;
    wait_event(
        &ctx.client,
        &other,
        "orig",
        "ErrUnsealFailed",
        "no key could decrypt secret",
    )
    .await?;
    assert_no_secret(&ctx.client, ns, "renamed", Duration::from_millis(500)).await?;
    assert_no_secret(&ctx.client, &other, "orig", Duration::from_millis(500)).await?;
    Ok(())
}

#[tokio::test]
async fn namespace_wide_may_be_renamed_not_moved() -> anyhow::Result<()> {
    let Some((ctx, ctl, other)) = setup("scope-nswide").await? else {
        return Ok(());
    };
    let ns = ctx.namespace.as_str();
    let sealed = sealed_for(&ctl, ns, Some(NAMESPACE_WIDE)).await?;
    create(&ctx.client, &moved(&sealed, ns, "renamed")).await?;
    create(&ctx.client, &moved(&sealed, &other, "orig")).await?;
    let s = wait_secret(&ctx.client, ns, "renamed", "exists", |_| true).await?;
    assert_eq!(data(&s), map(&[("foo", "bar")]));
    wait_event(
        &ctx.client,
        &other,
        "orig",
        "ErrUnsealFailed",
        "no key could decrypt secret",
    )
    .await?;
    assert_no_secret(&ctx.client, &other, "orig", Duration::from_millis(500)).await?;
    Ok(())
}

#[tokio::test]
async fn cluster_wide_may_be_renamed_and_moved() -> anyhow::Result<()> {
    let Some((ctx, ctl, other)) = setup("scope-cwide").await? else {
        return Ok(());
    };
    let ns = ctx.namespace.as_str();
    let sealed = sealed_for(&ctl, ns, Some(CLUSTER_WIDE)).await?;
    create(&ctx.client, &moved(&sealed, ns, "renamed")).await?;
    create(&ctx.client, &moved(&sealed, &other, "elsewhere")).await?;
    assert_eq!(
        data(&wait_secret(&ctx.client, ns, "renamed", "exists", |_| true).await?),
        map(&[("foo", "bar")])
    );
    assert_eq!(
        data(&wait_secret(&ctx.client, &other, "elsewhere", "exists", |_| true).await?),
        map(&[("foo", "bar")])
    );
    wait_sealed(&ctx.client, &other, "elsewhere", "Synced", |ss| {
        Ok(synced(ss) == "True")
    })
    .await?;
    Ok(())
}
