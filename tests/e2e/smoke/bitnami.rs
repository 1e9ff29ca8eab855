//! Bitnami's kubeseal seals a Secret against Bitnami's controller on this control plane: the controller runs
//! as a local process under the restricted identity from `controller-manifests/` (in-cluster config through a
//! private mount namespace), kubeseal fetches the certificate through the service proxy, and the applied
//! SealedSecret turns into the original Secret.

use std::time::Duration;

use anyhow::anyhow;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use sealed_secrets_test_support::bitnami::{self, BitnamiController};
use sealed_secrets_test_support::context::unique_name;
use sealed_secrets_test_support::wait::{self, secret_string_data};
use sealed_secrets_test_support::{ServiceAccountIdentity, TestContext, manifests};

#[tokio::test]
async fn bitnami_kubeseal_seals_against_bitnami_controller_and_the_secret_appears()
-> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("bitnami").await? else {
        return Ok(());
    };
    let cluster = ctx.cluster;
    let ns = ctx.namespace.as_str();
    manifests::ensure_crd(cluster, &ctx.client).await?;
    let identity = ServiceAccountIdentity::controller(&ctx).await?;
    let _controller = BitnamiController::start(&ctx, &identity, &[]).await?;

    // The controller generated its key in its namespace, with its restricted identity.
    let keys = ctx
        .api::<Secret>()
        .list(&ListParams::default().labels("sealedsecrets.bitnami.com/sealed-secrets-key=active"))
        .await?;
    assert_eq!(keys.items.len(), 1, "one active key Secret in {ns}");

    let kubeconfig = cluster.kubeconfig.to_string_lossy().into_owned();
    let base = [
        "--kubeconfig",
        kubeconfig.as_str(),
        "--controller-namespace",
        ns,
    ];
    let cert = bitnami::kubeseal(cluster, &[&base[..], &["--fetch-cert"]].concat(), "").await?;
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");

    let password = unique_name("s3cr3t");
    let input = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-creds\n  namespace: {ns}\n  labels:\n    app: demo\n\
         type: Opaque\ndata:\n  user: YWRtaW4=\nstringData:\n  password: {password}\n"
    );
    let sealed = bitnami::kubeseal(cluster, &[&base[..], &["-o", "yaml"]].concat(), &input).await?;
    assert!(
        sealed.contains("kind: SealedSecret") && !sealed.contains(&password),
        "{sealed}"
    );
    ctx.kubectl()
        .run(&["apply", "-f", "-"], Some(&sealed))
        .await?;

    let secret = ctx
        .wait_for_secret("db-creds", Duration::from_secs(60))
        .await?;
    let data = secret_string_data(&secret);
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
    let sealed_api = manifests::sealed_secrets_api(&ctx.client, Some(ns));
    wait::wait_for(
        "SealedSecret db-creds Synced=True",
        ctx.timeout(),
        || async {
            let obj = sealed_api.get("db-creds").await?;
            let conditions = obj.data["status"]["conditions"].clone();
            let synced = conditions
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Synced" && c["status"] == "True");
            if synced {
                Ok(Some(()))
            } else {
                Err(anyhow!("status.conditions = {conditions}"))
            }
        },
    )
    .await?;
    Ok(())
}
