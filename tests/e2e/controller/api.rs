//! The HTTP API and metrics of a running controller, and its command line (docs/upstream-behavior.md, "The controller").

use sealed_secrets::SealedSecret;
use sealed_secrets_test_support::process::{run_to_completion, workspace_binary};

use crate::support::raw_http::http;
use crate::support::sealed::SecretFixture;
use crate::support::{e2e_test, map};

e2e_test!(
    health_cert_routing_and_methods,
    controller = [],
    |_ctx, mut ctl| async move {
        let r = http(ctl.listen, "GET", "/healthz", &[], b"").await?;
        assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
        assert_eq!(
            http(ctl.listen, "GET", "/readyz", &[], b"").await?.status,
            200
        );
        let r = http(ctl.listen, "GET", "/v1/cert.pem", &[], b"").await?;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/x-pem-file")
        );
        assert_eq!(r.body.matches("-----BEGIN CERTIFICATE-----").count(), 1);
        assert_eq!(
            http(ctl.listen, "GET", "/nope", &[], b"").await?.status,
            404
        );
        assert_eq!(
            http(ctl.listen, "GET", "/v1/verify", &[], b"")
                .await?
                .status,
            405
        );
        assert_eq!(
            http(ctl.listen, "POST", "/v1/cert.pem", &[], b"")
                .await?
                .status,
            405
        );
        let metrics = ctl.metrics().await?;
        for name in [
            "sealed_secrets_controller_build_info",
            "sealed_secrets_controller_unseal_requests_total",
            "sealed_secrets_controller_http_requests_total{path=\"/v1/cert.pem\",code=\"200\",method=\"get\"}",
            "sealed_secrets_controller_rsa_decrypt_operations_total",
            "sealed_secrets_controller_unseal_duration_seconds",
        ] {
            assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
        }
        // SIGTERM: graceful shutdown, exit 0, well within the grace period.
        let started = std::time::Instant::now();
        let status = ctl.process.stop()?;
        assert!(status.success(), "exit status after SIGTERM: {status}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        Ok(())
    }
);

e2e_test!(
    verify_answers_200_409_400_and_accepts_streams,
    controller = ["--rate-limit=100", "--rate-limit-burst=100"],
    |ctx, ctl| async move {
        let ns = ctx.namespace.as_str();
        let cert = ctl.cert().await?;
        let good = serde_json::to_string(
            &SecretFixture::new("a")
                .namespace(ns)
                .data("foo", "bar")
                .seal(&cert)?,
        )?;
        let good2 = serde_json::to_string(
            &SecretFixture::new("b")
                .namespace(ns)
                .data("x", "y")
                .seal(&cert)?,
        )?;
        let mut renamed: SealedSecret = serde_json::from_str(&good)?;
        renamed.metadata.name = Some("renamed".into());
        let bad = serde_json::to_string(&renamed)?;
        let post = |body: String| async move {
            http(ctl.listen, "POST", "/v1/verify", &[], body.as_bytes()).await
        };
        assert_eq!(post(good.clone()).await?.status, 200);
        assert_eq!(
            post(format!("{good}\n{good2}")).await?.status,
            200,
            "JSON stream"
        );
        assert_eq!(
            post(format!("{good}\n---\n{good2}\n")).await?.status,
            200,
            "YAML stream"
        );
        assert_eq!(
            post(format!("{good}\n{bad}")).await?.status,
            409,
            "one does not verify"
        );
        assert_eq!(post(bad).await?.status, 409);
        assert_eq!(post("{not json".to_owned()).await?.status, 400);
        assert_eq!(
            post(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#.to_owned())
                .await?
                .status,
            400
        );
        Ok(())
    }
);

e2e_test!(
    rotate_keeps_scope_and_template_data_and_answers_json,
    controller = [],
    |ctx, ctl| async move {
        let ns = ctx.namespace.as_str();
        let mut sealed = SecretFixture::new("r")
            .namespace(ns)
            .data("password", "p4ss")
            .seal(&ctl.cert().await?)?;
        // CVE-2026-22728: a template annotation claiming cluster-wide must not widen the scope.
        sealed.spec.template.metadata.annotations =
            Some(map(&[("sealedsecrets.bitnami.com/cluster-wide", "true")]));
        sealed.spec.template.data = Some(map(&[("config", "pw={{ .password }}")]));
        let body = serde_json::to_vec(&sealed)?;
        let r = http(ctl.listen, "POST", "/v1/rotate", &[], &body).await?;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        let rotated: SealedSecret = serde_json::from_str(&r.body)?;
        assert_ne!(
            rotated.spec.encrypted_data["password"],
            sealed.spec.encrypted_data["password"]
        );
        assert_eq!(
            rotated.spec.template.data, sealed.spec.template.data,
            "template.data kept"
        );
        assert!(
            !rotated
                .metadata
                .annotations
                .clone()
                .unwrap_or_default()
                .contains_key("sealedsecrets.bitnami.com/cluster-wide"),
            "scope unchanged (strict)"
        );
        // Still strict: verifies under its name, not under another.
        let ok = http(ctl.listen, "POST", "/v1/verify", &[], r.body.as_bytes()).await?;
        assert_eq!(ok.status, 200);
        let mut renamed = rotated.clone();
        renamed.metadata.name = Some("other".into());
        let r2 = http(
            ctl.listen,
            "POST",
            "/v1/verify",
            &[],
            serde_json::to_string(&renamed)?.as_bytes(),
        )
        .await?;
        assert_eq!(r2.status, 409);
        // Undecryptable and malformed input.
        let r3 = http(
            ctl.listen,
            "POST",
            "/v1/rotate",
            &[],
            serde_json::to_string(&renamed)?.as_bytes(),
        )
        .await?;
        assert_eq!(r3.status, 409);
        assert_eq!(
            http(ctl.listen, "POST", "/v1/rotate", &[], b"[1,2")
                .await?
                .status,
            400
        );
        Ok(())
    }
);

e2e_test!(
    verify_and_rotate_are_rate_limited,
    controller = ["--rate-limit=1", "--rate-limit-burst=1"],
    |_ctx, ctl| async move {
        for path in ["/v1/verify", "/v1/rotate"] {
            let headers = [("X-Forwarded-For", "10.9.8.7")];
            let codes: Vec<u16> = {
                let mut v = Vec::new();
                for _ in 0..3 {
                    v.push(
                        http(ctl.listen, "POST", path, &headers, b"{}")
                            .await?
                            .status,
                    );
                }
                v
            };
            assert_ne!(codes[0], 429, "{path}: {codes:?}");
            assert_eq!(codes[2], 429, "{path}: burst 1 allows 2 at once: {codes:?}");
            let denied = http(ctl.listen, "POST", path, &headers, b"{}").await?;
            assert_eq!(denied.status, 429);
            assert_eq!(denied.body, "limit exceeded\n");
            assert_eq!(
                denied.headers.get("x-ratelimit-limit").map(String::as_str),
                Some("2")
            );
            assert!(denied.headers.contains_key("retry-after"));
        }
        Ok(())
    }
);

#[tokio::test]
async fn version_and_flag_errors() -> anyhow::Result<()> {
    let bin = workspace_binary("sealed-secrets-controller")?;
    let out = run_to_completion(&bin, &["--version"], None).await?;
    assert!(out.starts_with("controller version: "), "{out}");
    for (args, needle) in [
        (["--rate-limit=0"], "invalid --rate-limit \"0\""),
        (["--privatekey-labels=a=b,broken"], "is not key=value"),
        (["--key-cutoff-time=yesterday"], "invalid --key-cutoff-time"),
    ] {
        let output = tokio::process::Command::new(&bin)
            .args(args)
            .output()
            .await?;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(needle) && stderr.contains("hint:"),
            "{args:?}: {stderr}"
        );
    }
    Ok(())
}
