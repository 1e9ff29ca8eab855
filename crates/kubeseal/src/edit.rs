//! `kubeseal set FILE KEY=VALUE...` and `kubeseal unset FILE KEY...`: change some items of an
//! existing SealedSecret file in place, with a minimal diff (`kubeseal edit`, in the `editor`
//! module, writes files the same way).
//!
//! Upstream kubeseal has no subcommands and ignores positional arguments, so a first argument
//! that is exactly `set`, `unset` or `edit` is free to select these commands; every other command line
//! goes to the upstream-compatible parser ([`crate::flags`]) unchanged.
//!
//! Items are sealed for the file's own name, namespace and scope (its top-level annotations);
//! items not named keep their ciphertext byte for byte, and the format (YAML or JSON) is kept.
//! A file laid out as a kubeseal writes it (ours or Bitnami's: keys sorted, one item per line)
//! is rendered again the same way, so every untouched line stays identical and new items land in
//! their sorted place. A YAML file of another layout (comments, other order or quoting) is changed
//! line by line where it is simple enough, and checked by parsing it back; anything else is
//! re-formatted, and kubeseal says so on stderr. The
//! file is replaced atomically (a temporary file in the same directory, then a rename) and keeps
//! its permissions; on any error it is left as it was. No value ever appears in a message.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Parser};
use sealed_secrets::manifest::{self, Format as StreamFormat};
use sealed_secrets::names::KEY_HINT_ANNOTATION;
use sealed_secrets::{Scope, SealedSecret};
use zeroize::Zeroizing;

use crate::cert::CertSource;
use crate::flags::ConnectionFlags;
use crate::input::{TTY_RAW_NOTE, read_stdin};
use crate::output::{self, Format};
use crate::report::message_with_hint;
use crate::rules::PinnedCert;
use crate::stable::{Binding, StableCache};

/// Where the sealing certificate comes from, as for sealing.
#[derive(Debug, Args)]
pub struct CertFlags {
    /// Seal with this certificate (PEM file, or http://, https://, file:// URL) instead of asking the controller
    #[arg(
        long,
        env = "SEALED_SECRETS_CERT",
        value_name = "FILE|URL",
        default_value = "",
        hide_default_value = true
    )]
    pub cert: String,

    /// Namespace the controller runs in (to fetch the certificate)
    #[arg(
        long,
        env = "SEALED_SECRETS_CONTROLLER_NAMESPACE",
        default_value = "kube-system"
    )]
    pub controller_namespace: String,

    /// Service name of the controller (to fetch the certificate)
    #[arg(
        long,
        env = "SEALED_SECRETS_CONTROLLER_NAME",
        default_value = "sealed-secrets-controller"
    )]
    pub controller_name: String,

    #[command(flatten)]
    pub connection: ConnectionFlags,

    /// Which of `cert`, `controller_name`, `controller_namespace` were given (command line or
    /// environment): those win over the repository rule for the file.
    #[arg(skip)]
    pub given: Vec<&'static str>,
}

impl CertFlags {
    /// The certificate for sealing into `file`: these flags, completed by the repository rule
    /// for `file` ([`crate::rules`]) and checked against its pin.
    pub(crate) fn source(&self, file: &Path) -> Result<PinnedCert> {
        let (mut cert, mut namespace, mut name) = (
            self.cert.clone(),
            self.controller_namespace.clone(),
            self.controller_name.clone(),
        );
        let (mut pin, mut from_rule) = (None, None);
        if let Some(rule) = crate::rules::find(Some(file))? {
            let given = |id: &str| self.given.contains(&id);
            if let Some(c) = rule.cert.filter(|_| !given("cert")) {
                cert = c;
                from_rule = Some(rule.at.clone());
            }
            if let Some(n) = rule
                .controller_namespace
                .filter(|_| !given("controller_namespace"))
            {
                namespace = n;
            }
            if let Some(n) = rule.controller_name.filter(|_| !given("controller_name")) {
                name = n;
            }
            pin = rule.pin;
        }
        Ok(PinnedCert {
            source: CertSource::from_flag(&cert, &namespace, &name, &self.connection),
            pin,
            from_rule,
        })
    }
}

/// Parses a subcommand's flags (`argv[0]` is its name) and notes which certificate flags were
/// given, so that a repository rule fills in only the others.
pub(crate) fn parse_with_cert<T: Parser>(
    argv: Vec<OsString>,
    cert: fn(&mut T) -> &mut CertFlags,
) -> T {
    use clap::parser::ValueSource;
    let matches = T::command()
        .try_get_matches_from(argv)
        .unwrap_or_else(|e| e.exit());
    let mut flags = T::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cert(&mut flags).given = ["cert", "controller_name", "controller_namespace"]
        .into_iter()
        .filter(|id| {
            matches!(
                matches.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        })
        .collect();
    flags
}

/// Seal items into an existing SealedSecret file, in place.
///
/// Each item is sealed for the file's name, namespace and scope; the other items keep their
/// ciphertext, and a file written by kubeseal (this one or Bitnami's) changes only in the lines
/// of the items named, so `git diff` shows just those. Values given as KEY=VALUE are visible to
/// other users of the machine and kept in shell history: prefer --from-file for real secrets.
#[derive(Debug, Parser)]
#[command(
    name = "kubeseal set",
    max_term_width = 100,
    after_help = "Examples:\n  kubeseal set db.sealed.yaml --cert cert.pem --from-file password=./password.txt\n  printf %s \"$TOKEN\" | kubeseal set api.sealed.json --cert cert.pem --from-file token=-\n  kubeseal set app.sealed.yaml --from-env-file app.env   # certificate from the controller"
)]
pub struct SetFlags {
    /// The SealedSecret file to update in place (YAML or JSON, exactly one SealedSecret)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Items to seal, each KEY=VALUE (the value is everything after the first '=')
    #[arg(value_name = "KEY=VALUE")]
    pub items: Vec<String>,

    /// Seal the content of PATH as item KEY; PATH '-' reads standard input (repeatable)
    #[arg(long, value_name = "KEY=PATH", action = clap::ArgAction::Append)]
    pub from_file: Vec<String>,

    /// Seal every KEY=VALUE line of PATH (blank lines and lines starting with '#' are skipped; repeatable)
    #[arg(long, value_name = "PATH", action = clap::ArgAction::Append)]
    pub from_env_file: Vec<PathBuf>,

    /// Keep the ciphertext of an item whose value and certificate did not change since kubeseal sealed it, as recorded in this private cache directory; see README, "Stable re-sealing"
    #[arg(long, env = "SEALED_SECRETS_STABLE_CACHE", value_name = "DIR")]
    pub stable_cache: Option<PathBuf>,

    #[command(flatten)]
    pub cert: CertFlags,
}

/// Remove items from an existing SealedSecret file, in place.
///
/// Needs no certificate: the other items keep their ciphertext, and a file written by kubeseal
/// changes only in the lines of the items removed.
#[derive(Debug, Parser)]
#[command(name = "kubeseal unset", max_term_width = 100)]
pub struct UnsetFlags {
    /// The SealedSecret file to update in place (YAML or JSON, exactly one SealedSecret)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Items to remove
    #[arg(value_name = "KEY", required = true)]
    pub keys: Vec<String>,
}

/// The subcommand named by the first argument, if any.
pub fn subcommand(args: &[OsString]) -> Option<&'static str> {
    match args.get(1).and_then(|a| a.to_str()) {
        Some("set") => Some("set"),
        Some("unset") => Some("unset"),
        Some("edit") => Some("edit"),
        _ => None,
    }
}

/// Runs `kubeseal set` or `unset` with the process's arguments (`args[1]` is the subcommand;
/// `edit` is the `editor` module's). Usage errors print clap's message and exit with status 2, as
/// for sealing.
pub fn run(name: &str, args: Vec<OsString>) -> Result<()> {
    let mut argv = vec![OsString::from(format!("kubeseal {name}"))];
    argv.extend(args.into_iter().skip(2));
    if name == "set" {
        let flags: SetFlags = parse_with_cert(argv, |f| &mut f.cert);
        set(&flags)
    } else {
        let flags = UnsetFlags::try_parse_from(argv).unwrap_or_else(|e| e.exit());
        unset(&flags)
    }
}

/// A SealedSecret file as read.
pub(crate) struct Target {
    pub(crate) sealed: SealedSecret,
    format: Format,
    /// How the file differs from kubeseal's rendering of it: `None` if it is laid out
    /// differently, else whether it starts with the `---` line.
    layout: Option<bool>,
    /// The file's text and its SealedSecret as read, for patching a file of another layout.
    original: Vec<u8>,
    before: SealedSecret,
}

pub(crate) fn read_target(file: &Path) -> Result<Target> {
    let bytes = std::fs::read(file).map_err(|e| {
        message_with_hint(
            format!("cannot read {}: {e}", file.display()),
            "pass the SealedSecret file to change (create one first with kubeseal -w FILE)",
        )
    })?;
    let format = Format::from_extension(file).unwrap_or(match manifest::detect_format(&bytes) {
        StreamFormat::Json => Format::Json,
        StreamFormat::Yaml => Format::Yaml,
    });
    let mut found = manifest::parse_sealed_secrets(&bytes).map_err(|e| {
        crate::report::hinted(
            anyhow::Error::from(e).context(format!("cannot read {}", file.display())),
            "the file must hold exactly one SealedSecret (YAML or JSON)",
        )
    })?;
    if found.len() != 1 {
        return Err(message_with_hint(
            format!(
                "{} holds {} SealedSecrets; set and unset change exactly one",
                file.display(),
                found.len()
            ),
            "put each SealedSecret in a file of its own",
        ));
    }
    let (_, sealed) = found.remove(0);
    let canonical = output::render(&[output::sealed_secret_value(&sealed)?], format)?;
    let layout = if canonical.as_bytes() == bytes.as_slice() {
        Some(true)
    } else if canonical.strip_prefix("---\n").map(str::as_bytes) == Some(bytes.as_slice()) {
        Some(false)
    } else {
        None
    };
    Ok(Target {
        before: sealed.clone(),
        sealed,
        format,
        layout,
        original: bytes,
    })
}

pub(crate) fn write_target(file: &Path, target: &Target) -> Result<()> {
    let rendered = output::render(
        &[output::sealed_secret_value(&target.sealed)?],
        target.format,
    )?;
    let patched;
    let bytes = match target.layout {
        Some(false) => rendered.strip_prefix("---\n").unwrap_or(&rendered),
        Some(true) => &rendered,
        None => match patch_yaml(target) {
            Some(text) => {
                patched = text;
                &patched
            }
            None => {
                eprintln!(
                    "note: {} was not laid out as kubeseal writes it, so it was re-formatted \
                     (comments, key order and unknown fields were not kept)",
                    file.display()
                );
                &rendered
            }
        },
    };
    // A symbolic link is followed: the file it points to is replaced, the link stays.
    let real = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    output::replace_file(&real, bytes.as_bytes())
}

/// A YAML file of another layout (comments, other key order, other quoting), changed line by line:
/// the lines of replaced items get their new ciphertext, the lines of removed items go, new items
/// are inserted in sorted place if the items are sorted (else after the last one), and a changed
/// key hint gets its new value. `None` when the file is not simple enough (JSON, flow style,
/// multi-line values, CRLF) or when the result does not parse back to exactly the SealedSecret
/// wanted: then the file is re-formatted instead.
fn patch_yaml(target: &Target) -> Option<String> {
    if target.format != Format::Yaml {
        return None;
    }
    let text = std::str::from_utf8(&target.original).ok()?;
    if text.contains('\r') {
        return None;
    }
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let indent_of = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let is_filler = |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#');
    let header: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            let t = lines[i].trim();
            t == "encryptedData:" || t.starts_with("encryptedData: #")
        })
        .collect();
    let [header] = header.as_slice() else {
        return None;
    };
    let outer = indent_of(&lines[*header]);
    // The item lines: (line index, key as written, key).
    let mut items: Vec<(usize, String, String)> = Vec::new();
    let mut inner = None;
    for (i, line) in lines.iter().enumerate().skip(header + 1) {
        if is_filler(line) {
            continue;
        }
        let indent = indent_of(line);
        if indent <= outer {
            break;
        }
        if *inner.get_or_insert(indent) != indent {
            return None;
        }
        let (written, value) = line.trim_start().split_once(": ")?;
        let value = value.trim();
        let plain = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
        let quoted = value.len() >= 2
            && ((value.starts_with('"') && value.ends_with('"'))
                || (value.starts_with('\'') && value.ends_with('\'')));
        let bare = if quoted {
            &value[1..value.len() - 1]
        } else {
            value
        };
        if bare.is_empty() || !bare.chars().all(plain) {
            return None;
        }
        let key = written.trim_matches(|c| c == '"' || c == '\'').to_owned();
        items.push((i, written.to_owned(), key));
    }
    let inner = inner?;
    let old = &target.before.spec.encrypted_data;
    let new = &target.sealed.spec.encrypted_data;
    if items.len() != old.len() || items.iter().any(|(_, _, k)| !old.contains_key(k)) {
        return None;
    }
    let pad = " ".repeat(inner);
    let sorted = items.windows(2).all(|w| w[0].2 < w[1].2);
    // Changes bottom-up, so that line indices stay valid.
    // (line index, new line or None to delete, insertion order: 0 for a replacement or deletion)
    let mut edits: Vec<(usize, Option<String>, usize)> = Vec::new();
    for (i, written, key) in &items {
        match new.get(key) {
            None => edits.push((*i, None, 0)),
            Some(c) if old.get(key) != Some(c) => {
                edits.push((*i, Some(format!("{pad}{written}: {c}")), 0));
            }
            Some(_) => {}
        }
    }
    let last = items.last()?.0;
    for (n, (key, c)) in new
        .iter()
        .filter(|(k, _)| !old.contains_key(*k))
        .enumerate()
    {
        let written = if key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && !matches!(
                key.to_ascii_lowercase().as_str(),
                "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
            ) {
            key.clone()
        } else {
            format!("\"{key}\"")
        };
        let at = match items.iter().find(|(_, _, k)| sorted && k > key) {
            // Before the next item and the comment lines just above it.
            Some((i, _, _)) => {
                let mut at = *i;
                while at > header + 1 && lines[at - 1].trim_start().starts_with('#') {
                    at -= 1;
                }
                at
            }
            None => last + 1,
        };
        edits.push((at, Some(format!("{pad}{written}: {c}")), n + 1));
    }
    // Later indices first; at one index, replacements and deletions first, then insertions in
    // reverse order (each goes before the one inserted before it).
    edits.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then((a.2 > 0).cmp(&(b.2 > 0)))
            .then(b.2.cmp(&a.2))
    });
    for (at, line, order) in edits {
        match line {
            Some(line) if order > 0 => lines.insert(at, line),
            Some(line) => lines[at] = line,
            None => {
                lines.remove(at);
            }
        }
    }
    let hint = |s: &SealedSecret| {
        s.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(KEY_HINT_ANNOTATION))
            .cloned()
    };
    if let (Some(was), Some(now)) = (hint(&target.before), hint(&target.sealed))
        && was != now
    {
        let prefix = format!("{KEY_HINT_ANNOTATION}: ");
        let at: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].trim_start().starts_with(&prefix))
            .collect();
        let [at] = at.as_slice() else {
            return None;
        };
        let indent = indent_of(&lines[*at]);
        lines[*at] = format!("{}{prefix}{now}", " ".repeat(indent));
    }
    let patched = lines.join("\n");
    let mut parsed = manifest::parse_sealed_secrets(patched.as_bytes()).ok()?;
    if parsed.len() != 1 {
        return None;
    }
    let (_, back) = parsed.remove(0);
    let same = serde_json::to_value(&back).ok()? == serde_json::to_value(&target.sealed).ok()?;
    same.then_some(patched)
}

/// Checks an item name as the API server does for Secret keys.
pub(crate) fn check_key(key: &str, from: &str) -> Result<()> {
    let valid = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if valid {
        return Ok(());
    }
    Err(message_with_hint(
        format!("invalid item name {key:?} ({from})"),
        "an item name has at most 253 letters, digits, '-', '_' and '.'",
    ))
}

/// The values to seal, by item name.
type Values = BTreeMap<String, Zeroizing<Vec<u8>>>;

fn add_value(values: &mut Values, key: &str, value: Zeroizing<Vec<u8>>, from: &str) -> Result<()> {
    check_key(key, from)?;
    if values.insert(key.to_owned(), value).is_some() {
        return Err(message_with_hint(
            format!("item {key:?} is given more than once ({from})"),
            "give each item once",
        ));
    }
    Ok(())
}

/// Reads every value of `kubeseal set`, before anything is sealed or written.
fn read_values(flags: &SetFlags) -> Result<Values> {
    let mut values = Values::new();
    for (i, item) in flags.items.iter().enumerate() {
        // Never echo the argument: without '=' it may be a bare value.
        let Some((key, value)) = item.split_once('=') else {
            return Err(message_with_hint(
                format!(
                    "item argument {} is not KEY=VALUE (its text is not shown, it may be a secret)",
                    i + 1
                ),
                "write KEY=VALUE, or use --from-file KEY=PATH",
            ));
        };
        add_value(
            &mut values,
            key,
            Zeroizing::new(value.as_bytes().to_vec()),
            "KEY=VALUE argument",
        )?;
    }
    let mut stdin_used = false;
    for spec in &flags.from_file {
        let Some((key, path)) = spec
            .split_once('=')
            .filter(|(k, p)| !k.is_empty() && !p.is_empty())
        else {
            return Err(message_with_hint(
                format!("--from-file {spec:?} is not KEY=PATH"),
                "name the item: --from-file KEY=PATH (PATH '-' is standard input)",
            ));
        };
        let value = if path == "-" {
            if stdin_used {
                return Err(message_with_hint(
                    "--from-file reads standard input ('-') more than once",
                    "give at most one --from-file KEY=-",
                ));
            }
            stdin_used = true;
            read_stdin(TTY_RAW_NOTE).with_context(|| format!("cannot read item {key:?}"))?
        } else {
            crate::input::read_file(Path::new(path)).map_err(|e| {
                message_with_hint(
                    format!("cannot read --from-file {path} for item {key:?}: {e}"),
                    "check the path; the file's whole content becomes the item's value",
                )
            })?
        };
        add_value(&mut values, key, value, &format!("--from-file {spec}"))?;
    }
    for path in &flags.from_env_file {
        let bytes = crate::input::read_file(path).map_err(|e| {
            message_with_hint(
                format!("cannot read --from-env-file {}: {e}", path.display()),
                "check the path",
            )
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            message_with_hint(
                format!("--from-env-file {} is not UTF-8 text", path.display()),
                "use --from-file KEY=PATH for binary values",
            )
        })?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let from = format!("--from-env-file {} line {}", path.display(), n + 1);
            let Some((key, value)) = line.split_once('=') else {
                return Err(message_with_hint(
                    format!("{from} is not KEY=VALUE (its text is not shown)"),
                    "write one KEY=VALUE per line; blank lines and lines starting with '#' are skipped",
                ));
            };
            add_value(
                &mut values,
                key,
                Zeroizing::new(value.as_bytes().to_vec()),
                &from,
            )?;
        }
    }
    if values.is_empty() {
        return Err(message_with_hint(
            "no items to set",
            "give KEY=VALUE arguments, --from-file KEY=PATH or --from-env-file PATH",
        ));
    }
    Ok(values)
}

/// The namespace and name the file's items are bound to, for its scope.
pub(crate) fn binding(
    file: &Path,
    sealed: &SealedSecret,
    scope: Scope,
) -> Result<(String, String)> {
    if scope == Scope::ClusterWide {
        return Ok((String::new(), String::new()));
    }
    let namespace = sealed.metadata.namespace.clone().unwrap_or_default();
    if namespace.is_empty() {
        return Err(message_with_hint(
            format!(
                "{} has no metadata.namespace, but its scope ({scope}) binds items to one",
                file.display()
            ),
            "set metadata.namespace in the file to the namespace it is applied in",
        ));
    }
    crate::names::check_namespace("metadata.namespace", &namespace)?;
    let name = match scope {
        Scope::Strict => {
            let name = sealed.metadata.name.clone().unwrap_or_default();
            crate::names::check_name("metadata.name", &name).with_context(|| {
                format!("{} (strict scope binds items to the name)", file.display())
            })?;
            name
        }
        _ => String::new(),
    };
    Ok((namespace, name))
}

/// `kubeseal set`.
pub fn set(flags: &SetFlags) -> Result<()> {
    let file = &flags.file;
    let mut target = read_target(file)?;
    let values = read_values(flags)?;
    let scope = Scope::from_annotations(target.sealed.metadata.annotations.as_ref());
    let (namespace, name) = binding(file, &target.sealed, scope)?;
    let key = flags.cert.source(file)?.public_key()?;
    let mut added = Vec::new();
    let mut replaced = Vec::new();
    let mut unchanged = Vec::new();
    let stable = match &flags.stable_cache {
        Some(dir) => Some(StableCache::open(dir)?),
        None => None,
    };
    let fingerprint = key.fingerprint().to_string();
    let label = scope.label(&namespace, &name);
    for (item, value) in &values {
        let binding = Binding {
            fingerprint: &fingerprint,
            label: &label,
            item,
        };
        if let Some(cache) = &stable
            && let Some(old) = target.sealed.spec.encrypted_data.get(item)
            && cache.holds(old, binding, value)
        {
            unchanged.push(item.as_str());
            continue;
        }
        let ciphertext = sealed_secrets::seal::seal_value(
            &mut rand::rngs::OsRng,
            &key,
            value,
            scope,
            &namespace,
            &name,
        )
        .with_context(|| format!("cannot seal item {item:?}"))?;
        if let Some(cache) = &stable {
            cache.record(&ciphertext, binding, value)?;
        }
        let previous = target
            .sealed
            .spec
            .encrypted_data
            .insert(item.clone(), ciphertext);
        if previous.is_some() {
            replaced.push(item.as_str());
        } else {
            added.push(item.as_str());
        }
    }
    if !added.is_empty() || !replaced.is_empty() {
        update_key_hint(&mut target, &key);
        write_target(file, &target)?;
    }
    eprintln!(
        "{}: {}",
        file.display(),
        summary(&[
            ("added", &added),
            ("replaced", &replaced),
            ("unchanged", &unchanged)
        ])
    );
    Ok(())
}

/// The key hint names the certificate that sealed the newest items: a file without one (Bitnami's)
/// gets none, and one naming another certificate is updated (the controller tries the hinted key
/// first and falls back to all keys).
pub(crate) fn update_key_hint(target: &mut Target, key: &sealed_secrets::keys::PublicKey) {
    let fingerprint = key.fingerprint().to_string();
    if let Some(hint) = target
        .sealed
        .metadata
        .annotations
        .as_mut()
        .and_then(|a| a.get_mut(KEY_HINT_ANNOTATION))
        && *hint != fingerprint
    {
        *hint = fingerprint;
    }
}

/// `kubeseal unset`.
pub fn unset(flags: &UnsetFlags) -> Result<()> {
    let file = &flags.file;
    let mut target = read_target(file)?;
    let data = &mut target.sealed.spec.encrypted_data;
    for key in &flags.keys {
        if !data.contains_key(key) {
            let items: Vec<&str> = data.keys().map(String::as_str).collect();
            return Err(message_with_hint(
                format!("{} has no item {key:?}", file.display()),
                format!("its items are: {}", items.join(", ")),
            ));
        }
    }
    for key in &flags.keys {
        data.remove(key);
    }
    if data.is_empty() {
        return Err(message_with_hint(
            format!("unset would remove every item of {}", file.display()),
            "delete the file instead, or keep at least one item",
        ));
    }
    write_target(file, &target)?;
    let removed: Vec<&str> = flags.keys.iter().map(String::as_str).collect();
    eprintln!("{}: {}", file.display(), summary(&[("removed", &removed)]));
    Ok(())
}

pub(crate) fn summary(parts: &[(&str, &[&str])]) -> String {
    parts
        .iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(what, items)| format!("{what} {}", items.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
