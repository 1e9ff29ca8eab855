//! kubectl applies the SealedSecret CRD, it becomes Established, and SealedSecrets can be stored.

use sealed_secrets_test_support::manifests;

use crate::support::e2e_test;

e2e_test!(
    kubectl_applies_the_crd_and_it_becomes_established,
    |ctx| async move {
        ctx.kubectl().apply(&manifests::crd_yaml()?).await?;
        manifests::wait_crd_established(&ctx.client, ctx.timeout()).await?;

        let sealed = format!(
            "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: probe\n  namespace: {}\n\
         spec:\n  encryptedData:\n    foo: AgBy3i4OJSWK+PiTySYZZA==\n  template:\n    metadata:\n      name: probe\n",
            ctx.namespace
        );
        ctx.kubectl().apply_in(&ctx.namespace, &sealed).await?;
        let names = ctx
            .kubectl()
            .run(
                &["get", "sealedsecrets", "-n", &ctx.namespace, "-o", "name"],
                None,
            )
            .await?;
        assert_eq!(names.trim(), "sealedsecret.bitnami.com/probe");
        let obj = manifests::sealed_secrets_api(&ctx.client, Some(&ctx.namespace))
            .get("probe")
            .await?;
        assert_eq!(
            obj.data["spec"]["encryptedData"]["foo"],
            "AgBy3i4OJSWK+PiTySYZZA=="
        );
        Ok(())
    }
);
