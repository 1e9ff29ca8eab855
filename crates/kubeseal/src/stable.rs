//! Stable re-sealing (`--stable-cache DIR`): sealing the same value again for the same
//! certificate, scope and item keeps the ciphertext already in the file, so a pipeline that
//! regenerates its sealed files on every run changes nothing in Git when nothing changed.
//!
//! Sealing is randomized (RSA-OAEP and a fresh session key per value), so nothing in Git or on
//! the cluster lets anyone test a guess of a plaintext. That stays true here: the knowledge
//! "this ciphertext holds this value" lives only in a local cache directory, as keyed hashes:
//!
//! - `DIR/key`: 32 random bytes (created 0600 in a 0700 directory on first use), or the key in
//!   `SEALED_SECRETS_STABLE_KEY` (64 hex digits; e.g. a CI secret variable, so the cached
//!   entries alone reveal nothing);
//! - `DIR/entries/ID`, one per ciphertext kubeseal wrote: `ID` is HMAC-SHA256(key, ciphertext)
//!   and the content HMAC-SHA256(key, certificate fingerprint, scope label, item, value).
//!
//! An existing ciphertext is kept only when its entry matches the new value under the same
//! certificate (a renewed certificate re-seals everything), scope label (namespace and name as
//! the scope binds them) and item name. Anything else (no entry, another value, a file edited
//! by hand, a ciphertext replaced in Git) re-seals the item. The design and its limits are in
//! docs/security.md, "Stable re-sealing".

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hmac::{Hmac, Mac};
use k8s_openapi::api::core::v1::Secret;
use sealed_secrets::{Scope, SealedSecret};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The environment variable that holds the cache key instead of `DIR/key`.
pub const KEY_ENV: &str = "SEALED_SECRETS_STABLE_KEY";

/// Domain separation of the two uses of the key.
const ENTRY_ID: &[u8] = b"sealed-secrets-rs stable entry id v1";
const ENTRY_TAG: &[u8] = b"sealed-secrets-rs stable entry tag v1";

/// What a ciphertext is bound to besides its value.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// The public key's fingerprint (the key hint).
    pub fingerprint: &'a str,
    /// The scope label the value was encrypted with (`namespace/name`, `namespace`, or empty).
    pub label: &'a [u8],
    /// The item's name.
    pub item: &'a str,
}

/// An open cache directory.
pub struct StableCache {
    dir: PathBuf,
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for StableCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StableCache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl StableCache {
    /// Opens (creating) the cache at `dir`, with the key from [`KEY_ENV`] or `dir/key`.
    pub fn open(dir: &Path) -> Result<Self> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        let shown = dir.display();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join("entries"))
            .with_context(|| format!("--stable-cache {shown}: cannot create the directory"))?;
        let mode = std::fs::metadata(dir)
            .with_context(|| format!("--stable-cache {shown}: cannot read the directory"))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "--stable-cache {shown}: the directory is readable by others (mode {:o}); \
                 run `chmod 700 {shown}` (the cache can confirm guesses of sealed values to whoever reads it with its key)",
                mode & 0o777
            );
        }
        if let Some(hex) = std::env::var_os(KEY_ENV) {
            let hex = Zeroizing::new(hex.to_string_lossy().trim().to_owned());
            let mut key = Zeroizing::new([0u8; 32]);
            if hex.len() != 64 || !decode_hex(&hex, &mut key[..]) {
                bail!(
                    "{KEY_ENV} is not a 32-byte key: give 64 hex digits (e.g. `openssl rand -hex 32`)"
                );
            }
            return Ok(Self {
                dir: dir.to_path_buf(),
                key,
            });
        }
        let key_file = dir.join("key");
        let mut key = Zeroizing::new([0u8; 32]);
        match std::fs::read(&key_file) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                if bytes.len() != 32 {
                    bail!(
                        "--stable-cache {shown}: {} is not a 32-byte key; delete the cache directory to start a new one",
                        key_file.display()
                    );
                }
                key.copy_from_slice(&bytes);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key[..]);
                // Written once, exclusively: two runs starting together do not overwrite each other.
                let created = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&key_file);
                match created {
                    Ok(mut f) => f
                        .write_all(&key[..])
                        .and_then(|()| f.sync_all())
                        .with_context(|| format!("cannot write {}", key_file.display()))?,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return Self::open(dir);
                    }
                    Err(e) => {
                        return Err(e)
                            .with_context(|| format!("cannot create {}", key_file.display()));
                    }
                }
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", key_file.display())),
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            key,
        })
    }

    /// HMAC-SHA256 under the cache key, started with `domain`.
    fn keyed(&self, domain: &[u8]) -> Hmac<Sha256> {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key[..]) else {
            unreachable!("HMAC takes a key of any length")
        };
        mac.update(domain);
        mac
    }

    fn entry(&self, ciphertext: &str) -> PathBuf {
        let mut mac = self.keyed(ENTRY_ID);
        mac.update(ciphertext.as_bytes());
        self.dir
            .join("entries")
            .join(encode_hex(&mac.finalize().into_bytes()))
    }

    /// In `sealed` (just sealed from `secret`), puts back each ciphertext of `existing` (the
    /// same object as the file holds it) that this cache says holds the same value under the
    /// same certificate, scope and item; records every ciphertext `sealed` ends with. Returns
    /// how many items were kept.
    pub fn keep_unchanged(
        &self,
        secret: &Secret,
        sealed: &mut SealedSecret,
        existing: Option<&SealedSecret>,
        fingerprint: &str,
    ) -> Result<usize> {
        let meta = &secret.metadata;
        let scope = Scope::from_annotations(meta.annotations.as_ref());
        let label = scope.label(
            meta.namespace.as_deref().unwrap_or(""),
            meta.name.as_deref().unwrap_or(""),
        );
        // The values as sealed: stringData wins over data for the same item.
        let mut values: BTreeMap<&str, &[u8]> = BTreeMap::new();
        for (item, value) in secret.data.iter().flatten() {
            values.insert(item, &value.0);
        }
        for (item, value) in secret.string_data.iter().flatten() {
            values.insert(item, value.as_bytes());
        }
        let mut kept = 0;
        for (item, value) in values {
            let binding = Binding {
                fingerprint,
                label: &label,
                item,
            };
            if let Some(old) = existing.and_then(|e| e.spec.encrypted_data.get(item))
                && self.holds(old, binding, value)
            {
                sealed
                    .spec
                    .encrypted_data
                    .insert(item.to_owned(), old.clone());
                kept += 1;
            }
            if let Some(ciphertext) = sealed.spec.encrypted_data.get(item) {
                self.record(ciphertext, binding, value)?;
            }
        }
        Ok(kept)
    }

    fn tag(&self, binding: Binding<'_>, value: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed(ENTRY_TAG);
        for part in [
            binding.fingerprint.as_bytes(),
            binding.label,
            binding.item.as_bytes(),
            value,
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// Whether `ciphertext` (base64, as in the file) was written by kubeseal for `value` under
    /// `binding`, according to this cache (compared in constant time).
    pub fn holds(&self, ciphertext: &str, binding: Binding<'_>, value: &[u8]) -> bool {
        std::fs::read(self.entry(ciphertext))
            .is_ok_and(|stored| self.tag(binding, value).verify_slice(&stored).is_ok())
    }

    /// Records that `ciphertext` holds `value` under `binding` (atomically: temp file + rename).
    pub fn record(&self, ciphertext: &str, binding: Binding<'_>, value: &[u8]) -> Result<()> {
        let path = self.entry(ciphertext);
        if path.exists() {
            return Ok(());
        }
        let tag: [u8; 32] = self.tag(binding, value).finalize().into_bytes().into();
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, tag)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .with_context(|| format!("cannot write the stable cache entry {}", path.display()))
    }
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes `hex` into `out` (exactly `2 * out.len()` digits); false on anything else.
fn decode_hex(hex: &str, out: &mut [u8]) -> bool {
    if hex.len() != out.len() * 2 {
        return false;
    }
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("kubeseal-stable-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    const B: Binding<'static> = Binding {
        fingerprint: "SHA256:abc",
        label: b"prod/db",
        item: "password",
    };

    #[test]
    fn holds_only_the_recorded_value_and_binding() {
        let dir = temp("holds");
        let cache = StableCache::open(&dir).unwrap();
        cache.record("CT1", B, b"hunter2").unwrap();
        assert!(cache.holds("CT1", B, b"hunter2"));
        assert!(!cache.holds("CT1", B, b"hunter3"));
        assert!(!cache.holds("CT2", B, b"hunter2"));
        assert!(!cache.holds(
            "CT1",
            Binding {
                fingerprint: "SHA256:new",
                ..B
            },
            b"hunter2"
        ));
        assert!(!cache.holds(
            "CT1",
            Binding {
                label: b"prod/other",
                ..B
            },
            b"hunter2"
        ));
        assert!(!cache.holds("CT1", Binding { item: "user", ..B }, b"hunter2"));
        // Reopened: the same key file, the same answers.
        let again = StableCache::open(&dir).unwrap();
        assert!(again.holds("CT1", B, b"hunter2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn entries_reveal_neither_ciphertext_nor_value() {
        let dir = temp("opaque");
        let cache = StableCache::open(&dir).unwrap();
        cache.record("CIPHERTEXT", B, b"hunter2").unwrap();
        for entry in std::fs::read_dir(dir.join("entries")).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(!name.contains("CIPHERTEXT"));
            let content = std::fs::read(entry.path()).unwrap();
            assert_eq!(content.len(), 32);
            assert!(!content.windows(7).any(|w| w == b"hunter2"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn another_key_knows_nothing() {
        let dir = temp("other-key");
        let cache = StableCache::open(&dir).unwrap();
        cache.record("CT1", B, b"hunter2").unwrap();
        std::fs::write(dir.join("key"), [7u8; 32]).unwrap();
        let other = StableCache::open(&dir).unwrap();
        assert!(!other.holds("CT1", B, b"hunter2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp("open");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = StableCache::open(&dir).unwrap_err().to_string();
        assert!(err.contains("readable by others (mode 755)"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hex() {
        let mut out = [0u8; 2];
        assert!(decode_hex("0aFf", &mut out));
        assert_eq!(out, [0x0a, 0xff]);
        assert!(!decode_hex("0g00", &mut out));
        assert!(!decode_hex("000", &mut out));
        assert_eq!(encode_hex(&[0x0a, 0xff]), "0aff");
    }
}
