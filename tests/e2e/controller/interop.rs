//! Bitnami's kubeseal (v0.36.6) against our controller, through the API server's service proxy as users run
//! it: `--fetch-cert`, sealing (no key hint: upstream's kubeseal does not write one), `--validate` and
//! `--re-encrypt`.

use crate::support::controller::Controller;
use crate::support::health::{argo_health, synced_is};
use crate::support::kubeseal::{Kubeseal, against_cluster};
use crate::support::sealed::string_data;
use crate::support::{e2e_test, map};

e2e_test!(
    bitnami_kubeseal_fetches_seals_validates_and_re_encrypts_against_our_controller,
    |ctx| async move {
        let ctl = Controller::start_exposed(&ctx, &[]).await?;
        let ns = ctx.namespace.as_str();
        let kubeseal = Kubeseal::Bitnami;
        let cert = kubeseal
            .run_ok(ctx.cluster, &against_cluster(&ctx, &["--fetch-cert"]), "")
            .await?;
        assert_eq!(cert.trim(), ctl.cert().await?.to_pem().trim());

        let input = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\nstringData:\n  password: hunter2\n"
        );
        let sealed = kubeseal
            .run_ok(ctx.cluster, &against_cluster(&ctx, &["-o", "yaml"]), &input)
            .await?;
        let validate = against_cluster(&ctx, &["--validate"]);
        kubeseal.run_ok(ctx.cluster, &validate, &sealed).await?;
        let renamed = sealed.replace("name: db\n", "name: other\n");
        assert_ne!(renamed, sealed);
        let invalid = kubeseal.run(ctx.cluster, &validate, &renamed).await?;
        assert!(
            !invalid.ok,
            "a renamed strict SealedSecret must not validate"
        );
        let rotated = kubeseal
            .run_ok(
                ctx.cluster,
                &against_cluster(&ctx, &["--re-encrypt", "-o", "yaml"]),
                &sealed,
            )
            .await?;
        assert!(
            rotated.contains("SealedSecret") || rotated.contains("encryptedData"),
            "{rotated}"
        );
        ctx.kubectl().apply_in(ns, &sealed).await?;
        let secret = ctx.secret("db").wait("exists", |_| Ok(true)).await?;
        assert_eq!(string_data(&secret), map(&[("password", "hunter2")]));
        let ss = ctx
            .sealed_secret("db")
            .wait("Synced", synced_is("True"))
            .await?;
        assert_eq!(argo_health(&ss), "Healthy");
        Ok(())
    }
);
