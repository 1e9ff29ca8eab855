//! `kubeseal lint [PATH...]`: offline checks of SealedSecret manifests for CI, without a cluster
//! or a private key.
//!
//! Reads files, directories (recursively: `*.yaml`, `*.yml`, `*.json`) or stdin (`-`), every
//! document of a stream and every item of a List. Errors: a plain Secret that carries values,
//! a strict or namespace-wide SealedSecret whose name or namespace differs from the one its
//! template says it was sealed for (what kustomize `namePrefix`/`namespace` overlays break),
//! an undecodable ciphertext or one of the wrong size for the certificate it claims (`--cert`),
//! a key hint naming a certificate outside those given, and a SealedSecret without any item.
//! Warnings: sealed with an older certificate than the newest given, a given certificate near
//! expiry, and scope annotations that contradict each other.
//!
//! Output is for people (default), `--format json` or `--format sarif` (SARIF 2.1.0). Exit
//! status 1 on errors (and on warnings with `--strict`). No secret value ever appears.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use base64::Engine;
use clap::{Parser, ValueEnum};
use sealed_secrets::keys::Certificate;
use sealed_secrets::manifest::{self, Object, Untyped};
use sealed_secrets::names::{
    CLUSTER_WIDE_ANNOTATION, KEY_HINT_ANNOTATION, NAMESPACE_WIDE_ANNOTATION,
};
use sealed_secrets::{Scope, SealedSecret};
use serde_json::json;

/// Offline checks of SealedSecret manifests (no cluster, no private key).
#[derive(Debug, Parser)]
pub struct LintFlags {
    /// Files or directories to check (directories recursively: *.yaml, *.yml, *.json); `-` reads stdin
    #[arg(value_name = "PATH", default_value = "-")]
    pub paths: Vec<String>,

    /// Certificate (PEM file) the SealedSecrets may be sealed with; repeat for several
    #[arg(long, value_name = "FILE")]
    pub cert: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: LintFormat,

    /// Exit with status 1 on warnings too
    #[arg(long)]
    pub strict: bool,

    /// Warn about a given certificate that expires within this many days
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub expiry_days: u64,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// For people: FILE:LINE: level[rule]: what, then how to fix
    Text,
    /// One JSON object with every finding
    Json,
    /// SARIF 2.1.0, for code-scanning views
    Sarif,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Error,
    Warning,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// One problem found.
#[derive(Debug)]
struct Finding {
    level: Level,
    rule: &'static str,
    file: String,
    line: usize,
    message: String,
    fix: String,
}

/// The rules, with a short description each (SARIF `tool.driver.rules`).
const RULES: [(&str, &str); 9] = [
    (
        "bad-input",
        "The input cannot be read as Kubernetes manifests",
    ),
    (
        "unsealed-secret",
        "A plain Secret with values is stored next to the SealedSecrets",
    ),
    (
        "scope-name-mismatch",
        "A strict-scoped SealedSecret was renamed or moved after sealing",
    ),
    (
        "scope-namespace-mismatch",
        "A namespace-wide SealedSecret was moved after sealing",
    ),
    (
        "bad-ciphertext",
        "A value is not a ciphertext for the certificate it was sealed with",
    ),
    (
        "unknown-key",
        "The key hint names a certificate outside those given",
    ),
    ("empty", "A SealedSecret without any item"),
    (
        "old-key",
        "Sealed with an older certificate than the newest given",
    ),
    ("cert-expiry", "A given certificate expires soon"),
];

/// The scope conflict rule (a warning), listed apart to keep [`RULES`] readable.
const SCOPE_CONFLICT: (&str, &str) = (
    "scope-conflict",
    "Scope annotations that contradict each other",
);

/// A certificate given with `--cert`.
struct GivenCert {
    file: String,
    fingerprint: String,
    modulus_len: usize,
    not_before: SystemTime,
}

/// Runs `kubeseal lint` with the process's arguments (`args[1]` is `lint`).
pub fn run(args: Vec<OsString>) -> Result<()> {
    let mut argv = vec![OsString::from("kubeseal lint")];
    argv.extend(args.into_iter().skip(2));
    let flags = LintFlags::try_parse_from(argv).unwrap_or_else(|e| e.exit());
    lint(&flags)
}

fn lint(flags: &LintFlags) -> Result<()> {
    let mut findings = Vec::new();
    let certs = read_certs(flags, &mut findings)?;
    for path in &flags.paths {
        if path == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            check_stream("-", &bytes, &certs, &mut findings);
        } else {
            let path = Path::new(path);
            if !path.exists() {
                anyhow::bail!("{}: no such file or directory", path.display());
            }
            for file in files_under(path)? {
                let name = file.display().to_string();
                match std::fs::read(&file) {
                    Ok(bytes) => check_stream(&name, &bytes, &certs, &mut findings),
                    Err(e) => findings.push(Finding {
                        level: Level::Error,
                        rule: "bad-input",
                        file: name,
                        line: 1,
                        message: format!("cannot read the file: {e}"),
                        fix: "make the file readable".into(),
                    }),
                }
            }
        }
    }
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    let warnings = findings.len() - errors;
    let out = match flags.format {
        LintFormat::Text => text(&findings, errors, warnings),
        LintFormat::Json => json_report(&findings, errors, warnings),
        LintFormat::Sarif => sarif(&findings),
    };
    use std::io::Write;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    if errors > 0 || (flags.strict && warnings > 0) {
        anyhow::bail!("lint found {errors} error(s) and {warnings} warning(s)");
    }
    Ok(())
}

/// Files to read for one path argument: the file itself, or the manifests under a directory
/// in sorted order (`*.yaml`, `*.yml`, `*.json`, recursively).
fn files_under(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read directory {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        // Symbolic links to directories are not followed (no loops); links to files are read.
        let is_dir = std::fs::symlink_metadata(&entry).is_ok_and(|m| m.is_dir());
        if is_dir {
            out.extend(files_under(&entry)?);
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(entry);
        }
    }
    Ok(out)
}

fn read_certs(flags: &LintFlags, findings: &mut Vec<Finding>) -> Result<Vec<GivenCert>> {
    let now = SystemTime::now();
    let soon = now + Duration::from_secs(flags.expiry_days.saturating_mul(86_400));
    let mut certs = Vec::new();
    for path in &flags.cert {
        let file = path.display().to_string();
        let pem = std::fs::read(path).with_context(|| format!("cannot read certificate {file}"))?;
        let chain = Certificate::parse_pem_chain(&pem)
            .with_context(|| format!("cannot read certificate {file}"))?;
        let cert = chain
            .first()
            .with_context(|| format!("no certificate in {file}"))?;
        let key = cert
            .public_key()
            .with_context(|| format!("cannot read the public key of certificate {file}"))?;
        if cert.not_after() < soon {
            let expired = cert.not_after() < now;
            findings.push(Finding {
                level: Level::Warning,
                rule: "cert-expiry",
                file: file.clone(),
                line: 1,
                message: format!(
                    "certificate {} {} {}",
                    key.fingerprint(),
                    if expired { "expired on" } else { "expires on" },
                    crate::cert::go_long_date(cert.not_after())
                ),
                fix: "renew the sealing key on the controller and fetch the new certificate (kubeseal --fetch-cert)".into(),
            });
        }
        certs.push(GivenCert {
            file,
            fingerprint: key.fingerprint().to_string(),
            modulus_len: key.modulus_len(),
            not_before: cert.not_before(),
        });
    }
    Ok(certs)
}

fn check_stream(file: &str, bytes: &[u8], certs: &[GivenCert], findings: &mut Vec<Finding>) {
    let docs = match manifest::parse_documents(bytes, Untyped::SealedSecret) {
        Ok(docs) => docs,
        Err(e) => {
            findings.push(Finding {
                level: Level::Error,
                rule: "bad-input",
                file: file.to_owned(),
                line: e.position().map_or(1, |p| p.line),
                message: format!("cannot read the manifests: {e}"),
                fix: "fix the file's YAML or JSON syntax".into(),
            });
            return;
        }
    };
    let text = String::from_utf8_lossy(bytes);
    for doc in docs {
        let start = doc.position.line;
        let in_list = doc.position.item.is_some();
        let mut push = |item: Option<&str>, level, rule, message: String, fix: &str| {
            // An item's own line when it can be told (not inside a List, where keys may repeat).
            let line = item
                .filter(|_| !in_list)
                .and_then(|key| item_line(&text, start, key))
                .unwrap_or(start);
            findings.push(Finding {
                level,
                rule,
                file: file.to_owned(),
                line,
                message,
                fix: fix.to_owned(),
            });
        };
        match doc.object {
            Object::Secret(secret) => {
                let count = secret.data.as_ref().map_or(0, BTreeMap::len)
                    + secret.string_data.as_ref().map_or(0, BTreeMap::len);
                if count > 0 {
                    push(
                        None,
                        Level::Error,
                        "unsealed-secret",
                        format!(
                            "{} carries {count} unencrypted value(s) in data/stringData",
                            doc_name("Secret", &secret.metadata)
                        ),
                        "seal it (kubeseal --cert CERT -f FILE -w FILE) and delete the plain Secret; rotate the values, they are in the history",
                    );
                }
            }
            Object::SealedSecret(sealed) => check_sealed(&sealed, certs, &mut push),
            Object::Other { .. } => {}
        }
    }
}

/// The 1-based line of item `key` of `encryptedData` (`key:` or `"key":` at the start of a line, after
/// the `encryptedData` line) in the document that starts on line `start`, before the next `---`.
fn item_line(text: &str, start: usize, key: &str) -> Option<usize> {
    let yaml = format!("{key}:");
    let json = format!("\"{key}\":");
    let mut seen_encrypted_data = false;
    text.lines()
        .enumerate()
        .skip(start.saturating_sub(1))
        .take_while(|(i, l)| *i + 1 == start || !l.starts_with("---"))
        .find(|(_, l)| {
            let l = l.trim_start();
            if l.starts_with("encryptedData:") || l.starts_with("\"encryptedData\":") {
                // A compact JSON document has every item on this line: no line of its own.
                seen_encrypted_data = !l.contains(',');
                return false;
            }
            seen_encrypted_data && (l.starts_with(&yaml) || l.starts_with(&json))
        })
        .map(|(i, _)| i + 1)
}

fn doc_name(
    kind: &str,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> String {
    format!(
        "{kind} \"{}/{}\"",
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or("")
    )
}

fn check_sealed(
    sealed: &SealedSecret,
    certs: &[GivenCert],
    push: &mut impl FnMut(Option<&str>, Level, &'static str, String, &str),
) {
    let meta = &sealed.metadata;
    let what = doc_name("SealedSecret", meta);
    let annotations = meta.annotations.as_ref();
    let scope = Scope::from_annotations(annotations);
    let template = &sealed.spec.template.metadata;
    let is_true = |a: Option<&BTreeMap<String, String>>, key: &str| {
        a.and_then(|a| a.get(key)).is_some_and(|v| v == "true")
    };
    let empty = String::new();
    let name = meta.name.as_ref().unwrap_or(&empty);
    let namespace = meta.namespace.as_ref().unwrap_or(&empty);

    // Scope: the template keeps the name and namespace the values were sealed for.
    if scope != Scope::ClusterWide {
        if let Some(sealed_ns) = template.namespace.as_ref().filter(|n| !n.is_empty())
            && !namespace.is_empty()
            && sealed_ns != namespace
        {
            let rule = if scope == Scope::Strict {
                "scope-name-mismatch"
            } else {
                "scope-namespace-mismatch"
            };
            push(
                None,
                Level::Error,
                rule,
                format!(
                    "{what} is {} but was sealed for namespace \"{sealed_ns}\" (spec.template.metadata.namespace); the controller cannot decrypt it in \"{namespace}\"",
                    scope.as_str()
                ),
                "seal it again for this namespace, or keep the namespace (exclude the SealedSecret from the kustomize namespace transformer), or seal with --scope cluster-wide",
            );
        }
        if scope == Scope::Strict
            && let Some(sealed_name) = template.name.as_ref().filter(|n| !n.is_empty())
            && !name.is_empty()
            && sealed_name != name
        {
            push(
                None,
                Level::Error,
                "scope-name-mismatch",
                format!(
                    "{what} is strict but was sealed for name \"{sealed_name}\" (spec.template.metadata.name); the controller cannot decrypt it as \"{name}\""
                ),
                "seal it again for this name, or keep the name (no namePrefix/nameSuffix for SealedSecrets), or seal with --scope namespace-wide",
            );
        }
    }

    // Scope annotations that contradict each other.
    if is_true(annotations, CLUSTER_WIDE_ANNOTATION)
        && is_true(annotations, NAMESPACE_WIDE_ANNOTATION)
    {
        push(
            None,
            Level::Warning,
            "scope-conflict",
            format!("{what} is annotated both cluster-wide and namespace-wide (cluster-wide wins)"),
            "keep only the annotation of the scope it was sealed with",
        );
    }
    let template_annotations = template.annotations.as_ref();
    let has_scope_annotation = |a: Option<&BTreeMap<String, String>>| {
        a.is_some_and(|a| {
            a.contains_key(CLUSTER_WIDE_ANNOTATION) || a.contains_key(NAMESPACE_WIDE_ANNOTATION)
        })
    };
    if has_scope_annotation(template_annotations) {
        let template_scope = Scope::from_annotations(template_annotations);
        if template_scope != scope {
            push(
                None,
                Level::Warning,
                "scope-conflict",
                format!(
                    "{what} is {} by its annotations but its template says {}",
                    scope.as_str(),
                    template_scope.as_str()
                ),
                "make spec.template.metadata.annotations agree with metadata.annotations (seal again with the intended --scope)",
            );
        }
    }

    // Items.
    let template_data = sealed
        .spec
        .template
        .data
        .as_ref()
        .is_some_and(|d| !d.is_empty());
    if sealed.spec.encrypted_data.is_empty() && !template_data && sealed.spec.data.is_none() {
        push(
            None,
            Level::Error,
            "empty",
            format!("{what} has no encryptedData and no template data"),
            "seal the Secret's values into it (kubeseal set FILE KEY=VALUE --cert CERT)",
        );
    }

    // The certificate it claims.
    let hint = annotations.and_then(|a| a.get(KEY_HINT_ANNOTATION));
    let mut claimed: Option<&GivenCert> = None;
    if let Some(hint) = hint
        && !certs.is_empty()
    {
        claimed = certs.iter().find(|c| &c.fingerprint == hint);
        match claimed {
            None => push(
                None,
                Level::Error,
                "unknown-key",
                format!(
                    "{what} was sealed with key {hint} ({KEY_HINT_ANNOTATION}), not one of the given certificates"
                ),
                "re-encrypt it with a current key (kubeseal --re-encrypt), or pass that key's certificate with --cert",
            ),
            Some(c) => {
                if let Some(newest) = certs.iter().max_by_key(|c| c.not_before)
                    && newest.not_before > c.not_before
                {
                    push(
                        None,
                        Level::Warning,
                        "old-key",
                        format!(
                            "{what} was sealed with the certificate of {} but {} is newer",
                            c.file, newest.file
                        ),
                        "re-encrypt it with the newest key (kubeseal --re-encrypt, or seal again with the newest certificate)",
                    );
                }
            }
        }
    }
    let sizes: Vec<usize> = match claimed {
        Some(c) => vec![c.modulus_len],
        None => certs.iter().map(|c| c.modulus_len).collect(),
    };
    for (key, value) in &sealed.spec.encrypted_data {
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(value) else {
            push(
                Some(key),
                Level::Error,
                "bad-ciphertext",
                format!("{what}: item \"{key}\" is not valid base64"),
                "seal the item again (kubeseal set FILE KEY=VALUE --cert CERT)",
            );
            continue;
        };
        let rsa_len = if bytes.len() >= 2 {
            usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))
        } else {
            0
        };
        if bytes.len() < 2 + rsa_len + 16 || rsa_len == 0 {
            push(
                Some(key),
                Level::Error,
                "bad-ciphertext",
                format!(
                    "{what}: item \"{key}\" is too short for a sealed value ({} bytes)",
                    bytes.len()
                ),
                "seal the item again (kubeseal set FILE KEY=VALUE --cert CERT)",
            );
            continue;
        }
        if !sizes.is_empty() && !sizes.contains(&rsa_len) {
            let expected: Vec<String> = sizes.iter().map(|s| (s * 8).to_string()).collect();
            push(
                Some(key),
                Level::Error,
                "bad-ciphertext",
                format!(
                    "{what}: item \"{key}\" was encrypted for a {}-bit key, the certificate is {}-bit",
                    rsa_len * 8,
                    expected.join("/")
                ),
                "seal the item again with the right certificate (kubeseal set FILE KEY=VALUE --cert CERT)",
            );
        }
    }
}

fn text(findings: &[Finding], errors: usize, warnings: usize) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{}:{}: {}[{}]: {}\n  fix: {}\n",
            f.file,
            f.line,
            f.level.as_str(),
            f.rule,
            f.message,
            f.fix
        ));
    }
    out.push_str(&format!("{errors} error(s), {warnings} warning(s)\n"));
    out
}

fn json_report(findings: &[Finding], errors: usize, warnings: usize) -> String {
    let items: Vec<_> = findings
        .iter()
        .map(|f| {
            json!({
                "level": f.level.as_str(),
                "rule": f.rule,
                "file": f.file,
                "line": f.line,
                "message": f.message,
                "fix": f.fix,
            })
        })
        .collect();
    let report = json!({"findings": items, "errors": errors, "warnings": warnings});
    format!("{:#}\n", report)
}

fn sarif(findings: &[Finding]) -> String {
    let rules: Vec<_> = RULES
        .iter()
        .chain(std::iter::once(&SCOPE_CONFLICT))
        .map(|(id, text)| json!({"id": id, "shortDescription": {"text": text}}))
        .collect();
    let results: Vec<_> = findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.rule,
                "level": f.level.as_str(),
                "message": {"text": format!("{} (fix: {})", f.message, f.fix)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f.file},
                    "region": {"startLine": f.line},
                }}],
            })
        })
        .collect();
    let report = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kubeseal lint",
                "informationUri": "https://github.com/bitnami-labs/sealed-secrets",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    format!("{:#}\n", report)
}
