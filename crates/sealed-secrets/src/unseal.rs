//! SealedSecret -> Secret: decrypt every value, render templates, set ownership.
//!
//! Shared by the controller, `/v1/verify`, `/v1/rotate` and `kubeseal --recovery-unseal`, with
//! upstream's rules:
//! - the OAEP label comes from the SealedSecret's own namespace, name and **top-level** scope
//!   annotations (never from the template, which anyone who can edit the object controls);
//! - the Secret starts from `spec.template.metadata`, `type` and `immutable`;
//! - `spec.template.data` entries are Go templates over the decrypted values and override items
//!   of the same key;
//! - name and namespace are forced to the SealedSecret's, and an owner reference to it is set
//!   unless the template carries `sealedsecrets.bitnami.com/skip-set-owner-references: "true"`;
//! - the legacy `spec.data` blob (pre-v0.7 kubeseal) is accepted only when asked for.
//!
//! Failures are collected per item and reported in upstream's format: one line per distinct
//! message, followed by the item keys that produced it, e.g. `no key could decrypt secret (foo, bar)`.

use std::collections::BTreeMap;
use std::ops::Deref;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use zeroize::{Zeroize, Zeroizing};

use crate::crypto;
use crate::keys::{Fingerprint, PrivateKey};
use crate::scope::Scope;
use crate::template::{self, TemplateError};
use crate::types::{API_VERSION, KIND, SealedSecret};

/// Template annotation that stops the owner reference from being set.
pub const SKIP_SET_OWNER_REFERENCES_ANNOTATION: &str =
    "sealedsecrets.bitnami.com/skip-set-owner-references";

/// How to unseal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsealOptions {
    /// Accept the deprecated whole-Secret `spec.data` format (controller flag
    /// `--accept-deprecated-v1-data`, default true; recovery never accepts it).
    pub accept_deprecated_v1_data: bool,
}

impl Default for UnsealOptions {
    fn default() -> Self {
        UnsealOptions {
            accept_deprecated_v1_data: true,
        }
    }
}

/// What unsealing cost: the numbers behind the controller's RSA metrics and key hints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsealStats {
    /// RSA-OAEP decryptions attempted (successful or not).
    pub rsa_operations: u64,
    /// The key that opened the first value, if any value was decrypted.
    pub opened_with: Option<Fingerprint>,
}

/// An unsealed Secret. Its data values are zeroized when it is dropped.
#[derive(Debug)]
pub struct UnsealedSecret {
    secret: Secret,
}

impl UnsealedSecret {
    /// The Secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }
}

impl Deref for UnsealedSecret {
    type Target = Secret;

    fn deref(&self) -> &Secret {
        &self.secret
    }
}

impl Drop for UnsealedSecret {
    fn drop(&mut self) {
        zeroize_data(&mut self.secret);
    }
}

/// Overwrites the values of a Secret's `data` and `stringData` with zeros.
pub fn zeroize_data(secret: &mut Secret) {
    for value in secret.data.iter_mut().flat_map(|d| d.values_mut()) {
        value.0.zeroize();
    }
    for value in secret.string_data.iter_mut().flat_map(|d| d.values_mut()) {
        value.zeroize();
    }
}

/// Why one item of `encryptedData` or `template.data` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// The value is not standard padded base64.
    #[error("illegal base64 data at input byte {offset}")]
    Base64 {
        /// Offset of the first bad byte.
        offset: usize,
    },
    /// The value in the manifest is not a string.
    #[error("encrypted value is not a string")]
    NotAString,
    /// None of the keys decrypted the value (wrong key, wrong scope, or corrupted ciphertext).
    #[error("no key could decrypt secret")]
    NoKey,
    /// A `template.data` entry failed to parse or render.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// Why a SealedSecret could not be unsealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnsealError {
    /// One or more items failed; rendered in upstream's format.
    #[error("{}", render_item_errors(.errors))]
    Items {
        /// `(item key, error)` in item order.
        errors: Vec<(String, ItemError)>,
        /// How many keys were available.
        keys_tried: usize,
    },
    /// `spec.data` (the deprecated v1 format) is present but not accepted.
    #[error("using deprecated 'data' field, use 'encryptedData' or flip the feature flag")]
    DeprecatedDataRejected,
    /// Both `spec.data` and `spec.encryptedData` are set.
    #[error(
        "cannot use the field 'encryptedData' and the deprecated field 'data' at the same time"
    )]
    BothDataFields,
    /// The deprecated `spec.data` blob did not decrypt.
    #[error("no key could decrypt secret (data)")]
    LegacyNoKey,
    /// The deprecated `spec.data` blob is not valid base64.
    #[error("illegal base64 data at input byte {offset} (data)")]
    LegacyBase64 {
        /// Offset of the first bad byte.
        offset: usize,
    },
    /// The deprecated `spec.data` blob decrypted but is not a JSON Secret.
    #[error("deprecated 'data' field does not hold a Secret: {reason}")]
    LegacyDecode {
        /// The JSON decoder's complaint (positions only, never content).
        reason: String,
    },
}

impl UnsealError {
    /// True if the only failures are keys that could not decrypt (wrong key or scope), the
    /// answer `/v1/verify` gives as 409 Conflict.
    pub fn is_undecryptable(&self) -> bool {
        match self {
            UnsealError::Items { errors, .. } => {
                errors.iter().all(|(_, e)| matches!(e, ItemError::NoKey))
            }
            UnsealError::LegacyNoKey => true,
            _ => false,
        }
    }
}

/// Upstream's format: distinct messages in first-seen order, each followed by its item keys.
fn render_item_errors(errors: &[(String, ItemError)]) -> String {
    let mut grouped: Vec<(String, Vec<&str>)> = Vec::new();
    for (key, error) in errors {
        let message = error.to_string();
        match grouped.iter_mut().find(|(m, _)| *m == message) {
            Some((_, keys)) => keys.push(key),
            None => grouped.push((message, vec![key])),
        }
    }
    grouped
        .iter()
        .map(|(message, keys)| format!("{message} ({})", keys.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Unseals `sealed` with `keys`, tried in the given order (put the hinted key first).
pub fn unseal(
    sealed: &SealedSecret,
    keys: &[&PrivateKey],
    options: &UnsealOptions,
) -> Result<UnsealedSecret, UnsealError> {
    unseal_counted(sealed, keys, options, &mut UnsealStats::default())
}

/// [`unseal`], also reporting the RSA work done and the key that opened the values.
pub fn unseal_counted(
    sealed: &SealedSecret,
    keys: &[&PrivateKey],
    options: &UnsealOptions,
    stats: &mut UnsealStats,
) -> Result<UnsealedSecret, UnsealError> {
    let scope = Scope::from_annotations(sealed.metadata.annotations.as_ref());
    let label = scope.label(sealed.namespace_or_empty(), sealed.name_or_empty());
    let mut secret = match &sealed.spec.data {
        Some(blob) => {
            if !options.accept_deprecated_v1_data {
                return Err(UnsealError::DeprecatedDataRejected);
            }
            if !sealed.spec.encrypted_data.is_empty() {
                return Err(UnsealError::BothDataFields);
            }
            unseal_legacy(blob, keys, &label, stats)?
        }
        None => unseal_items(sealed, keys, &label, stats)?,
    };
    secret.metadata.name = sealed.metadata.name.clone();
    secret.metadata.namespace = sealed.metadata.namespace.clone();
    let skip_owner = secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SKIP_SET_OWNER_REFERENCES_ANNOTATION))
        .is_some_and(|v| v == "true");
    if !skip_owner {
        secret.metadata.owner_references = Some(vec![owner_reference(sealed)]);
    }
    Ok(UnsealedSecret { secret })
}

/// The controller owner reference from a Secret to its SealedSecret.
pub fn owner_reference(sealed: &SealedSecret) -> OwnerReference {
    OwnerReference {
        api_version: API_VERSION.to_owned(),
        kind: KIND.to_owned(),
        name: sealed.name_or_empty().to_owned(),
        uid: sealed.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    }
}

fn unseal_items(
    sealed: &SealedSecret,
    keys: &[&PrivateKey],
    label: &[u8],
    stats: &mut UnsealStats,
) -> Result<Secret, UnsealError> {
    let template = &sealed.spec.template;
    let mut errors: Vec<(String, ItemError)> = Vec::new();
    let mut data: BTreeMap<String, ByteString> = BTreeMap::new();
    let mut order: Vec<&PrivateKey> = keys.to_vec();

    for key in &sealed.spec.invalid_items {
        errors.push((key.clone(), ItemError::NotAString));
    }
    for (item, encoded) in &sealed.spec.encrypted_data {
        let ciphertext = match BASE64.decode(encoded) {
            Ok(bytes) => bytes,
            Err(e) => {
                errors.push((
                    item.clone(),
                    ItemError::Base64 {
                        offset: base64_offset(&e),
                    },
                ));
                continue;
            }
        };
        match decrypt_any(&mut order, &ciphertext, label, stats) {
            Some(plaintext) => {
                data.insert(item.clone(), ByteString(plaintext.to_vec()));
            }
            None => errors.push((item.clone(), ItemError::NoKey)),
        }
    }

    if let Some(templates) = template.data.as_ref().filter(|t| !t.is_empty()) {
        // Templates see the decrypted values only; their outputs are added after all rendered.
        let context = ZeroizeOnDrop(data.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect());
        for (item, source) in templates {
            match template::render_bytes(source, &context.0) {
                Ok(rendered) => {
                    data.insert(item.clone(), ByteString(rendered.to_vec()));
                }
                Err(e) => errors.push((item.clone(), ItemError::Template(e))),
            }
        }
    }

    if !errors.is_empty() {
        for value in data.values_mut() {
            value.0.zeroize();
        }
        errors.sort_by(|a, b| a.0.cmp(&b.0));
        return Err(UnsealError::Items {
            errors,
            keys_tried: keys.len(),
        });
    }
    Ok(Secret {
        metadata: template.metadata.clone(),
        type_: template.type_.clone(),
        immutable: template.immutable,
        data: (!data.is_empty()).then_some(data),
        ..Secret::default()
    })
}

fn unseal_legacy(
    blob: &str,
    keys: &[&PrivateKey],
    label: &[u8],
    stats: &mut UnsealStats,
) -> Result<Secret, UnsealError> {
    let ciphertext = BASE64.decode(blob).map_err(|e| UnsealError::LegacyBase64 {
        offset: base64_offset(&e),
    })?;
    let mut order = keys.to_vec();
    let plaintext =
        decrypt_any(&mut order, &ciphertext, label, stats).ok_or(UnsealError::LegacyNoKey)?;
    serde_json::from_slice::<Secret>(&plaintext).map_err(|e| UnsealError::LegacyDecode {
        reason: format!("invalid JSON at line {} column {}", e.line(), e.column()),
    })
}

/// Tries each key in `order`; on success moves the key that worked to the front, so the rest of
/// the object's values try it first.
fn decrypt_any(
    order: &mut [&PrivateKey],
    ciphertext: &[u8],
    label: &[u8],
    stats: &mut UnsealStats,
) -> Option<Zeroizing<Vec<u8>>> {
    if !plausible_ciphertext(ciphertext) {
        return None;
    }
    for index in 0..order.len() {
        let key = order[index];
        stats.rsa_operations += 1;
        if let Ok(plaintext) = crypto::hybrid_decrypt(key, ciphertext, label) {
            if stats.opened_with.is_none() {
                stats.opened_with = Some(key.fingerprint());
            }
            order[..=index].rotate_right(1);
            return Some(plaintext);
        }
    }
    None
}

/// A map of plaintexts that is wiped when dropped.
struct ZeroizeOnDrop(BTreeMap<String, Vec<u8>>);

impl Drop for ZeroizeOnDrop {
    fn drop(&mut self) {
        for value in self.0.values_mut() {
            value.zeroize();
        }
    }
}

/// True if the length prefix fits: a shorter input fails for every key, so no RSA work is spent.
fn plausible_ciphertext(ciphertext: &[u8]) -> bool {
    match ciphertext {
        [hi, lo, rest @ ..] => rest.len() >= usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => false,
    }
}

fn base64_offset(error: &base64::DecodeError) -> usize {
    match *error {
        base64::DecodeError::InvalidByte(offset, _) => offset,
        base64::DecodeError::InvalidLastSymbol(offset, _) => offset,
        base64::DecodeError::InvalidLength(length) => length,
        base64::DecodeError::InvalidPadding => 0,
    }
}
