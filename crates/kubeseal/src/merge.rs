//! `--merge-into FILE`: seal the input Secret's items into an existing SealedSecret file.
//!
//! The new items are sealed for the file's SealedSecret: its name, its namespace and (unlike
//! upstream, docs/upstream-behavior.md "Merging into a file") its scope, read from its top-level annotations, so merged items
//! always decrypt. `--scope` may repeat that scope but not change it. The file keeps its format
//! (`.yaml`/`.yml`/`.json`, else its content) unless `-o` is given, missing template maps are
//! created, and the file is replaced atomically only once everything succeeded.

use std::path::Path;

use anyhow::{Context, Result};
use sealed_secrets::manifest::{self, Format as StreamFormat};
use sealed_secrets::names::KEY_HINT_ANNOTATION;
use sealed_secrets::{Scope, SealedSecret};

use crate::mode::Run;
use crate::output::{self, Format};
use crate::report::message_with_hint;
use crate::seal;
use crate::stable::StableCache;

/// Reads the one SealedSecret of `file` and the format it is written in.
fn read_target(file: &Path) -> Result<(SealedSecret, Format)> {
    let bytes = std::fs::read(file)
        .with_context(|| format!("cannot read --merge-into file {}", file.display()))?;
    let format = Format::from_extension(file).unwrap_or(match manifest::detect_format(&bytes) {
        StreamFormat::Json => Format::Json,
        StreamFormat::Yaml => Format::Yaml,
    });
    let mut sealed = manifest::parse_sealed_secrets(&bytes)
        .with_context(|| format!("cannot read {}", file.display()))?;
    if sealed.len() != 1 {
        return Err(message_with_hint(
            format!(
                "{} holds {} SealedSecrets; --merge-into needs exactly one",
                file.display(),
                sealed.len()
            ),
            "split the file, or seal into a new file with -w",
        ));
    }
    let (_, sealed) = sealed.remove(0);
    Ok((sealed, format))
}

/// Adds the items of `update` to `target`: encrypted items, template annotations and labels
/// (creating the maps), and the key hint of the certificate that sealed them.
fn merge(target: &mut SealedSecret, update: SealedSecret) {
    target
        .spec
        .encrypted_data
        .extend(update.spec.encrypted_data);
    let (into, from) = (
        &mut target.spec.template.metadata,
        update.spec.template.metadata,
    );
    if let Some(annotations) = from.annotations.filter(|a| !a.is_empty()) {
        into.annotations.get_or_insert_default().extend(annotations);
    }
    if let Some(labels) = from.labels.filter(|l| !l.is_empty()) {
        into.labels.get_or_insert_default().extend(labels);
    }
    if let Some(data) = update.spec.template.data.filter(|d| !d.is_empty()) {
        target
            .spec
            .template
            .data
            .get_or_insert_default()
            .extend(data);
    }
    if let Some(hint) = update
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(KEY_HINT_ANNOTATION))
    {
        target
            .metadata
            .annotations
            .get_or_insert_default()
            .insert(KEY_HINT_ANNOTATION.to_owned(), hint.clone());
    }
}

/// The `--merge-into` mode.
pub fn run(run: &Run, file: &Path) -> Result<()> {
    let (mut target, file_format) = read_target(file)?;
    let scope = Scope::from_annotations(target.metadata.annotations.as_ref());
    if let Some(flag) = run.scope
        && flag != scope
    {
        return Err(message_with_hint(
            format!(
                "--scope {flag} does not match the scope of {} ({scope})",
                file.display()
            ),
            "all items of a SealedSecret share its scope: drop --scope, or seal into a new file",
        ));
    }
    let mut secrets = seal::read_secrets(run)?;
    if secrets.len() != 1 {
        return Err(message_with_hint(
            format!(
                "--merge-into takes exactly one Secret, but the input has {}",
                secrets.len()
            ),
            "merge the Secrets one at a time",
        ));
    }
    let (position, mut secret) = secrets.remove(0);
    let what = seal::describe(&position, &secret);
    secret.metadata.namespace = target.metadata.namespace.clone();
    let key = run.cert.public_key()?;
    let name = target.metadata.name.clone().unwrap_or_default();
    seal::prepare(run, &mut secret, Some(&name), Some(scope)).with_context(|| what.clone())?;
    let mut update = seal::seal_one(&secret, &key).with_context(|| what.clone());
    if let (Ok(update), Some(dir)) = (&mut update, &run.stable_cache) {
        // Items whose value did not change keep the file's ciphertext.
        let fingerprint = key.fingerprint().to_string();
        let kept = StableCache::open(dir)
            .and_then(|cache| cache.keep_unchanged(&secret, update, Some(&target), &fingerprint));
        if let Err(e) = kept {
            sealed_secrets::unseal::zeroize_data(&mut secret);
            return Err(e);
        }
    }
    sealed_secrets::unseal::zeroize_data(&mut secret);
    let update = update?;
    merge(&mut target, update);

    let format = if run.format_explicit {
        run.format
    } else {
        file_format
    };
    let rendered = output::render(&[output::sealed_secret_value(&target)?], format)?;
    if run.stable_cache.is_some() && std::fs::read(file).is_ok_and(|b| b == rendered.as_bytes()) {
        return Ok(());
    }
    output::replace_file(file, rendered.as_bytes())
}
