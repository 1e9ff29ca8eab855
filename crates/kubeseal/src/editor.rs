//! `kubeseal edit FILE`: edit the items of a SealedSecret file in `$VISUAL`/`$EDITOR`, as a plain
//! Secret view, and seal only what changed.
//!
//! Without a private key the view is write-only: each existing item shows as [`PLACEHOLDER`]; leave
//! it (the item keeps its ciphertext), replace it (the item is sealed again) or delete the line (the
//! item is removed); new lines are new items. With `--recovery-private-key` the view shows the real
//! values, and an item whose value is unchanged keeps its ciphertext. Writing the file goes through
//! [`crate::edit`], so it keeps its format, layout and untouched lines as `kubeseal set` does.
//!
//! The plaintext buffer lives in a new directory of mode 0700 (file 0600) under `$XDG_RUNTIME_DIR`,
//! else `/dev/shm` (both memory-backed on Linux), else the temporary directory; it is removed when
//! kubeseal ends, also after an error or a panic. While the editor runs, kubeseal ignores Ctrl-C (the
//! editor gets it, as with `git commit`), and on SIGTERM or SIGHUP it stops the editor, removes the
//! buffer and changes nothing. vi, vim and nvim are started without swap, backup, undo or viminfo
//! files; other editors are run as they are configured. An unchanged buffer, an empty buffer or a
//! non-zero editor exit changes nothing.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;
use sealed_secrets::Scope;
use sealed_secrets::keys::PrivateKey;
use sealed_secrets::manifest;
use sealed_secrets::unseal::{NoTemplates, UnsealOptions, unseal};
use zeroize::Zeroizing;

use crate::edit::{CertFlags, Target, binding, check_key, read_target, write_target};
use crate::output;
use crate::report::message_with_hint;

/// What an existing item shows as when its value cannot be read (no private key).
pub const PLACEHOLDER: &str = "<sealed: unchanged>";

/// Edit the items of a SealedSecret file in $VISUAL or $EDITOR.
///
/// Opens a plain Secret view of the file. Without --recovery-private-key it is write-only: existing
/// values show as "<sealed: unchanged>"; replace one to seal it again, delete its line to remove the
/// item, leave it to keep the item as it is; add lines for new items. With the private key the view
/// shows the real values. On save only the changed items are sealed; an unchanged buffer or a non-zero
/// editor exit changes nothing.
#[derive(Debug, Parser)]
#[command(name = "kubeseal edit", max_term_width = 100)]
pub struct EditFlags {
    /// The SealedSecret file to update in place (YAML or JSON, exactly one SealedSecret)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Show the real values: the controller's private keys (PEM keys, or backups of its key Secrets)
    #[arg(long, value_name = "FILE", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub recovery_private_key: Vec<PathBuf>,

    #[command(flatten)]
    pub cert: CertFlags,
}

/// Runs `kubeseal edit` with the process's arguments (`args[1]` is `edit`).
pub fn run(args: Vec<OsString>) -> Result<()> {
    let mut argv = vec![OsString::from("kubeseal edit")];
    argv.extend(args.into_iter().skip(2));
    let flags: EditFlags = crate::edit::parse_with_cert(argv, |f| &mut f.cert);
    edit(&flags)
}

/// A private directory removed (with its content) when dropped.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn create() -> Result<PrivateDir> {
        let mut bases = Vec::new();
        if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
            bases.push(PathBuf::from(runtime));
        }
        bases.push(PathBuf::from("/dev/shm"));
        bases.push(std::env::temp_dir());
        let suffix: u64 = rand::random();
        let name = format!("kubeseal-edit-{}-{suffix:016x}", std::process::id());
        let mut last = None;
        for base in bases.iter().filter(|b| b.is_dir()) {
            let dir = base.join(&name);
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(PrivateDir(dir)),
                Err(e) => last = Some(e),
            }
        }
        Err(message_with_hint(
            format!(
                "cannot create a private directory for the plaintext buffer{}",
                last.map(|e| format!(": {e}")).unwrap_or_default()
            ),
            "set XDG_RUNTIME_DIR or TMPDIR to a directory you can write",
        ))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The current items of the file: their plaintext with a private key, else `None`.
fn current_values(
    target: &Target,
    keys: &[PrivateKey],
) -> Result<BTreeMap<String, Option<Zeroizing<Vec<u8>>>>> {
    let items = &target.sealed.spec.encrypted_data;
    if keys.is_empty() {
        return Ok(items.keys().map(|k| (k.clone(), None)).collect());
    }
    let refs: Vec<&PrivateKey> = keys.iter().collect();
    let options = UnsealOptions {
        accept_deprecated_v1_data: false,
        ..UnsealOptions::default()
    };
    let unsealed = unseal(&target.sealed, &refs, &options, &NoTemplates).map_err(|e| {
        crate::report::hinted(
            anyhow::Error::from(e),
            "was the file sealed for another controller? Edit without --recovery-private-key (write-only)",
        )
    })?;
    let data = unsealed.secret().data.clone().unwrap_or_default();
    Ok(items
        .keys()
        .map(|k| {
            let value = data.get(k).map(|v| Zeroizing::new(v.0.clone()));
            (k.clone(), value)
        })
        .collect())
}

/// The Secret view the editor shows.
fn render_view(
    file: &Path,
    target: &Target,
    values: &BTreeMap<String, Option<Zeroizing<Vec<u8>>>>,
) -> Result<Zeroizing<String>> {
    let mut string_data = BTreeMap::new();
    let mut data = BTreeMap::new();
    for (key, value) in values {
        match value {
            None => {
                string_data.insert(key.clone(), PLACEHOLDER.to_owned());
            }
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => {
                    string_data.insert(key.clone(), text.to_owned());
                }
                Err(_) => {
                    data.insert(key.clone(), ByteString(bytes.to_vec()));
                }
            },
        }
    }
    let meta = &target.sealed.metadata;
    let secret = Secret {
        metadata: ObjectMeta {
            name: meta.name.clone(),
            namespace: meta.namespace.clone(),
            ..ObjectMeta::default()
        },
        data: Some(data).filter(|d| !d.is_empty()),
        string_data: Some(string_data).filter(|d| !d.is_empty()),
        ..Secret::default()
    };
    let value = output::secret_value(&secret)?;
    let body = Zeroizing::new(output::to_yaml(&value)?);
    let scope = Scope::from_annotations(meta.annotations.as_ref());
    let how = if values.values().any(Option::is_some) {
        "The values are the real ones; items whose value you leave as it is keep their ciphertext."
    } else {
        "Values are write-only: leave \"<sealed: unchanged>\" to keep an item, replace it to seal a new value."
    };
    Ok(Zeroizing::new(format!(
        "# kubeseal edit {file} (SealedSecret {name}, scope {scope}).\n\
         # {how}\n\
         # Delete an item's line to remove it; add lines under stringData (text) or data (base64) for new items.\n\
         # Only items change: save and quit to apply, quit without saving to change nothing.\n{body}",
        file = file.display(),
        name = target.sealed.display_name(),
        body = body.as_str(),
    )))
}

/// The items of the edited buffer, `None` for a kept placeholder.
fn parse_view(bytes: &[u8], target: &Target) -> Result<BTreeMap<String, Zeroizing<Vec<u8>>>> {
    let mut secrets = manifest::parse_secrets(bytes).map_err(|e| {
        message_with_hint(
            format!("the edited buffer is not a Secret: {e}"),
            "nothing was changed; run kubeseal edit again",
        )
    })?;
    if secrets.len() != 1 {
        return Err(message_with_hint(
            format!("the edited buffer holds {} Secrets, not one", secrets.len()),
            "nothing was changed; run kubeseal edit again",
        ));
    }
    let (_, mut secret) = secrets.remove(0);
    let meta = &target.sealed.metadata;
    if secret.metadata.name != meta.name || secret.metadata.namespace != meta.namespace {
        let result = Err(message_with_hint(
            "kubeseal edit changes items only, but the edited buffer changes metadata.name or metadata.namespace",
            "nothing was changed; to move or rename, seal the Secret again for its new place",
        ));
        sealed_secrets::unseal::zeroize_data(&mut secret);
        return result;
    }
    let mut items = BTreeMap::new();
    for (key, value) in secret.data.take().unwrap_or_default() {
        items.insert(key, Zeroizing::new(value.0));
    }
    for (key, value) in secret.string_data.take().unwrap_or_default() {
        items.insert(key, Zeroizing::new(value.into_bytes()));
    }
    for key in items.keys() {
        check_key(key, "edited buffer")?;
    }
    Ok(items)
}

/// Runs the editor on `path`; an error if it failed (non-zero exit) or kubeseal was told to stop.
fn run_editor(path: &Path, file: &Path) -> Result<()> {
    let unchanged = format!("nothing was changed in {}", file.display());
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".to_owned());
    let program = editor.split_whitespace().next().unwrap_or_default();
    let base = Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut extra: Vec<&str> = Vec::new();
    if matches!(
        base.as_str(),
        "vi" | "vim" | "nvim" | "gvim" | "view" | "vim.basic" | "vim.tiny"
    ) {
        extra.extend([
            "-n",
            "-i",
            "NONE",
            "--cmd",
            "set nobackup nowritebackup noundofile",
        ]);
    }
    // The editor command may carry arguments (`code --wait`), as git allows.
    let mut command = tokio::process::Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(format!("exec {editor} \"$@\""))
        .arg("kubeseal-edit")
        .args(&extra)
        .arg(path);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the editor")?;
    runtime.block_on(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle Ctrl-C")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut hangup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start the editor {editor:?}"))
            .map_err(|e| crate::report::hinted(e, "set VISUAL or EDITOR to your editor"))?;
        loop {
            tokio::select! {
                status = child.wait() => {
                    let status = status.context("cannot wait for the editor")?;
                    if !status.success() {
                        return Err(message_with_hint(
                            format!("the editor {editor:?} exited with {status}"),
                            unchanged,
                        ));
                    }
                    return Ok(());
                }
                // Ctrl-C belongs to the editor (it gets it too); kubeseal keeps waiting.
                _ = interrupt.recv() => {}
                _ = terminate.recv() => break,
                _ = hangup.recv() => break,
            }
        }
        let _ = child.kill().await;
        Err(message_with_hint("kubeseal edit was stopped", unchanged))
    })
}

/// `kubeseal edit`.
pub fn edit(flags: &EditFlags) -> Result<()> {
    let file = &flags.file;
    let mut target = read_target(file)?;
    let keys = crate::recovery::read_keys(&flags.recovery_private_key)?;
    let values = current_values(&target, &keys)?;
    let view = render_view(file, &target, &values)?;

    let dir = PrivateDir::create()?;
    let buffer = dir.0.join("secret.yaml");
    {
        use std::io::Write;
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&buffer)
            .with_context(|| format!("cannot write {}", buffer.display()))?;
        out.write_all(view.as_bytes())
            .and_then(|()| out.flush())
            .with_context(|| format!("cannot write {}", buffer.display()))?;
    }
    run_editor(&buffer, file)?;
    let edited = Zeroizing::new(
        std::fs::read(&buffer).with_context(|| format!("cannot read {}", buffer.display()))?,
    );
    drop(dir);
    if edited.as_slice() == view.as_bytes() {
        eprintln!("{}: no changes", file.display());
        return Ok(());
    }
    if edited.iter().all(u8::is_ascii_whitespace) {
        return Err(message_with_hint(
            "the edited buffer is empty",
            format!("nothing was changed in {}", file.display()),
        ));
    }
    let items = parse_view(&edited, &target)?;

    let mut removed = Vec::new();
    let mut to_seal = BTreeMap::new();
    for (key, old) in &values {
        match items.get(key) {
            None => removed.push(key.clone()),
            Some(new) if old.is_none() && new.as_slice() == PLACEHOLDER.as_bytes() => {}
            Some(new) if old.as_ref().is_some_and(|o| o.as_slice() == new.as_slice()) => {}
            Some(new) => {
                to_seal.insert(key.clone(), new.clone());
            }
        }
    }
    let mut added = Vec::new();
    for (key, new) in &items {
        if values.contains_key(key) {
            continue;
        }
        if new.as_slice() == PLACEHOLDER.as_bytes() {
            return Err(message_with_hint(
                format!("new item {key:?} has the placeholder value {PLACEHOLDER:?}"),
                format!("give it a value; nothing was changed in {}", file.display()),
            ));
        }
        added.push(key.clone());
        to_seal.insert(key.clone(), new.clone());
    }
    if removed.is_empty() && to_seal.is_empty() {
        eprintln!("{}: no changes", file.display());
        return Ok(());
    }
    if removed.len() == values.len() && to_seal.is_empty() {
        return Err(message_with_hint(
            format!("the edit would remove every item of {}", file.display()),
            "nothing was changed; delete the file instead, or keep at least one item",
        ));
    }
    let replaced: Vec<String> = to_seal
        .keys()
        .filter(|k| values.contains_key(*k))
        .cloned()
        .collect();
    if !to_seal.is_empty() {
        let scope = Scope::from_annotations(target.sealed.metadata.annotations.as_ref());
        let (namespace, name) = binding(file, &target.sealed, scope)?;
        let key = flags.cert.source(file)?.public_key()?;
        for (item, value) in &to_seal {
            let ciphertext = sealed_secrets::seal::seal_value(
                &mut rand::rngs::OsRng,
                &key,
                value,
                scope,
                &namespace,
                &name,
            )
            .map_err(|e| anyhow!(e).context(format!("cannot seal item {item:?}")))?;
            target
                .sealed
                .spec
                .encrypted_data
                .insert(item.clone(), ciphertext);
        }
        crate::edit::update_key_hint(&mut target, &key);
    }
    for key in &removed {
        target.sealed.spec.encrypted_data.remove(key);
    }
    write_target(file, &target)?;
    eprintln!(
        "{}: {}",
        file.display(),
        crate::edit::summary(&[
            ("added", &as_refs(&added)),
            ("replaced", &as_refs(&replaced)),
            ("removed", &as_refs(&removed)),
        ])
    );
    Ok(())
}

fn as_refs(items: &[String]) -> Vec<&str> {
    items.iter().map(String::as_str).collect()
}
