//! Every object `kubectl apply -k controller-manifests/` installs is accepted by the real API server as shipped
//! (a server-side dry run: schema, defaulting and validation of each, the NetworkPolicy and PDB included).

use sealed_secrets_test_support::cluster::repo_root;

use crate::support::e2e_test;

e2e_test!(
    the_shipped_kustomization_passes_a_server_side_dry_run,
    |ctx| async move {
        let dir = repo_root().join("controller-manifests");
        let out = ctx
            .kubectl()
            .run(
                &[
                    "apply",
                    "-k",
                    &dir.to_string_lossy(),
                    "--dry-run=server",
                    "-o",
                    "name",
                ],
                None,
            )
            .await?;
        let mut objects: Vec<&str> = out.lines().collect();
        objects.sort_unstable();
        assert_eq!(
            objects,
            [
                "clusterrole.rbac.authorization.k8s.io/secrets-unsealer",
                "clusterrolebinding.rbac.authorization.k8s.io/sealed-secrets-controller",
                "customresourcedefinition.apiextensions.k8s.io/sealedsecrets.bitnami.com",
                "deployment.apps/sealed-secrets-controller",
                "networkpolicy.networking.k8s.io/sealed-secrets-controller",
                "poddisruptionbudget.policy/sealed-secrets-controller",
                "role.rbac.authorization.k8s.io/sealed-secrets-api-server-reader",
                "role.rbac.authorization.k8s.io/sealed-secrets-key-admin",
                "role.rbac.authorization.k8s.io/sealed-secrets-service-proxier",
                "rolebinding.rbac.authorization.k8s.io/sealed-secrets-api-server-reader",
                "rolebinding.rbac.authorization.k8s.io/sealed-secrets-controller",
                "rolebinding.rbac.authorization.k8s.io/sealed-secrets-service-proxier",
                "service/sealed-secrets-controller",
                "service/sealed-secrets-controller-metrics",
                "serviceaccount/sealed-secrets-controller",
            ]
        );
        Ok(())
    }
);
