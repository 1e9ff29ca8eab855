//! `--raw` values and `--merge-into` files made by both CLIs, accepted by one controller (one test per
//! controller implementation), and `--recovery-unseal` of all of them by both CLIs with that controller's
//! key backup (so each CLI recovers what was sealed for the other implementation's controller).

use anyhow::{Context as _, ensure};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;
use sealed_secrets_test_support::TestContext;
use serde_json::{Value, json};

use super::harness::{
    ControllerUnderTest, Expected, Impl, Scope, apply, bytes, compare, fetch_cert_with_both,
    key_backup, recovery_unseal, wait_secret_exactly, work_dir,
};
use crate::support::kubeseal::Kubeseal;
use crate::support::{e2e_test, map};

/// Not valid UTF-8, with NUL and a newline.
const BINARY: &[u8] = &[0x00, 0x01, 0xfe, 0xff, 0x0a, 0xc3, 0x28, 0x00];

/// A SealedSecret (text as applied) and what its Secret must be.
struct Applied {
    what: String,
    manifest: String,
    expected: Expected,
}

/// The value `cli` seals for key `key` with `--raw`.
fn raw_value(cli: Kubeseal, key: &str) -> Vec<u8> {
    let mut value = format!("{} raw {key}: ünïcödé ", cli.tag()).into_bytes();
    if key.ends_with("file") {
        value.extend_from_slice(BINARY);
    }
    value
}

/// `--raw` values from both CLIs (stdin; `--from-file` with binary content, as `key=path` for
/// namespace-wide; for cluster-wide also without `--name`/`--namespace`), assembled by hand into one
/// SealedSecret per scope.
async fn raw(
    ctx: &TestContext,
    cert: &str,
    work: &std::path::Path,
) -> anyhow::Result<Vec<Applied>> {
    let ns = ctx.namespace.as_str();
    let mut applied = Vec::new();
    for scope in Scope::ALL {
        let name = format!("raw-{}", scope.flag());
        let mut encrypted = serde_json::Map::new();
        let mut data = Vec::new();
        for c in Kubeseal::ALL {
            let full = [
                "--raw",
                "--cert",
                cert,
                "--scope",
                scope.flag(),
                "--namespace",
                ns,
                "--name",
                &name,
            ];
            let mut runs: Vec<(String, Vec<&str>, Option<std::path::PathBuf>)> = vec![
                (format!("{}-text", c.tag()), full.to_vec(), None),
                (
                    format!("{}-file", c.tag()),
                    full.to_vec(),
                    Some(work.join(format!("{name}-{}.bin", c.tag()))),
                ),
            ];
            if scope == Scope::ClusterWide {
                let bare = vec!["--raw", "--cert", cert, "--scope", scope.flag()];
                runs.push((format!("{}-bare", c.tag()), bare, None));
            }
            for (key, mut args, file) in runs {
                let value = raw_value(c, &key);
                let file_arg;
                let stdin = match &file {
                    Some(path) => {
                        std::fs::write(path, &value)?;
                        // `key=path` is accepted too (the key is ignored): use it for one scope.
                        file_arg = if scope == Scope::NamespaceWide {
                            format!("ignored-key={}", path.display())
                        } else {
                            path.to_string_lossy().into_owned()
                        };
                        args.extend(["--from-file", file_arg.as_str()]);
                        String::new()
                    }
                    None => String::from_utf8(value.clone())?,
                };
                let out = c.run_ok(ctx.cluster, &args, &stdin).await?;
                ensure!(
                    !out.is_empty()
                        && out
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
                    "{} kubeseal {args:?}: expected one base64 value without a newline, got {out:?}",
                    c.tag()
                );
                encrypted.insert(key.clone(), Value::String(out));
                data.push((key, value));
            }
        }
        let mut annotations = serde_json::Map::new();
        if let Some((k, v)) = scope.annotation() {
            annotations.insert(k.to_owned(), Value::String(v.to_owned()));
        }
        let manifest = json!({
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {"name": name, "namespace": ns, "annotations": annotations},
            "spec": {
                "template": {
                    "metadata": {
                        "labels": {"source": "raw", "scope": scope.flag()},
                        "annotations": {"example.com/assembled": "by hand"},
                    },
                    "type": "example.com/raw",
                },
                "encryptedData": encrypted,
            },
        });
        let expected = Expected {
            name: name.clone(),
            type_: "example.com/raw".to_owned(),
            labels: map(&[("source", "raw"), ("scope", scope.flag())]),
            annotations: map(&[("example.com/assembled", "by hand")]),
            data: data.into_iter().collect(),
        };
        applied.push(Applied {
            what: format!("--raw values by both CLIs, {}", scope.flag()),
            manifest: serde_json::to_string_pretty(&manifest)?,
            expected,
        });
    }
    Ok(applied)
}

/// `--merge-into`: `creator` seals a Secret to a file with `-w`, `merger` merges another Secret (other
/// name, no namespace: both are taken from the file) into it. Strict uses a `.yaml` file and `-o yaml`;
/// the others a `.json` file and no `-o` (JSON, the default of both).
async fn merge(
    ctx: &TestContext,
    cert: &str,
    work: &std::path::Path,
    creator: Kubeseal,
    merger: Kubeseal,
    scope: Scope,
) -> anyhow::Result<Applied> {
    let ns = ctx.namespace.as_str();
    let name = format!("merge-{}-{}-{}", creator.tag(), merger.tag(), scope.flag());
    let what = format!(
        "--merge-into by {} kubeseal of a file by {} kubeseal, {}",
        merger.tag(),
        creator.tag(),
        scope.flag()
    );
    let yaml = scope == Scope::Strict;
    let file = work.join(format!("{name}.{}", if yaml { "yaml" } else { "json" }));
    let file_arg = file.to_string_lossy().into_owned();
    let format: &[&str] = if yaml { &["-o", "yaml"] } else { &[] };

    let scope_line = scope
        .annotation()
        .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
        .unwrap_or_default();
    let first = format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app: merge
    created-by: {creator}
  annotations:
    example.com/first: {creator}
{scope_line}type: example.com/merge
data:
  first: Zmlyc3Q=
  shared: b2xk
",
        creator = creator.tag()
    );
    let args = [
        &["--cert", cert, "--scope", scope.flag(), "-w", &file_arg][..],
        format,
    ]
    .concat();
    let stdout = creator.run_ok(ctx.cluster, &args, &first).await?;
    ensure!(stdout.is_empty(), "{what}: -w printed {stdout:?}");

    let mut annotations = map(&[("example.com/second", merger.tag())]);
    if let Some((k, v)) = scope.annotation() {
        annotations.insert(k.to_owned(), v.to_owned());
    }
    let second = Secret {
        metadata: ObjectMeta {
            name: Some("merge-input".to_owned()),
            labels: Some(map(&[("merged-by", merger.tag())])),
            annotations: Some(annotations),
            ..Default::default()
        },
        data: Some(
            [("binary".to_owned(), ByteString(BINARY.to_vec()))]
                .into_iter()
                .collect(),
        ),
        string_data: Some(map(&[("second", "second ☃"), ("shared", "new")])),
        ..Default::default()
    };
    let mut second = serde_json::to_value(&second)?;
    second["apiVersion"] = json!("v1");
    second["kind"] = json!("Secret");
    let args = [
        &[
            "--merge-into",
            &file_arg,
            "--cert",
            cert,
            "--scope",
            scope.flag(),
        ][..],
        format,
    ]
    .concat();
    let stdout = merger
        .run_ok(ctx.cluster, &args, &serde_json::to_string_pretty(&second)?)
        .await?;
    ensure!(stdout.is_empty(), "{what}: printed {stdout:?}");
    let manifest = std::fs::read_to_string(&file)?;
    if yaml {
        ensure!(
            manifest.contains("kind: SealedSecret"),
            "{what}: not YAML:\n{manifest}"
        );
    } else {
        serde_json::from_str::<Value>(&manifest)
            .with_context(|| format!("{what}: not JSON:\n{manifest}"))?;
    }

    let mut annotations = map(&[
        ("example.com/first", creator.tag()),
        ("example.com/second", merger.tag()),
    ]);
    if let Some((k, v)) = scope.annotation() {
        annotations.insert(k.to_owned(), v.to_owned());
    }
    let expected = Expected {
        name,
        type_: "example.com/merge".to_owned(),
        labels: map(&[
            ("app", "merge"),
            ("created-by", creator.tag()),
            ("merged-by", merger.tag()),
        ]),
        annotations,
        data: bytes(&[
            ("first", b"first"),
            ("shared", b"new"),
            ("second", "second ☃".as_bytes()),
            ("binary", BINARY),
        ]),
    };
    Ok(Applied {
        what,
        manifest,
        expected,
    })
}

async fn matrix(ctx: TestContext, which: Impl) -> anyhow::Result<()> {
    let ctl = ControllerUnderTest::start(&ctx, which).await?;
    let work = work_dir(&ctx)?;
    let cert = fetch_cert_with_both(&ctx, &ctl, &work).await?;
    let cert = cert.to_string_lossy().into_owned();

    let mut applied = raw(&ctx, &cert, &work).await?;
    for creator in Kubeseal::ALL {
        for merger in Kubeseal::ALL {
            for scope in Scope::ALL {
                applied.push(merge(&ctx, &cert, &work, creator, merger, scope).await?);
            }
        }
    }
    for a in &applied {
        apply(&ctx, &a.manifest)
            .await
            .with_context(|| a.what.clone())?;
    }
    for a in &applied {
        wait_secret_exactly(&ctx, &ctl, &a.expected)
            .await
            .with_context(|| a.what.clone())?;
    }

    // --recovery-unseal with the controller's key backup (a List), by both CLIs.
    let backup = key_backup(&ctx, &work).await?;
    for a in &applied {
        for c in Kubeseal::ALL {
            let secret = recovery_unseal(&ctx, c, &backup, &a.manifest).await?;
            compare(&secret, &a.expected, None).with_context(|| {
                format!(
                    "{} kubeseal --recovery-unseal with the {} controller's backup: {}",
                    c.tag(),
                    which.tag(),
                    a.what
                )
            })?;
        }
    }
    Ok(())
}

e2e_test!(
    raw_merge_into_and_recovery_unseal_with_our_controller,
    |ctx| matrix(ctx, Impl::Ours)
);

e2e_test!(
    raw_merge_into_and_recovery_unseal_with_bitnami_controller,
    |ctx| matrix(ctx, Impl::Bitnami)
);
