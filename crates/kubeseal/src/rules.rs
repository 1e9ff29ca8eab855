//! Repository sealing rules: a `.sealed-secrets.yaml` file, found by walking up from the file
//! being written (or the working directory when writing to stdout), says per path pattern which
//! certificate to seal with, its pinned SHA-256 fingerprint, and default scope, namespace and
//! controller. The first matching rule applies; flags and `SEALED_SECRETS_*` variables win.
//!
//! ```yaml
//! rules:
//!   - path: overlays/production/**
//!     cert: certs/production.pem      # relative to this file, or an http(s):// URL
//!     fingerprint: "AB:CD:..."        # openssl x509 -noout -fingerprint -sha256
//!     scope: strict
//!     namespace: production
//!     controllerName: sealed-secrets-controller
//!     controllerNamespace: kube-system
//! ```

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use sealed_secrets::keys::{Certificate, PublicKey};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::cert::{CertSource, parse_cert};
use crate::report::message_with_hint;

/// The rules file's name.
pub const FILE_NAME: &str = ".sealed-secrets.yaml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRule {
    path: Spanned<String>,
    cert: Option<Spanned<String>>,
    fingerprint: Option<Spanned<String>>,
    scope: Option<String>,
    namespace: Option<String>,
    controller_name: Option<String>,
    controller_namespace: Option<String>,
}

/// A pinned certificate fingerprint and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// SHA-256 of the DER certificate, lower-case hex without colons.
    pub sha256: String,
    /// The rules file.
    pub file: PathBuf,
    /// The line of the `fingerprint:` value.
    pub line: u64,
}

/// The rule that applies to one path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    /// `cert`: a path resolved against the rules file's directory, or a URL.
    pub cert: Option<String>,
    /// The rule, as `FILE:LINE` (the line of its `path`), for messages.
    pub at: String,
    /// `fingerprint`.
    pub pin: Option<Pin>,
    /// `scope`.
    pub scope: Option<sealed_secrets::Scope>,
    /// `namespace`.
    pub namespace: Option<String>,
    /// `controllerName`.
    pub controller_name: Option<String>,
    /// `controllerNamespace`.
    pub controller_namespace: Option<String>,
}

/// The rule for `target` (the file written, or `None` for stdout: the working directory).
pub fn find(target: Option<&Path>) -> Result<Option<Rule>> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let (start, subject) = match target {
        Some(path) => {
            let abs = cwd.join(path);
            let parent = abs.parent().map_or_else(|| cwd.clone(), Path::to_path_buf);
            (parent, abs)
        }
        None => (cwd.clone(), cwd.clone()),
    };
    let mut dir = Some(start.as_path());
    while let Some(d) = dir {
        let file = d.join(FILE_NAME);
        if file.is_file() {
            let rel = subject.strip_prefix(d).unwrap_or(&subject);
            return rule_for(&file, &rel.to_string_lossy());
        }
        dir = d.parent();
    }
    Ok(None)
}

/// Parses `file` and returns its first rule matching `rel` (a `/`-separated path relative to it).
pub fn rule_for(file: &Path, rel: &str) -> Result<Option<Rule>> {
    Ok(parse_file(file)?
        .into_iter()
        .find(|(pattern, _)| glob_match(pattern, rel))
        .map(|(_, rule)| rule))
}

/// The rules file that applies to `dir`: `.sealed-secrets.yaml` in it or the nearest directory above.
pub fn file_above(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|f| f.is_file())
}

/// Whether `pattern` (a rule's `path`) matches `rel`, a `/`-separated path relative to the rules file.
pub fn matches(pattern: &str, rel: &str) -> bool {
    glob_match(pattern, rel)
}

/// Every rule of `file` in order, each with its path pattern; a malformed file, an unknown key, a
/// bad scope or fingerprint in any rule is an error naming the file and line.
pub fn parse_file(file: &Path) -> Result<Vec<(String, Rule)>> {
    let file_shown = shown(file);
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {file_shown}"))?;
    let parsed: File = if text.trim().is_empty() {
        File { rules: Vec::new() }
    } else {
        serde_saphyr::from_str(&text).map_err(|e| {
            message_with_hint(
                located(&file_shown, &e),
                "a rules file is `rules:` with a list of `path:` patterns and `cert`, `fingerprint`, \
                 `scope`, `namespace`, `controllerName`, `controllerNamespace`; see README, \"Repository rules\"",
            )
        })?
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut rules = Vec::with_capacity(parsed.rules.len());
    for raw in parsed.rules {
        let at = |line: u64| format!("{file_shown}:{line}");
        let scope = match raw.scope.as_deref() {
            None => None,
            Some(s) => Some(s.parse::<sealed_secrets::Scope>().map_err(|_| {
                anyhow::anyhow!(
                    "{}: unknown scope {s:?} (strict, namespace-wide or cluster-wide)",
                    at(raw.path.referenced.line())
                )
            })?),
        };
        let pin = match raw.fingerprint {
            None => None,
            Some(fp) => Some(Pin {
                sha256: normalize(&fp.value).ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: fingerprint {:?} is not a SHA-256 fingerprint (64 hex digits, colons allowed)",
                        at(fp.referenced.line()),
                        fp.value
                    )
                })?,
                file: file.to_path_buf(),
                line: fp.referenced.line(),
            }),
        };
        let cert = raw.cert.map(|c| c.value).map(|c| {
            match CertSource::from_flag(&c, "", "", &Default::default()) {
                CertSource::File(p) => shown(&lexical(&dir.join(p))),
                _ => c,
            }
        });
        rules.push((
            raw.path.value,
            Rule {
                cert,
                at: at(raw.path.referenced.line()),
                pin,
                scope,
                namespace: raw.namespace,
                controller_name: raw.controller_name,
                controller_namespace: raw.controller_namespace,
            },
        ));
    }
    Ok(rules)
}

/// `path` relative to the working directory (with `..` where it is above it), as messages and
/// tests want it; absolute where there is no common root.
pub fn shown(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) => relative(path, &cwd),
        Err(_) => path.display().to_string(),
    }
}

/// `path` relative to the directory `base` (both absolute), with `..` where needed.
fn relative(path: &Path, base: &Path) -> String {
    use std::path::Component;
    let path = &lexical(path);
    let (p, c): (Vec<Component>, Vec<Component>) =
        (path.components().collect(), base.components().collect());
    let common = p.iter().zip(&c).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return path.display().to_string();
    }
    let mut rel = PathBuf::new();
    for _ in common..c.len() {
        rel.push("..");
    }
    for comp in &p[common..] {
        rel.push(comp);
    }
    rel.display().to_string()
}

/// The parser's message as `FILE:LINE:COLUMN: what` (without its source snippet).
fn located(file: &str, e: &serde_saphyr::Error) -> String {
    let msg = e.without_snippet().to_string();
    let msg = msg.strip_prefix("error: ").unwrap_or(&msg);
    match e.location() {
        Some(loc) => {
            let prefix = format!("line {} column {}: ", loc.line(), loc.column());
            let suffix = format!(" at line {}, column {}", loc.line(), loc.column());
            let what = msg.strip_prefix(prefix.as_str()).unwrap_or(msg);
            let what = what.strip_suffix(suffix.as_str()).unwrap_or(what);
            format!("{file}:{}:{}: {what}", loc.line(), loc.column())
        }
        None => format!("{file}: {msg}"),
    }
}

/// Lower-case hex without colons, if `fp` is 32 bytes of hex.
fn normalize(fp: &str) -> Option<String> {
    let hex: String = fp
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

/// A fingerprint as `openssl x509 -fingerprint -sha256` prints it.
pub fn openssl_form(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// SHA-256 of the first certificate in `pem`, lower-case hex.
pub fn fingerprint(pem: &[u8]) -> Result<String> {
    use sha2::Digest as _;
    let certs = Certificate::parse_pem_chain(pem)?;
    let Some(cert) = certs.first() else {
        bail!("data does not contain any valid RSA or ECDSA certificates");
    };
    let digest = sha2::Sha256::digest(cert.der());
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// A certificate source with the pin of the rule that applies, if any.
#[derive(Debug)]
pub struct PinnedCert {
    /// Where the certificate comes from.
    pub source: CertSource,
    /// The pinned fingerprint.
    pub pin: Option<Pin>,
    /// The rule the certificate source came from (`FILE:LINE`), if it did.
    pub from_rule: Option<String>,
}

impl PinnedCert {
    /// The certificate bytes, checked against the pin.
    pub fn fetch(&self) -> Result<Vec<u8>> {
        let pem = match &self.from_rule {
            Some(at) => self
                .source
                .fetch()
                .with_context(|| format!("the certificate of the rule at {at}"))?,
            None => self.source.fetch()?,
        };
        if let Some(pin) = &self.pin {
            let got = fingerprint(&pem)?;
            if got != pin.sha256 {
                return Err(message_with_hint(
                    format!(
                        "the certificate's SHA-256 fingerprint {} does not match {} pinned at {}:{}",
                        openssl_form(&got),
                        openssl_form(&pin.sha256),
                        shown(&pin.file),
                        pin.line
                    ),
                    "nothing was sealed; if the controller's key was renewed on purpose, check the new \
                     certificate out of band and update the rule (`kubeseal --fetch-cert --pin`)",
                ));
            }
        }
        Ok(pem)
    }

    /// Fetches, checks against the pin, parses; returns the public key.
    pub fn public_key(&self) -> Result<PublicKey> {
        let pem = self.fetch()?;
        parse_cert(&pem, SystemTime::now())
    }
}

/// `path` without `.` and with each `..` removing the component before it (no symbolic links read).
pub fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `kubeseal --fetch-cert --pin`: writes or updates the rule for the working directory in the
/// nearest rules file (a new `.sealed-secrets.yaml` here if there is none) with `sha256` and,
/// if known, `cert` (an absolute path, or a URL). The rest of the file is kept line for line.
/// Returns the message to show.
pub fn pin_here(cert: Option<&str>, sha256: &str) -> Result<String> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let file = cwd
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|f| f.is_file())
        .unwrap_or_else(|| {
            let root = cwd
                .ancestors()
                .find(|d| d.join(".git").exists())
                .unwrap_or(&cwd);
            root.join(FILE_NAME)
        });
    let dir = file.parent().unwrap_or(&cwd).to_path_buf();
    let pattern = match cwd.strip_prefix(&dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => format!("{}/**", rel.to_string_lossy()),
        _ => "**".to_owned(),
    };
    let cert = cert.map(
        |c| match CertSource::from_flag(c, "", "", &Default::default()) {
            CertSource::File(p) => relative(&cwd.join(p), &dir),
            _ => c.to_owned(),
        },
    );
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", shown(&file))),
    };
    let file_shown = shown(&file);
    let parse = |text: &str| -> Result<File> {
        if text.trim().is_empty() {
            return Ok(File { rules: Vec::new() });
        }
        serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!(located(&file_shown, &e)))
    };
    let parsed = parse(&text)?;
    let fingerprint = format!("\"{}\"", openssl_form(sha256));
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let existing = parsed.rules.iter().find(|r| r.path.value == pattern);
    let line = if let Some(rule) = existing {
        let path_line = usize::try_from(rule.path.referenced.line())
            .unwrap_or(0)
            .saturating_sub(1);
        let indent = lines
            .get(path_line)
            .and_then(|l| l.find("path:"))
            .unwrap_or(4);
        let mut changes = vec![(
            "fingerprint",
            rule.fingerprint.as_ref().map(|f| f.referenced.line()),
            fingerprint,
        )];
        if let Some(cert) = &cert {
            changes.push((
                "cert",
                rule.cert.as_ref().map(|c| c.referenced.line()),
                quoted(cert),
            ));
        }
        // Replace the lines of the keys the rule has first, then insert the others (which
        // moves the lines after them).
        changes.sort_by_key(|(_, span, _)| span.is_none());
        for (key, span, value) in changes {
            match span.and_then(|l| usize::try_from(l).ok()) {
                Some(l) => {
                    let line = &mut lines[l - 1];
                    if let Some(at) = line.find(&format!("{key}:")) {
                        *line = format!("{}{key}: {value}", &line[..at]);
                    }
                }
                None => lines.insert(
                    path_line + 1,
                    format!("{}{key}: {value}", " ".repeat(indent)),
                ),
            }
        }
        rule.path.referenced.line()
    } else {
        let mut new = vec![format!("  - path: {}", quoted(&pattern))];
        if let Some(cert) = &cert {
            new.push(format!("    cert: {}", quoted(cert)));
        }
        new.push(format!("    fingerprint: {fingerprint}"));
        // Before the first rule that applies here now (first match wins), else last.
        let before = parsed
            .rules
            .iter()
            .find(|r| glob_match(&r.path.value, pattern.trim_end_matches("/**")))
            .and_then(|r| usize::try_from(r.path.referenced.line()).ok())
            .filter(|l| {
                lines
                    .get(l - 1)
                    .is_some_and(|t| t.trim_start().starts_with("- "))
            });
        if parsed.rules.is_empty() && !lines.iter().any(|l| l.starts_with("rules:")) {
            lines.push("rules:".to_owned());
        }
        let at = before.map_or(lines.len(), |l| l - 1);
        let indent = before.map_or(2, |l| lines[l - 1].find('-').unwrap_or(2));
        for (i, l) in new.into_iter().enumerate() {
            let l = format!("{}{}", " ".repeat(indent), l.trim_start());
            let l = if i == 0 { l } else { format!("  {l}") };
            lines.insert(at + i, l);
        }
        u64::try_from(at + 1).unwrap_or(0)
    };
    let mut out = lines.join("\n");
    out.push('\n');
    // Check the edit by reading it back: the rule must now carry the new pin.
    let check = parse(&out)?;
    let ok = check
        .rules
        .iter()
        .find(|r| r.path.value == pattern)
        .is_some_and(|r| {
            r.fingerprint
                .as_ref()
                .and_then(|f| normalize(&f.value))
                .as_deref()
                == Some(sha256)
        });
    if !ok {
        return Err(message_with_hint(
            format!("cannot update {file_shown} line by line (flow style or an unusual layout)"),
            format!(
                "add `fingerprint: \"{}\"` to the rule for {pattern} by hand",
                openssl_form(sha256)
            ),
        ));
    }
    crate::output::replace_file(&file, out.as_bytes())?;
    Ok(format!(
        "pinned SHA-256 fingerprint {} for {pattern} in {file_shown}:{line}",
        openssl_form(sha256)
    ))
}

/// Glob match of a `/`-separated path: `*` and `?` within one segment, `**` any number of segments.
fn glob_match(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern
        .trim_start_matches("./")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match_segs(&pat, &segs)
}

fn match_segs(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|i| match_segs(rest, &segs[i..])),
        Some((p, rest)) => segs.split_first().is_some_and(|(s, srest)| {
            match_seg(p.as_bytes(), s.as_bytes()) && match_segs(rest, srest)
        }),
    }
}

fn match_seg(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| match_seg(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && match_seg(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && match_seg(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "overlays/production/**",
            "overlays/production/db.sealed.yaml"
        ));
        assert!(glob_match("overlays/production/**", "overlays/production"));
        assert!(glob_match("**/*.yaml", "a/b/c.yaml"));
        assert!(glob_match("base/*.yaml", "base/x.yaml"));
        assert!(!glob_match("base/*.yaml", "base/sub/x.yaml"));
        assert!(!glob_match(
            "overlays/production/**",
            "overlays/staging/db.yaml"
        ));
    }

    #[test]
    fn fingerprints() {
        assert_eq!(
            normalize(&"AB:".repeat(31).to_string().replace(' ', "")),
            None
        );
        let hex = "ab".repeat(32);
        assert_eq!(normalize(&openssl_form(&hex)), Some(hex));
    }
}
