//! `kubeseal lint` against reality: a repository of kustomize bases and overlays, some of which break the
//! scope the SealedSecrets were sealed for (`namePrefix` on a strict one, `namespace` moving a
//! namespace-wide one) and some of which keep it. Every SealedSecret lint passes must unseal on the real
//! control plane with our controller, and every one it flags as a scope error must fail to unseal there.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::controller::Controller;
use crate::support::e2e_test;
use crate::support::health::synced_is;
use crate::support::kubeseal::Kubeseal;

const OURS: Kubeseal = Kubeseal::Ours;

/// A Secret manifest to seal (values are test data).
fn secret(name: &str, namespace: &str, scope_annotation: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n{scope_annotation}stringData:\n  password: hunter2\n"
    )
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(path.parent().expect("a file in a directory"))?;
    std::fs::write(path, text)?;
    Ok(())
}

e2e_test!(
    lint_agrees_with_the_controller_on_kustomize_overlays,
    |ctx| async move {
        let ctl = Controller::start(&ctx, &[]).await?;
        let ns = ctx.namespace.as_str();
        let cluster = ctx.cluster;
        let repo = std::env::temp_dir().join(format!("ssrs-lint-{ns}"));
        let _ = std::fs::remove_dir_all(&repo);
        let cert = repo.join("cert.pem");
        write(&cert, &ctl.cert().await?.to_pem())?;
        let cert_arg = cert.to_string_lossy().into_owned();
        let nswide = "  annotations:\n    sealedsecrets.bitnami.com/namespace-wide: \"true\"\n";

        // Bases: sealed with only the certificate, as CI does.
        let seal = |input: String| {
            let cert_arg = cert_arg.clone();
            async move {
                OURS.run_ok(
                    cluster,
                    &["--cert", cert_arg.as_str(), "-o", "yaml"],
                    &input,
                )
                .await
            }
        };
        let strict = seal(secret("app-db", ns, "")).await?;
        let wide = seal(secret("app-api", ns, nswide)).await?;
        let elsewhere = seal(secret("app-moved", "lint-elsewhere", nswide)).await?;
        for (dir, file) in [
            ("base-strict", &strict),
            ("base-wide", &wide),
            ("base-elsewhere", &elsewhere),
        ] {
            write(&repo.join(dir).join("sealed.yaml"), file)?;
            write(
                &repo.join(dir).join("kustomization.yaml"),
                "resources:\n- sealed.yaml\n",
            )?;
        }
        // Overlays: one keeps every scope, one renames (breaks strict, keeps namespace-wide), one moves.
        let overlays = [
            (
                "keep",
                format!("namespace: {ns}\nresources:\n- ../../base-strict\n- ../../base-wide\n"),
            ),
            (
                "prefix",
                "namePrefix: pre-\nresources:\n- ../../base-strict\n- ../../base-wide\n".to_owned(),
            ),
            (
                "move",
                format!("namespace: {ns}\nresources:\n- ../../base-elsewhere\n"),
            ),
        ];
        let kubectl = cluster.bin("kubectl");
        let mut rendered = String::new();
        for (name, kustomization) in &overlays {
            let dir = repo.join("overlays").join(name);
            write(&dir.join("kustomization.yaml"), kustomization)?;
            let out = tokio::process::Command::new(&kubectl)
                .arg("kustomize")
                .arg(&dir)
                .output()
                .await?;
            anyhow::ensure!(
                out.status.success(),
                "kubectl kustomize {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout)?;
            write(&repo.join("rendered").join(format!("{name}.yaml")), &text)?;
            rendered.push_str("---\n");
            rendered.push_str(&text);
        }

        // Lint the rendered overlays from stdin, as `kubectl kustomize ... | kubeseal lint -` does.
        let out = OURS
            .run(
                cluster,
                &["lint", "-", "--cert", cert_arg.as_str(), "--format", "json"],
                &rendered,
            )
            .await?;
        assert!(!out.ok, "scope errors must fail lint");
        assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
        let report: serde_json::Value = serde_json::from_str(&out.stdout)?;
        let mut flagged = BTreeSet::new();
        for finding in report["findings"].as_array().expect("findings") {
            let rule = finding["rule"].as_str().unwrap_or_default();
            assert!(
                rule.starts_with("scope-") && finding["level"] == "error",
                "unexpected finding {finding}"
            );
            let message = finding["message"].as_str().unwrap_or_default();
            let object = message
                .split('"')
                .nth(1)
                .expect("object name in the message");
            flagged.insert(object.rsplit('/').next().unwrap_or_default().to_owned());
        }
        let expected_flagged: BTreeSet<String> =
            ["pre-app-db", "app-moved"].map(str::to_owned).into();
        assert_eq!(flagged, expected_flagged, "{}", out.stdout);
        // The same from the files, as a directory.
        let dir_arg = repo.join("rendered").to_string_lossy().into_owned();
        let out = OURS
            .run(
                cluster,
                &["lint", dir_arg.as_str(), "--cert", cert_arg.as_str()],
                "",
            )
            .await?;
        assert!(
            !out.ok && out.stdout.contains("2 error(s), 0 warning(s)"),
            "{}",
            out.stdout
        );

        // Reality: apply everything; what lint passes unseals, what it flags does not.
        ctx.kubectl().apply_in(ns, &rendered).await?;
        for name in ["app-db", "app-api", "pre-app-api"] {
            assert!(!flagged.contains(name));
            ctx.secret(name).wait("exists", |_| Ok(true)).await?;
            ctx.sealed_secret(name)
                .wait("Synced=True", synced_is("True"))
                .await?;
        }
        for name in &flagged {
            ctx.sealed_secret(name)
                .wait("Synced=False", synced_is("False"))
                .await?;
            let secret: kube::Api<k8s_openapi::api::core::v1::Secret> = ctx.api();
            assert!(
                secret.get_opt(name).await?.is_none(),
                "{name} must not unseal"
            );
        }
        let _ = std::fs::remove_dir_all(&repo);
        Ok(())
    }
);
