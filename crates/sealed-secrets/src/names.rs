//! Every name on the wire, in one place: the resource, the annotations and labels both
//! implementations read and write, the fields of key Secrets. kubeseal, the controller and the
//! tests all take them from here. Upstream's are Bitnami's, byte for byte; ours carry the
//! `sealed-secrets-rs.io/` prefix, which upstream ignores.

/// The SealedSecret resource: API group.
pub const GROUP: &str = "bitnami.com";
/// `apiVersion` of a SealedSecret.
pub const API_VERSION: &str = "bitnami.com/v1alpha1";
/// `kind` of a SealedSecret.
pub const KIND: &str = "SealedSecret";
/// The CRD's name: `<plural>.<group>`.
pub const CRD_NAME: &str = "sealedsecrets.bitnami.com";

/// Prefix of every upstream annotation.
pub const ANNOTATION_PREFIX: &str = "sealedsecrets.bitnami.com/";
/// Scope: the ciphertext is bound to nothing (`"true"`).
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";
/// Scope: the ciphertext is bound to the namespace only (`"true"`).
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";
/// On a Secret: the controller may take it over (`"true"`).
pub const MANAGED_ANNOTATION: &str = "sealedsecrets.bitnami.com/managed";
/// On a Secret: the controller merges into it instead of replacing it (`"true"`).
pub const PATCH_ANNOTATION: &str = "sealedsecrets.bitnami.com/patch";
/// In a SealedSecret's template: no owner reference on the Secret (exactly `"true"`).
pub const SKIP_SET_OWNER_REFERENCES_ANNOTATION: &str =
    "sealedsecrets.bitnami.com/skip-set-owner-references";

/// Label of the controller's key Secrets.
pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
/// Its value on key Secrets in use.
pub const KEY_LABEL_ACTIVE: &str = "active";
/// Type of key Secrets.
pub const TLS_SECRET_TYPE: &str = "kubernetes.io/tls";
/// Item of a key Secret holding the private key (PEM).
pub const TLS_KEY: &str = "tls.key";
/// Item of a key Secret holding the certificate (PEM).
pub const TLS_CRT: &str = "tls.crt";

/// Ours, on a SealedSecret: the fingerprint of the public key it was sealed with (the key
/// hint: the controller tries that key first).
pub const KEY_HINT_ANNOTATION: &str = "sealed-secrets-rs.io/sealing-key";
/// Ours, on a Secret the controller wrote: its integrity record (see the controller).
pub const INTEGRITY_ANNOTATION: &str = "sealed-secrets-rs.io/integrity";

/// Written by client-side `kubectl apply`: the whole applied object again.
pub const KUBECTL_LAST_APPLIED_ANNOTATION: &str =
    "kubectl.kubernetes.io/last-applied-configuration";
/// Annotations that never go into a SealedSecret's template (upstream strips them when sealing):
/// kubectl's and kubecfg's copies of the applied object.
pub const LAST_APPLIED_ANNOTATIONS: [&str; 2] = [
    KUBECTL_LAST_APPLIED_ANNOTATION,
    "kubecfg.ksonnet.io/last-applied-configuration",
];
