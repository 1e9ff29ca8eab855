//! Secret -> SealedSecret: encrypt every value for the Secret's scope.
//!
//! [`seal`] builds the SealedSecret exactly as upstream's kubeseal and `/v1/rotate` do:
//! top-level metadata is only the name, namespace and scope annotation; the template is a copy of
//! the Secret's metadata without the last-applied annotations and owner references; each `data`
//! item, then each `stringData` item (which wins on a shared key), is hybrid-encrypted with the
//! scope label and stored as standard base64.
//!
//! One deliberate addition: the top-level [`KEY_HINT_ANNOTATION`] records the sealing key's
//! fingerprint, so our controller tries that key first instead of every key it holds. It is public
//! information (a hash of the public key) and upstream ignores it.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rand_core::CryptoRngCore;

use crate::crypto::CryptoError;
use crate::keys::PublicKey;
use crate::names::{KEY_HINT_ANNOTATION, LAST_APPLIED_ANNOTATIONS};
use crate::scope::Scope;
use crate::types::{SealedSecret, SealedSecretSpec, SecretTemplateSpec};

/// Why a Secret could not be sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The Secret is strict or namespace-wide but has no namespace to bind the values to.
    #[error("secret must declare a namespace")]
    MissingNamespace,
    /// The Secret has no name, and a strict scope binds the values to one.
    #[error("missing metadata.name in input Secret")]
    MissingName,
    /// Encrypting the value of an item failed.
    #[error("cannot encrypt item {key:?}")]
    Encrypt {
        /// The item key.
        key: String,
        /// What the crypto layer reported.
        #[source]
        source: CryptoError,
    },
}

/// Seals `secret` against `key`. The Secret's namespace, name and scope annotations must be final:
/// the caller applies flags (`--name`, `-n`, `--scope`) before calling this.
pub fn seal<R: CryptoRngCore + ?Sized>(
    rng: &mut R,
    secret: &Secret,
    key: &PublicKey,
) -> Result<SealedSecret, SealError> {
    let meta = &secret.metadata;
    let name = meta.name.clone().unwrap_or_default();
    let namespace = meta.namespace.clone().unwrap_or_default();
    let scope = Scope::from_annotations(meta.annotations.as_ref());
    if name.is_empty() {
        return Err(SealError::MissingName);
    }
    if scope != Scope::ClusterWide && namespace.is_empty() {
        return Err(SealError::MissingNamespace);
    }
    let label = scope.label(&namespace, &name);

    let mut encrypted_data = BTreeMap::new();
    for (item, value) in secret.data.iter().flatten() {
        encrypted_data.insert(item.clone(), encrypt(rng, key, item, &value.0, &label)?);
    }
    for (item, value) in secret.string_data.iter().flatten() {
        encrypted_data.insert(
            item.clone(),
            encrypt(rng, key, item, value.as_bytes(), &label)?,
        );
    }

    let mut top_annotations = scope.annotations().unwrap_or_default();
    top_annotations.insert(
        KEY_HINT_ANNOTATION.to_owned(),
        key.fingerprint().to_string(),
    );
    let top = ObjectMeta {
        name: Some(name),
        namespace: meta.namespace.clone().filter(|ns| !ns.is_empty()),
        annotations: Some(top_annotations),
        ..ObjectMeta::default()
    };
    let spec = SealedSecretSpec {
        template: SecretTemplateSpec {
            metadata: template_metadata(meta),
            type_: secret.type_.clone().filter(|t| !t.is_empty()),
            immutable: secret.immutable,
            data: None,
        },
        data: None,
        encrypted_data,
        invalid_items: Vec::new(),
    };
    Ok(SealedSecret {
        metadata: top,
        spec,
        status: None,
    })
}

/// Re-encrypts `sealed` with `key` (`/v1/rotate`): every item of `unsealed` (the decrypted
/// `encryptedData`, or what the deprecated `spec.data` held) is sealed again for the scope of
/// `sealed`'s **top-level** annotations, which never changes (upstream's CVE-2026-22728 let a
/// template annotation widen it). Everything else of `sealed` is kept (name, namespace, labels,
/// annotations, the whole template including `template.data`), minus server-side fields and the
/// last-applied annotations, with the key hint set to `key`.
pub fn reseal<R: CryptoRngCore + ?Sized>(
    rng: &mut R,
    sealed: &SealedSecret,
    unsealed: &Secret,
    key: &PublicKey,
) -> Result<SealedSecret, SealError> {
    let scope = Scope::from_annotations(sealed.metadata.annotations.as_ref());
    let label = scope.label(sealed.namespace_or_empty(), sealed.name_or_empty());
    let mut encrypted_data = BTreeMap::new();
    for (item, value) in unsealed.data.iter().flatten() {
        encrypted_data.insert(item.clone(), encrypt(rng, key, item, &value.0, &label)?);
    }
    let mut annotations = sealed.metadata.annotations.clone().unwrap_or_default();
    for stripped in LAST_APPLIED_ANNOTATIONS {
        annotations.remove(stripped);
    }
    annotations.insert(
        KEY_HINT_ANNOTATION.to_owned(),
        key.fingerprint().to_string(),
    );
    Ok(SealedSecret {
        metadata: ObjectMeta {
            name: sealed.metadata.name.clone(),
            namespace: sealed.metadata.namespace.clone(),
            labels: sealed.metadata.labels.clone(),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: SealedSecretSpec {
            template: sealed.spec.template.clone(),
            data: None,
            encrypted_data,
            invalid_items: Vec::new(),
        },
        status: None,
    })
}

/// `sealed` without the key hint: what kubeseal sends to a controller's `/v1/rotate`. Upstream's
/// controller copies the top-level metadata over the template when they differ, so a hint sent
/// along would end up on the Secret; ours writes a fresh hint in its answer anyway.
pub fn without_key_hint(sealed: &SealedSecret) -> SealedSecret {
    let mut sealed = sealed.clone();
    if let Some(annotations) = sealed.metadata.annotations.as_mut() {
        annotations.remove(KEY_HINT_ANNOTATION);
        if annotations.is_empty() {
            sealed.metadata.annotations = None;
        }
    }
    sealed
}

/// Encrypts one raw value for `scope` (kubeseal `--raw`), returning standard base64.
pub fn seal_value<R: CryptoRngCore + ?Sized>(
    rng: &mut R,
    key: &PublicKey,
    value: &[u8],
    scope: Scope,
    namespace: &str,
    name: &str,
) -> Result<String, SealError> {
    encrypt(rng, key, "", value, &scope.label(namespace, name))
}

/// The template metadata for a Secret: its metadata minus last-applied annotations and owner refs.
pub fn template_metadata(meta: &ObjectMeta) -> ObjectMeta {
    let mut template = meta.clone();
    template.owner_references = None;
    if let Some(annotations) = template.annotations.as_mut() {
        for stripped in LAST_APPLIED_ANNOTATIONS {
            annotations.remove(stripped);
        }
    }
    template
}

fn encrypt<R: CryptoRngCore + ?Sized>(
    rng: &mut R,
    key: &PublicKey,
    item: &str,
    plaintext: &[u8],
    label: &[u8],
) -> Result<String, SealError> {
    crate::hybrid::hybrid_encrypt(rng, key, plaintext, label)
        .map(|ciphertext| BASE64.encode(ciphertext))
        .map_err(|source| SealError::Encrypt {
            key: item.to_owned(),
            source,
        })
}
