//! `kubeseal lint [PATH...]`: offline checks of SealedSecret manifests for CI, without a cluster
//! or a private key.
//!
//! Reads files, directories (recursively: `*.yaml`, `*.yml`, `*.json`) or stdin (`-`), every
//! document of a stream and every item of a List. Errors: a plain Secret that carries values,
//! a strict or namespace-wide SealedSecret whose name or namespace differs from the one its
//! template says it was sealed for (what kustomize `namePrefix`/`namespace` overlays break),
//! an undecodable ciphertext or one of the wrong size for the certificate it claims, a key hint
//! naming a certificate outside those given (`--cert`) or pinned by the repository rules
//! (`.sealed-secrets.yaml`, found above each path as when sealing), a rule whose certificate does
//! not match its pin, and a SealedSecret without any item. Warnings: sealed with an older
//! certificate than the newest given or the one its path's rule pins, or with another rule's
//! certificate; a certificate near expiry; a pin lint cannot check offline; scope annotations
//! that contradict each other.
//!
//! Output is for people (default), `--format json` or `--format sarif` (SARIF 2.1.0). Exit
//! status 1 on errors (and on warnings with `--strict`). No secret value ever appears.

mod certs;
mod checks;
mod report;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use sealed_secrets::manifest::{self, Object, Untyped};

use self::certs::{KnownCert, RuleSet};
use self::checks::{At, Trust, check_sealed};
use self::report::{Finding, Level, json_report, sarif, text};

/// Offline checks of SealedSecret manifests (no cluster, no private key).
#[derive(Debug, Parser)]
pub struct LintFlags {
    /// Files or directories to check (directories recursively: *.yaml, *.yml, *.json); `-` reads stdin
    #[arg(value_name = "PATH", default_value = "-")]
    pub paths: Vec<String>,

    /// Certificate (PEM file) the SealedSecrets may be sealed with; repeat for several
    #[arg(long, value_name = "FILE")]
    pub cert: Vec<PathBuf>,

    /// Repository rules file whose pinned certificates apply to every path (default: the
    /// `.sealed-secrets.yaml` found above each path, or above the working directory for stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "no_rules")]
    pub rules: Option<PathBuf>,

    /// Ignore repository rules files
    #[arg(long)]
    pub no_rules: bool,

    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: LintFormat,

    /// Exit with status 1 on warnings too
    #[arg(long)]
    pub strict: bool,

    /// Warn about a given or pinned certificate that expires within this many days
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

/// Runs `kubeseal lint` with the process's arguments (`args[1]` is `lint`).
pub fn run(args: Vec<OsString>) -> Result<()> {
    let mut argv = vec![OsString::from("kubeseal lint")];
    argv.extend(args.into_iter().skip(2));
    let flags = LintFlags::try_parse_from(argv).unwrap_or_else(|e| e.exit());
    lint(&flags)
}

fn lint(flags: &LintFlags) -> Result<()> {
    let mut findings = Vec::new();
    let given = certs::from_flags(&flags.cert, flags.expiry_days, &mut findings)?;
    let mut rule_sets = RuleSets::default();
    for path in &flags.paths {
        if path == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            let cwd = std::env::current_dir().context("cannot read the working directory")?;
            let set = rule_sets.for_dir(flags, &cwd, &mut findings)?;
            // Stdin has no path: the pinned set applies, no rule's own certificate.
            let trust = trust(&given, set, None);
            check_stream("-", &bytes, &trust, &mut findings);
        } else {
            let path = Path::new(path);
            if !path.exists() {
                anyhow::bail!("{}: no such file or directory", path.display());
            }
            let dir = if path.is_dir() {
                path
            } else {
                path.parent().unwrap_or(Path::new(""))
            };
            let cwd = std::env::current_dir().context("cannot read the working directory")?;
            let set = rule_sets.for_dir(flags, &cwd.join(dir), &mut findings)?;
            for file in files_under(path)? {
                let name = file.display().to_string();
                let trust = trust(&given, set, Some(&file));
                match std::fs::read(&file) {
                    Ok(bytes) => check_stream(&name, &bytes, &trust, &mut findings),
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

/// The rules files read so far, each once (a file's findings are reported once).
#[derive(Default)]
struct RuleSets {
    sets: BTreeMap<PathBuf, RuleSet>,
}

impl RuleSets {
    /// The rules that apply under `dir`: `--rules`, else the nearest `.sealed-secrets.yaml`.
    fn for_dir(
        &mut self,
        flags: &LintFlags,
        dir: &Path,
        findings: &mut Vec<Finding>,
    ) -> Result<Option<&RuleSet>> {
        if flags.no_rules {
            return Ok(None);
        }
        let file = match &flags.rules {
            Some(file) => {
                if !file.is_file() {
                    anyhow::bail!("--rules {}: no such file", file.display());
                }
                file.clone()
            }
            None => match crate::rules::file_above(dir) {
                Some(file) => file,
                None => return Ok(None),
            },
        };
        if !self.sets.contains_key(&file) {
            let set = RuleSet::load(&file, flags.expiry_days, findings)?;
            self.sets.insert(file.clone(), set);
        }
        Ok(self.sets.get(&file))
    }
}

/// What one file is checked against: the given certificates, the rules' pinned ones, and the
/// certificate of the rule for its path.
fn trust<'a>(given: &'a [KnownCert], set: Option<&'a RuleSet>, file: Option<&Path>) -> Trust<'a> {
    let mut trust = Trust {
        given,
        all: given.iter().collect(),
        ..Trust::default()
    };
    if let Some(set) = set {
        trust.all.extend(set.certs.iter());
        trust.rules_file = Some(&set.file);
        trust.unreadable_pins = set.unreadable_pins;
        if let Some((rule, Some(cert))) = file.and_then(|f| set.rule_for(f)) {
            trust.expected = Some((cert, rule.at.as_str()));
        }
    }
    trust
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
            .file_name()
            .is_some_and(|n| n == crate::rules::FILE_NAME)
        {
            // The repository rules, not a manifest.
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

fn check_stream(file: &str, bytes: &[u8], trust: &Trust<'_>, findings: &mut Vec<Finding>) {
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
        let mut push = |at: At<'_>, level, rule, message: String, fix: &str| {
            // The line of the item or field when it can be told (not inside a List, where keys
            // repeat), else the document's first line.
            let line = match at {
                _ if in_list => None,
                At::Item(key) => item_line(&text, start, key),
                At::Field(path) => field_line(&text, start, path),
            }
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
                    let field: &[&str] = if secret.data.as_ref().is_some_and(|d| !d.is_empty()) {
                        &["data"]
                    } else {
                        &["stringData"]
                    };
                    push(
                        At::Field(field),
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
            Object::SealedSecret(sealed) => check_sealed(&sealed, trust, &mut push),
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

/// The 1-based line of the field at `path` in a block-style YAML document that starts on line
/// `start` (each key on its own line, children indented deeper), before the next `---`; `None`
/// for flow style, JSON or a missing field.
fn field_line(text: &str, start: usize, path: &[&str]) -> Option<usize> {
    // The parent's indentation and that of its children (known at the first child line).
    let mut parent: Option<usize> = None;
    let mut children: Option<usize> = None;
    let mut depth = 0;
    for (i, line) in text.lines().enumerate().skip(start.saturating_sub(1)) {
        if i + 1 != start && line.starts_with("---") {
            return None;
        }
        let trimmed = line.trim_start();
        // Blank lines, comments and JSON's lines of braces alone hold no key.
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || trimmed.starts_with("---")
            || trimmed
                .trim_end_matches(',')
                .chars()
                .all(|c| "{}[]".contains(c))
        {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if parent.is_some_and(|p| indent <= p) {
            return None; // left the parent's block without finding the key
        }
        let want = *children.get_or_insert(indent);
        if indent != want {
            continue; // deeper: a grandchild
        }
        let key = path[depth];
        if trimmed.starts_with(&format!("{key}:")) || trimmed.starts_with(&format!("\"{key}\":")) {
            depth += 1;
            if depth == path.len() {
                return Some(i + 1);
            }
            parent = Some(indent);
            children = None;
        }
    }
    None
}

/// `Kind "namespace/name"`, for messages.
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

#[cfg(test)]
mod tests {
    use super::field_line;

    const DOC: &str = "---\nkind: SealedSecret\nspec:\n  template:\n    metadata:\n      name: inner\nmetadata:\n  # a comment\n  annotations:\n    a: b\n  name: outer\n---\nmetadata:\n  name: next\n";

    #[test]
    fn fields_are_found_at_their_own_depth() {
        assert_eq!(field_line(DOC, 1, &["metadata", "name"]), Some(11));
        assert_eq!(
            field_line(DOC, 1, &["spec", "template", "metadata", "name"]),
            Some(6)
        );
        assert_eq!(
            field_line(DOC, 1, &["metadata", "annotations", "a"]),
            Some(10)
        );
        assert_eq!(field_line(DOC, 1, &["metadata", "namespace"]), None);
        assert_eq!(field_line(DOC, 12, &["metadata", "name"]), Some(14));
        let json = "{\n  \"metadata\": {\n    \"name\": \"x\"\n  }\n}\n";
        assert_eq!(field_line(json, 1, &["metadata", "name"]), Some(3));
        assert_eq!(
            field_line("{\"metadata\":{\"name\":\"x\"}}", 1, &["metadata", "name"]),
            None
        );
    }
}
