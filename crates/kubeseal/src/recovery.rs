//! `--recovery-unseal`: decrypt SealedSecrets offline with the controller's private keys, for
//! disaster recovery (docs/upstream-behavior.md, "kubeseal").
//!
//! Keys come from every `--recovery-private-key` file: a PEM private key, or a backup of the
//! controller's key Secrets (YAML, JSON, `List`s, several documents), deduplicated by
//! fingerprint. Unlike upstream, which read one SealedSecret, every SealedSecret of the input
//! is unsealed, and all of them are unsealed before anything is written.

use std::path::PathBuf;

use anyhow::{Context, Result};
use sealed_secrets::keys::PrivateKey;
use sealed_secrets::manifest;
use sealed_secrets::unseal::{NoTemplates, UnsealOptions, unseal};
use zeroize::Zeroizing;

use crate::input::{Expected, TTY_MANIFEST_NOTE, manifest_error};
use crate::mode::Run;
use crate::output;
use crate::report::{HintExt, hinted, message_with_hint};

/// Reads and deduplicates the private keys of every file.
pub fn read_keys(files: &[PathBuf]) -> Result<Vec<PrivateKey>> {
    let mut keys: Vec<PrivateKey> = Vec::new();
    for file in files {
        let bytes = crate::input::read_file(file)
            .with_context(|| format!("cannot read --recovery-private-key {}", file.display()))?;
        let found = manifest::parse_key_backup(&bytes)
            .with_context(|| format!("cannot read private keys from {}", file.display()))
            .hint("--recovery-private-key takes PEM private keys or backups of the controller's key Secrets (with data[\"tls.key\"])")?;
        for key in found {
            let fingerprint = key.fingerprint();
            if !keys.iter().any(|k| k.fingerprint() == fingerprint) {
                keys.push(key);
            }
        }
    }
    Ok(keys)
}

/// The `--recovery-unseal` mode.
pub fn run(run: &Run, key_files: &[PathBuf]) -> Result<()> {
    if key_files.is_empty() {
        return Err(message_with_hint(
            "--recovery-unseal needs the controller's private keys",
            "pass --recovery-private-key FILE (a PEM key or a backup of the key Secrets: \
             `kubectl get secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`)",
        ));
    }
    let keys = read_keys(key_files)?;
    let key_refs: Vec<&PrivateKey> = keys.iter().collect();
    let bytes = run.input.read(TTY_MANIFEST_NOTE)?;
    let sealed = manifest::parse_sealed_secrets(&bytes)
        .map_err(|e| manifest_error(e, Expected::SealedSecrets("--recovery-unseal")))?;
    if sealed.is_empty() {
        return Err(message_with_hint(
            "no sealed secrets found in the input",
            "pass a SealedSecret manifest with -f FILE or on stdin",
        ));
    }
    let options = UnsealOptions {
        accept_deprecated_v1_data: false,
        ..UnsealOptions::default()
    };
    let mut objects = Vec::with_capacity(sealed.len());
    for (position, sealed) in &sealed {
        let what = format!("{position}, SealedSecret \"{}\"", sealed.display_name());
        // kubeseal links no template engine: spec.template.data is left out, with a warning.
        let secret = match unseal(sealed, &key_refs, &options, &NoTemplates) {
            Ok(secret) => secret,
            Err(err) => {
                let undecryptable = err.is_undecryptable();
                let err = anyhow::Error::from(err).context(what);
                return Err(if undecryptable {
                    hinted(
                        err,
                        format!(
                            "tried {} key(s): was it sealed by another controller, or renamed or moved after sealing?",
                            keys.len()
                        ),
                    )
                } else {
                    err
                });
            }
        };
        if !secret.unrendered().is_empty() {
            eprintln!(
                "warning: {what}: spec.template.data is not rendered by kubeseal; the output lacks \
                 item(s) {} (the controller renders them)",
                secret.unrendered().join(", ")
            );
        }
        objects.push(output::secret_value(&secret)?);
    }
    let rendered = Zeroizing::new(output::render(&objects, run.format)?);
    // Plaintext: the file is the owner's alone (0600), as upstream writes it.
    output::write_as(&run.output, rendered.as_bytes(), output::Access::Private)
}
