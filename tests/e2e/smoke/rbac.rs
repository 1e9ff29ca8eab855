//! A ServiceAccount without bindings is refused (403); the controller's ServiceAccount, bound only by
//! `controller-manifests/rbac.yaml`, can do what the controller needs and nothing more.

use std::collections::BTreeMap;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, ObjectReference, Secret};
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use sealed_secrets_test_support::identity::expect_forbidden;
use sealed_secrets_test_support::unique::unique_name;
use sealed_secrets_test_support::{ServiceAccountIdentity, manifests};

use crate::support::e2e_test;

e2e_test!(
    a_service_account_without_bindings_gets_403,
    |ctx| async move {
        let nobody =
            ServiceAccountIdentity::create(ctx.cluster, &ctx.client, &ctx.namespace, "nobody")
                .await?;
        let client = nobody.client().await?;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ctx.namespace);
        expect_forbidden(
            secrets.list(&ListParams::default()).await,
            "nobody lists secrets",
        )?;
        expect_forbidden(
            Api::<Secret>::namespaced(client, "kube-system")
                .list(&ListParams::default())
                .await,
            "nobody lists kube-system secrets",
        )?;
        // kubectl as that identity sees the same.
        let err = nobody
            .kubectl(ctx.cluster)
            .run(&["get", "secrets", "-n", &ctx.namespace], None)
            .await;
        let msg = format!(
            "{:#}",
            err.err()
                .ok_or_else(|| anyhow::anyhow!("kubectl get secrets was allowed"))?
        );
        assert!(
            msg.contains("Forbidden") || msg.contains("forbidden"),
            "{msg}"
        );
        Ok(())
    }
);

e2e_test!(
    every_authenticated_user_may_use_the_controller_service_proxy,
    |ctx| async move {
        manifests::ensure_controller_rbac(ctx.cluster).await?;
        let nobody =
            ServiceAccountIdentity::create(ctx.cluster, &ctx.client, &ctx.namespace, "nobody")
                .await?;
        let client = nobody.client().await?;
        for (verb, resource, sub, name) in [
            ("get", "services", "", "sealed-secrets-controller"),
            (
                "get",
                "services",
                "proxy",
                "http:sealed-secrets-controller:http",
            ),
            (
                "create",
                "services",
                "proxy",
                "http:sealed-secrets-controller:",
            ),
        ] {
            assert!(
                can_i(&client, verb, resource, sub, name, "kube-system").await?,
                "{verb} {resource}/{sub} {name}"
            );
        }
        assert!(
            !can_i(
                &client,
                "get",
                "services",
                "proxy",
                "http:other:http",
                "kube-system"
            )
            .await?
        );
        assert!(
            !can_i(
                &client,
                "get",
                "services",
                "",
                "sealed-secrets-controller",
                "default"
            )
            .await?
        );
        Ok(())
    }
);

e2e_test!(
    the_controller_identity_has_exactly_the_shipped_permissions,
    |ctx| async move {
        manifests::ensure_crd(ctx.cluster, &ctx.client).await?;
        let id = ServiceAccountIdentity::controller(&ctx).await?;
        let client = id.client().await?;
        let ns = ctx.namespace.as_str();
        let pp = PostParams::default();

        // Allowed: watch SealedSecrets everywhere, manage Secrets, read namespaces, record events, key Secrets
        // and leader-election Leases in kube-system.
        manifests::sealed_secrets_api(&client, None)
            .list(&ListParams::default())
            .await?;
        Api::<Namespace>::all(client.clone()).get(ns).await?;
        let name = unique_name("probe");
        let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
        secrets.create(&pp, &probe_secret(&name)).await?;
        let mut probe = secrets.get(&name).await?;
        probe
            .metadata
            .labels
            .get_or_insert_default()
            .insert("updated".into(), "yes".into());
        secrets.replace(&name, &pp, &probe).await?;
        secrets.delete(&name, &DeleteParams::default()).await?;
        let key_secrets: Api<Secret> = Api::namespaced(client.clone(), "kube-system");
        key_secrets.create(&pp, &probe_secret(&name)).await?;
        key_secrets.get(&name).await?;
        key_secrets.delete(&name, &DeleteParams::default()).await?;
        Api::<Event>::namespaced(client.clone(), ns)
            .create(&pp, &probe_event(ns))
            .await?;
        // Its own leader-election Lease: created if absent, read and renewed by name.
        let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
        let own = "sealed-secrets-controller";
        let lease = |name: &str, holder: &str| Lease {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.to_owned()),
                ..Default::default()
            }),
        };
        if leases.get_opt(own).await?.is_none() {
            leases.create(&pp, &lease(own, "e2e")).await?;
        }
        let mut mine = leases.get(own).await?;
        mine.spec = lease(own, "e2e-2").spec;
        leases.replace(own, &pp, &mine).await?;

        // Refused: secrets patch (unused), other components' Leases.
        expect_forbidden(
            secrets
                .patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(&serde_json::json!({"metadata": {"labels": {"x": "y"}}})),
                )
                .await,
            "patch secrets",
        )?;
        let admin_leases: Api<Lease> = Api::namespaced(ctx.client.clone(), "kube-system");
        for other in ["kube-scheduler", "kube-controller-manager"] {
            if admin_leases.get_opt(other).await?.is_none() {
                admin_leases.create(&pp, &lease(other, other)).await?;
            }
            let mut theirs = admin_leases.get(other).await?;
            expect_forbidden(leases.get(other).await, &format!("get Lease {other}"))?;
            theirs.spec = lease(other, "sealed-secrets-controller").spec;
            expect_forbidden(
                leases.replace(other, &pp, &theirs).await,
                &format!("take over Lease {other}"),
            )?;
            expect_forbidden(
                leases.delete(other, &DeleteParams::default()).await,
                &format!("delete Lease {other}"),
            )?;
        }

        // Refused: anything else.
        expect_forbidden(
            Api::<ConfigMap>::namespaced(client.clone(), ns)
                .list(&ListParams::default())
                .await,
            "list configmaps",
        )?;
        expect_forbidden(
            Api::<Namespace>::all(client.clone())
                .delete(ns, &DeleteParams::default())
                .await,
            "delete namespace",
        )?;
        expect_forbidden(leases.list(&ListParams::default()).await, "list leases")?;
        expect_forbidden(
            Api::<Lease>::namespaced(client.clone(), ns).get(own).await,
            "get lease outside kube-system",
        )?;
        let sealed = manifests::sealed_secrets_api(&client, Some(ns));
        let obj: kube::api::DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
            "metadata": {"name": "x"}, "spec": {"encryptedData": {"a": "AgA="}},
        }))?;
        expect_forbidden(sealed.create(&pp, &obj).await, "create sealedsecrets")?;
        Ok(())
    }
);

fn probe_secret(name: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([("k".to_owned(), "v".to_owned())])),
        ..Default::default()
    }
}

fn probe_event(ns: &str) -> Event {
    Event {
        metadata: ObjectMeta {
            generate_name: Some("probe-".into()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            kind: Some("SealedSecret".into()),
            api_version: Some("bitnami.com/v1alpha1".into()),
            name: Some("probe".into()),
            namespace: Some(ns.into()),
            ..Default::default()
        },
        reason: Some("Unsealed".into()),
        message: Some("probe".into()),
        type_: Some("Normal".into()),
        ..Default::default()
    }
}

async fn can_i(
    client: &Client,
    verb: &str,
    resource: &str,
    sub: &str,
    name: &str,
    ns: &str,
) -> anyhow::Result<bool> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                resource: Some(resource.into()),
                subresource: (!sub.is_empty()).then(|| sub.into()),
                name: Some(name.into()),
                namespace: Some(ns.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = Api::<SelfSubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}
