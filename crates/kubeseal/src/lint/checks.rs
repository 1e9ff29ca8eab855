//! The checks of one SealedSecret: scope, annotations, items, and the certificate it claims.

use std::collections::BTreeMap;

use base64::Engine;
use sealed_secrets::names::{
    CLUSTER_WIDE_ANNOTATION, KEY_HINT_ANNOTATION, NAMESPACE_WIDE_ANNOTATION,
};
use sealed_secrets::{Scope, SealedSecret};

use super::certs::KnownCert;
use super::doc_name;
use super::report::Level;

/// Where a finding points in its document.
#[derive(Debug, Clone, Copy)]
pub enum At<'a> {
    /// An item of `encryptedData`.
    Item(&'a str),
    /// A field, by its path of keys from the document's top (`["metadata", "name"]`).
    Field(&'a [&'a str]),
}

/// The certificates one file is checked against.
#[derive(Debug, Default)]
pub struct Trust<'a> {
    /// Given with `--cert`.
    pub given: &'a [KnownCert],
    /// Given, and pinned in the rules file that applies (if any).
    pub all: Vec<&'a KnownCert>,
    /// The certificate of the rule for the file's path, with the rule's `FILE:LINE`.
    pub expected: Option<(&'a KnownCert, &'a str)>,
    /// The rules file, as shown.
    pub rules_file: Option<&'a str>,
    /// Whether the rules pin a certificate lint could not read.
    pub unreadable_pins: bool,
}

/// Checks one SealedSecret; `push` places each finding (at an item's line when it names one).
pub fn check_sealed(
    sealed: &SealedSecret,
    trust: &Trust<'_>,
    push: &mut impl FnMut(At<'_>, Level, &'static str, String, &str),
) {
    let meta = &sealed.metadata;
    let what = doc_name("SealedSecret", meta);
    let annotations = meta.annotations.as_ref();
    let scope = Scope::from_annotations(annotations);
    let template = &sealed.spec.template.metadata;
    let is_true = |a: Option<&BTreeMap<String, String>>, key: &str| {
        a.and_then(|a| a.get(key)).is_some_and(|v| v == "true")
    };
    let empty = String::new();
    let name = meta.name.as_ref().unwrap_or(&empty);
    let namespace = meta.namespace.as_ref().unwrap_or(&empty);

    // Scope: the template keeps the name and namespace the values were sealed for.
    if scope != Scope::ClusterWide {
        if let Some(sealed_ns) = template.namespace.as_ref().filter(|n| !n.is_empty())
            && !namespace.is_empty()
            && sealed_ns != namespace
        {
            let rule = if scope == Scope::Strict {
                "scope-name-mismatch"
            } else {
                "scope-namespace-mismatch"
            };
            push(
                At::Field(&["metadata", "namespace"]),
                Level::Error,
                rule,
                format!(
                    "{what} is {} but was sealed for namespace \"{sealed_ns}\" (spec.template.metadata.namespace); the controller cannot decrypt it in \"{namespace}\"",
                    scope.as_str()
                ),
                "seal it again for this namespace, or keep the namespace (exclude the SealedSecret from the kustomize namespace transformer), or seal with --scope cluster-wide",
            );
        }
        if scope == Scope::Strict
            && let Some(sealed_name) = template.name.as_ref().filter(|n| !n.is_empty())
            && !name.is_empty()
            && sealed_name != name
        {
            push(
                At::Field(&["metadata", "name"]),
                Level::Error,
                "scope-name-mismatch",
                format!(
                    "{what} is strict but was sealed for name \"{sealed_name}\" (spec.template.metadata.name); the controller cannot decrypt it as \"{name}\""
                ),
                "seal it again for this name, or keep the name (no namePrefix/nameSuffix for SealedSecrets), or seal with --scope namespace-wide",
            );
        }
    }

    // Scope annotations that contradict each other.
    if is_true(annotations, CLUSTER_WIDE_ANNOTATION)
        && is_true(annotations, NAMESPACE_WIDE_ANNOTATION)
    {
        push(
            At::Field(&["metadata", "annotations"]),
            Level::Warning,
            "scope-conflict",
            format!("{what} is annotated both cluster-wide and namespace-wide (cluster-wide wins)"),
            "keep only the annotation of the scope it was sealed with",
        );
    }
    let template_annotations = template.annotations.as_ref();
    let has_scope_annotation = |a: Option<&BTreeMap<String, String>>| {
        a.is_some_and(|a| {
            a.contains_key(CLUSTER_WIDE_ANNOTATION) || a.contains_key(NAMESPACE_WIDE_ANNOTATION)
        })
    };
    if has_scope_annotation(template_annotations) {
        let template_scope = Scope::from_annotations(template_annotations);
        if template_scope != scope {
            push(
                At::Field(&["spec", "template", "metadata", "annotations"]),
                Level::Warning,
                "scope-conflict",
                format!(
                    "{what} is {} by its annotations but its template says {}",
                    scope.as_str(),
                    template_scope.as_str()
                ),
                "make spec.template.metadata.annotations agree with metadata.annotations (seal again with the intended --scope)",
            );
        }
    }

    // Items.
    let template_data = sealed
        .spec
        .template
        .data
        .as_ref()
        .is_some_and(|d| !d.is_empty());
    if sealed.spec.encrypted_data.is_empty() && !template_data && sealed.spec.data.is_none() {
        push(
            At::Field(&["spec"]),
            Level::Error,
            "empty",
            format!("{what} has no encryptedData and no template data"),
            "seal the Secret's values into it (kubeseal set FILE KEY=VALUE --cert CERT)",
        );
    }

    // The certificate it claims.
    let hint = annotations.and_then(|a| a.get(KEY_HINT_ANNOTATION));
    let mut claimed: Option<&KnownCert> = None;
    if let Some(hint) = hint
        && !trust.all.is_empty()
    {
        claimed = trust.all.iter().copied().find(|c| &c.fingerprint == hint);
        match claimed {
            // A rule pins a certificate lint cannot read: the hint may be that one.
            None if trust.unreadable_pins => {}
            None => push(
                At::Field(&["metadata", "annotations", KEY_HINT_ANNOTATION]),
                Level::Error,
                "unknown-key",
                format!(
                    "{what} was sealed with key {hint} ({KEY_HINT_ANNOTATION}), not one of the {}",
                    match trust.rules_file {
                        Some(file) => format!("certificates given or pinned in {file}"),
                        None => "given certificates".to_owned(),
                    }
                ),
                "re-encrypt it with a current key (kubeseal --re-encrypt), or pin or pass that key's certificate",
            ),
            Some(c) => match trust.expected {
                Some((expected, at)) if expected.fingerprint != c.fingerprint => {
                    if expected.not_before > c.not_before {
                        push(
                            At::Field(&["metadata", "annotations", KEY_HINT_ANNOTATION]),
                            Level::Warning,
                            "old-key",
                            format!(
                                "{what} was sealed with the certificate of {} but the rule for this path ({at}) pins {}, which is newer",
                                c.file, expected.file
                            ),
                            "re-encrypt it with the newest key (kubeseal --re-encrypt, or seal again: the rule picks the certificate)",
                        );
                    } else {
                        push(
                            At::Field(&["metadata", "annotations", KEY_HINT_ANNOTATION]),
                            Level::Warning,
                            "other-key",
                            format!(
                                "{what} was sealed with the certificate of {}, not {} that the rule for this path ({at}) pins",
                                c.file, expected.file
                            ),
                            "seal it again with the rule's certificate (kubeseal -f SECRET -w FILE picks it), or fix the rule",
                        );
                    }
                }
                Some(_) => {}
                None => {
                    if let Some(newest) = trust.given.iter().max_by_key(|c| c.not_before)
                        && trust.given.iter().any(|g| g.fingerprint == c.fingerprint)
                        && newest.not_before > c.not_before
                    {
                        push(
                            At::Field(&["metadata", "annotations", KEY_HINT_ANNOTATION]),
                            Level::Warning,
                            "old-key",
                            format!(
                                "{what} was sealed with the certificate of {} but {} is newer",
                                c.file, newest.file
                            ),
                            "re-encrypt it with the newest key (kubeseal --re-encrypt, or seal again with the newest certificate)",
                        );
                    }
                }
            },
        }
    }
    // The sizes a ciphertext may have: the claimed certificate's; none to check when the hint
    // names a certificate lint does not know; else the rule's, or any known one.
    let sizes: Vec<usize> = match (claimed, hint, trust.expected) {
        (Some(c), _, _) => vec![c.modulus_len],
        (None, Some(_), _) => Vec::new(),
        (None, None, Some((c, _))) => vec![c.modulus_len],
        (None, None, None) => trust.all.iter().map(|c| c.modulus_len).collect(),
    };
    for (key, value) in &sealed.spec.encrypted_data {
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(value) else {
            push(
                At::Item(key),
                Level::Error,
                "bad-ciphertext",
                format!("{what}: item \"{key}\" is not valid base64"),
                "seal the item again (kubeseal set FILE KEY=VALUE --cert CERT)",
            );
            continue;
        };
        let rsa_len = if bytes.len() >= 2 {
            usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))
        } else {
            0
        };
        if bytes.len() < 2 + rsa_len + 16 || rsa_len == 0 {
            push(
                At::Item(key),
                Level::Error,
                "bad-ciphertext",
                format!(
                    "{what}: item \"{key}\" is too short for a sealed value ({} bytes)",
                    bytes.len()
                ),
                "seal the item again (kubeseal set FILE KEY=VALUE --cert CERT)",
            );
            continue;
        }
        if !sizes.is_empty() && !sizes.contains(&rsa_len) {
            let expected: Vec<String> = sizes.iter().map(|s| (s * 8).to_string()).collect();
            push(
                At::Item(key),
                Level::Error,
                "bad-ciphertext",
                format!(
                    "{what}: item \"{key}\" was encrypted for a {}-bit key, the certificate is {}-bit",
                    rsa_len * 8,
                    expected.join("/")
                ),
                "seal the item again with the right certificate (kubeseal set FILE KEY=VALUE --cert CERT)",
            );
        }
    }
}
