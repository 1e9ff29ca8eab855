//! Our kubeseal's cluster modes against our controller, through the API server's service proxy as users
//! run it: `--fetch-cert`, sealing without `--cert`, `--validate`, `--re-encrypt`, and the errors a user
//! can act on (controller Service not found, forbidden).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;

use anyhow::{Context as _, anyhow};
use sealed_secrets_test_support::bitnami::{CONTROLLER_PORT_NAME, CONTROLLER_SERVICE};
use sealed_secrets_test_support::process::workspace_binary;
use sealed_secrets_test_support::{ServiceAccountIdentity, TestContext, proxy};
use tokio::io::AsyncWriteExt as _;

use support::{Controller, data, map, wait_secret};

/// The controller tests' helpers (starting our controller under its restricted identity), shared by path.
#[path = "../controller/support.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod support;

/// Our kubeseal binary, built on first use if it is missing.
fn kubeseal_binary() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let path = workspace_binary("kubeseal");
            if !path.exists() {
                let status = std::process::Command::new(
                    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
                )
                .args(["build", "-p", "kubeseal", "--bin", "kubeseal"])
                .current_dir(sealed_secrets_test_support::cluster::repo_root())
                .status()
                .map_err(|e| format!("running cargo build: {e}"))?;
                if !status.success() {
                    return Err(format!("cargo build -p kubeseal failed: {status}"));
                }
            }
            Ok(path)
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

/// The outcome of one kubeseal run.
struct Outcome {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs our kubeseal with `args` and `stdin`, with no ambient configuration.
async fn kubeseal(args: &[&str], stdin: &str) -> anyhow::Result<Outcome> {
    let mut command = tokio::process::Command::new(kubeseal_binary()?);
    command.args(args).env_remove("KUBERNETES_SERVICE_HOST");
    run(command, stdin).await
}

/// Runs our kubeseal as a pod of ServiceAccount `identity` would: in-cluster configuration only (no
/// kubeconfig, no HOME), the token, CA and namespace mounted where client libraries look for them.
async fn kubeseal_in_cluster(
    ctx: &TestContext,
    identity: &ServiceAccountIdentity,
    args: &[&str],
    stdin: &str,
) -> anyhow::Result<Outcome> {
    let mut command = tokio::process::Command::new(ctx.cluster.scripts.join("in-cluster-exec.sh"));
    command
        .arg(&identity.in_cluster_dir)
        .arg("--")
        .arg(kubeseal_binary()?)
        .args(args)
        .env("HOME", "/nonexistent")
        .envs(ServiceAccountIdentity::in_cluster_env(ctx.cluster));
    let out = run(command, stdin).await?;
    Ok(out)
}

async fn run(mut command: tokio::process::Command, stdin: &str) -> anyhow::Result<Outcome> {
    let mut child = command
        .env_remove("KUBECONFIG")
        .env_remove("SEALED_SECRETS_CERT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting kubeseal")?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).await?;
    }
    let out = child.wait_with_output().await?;
    Ok(Outcome {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs kubeseal and expects success; its stdout.
async fn kubeseal_ok(args: &[&str], stdin: &str) -> anyhow::Result<String> {
    let out = kubeseal(args, stdin).await?;
    if !out.ok {
        anyhow::bail!("kubeseal {args:?} failed: {}", out.stderr);
    }
    Ok(out.stdout)
}

/// Our controller in the test's namespace, behind Service `sealed-secrets-controller` (port `http`).
async fn controller(ctx: &TestContext) -> anyhow::Result<Controller> {
    let ctl = Controller::start(ctx, &[]).await?;
    proxy::expose(
        &ctx.client,
        &ctx.namespace,
        CONTROLLER_SERVICE,
        CONTROLLER_PORT_NAME,
        ctl.listen,
    )
    .await?;
    Ok(ctl)
}

#[tokio::test]
async fn fetch_cert_seal_validate_and_re_encrypt_through_the_service_proxy() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("kubeseal-cluster").await? else {
        return Ok(());
    };
    let ctl = controller(&ctx).await?;
    let ns = ctx.namespace.as_str();
    let kubeconfig = ctx.cluster.kubeconfig.to_string_lossy().into_owned();
    let base = [
        "--kubeconfig",
        kubeconfig.as_str(),
        "--controller-namespace",
        ns,
    ];

    // --fetch-cert: the controller's certificate.
    let cert = kubeseal_ok(&[&base[..], &["--fetch-cert"]].concat(), "").await?;
    assert_eq!(cert.trim(), ctl.cert().await?.to_pem().trim());

    // Sealing without --cert, then the controller unseals it.
    let input = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\nstringData:\n  password: hunter2\n"
    );
    let sealed = kubeseal_ok(&[&base[..], &["-o", "yaml"]].concat(), &input).await?;
    assert!(sealed.contains("kind: SealedSecret"), "{sealed}");
    ctx.kubectl()
        .run(&["apply", "-n", ns, "-f", "-"], Some(&sealed))
        .await?;
    let secret = wait_secret(&ctx.client, ns, "db", "exists", |_| true).await?;
    assert_eq!(data(&secret), map(&[("password", "hunter2")]));

    // --validate: fine as sealed, refused after renaming (strict scope); several documents all verify.
    kubeseal_ok(&[&base[..], &["--validate"]].concat(), &sealed).await?;
    let renamed = sealed.replace("name: db\n", "name: other\n");
    assert_ne!(renamed, sealed);
    let out = kubeseal(&[&base[..], &["--validate"]].concat(), &renamed).await?;
    assert!(!out.ok, "a renamed strict SealedSecret must not validate");
    assert!(
        out.stderr
            .starts_with("error: unable to decrypt sealed secret: other\n"),
        "{}",
        out.stderr
    );
    let both = format!("{sealed}\n{renamed}");
    let out = kubeseal(&[&base[..], &["--validate"]].concat(), &both).await?;
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
    let wide = kubeseal_ok(&[&base[..], &["-o", "yaml"]].concat(), &wide_input).await?;
    let dir = std::env::temp_dir().join(format!("ssrs-kubeseal-{}", ctx.namespace));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("wide.yaml");
    std::fs::write(&file, &wide)?;
    let file_arg = file.to_string_lossy().into_owned();
    let stdout = kubeseal_ok(
        &[&base[..], &["--re-encrypt", "-f", file_arg.as_str()]].concat(),
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
    kubeseal_ok(&[&base[..], &["--validate"]].concat(), &renamed_wide).await?;
    ctx.kubectl()
        .run(&["apply", "-n", ns, "-f", "-"], Some(&rotated))
        .await?;
    let secret = wait_secret(&ctx.client, ns, "wide", "exists", |_| true).await?;
    assert_eq!(data(&secret), map(&[("token", "abc")]));
    Ok(())
}

#[tokio::test]
async fn controller_not_found_names_the_service_and_the_flags() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("kubeseal-notfound").await? else {
        return Ok(());
    };
    let ns = ctx.namespace.as_str();
    let kubeconfig = ctx.cluster.kubeconfig.to_string_lossy().into_owned();
    let out = kubeseal(
        &[
            "--kubeconfig",
            kubeconfig.as_str(),
            "--controller-namespace",
            ns,
            "--controller-name",
            "no-such-controller",
            "--fetch-cert",
        ],
        "",
    )
    .await?;
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

#[tokio::test]
async fn forbidden_names_the_rbac_verb() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("kubeseal-forbidden").await? else {
        return Ok(());
    };
    let _ctl = controller(&ctx).await?;
    let ns = ctx.namespace.as_str();
    let user = ServiceAccountIdentity::create(ctx.cluster, &ctx.client, ns, "no-rights").await?;
    let kubeconfig = user.kubeconfig.to_string_lossy().into_owned();
    let base = [
        "--kubeconfig",
        kubeconfig.as_str(),
        "--controller-namespace",
        ns,
    ];
    let out = kubeseal(&[&base[..], &["--fetch-cert"]].concat(), "").await?;
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
        let out = kubeseal(&[&base[..], &["--fetch-cert"]].concat(), "").await?;
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
}

#[tokio::test]
async fn in_cluster_configuration_and_namespace() -> anyhow::Result<()> {
    let Some(ctx) = TestContext::new("kubeseal-incluster").await? else {
        return Ok(());
    };
    let ctl = controller(&ctx).await?;
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
        let out = kubeseal_in_cluster(&ctx, &sealer, &args, input).await?;
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
    let fetched = kubeseal_in_cluster(
        &ctx,
        &sealer,
        &["--controller-namespace", ns, "--fetch-cert"],
        "",
    )
    .await?;
    assert!(fetched.ok, "{}", fetched.stderr);
    assert_eq!(fetched.stdout.trim(), ctl.cert().await?.to_pem().trim());
    ctx.kubectl()
        .run(&["apply", "-n", ns, "-f", "-"], Some(&last))
        .await?;
    let secret = wait_secret(&ctx.client, ns, "from-pod", "exists", |_| true).await?;
    assert_eq!(data(&secret), map(&[("k", "v")]));
    Ok(())
}

#[tokio::test]
async fn a_controller_without_a_key_answers_503_and_kubeseal_waits_for_it() -> anyhow::Result<()> {
    use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use kube::api::{DeleteParams, ObjectMeta, PostParams};

    let Some(ctx) = TestContext::new("kubeseal-nokey").await? else {
        return Ok(());
    };
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
    let ctl = support::Controller::spawn(&ctx, &[], &[("POD_NAME", "this-replica")]).await?;
    sealed_secrets_test_support::wait::wait_for(
        "/healthz",
        std::time::Duration::from_secs(30),
        || async {
            Ok((support::http(ctl.listen, "GET", "/healthz", &[], b"")
                .await
                .is_ok_and(|r| r.status == 200))
            .then_some(()))
        },
    )
    .await?;
    let readyz = support::http(ctl.listen, "GET", "/readyz", &[], b"").await?;
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
        let r = support::http(ctl.listen, method, path, &[], body).await?;
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
    proxy::expose(
        &ctx.client,
        ns,
        CONTROLLER_SERVICE,
        CONTROLLER_PORT_NAME,
        ctl.listen,
    )
    .await?;
    let kubeconfig = ctx.cluster.kubeconfig.to_string_lossy().into_owned();
    let args: Vec<String> = [
        "--kubeconfig",
        &kubeconfig,
        "--controller-namespace",
        ns,
        "--fetch-cert",
    ]
    .map(str::to_owned)
    .to_vec();
    let fetch = tokio::spawn(async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        kubeseal(&args, "").await
    });
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
