//! seal() and unseal() against upstream's rules (docs/upstream-behavior.md: "Scopes", "Unsealing").

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use rand::SeedableRng;
use rand::rngs::StdRng;
use sealed_secrets::keys::PrivateKey;
use sealed_secrets::names::{
    CLUSTER_WIDE_ANNOTATION, KEY_HINT_ANNOTATION, NAMESPACE_WIDE_ANNOTATION,
    SKIP_SET_OWNER_REFERENCES_ANNOTATION,
};
use sealed_secrets::seal::seal_value;
use sealed_secrets::unseal::{
    Budget, Limits, NoTemplates, RenderedItems, TEMPLATE_FAILED, TemplateFailure, TemplateLimits,
    Templates, UnsealError, UnsealStats, unseal_counted, verify,
};
use sealed_secrets::{Scope, SealedSecret, UnsealOptions, seal};
use zeroize::Zeroizing;

/// A toy template engine, to test what the format library does with an engine's answers (the
/// controller's tests cover the real Go engine). A template is `=TEXT` (renders TEXT), `@KEY`
/// (renders the value of KEY), `?MSG` (does not parse: MSG) or `!MSG` (fails while rendering, with
/// MSG followed by the value of `pw`, as an engine's error might quote it).
struct Toy;

impl Templates for Toy {
    fn render(
        &self,
        templates: &BTreeMap<String, String>,
        values: &BTreeMap<String, Vec<u8>>,
        limits: &TemplateLimits,
    ) -> Option<Result<RenderedItems, TemplateFailure>> {
        assert_eq!(
            limits,
            &Limits::default().templates,
            "the object's budget is passed on"
        );
        let unparsable: Vec<(String, String)> = templates
            .iter()
            .filter_map(|(k, t)| t.strip_prefix('?').map(|m| (k.clone(), m.to_owned())))
            .collect();
        if !unparsable.is_empty() {
            return Some(Err(TemplateFailure::Parse(unparsable)));
        }
        let mut out = Vec::new();
        for (item, t) in templates {
            let rendered = match t.split_at(1) {
                ("=", text) => text.as_bytes().to_vec(),
                ("@", key) => values.get(key).cloned().unwrap_or_default(),
                ("!", message) => {
                    let pw = values
                        .get("pw")
                        .map(|v| String::from_utf8_lossy(v).into_owned());
                    return Some(Err(TemplateFailure::Render {
                        item: item.clone(),
                        message: format!("{message}{}", pw.unwrap_or_default()),
                    }));
                }
                _ => panic!("not a toy template: {t}"),
            };
            out.push((item.clone(), Zeroizing::new(rendered)));
        }
        Some(Ok(out))
    }
}

/// `sealed_secrets::unseal` with the toy engine.
fn unseal(
    sealed: &SealedSecret,
    keys: &[&PrivateKey],
    options: &UnsealOptions,
) -> Result<sealed_secrets::UnsealedSecret, sealed_secrets::UnsealError> {
    sealed_secrets::unseal(sealed, keys, options, &Toy)
}

fn key(name: &str) -> PrivateKey {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/keys")
        .join(name);
    let pem = std::fs::read(&path).expect("test key fixture exists");
    PrivateKey::from_pem(&pem).expect("test key fixture parses")
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn secret(
    ns: Option<&str>,
    name: &str,
    annotations: &[(&str, &str)],
    data: &[(&str, &str)],
) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: ns.map(Into::into),
            annotations: (!annotations.is_empty()).then(|| map(annotations)),
            ..ObjectMeta::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        type_: Some("Opaque".into()),
        ..Secret::default()
    }
}

fn data_of(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.clone(),
                String::from_utf8(v.0.clone()).expect("utf-8 test value"),
            )
        })
        .collect()
}

fn opts() -> UnsealOptions {
    UnsealOptions::default()
}

#[test]
fn round_trip_every_scope() {
    let k = key("test-only-rsa2048.pem");
    for (annotations, scope) in [
        (vec![], Scope::Strict),
        (
            vec![(NAMESPACE_WIDE_ANNOTATION, "true")],
            Scope::NamespaceWide,
        ),
        (vec![(CLUSTER_WIDE_ANNOTATION, "true")], Scope::ClusterWide),
    ] {
        let input = secret(
            Some("ns"),
            "creds",
            &annotations,
            &[("user", "admin"), ("pass", "s3cr3t")],
        );
        let sealed = seal(&mut rng(), &input, k.public_key()).expect("seals");
        assert_eq!(
            Scope::from_annotations(sealed.metadata.annotations.as_ref()),
            scope
        );
        for value in sealed.spec.encrypted_data.values() {
            assert!(value.len() >= 100, "ciphertext looks too short: {value}");
        }
        let out = unseal(&sealed, &[&k], &opts()).expect("unseals");
        assert_eq!(data_of(&out), map(&[("user", "admin"), ("pass", "s3cr3t")]));
        assert_eq!(out.metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(out.metadata.name.as_deref(), Some("creds"));
        assert_eq!(out.type_.as_deref(), Some("Opaque"));
    }
}

#[test]
fn seal_builds_upstream_shape() {
    let k = key("test-only-rsa2048.pem");
    let mut input = secret(
        Some("ns"),
        "creds",
        &[
            ("kubectl.kubernetes.io/last-applied-configuration", "{}"),
            ("kubecfg.ksonnet.io/last-applied-configuration", "{}"),
            ("keep", "me"),
            (NAMESPACE_WIDE_ANNOTATION, "true"),
        ],
        &[("a", "1")],
    );
    input.metadata.labels = Some(map(&[("app", "x")]));
    input.metadata.owner_references = Some(vec![OwnerReference::default()]);
    input.immutable = Some(true);
    let sealed = seal(&mut rng(), &input, k.public_key()).expect("seals");

    let top = &sealed.metadata;
    assert_eq!(top.name.as_deref(), Some("creds"));
    assert_eq!(top.namespace.as_deref(), Some("ns"));
    assert_eq!(top.labels, None, "no labels on the top level");
    let top_annotations = top.annotations.clone().unwrap_or_default();
    assert_eq!(
        top_annotations
            .get(NAMESPACE_WIDE_ANNOTATION)
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(
        top_annotations.get(KEY_HINT_ANNOTATION).map(String::as_str),
        Some(k.fingerprint().as_str())
    );
    assert_eq!(
        top_annotations.len(),
        2,
        "only scope and key hint: {top_annotations:?}"
    );

    let template = &sealed.spec.template;
    assert_eq!(
        template.metadata.annotations,
        Some(map(&[("keep", "me"), (NAMESPACE_WIDE_ANNOTATION, "true")])),
        "last-applied annotations stripped, others kept"
    );
    assert_eq!(template.metadata.labels, Some(map(&[("app", "x")])));
    assert_eq!(template.metadata.owner_references, None);
    assert_eq!(template.immutable, Some(true));
    assert_eq!(template.type_.as_deref(), Some("Opaque"));
    assert!(sealed.spec.data.is_none() && sealed.status.is_none());
}

#[test]
fn string_data_wins_over_data() {
    let k = key("test-only-rsa2048.pem");
    let mut input = secret(
        Some("ns"),
        "s",
        &[],
        &[("a", "from-data"), ("b", "only-data")],
    );
    input.string_data = Some(map(&[("a", "from-stringData"), ("c", "only-stringData")]));
    let sealed = seal(&mut rng(), &input, k.public_key()).expect("seals");
    let out = unseal(&sealed, &[&k], &opts()).expect("unseals");
    assert_eq!(
        data_of(&out),
        map(&[
            ("a", "from-stringData"),
            ("b", "only-data"),
            ("c", "only-stringData")
        ])
    );
}

#[test]
fn missing_namespace_or_name_is_an_error() {
    let k = key("test-only-rsa2048.pem");
    let err = seal(
        &mut rng(),
        &secret(None, "s", &[], &[("a", "1")]),
        k.public_key(),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "secret must declare a namespace");
    let err = seal(
        &mut rng(),
        &secret(Some("ns"), "", &[], &[("a", "1")]),
        k.public_key(),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "missing metadata.name in input Secret");
    // Cluster-wide needs no namespace.
    let cw = secret(
        None,
        "s",
        &[(CLUSTER_WIDE_ANNOTATION, "true")],
        &[("a", "1")],
    );
    let sealed =
        seal(&mut rng(), &cw, k.public_key()).expect("cluster-wide seals without namespace");
    assert_eq!(sealed.metadata.namespace, None);
}

/// Moves `sealed` to a new namespace and name (what a user does with kubectl).
fn moved(sealed: &SealedSecret, ns: &str, name: &str) -> SealedSecret {
    let mut moved = sealed.clone();
    moved.metadata.namespace = Some(ns.into());
    moved.metadata.name = Some(name.into());
    moved
}

#[test]
fn scopes_bind_names() {
    let k = key("test-only-rsa2048.pem");
    let seal_with = |annotations: &[(&str, &str)]| {
        seal(
            &mut rng(),
            &secret(Some("ns"), "s", annotations, &[("a", "1")]),
            k.public_key(),
        )
        .expect("seals")
    };
    let strict = seal_with(&[]);
    let err = unseal(&moved(&strict, "ns", "renamed"), &[&k], &opts()).unwrap_err();
    assert_eq!(err.to_string(), "no key could decrypt secret (a)");
    assert!(err.is_undecryptable());
    assert!(unseal(&moved(&strict, "other", "s"), &[&k], &opts()).is_err());

    let nw = seal_with(&[(NAMESPACE_WIDE_ANNOTATION, "true")]);
    let renamed =
        unseal(&moved(&nw, "ns", "renamed"), &[&k], &opts()).expect("namespace-wide renames");
    assert_eq!(renamed.metadata.name.as_deref(), Some("renamed"));
    assert!(unseal(&moved(&nw, "other", "s"), &[&k], &opts()).is_err());

    let cw = seal_with(&[(CLUSTER_WIDE_ANNOTATION, "true")]);
    let elsewhere =
        unseal(&moved(&cw, "other", "renamed"), &[&k], &opts()).expect("cluster-wide moves");
    assert_eq!(elsewhere.metadata.namespace.as_deref(), Some("other"));
}

#[test]
fn flipping_the_scope_annotation_breaks_decryption() {
    let k = key("test-only-rsa2048.pem");
    for annotation in [CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION] {
        let input = secret(Some("ns"), "s", &[(annotation, "true")], &[("a", "1")]);
        let mut sealed = seal(&mut rng(), &input, k.public_key()).expect("seals");
        sealed
            .metadata
            .annotations
            .as_mut()
            .expect("scope annotation")
            .insert(annotation.into(), "false".into());
        assert!(
            unseal(&sealed, &[&k], &opts()).is_err(),
            "{annotation} flipped must fail"
        );
    }
}

#[test]
fn template_annotations_do_not_choose_the_scope() {
    // Only the top-level annotations decide the label; a template claiming cluster-wide is ignored.
    let k = key("test-only-rsa2048.pem");
    let mut sealed = seal(
        &mut rng(),
        &secret(Some("ns"), "s", &[], &[("a", "1")]),
        k.public_key(),
    )
    .expect("seals");
    sealed.spec.template.metadata.annotations = Some(map(&[(CLUSTER_WIDE_ANNOTATION, "true")]));
    assert!(unseal(&moved(&sealed, "other", "s"), &[&k], &opts()).is_err());
}

#[test]
fn template_outputs_join_the_decrypted_values() {
    let k = key("test-only-rsa2048.pem");
    let input = secret(
        Some("ns"),
        "s",
        &[],
        &[("foo", "bar"), ("password", "a\"b<c")],
    );
    let mut sealed = seal(&mut rng(), &input, k.public_key()).expect("seals");
    sealed.spec.template.data = Some(map(&[
        ("greeting", "=hello"),
        ("copy", "@password"),
        ("foo", "=overridden"),
    ]));
    let out = unseal(&sealed, &[&k], &opts()).expect("unseals");
    let data = data_of(&out);
    assert_eq!(data["greeting"], "hello");
    assert_eq!(data["copy"], "a\"b<c");
    assert_eq!(
        data["foo"], "overridden",
        "a template overrides the item of the same key"
    );
    assert_eq!(data["password"], "a\"b<c");
}

#[test]
fn template_only_needs_no_keys() {
    let mut sealed = SealedSecret::new("s", Default::default());
    sealed.metadata.namespace = Some("ns".into());
    sealed.spec.template.data = Some(map(&[("config", "=static value")]));
    let out = unseal(&sealed, &[], &opts()).expect("template-only unseals without keys");
    assert_eq!(data_of(&out), map(&[("config", "static value")]));
}

#[test]
fn without_an_engine_templates_are_left_out_and_listed() {
    let k = key("test-only-rsa2048.pem");
    let mut sealed = seal(
        &mut rng(),
        &secret(Some("ns"), "s", &[], &[("a", "1")]),
        k.public_key(),
    )
    .expect("seals");
    sealed.spec.template.data = Some(map(&[("b", "=2"), ("c", "=3")]));
    let out = sealed_secrets::unseal(&sealed, &[&k], &opts(), &NoTemplates).expect("unseals");
    assert_eq!(data_of(&out), map(&[("a", "1")]));
    assert_eq!(out.unrendered(), ["b", "c"]);
}

#[test]
fn owner_reference_unless_skipped() {
    let k = key("test-only-rsa2048.pem");
    let mut sealed = seal(
        &mut rng(),
        &secret(Some("ns"), "s", &[], &[("a", "1")]),
        k.public_key(),
    )
    .expect("seals");
    sealed.metadata.uid = Some("uid-1".into());
    let out = unseal(&sealed, &[&k], &opts()).expect("unseals");
    let refs = out
        .metadata
        .owner_references
        .clone()
        .expect("owner reference set");
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].api_version, "bitnami.com/v1alpha1");
    assert_eq!(refs[0].kind, "SealedSecret");
    assert_eq!(refs[0].name, "s");
    assert_eq!(refs[0].uid, "uid-1");
    assert_eq!(refs[0].controller, Some(true));
    assert_eq!(refs[0].block_owner_deletion, None);

    sealed.spec.template.metadata.annotations =
        Some(map(&[(SKIP_SET_OWNER_REFERENCES_ANNOTATION, "true")]));
    let out = unseal(&sealed, &[&k], &opts()).expect("unseals");
    assert_eq!(out.metadata.owner_references, None);
}

#[test]
fn wrong_key_and_bad_base64_are_reported_per_item() {
    let k = key("test-only-rsa2048.pem");
    let other = key("test-only-rsa2048-other.pem");
    let mut sealed = seal(
        &mut rng(),
        &secret(Some("ns"), "s", &[], &[("a", "1"), ("b", "2"), ("c", "3")]),
        k.public_key(),
    )
    .expect("seals");
    let err = unseal(&sealed, &[&other], &opts()).unwrap_err();
    assert_eq!(err.to_string(), "no key could decrypt secret (a, b, c)");

    sealed
        .spec
        .encrypted_data
        .insert("b".into(), "not base64!".into());
    let err = unseal(&sealed, &[&other], &opts()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no key could decrypt secret (a, c)\nillegal base64 data at input byte 3 (b)"
    );
    assert!(
        !err.is_undecryptable(),
        "malformed input is not a wrong-key answer"
    );
    let only_b = unseal(&sealed, &[&k], &opts()).unwrap_err().to_string();
    assert!(
        only_b.contains("(b)") && !only_b.contains("decrypt"),
        "{only_b}"
    );
}

#[test]
fn non_string_encrypted_values_are_reported() {
    let k = key("test-only-rsa2048.pem");
    let sealed: SealedSecret = serde_json::from_value(serde_json::json!({
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "s", "namespace": "ns"},
        "spec": {"encryptedData": {"n": 42}}
    }))
    .expect("a non-string value does not fail decoding");
    let err = unseal(&sealed, &[&k], &opts()).unwrap_err();
    assert_eq!(err.to_string(), "encrypted value is not a string (n)");
}

#[test]
fn key_that_opened_the_first_value_is_tried_first() {
    let k = key("test-only-rsa2048.pem");
    let other = key("test-only-rsa2048-other.pem");
    let sealed = seal(
        &mut rng(),
        &secret(Some("ns"), "s", &[], &[("a", "1"), ("b", "2"), ("c", "3")]),
        k.public_key(),
    )
    .expect("seals");
    let mut stats = UnsealStats::default();
    unseal_counted(
        &sealed,
        &[&other, &k],
        &opts(),
        &Toy,
        &Budget::default(),
        &mut stats,
    )
    .expect("unseals");
    assert_eq!(
        stats.rsa_operations, 4,
        "2 for the first value, then 1 each"
    );
    assert_eq!(stats.opened_with, Some(k.fingerprint()));
}

#[test]
fn legacy_v1_data() {
    let k = key("test-only-rsa2048.pem");
    let inner = serde_json::to_vec(&serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "old", "namespace": "ns"},
        "data": {"a": "MQ=="}
    }))
    .expect("json");
    let ciphertext =
        sealed_secrets::hybrid::hybrid_encrypt(&mut rng(), k.public_key(), &inner, b"ns/s")
            .expect("encrypts");
    use base64::Engine as _;
    let mut sealed = SealedSecret::new("s", Default::default());
    sealed.metadata.namespace = Some("ns".into());
    sealed.spec.data = Some(base64::engine::general_purpose::STANDARD.encode(ciphertext));

    let out = unseal(&sealed, &[&k], &opts()).expect("legacy accepted by default");
    assert_eq!(data_of(&out), map(&[("a", "1")]));
    assert_eq!(
        out.metadata.name.as_deref(),
        Some("s"),
        "name forced to the SealedSecret's"
    );

    let rejected = unseal(
        &sealed,
        &[&k],
        &UnsealOptions {
            accept_deprecated_v1_data: false,
            ..opts()
        },
    );
    assert!(rejected.unwrap_err().to_string().contains("deprecated"));

    sealed.spec.encrypted_data.insert("x".into(), "AAAA".into());
    let both = unseal(&sealed, &[&k], &opts()).unwrap_err().to_string();
    assert!(both.contains("at the same time"), "{both}");
    let both_rejected = unseal(
        &sealed,
        &[&k],
        &UnsealOptions {
            accept_deprecated_v1_data: false,
            ..opts()
        },
    );
    assert!(
        both_rejected
            .unwrap_err()
            .to_string()
            .contains("deprecated")
    );
}

#[test]
fn raw_values_bind_their_scope() {
    let k = key("test-only-rsa2048.pem");
    let seal_raw =
        |scope| seal_value(&mut rng(), k.public_key(), b"v", scope, "ns", "n").expect("seals");
    let unseal_as = |value: &str, annotations: &[(&str, &str)], ns: &str, name: &str| {
        let mut sealed = SealedSecret::new(name, Default::default());
        sealed.metadata.namespace = Some(ns.into());
        sealed.metadata.annotations = (!annotations.is_empty()).then(|| map(annotations));
        sealed.spec.encrypted_data.insert("k".into(), value.into());
        unseal(&sealed, &[&k], &opts()).map(|s| data_of(&s))
    };
    let strict = seal_raw(Scope::Strict);
    assert!(unseal_as(&strict, &[], "ns", "n").is_ok());
    let err = unseal_as(&strict, &[], "ns", "other")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("no key could decrypt secret"), "{err}");

    let nw = seal_raw(Scope::NamespaceWide);
    let nw_ann = [(NAMESPACE_WIDE_ANNOTATION, "true")];
    assert!(unseal_as(&nw, &nw_ann, "ns", "any").is_ok());
    assert!(unseal_as(&nw, &nw_ann, "other", "n").is_err());

    let cw = seal_raw(Scope::ClusterWide);
    let cw_ann = [(CLUSTER_WIDE_ANNOTATION, "true")];
    assert!(unseal_as(&cw, &cw_ann, "anywhere", "any").is_ok());
    assert!(unseal_as(&cw, &cw_ann, "", "").is_ok());
}

#[test]
fn sealed_secret_serializes_and_round_trips_json() {
    let k = key("test-only-rsa2048.pem");
    let sealed = seal(
        &mut rng(),
        &secret(Some("ns"), "s", &[], &[("a", "1")]),
        k.public_key(),
    )
    .expect("seals");
    let json = serde_json::to_value(&sealed).expect("serializes");
    assert_eq!(json["apiVersion"], "bitnami.com/v1alpha1");
    assert_eq!(json["kind"], "SealedSecret");
    assert!(
        json["spec"]["template"].is_object(),
        "template always serialized"
    );
    let back: SealedSecret = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back.spec, sealed.spec);
}

#[test]
fn null_template_metadata_and_creation_timestamp_are_accepted() {
    let sealed: SealedSecret = serde_json::from_value(serde_json::json!({
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "s", "namespace": "ns", "creationTimestamp": null},
        "spec": {"template": {"metadata": null, "data": null}, "encryptedData": {}}
    }))
    .expect("old kubeseal output decodes");
    assert_eq!(sealed.spec.template.metadata, ObjectMeta::default());
}

/// A value that must never appear in an error, and the parts of it an attacker would probe for.
const PLANTED: &str = "zq7XvK2wP9jM4rT8";

fn assert_no_planted(what: &str, text: &str) {
    for len in 6..=PLANTED.len() {
        for start in 0..=PLANTED.len() - len {
            let part = &PLANTED[start..start + len];
            assert!(!text.contains(part), "{what} contains {part:?}: {text}");
        }
    }
}

/// A SealedSecret holding PLANTED in item `pw`, plus `templates`.
fn planted(k: &PrivateKey, templates: &[(&str, &str)]) -> SealedSecret {
    let mut sealed = seal(
        &mut rng(),
        &secret(Some("ns"), "s", &[], &[("pw", PLANTED), ("user", "admin")]),
        k.public_key(),
    )
    .expect("seals");
    sealed.spec.template.data = Some(map(templates));
    sealed
}

#[test]
fn a_failure_while_rendering_is_reported_without_its_message_or_item() {
    let k = key("test-only-rsa2048.pem");
    let sealed = planted(&k, &[("ok", "@user"), ("probe", "!boom: ")]);
    let err = unseal(&sealed, &[&k], &opts()).unwrap_err();
    let message = err.to_string();
    assert_no_planted("message", &message);
    assert_no_planted("Debug", &format!("{err:?}"));
    // One static message naming every template item: which one failed is not said.
    assert_eq!(message, format!("{TEMPLATE_FAILED} (ok, probe)"));
}

#[test]
fn template_detail_only_when_asked_for() {
    let k = key("test-only-rsa2048.pem");
    let sealed = planted(&k, &[("a", "@user"), ("b", "!boom")]);
    let hidden = unseal(&sealed, &[&k], &opts()).unwrap_err().to_string();
    assert!(
        hidden.starts_with(TEMPLATE_FAILED) && hidden.ends_with("(a, b)"),
        "{hidden}"
    );
    let detail = UnsealOptions {
        template_error_detail: true,
        ..opts()
    };
    let shown = unseal(&sealed, &[&k], &detail).unwrap_err().to_string();
    assert_eq!(shown, format!("boom{PLANTED} (b)"));
}

#[test]
fn template_parse_errors_are_reported_in_full_per_item() {
    let k = key("test-only-rsa2048.pem");
    let sealed = planted(
        &k,
        &[
            ("bad", "?function \"nosuchfunc\" not defined"),
            ("probe", "!x"),
        ],
    );
    let err = unseal(&sealed, &[&k], &opts()).unwrap_err().to_string();
    assert_eq!(err, "function \"nosuchfunc\" not defined (bad)");
}

#[test]
fn templates_do_not_render_unless_every_value_decrypts() {
    let k = key("test-only-rsa2048.pem");
    let other = key("test-only-rsa2048-other.pem");
    // The toy engine would fail (quoting the value) if it were asked to render.
    let mut sealed = planted(&k, &[("probe", "!x")]);
    sealed.spec.encrypted_data.insert(
        "junk".into(),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [0u8; 300]),
    );
    let err = unseal(&sealed, &[&k, &other], &opts()).unwrap_err();
    assert_eq!(err.to_string(), "no key could decrypt secret (junk)");
    assert!(err.is_undecryptable());
}

#[test]
fn too_many_templates_are_refused_before_any_renders() {
    let mut sealed = SealedSecret::new("s", Default::default());
    sealed.metadata.namespace = Some("ns".into());
    let too_many: BTreeMap<String, String> = (0..1001)
        .map(|i| (format!("t{i}"), "!x".to_owned()))
        .collect();
    sealed.spec.template.data = Some(too_many);
    let err = unseal(&sealed, &[], &opts()).unwrap_err();
    assert!(err.is_over_budget(), "{err}");
    assert_eq!(
        err.to_string(),
        "spec.template.data has 1001 items, more than the 1000 allowed"
    );
}

#[test]
fn rsa_attempts_are_capped_per_call() {
    let k = key("test-only-rsa2048.pem");
    let other = key("test-only-rsa2048-other.pem");
    let mut sealed = SealedSecret::new("s", Default::default());
    sealed.metadata.namespace = Some("ns".into());
    // Correctly framed junk: a plausible length prefix, so every key is tried on every value.
    let mut junk = vec![1u8, 0];
    junk.extend([7u8; 300]);
    let junk = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &junk);
    for i in 0..40 {
        sealed
            .spec
            .encrypted_data
            .insert(format!("v{i}"), junk.clone());
    }
    let limits = Limits {
        rsa_operations: 50,
        ..Limits::default()
    };
    let mut stats = UnsealStats::default();
    let err = unseal_counted(
        &sealed,
        &[&k, &other],
        &opts(),
        &Toy,
        &Budget::new(limits),
        &mut stats,
    )
    .unwrap_err();
    assert_eq!(stats.rsa_operations, 50, "stops at the cap");
    assert!(err.is_over_budget());
    assert_eq!(
        err.to_string(),
        "unsealing needs more than 50 RSA decryption attempts (40 values, 2 keys); re-encrypt it \
         (kubeseal --re-encrypt) so that every value is sealed with the latest key"
    );
    let mut stats = UnsealStats::default();
    let err = verify(
        &sealed,
        &[&k, &other],
        &opts(),
        &Budget::new(limits),
        &mut stats,
    )
    .unwrap_err();
    assert_eq!(
        stats.rsa_operations, 2,
        "verify stops at the first value no key opens"
    );
    assert_eq!(err.to_string(), "no key could decrypt secret (v0)");
}

#[test]
fn a_cancelled_call_stops_before_the_next_rsa_operation() {
    let k = key("test-only-rsa2048.pem");
    let sealed = planted(&k, &[]);
    let flag = std::sync::atomic::AtomicBool::new(true);
    let mut stats = UnsealStats::default();
    let err = unseal_counted(
        &sealed,
        &[&k],
        &opts(),
        &Toy,
        &Budget::default().cancelled_by(&flag),
        &mut stats,
    )
    .unwrap_err();
    assert!(matches!(err, UnsealError::Cancelled));
    assert_eq!(stats.rsa_operations, 0);
}

#[test]
fn verify_renders_no_template() {
    let k = key("test-only-rsa2048.pem");
    let sealed = planted(&k, &[("probe", "{{ fail .pw }}"), ("bad", "{{ nosuch }}")]);
    let mut stats = UnsealStats::default();
    verify(&sealed, &[&k], &opts(), &Budget::default(), &mut stats)
        .expect("every value decrypts; templates are not looked at");
    assert_eq!(stats.rsa_operations, 2);
    let other = key("test-only-rsa2048-other.pem");
    let err = verify(&sealed, &[&other], &opts(), &Budget::default(), &mut stats).unwrap_err();
    assert!(err.is_undecryptable());
}

#[test]
fn legacy_blob_that_is_not_a_secret_says_nothing_about_its_content() {
    let k = key("test-only-rsa2048.pem");
    let inner = format!("{{\"kind\": \"Secret\", \"data\": {PLANTED}}}");
    let ciphertext = sealed_secrets::hybrid::hybrid_encrypt(
        &mut rng(),
        k.public_key(),
        inner.as_bytes(),
        b"ns/s",
    )
    .expect("encrypts");
    let mut sealed = SealedSecret::new("s", Default::default());
    sealed.metadata.namespace = Some("ns".into());
    sealed.spec.data = Some(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        ciphertext,
    ));
    let err = unseal(&sealed, &[&k], &opts()).unwrap_err().to_string();
    assert_eq!(err, "deprecated 'data' field does not hold a Secret");
}

#[test]
fn unsealed_secret_debug_shows_no_value() {
    let k = key("test-only-rsa2048.pem");
    let out = unseal(&planted(&k, &[]), &[&k], &opts()).expect("unseals");
    let debug = format!("{out:?}");
    assert!(debug.contains("pw") && debug.contains("user"), "{debug}");
    assert_no_planted("Debug", &debug);
}

#[test]
fn reseal_keeps_the_object_and_its_scope_and_takes_the_new_key() {
    let old = key("test-only-rsa2048.pem");
    let new = key("test-only-rsa2048-other.pem");
    let mut sealed = seal(
        &mut rng(),
        &secret(
            Some("ns"),
            "s",
            &[(NAMESPACE_WIDE_ANNOTATION, "true")],
            &[("a", "1")],
        ),
        old.public_key(),
    )
    .expect("seals");
    sealed.metadata.labels = Some(map(&[("app", "x")]));
    sealed.spec.template.data = Some(map(&[("t", "=kept as it is")]));
    // A template annotation claiming another scope changes nothing (CVE-2026-22728).
    sealed.spec.template.metadata.annotations = Some(map(&[(CLUSTER_WIDE_ANNOTATION, "true")]));
    let unsealed =
        sealed_secrets::unseal(&sealed, &[&old], &opts(), &NoTemplates).expect("unseals");
    let rotated = sealed_secrets::seal::reseal(&mut rng(), &sealed, &unsealed, new.public_key())
        .expect("reseals");
    assert_eq!(
        Scope::from_annotations(rotated.metadata.annotations.as_ref()),
        Scope::NamespaceWide
    );
    assert_eq!(
        rotated.metadata.annotations.as_ref().expect("annotations")[KEY_HINT_ANNOTATION],
        new.fingerprint().as_str()
    );
    assert_eq!(rotated.metadata.labels, sealed.metadata.labels);
    assert_eq!(rotated.spec.template, sealed.spec.template);
    assert_ne!(rotated.spec.encrypted_data, sealed.spec.encrypted_data);
    let again =
        unseal(&moved(&rotated, "ns", "renamed"), &[&new], &opts()).expect("namespace-wide");
    assert_eq!(data_of(&again)["a"], "1");
    assert!(
        unseal(&rotated, &[&old], &opts()).is_err(),
        "the old key no longer opens it"
    );
    let bare = sealed_secrets::seal::without_key_hint(&rotated);
    assert!(
        !bare
            .metadata
            .annotations
            .iter()
            .flatten()
            .any(|(k, _)| k == KEY_HINT_ANNOTATION)
    );
}
