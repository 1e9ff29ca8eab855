//! The controller as an attacker sees it (docs/security.md): every channel searched for a planted secret
//! value, the budgets of templates and RSA under concurrent load, rate limits with spoofed headers on both
//! paths, slow clients, and forged integrity annotations.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use sealed_secrets::SealedSecret;
use sealed_secrets::keys::{Certificate, PrivateKey};
use sealed_secrets::names::INTEGRITY_ANNOTATION;
use sealed_secrets_test_support::proxy;
use sealed_secrets_test_support::wait::wait_for;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::controller::Controller;
use crate::support::health::{condition, synced_is};
use crate::support::raw_http::http;
use crate::support::sealed::{SecretFixture, create, integrity, string_data};
use crate::support::{e2e_test, map};

/// The secret value every test plants, and looks for (with its substrings) in every channel.
const PLANTED: &str = "zq7XvK2wP9jM4rT8";

/// Fails if `text` holds PLANTED or any 6-character piece of it. (Shorter pieces would match by chance
/// in base64 ciphertexts.)
fn assert_clean(channel: &str, text: &str) {
    for len in 6..=PLANTED.len() {
        for start in 0..=PLANTED.len() - len {
            let piece = &PLANTED[start..start + len];
            assert!(
                !text.contains(piece),
                "{channel} carries {piece:?} of the planted value:\n{text}"
            );
        }
    }
}

/// Templates that try to carry the value (or one bit of it per template) out through an error.
fn probes() -> Vec<String> {
    let mut probes: Vec<String> = [
        r#"{{ fail .pw }}"#,
        r#"{{ b64dec .pw | mustFromJson }}"#,
        r#"{{ mustFromJson .pw }}"#,
        r#"{{ index .pw 99 }}"#,
        r#"{{ .pw.field }}"#,
        r#"{{ atoi .pw | div 1 }}"#,
        r#"{{ mustRegexFind (print "(" .pw) "x" }}"#,
        r#"{{ $l := list }}{{ range until (int (mul 3 (len .pw))) }}{{ $l = append $l (repeat 1048576 "y") }}{{ end }}"#,
        r#"{{ mustToDate "2006" .pw }}"#,
    ]
    .map(str::to_owned)
    .to_vec();
    // The audit's oracle: one template per position that fails when the guess is right.
    for (i, c) in PLANTED.chars().enumerate() {
        probes.push(format!(
            r#"{{{{ if eq (substr {i} {} .pw) "{c}" }}}}{{{{ fail "position {i}" }}}}{{{{ end }}}}"#,
            i + 1
        ));
    }
    probes
}

/// A Secret with PLANTED in item `pw`.
fn planted_secret(ns: &str, name: &str) -> SecretFixture {
    SecretFixture::new(name)
        .namespace(ns)
        .data("pw", PLANTED)
        .data("user", "admin")
}

/// `sealed` with `templates` as `spec.template.data`.
fn with_templates(mut sealed: SealedSecret, templates: &[(&str, &str)]) -> SealedSecret {
    sealed.spec.template.data = Some(map(templates));
    sealed
}

e2e_test!(
    verify_and_rotate_answer_nothing_about_the_values,
    controller = ["--rate-limit=1000", "--rate-limit-burst=1000"],
    |ctx, ctl| async move {
        proxy::expose(&ctx.client, &ctx.namespace, "ssc", "http", ctl.listen).await?;
        let ns = ctx.namespace.as_str();
        let cert = ctl.cert().await?;
        let sealed = planted_secret(ns, "probe").seal(&cert)?;
        let probes = probes();
        let mut templates: Vec<(String, String)> = probes
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("t{i:02}"), t.clone()))
            .collect();
        templates.push(("ok".into(), "{{ .user }}".into()));
        let pairs: Vec<(&str, &str)> = templates
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let attack = serde_json::to_string(&with_templates(sealed.clone(), &pairs))?;

        // Every value decrypts, so verify answers 200 with an empty body: the templates are never run.
        let direct = http(ctl.listen, "POST", "/v1/verify", &[], attack.as_bytes()).await?;
        assert_eq!(
            (direct.status, direct.body.as_str()),
            (200, ""),
            "{direct:?}"
        );
        assert_clean(
            "/v1/verify (direct) headers",
            &format!("{:?}", direct.headers),
        );
        let through = proxy_post(&ctx.client, ns, "/v1/verify", &attack).await?;
        assert_eq!(through, (200, String::new()));

        // The same object moved elsewhere: 409 naming the object and the first item, nothing else.
        let mut moved_attack: SealedSecret = serde_json::from_str(&attack)?;
        moved_attack.metadata.name = Some("elsewhere".into());
        let moved_attack = serde_json::to_string(&moved_attack)?;
        let refused = http(
            ctl.listen,
            "POST",
            "/v1/verify",
            &[],
            moved_attack.as_bytes(),
        )
        .await?;
        assert_eq!(refused.status, 409);
        assert_eq!(
            refused.body,
            format!("{ns}/elsewhere: no key could decrypt secret (pw)\n")
        );
        // Legacy spec.data holding a planted non-Secret: one static answer.
        let legacy = legacy_sealed(&cert, ns, "legacy")?;
        let r = http(
            ctl.listen,
            "POST",
            "/v1/verify",
            &[],
            serde_json::to_string(&legacy)?.as_bytes(),
        )
        .await?;
        assert_eq!(
            (r.status, r.body.as_str()),
            (
                409,
                &*format!("{ns}/legacy: deprecated 'data' field does not hold a Secret\n")
            )
        );
        assert_clean("/v1/verify (legacy)", &r.body);

        // Rotate re-encrypts the values and carries the templates over as they are.
        let rotated = http(ctl.listen, "POST", "/v1/rotate", &[], attack.as_bytes()).await?;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        assert_clean("/v1/rotate", &rotated.body);
        let rotated: SealedSecret = serde_json::from_str(&rotated.body)?;
        assert_eq!(rotated.spec.template.data, Some(map(&pairs)));
        assert_clean("controller logs", &ctl.process.stdout());
        assert_clean("controller logs", &ctl.process.stderr());
        assert_clean("metrics", &ctl.metrics().await?);
        Ok(())
    }
);

/// POST through the API server's service proxy to Service `ssc`; (status, body).
async fn proxy_post(
    client: &Client,
    ns: &str,
    path: &str,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    proxy_request(client, ns, path, body, None).await
}

async fn proxy_request(
    client: &Client,
    ns: &str,
    path: &str,
    body: &str,
    forwarded_for: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let uri = proxy::proxy_path(ns, "ssc", "http", path);
    let mut request = http::Request::post(&uri).header("content-type", "application/json");
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    let request = request.body(body.as_bytes().to_vec())?;
    match client.request_text(request).await {
        Ok(text) => Ok((200, text)),
        Err(kube::Error::Api(status)) => Ok((status.code, status.message)),
        Err(e) => Err(e.into()),
    }
}

/// A SealedSecret in the deprecated `spec.data` format whose blob is not a Secret but holds PLANTED.
fn legacy_sealed(cert: &Certificate, ns: &str, name: &str) -> anyhow::Result<SealedSecret> {
    let blob = format!("{{\"kind\": \"Secret\", \"data\": {PLANTED}}}");
    let label = format!("{ns}/{name}");
    let ciphertext = sealed_secrets::hybrid::hybrid_encrypt(
        &mut rand::rngs::OsRng,
        &cert.public_key()?,
        blob.as_bytes(),
        label.as_bytes(),
    )?;
    let mut sealed = SealedSecret::new(name, Default::default());
    sealed.metadata.namespace = Some(ns.into());
    sealed.spec.data = Some(base64_encode(&ciphertext));
    Ok(sealed)
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

e2e_test!(
    status_events_logs_and_metrics_carry_nothing_of_the_values,
    |ctx| async move {
        // Debug level everywhere, the Kubernetes client's logs included.
        let ctl =
            Controller::start_with(&ctx, &["--log-level=DEBUG"], &[("RUST_LOG", "debug")]).await?;
        let ns = ctx.namespace.as_str();
        let cert = ctl.cert().await?;
        let mut names = Vec::new();
        for (i, probe) in probes().iter().enumerate() {
            let name = format!("leak-{i:02}");
            let sealed = planted_secret(ns, &name).seal(&cert)?;
            create(
                &ctx.client,
                &with_templates(sealed, &[("probe", probe), ("ok", "{{ .user }}")]),
            )
            .await?;
            names.push(name);
        }
        // A dockerconfigjson Secret whose value is not JSON: the API server's refusal quotes the parser.
        SecretFixture::new("docker")
            .namespace(ns)
            .data(".dockerconfigjson", PLANTED)
            .type_("kubernetes.io/dockerconfigjson")
            .create_sealed(&ctx.client, &cert)
            .await?;
        names.push("docker".into());
        create(&ctx.client, &legacy_sealed(&cert, ns, "legacy")?).await?;
        names.push("legacy".into());

        let mut statuses = String::new();
        for name in &names {
            let ss = ctx
                .sealed_secret(name)
                .wait("Synced=False", synced_is("False"))
                .await?;
            let status = serde_json::to_string_pretty(&ss.status)?;
            let message = condition(&ss, "Synced")
                .and_then(|c| c.message.clone())
                .unwrap_or_default();
            let expected = match name.as_str() {
                "docker" => {
                    "the API server rejected Secret \"docker\" as invalid (data[.dockerconfigjson]: FieldValueInvalid)"
                }
                "legacy" => "deprecated 'data' field does not hold a Secret",
                _ => {
                    "a template of spec.template.data failed while rendering; which one and why are not reported"
                }
            };
            assert!(message.contains(expected), "{name}: {message}");
            if name.starts_with("leak") {
                assert!(message.ends_with("(ok, probe)"), "{name}: {message}");
            }
            statuses.push_str(&status);
        }
        assert_clean("status", &statuses);
        let events: Vec<String> = Api::<Event>::namespaced(ctx.client.clone(), ns)
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e.reason.unwrap_or_default(),
                    e.message.unwrap_or_default()
                )
            })
            .collect();
        assert!(
            events
                .iter()
                .any(|e| e.starts_with("ErrUnsealFailed Failed to unseal: a template")),
            "{events:?}"
        );
        assert_clean("events", &events.join("\n"));
        let logs = format!("{}{}", ctl.process.stdout(), ctl.process.stderr());
        assert!(logs.contains("leak-00"), "the failures are logged");
        assert_clean("controller logs (debug level)", &logs);
        // The API server's JSON parser names the first bad character of the decrypted value.
        for (channel, text) in [
            ("status", &statuses),
            ("events", &events.join("\n")),
            ("logs", &logs),
        ] {
            assert!(
                !text.contains("looking for beginning of value"),
                "{channel}: {text}"
            );
        }
        assert_clean("metrics", &ctl.metrics().await?);
        // And nothing was written for them.
        for name in &names {
            assert!(
                Api::<Secret>::namespaced(ctx.client.clone(), ns)
                    .get_opt(name)
                    .await?
                    .is_none(),
                "{name}"
            );
        }
        Ok(())
    }
);

/// Peak resident memory of a process (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmHWM")
}

e2e_test!(
    hostile_templates_and_rsa_floods_do_not_stall_other_namespaces,
    |ctx| async move {
        let other = ctx.another_namespace().await?;
        let extra = format!("--additional-namespaces={other}");
        let ctl = Controller::start(
            &ctx,
            &[
                "--rate-limit=1000",
                "--rate-limit-burst=1000",
                "--max-unseal-retries=1",
                &extra,
            ],
        )
        .await?;
        let ns = ctx.namespace.as_str();
        let cert = ctl.cert().await?;
        let hostile = [
            // 32 MiB of values: the per-object value budget.
            r#"{{ $l := list }}{{ range until 1000 }}{{ $l = append $l (repeat 1048576 "y") }}{{ end }}"#,
            // Two million evaluation steps: the per-object step budget.
            r#"{{ range until 100000 }}{{ range until 100 }}{{ end }}{{ end }}"#,
            // bcrypt in a loop.
            r#"{{ range until 1000 }}{{ $_ := bcrypt "x" }}{{ end }}"#,
        ];
        for i in 0..6 {
            let sealed = planted_secret(ns, &format!("hostile-{i}")).seal(&cert)?;
            // Many templates sharing one budget: the budget is per object, not per item.
            let templates: Vec<(String, String)> = (0..5)
                .map(|t| (format!("t{t}"), hostile[i % hostile.len()].to_owned()))
                .collect();
            let pairs: Vec<(&str, &str)> = templates
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            create(&ctx.client, &with_templates(sealed, &pairs)).await?;
        }
        // An object with more values than the RSA budget allows (no key hint: every value pays).
        let mut wide = (0..2100)
            .fold(SecretFixture::new("wide").namespace(ns), |s, i| {
                s.data(&format!("v{i:04}"), &format!("value {i}"))
            })
            .seal(&cert)?;
        wide.metadata.annotations = None;
        create(&ctx.client, &wide).await?;
        let wide_body = serde_json::to_string(&wide)?;
        // Verify floods on the HTTP pool, two at a time (the most one client may have waiting).
        let floods: Vec<_> = (0..2)
            .map(|_| {
                let body = wide_body.clone();
                let listen = ctl.listen;
                tokio::spawn(async move {
                    http(listen, "POST", "/v1/verify", &[], body.as_bytes()).await
                })
            })
            .collect();

        // Meanwhile, an ordinary object in another namespace unseals within seconds.
        let started = Instant::now();
        SecretFixture::new("ordinary")
            .namespace(&other)
            .data("k", "v")
            .create_sealed(&ctx.client, &cert)
            .await?;
        ctx.sealed_secret("ordinary")
            .in_namespace(&other)
            .wait("Synced=True", synced_is("True"))
            .await?;
        let ordinary = started.elapsed();
        eprintln!("ordinary object Synced {ordinary:?} after creation, under load");
        assert!(ordinary < Duration::from_secs(15), "took {ordinary:?}");

        // Meanwhile another client's ordinary verify is answered at once: the pool is shared by client.
        let one = serde_json::to_string(
            &SecretFixture::new("one")
                .namespace(ns)
                .data("k", "v")
                .seal(&cert)?,
        )?;
        let asked = Instant::now();
        let localhost = IpAddr::from(Ipv4Addr::LOCALHOST);
        let r = http(
            (localhost, ctl.listen),
            "POST",
            "/v1/verify",
            &[],
            one.as_bytes(),
        )
        .await?;
        let answered = asked.elapsed();
        eprintln!(
            "another client's verify answered {} in {answered:?} during the floods",
            r.status
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert!(answered < Duration::from_secs(5), "took {answered:?}");
        for flood in floods {
            let r = flood.await??;
            assert_eq!(r.status, 400, "{r:?}");
            assert!(
                r.body
                    .contains("needs more than 512 RSA decryption attempts"),
                "{}",
                r.body
            );
        }
        for i in 0..6 {
            let ss = ctx
                .sealed_secret(&format!("hostile-{i}"))
                .wait("Synced=False", synced_is("False"))
                .await?;
            assert_clean("status", &serde_json::to_string(&ss.status)?);
        }
        let ss = ctx
            .sealed_secret("wide")
            .wait("Synced=False", synced_is("False"))
            .await?;
        let message = condition(&ss, "Synced")
            .and_then(|c| c.message.clone())
            .unwrap_or_default();
        assert!(
            message.contains("needs more than 2048 RSA decryption attempts (2100 values, 1 keys)"),
            "{message}"
        );

        // --max-unseal-retries=1: each of the 7 failing objects fails twice (the first attempt and one quick
        // retry, which under this load may itself take seconds: a hostile object spends its whole budget), then
        // is not tried again for 15 minutes.
        let expected = 7.0 * 2.0;
        let errors = wait_for(
            "each failing object to fail twice",
            Duration::from_secs(60),
            || async {
                let errors = ctl
                    .metric("sealed_secrets_controller_unseal_errors_total")
                    .await?;
                anyhow::ensure!(
                    errors <= expected,
                    "{errors} unseal errors: more than one retry per object"
                );
                Ok((errors == expected).then_some(errors))
            },
        )
        .await?;
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert_eq!(
            ctl.metric("sealed_secrets_controller_unseal_errors_total")
                .await?,
            errors,
            "failed objects are no longer retried quickly"
        );
        let peak = peak_rss_kib(ctl.process.pid())?;
        eprintln!("controller peak RSS under load: {} MiB", peak / 1024);
        assert!(peak < 200 * 1024, "peak RSS {} MiB", peak / 1024);
        Ok(())
    }
);

e2e_test!(
    a_new_forwarded_for_per_request_does_not_widen_the_rate_limit,
    |ctx| async move {
        // The API server reaches local backends from the run's host address: trust that address only.
        let trusted = format!("--trusted-proxies={}", ctx.cluster.host_ip);
        let ctl =
            Controller::start(&ctx, &["--rate-limit=1", "--rate-limit-burst=2", &trusted]).await?;
        proxy::expose(&ctx.client, &ctx.namespace, "ssc", "http", ctl.listen).await?;
        // A client that reports a 429 instead of retrying it.
        let mut config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(&ctx.cluster.kubeconfig)?,
            &Default::default(),
        )
        .await?;
        config.default_retry = false;
        let client = Client::try_from(config)?;
        let body = b"{}";

        // Direct, from 127.0.0.1 (not a trusted proxy), a new X-Forwarded-For each time: limited by the peer.
        let localhost = IpAddr::from(Ipv4Addr::LOCALHOST);
        let mut direct = Vec::new();
        for i in 0..8 {
            let xff = format!("198.51.100.{i}");
            direct.push(
                http(
                    (localhost, ctl.listen),
                    "POST",
                    "/v1/verify",
                    &[("X-Forwarded-For", &xff)],
                    body,
                )
                .await?
                .status,
            );
        }
        assert_eq!(
            direct.iter().filter(|s| **s == 429).count(),
            5,
            "{direct:?}"
        );
        assert!(
            direct[..3].iter().all(|s| *s == 400),
            "burst + 1 pass: {direct:?}"
        );

        // Through the service proxy, a new X-Forwarded-For each time: limited by the address the API
        // server appended (this test's).
        let mut proxied = Vec::new();
        for i in 0..8 {
            let xff = format!("203.0.113.{i}");
            proxied.push(
                proxy_request(&client, &ctx.namespace, "/v1/rotate", "{}", Some(&xff))
                    .await?
                    .0,
            );
        }
        assert_eq!(
            proxied.iter().filter(|s| **s == 429).count(),
            5,
            "{proxied:?}"
        );
        Ok(())
    }
);

e2e_test!(
    slow_and_piled_up_connections_are_closed,
    controller = ["--read-timeout=3s"],
    |_ctx, ctl| async move {
        // 40 connections from one address that never finish their request head.
        let mut slow = Vec::new();
        for _ in 0..40 {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new("127.0.0.1".parse()?, 0))?;
            let mut stream = socket.connect(ctl.listen).await?;
            stream
                .write_all(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await?;
            slow.push(stream);
        }
        // Others are served meanwhile.
        let r = http(ctl.listen, "GET", "/v1/cert.pem", &[], b"").await?;
        assert_eq!(r.status, 200);
        // At most 32 of one address's connections are kept; all of them are closed once the head is late.
        let started = Instant::now();
        let mut closed_at = Vec::new();
        for stream in &mut slow {
            let mut buf = [0u8; 256];
            let n = tokio::time::timeout(Duration::from_secs(15), stream.read(&mut buf))
                .await
                .context("a slow connection stayed open")?
                .unwrap_or(0);
            let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
            assert!(n == 0 || answer.starts_with("HTTP/1.1 408"), "{answer:?}");
            closed_at.push(started.elapsed());
        }
        let last = closed_at.iter().max().copied().unwrap_or_default();
        eprintln!("slow connections closed after at most {last:?}");
        assert!(last < Duration::from_secs(6), "{closed_at:?}");
        Ok(())
    }
);

/// v2 integrity annotation fields (as docs/security.md describes them), for forging.
struct Annotation {
    digest: Vec<u8>,
    keys: String,
    opened: String,
}

impl Annotation {
    fn of(secret: &Secret) -> anyhow::Result<Annotation> {
        let value = integrity(secret).context("no integrity annotation")?;
        let field = |name: &str| {
            value
                .split(';')
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
                .with_context(|| format!("no {name} in {value}"))
        };
        use base64::Engine as _;
        Ok(Annotation {
            digest: base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(field("digest")?)?,
            keys: field("keys")?,
            opened: field("opened")?,
        })
    }
}

/// `u64 BE length || bytes`.
fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn map_fields<'a>(out: &mut Vec<u8>, entries: impl Iterator<Item = (&'a String, &'a [u8])>) {
    let entries: Vec<_> = entries.collect();
    out.extend_from_slice(&(entries.len() as u64).to_be_bytes());
    for (k, v) in entries {
        field(out, k.as_bytes());
        field(out, v);
    }
}

/// The Secret's fields as the MAC covers them (after the version-specific prefix).
fn secret_fields(out: &mut Vec<u8>, s: &Secret) {
    let meta = &s.metadata;
    field(
        out,
        meta.namespace.as_deref().unwrap_or_default().as_bytes(),
    );
    field(out, meta.name.as_deref().unwrap_or_default().as_bytes());
    field(out, s.type_.as_deref().unwrap_or("Opaque").as_bytes());
    field(out, &[u8::from(s.immutable.unwrap_or(false))]);
    map_fields(
        out,
        meta.labels.iter().flatten().map(|(k, v)| (k, v.as_bytes())),
    );
    map_fields(
        out,
        meta.annotations
            .iter()
            .flatten()
            .filter(|(k, _)| k.as_str() != INTEGRITY_ANNOTATION)
            .map(|(k, v)| (k, v.as_bytes())),
    );
    let owners = meta.owner_references.as_deref().unwrap_or_default();
    out.extend_from_slice(&(owners.len() as u64).to_be_bytes());
    for o in owners {
        field(out, o.api_version.as_bytes());
        field(out, o.kind.as_bytes());
        field(out, o.name.as_bytes());
        field(out, o.uid.as_bytes());
        field(
            out,
            &[match o.controller {
                None => 0,
                Some(false) => 1,
                Some(true) => 2,
            }],
        );
    }
    map_fields(
        out,
        s.data.iter().flatten().map(|(k, v)| (k, v.0.as_slice())),
    );
}

fn hmac(key: &aws_lc_rs::hmac::Key, message: &[u8]) -> Vec<u8> {
    aws_lc_rs::hmac::sign(key, message).as_ref().to_vec()
}

/// The v2 MAC key of `keys` (every key, in fingerprint order) with set id `id`.
fn v2_key(keys: &[&PrivateKey], id: &str) -> anyhow::Result<aws_lc_rs::hmac::Key> {
    use aws_lc_rs::{hkdf, hmac};
    let mut sorted: Vec<_> = keys
        .iter()
        .map(|k| (k.fingerprint().to_string(), *k))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut ikm = Vec::new();
    for (_, k) in sorted {
        field(&mut ikm, &k.to_pkcs1_der());
    }
    let prk =
        hkdf::Salt::new(hkdf::HKDF_SHA256, b"sealed-secrets-rs.io/secret-mac-key/v2").extract(&ikm);
    let info: [&[u8]; 2] = [
        b"HMAC-SHA256 key for Secrets written by sealed-secrets-rs, from all keys",
        id.as_bytes(),
    ];
    Ok(hmac::Key::from(
        prk.expand(&info, hmac::HMAC_SHA256)
            .map_err(|_| anyhow!("hkdf"))?,
    ))
}

/// Stamps `secret` with a v2 annotation copying `real`'s digest, key set id and opener, MAC'd with `keys`.
fn forge_v2(
    secret: &mut Secret,
    real: &Annotation,
    keys: &[&PrivateKey],
    at: u64,
) -> anyhow::Result<()> {
    let key = v2_key(keys, &real.keys)?;
    let mut m = Vec::new();
    field(&mut m, b"sealed-secrets-rs.io/secret-mac/v2");
    field(&mut m, &real.digest);
    field(&mut m, real.keys.as_bytes());
    field(&mut m, real.opened.as_bytes());
    field(&mut m, &at.to_be_bytes());
    secret_fields(&mut m, secret);
    let value = format!(
        "v2;digest={};keys={};opened={};at={at};mac={}",
        b64(&real.digest),
        real.keys,
        real.opened,
        b64(&hmac(&key, &m))
    );
    stamp(secret, value);
    Ok(())
}

/// Stamps `secret` the way the first annotation format did (MAC key from one private key): the
/// audit's forgery with a single key the controller holds.
fn forge_v1(secret: &mut Secret, real: &Annotation, key: &PrivateKey) -> anyhow::Result<()> {
    use aws_lc_rs::{hkdf, hmac};
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"sealed-secrets-rs.io/secret-mac-key/v1")
        .extract(&key.to_pkcs1_der());
    let info: [&[u8]; 1] = [b"HMAC-SHA256 key for Secrets written by sealed-secrets-rs"];
    let mac_key = hmac::Key::from(
        prk.expand(&info, hmac::HMAC_SHA256)
            .map_err(|_| anyhow!("hkdf"))?,
    );
    let mut m = Vec::new();
    field(&mut m, b"sealed-secrets-rs.io/secret-mac/v1");
    field(&mut m, &real.digest);
    secret_fields(&mut m, secret);
    let value = format!(
        "v1;digest={};key={};mac={}",
        b64(&real.digest),
        key.fingerprint(),
        b64(&hmac(&mac_key, &m))
    );
    stamp(secret, value);
    Ok(())
}

/// Unpadded URL-safe base64, as the integrity annotation writes its binary fields.
fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Sets the integrity annotation of `secret` to `value`.
fn stamp(secret: &mut Secret, value: String) {
    secret
        .metadata
        .annotations
        .get_or_insert_default()
        .insert(INTEGRITY_ANNOTATION.into(), value);
}

/// The private keys in the controller's key Secrets (the test, as admin, may read them all).
async fn held_keys(client: &Client, ns: &str) -> anyhow::Result<Vec<PrivateKey>> {
    let list = Api::<Secret>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels("sealedsecrets.bitnami.com/sealed-secrets-key"))
        .await?;
    list.items
        .iter()
        .filter_map(|s| s.data.as_ref()?.get("tls.key"))
        .map(|pem| Ok(PrivateKey::from_pem(&pem.0)?))
        .collect()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Replaces the Secret's data with "forged" and stamps it with `stamp`, as someone with Secret write would.
async fn forge(
    api: &Api<Secret>,
    name: &str,
    stamp: impl FnOnce(&mut Secret) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut s = api.get(name).await?;
    s.data = Some(BTreeMap::from([(
        "k".to_owned(),
        ByteString(b"forged".to_vec()),
    )]));
    stamp(&mut s)?;
    api.replace(name, &PostParams::default(), &s).await?;
    Ok(())
}

e2e_test!(
    forged_integrity_annotations_are_repaired,
    controller = ["--reverify-period=0"],
    |ctx, mut ctl| async move {
        let ns = ctx.namespace.as_str();
        let cert = ctl.cert().await?;
        SecretFixture::new("s")
            .namespace(ns)
            .data("k", "original")
            .create_sealed(&ctx.client, &cert)
            .await?;
        let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
        let restored =
            |s: &Secret| Ok(string_data(s).get("k").map(String::as_str) == Some("original"));
        ctx.secret("s").wait("unsealed", restored).await?;

        // The attacker brings a key of their own into the controller's namespace; the controller adopts it.
        let theirs = PrivateKey::generate(2048)?;
        let their_cert = Certificate::self_signed(
            &theirs,
            "",
            std::time::SystemTime::now(),
            Duration::from_secs(86_400),
        )?;
        let key_secret = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some("byo-key".into()),
                labels: Some(map(&[(
                    "sealedsecrets.bitnami.com/sealed-secrets-key",
                    "active",
                )])),
                ..Default::default()
            },
            type_: Some("kubernetes.io/tls".into()),
            data: Some(BTreeMap::from([
                (
                    "tls.key".to_owned(),
                    ByteString(theirs.to_pkcs1_pem().as_bytes().to_vec()),
                ),
                (
                    "tls.crt".to_owned(),
                    ByteString(their_cert.to_pem().into_bytes()),
                ),
            ])),
            ..Default::default()
        };
        api.create(&PostParams::default(), &key_secret).await?;
        wait_for(
            "the controller adopts the key",
            Duration::from_secs(30),
            || async {
                Ok((ctl.metric("sealed_secrets_controller_keys").await? == 2.0).then_some(()))
            },
        )
        .await?;
        // A write that makes the controller stamp the Secret under the new key set.
        forge(&api, "s", |_| Ok(())).await?;
        ctx.secret("s").wait("restored", restored).await?;
        let stamped = api.get("s").await?;
        let real = Annotation::of(&stamped)?;

        // 1. The audit's forgery: the first annotation format, MAC key from the one key they hold.
        forge(&api, "s", |s| forge_v1(s, &real, &theirs)).await?;
        ctx.secret("s")
            .wait("v1 forgery repaired", restored)
            .await?;
        // 2. The current format, claiming the current key set, MAC'd with the one key they hold.
        forge(&api, "s", |s| forge_v2(s, &real, &[&theirs], unix_now())).await?;
        ctx.secret("s")
            .wait("v2 forgery with one key repaired", restored)
            .await?;
        // 3. With every key (which whoever can read the controller's namespace has): the same computation
        //    verifies, so the forgery above failed for the key alone, and this one stands until re-verified.
        let all = held_keys(&ctx.client, ns).await?;
        let all: Vec<&PrivateKey> = all.iter().collect();
        assert_eq!(all.len(), 2);
        forge(&api, "s", |s| forge_v2(s, &real, &all, unix_now())).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            string_data(&api.get("s").await?)
                .get("k")
                .map(String::as_str),
            Some("forged")
        );

        // --reverify-period: every Secret is decrypted again once the period is over, forged or not.
        ctl.process.stop()?;
        let started = Instant::now();
        let _ctl = Controller::start(&ctx, &["--reverify-period=6s"]).await?;
        ctx.secret("s")
            .wait("repaired by re-verification", restored)
            .await?;
        eprintln!(
            "forgery with every key repaired {:?} after restart",
            started.elapsed()
        );
        Ok(())
    }
);
