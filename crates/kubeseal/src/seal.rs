//! The default mode: Secrets in, SealedSecrets out (docs/upstream-behavior.md, "kubeseal").
//!
//! Every Secret of the input is prepared (name, scope, namespace, server fields) and sealed
//! before a single byte is written, so a bad document anywhere means no output at all. The
//! certificate is fetched and parsed once for the whole stream.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use k8s_openapi::api::core::v1::Secret;
use sealed_secrets::keys::PublicKey;
use sealed_secrets::manifest::{self, Position};
use sealed_secrets::seal::SealError;
use sealed_secrets::{Scope, SealedSecret};

use crate::input::{Expected, TTY_MANIFEST_NOTE, manifest_error};
use crate::mode::Run;
use crate::output::{self, Target};
use crate::report::{hinted, message_with_hint};
use crate::stable::StableCache;

/// Upstream's message for a Secret without data.
const EMPTY_DATA: &str = "secret.data is empty in input Secret, assuming this is an error and aborting. \
     To work with empty data, --allow-empty-data can be used";

/// Reads the input Secrets, or fails naming the bad document.
pub fn read_secrets(run: &Run) -> Result<Vec<(Position, Secret)>> {
    let bytes = run.input.read(TTY_MANIFEST_NOTE)?;
    let secrets =
        manifest::parse_secrets(&bytes).map_err(|e| manifest_error(e, Expected::Secrets))?;
    if secrets.is_empty() {
        return Err(message_with_hint(
            "no secrets found. Ensure the input is valid and UTF-8 encoded",
            "pipe a Secret manifest in, e.g. `kubectl create secret generic NAME --from-literal=k=v --dry-run=client -o yaml | kubeseal --cert cert.pem`",
        ));
    }
    Ok(secrets)
}

/// `document 2 (line 7), Secret "ns/name"` for messages.
pub fn describe(position: &Position, secret: &Secret) -> String {
    let name = secret.metadata.name.as_deref().unwrap_or("");
    let namespace = secret.metadata.namespace.as_deref().unwrap_or("");
    match (namespace.is_empty(), name.is_empty()) {
        (_, true) => format!("{position}, Secret without a name"),
        (false, false) => format!("{position}, Secret \"{namespace}/{name}\""),
        (true, false) => format!("{position}, Secret \"{name}\""),
    }
}

/// Makes a Secret ready to seal: `--name`, the scope, the namespace, no server fields.
///
/// `name` replaces the Secret's name (`--name`, or the target of `--merge-into`); `scope` is
/// the scope to force (`--scope`, or the target's); `None` keeps the Secret's own annotations.
pub fn prepare(
    run: &Run,
    secret: &mut Secret,
    name: Option<&str>,
    scope: Option<Scope>,
) -> Result<()> {
    let empty = secret.data.as_ref().is_none_or(|d| d.is_empty())
        && secret.string_data.as_ref().is_none_or(|d| d.is_empty());
    if empty && !run.allow_empty_data {
        return Err(anyhow!(EMPTY_DATA));
    }
    if let Some(name) = name {
        secret.metadata.name = Some(name.to_owned());
    }
    if let Some(scope) = scope {
        let annotations = secret.metadata.annotations.get_or_insert_default();
        scope.write_annotations(annotations);
        if annotations.is_empty() {
            secret.metadata.annotations = None;
        }
    }
    let scope = Scope::from_annotations(secret.metadata.annotations.as_ref());
    if scope != Scope::ClusterWide {
        let own = secret.metadata.namespace.clone().unwrap_or_default();
        if let Some(flag) = run.namespace.explicit()
            && !own.is_empty()
            && own != flag
        {
            return Err(message_with_hint(
                format!(
                    "namespace mismatch: input secret is in namespace \"{own}\" but \"{flag}\" was specified"
                ),
                "drop -n/--namespace, or change metadata.namespace in the input",
            ));
        }
        if own.is_empty() {
            match run.namespace.resolve() {
                Ok(ns) => secret.metadata.namespace = Some(ns.to_owned()),
                Err(why) => {
                    return Err(message_with_hint(
                        "secret must declare a namespace",
                        format!(
                            "set metadata.namespace in the Secret, pass -n/--namespace, or seal with --scope cluster-wide ({why})"
                        ),
                    ));
                }
            }
        }
    }
    if let Some(ns) = secret
        .metadata
        .namespace
        .as_deref()
        .filter(|ns| !ns.is_empty())
    {
        crate::names::check_namespace("metadata.namespace", ns)?;
    }
    if let Some(name) = secret.metadata.name.as_deref() {
        crate::names::check_name("metadata.name", name)?;
    }
    strip_server_fields(secret);
    Ok(())
}

/// Removes what the API server sets (upstream keeps managedFields and finalizers too).
fn strip_server_fields(secret: &mut Secret) {
    let meta = &mut secret.metadata;
    meta.self_link = None;
    meta.uid = None;
    meta.resource_version = None;
    meta.generation = None;
    meta.creation_timestamp = None;
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
}

/// Seals one prepared Secret.
pub fn seal_one(secret: &Secret, key: &PublicKey) -> Result<SealedSecret> {
    sealed_secrets::seal::seal(&mut rand::rngs::OsRng, secret, key).map_err(|err| match err {
        SealError::MissingName => hinted(
            err,
            "set metadata.name in the Secret (or --name, for a single Secret)",
        ),
        other => other.into(),
    })
}

/// Below this many Secrets per thread, sealing stays on one thread.
const SECRETS_PER_THREAD: usize = 16;

/// Seals prepared Secrets in input order, spread over the available cores (one RSA-OAEP
/// encryption per value dominates the cost). The first failure in input order is returned,
/// naming its document.
fn seal_all(secrets: &[(Position, Secret)], key: &PublicKey) -> Result<Vec<SealedSecret>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(secrets.len().div_ceil(SECRETS_PER_THREAD)).max(1);
    let seal_chunk = |chunk: &[(Position, Secret)]| -> Result<Vec<SealedSecret>> {
        chunk
            .iter()
            .map(|(position, secret)| {
                seal_one(secret, key).with_context(|| describe(position, secret))
            })
            .collect()
    };
    if threads == 1 {
        return seal_chunk(secrets);
    }
    let chunk_len = secrets.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = secrets
            .chunks(chunk_len)
            .map(|chunk| scope.spawn(move || seal_chunk(chunk)))
            .collect();
        let mut all = Vec::with_capacity(secrets.len());
        for handle in handles {
            let sealed = handle
                .join()
                .map_err(|_| anyhow!("a sealing thread panicked"))??;
            all.extend(sealed);
        }
        Ok(all)
    })
}

/// The default mode.
pub fn run(run: &Run) -> Result<()> {
    let mut secrets = read_secrets(run)?;
    if run.name.is_some() && secrets.len() > 1 {
        return Err(message_with_hint(
            format!(
                "--name renames the input Secret, but the input has {} Secrets",
                secrets.len()
            ),
            "seal them one at a time, or set metadata.name in each",
        ));
    }
    let key = run.cert.public_key()?;
    for (position, secret) in &mut secrets {
        let what = describe(position, secret);
        prepare(run, secret, run.name.as_deref(), run.scope).with_context(|| what.clone())?;
    }
    let sealed = seal_all(&secrets, &key);
    let existing = match (&run.stable_cache, &run.output) {
        (Some(dir), Target::File(path)) => Some(Stable::open(dir, path)?),
        _ => None,
    };
    let sealed = match (sealed, &existing) {
        (Ok(mut sealed), Some(stable)) => stable
            .keep_unchanged(&secrets, &mut sealed, &key)
            .map(|()| sealed),
        (sealed, _) => sealed,
    };
    for (_, secret) in &mut secrets {
        sealed_secrets::unseal::zeroize_data(secret);
    }
    let objects = sealed?
        .iter()
        .map(output::sealed_secret_value)
        .collect::<Result<Vec<_>>>()?;
    let rendered = output::render(&objects, run.format)?;
    if existing.is_some_and(|stable| stable.bytes.as_deref() == Some(rendered.as_bytes())) {
        // Nothing changed: leave the file (and its modification time) alone.
        return Ok(());
    }
    output::write(&run.output, rendered.as_bytes())
}

/// `--stable-cache` with `-w FILE`: the cache and what FILE holds now.
struct Stable {
    cache: StableCache,
    /// FILE's bytes, if it exists.
    bytes: Option<Vec<u8>>,
    /// Its SealedSecrets by namespace and name.
    objects: BTreeMap<(String, String), SealedSecret>,
}

impl Stable {
    fn open(dir: &Path, file: &Path) -> Result<Self> {
        let cache = StableCache::open(dir)?;
        let bytes = match std::fs::read(file) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        };
        let mut objects = BTreeMap::new();
        if let Some(bytes) = &bytes {
            match manifest::parse_sealed_secrets(bytes) {
                Ok(found) => {
                    for (_, sealed) in found {
                        let meta = &sealed.metadata;
                        let id = (
                            meta.namespace.clone().unwrap_or_default(),
                            meta.name.clone().unwrap_or_default(),
                        );
                        objects.insert(id, sealed);
                    }
                }
                Err(e) => eprintln!(
                    "warning: --stable-cache: {} holds no SealedSecrets kubeseal can read ({e}); every item is sealed anew",
                    file.display()
                ),
            }
        }
        Ok(Self {
            cache,
            bytes,
            objects,
        })
    }

    /// Keeps the file's ciphertexts of unchanged values in `sealed` (one per Secret, in order).
    fn keep_unchanged(
        &self,
        secrets: &[(Position, Secret)],
        sealed: &mut [SealedSecret],
        key: &PublicKey,
    ) -> Result<()> {
        let fingerprint = key.fingerprint().to_string();
        for ((_, secret), sealed) in secrets.iter().zip(sealed) {
            let meta = &sealed.metadata;
            let id = (
                meta.namespace.clone().unwrap_or_default(),
                meta.name.clone().unwrap_or_default(),
            );
            self.cache
                .keep_unchanged(secret, sealed, self.objects.get(&id), &fingerprint)?;
        }
        Ok(())
    }
}
