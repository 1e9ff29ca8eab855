//! The Helm chart on the real node: the seed command users run, upgrades and reinstalls that keep the keys and
//! every Secret, a values file written for Bitnami's chart, and a release moved from Bitnami's chart to ours.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use sealed_secrets_test_support::ServiceAccountIdentity;
use sealed_secrets_test_support::node::image_archive;

use crate::support::deployment::{Installation, NAME, NAMESPACE, seal_and_apply};
use crate::support::e2e_test;
use crate::support::helm::{FULLNAME, Helm, RELEASE, bitnami_chart, bitnami_image, chart, keys};
use crate::support::kubeseal::Kubeseal;
use crate::support::sealed::string_data;

/// `helm install sealed-secrets CHART --namespace kube-system --set fullnameOverride=sealed-secrets-controller`
/// with `extra` arguments.
async fn install(helm: &Helm, chart: &str, extra: &[&str]) -> anyhow::Result<()> {
    let mut args = vec![
        "install",
        RELEASE,
        chart,
        "--namespace",
        NAMESPACE,
        "--set",
        FULLNAME,
    ];
    args.extend_from_slice(extra);
    helm.run(&args).await.map(drop)
}

/// The container image of the controller's Deployment.
async fn deployment_image(inst: &Installation<'_>) -> anyhow::Result<String> {
    let d = inst.deployments.get(NAME).await?;
    Ok(d.spec
        .and_then(|s| s.template.spec)
        .and_then(|s| s.containers.into_iter().next())
        .and_then(|c| c.image)
        .unwrap_or_default())
}

e2e_test!(
    the_seed_command_installs_and_upgrade_uninstall_reinstall_keep_keys_and_secrets,
    |ctx| async move {
        let inst = Installation::for_helm(&ctx, &[image_archive()?]).await?;
        let helm = Helm::new(&ctx)?;
        let chart = chart();
        install(&helm, &chart, &[]).await?;
        inst.wait_rolled_out(1).await?;
        assert!(
            deployment_image(&inst)
                .await?
                .contains("sealed-secrets-rs/controller"),
            "the chart's default image is ours"
        );

        // kubeseal with its defaults, as an ordinary user: the names the seed command gives are the ones it expects.
        let ns = ctx.namespace.as_str();
        let user = ServiceAccountIdentity::create(ctx.cluster, &ctx.client, ns, "sealer").await?;
        let kubeconfig = user.kubeconfig.to_string_lossy().into_owned();
        let cert = Kubeseal::Ours
            .run_ok(
                ctx.cluster,
                &["--kubeconfig", &kubeconfig, "--fetch-cert"],
                "",
            )
            .await?;
        assert!(cert.contains("BEGIN CERTIFICATE"), "{cert}");
        let (_, secret) =
            seal_and_apply(&ctx, &user.kubeconfig, "from-helm", "password", "hunter2").await?;
        let secret_version = secret.metadata.resource_version.clone();
        let keys_installed = keys(&ctx).await?;
        assert_eq!(keys_installed.len(), 1, "one key: {keys_installed:?}");
        let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
        let secret_now = || async {
            anyhow::Ok(
                secrets
                    .get("from-helm")
                    .await?
                    .metadata
                    .resource_version
                    .clone(),
            )
        };

        // helm upgrade with changed values: a new Pod template rolls out; keys and Secrets are not rewritten.
        let generation = inst.deployments.get(NAME).await?.metadata.generation;
        helm.run(&[
            "upgrade",
            RELEASE,
            &chart,
            "--namespace",
            NAMESPACE,
            "--reuse-values",
            "--set",
            "podLabels.team=platform",
            "--set",
            "logFormat=json",
        ])
        .await?;
        inst.wait_rolled_out(1).await?;
        let upgraded = inst.deployments.get(NAME).await?;
        assert!(
            upgraded.metadata.generation > generation,
            "the upgrade changed the Pod template"
        );
        let args = upgraded
            .spec
            .and_then(|s| s.template.spec)
            .and_then(|s| s.containers.into_iter().next())
            .and_then(|c| c.args)
            .unwrap_or_default();
        assert!(
            args.iter().any(|a| a.contains("json")),
            "logFormat reached the controller: {args:?}"
        );
        assert_eq!(
            keys(&ctx).await?,
            keys_installed,
            "helm upgrade kept the keys"
        );
        assert_eq!(secret_now().await?, secret_version, "no Secret rewritten");

        // helm uninstall leaves the keys, the CRD, every SealedSecret and Secret; a new install adopts the keys.
        helm.uninstall().await?;
        assert!(
            inst.pods().await?.is_empty(),
            "helm uninstall --wait removed the Pods"
        );
        assert_eq!(
            keys(&ctx).await?,
            keys_installed,
            "helm uninstall left the keys"
        );
        assert_eq!(secret_now().await?, secret_version, "the Secret stays");
        ctx.sealed_secret("from-helm")
            .wait("still there", |_| Ok(true))
            .await?;

        install(&helm, &chart, &[]).await?;
        inst.wait_rolled_out(1).await?;
        assert_eq!(
            keys(&ctx).await?,
            keys_installed,
            "the reinstall adopted the old key and made no new one"
        );
        let cert_again = Kubeseal::Ours
            .run_ok(
                ctx.cluster,
                &["--kubeconfig", &kubeconfig, "--fetch-cert"],
                "",
            )
            .await?;
        assert_eq!(cert_again, cert, "the same certificate after the reinstall");
        seal_and_apply(&ctx, &user.kubeconfig, "after-reinstall", "token", "s3cr3t").await?;
        assert_eq!(
            secret_now().await?,
            secret_version,
            "the old Secret untouched"
        );
        inst.assert_no_restarts().await?;
        helm.uninstall().await
    }
);

e2e_test!(
    a_values_file_written_for_bitnamis_chart_installs_ours_unchanged,
    |ctx| async move {
        let inst = Installation::for_helm(&ctx, &[image_archive()?]).await?;
        let helm = Helm::new(&ctx)?;
        let values = sealed_secrets_test_support::cluster::repo_root()
            .join("tests/node-values/bitnami-user.yaml");
        helm.run(&[
            "install",
            RELEASE,
            &chart(),
            "--namespace",
            NAMESPACE,
            "--values",
            &values.to_string_lossy(),
        ])
        .await?;
        let pods = inst.wait_rolled_out(1).await?;
        let pod = &pods[0];
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.get("team").map(String::as_str), Some("platform"));
        let annotations = pod.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(
            annotations.get("example.com/owner").map(String::as_str),
            Some("platform")
        );
        let c = &pod.spec.as_ref().expect("spec").containers[0];
        let args = c.args.clone().unwrap_or_default().join(" ");
        for want in ["720h", "json"] {
            assert!(
                args.contains(want),
                "{want} not in the controller's arguments: {args}"
            );
        }
        assert!(
            args.contains("--rate-limit") && args.contains("--rate-limit-burst"),
            "{args}"
        );
        let limits = c
            .resources
            .as_ref()
            .and_then(|r| r.limits.clone())
            .unwrap_or_default();
        assert_eq!(limits.get("memory").map(|q| q.0.as_str()), Some("128Mi"));
        assert_eq!(
            c.readiness_probe.as_ref().and_then(|p| p.period_seconds),
            Some(5)
        );

        let user =
            ServiceAccountIdentity::create(ctx.cluster, &ctx.client, &ctx.namespace, "sealer")
                .await?;
        seal_and_apply(
            &ctx,
            &user.kubeconfig,
            "bitnami-values",
            "password",
            "hunter2",
        )
        .await?;
        inst.assert_no_restarts().await?;
        helm.uninstall().await
    }
);

e2e_test!(
    a_release_of_bitnamis_chart_moves_to_ours_in_place,
    |ctx| async move {
        let inst = Installation::for_helm(&ctx, &[image_archive()?, bitnami_image()?]).await?;
        let helm = Helm::new(&ctx)?;
        let bitnami = bitnami_chart()?;
        // Start as a user of Bitnami's chart starts: its CRD (Helm installs it from the chart's crds/, which
        // Helm 4 applies server-side and so would refuse over the CRD kubectl applied for the other tests) and
        // no key: Bitnami's controller makes the key our controller must adopt.
        ctx.kubectl()
            .run(
                &[
                    "delete",
                    "crd",
                    "sealedsecrets.bitnami.com",
                    "--ignore-not-found",
                    "--wait=true",
                ],
                None,
            )
            .await?;
        let key_secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), NAMESPACE);
        for name in keys(&ctx).await?.into_keys() {
            key_secrets.delete(&name, &Default::default()).await?;
        }
        install(&helm, &bitnami, &[]).await?;
        inst.wait_rolled_out(1).await?;
        assert!(
            deployment_image(&inst)
                .await?
                .contains("bitnami/sealed-secrets-controller"),
            "Bitnami's chart runs Bitnami's image"
        );
        let user =
            ServiceAccountIdentity::create(ctx.cluster, &ctx.client, &ctx.namespace, "sealer")
                .await?;
        let (_, secret) = seal_and_apply(
            &ctx,
            &user.kubeconfig,
            "from-bitnami",
            "password",
            "hunter2",
        )
        .await?;
        let bitnami_keys = keys(&ctx).await?;
        assert_eq!(bitnami_keys.len(), 1, "Bitnami's controller made one key");

        // The same release, upgraded to our chart with the same values: the selector is the same, so Helm
        // replaces the Pods in place.
        helm.run(&[
            "upgrade",
            RELEASE,
            &chart(),
            "--namespace",
            NAMESPACE,
            "--set",
            FULLNAME,
        ])
        .await?;
        inst.wait_rolled_out(1).await?;
        assert!(
            deployment_image(&inst)
                .await?
                .contains("sealed-secrets-rs/controller"),
            "our chart runs our image"
        );
        assert_eq!(
            keys(&ctx).await?.into_keys().collect::<Vec<_>>(),
            bitnami_keys.into_keys().collect::<Vec<_>>(),
            "our controller adopted Bitnami's key and made no new one"
        );
        let kept = ctx
            .secret("from-bitnami")
            .wait("present", |_| Ok(true))
            .await?;
        assert_eq!(
            string_data(&kept).get("password").map(String::as_str),
            Some("hunter2"),
            "the Secret Bitnami's controller wrote is still there"
        );
        assert_eq!(kept.metadata.uid, secret.metadata.uid, "the same Secret");
        seal_and_apply(&ctx, &user.kubeconfig, "after-the-move", "token", "s3cr3t").await?;
        inst.assert_no_restarts().await?;
        helm.uninstall().await
    }
);
