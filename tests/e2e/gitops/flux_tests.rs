//! Flux syncing the repository's overlays: see the module list in [`super`].

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use kube::Api;
use sealed_secrets::SealedSecret;
use sealed_secrets_test_support::cluster::repo_root;
use sealed_secrets_test_support::{TestContext, manifests};
use serde_json::{Value, json};

use super::Setup;
use super::flux::{Flux, condition, inventory};
use super::repo::{SECRET, corrupt};
use crate::support::e2e_test;
use crate::support::sealed::string_data;

/// The Kustomizations' timeout: a failure must surface well before it.
const TIMEOUT: Duration = Duration::from_secs(300);
/// How soon a failure that will not fix itself must fail the Kustomization.
const PROMPT: Duration = Duration::from_secs(60);

/// Adds `infrastructure/sealed-secrets` (the controller's CRD from `controller-manifests/`) to the repository.
fn add_infrastructure(s: &Setup) -> anyhow::Result<()> {
    s.repo.write(
        "infrastructure/sealed-secrets/crd.yaml",
        &manifests::crd_yaml()?,
    )?;
    s.repo.write(
        "infrastructure/sealed-secrets/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - crd.yaml\n",
    )
}

/// The apps Kustomization of `examples/gitops/flux-apps.yaml` (as JSON) for overlay `env`, without its
/// `healthCheckExprs` unless `exprs`.
async fn apps_spec(ctx: &TestContext, env: &str, exprs: bool) -> anyhow::Result<Value> {
    let path = repo_root().join("examples/gitops/flux-apps.yaml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let docs = std::fs::read_to_string(repo_root().join("docs/gitops.md"))?;
    ensure!(
        docs.contains(text.trim()),
        "docs/gitops.md does not show {} as it is",
        path.display()
    );
    let json = ctx
        .kubectl()
        .run(
            &["create", "--dry-run=client", "-o", "json", "-f", "-"],
            Some(&text),
        )
        .await?;
    let mut spec = serde_json::from_str::<Value>(&json)?["spec"].clone();
    spec["path"] = json!(format!("./overlays/{env}"));
    spec["dependsOn"] = json!([{"name": "sealed-secrets"}]);
    if !exprs {
        spec.as_object_mut()
            .context("spec")?
            .remove("healthCheckExprs");
    }
    Ok(spec)
}

e2e_test!(flux_workflow_stalled_fails_promptly, |ctx| async move {
    let s = Setup::new(&ctx).await?;
    add_infrastructure(&s)?;
    let first = s
        .repo
        .commit("the controller's CRD as infrastructure")
        .await?;
    let flux = Flux::start(&ctx).await?;
    flux.create_source(&ctx, &s.repo.url).await?;
    // The apps first: they wait for their dependency.
    for env in &s.envs {
        flux.apply_kustomization(
            &ctx,
            &format!("apps-{}", env.name),
            apps_spec(&ctx, env.name, false).await?,
        )
        .await?;
    }
    sealed_secrets_test_support::wait::wait_for(
        "apps waiting on sealed-secrets",
        Duration::from_secs(60),
        || async {
            let k = flux.kustomization("apps-staging").await?;
            let ready = condition(&k, "Ready");
            Ok((ready["reason"] == "DependencyNotReady").then_some(()))
        },
    )
    .await?;
    // The infrastructure: not pruned (the CRD is shared by every SealedSecret of the cluster).
    flux.apply_kustomization(
        &ctx,
        "sealed-secrets",
        json!({"path": "./infrastructure/sealed-secrets", "prune": false}),
    )
    .await?;
    flux.wait_ready(
        "sealed-secrets",
        "True",
        Some(&first),
        Duration::from_secs(60),
    )
    .await?;
    for env in &s.envs {
        let k = flux
            .wait_ready(
                &format!("apps-{}", env.name),
                "True",
                Some(&first),
                Duration::from_secs(90),
            )
            .await?;
        let inv = inventory(&k);
        ensure!(
            inv.iter().any(|e| e.ends_with("_bitnami.com_SealedSecret")),
            "inventory {inv:?}"
        );
        ensure!(
            !inv.iter().any(|e| e.ends_with("__Secret")),
            "the Secret is in the inventory {inv:?}"
        );
        let want = format!("{}-pw", env.name);
        let sec = ctx
            .secret(SECRET)
            .in_namespace(&env.namespace)
            .wait("unsealed", |sec| {
                Ok(string_data(sec).get("password") == Some(&want))
            })
            .await?;
        ensure!(sec.metadata.uid.is_some());
    }

    // A corrupted ciphertext fails the Kustomization at once (Stalled=True), naming the object, with our message.
    let staging = &s.envs[0];
    let file = "overlays/staging/db-credentials.sealed.yaml";
    let good = s.repo.read(file)?;
    s.repo.write(file, &corrupt(&good)?)?;
    let rev = s.repo.commit("corrupt the staging ciphertext").await?;
    let t0 = Instant::now();
    flux.fetch_now().await?;
    let k = flux
        .wait_ready("apps-staging", "False", Some(&rev), PROMPT)
        .await?;
    let failed_after = t0.elapsed();
    let ready = condition(&k, "Ready");
    let message = ready["message"].as_str().unwrap_or("");
    println!(
        "flux: failed after {failed_after:?} (timeout {TIMEOUT:?}): {} {message}",
        ready["reason"]
    );
    ensure!(
        ready["reason"] == "HealthCheckFailed",
        "reason {}",
        ready["reason"]
    );
    // Flux names the object and its kstatus verdict; it does not quote the object's condition message (its
    // wait error formats the status only), so our message is on the object, in Stalled (and Synced, Ready).
    let object = format!(
        "SealedSecret/{}/{SECRET} status: 'Failed'",
        staging.namespace
    );
    ensure!(
        message.contains(&object) && message.contains("failed early"),
        "the message does not name {object}: {message}"
    );
    let sealed: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), &staging.namespace);
    let ss = sealed.get(SECRET).await?;
    ensure!(crate::support::health::kstatus(&ss) == "Failed");
    let stalled =
        crate::support::health::condition(&ss, "Stalled").context("no Stalled condition")?;
    ensure!(
        stalled.status == "True"
            && stalled.reason.as_deref() == Some("NoMatchingKey")
            && stalled
                .message
                .as_deref()
                .is_some_and(|m| m.contains("no key could decrypt secret (password)")),
        "Stalled is {stalled:?}"
    );
    // The fix commit recovers it.
    s.repo.write(file, &good)?;
    let rev = s.repo.commit("fix the staging ciphertext").await?;
    flux.fetch_now().await?;
    flux.wait_ready("apps-staging", "True", Some(&rev), Duration::from_secs(90))
        .await?;
    let ss = sealed.get(SECRET).await?;
    ensure!(
        crate::support::health::condition(&ss, "Stalled").is_none(),
        "Stalled not cleared"
    );

    // Removing the SealedSecret from Git prunes it, and garbage collection its Secret.
    let production = &s.envs[1];
    let overlay = s.repo.work.join("overlays/production");
    super::repo::kustomize_in(
        &overlay,
        &["edit", "remove", "resource", "db-credentials.sealed.yaml"],
    )
    .await?;
    std::fs::remove_file(overlay.join("db-credentials.sealed.yaml"))?;
    let rev = s
        .repo
        .commit("production no longer needs db-credentials")
        .await?;
    flux.fetch_now().await?;
    flux.wait_ready(
        "apps-production",
        "True",
        Some(&rev),
        Duration::from_secs(90),
    )
    .await?;
    let sealed: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), &production.namespace);
    sealed_secrets_test_support::wait::wait_for(
        "the SealedSecret pruned",
        Duration::from_secs(30),
        || async { Ok(sealed.get_opt(SECRET).await?.is_none().then_some(())) },
    )
    .await?;
    ctx.secret(SECRET)
        .in_namespace(&production.namespace)
        .wait_gone()
        .await?;
    Ok(())
});

e2e_test!(flux_health_check_exprs, |ctx| async move {
    let mut s = Setup::new(&ctx).await?;
    add_infrastructure(&s)?;
    let first = s
        .repo
        .commit("the controller's CRD as infrastructure")
        .await?;
    // No controller while Flux applies: the SealedSecrets get no status.
    drop(std::mem::replace(
        &mut s.ctl,
        super::argocd_tests::placeholder(&ctx).await?,
    ));
    let flux = Flux::start(&ctx).await?;
    flux.create_source(&ctx, &s.repo.url).await?;
    flux.apply_kustomization(
        &ctx,
        "sealed-secrets",
        json!({"path": "./infrastructure/sealed-secrets", "prune": false}),
    )
    .await?;
    flux.wait_ready(
        "sealed-secrets",
        "True",
        Some(&first),
        Duration::from_secs(60),
    )
    .await?;
    // staging with the expressions, production with kstatus' default.
    flux.apply_kustomization(
        &ctx,
        "apps-staging",
        apps_spec(&ctx, "staging", true).await?,
    )
    .await?;
    flux.apply_kustomization(
        &ctx,
        "apps-production",
        apps_spec(&ctx, "production", false).await?,
    )
    .await?;
    // kstatus calls a SealedSecret without status Current: production is Ready though nothing is unsealed.
    flux.wait_ready(
        "apps-production",
        "True",
        Some(&first),
        Duration::from_secs(90),
    )
    .await?;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(ctx.client.clone(), &s.envs[1].namespace);
    ensure!(
        secrets.get_opt(SECRET).await?.is_none(),
        "a Secret exists without a controller"
    );
    // With the expressions, staging is not Ready while the SealedSecret has no status.
    let k = flux.kustomization("apps-staging").await?;
    ensure!(
        condition(&k, "Ready")["status"] != "True",
        "staging Ready without a status: {}",
        condition(&k, "Ready")
    );
    println!(
        "flux: with healthCheckExprs, no status reads {}",
        condition(&k, "Ready")
    );
    // The controller comes back (same keys): staging becomes Ready.
    let watch = format!(
        "--additional-namespaces={},{}",
        s.envs[0].namespace, s.envs[1].namespace
    );
    s.ctl = crate::support::controller::Controller::start_exposed(&ctx, &[&watch]).await?;
    flux.wait_ready(
        "apps-staging",
        "True",
        Some(&first),
        Duration::from_secs(120),
    )
    .await?;
    // A corrupted ciphertext fails it through the `failed` expression (Stalled=True), well before the timeout.
    let file = "overlays/staging/db-credentials.sealed.yaml";
    let good = s.repo.read(file)?;
    s.repo.write(file, &corrupt(&good)?)?;
    let rev = s.repo.commit("corrupt the staging ciphertext").await?;
    flux.fetch_now().await?;
    let k = flux
        .wait_ready("apps-staging", "False", Some(&rev), PROMPT)
        .await?;
    let ready = condition(&k, "Ready");
    println!(
        "flux: healthCheckExprs failure: {} {}",
        ready["reason"], ready["message"]
    );
    ensure!(ready["reason"] == "HealthCheckFailed", "{ready}");
    ensure!(
        ready["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("SealedSecret/{}/{SECRET}", s.envs[0].namespace))),
        "{ready}"
    );
    Ok(())
});
