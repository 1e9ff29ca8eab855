//! The modes that ask the controller: `--validate` and `--re-encrypt` (docs/upstream-behavior.md, "kubeseal").
//!
//! Both read every SealedSecret of the input stream first (YAML or JSON, several documents), so
//! a malformed document fails before any request. `--validate` stops at the first SealedSecret
//! the controller cannot decrypt; `--re-encrypt` writes all results at once (in place with `-f`
//! and no `-w`), so a failure leaves the input file as it was.

use anyhow::{Context, Result};
use sealed_secrets::manifest;
use sealed_secrets::seal::without_key_hint;
use sealed_secrets::{Scope, SealedSecret};

use crate::input::{Expected, TTY_MANIFEST_NOTE, manifest_error};
use crate::mode::Run;
use crate::output;
use crate::report::message_with_hint;

/// The SealedSecrets of the input, in order.
fn read_sealed(run: &Run, flag: &'static str, what: &str) -> Result<Vec<SealedSecret>> {
    let bytes = run.input.read(TTY_MANIFEST_NOTE)?;
    let sealed = manifest::parse_sealed_secrets(&bytes)
        .map_err(|e| manifest_error(e, Expected::SealedSecrets(flag)))
        .with_context(|| format!("{what}: cannot read the input"))?;
    if sealed.is_empty() {
        return Err(message_with_hint(
            format!("{what}: no sealed secrets found in the input"),
            "pass SealedSecret manifests with -f FILE or on stdin",
        ));
    }
    Ok(sealed.into_iter().map(|(_, s)| s).collect())
}

fn body(sealed: &SealedSecret) -> Result<Vec<u8>> {
    serde_json::to_vec(&output::sealed_secret_value(sealed)?)
        .context("cannot serialize the request")
}

/// The `/v1/rotate` request for `sealed`: without our key-hint annotation (docs/compatibility.md
/// K38), see [`sealed_secrets::seal::without_key_hint`].
fn rotate_body(sealed: &SealedSecret) -> Result<Vec<u8>> {
    body(&without_key_hint(sealed))
}

/// `--validate`: every input SealedSecret must be decryptable by the controller.
pub fn validate(run: &Run) -> Result<()> {
    let sealed = read_sealed(run, "--validate", "unable to decrypt sealed secret")?;
    let mut session = run.controller.connect()?;
    for s in &sealed {
        let name = s.metadata.name.clone().unwrap_or_default();
        session.verify(body(s)?, &name)?;
    }
    Ok(())
}

/// `--re-encrypt`: the controller re-seals each input SealedSecret with its latest key.
pub fn re_encrypt(run: &Run) -> Result<()> {
    let sealed = read_sealed(run, "--re-encrypt", "cannot re-encrypt secret")?;
    let mut session = run.controller.connect()?;
    let mut objects = Vec::with_capacity(sealed.len());
    for s in &sealed {
        let text = session.rotate(rotate_body(s)?)?;
        let mut rotated: SealedSecret = serde_json::from_str(&text)
            .context("cannot re-encrypt secret: the controller's answer is not a SealedSecret")?;
        check_same_binding(s, &rotated)?;
        rotated.metadata.creation_timestamp = None;
        rotated.metadata.deletion_timestamp = None;
        rotated.metadata.generation = None;
        objects.push(output::sealed_secret_value(&rotated)?);
    }
    let rendered = output::render(&objects, run.format)?;
    output::write(&run.output, rendered.as_bytes())
}

/// The controller must answer with the object it was sent, re-encrypted: same name, namespace and
/// scope (a controller that changed them, like upstream's before CVE-2026-22728, would rebind the
/// values to something else). Anything else is an error and nothing is written.
fn check_same_binding(sent: &SealedSecret, got: &SealedSecret) -> Result<()> {
    let scope = |s: &SealedSecret| Scope::from_annotations(s.metadata.annotations.as_ref());
    let mut changed = Vec::new();
    if sent.metadata.name != got.metadata.name {
        changed.push("name");
    }
    if sent.metadata.namespace != got.metadata.namespace {
        changed.push("namespace");
    }
    if scope(sent) != scope(got) {
        changed.push("scope");
    }
    if changed.is_empty() {
        return Ok(());
    }
    Err(message_with_hint(
        format!(
            "cannot re-encrypt secret {}: the controller's answer changed its {}",
            sent.display_name(),
            changed.join(" and ")
        ),
        "nothing was written; re-encrypt with a controller of this project or of Bitnami v0.36 or later",
    ))
}

#[cfg(test)]
mod tests {
    use sealed_secrets::names::KEY_HINT_ANNOTATION;

    use super::*;

    fn sealed(annotations: serde_json::Value) -> SealedSecret {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {"name": "db", "namespace": "prod", "annotations": annotations},
            "spec": {
                "template": {"metadata": {"name": "db", "namespace": "prod"}},
                "encryptedData": {"k": "AgA="},
            },
        }))
        .expect("a valid SealedSecret")
    }

    fn metadata(body: &[u8]) -> serde_json::Value {
        let value: serde_json::Value = serde_json::from_slice(body).expect("JSON");
        value["metadata"].clone()
    }

    #[test]
    fn a_rebound_answer_is_refused() {
        let sent = sealed(serde_json::json!({}));
        assert!(check_same_binding(&sent, &sent).is_ok());
        let widened = sealed(serde_json::json!({"sealedsecrets.bitnami.com/cluster-wide": "true"}));
        let err = check_same_binding(&sent, &widened).expect_err("scope changed");
        assert_eq!(
            err.to_string(),
            "cannot re-encrypt secret prod/db: the controller's answer changed its scope"
        );
        let mut moved = sent.clone();
        moved.metadata.namespace = Some("other".into());
        moved.metadata.name = Some("x".into());
        let err = check_same_binding(&sent, &moved).expect_err("moved");
        assert!(
            err.to_string().ends_with("changed its name and namespace"),
            "{err}"
        );
    }

    #[test]
    fn rotate_body_drops_only_the_key_hint() -> Result<()> {
        let hinted = sealed(serde_json::json!({
            KEY_HINT_ANNOTATION: "SHA256:abc",
            "sealedsecrets.bitnami.com/namespace-wide": "true",
        }));
        assert_eq!(
            metadata(&rotate_body(&hinted)?),
            serde_json::json!({
                "name": "db",
                "namespace": "prod",
                "annotations": {"sealedsecrets.bitnami.com/namespace-wide": "true"},
            })
        );
        // Only the hint: no annotations map is left, so the top-level metadata equals the template's
        // and upstream's controller keeps the template.
        let strict = sealed(serde_json::json!({KEY_HINT_ANNOTATION: "SHA256:abc"}));
        let body = rotate_body(&strict)?;
        assert_eq!(
            metadata(&body),
            serde_json::json!({"name": "db", "namespace": "prod"})
        );
        // --validate still sends the input as it is.
        assert_eq!(
            metadata(&super::body(&strict)?)["annotations"][KEY_HINT_ANNOTATION],
            "SHA256:abc"
        );
        Ok(())
    }
}
