//! Repository rules against the real control plane: a `.sealed-secrets.yaml` pin that does not match the
//! certificate the controller serves through the service proxy stops `--fetch-cert` and sealing (nothing
//! written), naming both fingerprints; `--fetch-cert --pin` then pins the served one and both work.

use crate::support::controller::Controller;
use crate::support::e2e_test;
use crate::support::kubeseal::{Kubeseal, against_cluster};

const OURS: Kubeseal = Kubeseal::Ours;

/// A fingerprint as `openssl x509 -fingerprint -sha256` prints it.
fn openssl_form(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

e2e_test!(
    a_pin_other_than_the_served_certificate_stops_fetch_cert_and_sealing,
    |ctx| async move {
        let ctl = Controller::start_exposed(&ctx, &[]).await?;
        let ns = ctx.namespace.as_str();
        let cluster = ctx.cluster;
        let served = ctl.cert().await?;
        let served_sha256 = openssl_form(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, served.der()).as_ref(),
        );
        let pinned = openssl_form(&[0xAB; 32]);
        let dir = std::env::temp_dir().join(format!("ssrs-rules-{ns}"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join(".sealed-secrets.yaml"),
            format!("rules:\n  - path: \"**\"\n    fingerprint: \"{pinned}\"\n"),
        )?;
        let expected = format!(
            "error: the certificate's SHA-256 fingerprint {served_sha256} does not match {pinned} \
             pinned at .sealed-secrets.yaml:3\n"
        );

        let out = OURS
            .run_in_dir(cluster, &dir, &against_cluster(&ctx, &["--fetch-cert"]), "")
            .await?;
        assert!(!out.ok, "a wrong pin must fail --fetch-cert");
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(out.stderr.starts_with(&expected), "{}", out.stderr);

        // Sealing through the API server: refused, and no file written.
        let input = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\nstringData:\n  password: hunter2\n"
        );
        let out = OURS
            .run_in_dir(
                cluster,
                &dir,
                &against_cluster(&ctx, &["-w", "db.yaml"]),
                &input,
            )
            .await?;
        assert!(!out.ok, "a wrong pin must fail sealing");
        assert!(out.stderr.starts_with(&expected), "{}", out.stderr);
        assert!(!dir.join("db.yaml").exists(), "nothing is written");

        // --fetch-cert --pin replaces the pin with the served certificate's; then both work.
        let out = OURS
            .run_in_dir(
                cluster,
                &dir,
                &against_cluster(&ctx, &["--fetch-cert", "--pin"]),
                "",
            )
            .await?;
        assert!(out.ok, "{}", out.stderr);
        assert!(
            out.stderr.starts_with(&format!(
                "certificate SHA-256 fingerprint: {served_sha256}\n"
            )),
            "{}",
            out.stderr
        );
        let rules = std::fs::read_to_string(dir.join(".sealed-secrets.yaml"))?;
        assert_eq!(
            rules,
            format!("rules:\n  - path: \"**\"\n    fingerprint: \"{served_sha256}\"\n")
        );
        let out = OURS
            .run_in_dir(
                cluster,
                &dir,
                &against_cluster(&ctx, &["-w", "db.yaml"]),
                &input,
            )
            .await?;
        assert!(out.ok, "{}", out.stderr);
        assert!(std::fs::read_to_string(dir.join("db.yaml"))?.contains("kind: SealedSecret"));
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
);
