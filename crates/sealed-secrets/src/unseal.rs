//! SealedSecret -> Secret: decrypt every value, render templates, set ownership.
//!
//! This crate renders no template itself: the caller passes a [`Templates`] engine (the controller
//! plugs in the Go template engine of the `go-template` crate) or [`NoTemplates`], which leaves
//! `spec.template.data` out (kubeseal, which must not link a template engine).
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
//!
//! # What a failure may say
//!
//! Callers such as the controller show these errors to people who may not read the Secret (in
//! a SealedSecret's status, in Events, in logs, in HTTP answers). So no error carries anything
//! computed from a decrypted value:
//! - templates render only once every value has decrypted, and a template that fails while
//!   rendering is reported without its reason or position (which could depend on the values)
//!   and without saying which template failed: one static message naming every template item.
//!   Only [`UnsealOptions::template_error_detail`] (for `kubeseal --recovery-unseal`, whose user
//!   holds the private key) keeps the detail. Parse errors depend on the template text alone and
//!   are always reported in full;
//! - the deprecated `spec.data` blob that does not hold a Secret is reported with a static message.
//!
//! So whoever can submit a SealedSecret learns at most one bit per attempt from the outcome:
//! whether it unsealed.
//!
//! # Bounded work
//!
//! Every call spends at most [`Limits::rsa_operations`] RSA decryptions and one shared
//! [`TemplateLimits`] budget for all of `spec.template.data` (at most
//! [`TemplateLimits::items`] of them); [`Budget::cancelled_by`] stops it between two RSA
//! operations. [`verify`] decrypts without rendering anything, for `/v1/verify`.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use zeroize::{Zeroize, Zeroizing};

use crate::keys::{Fingerprint, PrivateKey};
use crate::names::{API_VERSION, KIND, SKIP_SET_OWNER_REFERENCES_ANNOTATION};
use crate::scope::Scope;
use crate::types::SealedSecret;

/// How to unseal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsealOptions {
    /// Accept the deprecated whole-Secret `spec.data` format (controller flag
    /// `--accept-deprecated-v1-data`, default true; recovery never accepts it).
    pub accept_deprecated_v1_data: bool,
    /// Keep the reason and position of a template that fails while rendering. Off by default:
    /// they can depend on the decrypted values, so only a caller that holds the private key and
    /// shows the error to nobody else (`kubeseal --recovery-unseal`) may turn it on.
    pub template_error_detail: bool,
}

impl Default for UnsealOptions {
    fn default() -> Self {
        UnsealOptions {
            accept_deprecated_v1_data: true,
            template_error_detail: false,
        }
    }
}

/// What all the templates of one object may spend together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateLimits {
    /// Items of `spec.template.data`.
    pub items: usize,
    /// Evaluation steps.
    pub steps: usize,
    /// Bytes of values the templates' functions may produce (their memory).
    pub value_bytes: usize,
    /// Bytes of output of all templates together.
    pub output_bytes: usize,
    /// Wall-clock time; `None` for no limit.
    pub time: Option<std::time::Duration>,
}

/// The most one unseal (or verify) may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// RSA-OAEP decryption attempts, successful or not.
    pub rsa_operations: u64,
    /// What all the templates of the object may spend together.
    pub templates: TemplateLimits,
}

/// Why the templates of an object could not be rendered, as an engine reports it. Messages go
/// through [`unseal_counted`]'s policy before anyone sees them (see the module documentation).
#[derive(Debug)]
pub enum TemplateFailure {
    /// These templates do not parse: `(item, message)`, the message from the template text alone.
    Parse(Vec<(String, String)>),
    /// The template of `item` failed while rendering (or ran out of budget); the engine's message.
    Render {
        /// The item whose template failed.
        item: String,
        /// What the engine said (it can depend on the values).
        message: String,
    },
}

/// Renders the templates of `spec.template.data`.
pub trait Templates {
    /// Renders every template in `templates` over the decrypted `values` (item key to
    /// plaintext), all within `limits`, in item order; returns the output of each, or the first
    /// failure. `None` if this engine renders no templates at all ([`NoTemplates`]).
    fn render(
        &self,
        templates: &BTreeMap<String, String>,
        values: &BTreeMap<String, Vec<u8>>,
        limits: &TemplateLimits,
    ) -> Option<Result<RenderedItems, TemplateFailure>>;
}

/// Rendered template items: key and value, the value wiped when dropped.
pub type RenderedItems = Vec<(String, Zeroizing<Vec<u8>>)>;

/// Renders no template: `spec.template.data` is left out of the Secret, and
/// [`UnsealedSecret::unrendered`] lists its items.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTemplates;

impl Templates for NoTemplates {
    fn render(
        &self,
        _: &BTreeMap<String, String>,
        _: &BTreeMap<String, Vec<u8>>,
        _: &TemplateLimits,
    ) -> Option<Result<RenderedItems, TemplateFailure>> {
        None
    }
}

/// RSA attempts per object by default: about 4 s of RSA-4096 work on one core, and more than
/// any object sealed by kubeseal needs (one attempt per value with a key hint, values + keys - 1
/// without one when all values share a key).
pub const DEFAULT_RSA_OPERATIONS: u64 = 2048;

impl Default for Limits {
    /// 2,048 RSA attempts; 1,000 templates sharing 2,000,000 steps, 32 MiB of values, 1 MiB of
    /// output (the Kubernetes Secret size limit) and 2 s of wall-clock time.
    fn default() -> Self {
        Limits {
            rsa_operations: DEFAULT_RSA_OPERATIONS,
            templates: TemplateLimits {
                items: 1000,
                steps: 2_000_000,
                value_bytes: 32 << 20,
                output_bytes: 1 << 20,
                time: Some(std::time::Duration::from_secs(2)),
            },
        }
    }
}

/// The [`Limits`] of one call, and what may cancel it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget<'a> {
    /// The limits.
    pub limits: Limits,
    cancelled: Option<&'a AtomicBool>,
}

impl<'a> Budget<'a> {
    /// A budget of `limits`, never cancelled.
    pub fn new(limits: Limits) -> Budget<'a> {
        Budget {
            limits,
            cancelled: None,
        }
    }

    /// Stops the work (with [`UnsealError::Cancelled`]) once `flag` is set, checked before
    /// every RSA operation: the caller sets it when nobody waits for the answer any more.
    pub fn cancelled_by(self, flag: &'a AtomicBool) -> Budget<'a> {
        Budget {
            cancelled: Some(flag),
            ..self
        }
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.is_some_and(|f| f.load(Ordering::Relaxed))
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

/// An unsealed Secret. Its data values are zeroized when it is dropped, and `Debug` shows its
/// metadata and item names, never a value.
pub struct UnsealedSecret {
    secret: Secret,
    unrendered: Vec<String>,
}

impl UnsealedSecret {
    /// The Secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Items of `spec.template.data` left out because the engine renders no templates
    /// ([`NoTemplates`]).
    pub fn unrendered(&self) -> &[String] {
        &self.unrendered
    }
}

impl std::fmt::Debug for UnsealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnsealedSecret")
            .field("namespace", &self.secret.metadata.namespace)
            .field("name", &self.secret.metadata.name)
            .field("type", &self.secret.type_)
            .field(
                "items",
                &self
                    .secret
                    .data
                    .iter()
                    .flatten()
                    .map(|(k, _)| k)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
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

/// The message of a template that failed while rendering, when its detail is withheld.
pub const TEMPLATE_FAILED: &str = "a template of spec.template.data failed while rendering; \
which one and why are not reported, since that could reveal the secret values (templates are \
rendered only once every value has decrypted; check them with kubeseal --recovery-unseal)";

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
    /// A `template.data` entry does not parse. Parsing reads the template text only, so the
    /// engine's message is reported in full.
    #[error("{0}")]
    TemplateParse(String),
    /// A `template.data` entry failed while rendering. The engine's message is kept only with
    /// [`UnsealOptions::template_error_detail`]; without it, every template item gets this
    /// error, so the message does not say which one failed.
    #[error("{}", .0.as_deref().unwrap_or(TEMPLATE_FAILED))]
    TemplateRender(Option<String>),
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
    /// The deprecated `spec.data` blob decrypted but is not a JSON Secret (no detail: it would
    /// describe the decrypted bytes).
    #[error("deprecated 'data' field does not hold a Secret")]
    LegacyDecode,
    /// Decrypting would take more RSA attempts than [`Limits::rsa_operations`].
    #[error(
        "unsealing needs more than {limit} RSA decryption attempts ({values} values, {keys} keys); \
         re-encrypt it (kubeseal --re-encrypt) so that every value is sealed with the latest key"
    )]
    RsaBudget {
        /// The limit.
        limit: u64,
        /// Encrypted values of the object.
        values: usize,
        /// Keys held.
        keys: usize,
    },
    /// `spec.template.data` has more items than [`TemplateLimits::items`].
    #[error("spec.template.data has {count} items, more than the {max} allowed")]
    TooManyTemplates {
        /// Items present.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The caller cancelled the work (see [`Budget::cancelled_by`]).
    #[error("unsealing was cancelled")]
    Cancelled,
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

    /// True if the object asks for more work than the limits allow: retrying cannot help.
    pub fn is_over_budget(&self) -> bool {
        matches!(
            self,
            UnsealError::RsaBudget { .. } | UnsealError::TooManyTemplates { .. }
        )
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

/// Unseals `sealed` with `keys`, tried in the given order (put the hinted key first), within the
/// default [`Limits`], rendering templates with `templates`.
pub fn unseal(
    sealed: &SealedSecret,
    keys: &[&PrivateKey],
    options: &UnsealOptions,
    templates: &dyn Templates,
) -> Result<UnsealedSecret, UnsealError> {
    unseal_counted(
        sealed,
        keys,
        options,
        templates,
        &Budget::default(),
        &mut UnsealStats::default(),
    )
}

/// [`unseal`] within `budget`, also reporting the RSA work done and the key that opened the
/// values.
pub fn unseal_counted(
    sealed: &SealedSecret,
    keys: &[&PrivateKey],
    options: &UnsealOptions,
    templates: &dyn Templates,
    budget: &Budget<'_>,
    stats: &mut UnsealStats,
) -> Result<UnsealedSecret, UnsealError> {
    let scope = Scope::from_annotations(sealed.metadata.annotations.as_ref());
    let label = scope.label(sealed.namespace_or_empty(), sealed.name_or_empty());
    let mut rsa = Rsa::new(keys, budget, stats, values_of(sealed));
    let mut unrendered = Vec::new();
    let mut secret = match &sealed.spec.data {
        Some(blob) => {
            if !options.accept_deprecated_v1_data {
                return Err(UnsealError::DeprecatedDataRejected);
            }
            if !sealed.spec.encrypted_data.is_empty() {
                return Err(UnsealError::BothDataFields);
            }
            unseal_legacy(blob, &label, &mut rsa)?
        }
        None => unseal_items(
            sealed,
            &label,
            options,
            templates,
            budget,
            &mut rsa,
            &mut unrendered,
        )?,
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
    Ok(UnsealedSecret { secret, unrendered })
}

/// Checks that every value of `sealed` decrypts with one of `keys`, and nothing more: no
/// template is parsed or rendered and the plaintexts are wiped at once. This is the whole of
/// `/v1/verify`'s answer. Stops at the first value that does not decrypt (reported as the only
/// failing item).
pub fn verify(
    sealed: &SealedSecret,
    keys: &[&PrivateKey],
    options: &UnsealOptions,
    budget: &Budget<'_>,
    stats: &mut UnsealStats,
) -> Result<(), UnsealError> {
    let scope = Scope::from_annotations(sealed.metadata.annotations.as_ref());
    let label = scope.label(sealed.namespace_or_empty(), sealed.name_or_empty());
    let mut rsa = Rsa::new(keys, budget, stats, values_of(sealed));
    if let Some(blob) = &sealed.spec.data {
        if !options.accept_deprecated_v1_data {
            return Err(UnsealError::DeprecatedDataRejected);
        }
        if !sealed.spec.encrypted_data.is_empty() {
            return Err(UnsealError::BothDataFields);
        }
        let mut secret = unseal_legacy(blob, &label, &mut rsa)?;
        zeroize_data(&mut secret);
        return Ok(());
    }
    let fail = |item: &str, error: ItemError| UnsealError::Items {
        errors: vec![(item.to_owned(), error)],
        keys_tried: keys.len(),
    };
    if let Some(item) = sealed.spec.invalid_items.first() {
        return Err(fail(item, ItemError::NotAString));
    }
    for (item, encoded) in &sealed.spec.encrypted_data {
        let ciphertext = BASE64.decode(encoded).map_err(|e| {
            fail(
                item,
                ItemError::Base64 {
                    offset: base64_offset(&e),
                },
            )
        })?;
        if rsa.decrypt(&ciphertext, &label)?.is_none() {
            return Err(fail(item, ItemError::NoKey));
        }
    }
    Ok(())
}

fn values_of(sealed: &SealedSecret) -> usize {
    sealed.spec.encrypted_data.len() + usize::from(sealed.spec.data.is_some())
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
    label: &[u8],
    options: &UnsealOptions,
    engine: &dyn Templates,
    budget: &Budget<'_>,
    rsa: &mut Rsa<'_, '_>,
    unrendered: &mut Vec<String>,
) -> Result<Secret, UnsealError> {
    let template = &sealed.spec.template;
    let mut errors: Vec<(String, ItemError)> = Vec::new();
    let mut data = ZeroizeOnDrop(BTreeMap::new());

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
        match rsa.decrypt(&ciphertext, label)? {
            Some(plaintext) => {
                data.0.insert(item.clone(), plaintext.to_vec());
            }
            None => errors.push((item.clone(), ItemError::NoKey)),
        }
    }

    // Templates only render over values that all decrypted: a template never runs on a partial
    // set of values, and an object that does not decrypt costs no template work.
    if errors.is_empty()
        && let Some(templates) = template.data.as_ref().filter(|t| !t.is_empty())
    {
        render_templates(
            engine,
            templates,
            &mut data.0,
            options,
            budget,
            &mut errors,
            unrendered,
        )?;
    }

    if !errors.is_empty() {
        errors.sort_by(|a, b| a.0.cmp(&b.0));
        return Err(UnsealError::Items {
            errors,
            keys_tried: rsa.keys.len(),
        });
    }
    let data: BTreeMap<String, ByteString> = std::mem::take(&mut data.0)
        .into_iter()
        .map(|(k, v)| (k, ByteString(v)))
        .collect();
    Ok(Secret {
        metadata: template.metadata.clone(),
        type_: template.type_.clone(),
        immutable: template.immutable,
        data: (!data.is_empty()).then_some(data),
        ..Secret::default()
    })
}

/// Renders every template over the decrypted values within one shared budget; outputs override
/// items of the same key once all have rendered. Parse errors are reported per item; a failure
/// while rendering is reported as [`ItemError::TemplateRender`] on every template item (with the
/// engine's message only if the options ask for it).
fn render_templates(
    engine: &dyn Templates,
    templates: &BTreeMap<String, String>,
    data: &mut BTreeMap<String, Vec<u8>>,
    options: &UnsealOptions,
    budget: &Budget<'_>,
    errors: &mut Vec<(String, ItemError)>,
    unrendered: &mut Vec<String>,
) -> Result<(), UnsealError> {
    let max = budget.limits.templates.items;
    if templates.len() > max {
        return Err(UnsealError::TooManyTemplates {
            count: templates.len(),
            max,
        });
    }
    if budget.is_cancelled() {
        return Err(UnsealError::Cancelled);
    }
    let outputs = match engine.render(templates, data, &budget.limits.templates) {
        None => {
            unrendered.extend(templates.keys().cloned());
            return Ok(());
        }
        Some(Ok(outputs)) => outputs,
        Some(Err(TemplateFailure::Parse(failed))) => {
            errors.extend(
                failed
                    .into_iter()
                    .map(|(item, message)| (item, ItemError::TemplateParse(message))),
            );
            return Ok(());
        }
        Some(Err(TemplateFailure::Render { item, message })) => {
            if options.template_error_detail {
                errors.push((item, ItemError::TemplateRender(Some(message))));
            } else {
                errors.extend(
                    templates
                        .keys()
                        .map(|k| (k.clone(), ItemError::TemplateRender(None))),
                );
            }
            return Ok(());
        }
    };
    for (item, mut rendered) in outputs {
        // The decrypted value a template output replaces is wiped as it is dropped.
        if let Some(mut replaced) = data.insert(item, std::mem::take(&mut *rendered)) {
            replaced.zeroize();
        }
    }
    Ok(())
}

fn unseal_legacy(blob: &str, label: &[u8], rsa: &mut Rsa<'_, '_>) -> Result<Secret, UnsealError> {
    let ciphertext = BASE64.decode(blob).map_err(|e| UnsealError::LegacyBase64 {
        offset: base64_offset(&e),
    })?;
    let plaintext = rsa
        .decrypt(&ciphertext, label)?
        .ok_or(UnsealError::LegacyNoKey)?;
    serde_json::from_slice::<Secret>(&plaintext).map_err(|_| UnsealError::LegacyDecode)
}

/// The keys of one call, tried in order, with the budget of RSA attempts.
struct Rsa<'k, 's> {
    /// The keys; the one that opened a value moves to the front, so the rest of the object's
    /// values try it first.
    keys: Vec<&'k PrivateKey>,
    budget: Budget<'s>,
    stats: &'s mut UnsealStats,
    values: usize,
}

impl<'k, 's> Rsa<'k, 's> {
    fn new(
        keys: &[&'k PrivateKey],
        budget: &Budget<'s>,
        stats: &'s mut UnsealStats,
        values: usize,
    ) -> Rsa<'k, 's> {
        Rsa {
            keys: keys.to_vec(),
            budget: *budget,
            stats,
            values,
        }
    }

    /// Tries each key in turn; `None` if none opens `ciphertext`.
    fn decrypt(
        &mut self,
        ciphertext: &[u8],
        label: &[u8],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, UnsealError> {
        if !plausible_ciphertext(ciphertext) {
            return Ok(None);
        }
        for index in 0..self.keys.len() {
            if self.budget.is_cancelled() {
                return Err(UnsealError::Cancelled);
            }
            if self.stats.rsa_operations >= self.budget.limits.rsa_operations {
                return Err(UnsealError::RsaBudget {
                    limit: self.budget.limits.rsa_operations,
                    values: self.values,
                    keys: self.keys.len(),
                });
            }
            let key = self.keys[index];
            self.stats.rsa_operations += 1;
            if let Ok(plaintext) = crate::hybrid::hybrid_decrypt(key, ciphertext, label) {
                if self.stats.opened_with.is_none() {
                    self.stats.opened_with = Some(key.fingerprint());
                }
                self.keys[..=index].rotate_right(1);
                return Ok(Some(plaintext));
            }
        }
        Ok(None)
    }
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
