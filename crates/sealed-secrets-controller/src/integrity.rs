//! Zero-work restarts: proof that a Secret is exactly what the controller wrote for the current
//! SealedSecret, checkable without decrypting anything.
//!
//! Every Secret the controller writes carries the annotation [`INTEGRITY_ANNOTATION`]:
//!
//! ```text
//! sealed-secrets-rs.io/integrity: v1;digest=<base64url>;key=SHA256:<fingerprint>;mac=<base64url>
//! ```
//!
//! - `digest` is the [`SpecDigest`]: SHA-256 over the SealedSecret's namespace, name, UID, sealing
//!   scope, unseal options and `spec` (ciphertexts and template). All of it is public (it is in
//!   Git); the digest only says *which* SealedSecret the Secret was unsealed from.
//! - `mac` is HMAC-SHA256 ([`secret_mac`]) over the digest and everything the controller wrote
//!   into the Secret: namespace, name, type, `immutable`, labels, annotations (except this one),
//!   owner references and every `data` value.
//! - The MAC key is derived with HKDF-SHA256 (RFC 5869) from the PKCS#1 DER of one of the
//!   controller's private keys ([`MacKey::derive`]): the key that opened the object's first value
//!   (the latest key if the object has none). `key` names that key by its public fingerprint, so
//!   any replica holding the key Secrets can check the MAC, and a key renewal does not invalidate
//!   the Secrets written before it.
//!
//! A reconcile reads the Secret first ([`check`]): when the digest matches the SealedSecret as it
//! is now and the MAC verifies, the Secret is up to date and no RSA work is done. A Secret edited
//! or replaced by anyone without the private key fails the MAC and is repaired. See
//! `docs/security.md` for what the annotation reveals (nothing about the plaintext) and why.

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::{constant_time, digest, hkdf, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use sealed_secrets::SealedSecret;
use sealed_secrets::keys::PrivateKey;
use sealed_secrets::scope::Scope;
use sealed_secrets::unseal::UnsealOptions;

/// The annotation on written Secrets (our own prefix; upstream ignores it).
pub const INTEGRITY_ANNOTATION: &str = "sealed-secrets-rs.io/integrity";

/// Format version of the annotation value.
const VERSION: &str = "v1";
/// Domain separation of the spec digest.
const DIGEST_DOMAIN: &[u8] = b"sealed-secrets-rs.io/spec-digest/v1";
/// Domain separation of the Secret MAC.
const MAC_DOMAIN: &[u8] = b"sealed-secrets-rs.io/secret-mac/v1";
/// HKDF salt (public, fixed).
const HKDF_SALT: &[u8] = b"sealed-secrets-rs.io/secret-mac-key/v1";
/// HKDF info (public, fixed).
const HKDF_INFO: &[u8] = b"HMAC-SHA256 key for Secrets written by sealed-secrets-rs";

/// The HMAC-SHA256 key derived from one private key. Never printed.
#[derive(Clone)]
pub struct MacKey(hmac::Key);

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(..)")
    }
}

impl MacKey {
    /// HKDF-SHA256 (RFC 5869): salt [`HKDF_SALT`], input keying material the PKCS#1
    /// `RSAPrivateKey` DER of `key`, info [`HKDF_INFO`], 32 bytes of output used as an
    /// HMAC-SHA256 key. The output stays inside aws-lc; the DER copy is zeroized on drop.
    /// `None` only if HKDF refuses the output length, which 32 bytes (far below HKDF-SHA256's
    /// limit of 255 * 32) never is; without a MAC key, Secrets are written without the annotation
    /// and always unsealed, never trusted.
    pub fn derive(key: &PrivateKey) -> Option<MacKey> {
        let der = key.to_pkcs1_der();
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(&der);
        let info = [HKDF_INFO];
        let okm = prk.expand(&info, hmac::HMAC_SHA256).ok()?;
        Some(MacKey(hmac::Key::from(okm)))
    }
}

/// SHA-256 over what decides the unsealed Secret, see [`spec_digest`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SpecDigest([u8; 32]);

impl fmt::Debug for SpecDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpecDigest({})", B64.encode(self.0))
    }
}

/// Feeds length-prefixed fields into a hash or MAC, so no two different inputs encode alike.
trait Sink {
    fn bytes(&mut self, data: &[u8]);

    /// `u64 BE length || bytes`.
    fn field(&mut self, data: &[u8]) {
        self.bytes(&(data.len() as u64).to_be_bytes());
        self.bytes(data);
    }

    /// Number of entries, then key and value of each, in key order; absent and empty are equal.
    fn map<V>(
        &mut self,
        map: Option<&BTreeMap<String, V>>,
        skip: Option<&str>,
        value: impl Fn(&V) -> &[u8],
    ) {
        let entries: Vec<(&String, &V)> = map
            .into_iter()
            .flatten()
            .filter(|(k, _)| Some(k.as_str()) != skip)
            .collect();
        self.bytes(&(entries.len() as u64).to_be_bytes());
        for (k, v) in entries {
            self.field(k.as_bytes());
            self.field(value(v));
        }
    }
}

impl Sink for digest::Context {
    fn bytes(&mut self, data: &[u8]) {
        self.update(data);
    }
}

impl Sink for hmac::Context {
    fn bytes(&mut self, data: &[u8]) {
        self.update(data);
    }
}

/// Why a digest could not be computed.
#[derive(Debug, thiserror::Error)]
#[error("cannot serialize the SealedSecret spec for its digest")]
pub struct DigestError(#[source] serde_json::Error);

/// SHA-256 of: [`DIGEST_DOMAIN`], namespace, name, UID, sealing scope and its OAEP label (from the
/// top-level annotations), whether the deprecated `spec.data` is accepted, and the JSON of `spec`
/// (maps in key order, so the encoding is stable). The key hint and other metadata are left out:
/// they do not change the Secret.
pub fn spec_digest(
    sealed: &SealedSecret,
    options: &UnsealOptions,
) -> Result<SpecDigest, DigestError> {
    let spec = serde_json::to_vec(&sealed.spec).map_err(DigestError)?;
    let scope = Scope::from_annotations(sealed.metadata.annotations.as_ref());
    let (namespace, name) = (sealed.namespace_or_empty(), sealed.name_or_empty());
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.field(DIGEST_DOMAIN);
    ctx.field(namespace.as_bytes());
    ctx.field(name.as_bytes());
    ctx.field(
        sealed
            .metadata
            .uid
            .as_deref()
            .unwrap_or_default()
            .as_bytes(),
    );
    ctx.field(scope.as_str().as_bytes());
    ctx.field(&scope.label(namespace, name));
    ctx.field(&[u8::from(options.accept_deprecated_v1_data)]);
    ctx.field(&spec);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Ok(SpecDigest(out))
}

/// HMAC-SHA256 under `key` of: [`MAC_DOMAIN`], `digest`, and the Secret as written: namespace,
/// name, type (absent = `Opaque`), `immutable` (absent = false), labels, annotations without
/// [`INTEGRITY_ANNOTATION`], owner references (API version, kind, name, UID, controller) and every
/// `data` entry. Fields are length-prefixed, maps in key order.
pub fn secret_mac(key: &MacKey, digest: &SpecDigest, secret: &Secret) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(&key.0);
    ctx.field(MAC_DOMAIN);
    ctx.field(&digest.0);
    let meta = &secret.metadata;
    ctx.field(meta.namespace.as_deref().unwrap_or_default().as_bytes());
    ctx.field(meta.name.as_deref().unwrap_or_default().as_bytes());
    let type_ = secret
        .type_
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or("Opaque");
    ctx.field(type_.as_bytes());
    ctx.field(&[u8::from(secret.immutable.unwrap_or(false))]);
    ctx.map(meta.labels.as_ref(), None, |v: &String| v.as_bytes());
    ctx.map(
        meta.annotations.as_ref(),
        Some(INTEGRITY_ANNOTATION),
        |v: &String| v.as_bytes(),
    );
    let owners = meta.owner_references.as_deref().unwrap_or_default();
    ctx.bytes(&(owners.len() as u64).to_be_bytes());
    for owner in owners {
        ctx.field(owner.api_version.as_bytes());
        ctx.field(owner.kind.as_bytes());
        ctx.field(owner.name.as_bytes());
        ctx.field(owner.uid.as_bytes());
        ctx.field(&[match owner.controller {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        }]);
    }
    ctx.map(secret.data.as_ref(), None, |v: &ByteString| &v.0);
    ctx.sign()
}

/// The parsed annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integrity {
    /// The spec digest the Secret was written for.
    pub digest: SpecDigest,
    /// Fingerprint of the private key the MAC key was derived from.
    pub key: String,
    /// The MAC bytes.
    pub mac: Vec<u8>,
}

impl Integrity {
    /// The annotation value.
    pub fn render(&self) -> String {
        format!(
            "{VERSION};digest={};key={};mac={}",
            B64.encode(self.digest.0),
            self.key,
            B64.encode(&self.mac)
        )
    }

    /// Parses an annotation value; `None` for anything else (another version, garbage).
    pub fn parse(value: &str) -> Option<Integrity> {
        let mut parts = value.split(';');
        if parts.next()? != VERSION {
            return None;
        }
        let (mut digest, mut key, mut mac) = (None, None, None);
        for part in parts {
            match part.split_once('=')? {
                ("digest", v) => digest = Some(B64.decode(v).ok()?),
                ("key", v) => key = Some(v.to_owned()),
                ("mac", v) => mac = Some(B64.decode(v).ok()?),
                _ => return None,
            }
        }
        let digest: [u8; 32] = digest?.try_into().ok()?;
        Some(Integrity {
            digest: SpecDigest(digest),
            key: key.filter(|k| !k.is_empty())?,
            mac: mac?,
        })
    }

    /// The annotation of `secret`, if present and well-formed.
    pub fn of(secret: &Secret) -> Option<Integrity> {
        secret
            .metadata
            .annotations
            .as_ref()?
            .get(INTEGRITY_ANNOTATION)
            .and_then(|v| Integrity::parse(v))
    }
}

/// Sets the annotation of `secret` for `digest`, with the MAC key of the key named `fingerprint`.
pub fn stamp(secret: &mut Secret, digest: &SpecDigest, fingerprint: &str, key: &MacKey) {
    let tag = secret_mac(key, digest, secret);
    let value = Integrity {
        digest: *digest,
        key: fingerprint.to_owned(),
        mac: tag.as_ref().to_vec(),
    }
    .render();
    secret
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(INTEGRITY_ANNOTATION.to_owned(), value);
}

/// What [`check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The Secret is exactly what the controller wrote for this spec: nothing to do.
    Verified,
    /// No annotation (written by someone else, by upstream's controller, or by hand).
    Missing,
    /// Written for another spec, name, scope or UID: the SealedSecret changed.
    SpecChanged,
    /// The key named in the annotation is not held (removed, or never ours).
    UnknownKey,
    /// The digest matches but the MAC does not: edited or replaced by someone else.
    Tampered,
}

/// Checks `secret` against the SealedSecret's `digest`; `mac_key` finds the MAC key of a key
/// fingerprint among the keys held. The MAC is compared in constant time.
pub fn check<F>(secret: &Secret, digest: &SpecDigest, mac_key: F) -> Verdict
where
    F: FnOnce(&str) -> Option<MacKey>,
{
    let Some(integrity) = Integrity::of(secret) else {
        return Verdict::Missing;
    };
    if integrity.digest != *digest {
        return Verdict::SpecChanged;
    }
    let Some(key) = mac_key(&integrity.key) else {
        return Verdict::UnknownKey;
    };
    let tag = secret_mac(&key, digest, secret);
    match constant_time::verify_slices_are_equal(tag.as_ref(), &integrity.mac) {
        Ok(()) => Verdict::Verified,
        Err(_) => Verdict::Tampered,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
    use sealed_secrets::SealedSecretSpec;

    use super::*;

    /// Two real 2048-bit keys and their MAC keys, generated once.
    fn keys() -> &'static [(PrivateKey, MacKey); 2] {
        static KEYS: OnceLock<[(PrivateKey, MacKey); 2]> = OnceLock::new();
        KEYS.get_or_init(|| {
            let make = || {
                let key = PrivateKey::generate(2048).expect("generate");
                let mac = MacKey::derive(&key).expect("32-byte HKDF output");
                (key, mac)
            };
            [make(), make()]
        })
    }

    fn fingerprint(i: usize) -> String {
        keys()[i].0.fingerprint().to_string()
    }

    /// Finds the MAC key of the keys in `held`.
    fn held(held: &'static [usize]) -> impl Fn(&str) -> Option<MacKey> {
        move |fp: &str| {
            held.iter()
                .find(|&&i| fingerprint(i) == fp)
                .map(|&i| keys()[i].1.clone())
        }
    }

    fn sealed() -> SealedSecret {
        let mut spec = SealedSecretSpec::default();
        spec.encrypted_data
            .insert("password".into(), "AgBy3i4OJSWK+PiTySYZZA==".into());
        let mut s = SealedSecret::new("db", spec);
        s.metadata.namespace = Some("apps".into());
        s.metadata.uid = Some("uid-1".into());
        s
    }

    fn written(digest: &SpecDigest) -> Secret {
        let mut secret = Secret {
            metadata: ObjectMeta {
                name: Some("db".into()),
                namespace: Some("apps".into()),
                labels: Some([("app".to_owned(), "db".to_owned())].into()),
                annotations: Some([("team".to_owned(), "infra".to_owned())].into()),
                owner_references: Some(vec![OwnerReference {
                    api_version: "bitnami.com/v1alpha1".into(),
                    kind: "SealedSecret".into(),
                    name: "db".into(),
                    uid: "uid-1".into(),
                    controller: Some(true),
                    block_owner_deletion: None,
                }]),
                resource_version: Some("42".into()),
                ..Default::default()
            },
            data: Some([("password".to_owned(), ByteString(b"hunter2".to_vec()))].into()),
            ..Default::default()
        };
        stamp(&mut secret, digest, &fingerprint(0), &keys()[0].1);
        secret
    }

    fn digest(sealed: &SealedSecret) -> SpecDigest {
        spec_digest(sealed, &UnsealOptions::default()).expect("digest")
    }

    #[test]
    fn untouched_secret_verifies_and_server_fields_do_not_matter() {
        let d = digest(&sealed());
        let mut secret = written(&d);
        assert_eq!(check(&secret, &d, held(&[0, 1])), Verdict::Verified);
        secret.metadata.resource_version = Some("43".into());
        secret.metadata.managed_fields = Some(Vec::new());
        secret.type_ = Some("Opaque".into());
        secret.immutable = Some(false);
        assert_eq!(
            check(&secret, &d, held(&[0])),
            Verdict::Verified,
            "server-set fields and defaults are not part of the MAC"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let d = digest(&sealed());
        type Edit = fn(&mut Secret);
        let edits: &[(&str, Edit)] = &[
            ("data value changed", |s| {
                s.data
                    .as_mut()
                    .expect("data")
                    .insert("password".into(), ByteString(b"x".to_vec()));
            }),
            ("data key added", |s| {
                s.data
                    .as_mut()
                    .expect("data")
                    .insert("extra".into(), ByteString(Vec::new()));
            }),
            ("data key removed", |s| s.data = None),
            ("label changed", |s| {
                s.metadata
                    .labels
                    .as_mut()
                    .expect("labels")
                    .insert("app".into(), "other".into());
            }),
            ("label removed", |s| s.metadata.labels = None),
            ("annotation added", |s| {
                s.metadata
                    .annotations
                    .as_mut()
                    .expect("annotations")
                    .insert("x".into(), "y".into());
            }),
            ("type changed", |s| {
                s.type_ = Some("kubernetes.io/tls".into())
            }),
            ("made immutable", |s| s.immutable = Some(true)),
            ("owner reference removed", |s| {
                s.metadata.owner_references = None
            }),
            ("moved", |s| s.metadata.namespace = Some("other".into())),
        ];
        for (what, edit) in edits {
            let mut secret = written(&d);
            edit(&mut secret);
            assert_eq!(check(&secret, &d, held(&[0])), Verdict::Tampered, "{what}");
        }
    }

    #[test]
    fn annotation_forged_or_removed() {
        let d = digest(&sealed());
        let mut secret = written(&d);
        secret
            .metadata
            .annotations
            .as_mut()
            .expect("annotations")
            .remove(INTEGRITY_ANNOTATION);
        assert_eq!(check(&secret, &d, held(&[0])), Verdict::Missing);

        // A MAC computed with another key the controller holds, but claiming key 0.
        let mut forged = written(&d);
        stamp(&mut forged, &d, &fingerprint(0), &keys()[1].1);
        assert_eq!(check(&forged, &d, held(&[0, 1])), Verdict::Tampered);

        // Garbage and other versions are treated as absent.
        for value in [
            "",
            "v1",
            "v2;digest=AA;key=k;mac=AA",
            "v1;digest=!!;key=k;mac=AA",
        ] {
            let mut s = written(&d);
            s.metadata
                .annotations
                .as_mut()
                .expect("annotations")
                .insert(INTEGRITY_ANNOTATION.into(), value.into());
            assert_eq!(check(&s, &d, held(&[0])), Verdict::Missing, "{value:?}");
        }
    }

    #[test]
    fn key_removed_or_renewed() {
        let d = digest(&sealed());
        let secret = written(&d);
        assert_eq!(
            check(&secret, &d, held(&[1])),
            Verdict::UnknownKey,
            "its key was removed"
        );
        assert_eq!(
            check(&secret, &d, held(&[1, 0])),
            Verdict::Verified,
            "a newer key does not invalidate it"
        );
    }

    #[test]
    fn spec_scope_name_and_uid_are_bound() {
        let base = sealed();
        let d = digest(&base);
        let secret = written(&d);
        type Edit = fn(&mut SealedSecret);
        let edits: &[(&str, Edit)] = &[
            ("ciphertext changed", |s| {
                s.spec
                    .encrypted_data
                    .insert("password".into(), "AgCother==".into());
            }),
            ("item added", |s| {
                s.spec.encrypted_data.insert("user".into(), "AgC=".into());
            }),
            ("template label", |s| {
                s.spec.template.metadata = ObjectMeta {
                    labels: Some([("a".to_owned(), "b".to_owned())].into()),
                    ..Default::default()
                };
            }),
            ("template type", |s| {
                s.spec.template.type_ = Some("kubernetes.io/tls".into())
            }),
            ("renamed", |s| s.metadata.name = Some("db2".into())),
            ("moved", |s| s.metadata.namespace = Some("other".into())),
            ("recreated", |s| s.metadata.uid = Some("uid-2".into())),
            ("scope", |s| {
                s.metadata.annotations = Some(
                    [(
                        sealed_secrets::scope::CLUSTER_WIDE_ANNOTATION.to_owned(),
                        "true".to_owned(),
                    )]
                    .into(),
                );
            }),
        ];
        for (what, edit) in edits {
            let mut changed = base.clone();
            edit(&mut changed);
            let d2 = digest(&changed);
            assert_ne!(d, d2, "{what}");
            assert_eq!(
                check(&secret, &d2, held(&[0])),
                Verdict::SpecChanged,
                "{what}"
            );
        }
        // The key hint and status do not change the Secret, so not the digest either.
        let mut hinted = base.clone();
        hinted.metadata.annotations = Some(
            [(
                sealed_secrets::seal::KEY_HINT_ANNOTATION.to_owned(),
                fingerprint(1),
            )]
            .into(),
        );
        hinted.metadata.resource_version = Some("9".into());
        assert_eq!(digest(&hinted), d);
        let strict = UnsealOptions {
            accept_deprecated_v1_data: false,
        };
        assert_ne!(spec_digest(&base, &strict).expect("digest"), d);
    }

    #[test]
    fn annotation_round_trip_reveals_no_data() {
        let d = digest(&sealed());
        let secret = written(&d);
        let value = secret.metadata.annotations.as_ref().expect("annotations")
            [INTEGRITY_ANNOTATION]
            .clone();
        assert!(value.starts_with("v1;digest="), "{value}");
        assert!(
            value.contains(&format!(";key={};mac=", fingerprint(0))),
            "{value}"
        );
        assert!(!value.contains("hunter2"));
        let parsed = Integrity::parse(&value).expect("parses");
        assert_eq!(parsed.render(), value);
        assert_eq!(parsed.mac.len(), 32);
    }

    #[test]
    fn mac_keys_differ_per_private_key_and_are_stable() {
        let d = digest(&sealed());
        let s = written(&d);
        let again = MacKey::derive(&keys()[0].0).expect("32-byte HKDF output");
        assert_eq!(
            secret_mac(&again, &d, &s).as_ref(),
            secret_mac(&keys()[0].1, &d, &s).as_ref()
        );
        assert_ne!(
            secret_mac(&keys()[1].1, &d, &s).as_ref(),
            secret_mac(&keys()[0].1, &d, &s).as_ref()
        );
        assert_eq!(format!("{:?}", keys()[0].1), "MacKey(..)");
    }
}
