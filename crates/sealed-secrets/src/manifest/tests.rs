use super::*;

fn secrets(input: &str) -> Vec<(Position, Secret)> {
    parse_secrets(input.as_bytes()).unwrap()
}

fn err(input: &str) -> String {
    parse_secrets(input.as_bytes()).unwrap_err().to_string()
}

#[test]
fn secret_fields_are_decoded() {
    let s = secrets(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\n  labels: {a: b}\n\
         type: Opaque\nimmutable: true\ndata:\n  password: aHVudGVyMg==\n  wrapped: |\n    aHVu\n    dGVyMg==\n\
         stringData:\n  user: admin\n  empty: null\n",
    );
    assert_eq!(s.len(), 1);
    let secret = &s[0].1;
    assert_eq!(secret.metadata.name.as_deref(), Some("db"));
    assert_eq!(secret.metadata.namespace.as_deref(), Some("prod"));
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    assert_eq!(secret.immutable, Some(true));
    let data = secret.data.as_ref().unwrap();
    assert_eq!(data["password"].0, b"hunter2");
    assert_eq!(data["wrapped"].0, b"hunter2");
    let string_data = secret.string_data.as_ref().unwrap();
    assert_eq!(string_data["user"], "admin");
    assert_eq!(string_data["empty"], "");
}

#[test]
fn untyped_documents_are_secrets_and_creation_timestamp_null_is_accepted() {
    let s = secrets("{\"metadata\": {\"name\": \"x\", \"creationTimestamp\": null}, \"data\": {}}");
    assert_eq!(s[0].1.metadata.name.as_deref(), Some("x"));
}

#[test]
fn lists_are_expanded_with_item_positions() {
    let s = secrets(
        "apiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  metadata: {name: a}\n- {}\n\
         - kind: Secret\n  apiVersion: v1\n  metadata: {name: b}\n---\nkind: SecretList\nitems: []\n",
    );
    let names: Vec<_> = s
        .iter()
        .map(|(p, s)| (p.to_string(), s.metadata.name.clone().unwrap()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("document 1, item 1 (line 1)".to_owned(), "a".to_owned()),
            ("document 1, item 3 (line 1)".to_owned(), "b".to_owned())
        ]
    );
}

#[test]
fn foreign_objects_are_errors_naming_them() {
    assert_eq!(
        err(
            "kind: Secret\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n"
        ),
        "document 2 (line 4): expected a Secret (apiVersion: v1, kind: Secret), found a ConfigMap (v1) \"app\""
    );
    assert_eq!(
        err(
            "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: s, namespace: n}\nspec: {encryptedData: {}}\n"
        ),
        "document 1 (line 1): expected a Secret (apiVersion: v1, kind: Secret), found a SealedSecret \"n/s\""
    );
    assert_eq!(
        err("apiVersion: v2\nkind: Secret\n"),
        "document 1 (line 1): expected a Secret (apiVersion: v1, kind: Secret), found a Secret (v2)"
    );
    assert_eq!(
        err("- a\n- b\n"),
        "document 1 (line 1): expected a Kubernetes object, found a list"
    );
    assert_eq!(
        err("just text\n"),
        "document 1 (line 1): expected a Kubernetes object, found a string"
    );
    assert_eq!(
        err("kind: List\nitems: [1]\n"),
        "document 1, item 1 (line 1): expected a Kubernetes object, found a number"
    );
    assert_eq!(
        err("kind: List\nitems: {}\n"),
        "document 1 (line 1): List: items: expected a list, found an object"
    );
}

#[test]
fn bad_values_are_reported_by_key_never_by_value() {
    let e = err("metadata: {name: a, namespace: n}\ndata:\n  password: hunter2!!\n");
    assert_eq!(
        e,
        "document 1 (line 1): Secret \"n/a\": data.password: not valid base64 (data values must be base64; put plain text in stringData)"
    );
    let e = err("metadata: {name: a}\nstringData:\n  pin: 123456\n");
    assert_eq!(
        e,
        "document 1 (line 1): Secret \"a\": stringData.pin: expected a string, found a number"
    );
    assert!(!e.contains("123456"));
    let e = err("metadata: {name: a}\nstringData: [secret-value]\n");
    assert_eq!(
        e,
        "document 1 (line 1): Secret \"a\": stringData: expected a map, found a list"
    );
    let e = err("metadata: {name: a}\ntype: [x]\n");
    assert_eq!(
        e,
        "document 1 (line 1): Secret \"a\": type: expected a string, found a list"
    );
    // Metadata values may be secret too: the decoder's words (which quote them) are not used.
    for (yaml, want) in [
        (
            "metadata: {name: a, annotations: planted-value-1}\n",
            "metadata.annotations: expected a map, found a string",
        ),
        (
            "metadata: {name: a, labels: {x: [planted-value-2]}}\n",
            "metadata.labels.x: expected a string, found a list",
        ),
        (
            "metadata: {name: a, creationTimestamp: planted-value-3}\n",
            "metadata.creationTimestamp: not a valid value (found a string; not shown)",
        ),
        (
            "metadata: {name: a}\nimmutable: planted-value-4\n",
            "immutable: expected a boolean, found a string",
        ),
    ] {
        let e = err(yaml);
        assert!(e.ends_with(want), "{yaml}: {e}");
        assert!(!e.contains("planted"), "{e}");
    }
}

#[test]
fn sealed_secrets_accept_missing_type_meta() {
    let s = parse_sealed_secrets(
        b"{\"metadata\": {\"name\": \"s\"}, \"spec\": {\"encryptedData\": {\"k\": \"AgB=\"}}}",
    )
    .unwrap();
    assert_eq!(s[0].1.spec.encrypted_data["k"], "AgB=");
    let e = parse_sealed_secrets(b"kind: SealedSecret\nmetadata: {name: s}\n")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "document 1 (line 1): SealedSecret \"s\": spec: missing");
    let e = parse_sealed_secrets(b"kind: Secret\nmetadata: {name: s}\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "document 1 (line 1): expected a SealedSecret (apiVersion: bitnami.com/v1alpha1, kind: SealedSecret), found a Secret \"s\""
    );
}

#[test]
fn documents_are_typed() {
    let docs = parse_documents(
        b"kind: Secret\nmetadata: {name: a}\n---\nkind: SealedSecret\nmetadata: {name: b}\nspec: {}\n---\nkind: Pod\n",
        Untyped::Secret,
    )
    .unwrap();
    assert!(matches!(docs[0].object, Object::Secret(_)));
    assert!(matches!(docs[1].object, Object::SealedSecret(_)));
    assert!(matches!(&docs[2].object, Object::Other { kind, .. } if kind == "Pod"));
}

#[test]
fn key_backup_errors() {
    let backup_err = |input: &[u8]| match parse_key_backup(input) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        backup_err(b"apiVersion: v1\nkind: Secret\nmetadata: {name: k}\ndata: {tls.crt: AA==}\n"),
        "document 1 (line 1): Secret \"k\": secret must contain a 'tls.key' key"
    );
    assert_eq!(
        backup_err(b""),
        "no private key found: expected a PEM private key or key Secrets (YAML, JSON or a List)"
    );
    assert_eq!(
        backup_err(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        "invalid PEM private key"
    );
}

/// Arbitrary bytes never panic the parsers.
#[test]
fn garbage_never_panics() {
    let samples: &[&[u8]] = &[
        b"{",
        b"[",
        b"}",
        b"{\"a\":",
        b"---\n---\n...\n",
        b"%YAML 1.2\n",
        b"&a [*a, *a]",
        b"a: &x\n  b: *x\n",
        b"\x00\x01",
        b"{\"kind\":\"List\",\"items\":null}",
        b"kind: List\nitems:\n- kind: List\n  items: [{}]\n",
        b"? [a]\n: b\n",
        b"!!binary aGk=",
        b"a: !!binary aGk=\n",
        b"{\"a\":1}garbage",
        b"--- |\n  x\n",
    ];
    for s in samples {
        let _ = parse_documents(s, Untyped::Secret);
        let _ = parse_documents(s, Untyped::SealedSecret);
        let _ = parse_key_backup(s);
    }
}
