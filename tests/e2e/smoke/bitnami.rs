//! Bitnami's kubeseal seals a Secret against Bitnami's controller on this control plane: the controller runs
//! as a local process under the restricted identity from `controller-manifests/` (in-cluster config through a
//! private mount namespace), kubeseal fetches the certificate through the service proxy, and the applied
//! SealedSecret turns into the original Secret.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use sealed_secrets_test_support::ServiceAccountIdentity;
use sealed_secrets_test_support::bitnami::BitnamiController;
use sealed_secrets_test_support::unique::unique_name;

use crate::support::e2e_test;
use crate::support::health::synced_is;
use crate::support::kubeseal::{Kubeseal, against_cluster};
use crate::support::sealed::string_data;

e2e_test!(
    bitnami_kubeseal_seals_against_bitnami_controller_and_the_secret_appears,
    |ctx| async move {
        let cluster = ctx.cluster;
        let ns = ctx.namespace.as_str();
        let identity = ServiceAccountIdentity::controller(&ctx).await?;
        let _controller = BitnamiController::start(&ctx, &identity, &[]).await?;

        // The controller generated its key in its namespace, with its restricted identity.
        let keys = ctx
            .api::<Secret>()
            .list(
                &ListParams::default()
                    .labels("sealedsecrets.bitnami.com/sealed-secrets-key=active"),
            )
            .await?;
        assert_eq!(keys.items.len(), 1, "one active key Secret in {ns}");

        let kubeseal = Kubeseal::Bitnami;
        let cert = kubeseal
            .run_ok(cluster, &against_cluster(&ctx, &["--fetch-cert"]), "")
            .await?;
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");

        let password = unique_name("s3cr3t");
        let input = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-creds\n  namespace: {ns}\n  labels:\n    app: demo\n\
             type: Opaque\ndata:\n  user: YWRtaW4=\nstringData:\n  password: {password}\n"
        );
        let sealed = kubeseal
            .run_ok(cluster, &against_cluster(&ctx, &["-o", "yaml"]), &input)
            .await?;
        assert!(
            sealed.contains("kind: SealedSecret") && !sealed.contains(&password),
            "{sealed}"
        );
        ctx.kubectl().apply_in(ns, &sealed).await?;

        let secret = ctx
            .secret("db-creds")
            .timeout(Duration::from_secs(60))
            .wait("unsealed", |_| Ok(true))
            .await?;
        let data = string_data(&secret);
        assert_eq!(data.get("user").map(String::as_str), Some("admin"));
        assert_eq!(data.get("password"), Some(&password));
        assert_eq!(
            secret
                .metadata
                .labels
                .unwrap_or_default()
                .get("app")
                .map(String::as_str),
            Some("demo")
        );
        let owner = secret.metadata.owner_references.unwrap_or_default();
        assert!(
            owner
                .iter()
                .any(|o| o.kind == "SealedSecret" && o.name == "db-creds"),
            "{owner:?}"
        );

        // And the controller reports success on the status subresource (its RBAC allows that too).
        ctx.sealed_secret("db-creds")
            .wait("Synced=True", synced_is("True"))
            .await?;
        Ok(())
    }
);
