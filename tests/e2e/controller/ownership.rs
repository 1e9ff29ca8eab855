//! Ownership rules: pre-existing Secrets with `managed`/`patch`, restoring deleted or hand-edited Secrets, and
//! leaving other people's Secrets alone (docs/upstream-behavior.md, "The controller").

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use sealed_secrets::names::{MANAGED_ANNOTATION as MANAGED, PATCH_ANNOTATION as PATCH};
use sealed_secrets_test_support::TestContext;

use crate::support::controller::Controller;
use crate::support::events::{wait_event, wait_event_count};
use crate::support::health::{condition, synced_is};
use crate::support::sealed::{SecretFixture, string_data, user_annotations};
use crate::support::{e2e_test, map};

/// A pre-existing Secret `s` with `annotations` (and, `with_content`, data other=x, shared=old and label
/// extra=x), then a SealedSecret `s` = {shared: new} with template label tpl=1.
async fn seal_over_existing(
    ctx: &TestContext,
    ctl: &Controller,
    annotations: &[(&str, &str)],
    with_content: bool,
) -> anyhow::Result<()> {
    let mut existing = SecretFixture::new("s");
    for (k, v) in annotations {
        existing = existing.annotation(k, v);
    }
    if with_content {
        existing = existing
            .label("extra", "x")
            .data("other", "x")
            .data("shared", "old");
    }
    ctx.api::<Secret>()
        .create(&PostParams::default(), &existing.build())
        .await?;
    SecretFixture::new("s")
        .namespace(&ctx.namespace)
        .data("shared", "new")
        .label("tpl", "1")
        .create_sealed(&ctx.client, &ctl.cert().await?)
        .await?;
    Ok(())
}

/// Whether `s` holds the sealed value of `shared`.
fn has_sealed_shared(s: &Secret) -> anyhow::Result<bool> {
    Ok(string_data(s).get("shared").map(String::as_str) == Some("new"))
}

/// Deletes Secret `name` from the test's namespace.
async fn delete_secret(ctx: &TestContext, name: &str) -> anyhow::Result<()> {
    ctx.api::<Secret>()
        .delete(name, &DeleteParams::default())
        .await?;
    Ok(())
}

/// Deletes Secret `name` and checks that the controller does not re-create it (for 3 s).
async fn deleted_for_good(ctx: &TestContext, name: &str) -> anyhow::Result<()> {
    delete_secret(ctx, name).await?;
    ctx.secret(name).stays_absent(Duration::from_secs(3)).await
}

/// Deletes Secret `name` (once it exists) and waits until the controller re-created it (another UID).
async fn deleted_and_re_created(ctx: &TestContext, name: &str) -> anyhow::Result<Secret> {
    let first = ctx.secret(name).wait("exists", |_| Ok(true)).await?;
    delete_secret(ctx, name).await?;
    ctx.secret(name)
        .wait("re-created", |s| Ok(s.metadata.uid != first.metadata.uid))
        .await
}

e2e_test!(
    managed_secret_is_taken_over,
    controller = [],
    |ctx, ctl| async move {
        seal_over_existing(&ctx, &ctl, &[(MANAGED, "true")], true).await?;
        let s = ctx
            .secret("s")
            .wait("taken over", |s| Ok(s.metadata.owner_references.is_some()))
            .await?;
        assert_eq!(string_data(&s), map(&[("shared", "new")]), "data replaced");
        assert_eq!(
            user_annotations(&s).unwrap_or_default().len(),
            0,
            "annotations replaced by the template's (none)"
        );
        assert_eq!(s.metadata.labels, Some(map(&[("tpl", "1")])));
        wait_event(&ctx.client, &ctx.namespace, "s", "Unsealed", "").await?;
        ctx.sealed_secret("s")
            .wait("Synced", synced_is("True"))
            .await?;
        // Deleting it (now owned) re-creates it.
        delete_secret(&ctx, "s").await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let s = ctx
            .secret("s")
            .wait("re-created", |s| Ok(s.metadata.owner_references.is_some()))
            .await?;
        assert_eq!(string_data(&s), map(&[("shared", "new")]));
        Ok(())
    }
);

e2e_test!(
    managed_and_patch_merges_and_sets_the_owner,
    controller = [],
    |ctx, ctl| async move {
        seal_over_existing(&ctx, &ctl, &[(MANAGED, "true"), (PATCH, "true")], true).await?;
        let s = ctx.secret("s").wait("merged", has_sealed_shared).await?;
        assert_eq!(string_data(&s), map(&[("other", "x"), ("shared", "new")]));
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
);

e2e_test!(
    patch_only_merges_without_owner_and_is_not_re_created,
    controller = [],
    |ctx, ctl| async move {
        seal_over_existing(&ctx, &ctl, &[(PATCH, "true")], true).await?;
        let s = ctx.secret("s").wait("merged", has_sealed_shared).await?;
        assert_eq!(string_data(&s), map(&[("other", "x"), ("shared", "new")]));
        assert!(s.metadata.owner_references.is_none());
        assert_eq!(user_annotations(&s), Some(map(&[(PATCH, "true")])));
        assert_eq!(
            s.metadata.labels,
            Some(map(&[("extra", "x"), ("tpl", "1")]))
        );
        ctx.sealed_secret("s")
            .wait("Synced", synced_is("True"))
            .await?;
        deleted_for_good(&ctx, "s").await?;
        Ok(())
    }
);

e2e_test!(
    empty_secret_with_patch_gets_the_sealed_data,
    controller = [],
    |ctx, ctl| async move {
        seal_over_existing(&ctx, &ctl, &[(PATCH, "true")], false).await?;
        let s = ctx
            .secret("s")
            .wait("patched", |s| Ok(s.data.is_some()))
            .await?;
        assert_eq!(string_data(&s), map(&[("shared", "new")]));
        assert!(s.metadata.owner_references.is_none());
        assert_eq!(s.metadata.labels, Some(map(&[("tpl", "1")])));
        assert_eq!(user_annotations(&s), Some(map(&[(PATCH, "true")])));
        Ok(())
    }
);

e2e_test!(
    unowned_secret_is_refused_and_not_re_created_after_deletion,
    controller = [],
    |ctx, ctl| async move {
        seal_over_existing(&ctx, &ctl, &[], true).await?;
        let ss = ctx
            .sealed_secret("s")
            .wait("Synced False", synced_is("False"))
            .await?;
        assert_eq!(
            condition(&ss, "Synced")
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
        assert_eq!(
            string_data(&untouched),
            map(&[("other", "x"), ("shared", "old")])
        );
        deleted_for_good(&ctx, "s").await?;
        Ok(())
    }
);

e2e_test!(
    deleted_or_hand_edited_owned_secret_is_restored,
    controller = [],
    |ctx, ctl| async move {
        let ns = ctx.namespace.as_str();
        SecretFixture::new("r")
            .namespace(ns)
            .data("foo", "bar")
            .create_sealed(&ctx.client, &ctl.cert().await?)
            .await?;
        let again = deleted_and_re_created(&ctx, "r").await?;
        assert_eq!(string_data(&again), map(&[("foo", "bar")]));
        assert!(again.metadata.owner_references.is_some());
        wait_event_count(&ctx.client, ns, "r", "Unsealed", 2).await?;
        // Hand edit: data changed and an item added; the controller puts it back.
        let patch = serde_json::json!({"stringData": {"foo": "tampered", "extra": "x"}});
        ctx.api::<Secret>()
            .patch("r", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        ctx.secret("r")
            .wait("restored", |s| Ok(string_data(s) == map(&[("foo", "bar")])))
            .await?;
        Ok(())
    }
);

e2e_test!(
    unowned_managed_secret_is_re_created_after_deletion,
    controller = [],
    |ctx, ctl| async move {
        let ns = ctx.namespace.as_str();
        SecretFixture::new("m")
            .namespace(ns)
            .data("foo", "bar")
            .annotation(MANAGED, "true")
            .annotation(
                "sealedsecrets.bitnami.com/skip-set-owner-references",
                "true",
            )
            .create_sealed(&ctx.client, &ctl.cert().await?)
            .await?;
        let first = ctx.secret("m").wait("exists", |_| Ok(true)).await?;
        assert!(
            first.metadata.owner_references.is_none(),
            "skip-set-owner-references"
        );
        ctx.sealed_secret("m")
            .wait("Synced", synced_is("True"))
            .await?;
        let again = deleted_and_re_created(&ctx, "m").await?;
        assert_eq!(string_data(&again), map(&[("foo", "bar")]));
        Ok(())
    }
);
