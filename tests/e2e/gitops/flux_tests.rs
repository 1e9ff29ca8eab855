//! Flux syncing the repository's overlays: see the module list in [`super`].
//!
//! Both tests install our controller through Flux, as Pods on the node: Kustomization `sealed-secrets` applies
//! [`INSTALL_PATH`] (the shipped manifests through the node tests' overlay) with `wait: true`, so it is Ready only
//! once kstatus finds the Deployment rolled out, and the apps' Kustomizations `dependsOn` it. The local
//! controller of [`Setup`] only seals the repository's SealedSecrets: its key is copied to kube-system (as a
//! restored key backup) and it is stopped before Flux applies anything, so every Secret comes from the Pods.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::ListParams;
use sealed_secrets::SealedSecret;
use sealed_secrets_test_support::TestContext;
use sealed_secrets_test_support::cluster::repo_root;
use serde_json::{Value, json};

use super::Setup;
use super::flux::Flux;
use super::flux::{INSTALL_PATH, add_controller_install, condition, inventory, kstatus};
use super::repo::{SECRET, corrupt};
use crate::support::deployment::{Installation, is_ready};
use crate::support::e2e_test;
use crate::support::sealed::string_data;

/// The Kustomizations' timeout: a failure must surface well before it.
const TIMEOUT: Duration = Duration::from_secs(300);
/// How soon a failure that will not fix itself must fail the Kustomization.
const PROMPT: Duration = Duration::from_secs(60);

/// The infra Kustomization (the apps' dependency).
const INFRA: &str = "sealed-secrets";
/// The Deployment's replicas (as shipped).
const REPLICAS: usize = 2;
/// How long the install may take: the rollout on the test node (`minReadySeconds: 5`) and Flux's wait.
const INSTALL: Duration = Duration::from_secs(180);

/// The start of both tests: the image in the node (no controller installed), the local controller's key in
/// kube-system, the local controller stopped, and the controller's install committed ([`add_controller_install`]
/// with `replicas`); the installation and the revision.
async fn install_committed<'a>(
    ctx: &'a TestContext,
    s: &mut Setup,
    replicas: Option<u32>,
) -> anyhow::Result<(Installation<'a>, String)> {
    let inst = Installation::imported(ctx).await?;
    s.copy_keys_to_kube_system(ctx).await?;
    drop(std::mem::replace(
        &mut s.ctl,
        super::argocd_tests::placeholder(ctx).await?,
    ));
    add_controller_install(&s.repo, replicas)?;
    let rev = s
        .repo
        .commit("the controller's install as infrastructure")
        .await?;
    Ok((inst, rev))
}

/// Applies the infra Kustomization (not pruned: the CRD is shared by every SealedSecret of the cluster).
async fn apply_infra(ctx: &TestContext, flux: &Flux) -> anyhow::Result<()> {
    flux.apply_kustomization(
        ctx,
        INFRA,
        json!({"path": format!("./{INSTALL_PATH}"), "prune": false, "timeout": "3m"}),
    )
    .await
}

/// Watches the apps and the controller's Pods until every app has started applying: fails if an app gets past
/// its dependency (an attempted revision or an inventory) while the Pods are not all Ready. The apps are read
/// first, then the Pods: Pods not Ready at the second read were not Ready at the first.
async fn apps_wait_for_the_pods(
    flux: &Flux,
    inst: &Installation<'_>,
    apps: &[String],
) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let mut pods_ready = None;
    let mut waiting = 0;
    loop {
        let mut started = Vec::new();
        for app in apps {
            let k = flux.kustomization(app).await?;
            let attempted = k["status"]["lastAttemptedRevision"].as_str().unwrap_or("");
            let ready = condition(&k, "Ready");
            started.push((
                app,
                !attempted.is_empty() || !inventory(&k).is_empty(),
                ready,
            ));
        }
        let pods = inst.pods().await?;
        let all_ready = pods.iter().filter(|p| is_ready(p)).count() >= REPLICAS;
        if all_ready {
            pods_ready.get_or_insert(t0.elapsed());
        } else {
            if let Some((app, _, ready)) = started.iter().find(|(_, s, _)| *s) {
                bail!(
                    "{app} applied while the controller's Pods were not Ready: {ready}\n{}",
                    inst.diagnose().await
                );
            }
            waiting += started
                .iter()
                .filter(|(_, _, r)| r["reason"] == "DependencyNotReady")
                .count();
        }
        if started.iter().all(|(_, s, _)| *s) {
            break;
        }
        if t0.elapsed() > INSTALL {
            bail!(
                "the apps did not start within {INSTALL:?}: {started:?}\n{}\n{}",
                flux.log_tail(),
                inst.diagnose().await
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ensure!(
        waiting > 0,
        "the apps were never seen waiting for their dependency while the Pods rolled out"
    );
    println!(
        "flux: controller Pods Ready after {pods_ready:?}; apps DependencyNotReady until then ({waiting} \
         observations), applying after {:?}",
        t0.elapsed()
    );
    Ok(())
}

/// Who reported the `Unsealed` Events of the SealedSecret in `namespace` (the reporting instance: the Pod name
/// of the controller replica that unsealed it); waits for at least one.
async fn unsealed_by(ctx: &TestContext, namespace: &str) -> anyhow::Result<Vec<String>> {
    let events: Api<Event> = Api::namespaced(ctx.client.clone(), namespace);
    sealed_secrets_test_support::wait::wait_for(
        "an Unsealed event",
        Duration::from_secs(30),
        || async {
            let list = events
                .list(&ListParams::default().fields(&format!("involvedObject.name={SECRET}")))
                .await?;
            let by: Vec<String> = list
                .items
                .into_iter()
                .filter(|e| e.reason.as_deref() == Some("Unsealed"))
                .map(|e| e.reporting_instance.unwrap_or_default())
                .collect();
            Ok((!by.is_empty()).then_some(by))
        },
    )
    .await
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
    spec["dependsOn"] = json!([{"name": INFRA}]);
    if !exprs {
        spec.as_object_mut()
            .context("spec")?
            .remove("healthCheckExprs");
    }
    Ok(spec)
}

e2e_test!(flux_workflow_stalled_fails_promptly, |ctx| async move {
    let mut s = Setup::new(&ctx).await?;
    let (inst, first) = install_committed(&ctx, &mut s, None).await?;
    let flux = Flux::start(&ctx).await?;
    flux.create_source(&ctx, &s.repo.url).await?;
    // The apps first: they wait for their dependency, which does not exist yet.
    let apps: Vec<String> = s.envs.iter().map(|e| format!("apps-{}", e.name)).collect();
    for (app, env) in apps.iter().zip(&s.envs) {
        flux.apply_kustomization(&ctx, app, apps_spec(&ctx, env.name, false).await?)
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
    // The install: Flux applies the controller's manifests; the apps wait until its Pods are Ready.
    apply_infra(&ctx, &flux).await?;
    apps_wait_for_the_pods(&flux, &inst, &apps).await?;
    let k = flux
        .wait_ready(INFRA, "True", Some(&first), INSTALL)
        .await?;
    let inv = inventory(&k);
    ensure!(
        inv.iter()
            .any(|e| e == "kube-system_sealed-secrets-controller_apps_Deployment"),
        "the Deployment is not in the install's inventory {inv:?}"
    );
    inst.wait_rolled_out(REPLICAS).await?;
    let pods = inst.pod_names().await?;
    for (app, env) in apps.iter().zip(&s.envs) {
        let k = flux
            .wait_ready(app, "True", Some(&first), Duration::from_secs(90))
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
        // Unsealed by a controller Pod (no local controller runs any more).
        let by = unsealed_by(&ctx, &env.namespace).await?;
        ensure!(
            by.iter().all(|b| pods.contains(b)),
            "unsealed by {by:?}, not by the controller Pods {pods:?}"
        );
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

    // The real kstatus library on our controller's real objects: the failed one, a good one, the good one without
    // its status, and the good one as it reads right after a spec change the controller has not seen yet
    // (metadata.generation ahead of status.observedGeneration).
    let production: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), &s.envs[1].namespace);
    let good_obj = serde_json::to_value(production.get(SECRET).await?)?;
    let mut no_status = good_obj.clone();
    no_status
        .as_object_mut()
        .context("an object")?
        .remove("status");
    let mut stale = good_obj.clone();
    let observed = good_obj["status"]["observedGeneration"]
        .as_i64()
        .context("no observedGeneration")?;
    stale["metadata"]["generation"] = json!(observed + 1);
    let objects = [serde_json::to_value(&ss)?, good_obj, no_status, stale];
    let verdicts = kstatus(&objects).await?;
    println!("flux: kstatus (fluxcd/cli-utils) on failed, good, no status, stale: {verdicts:?}");
    let want = ["Failed", "Current", "Current", "InProgress"];
    for ((obj, (status, _)), want) in objects.iter().zip(&verdicts).zip(want) {
        ensure!(
            status == want,
            "kstatus says {status}, not {want}, for {obj}"
        );
        // The emulation the other tests use agrees with the library.
        let ss: SealedSecret = serde_json::from_value(obj.clone())?;
        ensure!(
            crate::support::health::kstatus(&ss) == want,
            "support::health::kstatus disagrees with kstatus on {obj}"
        );
    }
    ensure!(
        Some(verdicts[0].1.as_str()) == stalled.message.as_deref(),
        "kstatus' message for the failed one is not our Stalled message: {:?}",
        verdicts[0].1
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
    inst.assert_no_restarts().await?;
    Ok(())
});

e2e_test!(flux_health_check_exprs, |ctx| async move {
    let mut s = Setup::new(&ctx).await?;
    // The controller installed with no replica: no controller while Flux applies, the SealedSecrets get no status.
    let (inst, first) = install_committed(&ctx, &mut s, Some(0)).await?;
    let flux = Flux::start(&ctx).await?;
    flux.create_source(&ctx, &s.repo.url).await?;
    apply_infra(&ctx, &flux).await?;
    flux.wait_ready(INFRA, "True", Some(&first), INSTALL)
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
    let production: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), &s.envs[1].namespace);
    let bare = production.get(SECRET).await?;
    ensure!(bare.status.is_none(), "a status without a controller");
    let verdict = kstatus(&[serde_json::to_value(&bare)?]).await?;
    println!("flux: kstatus on a SealedSecret without status: {verdict:?}");
    ensure!(verdict[0].0 == "Current", "kstatus says {verdict:?}");
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
    // The controller scaled up in Git: Flux rolls it out, its Pods unseal, staging becomes Ready.
    add_controller_install(&s.repo, None)?;
    let rev = s.repo.commit("scale the controller up").await?;
    flux.fetch_now().await?;
    flux.wait_ready(INFRA, "True", Some(&rev), INSTALL).await?;
    inst.wait_rolled_out(REPLICAS).await?;
    flux.wait_ready("apps-staging", "True", None, Duration::from_secs(120))
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
    inst.assert_no_restarts().await?;
    Ok(())
});
