//! The namespace for Secrets that do not declare one: `-n/--namespace`, else the kubeconfig
//! context's namespace, read offline (no cluster call), else the in-cluster namespace.
//!
//! Resolution order, as client-go does it for kubectl: the flag (or `SEALED_SECRETS_NAMESPACE`);
//! the kubeconfig (`--kubeconfig`, else the files listed in `KUBECONFIG`, else
//! `~/.kube/config`), context `--context` or its current context, whose namespace defaults to
//! `default`; with no kubeconfig at all, inside a pod, `POD_NAMESPACE` or the service account's
//! namespace file. The kubeconfig is read only when a Secret actually needs it.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;

/// In-cluster service account namespace file.
const SERVICE_ACCOUNT_NAMESPACE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// Lazily resolves the default namespace.
#[derive(Debug)]
pub struct NamespaceResolver {
    flag: Option<String>,
    explicit: bool,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    resolved: OnceCell<Result<String, String>>,
}

impl NamespaceResolver {
    /// `flag` is `-n` (empty means unset); `explicit` says it was given on the command line or
    /// in the environment; `kubeconfig` is `--kubeconfig` (empty means unset).
    pub fn new(
        flag: Option<&str>,
        explicit: bool,
        kubeconfig: &str,
        context: Option<&str>,
    ) -> NamespaceResolver {
        let flag = flag.filter(|ns| !ns.is_empty()).map(str::to_owned);
        NamespaceResolver {
            explicit: explicit && flag.is_some(),
            flag,
            kubeconfig: (!kubeconfig.is_empty()).then(|| PathBuf::from(kubeconfig)),
            context: context.filter(|c| !c.is_empty()).map(str::to_owned),
            resolved: OnceCell::new(),
        }
    }

    /// The namespace given with `-n` (or its environment variable), if any.
    pub fn explicit(&self) -> Option<&str> {
        if self.explicit {
            self.flag.as_deref()
        } else {
            None
        }
    }

    /// The default namespace, or why there is none (a sentence fit for a hint).
    pub fn resolve(&self) -> Result<&str, &str> {
        self.resolved
            .get_or_init(|| match &self.flag {
                Some(ns) => Ok(ns.clone()),
                None => from_kubeconfig(self.kubeconfig.as_deref(), self.context.as_deref()),
            })
            .as_deref()
            .map_err(String::as_str)
    }
}

fn from_kubeconfig(explicit: Option<&Path>, context: Option<&str>) -> Result<String, String> {
    let config = match explicit {
        Some(path) => Some(Kubeconfig::read_from(path).map_err(|e| read_error(path, &e))?),
        None => find_kubeconfig()?,
    };
    let Some(config) = config else {
        return in_cluster()
            .ok_or_else(|| "no kubeconfig found ($KUBECONFIG, ~/.kube/config)".to_owned());
    };
    let name = context
        .map(str::to_owned)
        .or_else(|| config.current_context.clone())
        .unwrap_or_default();
    if name.is_empty() {
        return Ok("default".to_owned());
    }
    let Some(named) = config.contexts.iter().find(|c| c.name == name) else {
        return Err(format!("context {name:?} is not in the kubeconfig"));
    };
    Ok(named
        .context
        .as_ref()
        .and_then(|c| c.namespace.clone())
        .filter(|ns| !ns.is_empty())
        .unwrap_or_else(|| "default".to_owned()))
}

/// The merged files of `KUBECONFIG` that exist (missing ones are skipped, as client-go does),
/// or `~/.kube/config`; `None` when there is no kubeconfig.
fn find_kubeconfig() -> Result<Option<Kubeconfig>, String> {
    let paths: Vec<PathBuf> = match std::env::var_os("KUBECONFIG") {
        Some(list) if !list.is_empty() => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        _ => std::env::home_dir()
            .map(|home| home.join(".kube").join("config"))
            .into_iter()
            .collect(),
    };
    let mut merged: Option<Kubeconfig> = None;
    for path in paths.iter().filter(|p| p.is_file()) {
        let config = Kubeconfig::read_from(path).map_err(|e| read_error(path, &e))?;
        merged = Some(match merged {
            None => config,
            Some(m) => m
                .merge(config)
                .map_err(|e| format!("cannot merge kubeconfig {}: {e}", path.display()))?,
        });
    }
    Ok(merged)
}

/// A kubeconfig read error, first line only: parser messages quote the file, which may hold credentials.
fn read_error(path: &Path, err: &dyn std::fmt::Display) -> String {
    let message = err.to_string();
    format!(
        "cannot read kubeconfig {}: {}",
        path.display(),
        message.lines().next().unwrap_or("")
    )
}

/// The namespace of the pod we run in, when in a cluster.
fn in_cluster() -> Option<String> {
    std::env::var_os("KUBERNETES_SERVICE_HOST")?;
    std::env::var_os("KUBERNETES_SERVICE_PORT")?;
    if let Some(ns) = std::env::var("POD_NAMESPACE")
        .ok()
        .filter(|ns| !ns.is_empty())
    {
        return Some(ns);
    }
    let ns = std::fs::read_to_string(SERVICE_ACCOUNT_NAMESPACE).ok()?;
    let ns = ns.trim();
    Some(if ns.is_empty() {
        "default".to_owned()
    } else {
        ns.to_owned()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const CONFIG: &str = "apiVersion: v1\nkind: Config\ncurrent-context: dev\ncontexts:\n\
        - name: dev\n  context: {cluster: c, user: u, namespace: team-a}\n\
        - name: bare\n  context: {cluster: c, user: u}\n";

    #[test]
    fn flag_wins_and_explicit_is_tracked() {
        let r = NamespaceResolver::new(Some("ns"), true, "/nonexistent", None);
        assert_eq!(r.resolve(), Ok("ns"));
        assert_eq!(r.explicit(), Some("ns"));
        let r = NamespaceResolver::new(Some(""), true, "", None);
        assert_eq!(r.explicit(), None);
    }

    #[test]
    fn kubeconfig_contexts() {
        let dir = std::env::temp_dir().join(format!("kubeseal-ns-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = write(&dir, "config", CONFIG);
        let path = path.to_str().unwrap();
        assert_eq!(
            NamespaceResolver::new(None, false, path, None).resolve(),
            Ok("team-a")
        );
        assert_eq!(
            NamespaceResolver::new(None, false, path, Some("bare")).resolve(),
            Ok("default")
        );
        assert_eq!(
            NamespaceResolver::new(None, false, path, Some("prod")).resolve(),
            Err("context \"prod\" is not in the kubeconfig")
        );
        let missing = dir.join("missing");
        let r = NamespaceResolver::new(None, false, missing.to_str().unwrap(), None);
        assert!(
            r.resolve()
                .unwrap_err()
                .starts_with("cannot read kubeconfig"),
            "{:?}",
            r.resolve()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
