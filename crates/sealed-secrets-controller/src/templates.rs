//! `spec.template.data` rendered by the Go template engine ([`go_template`]), as the format
//! library's [`Templates`]: every template is parsed first (a parse error depends on the template
//! text alone), then all render in item order in one session, so they share one budget per object.

use std::collections::BTreeMap;

use sealed_secrets::unseal::{RenderedItems, TemplateFailure, TemplateLimits, Templates};

/// The engine the controller renders templates with.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoTemplates;

impl Templates for GoTemplates {
    fn render(
        &self,
        templates: &BTreeMap<String, String>,
        values: &BTreeMap<String, Vec<u8>>,
        limits: &TemplateLimits,
    ) -> Option<Result<RenderedItems, TemplateFailure>> {
        let mut parsed = Vec::with_capacity(templates.len());
        let mut failed = Vec::new();
        for (item, source) in templates {
            match go_template::parse(source) {
                Ok(tree) => parsed.push((item, source, tree)),
                Err(e) => failed.push((item.clone(), e.to_string())),
            }
        }
        if !failed.is_empty() {
            return Some(Err(TemplateFailure::Parse(failed)));
        }
        let mut session = go_template::Session::new(go_template::Limits {
            steps: limits.steps,
            value_bytes: limits.value_bytes,
            output_bytes: limits.output_bytes,
            time: limits.time,
        });
        let mut outputs = Vec::with_capacity(parsed.len());
        for (item, source, tree) in parsed {
            match session.render_parsed(source, &tree, values) {
                Ok(rendered) => outputs.push((item.clone(), rendered)),
                Err(e) => {
                    return Some(Err(TemplateFailure::Render {
                        item: item.clone(),
                        message: e.to_string(),
                    }));
                }
            }
        }
        Some(Ok(outputs))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::ObjectMeta;
    use sealed_secrets::keys::PrivateKey;
    use sealed_secrets::unseal::{TEMPLATE_FAILED, UnsealOptions, unseal};
    use sealed_secrets::{SealedSecret, UnsealError};

    use super::*;

    /// A value that must never appear in an error, nor any 6-byte piece of it.
    const PLANTED: &str = "zq7XvK2wP9jM4rT8";

    fn assert_no_planted(what: &str, text: &str) {
        for len in 6..=PLANTED.len() {
            for start in 0..=PLANTED.len() - len {
                let part = &PLANTED[start..start + len];
                assert!(!text.contains(part), "{what} contains {part:?}: {text}");
            }
        }
    }

    fn key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| PrivateKey::generate(2048).expect("generate"))
    }

    /// A SealedSecret holding PLANTED in `pw` and "admin" in `user`, with `templates`.
    fn planted(templates: &[(&str, &str)]) -> SealedSecret {
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some("s".into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            data: Some(
                [("pw", PLANTED), ("user", "admin")]
                    .iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Default::default()
        };
        let mut sealed = sealed_secrets::seal(&mut rand::rngs::OsRng, &secret, key().public_key())
            .expect("seals");
        sealed.spec.template.data = Some(
            templates
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        sealed
    }

    fn unsealed(templates: &[(&str, &str)]) -> Result<BTreeMap<String, String>, UnsealError> {
        let out = unseal(
            &planted(templates),
            &[key()],
            &UnsealOptions::default(),
            &GoTemplates,
        )?;
        Ok(out
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
            .collect())
    }

    #[test]
    fn go_templates_render_over_the_decrypted_values() {
        let data = unsealed(&[
            ("greeting", r#"secret {{ index . "user" }} !"#),
            ("json", "{{ toJson .user }}"),
            ("user", "overridden {{ .user }}"),
        ])
        .expect("unseals");
        assert_eq!(data["greeting"], "secret admin !");
        assert_eq!(data["json"], r#""admin""#);
        assert_eq!(data["user"], "overridden admin");
        let err = unsealed(&[("leak", "{{ env \"HOME\" }}")])
            .expect_err("env is not defined")
            .to_string();
        assert_eq!(err, "template: 1:4: function \"env\" not defined (leak)");
    }

    /// The ways a template can try to carry a value (or a bit of it) out through its error.
    const LEAKY_TEMPLATES: &[&str] = &[
        r#"{{ fail .pw }}"#,
        r#"{{ b64dec .pw | mustFromJson }}"#,
        r#"{{ fromJson .pw | toJson }}{{ mustFromJson .pw }}"#,
        r#"{{ if eq (substr 0 1 .pw) "z" }}{{ fail "first is z" }}{{ end }}"#,
        r#"{{ index .pw 99 }}"#,
        r#"{{ .pw.field }}"#,
        r#"{{ atoi .pw | div 1 }}"#,
        r#"{{ mustRegexFind (print "(" .pw) "x" }}"#,
        r#"{{ $l := list }}{{ range until (int (mul 3 (len .pw))) }}{{ $l = append $l (repeat 1048576 "y") }}{{ end }}"#,
        r#"{{ mustToDate "2006" .pw }}"#,
        r#"{{ $d := dict .pw 1 }}{{ get $d "a" | required }}"#,
    ];

    #[test]
    fn failures_of_real_templates_carry_nothing_of_the_values() {
        for template in LEAKY_TEMPLATES {
            let err = unsealed(&[("ok", "{{ .user }}"), ("probe", template)]).expect_err(template);
            let message = err.to_string();
            assert_no_planted(template, &message);
            assert_no_planted(template, &format!("{err:?}"));
            if !message.contains("template: ") {
                assert_eq!(
                    message,
                    format!("{TEMPLATE_FAILED} (ok, probe)"),
                    "{template}"
                );
            }
        }
    }

    #[test]
    fn the_templates_of_one_object_share_one_budget() {
        // Each template alone takes 60% of the object's steps: one renders, three do not.
        let heavy = "{{ range until 600 }}{{ range until 1000 }}{{ end }}{{ end }}";
        unsealed(&[("a", heavy)]).expect("one heavy template fits");
        let err = unsealed(&[("a", heavy), ("b", heavy), ("c", heavy)])
            .expect_err("three do not")
            .to_string();
        assert!(
            err.starts_with(TEMPLATE_FAILED) && err.ends_with("(a, b, c)"),
            "{err}"
        );
    }
}
