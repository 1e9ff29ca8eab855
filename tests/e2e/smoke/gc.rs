//! kube-controller-manager's garbage collector really deletes Secrets whose owner is gone.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::e2e_test;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, ObjectMeta, PostParams};

/// The garbage collector's first discovery sync can take a while on a freshly started control plane.
const GC_TIMEOUT: Duration = Duration::from_secs(90);

fn secret(name: &str, owner: Option<OwnerReference>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            owner_references: owner.map(|o| vec![o]),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([("k".to_owned(), "v".to_owned())])),
        ..Default::default()
    }
}

e2e_test!(
    a_secret_owned_by_a_deleted_object_is_garbage_collected,
    |ctx| async move {
        let pp = PostParams::default();
        let owner = ctx
            .api::<ConfigMap>()
            .create(
                &pp,
                &ConfigMap {
                    metadata: ObjectMeta {
                        name: Some("owner".into()),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )
            .await?;
        let owner_ref = OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "owner".into(),
            uid: owner.metadata.uid.clone().unwrap_or_default(),
            ..Default::default()
        };
        let secrets = ctx.api::<Secret>();
        secrets
            .create(&pp, &secret("owned", Some(owner_ref)))
            .await?;
        secrets.create(&pp, &secret("bystander", None)).await?;

        ctx.api::<ConfigMap>()
            .delete("owner", &DeleteParams::background())
            .await?;
        ctx.secret("owned").timeout(GC_TIMEOUT).wait_gone().await?;
        assert!(
            secrets.get_opt("bystander").await?.is_some(),
            "a Secret without owner must survive"
        );
        Ok(())
    }
);
