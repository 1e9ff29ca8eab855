//! The desired state of the Secret, with upstream's ownership rules (docs/upstream-behavior.md, "Unsealing" and "The controller").
//!
//! Given the Secret that exists (if any) and the one unsealed from the SealedSecret:
//! - none exists: create the unsealed Secret;
//! - it exists and is neither controlled by this SealedSecret (controller owner reference with
//!   its UID) nor annotated `sealedsecrets.bitnami.com/managed: "true"` or `.../patch: "true"`:
//!   refuse, with upstream's message;
//! - `patch: "true"` on the existing Secret: merge data, labels and annotations (unsealed values
//!   win, other keys stay); owner references are replaced only if it is also `managed`;
//! - otherwise: replace data, labels, annotations and owner references wholesale;
//! - in both cases `type` follows the template; `immutable`, finalizers and other fields of an
//!   existing Secret are left alone (immutability only takes effect at creation).
//!
//! The desired Secret (created or updated) is passed to a `stamp` function before it is compared
//! with the existing one: the reconciler adds the integrity annotation there
//! ([`crate::integrity`]), so a Secret whose annotation is missing or stale is rewritten too. An
//! update is planned only when something differs (absent and empty maps are equal).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sealed_secrets::names::{MANAGED_ANNOTATION, PATCH_ANNOTATION};

/// What to do with the Secret.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// No Secret exists: create this one (the unsealed Secret, stamped).
    Create(Box<Secret>),
    /// Replace the existing Secret with this one (same resourceVersion).
    Update(Box<Secret>),
    /// The existing Secret already matches.
    UpToDate,
    /// The existing Secret belongs to someone else.
    Unmanaged,
}

/// True if `meta` has annotation `key` with exactly the value `"true"`.
pub fn annotation_is_true(meta: &ObjectMeta, key: &str) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .is_some_and(|v| v == "true")
}

/// True if the controller owner reference of `meta` points at the object with `uid`.
pub fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|r| r.controller == Some(true) && !uid.is_empty() && r.uid == uid)
}

/// True if the controller may write this Secret on behalf of the SealedSecret with `uid`.
pub fn may_manage(secret: &Secret, uid: &str) -> bool {
    is_controlled_by(&secret.metadata, uid)
        || annotation_is_true(&secret.metadata, MANAGED_ANNOTATION)
        || annotation_is_true(&secret.metadata, PATCH_ANNOTATION)
}

/// Upstream's refusal message.
pub fn unmanaged_message(name: &str) -> String {
    format!("Resource \"{name}\" already exists and is not managed by SealedSecret")
}

/// True if an API error says the target Secret is immutable.
pub fn is_immutable_error(api_message: &str) -> bool {
    api_message
        .trim_end()
        .ends_with("field is immutable when `immutable` is set")
}

/// Upstream's message for an immutable target Secret.
pub fn immutable_message(namespace: &str, name: &str) -> String {
    format!(
        "Error updating {namespace}/{name}: the target Secret is immutable. Once a Secret is marked as immutable, \
         it is not possible to revert this change nor to mutate the contents of the data field. You can only \
         delete and recreate the Secret."
    )
}

/// Plans the write for the SealedSecret with `uid`, whose unsealed Secret is `unsealed`; `stamp`
/// finishes the desired Secret (it adds the integrity annotation).
pub fn plan(
    existing: Option<&Secret>,
    unsealed: &Secret,
    uid: &str,
    stamp: impl FnOnce(&mut Secret),
) -> Plan {
    let Some(existing) = existing else {
        let mut desired = unsealed.clone();
        stamp(&mut desired);
        return Plan::Create(Box::new(desired));
    };
    if !may_manage(existing, uid) {
        return Plan::Unmanaged;
    }
    let mut desired = existing.clone();
    let meta = &mut desired.metadata;
    if annotation_is_true(&existing.metadata, PATCH_ANNOTATION) {
        merge(&mut desired.data, unsealed.data.as_ref());
        merge(&mut meta.labels, unsealed.metadata.labels.as_ref());
        merge(
            &mut meta.annotations,
            unsealed.metadata.annotations.as_ref(),
        );
        if annotation_is_true(&existing.metadata, MANAGED_ANNOTATION) {
            meta.owner_references = unsealed.metadata.owner_references.clone();
        }
    } else {
        desired.data = unsealed.data.clone();
        meta.labels = unsealed.metadata.labels.clone();
        meta.annotations = unsealed.metadata.annotations.clone();
        meta.owner_references = unsealed.metadata.owner_references.clone();
    }
    desired.type_ = Some(secret_type(unsealed).to_owned());
    stamp(&mut desired);
    if same_state(existing, &desired) {
        sealed_secrets::unseal::zeroize_data(&mut desired);
        Plan::UpToDate
    } else {
        Plan::Update(Box::new(desired))
    }
}

/// The Secret type, with the API server's default for an absent or empty one.
fn secret_type(secret: &Secret) -> &str {
    secret
        .type_
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or("Opaque")
}

fn merge<V: Clone>(into: &mut Option<BTreeMap<String, V>>, from: Option<&BTreeMap<String, V>>) {
    if let Some(from) = from.filter(|m| !m.is_empty()) {
        let target = into.get_or_insert_with(BTreeMap::new);
        for (k, v) in from {
            target.insert(k.clone(), v.clone());
        }
    }
}

fn empty_as_none<V>(m: &Option<BTreeMap<String, V>>) -> Option<&BTreeMap<String, V>> {
    m.as_ref().filter(|m| !m.is_empty())
}

/// Semantic equality of the fields the controller writes.
fn same_state(a: &Secret, b: &Secret) -> bool {
    empty_as_none(&a.data) == empty_as_none(&b.data)
        && empty_as_none(&a.metadata.labels) == empty_as_none(&b.metadata.labels)
        && empty_as_none(&a.metadata.annotations) == empty_as_none(&b.metadata.annotations)
        && a.metadata
            .owner_references
            .as_ref()
            .filter(|r| !r.is_empty())
            == b.metadata
                .owner_references
                .as_ref()
                .filter(|r| !r.is_empty())
        && secret_type(a) == secret_type(b)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::ByteString;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    use super::*;

    const UID: &str = "ss-uid";

    fn map(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn data(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, ByteString>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        )
    }

    fn owner(uid: &str) -> OwnerReference {
        OwnerReference {
            api_version: "bitnami.com/v1alpha1".into(),
            kind: "SealedSecret".into(),
            name: "s".into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: None,
        }
    }

    fn unsealed() -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some("s".into()),
                labels: map(&[("tpl", "1")]),
                owner_references: Some(vec![owner(UID)]),
                ..Default::default()
            },
            data: data(&[("foo", "new"), ("shared", "sealed")]),
            ..Default::default()
        }
    }

    fn existing(annotations: &[(&str, &str)], owned: bool) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some("s".into()),
                labels: map(&[("extra", "x")]),
                annotations: if annotations.is_empty() {
                    None
                } else {
                    map(annotations)
                },
                owner_references: owned.then(|| vec![owner(UID)]),
                resource_version: Some("7".into()),
                ..Default::default()
            },
            data: data(&[("old", "kept?"), ("shared", "before")]),
            type_: Some("Opaque".into()),
            ..Default::default()
        }
    }

    struct Row {
        name: &'static str,
        annotations: &'static [(&'static str, &'static str)],
        owned: bool,
        want_owner: bool,
        want_data: &'static [(&'static str, &'static str)],
        want_labels: &'static [(&'static str, &'static str)],
        want_annotations: Option<&'static [(&'static str, &'static str)]>,
    }

    #[test]
    fn managed_patch_owned_combinations() {
        let rows = [
            Row {
                name: "owned: replaced wholesale",
                annotations: &[],
                owned: true,
                want_owner: true,
                want_data: &[("foo", "new"), ("shared", "sealed")],
                want_labels: &[("tpl", "1")],
                want_annotations: None,
            },
            Row {
                name: "managed: taken over, annotations become the template's (none)",
                annotations: &[(MANAGED_ANNOTATION, "true")],
                owned: false,
                want_owner: true,
                want_data: &[("foo", "new"), ("shared", "sealed")],
                want_labels: &[("tpl", "1")],
                want_annotations: None,
            },
            Row {
                name: "managed + patch: merged, owner set",
                annotations: &[(MANAGED_ANNOTATION, "true"), (PATCH_ANNOTATION, "true")],
                owned: false,
                want_owner: true,
                want_data: &[("foo", "new"), ("old", "kept?"), ("shared", "sealed")],
                want_labels: &[("extra", "x"), ("tpl", "1")],
                want_annotations: Some(&[(MANAGED_ANNOTATION, "true"), (PATCH_ANNOTATION, "true")]),
            },
            Row {
                name: "patch only: merged, no owner",
                annotations: &[(PATCH_ANNOTATION, "true")],
                owned: false,
                want_owner: false,
                want_data: &[("foo", "new"), ("old", "kept?"), ("shared", "sealed")],
                want_labels: &[("extra", "x"), ("tpl", "1")],
                want_annotations: Some(&[(PATCH_ANNOTATION, "true")]),
            },
        ];
        for row in rows {
            let plan = plan(
                Some(&existing(row.annotations, row.owned)),
                &unsealed(),
                UID,
                |_| {},
            );
            let Plan::Update(desired) = plan else {
                panic!("{}: expected an update, got {plan:?}", row.name)
            };
            assert_eq!(desired.data, data(row.want_data), "{}: data", row.name);
            assert_eq!(
                desired.metadata.labels,
                map(row.want_labels),
                "{}: labels",
                row.name
            );
            assert_eq!(
                desired.metadata.annotations,
                row.want_annotations.and_then(map),
                "{}: annotations",
                row.name
            );
            assert_eq!(
                desired.metadata.owner_references.is_some(),
                row.want_owner,
                "{}: owner",
                row.name
            );
            assert_eq!(
                desired.metadata.resource_version.as_deref(),
                Some("7"),
                "{}: keeps version",
                row.name
            );
        }
    }

    #[test]
    fn unmanaged_secrets_are_refused_exact_value_only() {
        for value in ["TRUE", "True", "false", "", "yes"] {
            let e = existing(
                &[(MANAGED_ANNOTATION, value), (PATCH_ANNOTATION, value)],
                false,
            );
            assert_eq!(
                plan(Some(&e), &unsealed(), UID, |_| {}),
                Plan::Unmanaged,
                "value {value:?}"
            );
        }
        assert_eq!(
            plan(Some(&existing(&[], false)), &unsealed(), UID, |_| {}),
            Plan::Unmanaged
        );
        // Owned by another SealedSecret (a different UID) is not ours either.
        let mut other = existing(&[], false);
        other.metadata.owner_references = Some(vec![owner("other-uid")]);
        assert_eq!(
            plan(Some(&other), &unsealed(), UID, |_| {}),
            Plan::Unmanaged
        );
        assert_eq!(
            unmanaged_message("s"),
            "Resource \"s\" already exists and is not managed by SealedSecret"
        );
    }

    #[test]
    fn create_and_up_to_date() {
        assert_eq!(
            plan(None, &unsealed(), UID, |_| {}),
            Plan::Create(Box::new(unsealed()))
        );
        let mut same = unsealed();
        same.type_ = Some("Opaque".into());
        same.metadata.annotations = Some(BTreeMap::new());
        assert_eq!(
            plan(Some(&same), &unsealed(), UID, |_| {}),
            Plan::UpToDate,
            "empty map equals absent"
        );
        // A stamp that differs from the existing Secret's makes an update (e.g. a Secret written
        // before the integrity annotation existed, or for another spec).
        let stamp = |s: &mut Secret| {
            s.metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .insert("stamp".into(), "2".into());
        };
        let Plan::Update(desired) = plan(Some(&same), &unsealed(), UID, stamp) else {
            panic!("update expected")
        };
        assert_eq!(desired.metadata.annotations, map(&[("stamp", "2")]));
        let Plan::Create(created) = plan(None, &unsealed(), UID, stamp) else {
            panic!("create expected")
        };
        assert_eq!(created.metadata.annotations, map(&[("stamp", "2")]));
    }

    #[test]
    fn hand_edited_data_is_restored_and_type_follows_template() {
        let mut edited = unsealed();
        edited.data = data(&[("foo", "tampered"), ("shared", "sealed")]);
        let Plan::Update(desired) = plan(Some(&edited), &unsealed(), UID, |_| {}) else {
            panic!("update expected")
        };
        assert_eq!(desired.data, unsealed().data);
        let mut typed = unsealed();
        typed.type_ = Some("kubernetes.io/dockerconfigjson".into());
        let Plan::Update(desired) = plan(Some(&unsealed()), &typed, UID, |_| {}) else {
            panic!("update expected")
        };
        assert_eq!(
            desired.type_.as_deref(),
            Some("kubernetes.io/dockerconfigjson")
        );
    }

    #[test]
    fn immutable_errors() {
        assert!(is_immutable_error(
            "Secret \"s\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
        ));
        assert!(!is_immutable_error("conflict"));
        assert!(
            immutable_message("ns", "s")
                .starts_with("Error updating ns/s: the target Secret is immutable.")
        );
    }
}
