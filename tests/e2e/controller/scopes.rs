//! Scopes on the cluster: a strict SealedSecret renamed or moved fails; namespace-wide may be renamed but not
//! moved; cluster-wide may be both (docs/upstream-behavior.md, "Scopes"). The controller watches the test namespace and a second one.

use std::time::Duration;

use sealed_secrets::Scope;
use sealed_secrets_test_support::TestContext;

use crate::support::controller::Controller;
use crate::support::events::wait_event;
use crate::support::health::synced_is;
use crate::support::sealed::{SecretFixture, create, moved, string_data};
use crate::support::{e2e_test, map};

/// Starts our controller watching the test's namespace and a second one, seals `orig` = {foo: bar} with
/// `scope` for the test's namespace, and creates it renamed to `renamed` (same namespace) and moved to the
/// second namespace as `moved_name`. Returns the controller and the second namespace.
async fn renamed_and_moved(
    ctx: &TestContext,
    scope: Scope,
    moved_name: &str,
) -> anyhow::Result<(Controller, String)> {
    let other = ctx.another_namespace().await?;
    let ctl = Controller::start(ctx, &[&format!("--additional-namespaces={other}")]).await?;
    let sealed = SecretFixture::new("orig")
        .namespace(&ctx.namespace)
        .data("foo", "bar")
        .scope(scope)
        .seal(&ctl.cert().await?)?;
    create(&ctx.client, &moved(&sealed, &ctx.namespace, "renamed")).await?;
    create(&ctx.client, &moved(&sealed, &other, moved_name)).await?;
    Ok((ctl, other))
}

/// The controller reports that it cannot decrypt `namespace/name`, and writes no Secret for it.
async fn refused(ctx: &TestContext, namespace: &str, name: &str) -> anyhow::Result<()> {
    let reason = "ErrUnsealFailed";
    wait_event(
        &ctx.client,
        namespace,
        name,
        reason,
        "no key could decrypt secret",
    )
    .await?;
    ctx.secret(name)
        .in_namespace(namespace)
        .stays_absent(Duration::from_millis(500))
        .await
}

/// The Secret `namespace/name` holds {foo: bar}.
async fn unsealed(ctx: &TestContext, namespace: &str, name: &str) -> anyhow::Result<()> {
    let secret = ctx
        .secret(name)
        .in_namespace(namespace)
        .wait("exists", |_| Ok(true))
        .await?;
    assert_eq!(string_data(&secret), map(&[("foo", "bar")]), "{name}");
    Ok(())
}

e2e_test!(strict_renamed_or_moved_fails, |ctx| async move {
    let (_ctl, other) = renamed_and_moved(&ctx, Scope::Strict, "orig").await?;
    refused(&ctx, &ctx.namespace, "renamed").await?;
    refused(&ctx, &other, "orig").await?;
    Ok(())
});

e2e_test!(namespace_wide_may_be_renamed_not_moved, |ctx| async move {
    let (_ctl, other) = renamed_and_moved(&ctx, Scope::NamespaceWide, "orig").await?;
    unsealed(&ctx, &ctx.namespace, "renamed").await?;
    refused(&ctx, &other, "orig").await?;
    Ok(())
});

e2e_test!(cluster_wide_may_be_renamed_and_moved, |ctx| async move {
    let (_ctl, other) = renamed_and_moved(&ctx, Scope::ClusterWide, "elsewhere").await?;
    unsealed(&ctx, &ctx.namespace, "renamed").await?;
    unsealed(&ctx, &other, "elsewhere").await?;
    ctx.sealed_secret("elsewhere")
        .in_namespace(&other)
        .wait("Synced", synced_is("True"))
        .await?;
    Ok(())
});
