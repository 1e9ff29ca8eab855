//! Reconciling: create, update, item renames, types, immutability, wrong keys, scope-annotation changes, and
//! the status as Argo CD and kstatus read it.

use std::time::Duration;

use kube::api::{Patch, PatchParams};
use sealed_secrets::{Scope, SealedSecret};

use crate::support::events::wait_event;
use crate::support::health::{argo_health, condition, kstatus, synced, synced_is};
use crate::support::sealed::{SecretFixture, create, string_data};
use crate::support::{e2e_test, map};

e2e_test!(
    create_unseals_with_template_labels_status_event_and_healthy_for_argo_and_kstatus,
    controller = [],
    |ctx, ctl| async move {
        let ns = ctx.namespace.as_str();
        let sealed = SecretFixture::new("mysecret")
            .namespace(ns)
            .data("foo", "bar")
            .label("team", "a")
            .create_sealed(&ctx.client, &ctl.cert().await?)
            .await?;
        let secret = ctx.secret("mysecret").wait("exists", |_| Ok(true)).await?;
        assert_eq!(string_data(&secret), map(&[("foo", "bar")]));
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
        let ss = ctx
            .sealed_secret("mysecret")
            .wait("Synced", synced_is("True"))
            .await?;
        let c = condition(&ss, "Synced").expect("Synced");
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
            condition(&ss, "Ready").map(|c| c.reason.clone()),
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
);

e2e_test!(
    spec_update_updates_data_and_observed_generation_without_a_transition,
    controller = [],
    |ctx, ctl| async move {
        let ns = ctx.namespace.as_str();
        let cert = ctl.cert().await?;
        SecretFixture::new("s")
            .namespace(ns)
            .data("foo", "bar")
            .create_sealed(&ctx.client, &cert)
            .await?;
        ctx.sealed_secret("s")
            .wait("Synced", synced_is("True"))
            .await?;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let resealed = SecretFixture::new("s")
            .namespace(ns)
            .data("foo", "baz")
            .seal(&cert)?;
        let api = ctx.api::<SealedSecret>();
        let patch = serde_json::json!({"spec": {"encryptedData": resealed.spec.encrypted_data}});
        api.patch("s", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        ctx.secret("s")
            .wait("foo=baz", |s| {
                Ok(string_data(s).get("foo").map(String::as_str) == Some("baz"))
            })
            .await?;
        let ss = ctx
            .sealed_secret("s")
            .wait("observedGeneration 2", |ss| {
                Ok(ss.status.as_ref().and_then(|s| s.observed_generation) == Some(2))
            })
            .await?;
        let c = condition(&ss, "Synced").expect("Synced");
        assert_eq!(c.status, "True");
        assert_ne!(c.last_transition_time, c.last_update_time);
        assert_eq!(kstatus(&ss), "Current");
        Ok(())
    }
);

e2e_test!(
    renamed_and_appended_items,
    controller = [],
    |ctx, ctl| async move {
        let ns = ctx.namespace.as_str();
        let cert = ctl.cert().await?;
        let sealed = SecretFixture::new("s")
            .namespace(ns)
            .data("foo", "bar")
            .seal(&cert)?;
        create(&ctx.client, &sealed).await?;
        ctx.secret("s")
            .wait("foo", |s| Ok(string_data(s).contains_key("foo")))
            .await?;
        let api = ctx.api::<SealedSecret>();
        // Rename the item: only the new name remains, same value.
        let value = sealed.spec.encrypted_data["foo"].clone();
        let patch = serde_json::json!({"spec": {"encryptedData": {"foo": null, "renamed": value}}});
        api.patch("s", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        ctx.secret("s")
            .wait("only renamed", |s| {
                Ok(string_data(s) == map(&[("renamed", "bar")]))
            })
            .await?;
        // Append an item: both are there.
        let extra = SecretFixture::new("s")
            .namespace(ns)
            .data("second", "2")
            .seal(&cert)?
            .spec
            .encrypted_data["second"]
            .clone();
        let patch = serde_json::json!({"spec": {"encryptedData": {"second": extra}}});
        api.patch("s", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        ctx.secret("s")
            .wait("both items", |s| {
                Ok(string_data(s) == map(&[("renamed", "bar"), ("second", "2")]))
            })
            .await?;
        Ok(())
    }
);

e2e_test!(
    template_type_dockerconfigjson,
    controller = [],
    |ctx, ctl| async move {
        let ns = ctx.namespace.as_str();
        SecretFixture::new("pull")
            .namespace(ns)
            .data(".dockerconfigjson", r#"{"auths":{}}"#)
            .type_("kubernetes.io/dockerconfigjson")
            .create_sealed(&ctx.client, &ctl.cert().await?)
            .await?;
        let secret = ctx.secret("pull").wait("exists", |_| Ok(true)).await?;
        assert_eq!(
            secret.type_.as_deref(),
            Some("kubernetes.io/dockerconfigjson")
        );
        assert_eq!(
            string_data(&secret),
            map(&[(".dockerconfigjson", r#"{"auths":{}}"#)])
        );
        ctx.sealed_secret("pull")
            .wait("Synced", synced_is("True"))
            .await?;
        wait_event(&ctx.client, ns, "pull", "Unsealed", "").await?;
        Ok(())
    }
);

e2e_test!(
    immutable_secret_is_created_and_an_update_reports_immutable,
    controller = [],
    |ctx, ctl| async move {
        let ns = ctx.namespace.as_str();
        let cert = ctl.cert().await?;
        SecretFixture::new("frozen")
            .namespace(ns)
            .data("foo", "bar")
            .immutable()
            .create_sealed(&ctx.client, &cert)
            .await?;
        let secret = ctx.secret("frozen").wait("exists", |_| Ok(true)).await?;
        assert_eq!(secret.immutable, Some(true));
        ctx.sealed_secret("frozen")
            .wait("Synced", synced_is("True"))
            .await?;
        wait_event(&ctx.client, ns, "frozen", "Unsealed", "").await?;
        let new_value = SecretFixture::new("frozen")
            .namespace(ns)
            .data("foo", "baz")
            .seal(&cert)?
            .spec
            .encrypted_data["foo"]
            .clone();
        let api = ctx.api::<SealedSecret>();
        let patch = serde_json::json!({"spec": {"encryptedData": {"foo": new_value}}});
        api.patch("frozen", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        let ss = ctx
            .sealed_secret("frozen")
            .wait("observedGeneration 2 and False", |ss| {
                Ok(
                    ss.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
                        && synced(ss) == "False",
                )
            })
            .await?;
        assert_eq!(
            condition(&ss, "Ready")
                .and_then(|c| c.reason.clone())
                .as_deref(),
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
);

e2e_test!(
    sealed_with_another_key_fails_degraded_and_not_ready,
    controller = [],
    |ctx, _ctl| async move {
        let ns = ctx.namespace.as_str();
        let other = sealed_secrets::keys::PrivateKey::generate(2048)?;
        let cert = sealed_secrets::keys::Certificate::self_signed(
            &other,
            "",
            std::time::SystemTime::now(),
            Duration::from_secs(3600),
        )?;
        SecretFixture::new("wrong")
            .namespace(ns)
            .data("foo", "bar")
            .create_sealed(&ctx.client, &cert)
            .await?;
        let ss = ctx
            .sealed_secret("wrong")
            .wait("Synced False", synced_is("False"))
            .await?;
        assert_eq!(
            condition(&ss, "Synced")
                .and_then(|c| c.message.clone())
                .as_deref(),
            Some("no key could decrypt secret (foo)")
        );
        assert_eq!(argo_health(&ss), "Degraded");
        // No key decrypts it, which retrying cannot fix: Stalled=True, so kstatus reads Failed at once (Ready=False
        // alone would read InProgress until a GitOps agent's timeout).
        assert_eq!(kstatus(&ss), "Failed", "Stalled=True is Failed");
        assert_eq!(
            condition(&ss, "Stalled").map(|c| (c.status.clone(), c.reason.clone())),
            Some(("True".to_owned(), Some("NoMatchingKey".to_owned())))
        );
        wait_event(
            &ctx.client,
            ns,
            "wrong",
            "ErrUnsealFailed",
            "Failed to unseal: no key could decrypt secret (foo)",
        )
        .await?;
        ctx.secret("wrong")
            .stays_absent(Duration::from_secs(1))
            .await?;
        Ok(())
    }
);

e2e_test!(
    scope_annotation_change_re_reconciles,
    controller = [],
    |ctx, ctl| async move {
        let ns = ctx.namespace.as_str();
        // Sealed cluster-wide, applied without the annotation: strict label, so it fails...
        let mut sealed = SecretFixture::new("cw")
            .namespace(ns)
            .data("foo", "bar")
            .scope(Scope::ClusterWide)
            .seal(&ctl.cert().await?)?;
        sealed
            .metadata
            .annotations
            .as_mut()
            .expect("annotations")
            .remove("sealedsecrets.bitnami.com/cluster-wide");
        create(&ctx.client, &sealed).await?;
        ctx.sealed_secret("cw")
            .wait("Synced False", synced_is("False"))
            .await?;
        // ...and adding the annotation (metadata only, generation unchanged) makes it unseal.
        let api = ctx.api::<SealedSecret>();
        let patch = serde_json::json!({"metadata": {"annotations": {"sealedsecrets.bitnami.com/cluster-wide": "true"}}});
        api.patch("cw", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        ctx.secret("cw")
            .wait("unsealed", |s| Ok(string_data(s) == map(&[("foo", "bar")])))
            .await?;
        let ss = ctx
            .sealed_secret("cw")
            .wait("Synced True", synced_is("True"))
            .await?;
        assert_eq!(argo_health(&ss), "Healthy");
        Ok(())
    }
);
