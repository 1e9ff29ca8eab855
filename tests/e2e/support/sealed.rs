//! Secrets to seal, built in one line ([`SecretFixture`]), sealing them against a controller's certificate,
//! and reading back what the controller wrote.

use std::collections::BTreeMap;

use anyhow::Context as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use sealed_secrets::keys::Certificate;
use sealed_secrets::names::INTEGRITY_ANNOTATION;
use sealed_secrets::{Scope, SealedSecret};

/// A Secret to seal: `SecretFixture::new("db").namespace(ns).data("password", "p4ss").label("app", "a")`.
#[derive(Debug, Clone)]
pub struct SecretFixture {
    secret: Secret,
}

impl SecretFixture {
    /// A Secret named `name`, no namespace, no data.
    pub fn new(name: &str) -> Self {
        Self {
            secret: Secret {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    ..Default::default()
                },
                ..Default::default()
            },
        }
    }

    /// In `namespace` (what a strict or namespace-wide value is bound to).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.secret.metadata.namespace = Some(namespace.to_owned());
        self
    }

    /// Item `key` = `value`.
    pub fn data(mut self, key: &str, value: &str) -> Self {
        self.secret
            .data
            .get_or_insert_default()
            .insert(key.to_owned(), ByteString(value.as_bytes().to_vec()));
        self
    }

    /// Label `key` = `value` (the template's, once sealed).
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.secret
            .metadata
            .labels
            .get_or_insert_default()
            .insert(key.to_owned(), value.to_owned());
        self
    }

    /// Annotation `key` = `value` (the template's, once sealed).
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.secret
            .metadata
            .annotations
            .get_or_insert_default()
            .insert(key.to_owned(), value.to_owned());
        self
    }

    /// Sealed with `scope` (its annotation, as `kubeseal --scope` writes it).
    pub fn scope(mut self, scope: Scope) -> Self {
        let mut annotations = self.secret.metadata.annotations.take().unwrap_or_default();
        scope.write_annotations(&mut annotations);
        self.secret.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
        self
    }

    /// Secret type `type_` (default `Opaque`).
    pub fn type_(mut self, type_: &str) -> Self {
        self.secret.type_ = Some(type_.to_owned());
        self
    }

    /// `immutable: true`.
    pub fn immutable(mut self) -> Self {
        self.secret.immutable = Some(true);
        self
    }

    /// The Secret.
    pub fn build(self) -> Secret {
        self.secret
    }

    /// The Secret sealed against `cert` (with the key hint, as our kubeseal writes it).
    pub fn seal(&self, cert: &Certificate) -> anyhow::Result<SealedSecret> {
        let key = cert.public_key()?;
        Ok(sealed_secrets::seal(
            &mut rand::rngs::OsRng,
            &self.secret,
            &key,
        )?)
    }

    /// [`SecretFixture::seal`], then [`create`]: the SealedSecret as the API server stored it.
    pub async fn create_sealed(
        &self,
        client: &Client,
        cert: &Certificate,
    ) -> anyhow::Result<SealedSecret> {
        create(client, &self.seal(cert)?).await
    }
}

/// Creates `sealed` in its namespace.
pub async fn create(client: &Client, sealed: &SealedSecret) -> anyhow::Result<SealedSecret> {
    let ns = sealed
        .metadata
        .namespace
        .clone()
        .context("sealed secret without namespace")?;
    Ok(Api::<SealedSecret>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), sealed)
        .await?)
}

/// A copy of `sealed` renamed and/or moved, as a user would `kubectl apply` it (server fields dropped).
pub fn moved(sealed: &SealedSecret, namespace: &str, name: &str) -> SealedSecret {
    let mut copy = sealed.clone();
    copy.metadata = ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        annotations: sealed.metadata.annotations.clone(),
        labels: sealed.metadata.labels.clone(),
        ..Default::default()
    };
    copy.status = None;
    copy
}

/// A Secret's data as UTF-8 strings (lossy), for assertions.
pub fn string_data(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect()
}

/// A Secret's annotations without our controller's integrity annotation (`None` if nothing else is left).
pub fn user_annotations(secret: &Secret) -> Option<BTreeMap<String, String>> {
    let mut annotations = secret.metadata.annotations.clone()?;
    annotations.remove(INTEGRITY_ANNOTATION);
    (!annotations.is_empty()).then_some(annotations)
}

/// Our controller's integrity annotation on `secret`, if any.
pub fn integrity(secret: &Secret) -> Option<&String> {
    secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(INTEGRITY_ANNOTATION))
}
