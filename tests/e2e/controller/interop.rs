//! Bitnami's kubeseal (v0.36.6) against our controller, through the API server's service proxy as users run
//! it: `--fetch-cert`, sealing (no key hint: upstream's kubeseal does not write one), `--validate` and
//! `--re-encrypt`.

use sealed_secrets_test_support::bitnami::{self, CONTROLLER_PORT_NAME, CONTROLLER_SERVICE};
use sealed_secrets_test_support::{TestContext, proxy};

use super::support::*;

#[tokio::test]
async fn bitnami_kubeseal_fetches_seals_validates_and_re_encrypts_against_our_controller()
-> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("ctl-interop").await? else {
        return Ok(());
    };
    let ctl = Controller::start(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    proxy::expose(
        &ctx.client,
        ns,
        CONTROLLER_SERVICE,
        CONTROLLER_PORT_NAME,
        ctl.listen,
    )
    .await?;
    let kubeconfig = ctx.cluster.kubeconfig.to_string_lossy().into_owned();
    let base = [
        "--kubeconfig",
        kubeconfig.as_str(),
        "--controller-namespace",
        ns,
    ];
    let cert = bitnami::kubeseal(ctx.cluster, &[&base[..], &["--fetch-cert"]].concat(), "").await?;
    assert_eq!(cert.trim(), ctl.cert().await?.to_pem().trim());

    let input = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\nstringData:\n  password: hunter2\n"
    );
    let sealed =
        bitnami::kubeseal(ctx.cluster, &[&base[..], &["-o", "yaml"]].concat(), &input).await?;
    bitnami::kubeseal(ctx.cluster, &[&base[..], &["--validate"]].concat(), &sealed).await?;
    let renamed = sealed.replace("name: db\n", "name: other\n");
    assert_ne!(renamed, sealed);
    let invalid = bitnami::kubeseal(
        ctx.cluster,
        &[&base[..], &["--validate"]].concat(),
        &renamed,
    )
    .await;
    assert!(
        invalid.is_err(),
        "a renamed strict SealedSecret must not validate"
    );
    let rotated = bitnami::kubeseal(
        ctx.cluster,
        &[&base[..], &["--re-encrypt", "-o", "yaml"]].concat(),
        &sealed,
    )
    .await?;
    assert!(
        rotated.contains("SealedSecret") || rotated.contains("encryptedData"),
        "{rotated}"
    );
    ctx.kubectl()
        .run(&["apply", "-n", ns, "-f", "-"], Some(&sealed))
        .await?;
    let secret = wait_secret(&ctx.client, ns, "db", "exists", |_| true).await?;
    assert_eq!(data(&secret), map(&[("password", "hunter2")]));
    let ss = wait_sealed(&ctx.client, ns, "db", "Synced", |ss| {
        Ok(synced(ss) == "True")
    })
    .await?;
    assert_eq!(argo_health(&ss), "Healthy");
    Ok(())
}
