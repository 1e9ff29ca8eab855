//! Argo CD syncing the repository's overlays: see the module list in [`super`].

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, ensure};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use sealed_secrets::SealedSecret;
use sealed_secrets_test_support::TestContext;
use sealed_secrets_test_support::cluster::repo_root;

use super::Setup;
use super::argocd::{ArgoCd, Tracking, health_status, holds_for, resource, summary, sync_status};
use super::repo::{SECRET, corrupt, seal};
use crate::support::controller::Controller;
use crate::support::e2e_test;
use crate::support::kubeseal::{Kubeseal, against_cluster};
use crate::support::sealed::string_data;

/// The quiet period over which no sync may start.
const QUIET: Duration = Duration::from_secs(60);

e2e_test!(argocd_workflow_annotation_tracking, |ctx| async move {
    workflow(&ctx, Tracking::Annotation).await
});

e2e_test!(argocd_workflow_label_tracking, |ctx| async move {
    workflow(&ctx, Tracking::Label).await
});

/// Creates one Application per overlay and waits until each is Synced and Healthy at `revision`, with the
/// SealedSecret Healthy by Argo CD's own check and its Secret unsealed and not part of the Application.
async fn apps_healthy(ctx: &TestContext, s: &Setup, argo: &ArgoCd) -> anyhow::Result<Vec<String>> {
    let mut apps = Vec::new();
    for env in &s.envs {
        apps.push(argo.create_app(ctx, &s.repo.url, env).await?);
    }
    for (app, env) in apps.iter().zip(&s.envs) {
        let a = argo.wait_synced(app, Some(&s.first), "Healthy").await?;
        let ss = resource(&a, "SealedSecret", SECRET)
            .with_context(|| format!("no SealedSecret in {}", summary(&a)))?;
        ensure!(
            ss["health"]["status"] == "Healthy" && ss["status"] == "Synced",
            "{}",
            summary(&a)
        );
        ensure!(
            resource(&a, "Secret", SECRET).is_none(),
            "the Secret is part of the Application: {}",
            summary(&a)
        );
        let want = format!("{}-pw", env.name);
        ctx.secret(SECRET)
            .in_namespace(&env.namespace)
            .wait("unsealed", |sec| {
                Ok(string_data(sec).get("password") == Some(&want))
            })
            .await?;
    }
    Ok(apps)
}

async fn workflow(ctx: &TestContext, tracking: Tracking) -> anyhow::Result<()> {
    let s = Setup::new(ctx).await?;
    let (staging, production) = (&s.envs[0], &s.envs[1]);
    // What the agents will render (docs/gitops.md: preview an overlay).
    let rendered = super::repo::kustomize_build(&s.repo.work.join("overlays/staging")).await?;
    ensure!(
        rendered.contains(&format!("namespace: {}", staging.namespace))
            && !rendered.contains("staging-pw")
    );
    let argo = ArgoCd::start(ctx, tracking, &[]).await?;
    let apps = apps_healthy(ctx, &s, &argo).await?;

    // The CI step adds a SealedSecret (sealed with the certificate only) to staging: a Secret appears.
    let cert = s.repo.work.join("../cert.pem");
    let pem = Kubeseal::Ours
        .run_ok(ctx.cluster, &against_cluster(ctx, &["--fetch-cert"]), "")
        .await?;
    std::fs::write(&cert, pem)?;
    let plain = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-token\n  namespace: {}\nstringData:\n  token: t0k3n\n",
        staging.namespace
    );
    ci_seal(&s, &cert, "overlays/staging", &plain).await?;
    s.repo.git(&["push", "-q", "origin", "HEAD:main"]).await?;
    let rev = s.repo.git(&["rev-parse", "HEAD"]).await?.trim().to_owned();
    ensure!(
        !s.repo
            .read("overlays/staging/api-token.sealed.yaml")?
            .contains("t0k3n")
    );
    argo.refresh(&apps[0]).await?;
    argo.wait_synced(&apps[0], Some(&rev), "Healthy").await?;
    ctx.secret("api-token")
        .in_namespace(&staging.namespace)
        .wait("unsealed", |sec| {
            Ok(string_data(sec).get("token").map(String::as_str) == Some("t0k3n"))
        })
        .await?;

    // A corrupted ciphertext: Degraded with our message; the old Secret stays; the fix commit heals it.
    let file = "overlays/staging/db-credentials.sealed.yaml";
    let good = s.repo.read(file)?;
    let before = secret_uid(ctx, &staging.namespace, SECRET).await?;
    s.repo.write(file, &corrupt(&good)?)?;
    let rev = s.repo.commit("corrupt the staging ciphertext").await?;
    argo.refresh(&apps[0]).await?;
    let a = argo
        .wait_app(&apps[0], "Degraded with our message", |a| {
            health_status(a) == "Degraded"
                && resource(a, "SealedSecret", SECRET).is_some_and(|r| {
                    r["health"]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("no key could decrypt secret (password)"))
                })
        })
        .await?;
    ensure!(
        sync_status(&a) == "Synced" && a["status"]["sync"]["revision"] == rev.as_str(),
        "{}",
        summary(&a)
    );
    s.repo.write(file, &good)?;
    let rev = s.repo.commit("fix the staging ciphertext").await?;
    argo.refresh(&apps[0]).await?;
    argo.wait_synced(&apps[0], Some(&rev), "Healthy").await?;
    ensure!(
        secret_uid(ctx, &staging.namespace, SECRET).await? == before,
        "the Secret was replaced"
    );

    // A quiet minute: no sync starts, nothing is OutOfSync, the Secrets are not rewritten nor pruned.
    quiet_minute(ctx, &s, &argo, &apps).await?;

    // Deleting the SealedSecret from Git prunes it; garbage collection removes its Secret.
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
    argo.refresh(&apps[1]).await?;
    let a = argo.wait_synced(&apps[1], Some(&rev), "Healthy").await?;
    ensure!(
        resource(&a, "SealedSecret", SECRET).is_none(),
        "{}",
        summary(&a)
    );
    let sealed: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), &production.namespace);
    ensure!(
        sealed.get_opt(SECRET).await?.is_none(),
        "the SealedSecret was not pruned"
    );
    ctx.secret(SECRET)
        .in_namespace(&production.namespace)
        .wait_gone()
        .await?;
    // Staging is untouched.
    ensure!(secret_uid(ctx, &staging.namespace, SECRET).await? == before);
    Ok(())
}

/// Runs the CI step (`examples/gitops/ci-seal.sh`) in the work tree with our kubeseal and the cached kustomize.
async fn ci_seal(
    s: &Setup,
    cert: &std::path::Path,
    overlay: &str,
    plain: &str,
) -> anyhow::Result<()> {
    let kubeseal = sealed_secrets_test_support::process::workspace_binary("kubeseal")?;
    let path = format!(
        "{}:{}:{}",
        kubeseal.parent().context("kubeseal dir")?.display(),
        super::gitops_dir().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = tokio::process::Command::new(super::repo::ci_script());
    cmd.current_dir(&s.repo.work)
        .arg(cert)
        .arg(overlay)
        .arg("-")
        .env("PATH", path)
        .env("HOME", &s.repo.work)
        .env_remove("KUBECONFIG")
        .envs([
            ("GIT_AUTHOR_NAME", "ci"),
            ("GIT_AUTHOR_EMAIL", "ci@example.invalid"),
            ("GIT_COMMITTER_NAME", "ci"),
            ("GIT_COMMITTER_EMAIL", "ci@example.invalid"),
        ]);
    let out = sealed_secrets_test_support::process::output(&mut cmd, Some(plain)).await?;
    ensure!(
        out.status.success(),
        "ci-seal.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

async fn secret_uid(ctx: &TestContext, ns: &str, name: &str) -> anyhow::Result<String> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    secrets.get(name).await?.metadata.uid.context("no uid")
}

/// Over [`QUIET`]: every Application stays Synced and Healthy, no sync starts (the controller's log and
/// `status.history`), and no Secret is rewritten (same resourceVersion).
async fn quiet_minute(
    ctx: &TestContext,
    s: &Setup,
    argo: &ArgoCd,
    apps: &[String],
) -> anyhow::Result<()> {
    let syncs: Vec<usize> = apps.iter().map(|a| argo.syncs_started(a)).collect();
    ensure!(
        syncs.iter().all(|&n| n > 0),
        "the sync counter saw no sync at all: {syncs:?}"
    );
    let mut history = Vec::new();
    let mut versions = Vec::new();
    for (app, env) in apps.iter().zip(&s.envs) {
        history.push(
            argo.app(app).await?["status"]["history"]
                .as_array()
                .map_or(0, Vec::len),
        );
        let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &env.namespace);
        versions.push(secrets.get(SECRET).await?.metadata.resource_version);
    }
    holds_for(QUIET, "Synced, Healthy and unchanged", || async {
        for ((app, env), version) in apps.iter().zip(&s.envs).zip(&versions) {
            let a = argo.app(app).await?;
            if sync_status(&a) != "Synced" || health_status(&a) != "Healthy" {
                return Ok(Some(summary(&a)));
            }
            let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &env.namespace);
            let now = secrets.get(SECRET).await?.metadata.resource_version;
            if &now != version {
                return Ok(Some(format!(
                    "Secret in {} rewritten ({version:?} -> {now:?})",
                    env.namespace
                )));
            }
        }
        Ok(None)
    })
    .await?;
    for (i, app) in apps.iter().enumerate() {
        let after = argo.app(app).await?["status"]["history"]
            .as_array()
            .map_or(0, Vec::len);
        ensure!(
            argo.syncs_started(app) == syncs[i] && after == history[i],
            "{app}: syncs started {} -> {}, history {} -> {after} over a quiet minute",
            syncs[i],
            argo.syncs_started(app),
            history[i]
        );
    }
    println!("argocd: no sync over {QUIET:?} (syncs so far {syncs:?}, history {history:?})");
    Ok(())
}

e2e_test!(
    argocd_key_renewal_and_reencrypt_do_not_flap,
    |ctx| async move {
        let s = Setup::new(&ctx).await?;
        let argo = ArgoCd::start(&ctx, Tracking::Annotation, &[]).await?;
        let apps = apps_healthy(&ctx, &s, &argo).await?;
        let old_cert = Kubeseal::Ours
            .run_ok(ctx.cluster, &against_cluster(&ctx, &["--fetch-cert"]), "")
            .await?;
        // Renew the key now (what --key-renew-period does on schedule).
        let pid = s.ctl.process.pid().to_string();
        let out = tokio::process::Command::new("kill")
            .args(["-USR1", &pid])
            .status()
            .await?;
        ensure!(out.success(), "kill -USR1 {pid} failed");
        sealed_secrets_test_support::wait::wait_for(
            "the new certificate",
            Duration::from_secs(60),
            || async {
                let pem = Kubeseal::Ours
                    .run_ok(ctx.cluster, &against_cluster(&ctx, &["--fetch-cert"]), "")
                    .await?;
                Ok((pem != old_cert).then_some(()))
            },
        )
        .await?;
        let syncs: Vec<usize> = apps.iter().map(|a| argo.syncs_started(a)).collect();
        let mut uids = Vec::new();
        for env in &s.envs {
            uids.push(secret_uid(&ctx, &env.namespace, SECRET).await?);
            let file = format!("{}/{SECRET}.sealed.yaml", env.path());
            let old = s.repo.read(&file)?;
            let new = Kubeseal::Ours
                .run_ok(
                    ctx.cluster,
                    &against_cluster(&ctx, &["--re-encrypt", "--format", "yaml"]),
                    &old,
                )
                .await?;
            ensure!(new != old, "re-encrypt changed nothing in {file}");
            s.repo.write(&file, &new)?;
        }
        let rev = s.repo.commit("re-encrypt with the new key").await?;
        for app in &apps {
            argo.refresh(app).await?;
        }
        // Until both are Synced at the new revision and for 20 s after, nothing may read Degraded or lose data.
        let started = Instant::now();
        let mut synced = false;
        let mut at_synced: Vec<usize> = Vec::new();
        while !synced || started.elapsed() < Duration::from_secs(20) {
            let mut all = true;
            for ((app, env), uid) in apps.iter().zip(&s.envs).zip(&uids) {
                let a = argo.app(app).await?;
                ensure!(
                    health_status(&a) != "Degraded",
                    "flapped to Degraded: {}",
                    summary(&a)
                );
                all &= sync_status(&a) == "Synced"
                    && a["status"]["sync"]["revision"] == rev.as_str()
                    && health_status(&a) == "Healthy";
                let sealed: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), &env.namespace);
                let ss = sealed.get(SECRET).await?;
                ensure!(
                    crate::support::health::synced(&ss) != "False",
                    "the SealedSecret went Synced=False"
                );
                ensure!(
                    &secret_uid(&ctx, &env.namespace, SECRET).await? == uid,
                    "the Secret was replaced"
                );
            }
            if all && !synced {
                at_synced = apps.iter().map(|a| argo.syncs_started(a)).collect();
            }
            synced |= all;
            ensure!(
                started.elapsed() < super::argocd::APP_TIMEOUT,
                "not Synced at {rev} in time"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for ((app, env), n) in apps.iter().zip(&s.envs).zip(&syncs) {
            let want = format!("{}-pw", env.name);
            let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &env.namespace);
            ensure!(string_data(&secrets.get(SECRET).await?).get("password") == Some(&want));
            // Argo CD may start the sync of a new revision twice in the same second (seen for the very first
            // commit too); what must not happen is a sync after the Application is Synced and Healthy.
            let now = argo.syncs_started(app);
            ensure!(
                (n + 1..=n + 2).contains(&now),
                "{app}: {} syncs for one commit",
                now - n
            );
        }
        let after: Vec<usize> = apps.iter().map(|a| argo.syncs_started(a)).collect();
        ensure!(
            after == at_synced,
            "syncs after Synced and Healthy: {at_synced:?} -> {after:?}"
        );
        Ok(())
    }
);

/// The health customization shipped in docs/gitops.md (`examples/gitops/argocd-cm-health.yaml`).
fn health_customization() -> anyhow::Result<(String, String)> {
    let path = repo_root().join("examples/gitops/argocd-cm-health.yaml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let docs = std::fs::read_to_string(repo_root().join("docs/gitops.md"))?;
    ensure!(
        docs.contains(text.trim()),
        "docs/gitops.md does not show {} as it is",
        path.display()
    );
    let key = "resource.customizations.health.bitnami.com_SealedSecret";
    let lua = text
        .split_once(&format!("{key}: |\n"))
        .map(|(_, lua)| {
            lua.lines()
                .map(|l| l.strip_prefix("    ").unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .ok_or_else(|| anyhow!("no {key} in {}", path.display()))?;
    Ok((key.to_owned(), lua))
}

e2e_test!(
    argocd_health_customization_checks_observed_generation,
    |ctx| async move {
        let (key, lua) = health_customization()?;
        let mut s = Setup::new(&ctx).await?;
        let argo = ArgoCd::start(&ctx, Tracking::Annotation, &[(&key, &lua)]).await?;
        let apps = apps_healthy(&ctx, &s, &argo).await?;
        let staging = s.envs[0].clone();
        // Seal a new value while the controller runs, then stop it: Argo CD applies a new generation that nobody
        // observes, so the status is stale (Synced=True of the previous generation).
        let file = format!("{}/{SECRET}.sealed.yaml", staging.path());
        let new = seal(&ctx, &staging.namespace, SECRET, &[("password", "rotated")]).await?;
        let args = [format!(
            "--additional-namespaces={},{}",
            staging.namespace, s.envs[1].namespace
        )];
        drop(std::mem::replace(&mut s.ctl, placeholder(&ctx).await?));
        s.repo.write(&file, &new)?;
        let rev = s.repo.commit("rotate the staging password").await?;
        argo.refresh(&apps[0]).await?;
        let a = argo
            .wait_app(&apps[0], "Progressing on a stale status", |a| {
                a["status"]["sync"]["revision"] == rev.as_str()
                    && resource(a, "SealedSecret", SECRET)
                        .is_some_and(|r| r["health"]["status"] == "Progressing")
            })
            .await?;
        let sealed: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), &staging.namespace);
        let ss = sealed.get(SECRET).await?;
        ensure!(
            crate::support::health::synced(&ss) == "True",
            "the stale status still says Synced=True"
        );
        ensure!(
            crate::support::health::argo_health(&ss) == "Healthy",
            "the built-in check would say Healthy"
        );
        println!("argocd: stale status read as {}", summary(&a));
        // The controller comes back (same keys): Healthy at the new value.
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        s.ctl = Controller::start_exposed(&ctx, &args).await?;
        argo.wait_synced(&apps[0], Some(&rev), "Healthy").await?;
        ctx.secret(SECRET)
            .in_namespace(&staging.namespace)
            .wait("rotated", |sec| {
                Ok(string_data(sec).get("password").map(String::as_str) == Some("rotated"))
            })
            .await?;
        // A corrupted ciphertext is Degraded through the customization too.
        let good = s.repo.read(&file)?;
        s.repo.write(&file, &corrupt(&good)?)?;
        s.repo.commit("corrupt").await?;
        argo.refresh(&apps[0]).await?;
        argo.wait_app(&apps[0], "Degraded", |a| {
            resource(a, "SealedSecret", SECRET).is_some_and(|r| {
                r["health"]["status"] == "Degraded"
                    && r["health"]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("no key could decrypt"))
            })
        })
        .await?;
        Ok(())
    }
);

/// A controller that is not there: our controller stopped, replaced by a process that does nothing.
pub(super) async fn placeholder(ctx: &TestContext) -> anyhow::Result<Controller> {
    use sealed_secrets_test_support::{ManagedProcess, ProcessSpec};
    let process = ManagedProcess::spawn(
        ctx.cluster,
        ProcessSpec::new("no-controller", "sleep").arg("infinity"),
    )?;
    let unused = "127.0.0.1:9".parse()?;
    Ok(Controller {
        process,
        listen: unused,
        metrics: unused,
    })
}
