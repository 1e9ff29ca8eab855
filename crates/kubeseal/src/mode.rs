//! From raw flags to one validated [`Mode`] plus the settings every mode shares.
//!
//! Upstream picks a mode by checking flags in a fixed order and silently ignores the flags of
//! the modes it did not pick (docs/upstream-behavior.md, "kubeseal"). Here two mode flags together are an error that
//! names both, and so are flag combinations that used to misbehave (`-w` with `--merge-into`
//! emptied the `-w` file; `-f` with `--raw` was ignored).

use std::path::PathBuf;

use anyhow::{Result, bail};
use sealed_secrets::Scope;

use crate::cert::CertSource;
use crate::controller::Controller;
use crate::flags::Flags;
use crate::input::Source;
use crate::namespace::NamespaceResolver;
use crate::output::{Format, Target};
use crate::report::message_with_hint;
use crate::rules::{Pin, PinnedCert};

/// Applies the repository rule for the file written (`.sealed-secrets.yaml`, [`crate::rules`]) to
/// the settings not given on the command line or in the environment; returns its pin.
fn apply_rules(
    flags: &mut Flags,
    mode: &Mode,
    output: &Target,
) -> Result<(Option<Pin>, Option<String>)> {
    let target = match (mode, output) {
        (Mode::Seal | Mode::Raw { .. }, Target::File(path)) => Some(path.as_path()),
        (Mode::MergeInto { file }, _) => Some(file.as_path()),
        // `--fetch-cert` writes a certificate, not a sealed file: the working directory's rule.
        (Mode::Seal | Mode::Raw { .. } | Mode::FetchCert, _) => None,
        _ => return Ok((None, None)),
    };
    let Some(rule) = crate::rules::find(target)? else {
        return Ok((None, None));
    };
    let given = |id: &str| flags.given.contains(&id);
    let mut from_rule = None;
    if let Some(cert) = rule.cert.filter(|_| !given("cert")) {
        flags.cert = cert;
        from_rule = Some(rule.at.clone());
    }
    if let Some(scope) = rule.scope.filter(|_| !given("scope")) {
        flags.scope = Some(scope);
    }
    if let Some(name) = rule.controller_name.filter(|_| !given("controller_name")) {
        flags.controller_name = name;
    }
    if let Some(ns) = rule
        .controller_namespace
        .filter(|_| !given("controller_namespace"))
    {
        flags.controller_namespace = ns;
    }
    if let Some(ns) = rule.namespace.filter(|_| !flags.namespace_explicit) {
        flags.connection.namespace = Some(ns);
    }
    Ok((rule.pin, from_rule))
}

/// What this run does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `--version`.
    Version,
    /// `--completion SHELL`.
    Completion(clap_complete::Shell),
    /// `--man-page`.
    ManPage,
    /// `--recovery-unseal`: decrypt offline with private keys.
    RecoveryUnseal {
        /// `--recovery-private-key` files.
        keys: Vec<PathBuf>,
    },
    /// `--validate` (needs the controller).
    Validate,
    /// `--re-encrypt` / `--rotate` (needs the controller).
    ReEncrypt,
    /// `--fetch-cert`: print the certificate.
    FetchCert,
    /// `--merge-into FILE`.
    MergeInto {
        /// The SealedSecret file updated in place.
        file: PathBuf,
    },
    /// `--raw`: seal one value.
    Raw {
        /// `--from-file` (the `key=` prefix removed), else stdin.
        from_file: Option<PathBuf>,
    },
    /// The default: seal Secrets.
    Seal,
}

/// A validated run.
#[derive(Debug)]
pub struct Run {
    /// What to do.
    pub mode: Mode,
    /// `-f` or stdin.
    pub input: Source,
    /// `-w` or stdout.
    pub output: Target,
    /// Output format, after `-w`'s extension.
    pub format: Format,
    /// Whether `-o` was given (for `--merge-into`, which otherwise keeps the file's format).
    pub format_explicit: bool,
    /// Where the certificate comes from.
    pub cert: PinnedCert,
    /// The controller, for the cluster modes.
    pub controller: Controller,
    /// Default namespace resolution.
    pub namespace: NamespaceResolver,
    /// `--scope`, if given.
    pub scope: Option<Scope>,
    /// `--name`, if non-empty.
    pub name: Option<String>,
    /// `--allow-empty-data`.
    pub allow_empty_data: bool,
    /// `--pin` (with `--fetch-cert`): pin the certificate in the repository rules.
    pub pin: bool,
    /// `--stable-cache`: keep unchanged items' ciphertexts (seal into `-w FILE`, `--merge-into`).
    pub stable_cache: Option<PathBuf>,
    /// Warnings to print on stderr before running.
    pub warnings: Vec<String>,
}

/// The mode flags that are set, by their names for messages.
fn mode_flags(flags: &Flags) -> Vec<&'static str> {
    let mut set = Vec::new();
    if flags.recovery_unseal {
        set.push("--recovery-unseal");
    }
    if flags.validate {
        set.push("--validate");
    }
    if flags.re_encrypt {
        set.push("--re-encrypt");
    } else if flags.rotate {
        set.push("--rotate");
    }
    if flags.fetch_cert {
        set.push("--fetch-cert");
    }
    if !flags.merge_into.is_empty() {
        set.push("--merge-into");
    }
    if flags.raw {
        set.push("--raw");
    }
    set
}

impl Run {
    /// Validates the flags.
    pub fn from_flags(mut flags: Flags) -> Result<Run> {
        let mut warnings = Vec::new();
        let mode = Run::mode(&flags, &mut warnings)?;

        let input = match flags.secret_file.as_str() {
            "" => Source::Stdin,
            path => Source::File(PathBuf::from(path)),
        };
        let mut output = match flags.sealed_secret_file.as_str() {
            "" => Target::Stdout,
            path => Target::File(PathBuf::from(path)),
        };
        if matches!(mode, Mode::ReEncrypt)
            && let (Source::File(path), Target::Stdout) = (&input, &output)
        {
            output = Target::File(path.clone());
        }
        let stable_cache =
            Some(PathBuf::from(&flags.stable_cache)).filter(|p| !p.as_os_str().is_empty());
        if stable_cache.is_some()
            && !matches!(
                (&mode, &output),
                (Mode::Seal, Target::File(_)) | (Mode::MergeInto { .. }, _)
            )
        {
            return Err(message_with_hint(
                "--stable-cache needs the file it keeps ciphertexts in: seal with -w FILE or --merge-into FILE",
                "e.g. kubeseal -f secret.yaml -w db.sealed.yaml --stable-cache ~/.cache/kubeseal-stable",
            ));
        }
        let (pin, from_rule) = apply_rules(&mut flags, &mode, &output)?;
        let mut format = Format::parse(&flags.format)?;
        if let Target::File(path) = &output
            && Format::from_extension(path) == Some(Format::Yaml)
        {
            format = Format::Yaml;
        }
        Ok(Run {
            mode,
            input,
            output,
            format,
            format_explicit: flags.format_explicit,
            controller: Controller {
                namespace: flags.controller_namespace.clone(),
                name: flags.controller_name.clone(),
                connection: flags.connection.clone(),
            },
            cert: PinnedCert {
                source: CertSource::from_flag(
                    &flags.cert,
                    &flags.controller_namespace,
                    &flags.controller_name,
                    &flags.connection,
                ),
                pin,
                from_rule,
            },
            namespace: NamespaceResolver::new(
                flags.connection.namespace.as_deref(),
                flags.namespace_explicit,
                &flags.connection.kubeconfig,
                flags.connection.context.as_deref(),
            ),
            scope: flags.scope,
            name: Some(flags.name.clone()).filter(|n| !n.is_empty()),
            allow_empty_data: flags.allow_empty_data,
            pin: flags.pin,
            stable_cache,
            warnings,
        })
    }

    fn mode(flags: &Flags, warnings: &mut Vec<String>) -> Result<Mode> {
        if flags.version {
            return Ok(Mode::Version);
        }
        if let Some(shell) = flags.completion {
            return Ok(Mode::Completion(shell));
        }
        if flags.man_page {
            return Ok(Mode::ManPage);
        }
        if !flags.from_file.is_empty() && !flags.raw {
            return Err(message_with_hint(
                "--from-file requires --raw",
                "to seal a whole Secret, pass it with -f/--secret-file or on stdin",
            ));
        }
        if flags.pin && !flags.fetch_cert {
            return Err(message_with_hint(
                "--pin requires --fetch-cert",
                "run `kubeseal --fetch-cert --pin` in the directory whose rule should pin the certificate",
            ));
        }
        let modes = mode_flags(flags);
        if let [first, second, ..] = modes.as_slice() {
            return Err(message_with_hint(
                format!("{first} can't be used with {second}"),
                "choose one mode; see kubeseal --help",
            ));
        }
        if flags.rotate {
            warnings.push(
                "Flag --rotate has been deprecated, please use --re-encrypt instead".to_owned(),
            );
        }
        if !flags.recovery_private_key.is_empty() && !flags.recovery_unseal {
            warnings.push(
                "warning: ignoring --recovery-private-key because unseal command not chosen with --recovery-unseal"
                    .to_owned(),
            );
        }
        if flags.recovery_unseal {
            return Ok(Mode::RecoveryUnseal {
                keys: flags
                    .recovery_private_key
                    .iter()
                    .map(PathBuf::from)
                    .collect(),
            });
        }
        if flags.validate {
            return Ok(Mode::Validate);
        }
        if flags.re_encrypt || flags.rotate {
            return Ok(Mode::ReEncrypt);
        }
        if flags.fetch_cert {
            return Ok(Mode::FetchCert);
        }
        if !flags.merge_into.is_empty() {
            if !flags.sealed_secret_file.is_empty() {
                return Err(message_with_hint(
                    "--merge-into can't be used with -w/--sealed-secret-file",
                    "--merge-into updates its FILE in place; drop -w",
                ));
            }
            return Ok(Mode::MergeInto {
                file: PathBuf::from(&flags.merge_into),
            });
        }
        if flags.raw {
            if !flags.secret_file.is_empty() {
                return Err(message_with_hint(
                    "--raw can't be used with -f/--secret-file",
                    "--raw seals one value read from --from-file FILE or from stdin",
                ));
            }
            let from_file = match flags.from_file.as_slice() {
                [] => None,
                [one] => Some(PathBuf::from(
                    one.split_once('=').map_or(one.as_str(), |(_, path)| path),
                )),
                _ => bail!(
                    "must provide only one --from-file when encrypting a single item with --raw"
                ),
            };
            return Ok(Mode::Raw { from_file });
        }
        Ok(Mode::Seal)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Run> {
        let mut all = vec!["kubeseal"];
        all.extend_from_slice(args);
        Run::from_flags(Flags::try_parse_args(all).map_err(|e| anyhow::anyhow!("{e}"))?)
    }

    fn err(args: &[&str]) -> String {
        format!("{:#}", run(args).unwrap_err())
    }

    #[test]
    fn modes() {
        assert_eq!(run(&[]).unwrap().mode, Mode::Seal);
        assert_eq!(run(&["--version", "--raw"]).unwrap().mode, Mode::Version);
        assert_eq!(
            run(&["--raw", "--from-file", "k=v.txt"]).unwrap().mode,
            Mode::Raw {
                from_file: Some("v.txt".into())
            }
        );
        assert_eq!(run(&["--rotate"]).unwrap().mode, Mode::ReEncrypt);
        assert_eq!(
            run(&["--recovery-unseal", "--recovery-private-key", "a,b"])
                .unwrap()
                .mode,
            Mode::RecoveryUnseal {
                keys: vec!["a".into(), "b".into()]
            }
        );
    }

    #[test]
    fn conflicts_name_both_flags() {
        assert_eq!(err(&["--from-file", "x"]), "--from-file requires --raw");
        assert_eq!(
            err(&["--raw", "--recovery-unseal"]),
            "--recovery-unseal can't be used with --raw"
        );
        assert_eq!(
            err(&["--merge-into", "a.yaml", "-w", "b.yaml"]),
            "--merge-into can't be used with -w/--sealed-secret-file"
        );
        assert_eq!(
            err(&["--raw", "-f", "s.yaml"]),
            "--raw can't be used with -f/--secret-file"
        );
        assert_eq!(
            err(&["--raw", "--from-file", "a", "--from-file", "b"]),
            "must provide only one --from-file when encrypting a single item with --raw"
        );
        assert_eq!(err(&["-o", "xml"]), "unsupported output format: xml");
    }

    #[test]
    fn output_file_extension_forces_yaml_and_re_encrypt_is_in_place() {
        let r = run(&["-w", "out.yml"]).unwrap();
        assert_eq!(r.format, Format::Yaml);
        let r = run(&["--re-encrypt", "-f", "in.json"]).unwrap();
        assert_eq!(r.output, Target::File("in.json".into()));
    }
}
