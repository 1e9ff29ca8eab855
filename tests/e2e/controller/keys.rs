//! Keys at runtime: a bring-your-own key added while running is used without a restart, a malformed key
//! Secret is skipped and reported, SIGUSR1 generates a new key (docs/upstream-behavior.md, "Keys").

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, ObjectMeta, PostParams};
use sealed_secrets::names::KEY_LABEL;
use sealed_secrets_test_support::process::run_to_completion;
use sealed_secrets_test_support::unique::unique_name;
use sealed_secrets_test_support::wait::wait_for;

use crate::support::events::{events, wait_event};
use crate::support::sealed::{SecretFixture, string_data};
use crate::support::{e2e_test, map};

fn key_secret(name: &str, key_pem: &[u8], cert_pem: &[u8]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(map(&[(KEY_LABEL, "active")])),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".to_owned()),
        data: Some(BTreeMap::from([
            ("tls.key".to_owned(), ByteString(key_pem.to_vec())),
            ("tls.crt".to_owned(), ByteString(cert_pem.to_vec())),
        ])),
        ..Default::default()
    }
}

e2e_test!(
    openssl_key_added_at_runtime_is_used_without_restart,
    controller = [],
    |ctx, ctl| async move {
        let ns = ctx.namespace.as_str();
        let before = ctl.cert().await?;
        // openssl's own key and certificate (PKCS#8 key), one second newer than the generated one.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let dir = ctx.cluster.dir.join("identities").join(unique_name("byo"));
        std::fs::create_dir_all(&dir)?;
        let (key, crt) = (dir.join("tls.key"), dir.join("tls.crt"));
        run_to_completion(
            std::path::Path::new("openssl"),
            &[
                "req",
                "-x509",
                "-nodes",
                "-newkey",
                "rsa:2048",
                "-days",
                "365",
                "-subj",
                "/CN=sealed-secret/O=sealed-secret",
                "-keyout",
                &key.to_string_lossy(),
                "-out",
                &crt.to_string_lossy(),
            ],
            None,
        )
        .await?;
        let byo = key_secret("byo-key", &std::fs::read(&key)?, &std::fs::read(&crt)?);
        ctx.api::<Secret>()
            .create(&PostParams::default(), &byo)
            .await?;
        // The newest key becomes the sealing key...
        let after = wait_for(
            "the BYO certificate served",
            Duration::from_secs(30),
            || async {
                let c = ctl.cert().await?;
                Ok((c.der() != before.der()).then_some(c))
            },
        )
        .await?;
        assert_eq!(
            after.to_pem().trim(),
            String::from_utf8(std::fs::read(&crt)?)?.trim()
        );
        // ...and decrypts what is sealed against it.
        SecretFixture::new("byo")
            .namespace(ns)
            .data("foo", "bar")
            .create_sealed(&ctx.client, &after)
            .await?;
        assert_eq!(
            string_data(&ctx.secret("byo").wait("exists", |_| Ok(true)).await?),
            map(&[("foo", "bar")])
        );
        // Older objects still unseal with the first key.
        SecretFixture::new("old")
            .namespace(ns)
            .data("foo", "old")
            .create_sealed(&ctx.client, &before)
            .await?;
        assert_eq!(
            string_data(&ctx.secret("old").wait("exists", |_| Ok(true)).await?),
            map(&[("foo", "old")])
        );
        Ok(())
    }
);

e2e_test!(
    malformed_key_secret_is_skipped_reported_and_does_not_crash,
    controller = [],
    |ctx, mut ctl| async move {
        let ns = ctx.namespace.as_str();
        let bad = key_secret(
            "bad-key",
            b"-----BEGIN RSA PRIVATE KEY-----\nbm9wZQ==\n-----END RSA PRIVATE KEY-----\n",
            b"junk",
        );
        ctx.api::<Secret>()
            .create(&PostParams::default(), &bad)
            .await?;
        wait_event(&ctx.client, ns, "bad-key", "ErrKeyInvalid", "bad-key").await?;
        wait_for(
            "key_secret_errors_total",
            Duration::from_secs(30),
            || async {
                let m = ctl.metrics().await?;
                Ok(m.lines()
                    .any(|l| {
                        l.starts_with("sealed_secrets_controller_key_secret_errors_total{")
                            && !l.ends_with(" 0")
                    })
                    .then_some(()))
            },
        )
        .await?;
        ctl.process.ensure_running()?;
        // Still serving and unsealing.
        SecretFixture::new("still")
            .namespace(ns)
            .data("foo", "bar")
            .create_sealed(&ctx.client, &ctl.cert().await?)
            .await?;
        ctx.secret("still").wait("exists", |_| Ok(true)).await?;
        let events = events(&ctx.client, ns, "bad-key").await?;
        assert!(
            events.iter().all(|(_, _, m)| !m.contains("bm9wZQ")),
            "no key material in events: {events:?}"
        );
        Ok(())
    }
);

e2e_test!(
    sigusr1_generates_a_new_key,
    controller = [],
    |ctx, ctl| async move {
        let keys = || async {
            Ok::<_, anyhow::Error>(
                ctx.api::<Secret>()
                    .list(&ListParams::default().labels(&format!("{KEY_LABEL}=active")))
                    .await?
                    .items
                    .len(),
            )
        };
        assert_eq!(keys().await?, 1);
        let before = ctl.cert().await?;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        run_to_completion(
            std::path::Path::new("kill"),
            &["-USR1", &ctl.process.pid().to_string()],
            None,
        )
        .await?;
        wait_for("a second key Secret", Duration::from_secs(30), || async {
            Ok((keys().await? == 2).then_some(()))
        })
        .await?;
        wait_for(
            "the new certificate served",
            Duration::from_secs(30),
            || async { Ok((ctl.cert().await?.der() != before.der()).then_some(())) },
        )
        .await?;
        Ok(())
    }
);
