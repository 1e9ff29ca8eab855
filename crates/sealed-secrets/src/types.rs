//! The `SealedSecret` custom resource (`bitnami.com/v1alpha1`), field for field as upstream.
//!
//! JSON field names, optionality and the CRD (group, kind, plural, status subresource, printer
//! columns) match Bitnami's so both controllers read each other's objects. The CRD manifest in
//! `controller-manifests/` is generated from these types.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// API version of the SealedSecret resource (in [`crate::names::API_VERSION`]).
pub const VERSION: &str = "v1alpha1";

/// The desired state of a SealedSecret: encrypted values plus the template of the Secret to create.
#[derive(CustomResource, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "bitnami.com",
    version = "v1alpha1",
    kind = "SealedSecret",
    plural = "sealedsecrets",
    singular = "sealedsecret",
    namespaced,
    status = "SealedSecretStatus",
    doc = "SealedSecret is the K8s representation of a \"sealed Secret\" - a regular k8s Secret that has been sealed (encrypted) using the controller's key.",
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[0].message"}"#,
    printcolumn = r#"{"name":"Synced","type":"string","jsonPath":".status.conditions[0].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = crate::types::schema::without_defaults)]
pub struct SealedSecretSpec {
    /// Template defines the structure of the Secret that will be created from this sealed secret.
    #[serde(default)] // not required in the schema, as upstream
    pub template: SecretTemplateSpec,

    // Standard base64 of one hybrid-encrypted JSON Secret (the pre-v0.7 "v1" format). Present,
    // even as an empty string, selects the legacy unseal path.
    /// Data is deprecated and will be removed eventually. Use collection of EncryptedData instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::types::schema::legacy_data")]
    pub data: Option<String>,

    // Decoded leniently, as upstream: a non-string value does not fail the whole object; its key
    // is recorded in `invalid_items` and reported when unsealing.
    /// Encrypted values: item key to the standard base64 of its hybrid ciphertext.
    #[schemars(schema_with = "crate::types::schema::encrypted_data")]
    pub encrypted_data: BTreeMap<String, String>,

    /// Keys of `encryptedData` items whose value was not a string (never serialized).
    #[serde(skip)]
    #[schemars(skip)]
    pub invalid_items: Vec<String>,
}

/// The template of the Secret the controller creates: metadata, type, immutability and templated data.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplateSpec {
    /// Standard object's metadata.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(schema_with = "crate::types::schema::template_metadata")]
    pub metadata: ObjectMeta,

    /// Used to facilitate programmatic handling of secret data.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,

    /// Immutable, if set to true, ensures that data stored in the Secret cannot be updated
    /// (only object metadata can be modified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,

    /// Keys that should be templated using decrypted data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::types::schema::nullable_string_map")]
    pub data: Option<BTreeMap<String, String>>,
}

/// The most recently observed status of a SealedSecret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretStatus {
    /// The most recent generation observed by the sealed secret controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Represents the latest available observations of a sealed secret's current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<SealedSecretCondition>>,
}

/// The state of a sealed secret at a certain point (`Synced` for Argo CD, `Ready` for kstatus/Flux).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretCondition {
    /// Type of condition for a sealed secret. Valid value: "Synced"
    #[serde(rename = "type")]
    pub type_: String,

    /// Status of the condition for a sealed secret. Valid values for "Synced": "True", "False",
    /// or "Unknown".
    pub status: String,

    /// The last time this condition was updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,

    /// Last time the condition transitioned from one status to another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,

    /// The reason for the condition's last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,

    /// A human readable message indicating details about the transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl SealedSecret {
    /// The namespace, or `""` when unset.
    pub fn namespace_or_empty(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("")
    }

    /// The name, or `""` when unset.
    pub fn name_or_empty(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    /// `namespace/name`, for messages.
    pub fn display_name(&self) -> String {
        match self.metadata.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => format!("{ns}/{}", self.name_or_empty()),
            _ => self.name_or_empty().to_owned(),
        }
    }
}

/// Decodes `null` as the type's default (upstream's template metadata is nullable).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The wire shape of a spec; `encryptedData` values are checked after decoding.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    #[serde(default)]
    template: Option<SecretTemplateSpec>,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    encrypted_data: Option<BTreeMap<String, serde_json::Value>>,
}

impl<'de> Deserialize<'de> for SealedSecretSpec {
    /// Decodes leniently, as upstream: a non-string `encryptedData` value does not fail the whole
    /// object (which would stop a controller from seeing it at all); its key is kept in
    /// `invalid_items` so unsealing reports it by name.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawSpec::deserialize(deserializer)?;
        let mut encrypted_data = BTreeMap::new();
        let mut invalid_items = Vec::new();
        for (key, value) in raw.encrypted_data.unwrap_or_default() {
            match value {
                serde_json::Value::String(s) => {
                    encrypted_data.insert(key, s);
                }
                _ => invalid_items.push(key),
            }
        }
        Ok(SealedSecretSpec {
            template: raw.template.unwrap_or_default(),
            data: raw.data,
            encrypted_data,
            invalid_items,
        })
    }
}

/// Hand-written schema fragments where the derived schema would differ from upstream's CRD.
pub(crate) mod schema {
    use schemars::{Schema, SchemaGenerator, json_schema};

    pub fn legacy_data(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Data is deprecated and will be removed eventually. Use collection of EncryptedData instead.",
            "type": "string",
            "format": "byte"
        })
    }

    /// Removes `default` values, which upstream's CRD does not have (the API server would store
    /// them into every object).
    pub fn without_defaults(schema: &mut Schema) {
        if let Some(object) = schema.as_object_mut() {
            object.remove("default");
            for value in object.values_mut() {
                match value {
                    serde_json::Value::Object(_) => {
                        if let Ok(child) = <&mut Schema>::try_from(value) {
                            without_defaults(child);
                        }
                    }
                    serde_json::Value::Array(items) => {
                        for item in items.iter_mut() {
                            if let Ok(child) = <&mut Schema>::try_from(item) {
                                without_defaults(child);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    pub fn encrypted_data(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": { "type": "string" },
            "x-kubernetes-preserve-unknown-fields": true
        })
    }

    pub fn nullable_string_map(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Keys that should be templated using decrypted data.",
            "type": "object",
            "additionalProperties": { "type": "string" },
            "nullable": true
        })
    }

    pub fn template_metadata(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Standard object's metadata.",
            "type": "object",
            "nullable": true,
            "x-kubernetes-preserve-unknown-fields": true,
            "properties": {
                "annotations": { "type": "object", "additionalProperties": { "type": "string" } },
                "finalizers": { "type": "array", "items": { "type": "string" } },
                "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                "name": { "type": "string" },
                "namespace": { "type": "string" }
            }
        })
    }
}
