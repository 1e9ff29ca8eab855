//! Zero-work restarts: proof that a Secret is exactly what the controller wrote for the current
//! SealedSecret, checkable without decrypting anything.
//!
//! Every Secret the controller writes carries the annotation [`INTEGRITY_ANNOTATION`]:
//!
//! ```text
//! sealed-secrets-rs.io/integrity: v2;digest=<b64url>;keys=<b64url>;opened=SHA256:<fp>;at=<unix s>;mac=<b64url>
//! ```
//!
//! - `digest` is the [`SpecDigest`]: SHA-256 over the SealedSecret's namespace, name, UID, sealing
//!   scope, unseal options and `spec` (ciphertexts and template). All of it is public (it is in
//!   Git); the digest only says *which* SealedSecret the Secret was unsealed from.
//! - `keys` names the set of private keys the MAC key was derived from ([`KeySetId`]: a hash of
//!   their public fingerprints).
//! - `opened` is the public fingerprint of the key that opened the first value (a hint for the
//!   next unseal's key order, never trusted for anything else); `at` is when the values were
//!   last decrypted.
//! - `mac` is HMAC-SHA256 ([`secret_mac`]) over all of the above and everything the controller
//!   wrote into the Secret: namespace, name, type, `immutable`, labels, annotations (except this
//!   one), owner references and every `data` value.
//! - The MAC key is derived with HKDF-SHA256 (RFC 5869) from **every** private key the
//!   controller holds ([`IntegrityKey::derive`]). Whoever holds one key (a key they brought
//!   themselves, an old backup) cannot compute it; only whoever holds them all, who can decrypt
//!   every SealedSecret anyway.
//!
//! A reconcile reads the Secret first ([`check`]): when the digest matches the SealedSecret as it
//! is now, the key set is the current one, the MAC verifies and the values were decrypted less than
//! `--reverify-period` ago, the Secret is up to date and no RSA work is done. Anything else (an
//! edit, a forgery, a key added or removed, the period over) unseals and writes it again. See
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
use sealed_secrets::names::INTEGRITY_ANNOTATION;
use sealed_secrets::scope::Scope;
use sealed_secrets::unseal::UnsealOptions;
use zeroize::Zeroizing;

/// Format version of the annotation value.
const VERSION: &str = "v2";
/// Domain separation of the spec digest.
const DIGEST_DOMAIN: &[u8] = b"sealed-secrets-rs.io/spec-digest/v1";
/// Domain separation of the Secret MAC.
const MAC_DOMAIN: &[u8] = b"sealed-secrets-rs.io/secret-mac/v2";
/// Domain separation of the key set id.
const KEY_SET_DOMAIN: &[u8] = b"sealed-secrets-rs.io/key-set/v2";
/// HKDF salt (public, fixed).
const HKDF_SALT: &[u8] = b"sealed-secrets-rs.io/secret-mac-key/v2";
/// HKDF info (public, fixed).
const HKDF_INFO: &[u8] = b"HMAC-SHA256 key for Secrets written by sealed-secrets-rs, from all keys";

/// Names a set of private keys by their public fingerprints: SHA-256 over the sorted
/// fingerprints, first 16 bytes, base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySetId(String);

impl KeySetId {
    /// The id of the keys with these fingerprints (order and duplicates do not matter).
    pub fn of<'a>(fingerprints: impl IntoIterator<Item = &'a str>) -> KeySetId {
        let mut sorted: Vec<&str> = fingerprints.into_iter().collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.field(KEY_SET_DOMAIN);
        ctx.bytes(&(sorted.len() as u64).to_be_bytes());
        for fp in sorted {
            ctx.field(fp.as_bytes());
        }
        KeySetId(B64.encode(&ctx.finish().as_ref()[..16]))
    }

    /// The text in the annotation.
    #[cfg(test)]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The HMAC-SHA256 key of one key set, and the set's id. Never printed.
pub struct IntegrityKey {
    /// Which keys it was derived from.
    pub id: KeySetId,
    mac: hmac::Key,
}

impl fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IntegrityKey({}, ..)", self.id.0)
    }
}

impl IntegrityKey {
    /// HKDF-SHA256 (RFC 5869): salt [`HKDF_SALT`], input keying material the PKCS#1
    /// `RSAPrivateKey` DER of every key, in fingerprint order, each length-prefixed (duplicates
    /// once), info [`HKDF_INFO`] followed by the key set id; 32 bytes of output used as an
    /// HMAC-SHA256 key. The output stays inside aws-lc; the DER copies are zeroized on drop.
    /// `None` for no keys, or if HKDF refused the output length, which 32 bytes (far below
    /// HKDF-SHA256's limit of 255 * 32) never is; without a key, Secrets are written without the
    /// annotation and always unsealed, never trusted.
    pub fn derive(keys: &[&PrivateKey]) -> Option<IntegrityKey> {
        let mut keyed: Vec<(String, &PrivateKey)> = keys
            .iter()
            .map(|k| (k.fingerprint().to_string(), *k))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.dedup_by(|a, b| a.0 == b.0);
        if keyed.is_empty() {
            return None;
        }
        let id = KeySetId::of(keyed.iter().map(|(fp, _)| fp.as_str()));
        let mut ikm = Zeroizing::new(Vec::new());
        for (_, key) in &keyed {
            let der = key.to_pkcs1_der();
            ikm.extend_from_slice(&(der.len() as u64).to_be_bytes());
            ikm.extend_from_slice(&der);
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(&ikm);
        let mac = {
            let info = [HKDF_INFO, id.0.as_bytes()];
            hmac::Key::from(prk.expand(&info, hmac::HMAC_SHA256).ok()?)
        };
        Some(IntegrityKey { id, mac })
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

/// HMAC-SHA256 under `key` of: [`MAC_DOMAIN`], `digest`, the key set id, the `opened`
/// fingerprint, the decryption time `at`, and the Secret as written: namespace, name, type
/// (absent = `Opaque`), `immutable` (absent = false), labels, annotations without
/// [`INTEGRITY_ANNOTATION`], owner references (API version, kind, name, UID, controller) and every
/// `data` entry. Fields are length-prefixed, maps in key order.
pub fn secret_mac(
    key: &IntegrityKey,
    digest: &SpecDigest,
    opened: &str,
    at: u64,
    secret: &Secret,
) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(&key.mac);
    ctx.field(MAC_DOMAIN);
    ctx.field(&digest.0);
    ctx.field(key.id.0.as_bytes());
    ctx.field(opened.as_bytes());
    ctx.field(&at.to_be_bytes());
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
    /// The key set the MAC key was derived from.
    pub keys: KeySetId,
    /// Fingerprint of the key that opened the first value (a key-order hint; may be empty).
    pub opened: String,
    /// When the values were last decrypted (Unix seconds).
    pub at: u64,
    /// The MAC bytes.
    pub mac: Vec<u8>,
}

impl Integrity {
    /// The annotation value.
    pub fn render(&self) -> String {
        format!(
            "{VERSION};digest={};keys={};opened={};at={};mac={}",
            B64.encode(self.digest.0),
            self.keys.0,
            self.opened,
            self.at,
            B64.encode(&self.mac)
        )
    }

    /// Parses an annotation value; `None` for anything else (another version, garbage).
    pub fn parse(value: &str) -> Option<Integrity> {
        let mut parts = value.split(';');
        if parts.next()? != VERSION {
            return None;
        }
        let (mut digest, mut keys, mut opened, mut at, mut mac) = (None, None, None, None, None);
        for part in parts {
            match part.split_once('=')? {
                ("digest", v) => digest = Some(B64.decode(v).ok()?),
                ("keys", v) => keys = Some(KeySetId(v.to_owned())),
                ("opened", v) => opened = Some(v.to_owned()),
                ("at", v) => at = Some(v.parse::<u64>().ok()?),
                ("mac", v) => mac = Some(B64.decode(v).ok()?),
                _ => return None,
            }
        }
        let digest: [u8; 32] = digest?.try_into().ok()?;
        Some(Integrity {
            digest: SpecDigest(digest),
            keys: keys?,
            opened: opened?,
            at: at?,
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

    /// The key that opened the values, as a key-order hint.
    pub fn opened_hint(&self) -> Option<String> {
        Some(self.opened.clone()).filter(|o| !o.is_empty())
    }
}

/// Sets the annotation of `secret` for `digest`, under `key`: the values were decrypted at `at`
/// (Unix seconds), the first one by the key with fingerprint `opened` (empty if none).
pub fn stamp(secret: &mut Secret, digest: &SpecDigest, key: &IntegrityKey, opened: &str, at: u64) {
    let tag = secret_mac(key, digest, opened, at, secret);
    let value = Integrity {
        digest: *digest,
        keys: key.id.clone(),
        opened: opened.to_owned(),
        at,
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
    /// The Secret is exactly what the controller wrote for this spec, with the keys held now,
    /// from values decrypted at `at` (Unix seconds), within the re-verification period.
    Verified {
        /// When the values were decrypted.
        at: u64,
    },
    /// No annotation (written by someone else, by upstream's controller, by an older version of
    /// ours, or by hand).
    Missing,
    /// Written for another spec, name, scope or UID: the SealedSecret changed.
    SpecChanged,
    /// Written while the controller held another set of keys (one was added or removed).
    KeysChanged,
    /// The digest and keys match but the MAC does not: edited, replaced or forged.
    Tampered,
    /// Verified, but the values were decrypted longer ago than the re-verification period.
    Due,
}

/// Checks `secret` against the SealedSecret's `digest` with the integrity key of the keys held
/// now (`None`: no key, nothing verifies). The MAC is compared in constant time. With a
/// `reverify` period, a Secret whose values were decrypted longer ago than that (or in the
/// future) is [`Verdict::Due`].
pub fn check(
    secret: &Secret,
    digest: &SpecDigest,
    key: Option<&IntegrityKey>,
    now: u64,
    reverify: Option<std::time::Duration>,
) -> Verdict {
    let Some(integrity) = Integrity::of(secret) else {
        return Verdict::Missing;
    };
    if integrity.digest != *digest {
        return Verdict::SpecChanged;
    }
    let Some(key) = key.filter(|k| k.id == integrity.keys) else {
        return Verdict::KeysChanged;
    };
    let tag = secret_mac(key, digest, &integrity.opened, integrity.at, secret);
    if constant_time::verify_slices_are_equal(tag.as_ref(), &integrity.mac).is_err() {
        return Verdict::Tampered;
    }
    match reverify {
        Some(period) if integrity.at > now || now - integrity.at >= period.as_secs() => {
            Verdict::Due
        }
        _ => Verdict::Verified { at: integrity.at },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;
    use std::time::Duration;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
    use sealed_secrets::SealedSecretSpec;

    use super::*;

    const NOW: u64 = 1_800_000_000;
    const DAY: Duration = Duration::from_secs(86_400);

    /// Three real 2048-bit keys, generated once.
    fn keys() -> &'static [PrivateKey; 3] {
        static KEYS: OnceLock<[PrivateKey; 3]> = OnceLock::new();
        KEYS.get_or_init(|| {
            let make = || PrivateKey::generate(2048).expect("generate");
            [make(), make(), make()]
        })
    }

    fn held(which: &[usize]) -> IntegrityKey {
        let refs: Vec<&PrivateKey> = which.iter().map(|&i| &keys()[i]).collect();
        IntegrityKey::derive(&refs).expect("key")
    }

    fn fingerprint(i: usize) -> String {
        keys()[i].fingerprint().to_string()
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

    fn plain() -> Secret {
        Secret {
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
        }
    }

    /// Written by a controller holding keys 0 and 1, decrypted at NOW with key 0.
    fn written(digest: &SpecDigest) -> Secret {
        let mut secret = plain();
        stamp(&mut secret, digest, &held(&[0, 1]), &fingerprint(0), NOW);
        secret
    }

    fn digest(sealed: &SealedSecret) -> SpecDigest {
        spec_digest(sealed, &UnsealOptions::default()).expect("digest")
    }

    fn verdict(secret: &Secret, d: &SpecDigest, keys: &[usize]) -> Verdict {
        check(secret, d, Some(&held(keys)), NOW + 60, Some(DAY))
    }

    #[test]
    fn untouched_secret_verifies_and_server_fields_do_not_matter() {
        let d = digest(&sealed());
        let mut secret = written(&d);
        assert_eq!(verdict(&secret, &d, &[1, 0]), Verdict::Verified { at: NOW });
        secret.metadata.resource_version = Some("43".into());
        secret.metadata.managed_fields = Some(Vec::new());
        secret.type_ = Some("Opaque".into());
        secret.immutable = Some(false);
        assert_eq!(
            verdict(&secret, &d, &[0, 1]),
            Verdict::Verified { at: NOW },
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
            assert_eq!(verdict(&secret, &d, &[0, 1]), Verdict::Tampered, "{what}");
        }
        // The time and the key-order hint are covered too.
        let value =
            written(&d).metadata.annotations.expect("annotations")[INTEGRITY_ANNOTATION].clone();
        for (from, to) in [
            (format!(";at={NOW};"), format!(";at={};", NOW + 1)),
            (
                format!("opened={}", fingerprint(0)),
                format!("opened={}", fingerprint(1)),
            ),
        ] {
            let mut s = written(&d);
            s.metadata
                .annotations
                .as_mut()
                .expect("annotations")
                .insert(INTEGRITY_ANNOTATION.into(), value.replace(&from, &to));
            assert_eq!(verdict(&s, &d, &[0, 1]), Verdict::Tampered, "{to}");
        }
    }

    #[test]
    fn one_held_key_is_not_enough_to_forge() {
        let d = digest(&sealed());
        // Someone holding key 1 alone (a key they created in the controller's namespace, or an
        // old backup) stamps a Secret with data of their choice, naming the current key set.
        let mut forged = plain();
        forged
            .data
            .as_mut()
            .expect("data")
            .insert("password".into(), ByteString(b"attacker".to_vec()));
        let theirs = held(&[1]);
        stamp(&mut forged, &d, &theirs, &fingerprint(1), NOW);
        let annotation = forged.metadata.annotations.as_mut().expect("annotations");
        let value =
            annotation[INTEGRITY_ANNOTATION].replace(theirs.id.as_str(), held(&[0, 1]).id.as_str());
        annotation.insert(INTEGRITY_ANNOTATION.into(), value);
        assert_eq!(verdict(&forged, &d, &[0, 1]), Verdict::Tampered);
        // Left naming their own key set, it is simply not the controller's.
        let mut own = plain();
        stamp(&mut own, &d, &theirs, &fingerprint(1), NOW);
        assert_eq!(verdict(&own, &d, &[0, 1]), Verdict::KeysChanged);
    }

    #[test]
    fn annotation_removed_or_garbage() {
        let d = digest(&sealed());
        let mut secret = written(&d);
        secret
            .metadata
            .annotations
            .as_mut()
            .expect("annotations")
            .remove(INTEGRITY_ANNOTATION);
        assert_eq!(verdict(&secret, &d, &[0, 1]), Verdict::Missing);
        for value in [
            "",
            "v2",
            "v1;digest=AA;key=k;mac=AA",
            "v2;digest=!!;keys=k;opened=;at=1;mac=AA",
            "v2;digest=AA;keys=k;opened=;at=x;mac=AA",
        ] {
            let mut s = written(&d);
            s.metadata
                .annotations
                .as_mut()
                .expect("annotations")
                .insert(INTEGRITY_ANNOTATION.into(), value.into());
            assert_eq!(verdict(&s, &d, &[0, 1]), Verdict::Missing, "{value:?}");
        }
    }

    #[test]
    fn keys_added_or_removed_and_time_running_out() {
        let d = digest(&sealed());
        let secret = written(&d);
        assert_eq!(
            verdict(&secret, &d, &[0]),
            Verdict::KeysChanged,
            "a key was removed"
        );
        assert_eq!(
            verdict(&secret, &d, &[0, 1, 2]),
            Verdict::KeysChanged,
            "a key was added"
        );
        assert_eq!(
            check(&secret, &d, None, NOW, Some(DAY)),
            Verdict::KeysChanged
        );
        let key = held(&[0, 1]);
        assert_eq!(
            check(&secret, &d, Some(&key), NOW + DAY.as_secs() - 1, Some(DAY)),
            Verdict::Verified { at: NOW }
        );
        assert_eq!(
            check(&secret, &d, Some(&key), NOW + DAY.as_secs(), Some(DAY)),
            Verdict::Due
        );
        assert_eq!(
            check(&secret, &d, Some(&key), NOW - 10, Some(DAY)),
            Verdict::Due,
            "future"
        );
        assert_eq!(
            check(&secret, &d, Some(&key), NOW + 10 * DAY.as_secs(), None),
            Verdict::Verified { at: NOW },
            "no re-verification period"
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
                        sealed_secrets::names::CLUSTER_WIDE_ANNOTATION.to_owned(),
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
                verdict(&secret, &d2, &[0, 1]),
                Verdict::SpecChanged,
                "{what}"
            );
        }
        // The key hint and status do not change the Secret, so not the digest either.
        let mut hinted = base.clone();
        hinted.metadata.annotations = Some(
            [(
                sealed_secrets::names::KEY_HINT_ANNOTATION.to_owned(),
                fingerprint(1),
            )]
            .into(),
        );
        hinted.metadata.resource_version = Some("9".into());
        assert_eq!(digest(&hinted), d);
        let strict = UnsealOptions {
            accept_deprecated_v1_data: false,
            ..UnsealOptions::default()
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
        assert!(value.starts_with("v2;digest="), "{value}");
        assert!(
            value.contains(&format!(";opened={};at={NOW};mac=", fingerprint(0))),
            "{value}"
        );
        assert!(!value.contains("hunter2"));
        let parsed = Integrity::parse(&value).expect("parses");
        assert_eq!(parsed.render(), value);
        assert_eq!(parsed.mac.len(), 32);
        assert_eq!(parsed.opened_hint(), Some(fingerprint(0)));
    }

    #[test]
    fn integrity_keys_depend_on_every_key_not_their_order() {
        let d = digest(&sealed());
        let s = plain();
        let mac = |k: &IntegrityKey| secret_mac(k, &d, "", NOW, &s).as_ref().to_vec();
        assert_eq!(mac(&held(&[0, 1])), mac(&held(&[1, 0, 1])));
        assert_ne!(mac(&held(&[0, 1])), mac(&held(&[0])));
        assert_ne!(mac(&held(&[0, 1])), mac(&held(&[0, 2])));
        assert_eq!(
            held(&[0, 1]).id,
            KeySetId::of([fingerprint(1).as_str(), &fingerprint(0)])
        );
        assert!(IntegrityKey::derive(&[]).is_none());
        let debug = format!("{:?}", held(&[0]));
        assert!(
            debug.starts_with("IntegrityKey(") && debug.ends_with(", ..)"),
            "{debug}"
        );
    }
}
