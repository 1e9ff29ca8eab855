//! Our kubeseal's cluster modes against our controller, through the API server's service proxy as users
//! run it: `--fetch-cert`, sealing without `--cert`, `--validate`, `--re-encrypt`, and the errors a user
//! can act on (controller Service not found, forbidden).

mod lint;

use sealed_secrets_test_support::ServiceAccountIdentity;

use crate::support::controller::Controller;
use crate::support::kubeseal::{Kubeseal, against_cluster};
use crate::support::raw_http::http;
use crate::support::sealed::string_data;
use crate::support::{e2e_test, map};

mod rules;

const OURS: Kubeseal = Kubeseal::Ours;

e2e_test!(
    fetch_cert_seal_validate_and_re_encrypt_through_the_service_proxy,
    |ctx| async move {
        let ctl = Controller::start_exposed(&ctx, &[]).await?;
        let ns = ctx.namespace.as_str();
        let cluster = ctx.cluster;
        let args = |extra: &[&str]| against_cluster(&ctx, extra);

        // --fetch-cert: the controller's certificate.
        let cert = OURS.run_ok(cluster, &args(&["--fetch-cert"]), "").await?;
        assert_eq!(cert.trim(), ctl.cert().await?.to_pem().trim());

        // Sealing without --cert, then the controller unseals it.
        let input = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\nstringData:\n  password: hunter2\n"
        );
        let sealed = OURS.run_ok(cluster, &args(&["-o", "yaml"]), &input).await?;
        assert!(sealed.contains("kind: SealedSecret"), "{sealed}");
        ctx.kubectl().apply_in(ns, &sealed).await?;
        let secret = ctx.secret("db").wait("exists", |_| Ok(true)).await?;
        assert_eq!(string_data(&secret), map(&[("password", "hunter2")]));

        // --validate: fine as sealed, refused after renaming (strict scope); several documents all verify.
        OURS.run_ok(cluster, &args(&["--validate"]), &sealed)
            .await?;
        let renamed = sealed.replace("name: db\n", "name: other\n");
        assert_ne!(renamed, sealed);
        let out = OURS.run(cluster, &args(&["--validate"]), &renamed).await?;
        assert!(!out.ok, "a renamed strict SealedSecret must not validate");
        assert!(
            out.stderr
                .starts_with("error: unable to decrypt sealed secret: other\n"),
            "{}",
            out.stderr
        );
        let both = format!("{sealed}\n{renamed}");
        let out = OURS.run(cluster, &args(&["--validate"]), &both).await?;
        assert!(!out.ok, "one bad document fails the whole stream");
        assert!(
            out.stderr
                .contains("unable to decrypt sealed secret: other"),
            "{}",
            out.stderr
        );

        // --re-encrypt keeps the scope (namespace-wide annotation in the template) and rewrites -f in place.
        let wide_input = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: wide\n  namespace: {ns}\n  annotations:\n    \
         sealedsecrets.bitnami.com/namespace-wide: \"true\"\nstringData:\n  token: abc\n"
        );
        let wide = OURS
            .run_ok(cluster, &args(&["-o", "yaml"]), &wide_input)
            .await?;
        let dir = std::env::temp_dir().join(format!("ssrs-kubeseal-{}", ctx.namespace));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("wide.yaml");
        std::fs::write(&file, &wide)?;
        let file_arg = file.to_string_lossy().into_owned();
        let stdout = OURS
            .run_ok(
                cluster,
                &args(&["--re-encrypt", "-f", file_arg.as_str()]),
                "",
            )
            .await?;
        assert_eq!(stdout, "", "in place: nothing on stdout");
        let rotated = std::fs::read_to_string(&file)?;
        std::fs::remove_dir_all(&dir)?;
        assert_ne!(rotated, wide, "the file is rewritten");
        assert!(
            rotated.contains("sealedsecrets.bitnami.com/namespace-wide"),
            "{rotated}"
        );
        assert!(!rotated.contains("creationTimestamp: 2"), "{rotated}");
        // Still namespace-wide: it validates under another name in the same namespace.
        let renamed_wide = rotated.replace("name: wide\n", "name: wide-renamed\n");
        OURS.run_ok(cluster, &args(&["--validate"]), &renamed_wide)
            .await?;
        ctx.kubectl().apply_in(ns, &rotated).await?;
        let secret = ctx.secret("wide").wait("exists", |_| Ok(true)).await?;
        assert_eq!(string_data(&secret), map(&[("token", "abc")]));
        Ok(())
    }
);

e2e_test!(
    controller_not_found_names_the_service_and_the_flags,
    |ctx| async move {
        let ns = ctx.namespace.as_str();
        let args = against_cluster(
            &ctx,
            &["--controller-name", "no-such-controller", "--fetch-cert"],
        );
        let out = OURS.run(ctx.cluster, &args, "").await?;
        assert!(!out.ok);
        assert!(
        out.stderr.starts_with(
            "error: cannot get sealed secret service: services \"no-such-controller\" not found.\n\
             Please, use the flag --controller-name and --controller-namespace"
        ),
        "{}",
        out.stderr
    );
        assert!(
            out.stderr.contains(&format!(
                "hint: looked for Service no-such-controller in namespace {ns}"
            )),
            "{}",
            out.stderr
        );
        Ok(())
    }
);

e2e_test!(forbidden_names_the_rbac_verb, |ctx| async move {
    let _ctl = Controller::start_exposed(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    let user = ServiceAccountIdentity::create(ctx.cluster, &ctx.client, ns, "no-rights").await?;
    let kubeconfig = user.kubeconfig.to_string_lossy().into_owned();
    let base = [
        "--kubeconfig",
        kubeconfig.as_str(),
        "--controller-namespace",
        ns,
        "--fetch-cert",
    ];
    let out = OURS.run(ctx.cluster, &base, "").await?;
    assert!(!out.ok);
    assert!(out.stderr.contains("forbidden"), "{}", out.stderr);
    assert!(out.stderr.contains("`get` on `services`"), "{}", out.stderr);

    // Allowed to read the Service but not to use the proxy.
    let role = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: read-services\n  namespace: {ns}\n\
         rules:\n- apiGroups: [\"\"]\n  resources: [services]\n  verbs: [get]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: read-services\n  namespace: {ns}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-services}}\n\
         subjects:\n- {{kind: ServiceAccount, name: no-rights, namespace: {ns}}}\n"
    );
    ctx.kubectl().apply(&role).await?;
    let mut last = String::new();
    for _ in 0..50 {
        let out = OURS.run(ctx.cluster, &base, "").await?;
        assert!(!out.ok);
        last = out.stderr;
        if last.contains("services/proxy") && last.starts_with("error: cannot fetch certificate") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        last.starts_with("error: cannot fetch certificate: "),
        "{last}"
    );
    assert!(last.contains("`get` on `services/proxy`"), "{last}");
    Ok(())
});

e2e_test!(in_cluster_configuration_and_namespace, |ctx| async move {
    let ctl = Controller::start_exposed(&ctx, &[]).await?;
    let ns = ctx.namespace.as_str();
    let sealer = ServiceAccountIdentity::create(ctx.cluster, &ctx.client, ns, "sealer").await?;
    // What users need (docs/upstream-behavior.md, "The controller"): `get` on the Service, `get`/`create` on services/proxy.
    let role = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: sealer\n  namespace: {ns}\n\
         rules:\n- apiGroups: [\"\"]\n  resources: [services]\n  verbs: [get]\n\
         - apiGroups: [\"\"]\n  resources: [services/proxy]\n  verbs: [get, create]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: sealer\n  namespace: {ns}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: sealer}}\n\
         subjects:\n- {{kind: ServiceAccount, name: sealer, namespace: {ns}}}\n"
    );
    ctx.kubectl().apply(&role).await?;
    let args = ["--controller-namespace", ns, "-o", "yaml"];
    let input = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: from-pod\nstringData:\n  k: v\n";
    let mut last = String::new();
    for _ in 0..50 {
        let out = OURS
            .run_in_cluster(ctx.cluster, &sealer, &args, input)
            .await?;
        if out.ok {
            last = out.stdout;
            break;
        }
        last = out.stderr;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(last.contains("kind: SealedSecret"), "{last}");
    // The namespace comes from the service account's namespace file.
    assert!(last.contains(&format!("namespace: {ns}\n")), "{last}");
    let fetched = OURS
        .run_in_cluster(
            ctx.cluster,
            &sealer,
            &["--controller-namespace", ns, "--fetch-cert"],
            "",
        )
        .await?;
    assert!(fetched.ok, "{}", fetched.stderr);
    assert_eq!(fetched.stdout.trim(), ctl.cert().await?.to_pem().trim());
    ctx.kubectl().apply_in(ns, &last).await?;
    let secret = ctx.secret("from-pod").wait("exists", |_| Ok(true)).await?;
    assert_eq!(string_data(&secret), map(&[("k", "v")]));
    Ok(())
});

e2e_test!(
    a_controller_without_a_key_answers_503_and_kubeseal_waits_for_it,
    |ctx| async move {
        use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
        use kube::api::{DeleteParams, ObjectMeta, PostParams};

        let ns = ctx.namespace.as_str();
        // Another replica holds the Lease: this one serves the HTTP API but may not make the first key.
        let leases: kube::Api<Lease> = kube::Api::namespaced(ctx.client.clone(), ns);
        let held = Lease {
            metadata: ObjectMeta {
                name: Some("sealed-secrets-controller".into()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some("another-replica".into()),
                lease_duration_seconds: Some(3600),
                acquire_time: Some(MicroTime(k8s_openapi::jiff::Timestamp::now())),
                renew_time: Some(MicroTime(k8s_openapi::jiff::Timestamp::now())),
                ..Default::default()
            }),
        };
        leases.create(&PostParams::default(), &held).await?;
        let ctl = Controller::spawn(&ctx, &[], &[("POD_NAME", "this-replica")]).await?;
        sealed_secrets_test_support::wait::wait_for(
            "/healthz",
            std::time::Duration::from_secs(30),
            || async {
                Ok((http(ctl.listen, "GET", "/healthz", &[], b"")
                    .await
                    .is_ok_and(|r| r.status == 200))
                .then_some(()))
            },
        )
        .await?;
        let readyz = http(ctl.listen, "GET", "/readyz", &[], b"").await?;
        assert_eq!(readyz.status, 503, "{readyz:?}");
        for (method, path) in [
            ("GET", "/v1/cert.pem"),
            ("POST", "/v1/verify"),
            ("POST", "/v1/rotate"),
        ] {
            let body: &[u8] = if method == "POST" {
                br#"{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret","metadata":{"name":"x","namespace":"y"},"spec":{"encryptedData":{"a":"AgA="}}}"#
            } else {
                b""
            };
            let r = http(ctl.listen, method, path, &[], body).await?;
            assert_eq!(r.status, 503, "{path}: {r:?}");
            assert_eq!(
                r.headers.get("retry-after").map(String::as_str),
                Some("5"),
                "{path}"
            );
            assert!(
                r.body.starts_with("no sealing key yet"),
                "{path}: {}",
                r.body
            );
        }
        ctl.expose(&ctx).await?;
        let args = against_cluster(&ctx, &["--fetch-cert"]);
        let cluster = ctx.cluster;
        let fetch = tokio::spawn(async move { OURS.run(cluster, &args, "").await });
        // The other replica goes away; this one leads, makes the first key and becomes ready.
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        leases
            .delete("sealed-secrets-controller", &DeleteParams::default())
            .await?;
        let out = fetch.await??;
        assert!(out.ok, "{}", out.stderr);
        assert_eq!(out.stdout.trim(), ctl.cert().await?.to_pem().trim());
        assert!(
            out.stderr
                .starts_with("the controller is not ready yet (no sealing key yet"),
            "{}",
            out.stderr
        );
        Ok(())
    }
);
