//! The certificates `kubeseal lint` checks against: those given with `--cert`, and those the
//! repository rules (`.sealed-secrets.yaml`) pin, read from the files their `cert` names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use sealed_secrets::keys::Certificate;

use super::report::{Finding, Level};
use crate::cert::CertSource;
use crate::rules::{self, Rule};

/// A certificate lint knows: given with `--cert` or pinned by a rule.
#[derive(Debug, Clone)]
pub struct KnownCert {
    /// The certificate file, as shown in messages.
    pub file: String,
    /// The public key's fingerprint, as in the key hint annotation.
    pub fingerprint: String,
    /// Bytes of every RSA ciphertext for this key.
    pub modulus_len: usize,
    /// When it was issued (a renewed key has a newer one).
    pub not_before: SystemTime,
    /// SHA-256 of the DER certificate, lower-case hex (what a rule's `fingerprint` pins).
    pub sha256: String,
}

/// One parsed certificate, or why it cannot be read.
fn read_cert(path: &Path) -> Result<(KnownCert, SystemTime)> {
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
    let known = KnownCert {
        file,
        fingerprint: key.fingerprint().to_string(),
        modulus_len: key.modulus_len(),
        not_before: cert.not_before(),
        sha256: rules::fingerprint(&pem)?,
    };
    Ok((known, cert.not_after()))
}

/// What lint found about a certificate, before it is placed at a file and line.
type Found = (Level, &'static str, String, String);

/// A warning when `known` expires within `days` (or has expired).
fn expiry(known: &KnownCert, not_after: SystemTime, days: u64) -> Option<Found> {
    let now = SystemTime::now();
    let soon = now + Duration::from_secs(days.saturating_mul(86_400));
    (not_after < soon).then(|| {
        (
            Level::Warning,
            "cert-expiry",
            format!(
                "certificate {} {} {}",
                known.fingerprint,
                if not_after < now { "expired on" } else { "expires on" },
                crate::cert::go_long_date(not_after)
            ),
            "renew the sealing key on the controller and fetch the new certificate (kubeseal --fetch-cert; --pin updates a rule)"
                .into(),
        )
    })
}

/// The certificates given with `--cert` (an unreadable one is an error: the user named it).
pub fn from_flags(
    paths: &[PathBuf],
    days: u64,
    findings: &mut Vec<Finding>,
) -> Result<Vec<KnownCert>> {
    let mut certs = Vec::new();
    for path in paths {
        let (known, not_after) = read_cert(path)?;
        findings.extend(
            expiry(&known, not_after, days).map(|(level, rule, message, fix)| Finding {
                level,
                rule,
                file: known.file.clone(),
                line: 1,
                message,
                fix,
            }),
        );
        certs.push(known);
    }
    Ok(certs)
}

/// A rules file as lint uses it: its rules in order, each with the certificate it pins if lint
/// could read and check it.
#[derive(Debug)]
pub struct RuleSet {
    /// The directory the rules' path patterns are relative to.
    pub dir: PathBuf,
    /// The rules file, as shown in messages.
    pub file: String,
    /// Pattern, rule, and the index of its certificate in `certs`.
    pub rules: Vec<(String, Rule, Option<usize>)>,
    /// Every certificate a rule pins (or names) that lint could read.
    pub certs: Vec<KnownCert>,
    /// Whether some rule pins a certificate lint cannot read offline (a URL, or no `cert`).
    pub unreadable_pins: bool,
}

impl RuleSet {
    /// Reads `file` and the certificates its rules name; what is wrong with a rule's certificate
    /// becomes a finding at the rule's line.
    pub fn load(file: &Path, days: u64, findings: &mut Vec<Finding>) -> Result<Self> {
        let parsed = rules::parse_file(file)?;
        let shown = rules::shown(file);
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut set = RuleSet {
            dir,
            file: shown.clone(),
            rules: Vec::new(),
            certs: Vec::new(),
            unreadable_pins: false,
        };
        // A certificate file several rules name is read (and reported) once.
        let mut by_file: BTreeMap<String, Option<usize>> = BTreeMap::new();
        for (pattern, rule) in parsed {
            let line = rule_line(&rule.at);
            let mut found = Vec::new();
            let index = set.cert_of(&pattern, &rule, days, &mut by_file, &mut found);
            findings.extend(
                found
                    .into_iter()
                    .map(|(level, rule_id, message, fix)| Finding {
                        level,
                        rule: rule_id,
                        file: shown.clone(),
                        line,
                        message,
                        fix,
                    }),
            );
            set.rules.push((pattern, rule, index));
        }
        Ok(set)
    }

    /// The index in `certs` of the certificate `rule` names, reading it (and checking its pin)
    /// the first time a rule names that file; what is wrong goes to `found`.
    fn cert_of(
        &mut self,
        pattern: &str,
        rule: &Rule,
        days: u64,
        by_file: &mut BTreeMap<String, Option<usize>>,
        found: &mut Vec<Found>,
    ) -> Option<usize> {
        let local = match rule
            .cert
            .as_deref()
            .map(|c| (c, CertSource::from_flag(c, "", "", &Default::default())))
        {
            Some((_, CertSource::File(path))) => Some(path),
            Some((c, CertSource::Url(_))) if c.starts_with("file://") => {
                Some(PathBuf::from(c.trim_start_matches("file://")))
            }
            _ => None,
        };
        let Some(path) = local else {
            if rule.pin.is_some() {
                self.unreadable_pins = true;
                found.push((
                    Level::Warning,
                    "unchecked-pin",
                    format!(
                        "the rule for {pattern} pins a certificate lint cannot read offline ({}); key hints are not checked against it",
                        rule.cert
                            .as_deref()
                            .map_or("no `cert`".to_owned(), |c| format!("`cert: {c}`"))
                    ),
                    "commit the certificate (kubeseal --fetch-cert > certs/ENV.pem) and point the rule's `cert` at it".into(),
                ));
            }
            return None;
        };
        let key = path.display().to_string();
        let index = match by_file.get(&key) {
            Some(index) => *index,
            None => {
                let index = match read_cert(&path) {
                    Ok((known, not_after)) => {
                        found.extend(expiry(&known, not_after, days));
                        self.certs.push(known);
                        Some(self.certs.len() - 1)
                    }
                    Err(e) => {
                        found.push((
                            Level::Error,
                            "bad-rule",
                            format!("the rule for {pattern}: {e:#}"),
                            "fix the rule's `cert` path, or fetch the certificate there (kubeseal --fetch-cert > PATH)".into(),
                        ));
                        None
                    }
                };
                by_file.insert(key, index);
                index
            }
        };
        if let (Some(i), Some(pin)) = (index, &rule.pin) {
            found.extend(check_pin(&self.certs[i], pin));
        }
        index
    }

    /// The rule for `path` (a file lint reads), with its certificate if known.
    pub fn rule_for(&self, path: &Path) -> Option<(&Rule, Option<&KnownCert>)> {
        let cwd = std::env::current_dir().ok()?;
        let abs = rules::lexical(&cwd.join(path));
        let dir = rules::lexical(&cwd.join(&self.dir));
        let rel = abs.strip_prefix(&dir).ok()?;
        let rel = rel.to_string_lossy();
        self.rules
            .iter()
            .find(|(pattern, _, _)| rules::matches(pattern, &rel))
            .map(|(_, rule, cert)| (rule, cert.map(|i| &self.certs[i])))
    }
}

/// An error when the certificate's SHA-256 is not the pinned one.
fn check_pin(known: &KnownCert, pin: &rules::Pin) -> Option<Found> {
    (known.sha256 != pin.sha256).then(|| {
        (
            Level::Error,
            "pin-mismatch",
            format!(
                "{} has SHA-256 fingerprint {}, the rule pins {} (line {})",
                known.file,
                rules::openssl_form(&known.sha256),
                rules::openssl_form(&pin.sha256),
                pin.line
            ),
            "check the certificate out of band; if the key was renewed on purpose, update the pin (kubeseal --fetch-cert --pin)"
                .into(),
        )
    })
}

/// The line of a rule's `FILE:LINE`.
fn rule_line(at: &str) -> usize {
    at.rsplit_once(':')
        .and_then(|(_, l)| l.parse().ok())
        .unwrap_or(1)
}
