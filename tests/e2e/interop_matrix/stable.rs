//! Stable re-sealing (`--stable-cache`) on the real control plane, for one controller at a time: our
//! kubeseal regenerates a file from the same Secret and it stays byte for byte; one value changes and only
//! its line changes; `kubeseal set` with an unchanged value leaves the file alone; the controller (ours, or
//! Bitnami's v0.36.6) unseals every version to exactly its data.

use anyhow::{Context as _, ensure};
use sealed_secrets_test_support::TestContext;

use super::harness::{
    ControllerUnderTest, Expected, Impl, apply, bytes, fetch_cert_with_both, wait_secret_exactly,
    work_dir,
};
use crate::support::kubeseal::Kubeseal;
use crate::support::{e2e_test, map};

/// The items of `a` and `b` (same layout) whose lines differ.
fn changed_items(a: &str, b: &str) -> Vec<String> {
    a.lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.split(':').next().unwrap_or("").trim().to_owned())
        .collect()
}

async fn stable(ctx: TestContext, which: Impl) -> anyhow::Result<()> {
    let ctl = ControllerUnderTest::start(&ctx, which).await?;
    let work = work_dir(&ctx)?;
    let cert = fetch_cert_with_both(&ctx, &ctl, &work).await?;
    let cert = cert.to_string_lossy().into_owned();
    let cache = work.join("stable-cache");
    let cache = cache.to_string_lossy().into_owned();
    let ns = ctx.namespace.as_str();
    let file = work.join("stable.yaml");
    let path = file.to_string_lossy().into_owned();
    let secret = |password: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: stable\n  namespace: {ns}\n\
             stringData:\n  password: {password}\n  username: admin\n"
        )
    };
    let seal = |input: String| {
        let args = ["--cert", &cert, "-w", &path, "--stable-cache", &cache].map(str::to_owned);
        async move { Kubeseal::Ours.run_ok(ctx.cluster, &args, &input).await }
    };
    let expected = |password: &str| Expected {
        name: "stable".to_owned(),
        type_: "Opaque".to_owned(),
        labels: map(&[]),
        annotations: map(&[]),
        data: bytes(&[("password", password.as_bytes()), ("username", b"admin")]),
    };

    seal(secret("hunter2")).await?;
    let first = std::fs::read_to_string(&file)?;
    apply(&ctx, &first).await?;
    wait_secret_exactly(&ctx, &ctl, &expected("hunter2")).await?;

    seal(secret("hunter2")).await?;
    ensure!(
        std::fs::read_to_string(&file)? == first,
        "the same Secret sealed again changed the file"
    );

    seal(secret("hunter3")).await?;
    let second = std::fs::read_to_string(&file)?;
    ensure!(
        changed_items(&first, &second) == ["password"],
        "only the password line changes:\n{first}\n---\n{second}"
    );
    apply(&ctx, &second).await?;
    wait_secret_exactly(&ctx, &ctl, &expected("hunter3"))
        .await
        .context("after changing one value")?;

    Kubeseal::Ours
        .run_ok(
            ctx.cluster,
            &[
                "set",
                &path,
                "username=admin",
                "--cert",
                &cert,
                "--stable-cache",
                &cache,
            ],
            "",
        )
        .await?;
    ensure!(
        std::fs::read_to_string(&file)? == second,
        "kubeseal set with an unchanged value changed the file"
    );
    Ok(())
}

e2e_test!(stable_re_sealing_with_our_controller, |ctx| stable(
    ctx,
    Impl::Ours
));

e2e_test!(stable_re_sealing_with_bitnami_controller, |ctx| stable(
    ctx,
    Impl::Bitnami
));
