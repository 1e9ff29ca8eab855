//! `kubeseal set`, `kubeseal unset` and `kubeseal edit` (ours, with `$EDITOR` a script; Bitnami's kubeseal
//! has no such commands) on files written by both CLIs, for every scope, accepted by one controller (one test per controller implementation): the
//! controller writes exactly the edited data, and every line of the file that names no changed item is the
//! same as before (for JSON, up to the comma before a new last item).

use std::os::unix::fs::PermissionsExt;

use anyhow::{Context as _, ensure};
use sealed_secrets_test_support::TestContext;
use sealed_secrets_test_support::process::{output, workspace_binary};

use super::harness::{
    ControllerUnderTest, Expected, Impl, Scope, apply, bytes, fetch_cert_with_both,
    wait_secret_exactly, work_dir,
};
use crate::support::kubeseal::{Kubeseal, cluster_args};
use crate::support::{e2e_test, map};

/// Not valid UTF-8, with NUL and a newline.
const BINARY: &[u8] = &[0x00, 0x01, 0xfe, 0xff, 0x0a, 0xc3, 0x28, 0x00];

/// The lines of `text` that name none of `items`, trailing commas dropped.
fn untouched_lines(text: &str, items: &[&str]) -> Vec<String> {
    text.lines()
        .filter(|line| {
            let t = line.trim_start().trim_start_matches('"');
            !items
                .iter()
                .any(|i| t.starts_with(&format!("{i}:")) || t.starts_with(&format!("{i}\":")))
        })
        .map(|l| l.trim_end_matches(',').to_owned())
        .collect()
}

/// `creator` seals a Secret to a file; our kubeseal replaces one item, adds two (one binary, from a file),
/// removes one, then `kubeseal edit` (write-only) replaces one and adds one. Strict uses YAML, the other scopes JSON; `fetch`: the first `set` gets the certificate
/// through the API server instead of `--cert`.
async fn edit(
    ctx: &TestContext,
    cert: &str,
    work: &std::path::Path,
    creator: Kubeseal,
    scope: Scope,
    fetch: bool,
) -> anyhow::Result<(String, String, Expected)> {
    let ns = ctx.namespace.as_str();
    let name = format!("set-{}-{}", creator.tag(), scope.flag());
    let what = format!(
        "set/unset by our kubeseal of a file by {} kubeseal, {}",
        creator.tag(),
        scope.flag()
    );
    let yaml = scope == Scope::Strict;
    let file = work.join(format!("{name}.{}", if yaml { "yaml" } else { "json" }));
    let path = file.to_string_lossy().into_owned();
    let format: &[&str] = if yaml { &["-o", "yaml"] } else { &[] };
    let scope_line = scope
        .annotation()
        .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
        .unwrap_or_default();
    let secret = format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app: set
  annotations:
    example.com/created-by: {creator}
{scope_line}type: example.com/set
stringData:
  keep: kept
  replace: old
  remove: gone
",
        creator = creator.tag()
    );
    let args = [&["--cert", cert, "-w", &path][..], format].concat();
    creator.run_ok(ctx.cluster, &args, &secret).await?;
    let before = std::fs::read_to_string(&file)?;

    let binary = work.join(format!("{name}.bin"));
    std::fs::write(&binary, BINARY)?;
    let from_file = format!("binary={}", binary.display());
    let mut args: Vec<String> = ["set", &path, "replace=new ☃", "--from-file", &from_file]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if fetch {
        args.extend(cluster_args(ctx));
    } else {
        args.extend(["--cert".to_owned(), cert.to_owned()]);
    }
    Kubeseal::Ours
        .run_ok(ctx.cluster, &args, "")
        .await
        .with_context(|| what.clone())?;
    Kubeseal::Ours
        .run_ok(
            ctx.cluster,
            &["set", &path, "--from-file", "piped=-", "--cert", cert],
            "from stdin",
        )
        .await
        .with_context(|| what.clone())?;
    Kubeseal::Ours
        .run_ok(ctx.cluster, &["unset", &path, "remove"], "")
        .await
        .with_context(|| what.clone())?;
    let editor = work.join(format!("{name}-editor.sh"));
    std::fs::write(
        &editor,
        "#!/bin/sh\nfor a; do f=\"$a\"; done\n\
         sed -i 's/^  piped: .*/  piped: edited/' \"$f\"\nprintf '  from-edit: \"yes\"\\n' >> \"$f\"\n",
    )?;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755))?;
    let mut command = tokio::process::Command::new(workspace_binary("kubeseal")?);
    command
        .args(["edit", &path, "--cert", cert])
        .env_remove("VISUAL")
        .env_remove("SEALED_SECRETS_CERT")
        .env("EDITOR", &editor);
    let out = output(&mut command, Some("")).await?;
    ensure!(
        out.status.success(),
        "{what}: kubeseal edit failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = std::fs::read_to_string(&file)?;
    let changed = ["replace", "binary", "piped", "remove", "from-edit"];
    ensure!(
        untouched_lines(&before, &changed) == untouched_lines(&after, &changed),
        "{what}: lines other than the changed items' differ:\n--- before\n{before}\n--- after\n{after}"
    );

    let mut annotations = map(&[("example.com/created-by", creator.tag())]);
    if let Some((k, v)) = scope.annotation() {
        annotations.insert(k.to_owned(), v.to_owned());
    }
    let expected = Expected {
        name,
        type_: "example.com/set".to_owned(),
        labels: map(&[("app", "set")]),
        annotations,
        data: bytes(&[
            ("keep", b"kept"),
            ("replace", "new ☃".as_bytes()),
            ("binary", BINARY),
            ("piped", b"edited"),
            ("from-edit", b"yes"),
        ]),
    };
    Ok((what, after, expected))
}

async fn matrix(ctx: TestContext, which: Impl) -> anyhow::Result<()> {
    let ctl = ControllerUnderTest::start(&ctx, which).await?;
    let work = work_dir(&ctx)?;
    let cert = fetch_cert_with_both(&ctx, &ctl, &work).await?;
    let cert = cert.to_string_lossy().into_owned();
    let mut applied = Vec::new();
    for creator in Kubeseal::ALL {
        for scope in Scope::ALL {
            let fetch = scope == Scope::NamespaceWide && creator == Kubeseal::Bitnami;
            applied.push(edit(&ctx, &cert, &work, creator, scope, fetch).await?);
        }
    }
    for (what, manifest, _) in &applied {
        apply(&ctx, manifest).await.with_context(|| what.clone())?;
    }
    for (what, _, expected) in &applied {
        wait_secret_exactly(&ctx, &ctl, expected)
            .await
            .with_context(|| what.clone())?;
    }
    Ok(())
}

e2e_test!(set_unset_and_edit_with_our_controller, |ctx| matrix(
    ctx,
    Impl::Ours
));

e2e_test!(set_unset_and_edit_with_bitnami_controller, |ctx| matrix(
    ctx,
    Impl::Bitnami
));
