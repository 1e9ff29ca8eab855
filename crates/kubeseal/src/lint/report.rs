//! What `kubeseal lint` found, and its three output formats: for people, JSON and SARIF 2.1.0.

use serde_json::json;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

impl Level {
    /// As the outputs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// One problem found.
#[derive(Debug)]
pub struct Finding {
    pub level: Level,
    pub rule: &'static str,
    pub file: String,
    pub line: usize,
    pub message: String,
    pub fix: String,
}

/// The rules, with a short description each (SARIF `tool.driver.rules`).
pub const RULES: &[(&str, &str)] = &[
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
        "The key hint names a certificate outside those given or pinned",
    ),
    ("empty", "A SealedSecret without any item"),
    ("bad-rule", "A repository rule's certificate cannot be read"),
    (
        "pin-mismatch",
        "A repository rule's certificate does not match its pinned fingerprint",
    ),
    (
        "old-key",
        "Sealed with an older certificate than the newest given, or the one its rule pins",
    ),
    (
        "other-key",
        "Sealed with another certificate than the one the rule for its path pins",
    ),
    (
        "unchecked-pin",
        "A pinned certificate lint cannot read offline",
    ),
    ("cert-expiry", "A given or pinned certificate expires soon"),
    (
        "scope-conflict",
        "Scope annotations that contradict each other",
    ),
];

/// For people: `FILE:LINE: level[rule]: what`, then how to fix, then the counts.
pub fn text(findings: &[Finding], errors: usize, warnings: usize) -> String {
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

/// One JSON object: every finding and the counts.
pub fn json_report(findings: &[Finding], errors: usize, warnings: usize) -> String {
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

/// SARIF 2.1.0 with one run, every rule described, for code-scanning views.
pub fn sarif(findings: &[Finding]) -> String {
    let rules: Vec<_> = RULES
        .iter()
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
