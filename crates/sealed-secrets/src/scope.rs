//! Scopes: which name a ciphertext is bound to.
//!
//! Each encrypted value carries its scope as the RSA-OAEP label, so a value sealed for one
//! Secret cannot be decrypted as another. The label bytes are exactly upstream's:
//!
//! | scope            | label                      |
//! |------------------|----------------------------|
//! | `strict`         | `<namespace>/<name>`       |
//! | `namespace-wide` | `<namespace>`              |
//! | `cluster-wide`   | empty                      |
//!
//! The scope of an object is read from its annotations: `sealedsecrets.bitnami.com/cluster-wide:
//! "true"` wins over `sealedsecrets.bitnami.com/namespace-wide: "true"`; anything else is strict.
//! Values are compared exactly (`"True"` is not true).

use std::collections::BTreeMap;

use crate::names::{CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION};
use std::fmt;
use std::str::FromStr;

/// Which names an encrypted value is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Scope {
    /// Bound to one namespace and one name (the default).
    #[default]
    Strict,
    /// Bound to one namespace; the Secret may be renamed.
    NamespaceWide,
    /// Not bound: the SealedSecret may be renamed and moved to any namespace.
    ClusterWide,
}

/// A scope name that is not one of `strict`, `namespace-wide`, `cluster-wide`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: strict, namespace-wide, cluster-wide")]
pub struct ParseScopeError;

impl Scope {
    /// The scope's flag name: `strict`, `namespace-wide` or `cluster-wide`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }

    /// The scope an object declares through its annotations (cluster-wide wins).
    pub fn from_annotations(annotations: Option<&BTreeMap<String, String>>) -> Scope {
        let is_true = |key: &str| {
            annotations
                .and_then(|a| a.get(key))
                .is_some_and(|v| v == "true")
        };
        if is_true(CLUSTER_WIDE_ANNOTATION) {
            Scope::ClusterWide
        } else if is_true(NAMESPACE_WIDE_ANNOTATION) {
            Scope::NamespaceWide
        } else {
            Scope::Strict
        }
    }

    /// Rewrites `annotations` so they declare this scope: both scope annotations are removed,
    /// then the one for this scope (if any) is set to `"true"`.
    pub fn write_annotations(self, annotations: &mut BTreeMap<String, String>) {
        annotations.remove(CLUSTER_WIDE_ANNOTATION);
        annotations.remove(NAMESPACE_WIDE_ANNOTATION);
        match self {
            Scope::Strict => {}
            Scope::NamespaceWide => {
                annotations.insert(NAMESPACE_WIDE_ANNOTATION.to_owned(), "true".to_owned());
            }
            Scope::ClusterWide => {
                annotations.insert(CLUSTER_WIDE_ANNOTATION.to_owned(), "true".to_owned());
            }
        }
    }

    /// The annotations a SealedSecret's top-level metadata carries for this scope.
    pub fn annotations(self) -> Option<BTreeMap<String, String>> {
        let mut map = BTreeMap::new();
        self.write_annotations(&mut map);
        (!map.is_empty()).then_some(map)
    }

    /// The OAEP label for a value of this scope sealed for `namespace`/`name`.
    pub fn label(self, namespace: &str, name: &str) -> Vec<u8> {
        match self {
            Scope::Strict => format!("{namespace}/{name}").into_bytes(),
            Scope::NamespaceWide => namespace.as_bytes().to_vec(),
            Scope::ClusterWide => Vec::new(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = ParseScopeError;

    /// Parses a flag value; the empty string means strict, as upstream.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "strict" => Ok(Scope::Strict),
            "namespace-wide" => Ok(Scope::NamespaceWide),
            "cluster-wide" => Ok(Scope::ClusterWide),
            _ => Err(ParseScopeError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_round_trip() {
        for s in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        assert_eq!("".parse::<Scope>(), Ok(Scope::Strict));
        assert_eq!(
            "global".parse::<Scope>().unwrap_err().to_string(),
            "must be one of: strict, namespace-wide, cluster-wide"
        );
        assert!(Scope::Strict < Scope::NamespaceWide && Scope::NamespaceWide < Scope::ClusterWide);
    }

    #[test]
    fn labels() {
        assert_eq!(Scope::Strict.label("myns", "myname"), b"myns/myname");
        assert_eq!(Scope::NamespaceWide.label("myns", "myname"), b"myns");
        assert_eq!(Scope::ClusterWide.label("myns", "myname"), b"");
    }

    #[test]
    fn scope_from_annotations() {
        assert_eq!(Scope::from_annotations(None), Scope::Strict);
        assert_eq!(
            Scope::from_annotations(Some(&ann(&[(CLUSTER_WIDE_ANNOTATION, "true")]))),
            Scope::ClusterWide
        );
        assert_eq!(
            Scope::from_annotations(Some(&ann(&[(NAMESPACE_WIDE_ANNOTATION, "true")]))),
            Scope::NamespaceWide
        );
        assert_eq!(
            Scope::from_annotations(Some(&ann(&[
                (NAMESPACE_WIDE_ANNOTATION, "true"),
                (CLUSTER_WIDE_ANNOTATION, "true")
            ]))),
            Scope::ClusterWide
        );
        for v in ["True", "TRUE", "yes", "", "false"] {
            assert_eq!(
                Scope::from_annotations(Some(&ann(&[(CLUSTER_WIDE_ANNOTATION, v)]))),
                Scope::Strict
            );
        }
    }

    #[test]
    fn write_annotations_replaces_scope() {
        let mut a = ann(&[(CLUSTER_WIDE_ANNOTATION, "true"), ("other", "x")]);
        Scope::NamespaceWide.write_annotations(&mut a);
        assert_eq!(
            a,
            ann(&[(NAMESPACE_WIDE_ANNOTATION, "true"), ("other", "x")])
        );
        Scope::Strict.write_annotations(&mut a);
        assert_eq!(a, ann(&[("other", "x")]));
        assert_eq!(Scope::Strict.annotations(), None);
    }
}
