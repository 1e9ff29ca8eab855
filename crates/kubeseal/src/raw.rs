//! `--raw`: seal one value and print its ciphertext (docs/upstream-behavior.md, "kubeseal").
//!
//! The value comes from `--from-file` or all of stdin; the output is the standard base64 of
//! the hybrid ciphertext with no trailing newline, ready to paste into `encryptedData`. The
//! user adds the matching scope annotation to the SealedSecret.

use std::path::Path;

use anyhow::{Context, Result};
use sealed_secrets::Scope;

use crate::input::{TTY_RAW_NOTE, read_stdin};
use crate::mode::Run;
use crate::output;
use crate::report::message_with_hint;

/// The `--raw` mode.
pub fn run(run: &Run, from_file: Option<&Path>) -> Result<()> {
    let scope = run.scope.unwrap_or_default();
    let (namespace, name) = binding(run, scope)?;
    let value = match from_file {
        Some(path) => crate::input::read_file(path)
            .with_context(|| format!("cannot read --from-file {}", path.display()))?,
        None => read_stdin(TTY_RAW_NOTE)?,
    };
    let key = run.cert.public_key()?;
    let sealed = sealed_secrets::seal::seal_value(
        &mut rand::rngs::OsRng,
        &key,
        &value,
        scope,
        &namespace,
        &name,
    )?;
    output::write(&run.output, sealed.as_bytes())
}

/// The namespace and name the value is bound to, checked for the scope.
fn binding(run: &Run, scope: Scope) -> Result<(String, String)> {
    if scope == Scope::ClusterWide {
        return Ok((String::new(), String::new()));
    }
    let namespace = match run.namespace.resolve() {
        Ok(ns) if !ns.is_empty() => ns.to_owned(),
        Ok(_) => String::new(),
        Err(why) => {
            return Err(message_with_hint(
                format!("must provide the --namespace flag with --raw and --scope {scope}"),
                format!(
                    "pass -n NAMESPACE, or --scope cluster-wide to bind to no namespace ({why})"
                ),
            ));
        }
    };
    if namespace.is_empty() {
        return Err(message_with_hint(
            format!("must provide the --namespace flag with --raw and --scope {scope}"),
            "pass -n NAMESPACE, or --scope cluster-wide to bind to no namespace",
        ));
    }
    let name = match (&run.name, scope) {
        (Some(name), _) => name.clone(),
        (None, Scope::Strict) => {
            return Err(message_with_hint(
                "must provide the --name flag with --raw and --scope strict",
                "pass --name NAME (the SealedSecret's name), or --scope namespace-wide to bind to the namespace only",
            ));
        }
        (None, _) => String::new(),
    };
    crate::names::check_namespace("--namespace", &namespace)?;
    if !name.is_empty() {
        crate::names::check_name("--name", &name)?;
    }
    Ok((namespace, name))
}
