//! The controller's key Secrets: how key pairs are stored in the cluster (docs/upstream-behavior.md, "Keys").
//!
//! A key Secret is `type: kubernetes.io/tls` with `tls.key` (PKCS#1 `RSA PRIVATE KEY` PEM) and
//! `tls.crt` (`CERTIFICATE` PEM), labelled `sealedsecrets.bitnami.com/sealed-secrets-key=active`
//! and named by the API server from a `generateName` prefix. Upstream's and ours are the same, so
//! either controller adopts the other's keys.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{Certificate, KeyError, PrivateKey};
use crate::names::{KEY_LABEL, KEY_LABEL_ACTIVE, TLS_CRT, TLS_KEY, TLS_SECRET_TYPE};

/// Parses a key Secret's `tls.key` (first PKCS#1 or PKCS#8 RSA key) and `tls.crt` (every
/// certificate; upstream uses the first). Neither the Secret type nor the match between the
/// certificate and the key is checked, as upstream.
///
/// # Errors
/// [`KeyError::MissingSecretField`] or [`KeyError::InvalidSecretField`], naming the Secret as
/// `namespace/name` and the field; never key material.
pub fn from_key_secret(secret: &Secret) -> Result<(PrivateKey, Vec<Certificate>), KeyError> {
    let id = secret_id(&secret.metadata);
    let field = |name: &'static str| -> Result<&[u8], KeyError> {
        secret
            .data
            .as_ref()
            .and_then(|data| data.get(name))
            .map(|value| value.0.as_slice())
            .ok_or_else(|| KeyError::MissingSecretField {
                secret: id.clone(),
                field: name,
            })
    };
    let invalid = |field: &'static str, source: KeyError| KeyError::InvalidSecretField {
        secret: id.clone(),
        field,
        source: Box::new(source),
    };
    let key = PrivateKey::from_pem(field(TLS_KEY)?).map_err(|e| invalid(TLS_KEY, e))?;
    let certs = Certificate::parse_pem_chain(field(TLS_CRT)?).map_err(|e| invalid(TLS_CRT, e))?;
    Ok((key, certs))
}

/// Builds the key Secret for a new key: `generateName: <prefix>` (no separator, as upstream),
/// the `sealedsecrets.bitnami.com/sealed-secrets-key: active` label, `type: kubernetes.io/tls`,
/// `tls.key` as a PKCS#1 PEM and `tls.crt` as one certificate PEM.
///
/// The returned Secret holds a copy of the private key that is not zeroized: drop it as soon as
/// it has been sent.
pub fn to_key_secret(
    key: &PrivateKey,
    cert: &Certificate,
    namespace: &str,
    prefix: &str,
) -> Secret {
    let data = BTreeMap::from([
        (
            TLS_KEY.to_owned(),
            ByteString(key.to_pkcs1_pem().as_bytes().to_vec()),
        ),
        (TLS_CRT.to_owned(), ByteString(cert.to_pem().into_bytes())),
    ]);
    Secret {
        metadata: ObjectMeta {
            generate_name: Some(prefix.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([(
                KEY_LABEL.to_owned(),
                KEY_LABEL_ACTIVE.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        type_: Some(TLS_SECRET_TYPE.to_owned()),
        data: Some(data),
        ..Secret::default()
    }
}

/// `namespace/name` of a Secret, falling back to its generateName for unsaved ones.
fn secret_id(meta: &ObjectMeta) -> String {
    let namespace = meta.namespace.as_deref().unwrap_or_default();
    let name = meta
        .name
        .as_deref()
        .or(meta.generate_name.as_deref())
        .unwrap_or_default();
    format!("{namespace}/{name}")
}
