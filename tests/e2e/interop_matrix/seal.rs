//! Sealing with `--cert`, `--fetch-cert`, `--validate` and `--re-encrypt`: both CLIs against one
//! controller (one test per controller implementation), all three scopes.

use std::collections::BTreeMap;

use anyhow::{Context as _, ensure};
use sealed_secrets_test_support::TestContext;
use serde_json::Value;

use super::harness::{
    ControllerUnderTest, Expected, Impl, Scope, apply, bytes, compare, fetch_cert_with_both,
    key_backup, recovery_unseal, wait_secret_exactly, work_dir,
};
use crate::support::kubeseal::{Kubeseal, cluster_args};
use crate::support::{e2e_test, map};
use sealed_secrets::names::KEY_HINT_ANNOTATION;

/// Not valid UTF-8 (0xc3 0x28), with NUL, 0xff and a newline.
const BINARY: &[u8] = &[0x00, 0xff, 0xfe, 0x80, 0x0a, 0x7f, 0xc3, 0x28];
const BINARY_BASE64: &str = "AP/+gAp/wyg=";

/// The input Secret: a custom type, several labels and annotations (one needing JSON escapes, one
/// multi-line), `data` with a binary value and `stringData` (overriding one `data` key, an empty value,
/// non-ASCII text), plus the scope's annotation.
fn input(ns: &str, name: &str, scope: Scope) -> (String, Expected) {
    let scope_line = scope
        .annotation()
        .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
        .unwrap_or_default();
    let yaml = format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: interop
    app.kubernetes.io/part-of: matrix
    tier: backend
  annotations:
    example.com/owner: \"team <a&b>\"
    example.com/config: '{{\"k\": [1, 2]}}'
    example.com/multi-line: \"line one\\nline two\"
{scope_line}type: example.com/interop
data:
  binary: {BINARY_BASE64}
  both: ZnJvbS1kYXRh
stringData:
  password: \"p@ss: w0rd #1\"
  both: from-stringData
  unicode: \"naïve ☃\"
  empty: \"\"
"
    );
    let mut annotations = map(&[
        ("example.com/owner", "team <a&b>"),
        ("example.com/config", "{\"k\": [1, 2]}"),
        ("example.com/multi-line", "line one\nline two"),
    ]);
    if let Some((k, v)) = scope.annotation() {
        annotations.insert(k.to_owned(), v.to_owned());
    }
    let expected = Expected {
        name: name.to_owned(),
        type_: "example.com/interop".to_owned(),
        labels: map(&[
            ("app.kubernetes.io/name", "interop"),
            ("app.kubernetes.io/part-of", "matrix"),
            ("tier", "backend"),
        ]),
        annotations,
        data: bytes(&[
            ("binary", BINARY),
            ("both", b"from-stringData"),
            ("password", b"p@ss: w0rd #1"),
            ("unicode", "naïve ☃".as_bytes()),
            ("empty", b""),
        ]),
    };
    (yaml, expected)
}

/// One sealed input: what a CLI printed for it.
struct Sealed {
    cli: Kubeseal,
    scope: Scope,
    expected: Expected,
    /// `-o yaml` (applied to the cluster).
    yaml: String,
    /// `-o json` of the same input (sealed again; used for the variants).
    json: Value,
}

/// A variant of a SealedSecret for `--validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Variant {
    AsSealed,
    /// Another name, same namespace.
    Renamed,
    /// Another namespace, same name.
    Moved,
}

impl Variant {
    fn apply(self, doc: &Value) -> Value {
        let mut doc = doc.clone();
        let (field, suffix) = match self {
            Variant::AsSealed => return doc,
            Variant::Renamed => ("name", "-renamed"),
            Variant::Moved => ("namespace", "-elsewhere"),
        };
        for meta in ["/metadata", "/spec/template/metadata"] {
            if let Some(Value::String(s)) = doc.pointer_mut(&format!("{meta}/{field}")) {
                s.push_str(suffix);
            }
        }
        doc
    }

    fn valid_for(self, scope: Scope) -> bool {
        match self {
            Variant::AsSealed => true,
            Variant::Renamed => scope.survives_rename(),
            Variant::Moved => scope.survives_move(),
        }
    }
}

/// The parts of a SealedSecret that do not depend on randomness or on which kubeseal wrote it: the
/// ciphertexts blanked, our key-hint annotation removed (with the map if it was the only one).
fn shape(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(Value::Object(items)) = doc.pointer_mut("/spec/encryptedData") {
        for v in items.values_mut() {
            *v = Value::String(String::new());
        }
    }
    if let Some(Value::Object(meta)) = doc.pointer_mut("/metadata")
        && let Some(Value::Object(annotations)) = meta.get_mut("annotations")
    {
        annotations.remove(KEY_HINT_ANNOTATION);
        if annotations.is_empty() {
            meta.remove("annotations");
        }
    }
    doc
}

fn name_of(doc: &Value) -> String {
    doc.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

async fn matrix(ctx: TestContext, which: Impl) -> anyhow::Result<()> {
    let ctl = ControllerUnderTest::start(&ctx, which).await?;
    let ns = ctx.namespace.as_str();
    let work = work_dir(&ctx)?;
    let cluster = cluster_args(&ctx);
    let cluster: Vec<&str> = cluster.iter().map(String::as_str).collect();

    // --fetch-cert through the service proxy: both CLIs print the controller's certificate.
    let cert = fetch_cert_with_both(&ctx, &ctl, &work).await?;
    let cert = cert.to_string_lossy().into_owned();

    // Seal with --cert, every CLI and scope; apply the YAML output.
    let mut sealed = Vec::new();
    for cli in Kubeseal::ALL {
        for scope in Scope::ALL {
            let name = format!("{}-{}", cli.tag(), scope.flag());
            let (secret, expected) = input(ns, &name, scope);
            let args = ["--cert", cert.as_str(), "--scope", scope.flag(), "-o"];
            let yaml = cli
                .run_ok(ctx.cluster, &[&args[..], &["yaml"]].concat(), &secret)
                .await?;
            let json = cli
                .run_ok(ctx.cluster, &[&args[..], &["json"]].concat(), &secret)
                .await?;
            let json: Value = serde_json::from_str(&json)
                .with_context(|| format!("{} kubeseal -o json printed\n{json}", cli.tag()))?;
            apply(&ctx, &yaml).await?;
            sealed.push(Sealed {
                cli,
                scope,
                expected,
                yaml,
                json,
            });
        }
    }
    for s in &sealed {
        wait_secret_exactly(&ctx, &ctl, &s.expected)
            .await
            .with_context(|| format!("sealed by {} kubeseal, {}", s.cli.tag(), s.scope.flag()))?;
    }

    // Both CLIs build the same SealedSecret from the same input (ciphertexts and key hint aside).
    for scope in Scope::ALL {
        let (secret, _) = input(ns, "same-input", scope);
        let mut shapes = Vec::new();
        for cli in Kubeseal::ALL {
            let args = [
                "--cert",
                cert.as_str(),
                "--scope",
                scope.flag(),
                "-o",
                "json",
            ];
            let out = cli.run_ok(ctx.cluster, &args, &secret).await?;
            shapes.push(shape(&serde_json::from_str(&out)?));
        }
        ensure!(
            shapes[0] == shapes[1],
            "{}: our kubeseal wrote\n{:#}\nBitnami's wrote\n{:#}",
            scope.flag(),
            shapes[0],
            shapes[1]
        );
    }

    // --validate: as sealed, renamed and moved, with both CLIs: the expected verdict, and the same one.
    // (sealer, scope, variant) -> (exit 0, first stderr line) per validator.
    type Verdicts<'a> = BTreeMap<(&'a str, &'a str, Variant), Vec<(bool, String)>>;
    let mut verdicts = Verdicts::new();
    for validator in Kubeseal::ALL {
        for s in &sealed {
            for variant in [Variant::AsSealed, Variant::Renamed, Variant::Moved] {
                let doc = variant.apply(&s.json);
                let out = validator
                    .run(
                        ctx.cluster,
                        &[&cluster[..], &["--validate"]].concat(),
                        &serde_json::to_string_pretty(&doc)?,
                    )
                    .await?;
                let what = format!(
                    "{} kubeseal --validate of a {} SealedSecret by {} kubeseal, {variant:?}",
                    validator.tag(),
                    s.scope.flag(),
                    s.cli.tag()
                );
                if variant.valid_for(s.scope) {
                    ensure!(out.ok && out.stdout.is_empty(), "{what}: {out:?}");
                } else {
                    ensure!(
                        !out.ok
                            && out.error_line()
                                == format!(
                                    "error: unable to decrypt sealed secret: {}",
                                    name_of(&doc)
                                ),
                        "{what}: {out:?}"
                    );
                }
                verdicts
                    .entry((s.cli.tag(), s.scope.flag(), variant))
                    .or_default()
                    .push((out.ok, out.error_line().to_owned()));
            }
        }
    }
    for (case, results) in &verdicts {
        ensure!(
            results.iter().all(|r| r == &results[0]),
            "{case:?}: ours and Bitnami's --validate disagree: {results:?}"
        );
    }

    // --validate of several documents: a YAML stream and a JSON stream, all valid, then with one bad
    // document in the middle (a renamed strict SealedSecret).
    for sealer in Kubeseal::ALL {
        let mine: Vec<&Sealed> = sealed.iter().filter(|s| s.cli == sealer).collect();
        let bad = Variant::Renamed.apply(&mine[0].json);
        let bad_name = name_of(&bad);
        let yaml_ok: String = mine.iter().map(|s| s.yaml.as_str()).collect();
        let yaml_bad = format!(
            "{}---\n{}\n{}{}",
            mine[0].yaml,
            serde_json::to_string_pretty(&bad)?,
            mine[1].yaml,
            mine[2].yaml
        );
        let json_ok: String = mine
            .iter()
            .map(|s| serde_json::to_string_pretty(&s.json).map(|j| j + "\n"))
            .collect::<Result<_, _>>()?;
        let json_bad = format!(
            "{}\n{}\n{}\n{}\n",
            serde_json::to_string_pretty(&mine[0].json)?,
            serde_json::to_string_pretty(&bad)?,
            serde_json::to_string_pretty(&mine[1].json)?,
            serde_json::to_string_pretty(&mine[2].json)?
        );
        // The streams as files (-f), named by format.
        let file = |kind: &str, ext: &str, text: &str| -> anyhow::Result<String> {
            let path = work.join(format!("validate-{}-{kind}.{ext}", sealer.tag()));
            std::fs::write(&path, text)?;
            Ok(path.to_string_lossy().into_owned())
        };
        let valid = [
            ("YAML", file("ok", "yaml", &yaml_ok)?),
            ("JSON", file("ok", "json", &json_ok)?),
        ];
        let invalid = [
            ("YAML", file("bad", "yaml", &yaml_bad)?),
            ("JSON", file("bad", "json", &json_bad)?),
        ];
        for validator in Kubeseal::ALL {
            for (what, path) in &valid {
                let args = [&cluster[..], &["--validate", "-f", path]].concat();
                let out = validator.run(ctx.cluster, &args, "").await?;
                ensure!(
                    out.ok,
                    "{} kubeseal --validate of a valid {what} file by {} kubeseal: {out:?}",
                    validator.tag(),
                    sealer.tag()
                );
            }
            for (what, path) in &invalid {
                let args = [&cluster[..], &["--validate", "-f", path]].concat();
                let out = validator.run(ctx.cluster, &args, "").await?;
                ensure!(
                    !out.ok
                        && out.error_line()
                            == format!("error: unable to decrypt sealed secret: {bad_name}"),
                    "{} kubeseal --validate of a {what} file by {} kubeseal with one bad document: {out:?}",
                    validator.tag(),
                    sealer.tag()
                );
            }
        }

        // --re-encrypt -f FILE (no -w) of the YAML stream, by the other CLI: the file is rewritten in
        // place with all three documents, in order, and both CLIs validate it.
        let re = if sealer == Kubeseal::Ours {
            Kubeseal::Bitnami
        } else {
            Kubeseal::Ours
        };
        let path = work.join(format!("re-encrypt-{}-by-{}.yaml", sealer.tag(), re.tag()));
        std::fs::write(&path, &yaml_ok)?;
        let path_arg = path.to_string_lossy().into_owned();
        let what = format!(
            "{} kubeseal --re-encrypt -f of a YAML file by {} kubeseal",
            re.tag(),
            sealer.tag()
        );
        let stdout = re
            .run_ok(
                ctx.cluster,
                &[&cluster[..], &["--re-encrypt", "-f", &path_arg]].concat(),
                "",
            )
            .await?;
        ensure!(stdout.is_empty(), "{what}: printed {stdout:?}");
        let rewritten = std::fs::read_to_string(&path)?;
        let names: Vec<&str> = rewritten
            .lines()
            .filter_map(|l| l.strip_prefix("  name: "))
            .collect();
        let expected_names: Vec<&str> = mine.iter().map(|s| s.expected.name.as_str()).collect();
        ensure!(
            rewritten.starts_with("---\n")
                && rewritten.matches("kind: SealedSecret").count() == 3
                && names == expected_names
                && rewritten != yaml_ok,
            "{what}: the file is now\n{rewritten}"
        );
        for validator in Kubeseal::ALL {
            validator
                .run_ok(
                    ctx.cluster,
                    &[&cluster[..], &["--validate", "-f", &path_arg]].concat(),
                    "",
                )
                .await
                .with_context(|| format!("{what}: {} kubeseal --validate", validator.tag()))?;
        }
    }

    // --validate and --re-encrypt of input that holds no SealedSecret. A Secret or a ConfigMap fails
    // with both CLIs (Bitnami's sends it and the controller refuses it; ours refuses it before any
    // request, naming the document). Malformed YAML and empty input: Bitnami's kubeseal exits 0 having
    // checked nothing (its decoder stops at the first error and treats that as the end of the input);
    // ours fails. See the report / docs/compatibility.md.
    for (what, input, upstream_fails) in [
        (
            "a Secret",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  a: b\n",
            true,
        ),
        (
            "a ConfigMap",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n",
            true,
        ),
        ("malformed YAML", "kind: SealedSecret\nmetadata: [\n", false),
        ("empty input", "", false),
    ] {
        // Ours reports a document it cannot read as upstream reports one it cannot decode
        // (docs/upstream-behavior.md, "kubeseal"); Bitnami's reports the controller's refusal.
        for (op, prefix, upstream_prefix) in [
            (
                "--validate",
                "error: unable to decrypt sealed secret: ",
                "error: cannot validate sealed secret: ",
            ),
            (
                "--re-encrypt",
                "error: cannot re-encrypt secret: ",
                "error: cannot re-encrypt secret: ",
            ),
        ] {
            let args = [&cluster[..], &[op]].concat();
            let ours = Kubeseal::Ours.run(ctx.cluster, &args, input).await?;
            ensure!(
                !ours.ok && ours.stdout.is_empty() && ours.error_line().starts_with(prefix),
                "our kubeseal {op} of {what}: {ours:?}"
            );
            let upstream = Kubeseal::Bitnami.run(ctx.cluster, &args, input).await?;
            ensure!(
                upstream.ok != upstream_fails && upstream.stdout.is_empty(),
                "Bitnami's kubeseal {op} of {what}: {upstream:?}"
            );
            if upstream_fails {
                ensure!(
                    upstream.error_line().starts_with(upstream_prefix),
                    "Bitnami's kubeseal {op} of {what}: {upstream:?}"
                );
            }
        }
    }

    // --re-encrypt with both CLIs: same name, namespace, scope and template; new ciphertexts; both CLIs
    // produce the same object; it validates and unseals (recovery, both CLIs) to the input's data. Every
    // case runs; the failures are reported together.
    let backup = key_backup(&ctx, &work).await?;
    let mut failures = Vec::new();
    for s in &sealed {
        let mut shapes = Vec::new();
        for re in Kubeseal::ALL {
            match re_encrypt(&ctx, &cluster, &backup, which, re, s).await {
                Ok(shape) => shapes.push(shape),
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
        let same_prediction = expected_template(which, Kubeseal::Ours, &s.json)
            == expected_template(which, Kubeseal::Bitnami, &s.json);
        if same_prediction && shapes.len() == 2 && shapes[0] != shapes[1] {
            failures.push(format!(
                "--re-encrypt of {}: our kubeseal printed\n{:#}\nBitnami's printed\n{:#}",
                s.expected.name, shapes[0], shapes[1]
            ));
        }
    }
    ensure!(
        failures.is_empty(),
        "{} of {} --re-encrypt cases failed:\n\n{}",
        failures.len(),
        sealed.len() * 2,
        failures.join("\n\n")
    );
    Ok(())
}

/// The `spec.template` that `--re-encrypt` by `re` through controller `which` returns for `sealed`.
///
/// Ours keeps the template as it is. Bitnami's `/v1/rotate` copies the top-level metadata of the request
/// over the template's whenever the two differ (docs/compatibility.md, K38), so template-only
/// labels and annotations are lost: upstream behaviour, documented in docs/controller.md (difference 6).
/// Our kubeseal leaves its key hint (docs/compatibility.md K11) out of the request; Bitnami's kubeseal
/// sends the input as it is, so the hint of a SealedSecret made by our kubeseal lands in the template.
fn expected_template(which: Impl, re: Kubeseal, sealed: &Value) -> Value {
    let mut template = sealed["spec"]["template"].clone();
    if which == Impl::Bitnami {
        let mut sent = sealed["metadata"].clone();
        if re == Kubeseal::Ours
            && let Some(Value::Object(meta)) = Some(&mut sent)
            && let Some(Value::Object(annotations)) = meta.get_mut("annotations")
        {
            annotations.remove(KEY_HINT_ANNOTATION);
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
        if sent != template["metadata"] {
            template["metadata"] = sent;
        }
    }
    template
}

/// `re --re-encrypt` of `s`, checked (see the caller); the result's [`shape`].
async fn re_encrypt(
    ctx: &TestContext,
    cluster: &[&str],
    backup: &std::path::Path,
    which: Impl,
    re: Kubeseal,
    s: &Sealed,
) -> anyhow::Result<Value> {
    let what = format!(
        "{} kubeseal --re-encrypt of a {} SealedSecret by {} kubeseal",
        re.tag(),
        s.scope.flag(),
        s.cli.tag()
    );
    let out = re
        .run_ok(
            ctx.cluster,
            &[cluster, &["--re-encrypt", "-o", "json"]].concat(),
            &serde_json::to_string_pretty(&s.json)?,
        )
        .await?;
    let doc: Value =
        serde_json::from_str(&out).with_context(|| format!("{what}: printed\n{out}"))?;
    ensure!(
        doc["kind"] == "SealedSecret" && doc["apiVersion"] == "bitnami.com/v1alpha1",
        "{what}: {doc:#}"
    );
    for field in ["/metadata/name", "/metadata/namespace"] {
        ensure!(
            doc.pointer(field) == s.json.pointer(field),
            "{what}: {field} changed from {:#}\nto {:#}",
            s.json.pointer(field).unwrap_or(&Value::Null),
            doc.pointer(field).unwrap_or(&Value::Null)
        );
    }
    let template = expected_template(which, re, &s.json);
    ensure!(
        doc["spec"]["template"] == template,
        "{what}: spec.template is\n{:#}\nexpected\n{template:#}\n(sealed: {:#})",
        doc["spec"]["template"],
        s.json["spec"]["template"]
    );
    let annotations = |d: &Value| shape(d).pointer("/metadata/annotations").cloned();
    ensure!(
        annotations(&doc) == annotations(&s.json),
        "{what}: top-level annotations {:?} became {:?}",
        annotations(&s.json),
        annotations(&doc)
    );
    let before = s.json["spec"]["encryptedData"]
        .as_object()
        .context("encryptedData")?;
    let after = doc["spec"]["encryptedData"]
        .as_object()
        .with_context(|| format!("{what}: no encryptedData: {doc:#}"))?;
    ensure!(
        before.keys().eq(after.keys()),
        "{what}: keys {:?} became {:?}",
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    ensure!(
        before.iter().all(|(k, v)| after[k] != *v),
        "{what}: ciphertexts not renewed"
    );
    let text = serde_json::to_string_pretty(&doc)?;
    re.run_ok(ctx.cluster, &[cluster, &["--validate"]].concat(), &text)
        .await
        .with_context(|| format!("{what}: the result does not validate"))?;
    let map = |v: &Value| -> BTreeMap<String, String> {
        serde_json::from_value(v.clone()).unwrap_or_default()
    };
    let expected = Expected {
        labels: map(&template["metadata"]["labels"]),
        annotations: map(&template["metadata"]["annotations"]),
        ..s.expected.clone()
    };
    for recoverer in Kubeseal::ALL {
        let secret = recovery_unseal(ctx, recoverer, backup, &text).await?;
        compare(&secret, &expected, None).with_context(|| {
            format!(
                "{what}: {} kubeseal --recovery-unseal of the result",
                recoverer.tag()
            )
        })?;
    }
    Ok(shape(&doc))
}

e2e_test!(seal_fetch_validate_re_encrypt_with_our_controller, |ctx| {
    matrix(ctx, Impl::Ours)
});

e2e_test!(
    seal_fetch_validate_re_encrypt_with_bitnami_controller,
    |ctx| matrix(ctx, Impl::Bitnami)
);
