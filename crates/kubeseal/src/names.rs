//! Names and namespaces are Kubernetes object names: checked before anything is sealed, since a
//! strict or namespace-wide ciphertext is bound to them for good, and before they go into an API
//! path (`--controller-namespace`, `--controller-name`).
//!
//! A namespace is a DNS-1123 label (at most 63 lower-case letters, digits and `-`, starting and
//! ending with a letter or digit); a Secret, SealedSecret or Service name a DNS-1123 subdomain
//! (at most 253 characters, labels of the same kind joined by `.`). So `../../etc/x` or `a/b`
//! never name anything.

use anyhow::Result;

use crate::report::message_with_hint;

/// Checks a namespace; `what` names where it came from (`metadata.namespace`, `--namespace`).
pub fn check_namespace(what: &str, value: &str) -> Result<()> {
    if is_label(value) {
        return Ok(());
    }
    Err(message_with_hint(
        format!("invalid {what} {value:?}: not a Kubernetes namespace name"),
        "a namespace has at most 63 lower-case letters, digits and '-', and starts and ends with a letter or digit",
    ))
}

/// Checks an object name; `what` names where it came from (`metadata.name`, `--name`).
pub fn check_name(what: &str, value: &str) -> Result<()> {
    if value.len() <= 253
        && !value.is_empty()
        && value.split('.').all(|l| is_label(l) && l.len() <= 253)
    {
        return Ok(());
    }
    Err(message_with_hint(
        format!("invalid {what} {value:?}: not a Kubernetes object name"),
        "a name has at most 253 lower-case letters, digits, '-' and '.', and starts and ends with a letter or digit",
    ))
}

/// A DNS-1123 label.
fn is_label(s: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|&c| alnum(c) || c == b'-')
        && alnum(bytes[0])
        && alnum(bytes[bytes.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_namespaces() {
        for ok in ["db", "db-creds", "a.b-c.d", "x1", &"a".repeat(63)] {
            assert!(check_namespace("n", ok).is_ok() || ok.contains('.'), "{ok}");
            assert!(check_name("n", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../../etc/x",
            "a/b",
            "A",
            "-a",
            "a-",
            "a..b",
            "a_b",
            "café",
            &"a".repeat(254),
        ] {
            assert!(check_name("metadata.name", bad).is_err(), "{bad}");
        }
        for bad in ["", "a.b", "a/b", "..", &"a".repeat(64)] {
            assert!(check_namespace("metadata.namespace", bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_name("metadata.name", "../../etc/x")
                .unwrap_err()
                .to_string(),
            "invalid metadata.name \"../../etc/x\": not a Kubernetes object name"
        );
    }
}
