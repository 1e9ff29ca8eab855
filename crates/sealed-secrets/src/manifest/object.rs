//! Typing decoded documents: `kind: List` expansion and Secret / SealedSecret / other objects.
//!
//! `data` and `stringData` of a Secret are decoded here by hand rather than by serde, so that a
//! malformed value is reported by its key and JSON type only: serde's messages quote the
//! offending value, which would put secret material in an error.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Map, Value};

use super::error::{ManifestError, Position};
use super::stream::RawDocument;
use crate::names::{API_VERSION as SEALED_API_VERSION, KIND as SEALED_KIND};
use crate::types::SealedSecret;

/// How to read a document that has neither `apiVersion` nor `kind` (upstream accepts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untyped {
    /// As a `v1` Secret (sealing input).
    Secret,
    /// As a `bitnami.com/v1alpha1` SealedSecret (unsealing, validation, re-encryption input).
    SealedSecret,
}

/// A typed object of a manifest stream.
#[derive(Debug, Clone)]
pub enum Object {
    /// A `v1` Secret.
    Secret(Box<Secret>),
    /// A `bitnami.com/v1alpha1` SealedSecret.
    SealedSecret(Box<SealedSecret>),
    /// Any other object, kept only by its identity for messages.
    Other {
        /// `apiVersion`, or empty.
        api_version: String,
        /// `kind`, or empty.
        kind: String,
        /// `metadata.name`, or empty.
        name: String,
    },
}

impl Object {
    /// A short description for messages: `a ConfigMap (v1) "app-config"`, `a Secret "ns/name"`.
    pub fn describe(&self) -> String {
        match self {
            Object::Secret(s) => format!("a Secret {}", quoted_name(&s.metadata)),
            Object::SealedSecret(s) => format!("a SealedSecret {}", quoted_name(&s.metadata)),
            Object::Other {
                api_version,
                kind,
                name,
            } => {
                let kind = if kind.is_empty() {
                    "an object without kind"
                } else {
                    kind
                };
                let mut out = format!("{} {kind}", article(kind));
                if !api_version.is_empty() {
                    out.push_str(&format!(" ({api_version})"));
                }
                if !name.is_empty() {
                    out.push_str(&format!(" {name:?}"));
                }
                out
            }
        }
    }
}

fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some('A' | 'E' | 'I' | 'O' | 'U' | 'a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ if word.starts_with("an ") => "",
        _ => "a",
    }
}

/// `"ns/name"`, `"name"` or `(no name)` for messages.
pub(crate) fn quoted_name(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> String {
    let name = meta.name.as_deref().unwrap_or("");
    match meta.namespace.as_deref() {
        _ if name.is_empty() => "(no name)".to_owned(),
        Some(ns) if !ns.is_empty() => format!("\"{ns}/{name}\""),
        _ => format!("\"{name}\""),
    }
}

/// One typed object of a stream, with its position for messages.
#[derive(Debug, Clone)]
pub struct Document {
    /// Where it is in the input.
    pub position: Position,
    /// What it is.
    pub object: Object,
}

/// Expands Lists and types every document.
pub(crate) fn type_documents(
    raw: Vec<RawDocument>,
    untyped: Untyped,
) -> Result<Vec<Document>, ManifestError> {
    let mut out = Vec::with_capacity(raw.len());
    for doc in raw {
        let Value::Object(map) = doc.value else {
            return Err(ManifestError::NotAnObject {
                position: doc.position,
                found: json_type(&doc.value),
            });
        };
        if is_list(&map) {
            let items = match map.get("items") {
                Some(Value::Array(items)) => items.clone(),
                Some(Value::Null) | None => Vec::new(),
                Some(other) => {
                    return Err(ManifestError::Field {
                        position: doc.position,
                        object: "List".to_owned(),
                        field: "items".to_owned(),
                        problem: format!("expected a list, found {}", json_type(other)),
                    });
                }
            };
            for (i, item) in items.into_iter().enumerate() {
                let position = Position {
                    item: Some(i + 1),
                    ..doc.position
                };
                let Value::Object(item) = item else {
                    return Err(ManifestError::NotAnObject {
                        position,
                        found: json_type(&item),
                    });
                };
                if item.is_empty() {
                    continue;
                }
                out.push(Document {
                    position,
                    object: type_object(item, position, untyped)?,
                });
            }
        } else {
            out.push(Document {
                position: doc.position,
                object: type_object(map, doc.position, untyped)?,
            });
        }
    }
    Ok(out)
}

/// `kind: List` (any `...List` kind such as `SecretList`), or no kind with an `items` list.
fn is_list(map: &Map<String, Value>) -> bool {
    match map.get("kind") {
        Some(Value::String(kind)) => kind.ends_with("List"),
        None => matches!(map.get("items"), Some(Value::Array(_))),
        _ => false,
    }
}

fn string_field<'a>(map: &'a Map<String, Value>, key: &str) -> &'a str {
    map.get(key).and_then(Value::as_str).unwrap_or("")
}

fn type_object(
    map: Map<String, Value>,
    position: Position,
    untyped: Untyped,
) -> Result<Object, ManifestError> {
    let api_version = string_field(&map, "apiVersion").to_owned();
    let kind = string_field(&map, "kind").to_owned();
    let is_secret = kind == "Secret" && (api_version.is_empty() || api_version == "v1");
    let is_sealed =
        kind == SEALED_KIND && (api_version.is_empty() || api_version == SEALED_API_VERSION);
    let untyped_doc = kind.is_empty() && api_version.is_empty();
    if is_secret || (untyped_doc && untyped == Untyped::Secret) {
        decode_secret(map, position).map(|s| Object::Secret(Box::new(s)))
    } else if is_sealed || (untyped_doc && untyped == Untyped::SealedSecret) {
        decode_sealed_secret(map, position).map(|s| Object::SealedSecret(Box::new(s)))
    } else {
        let name = map
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        Ok(Object::Other {
            api_version,
            kind,
            name,
        })
    }
}

/// The JSON type of a value, for messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The object's name for messages, read leniently before full decoding.
fn early_name(kind: &str, map: &Map<String, Value>) -> String {
    let meta = map.get("metadata");
    let get = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let (ns, name) = (get("namespace"), get("name"));
    match (ns.is_empty(), name.is_empty()) {
        (_, true) => format!("{kind} (no name)"),
        (false, false) => format!("{kind} \"{ns}/{name}\""),
        (true, false) => format!("{kind} \"{name}\""),
    }
}

/// Reads a string map field (`data` or `stringData`), reporting bad items by key and type only.
fn take_string_map(
    map: &mut Map<String, Value>,
    field: &str,
    position: Position,
    object: &str,
) -> Result<Option<BTreeMap<String, String>>, ManifestError> {
    let bad = |path: String, problem: String| ManifestError::Field {
        position,
        object: object.to_owned(),
        field: path,
        problem,
    };
    match map.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(items)) => {
            let mut out = BTreeMap::new();
            for (key, value) in items {
                let value = match value {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    other => {
                        return Err(bad(
                            format!("{field}.{key}"),
                            format!("expected a string, found {}", json_type(&other)),
                        ));
                    }
                };
                out.insert(key, value);
            }
            Ok(Some(out))
        }
        Some(other) => Err(bad(
            field.to_owned(),
            format!("expected a map, found {}", json_type(&other)),
        )),
    }
}

fn decode_secret(mut map: Map<String, Value>, position: Position) -> Result<Secret, ManifestError> {
    let object = early_name("Secret", &map);
    let data = take_string_map(&mut map, "data", position, &object)?;
    let string_data = take_string_map(&mut map, "stringData", position, &object)?;
    let data = match data {
        None => None,
        Some(items) => {
            let mut out = BTreeMap::new();
            for (key, encoded) in items {
                // The base64 text is the value in another spelling: wiped once decoded.
                let encoded = zeroize::Zeroizing::new(encoded);
                // Like Go's decoder, line breaks inside the base64 text are ignored.
                let compact: zeroize::Zeroizing<String> = zeroize::Zeroizing::new(
                    encoded
                        .chars()
                        .filter(|c| *c != '\n' && *c != '\r')
                        .collect(),
                );
                let bytes = base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()).map_err(|_| {
                    ManifestError::Field {
                        position,
                        object: object.clone(),
                        field: format!("data.{key}"),
                        problem: "not valid base64 (data values must be base64; put plain text in stringData)"
                            .to_owned(),
                    }
                })?;
                out.insert(key, ByteString(bytes));
            }
            Some(out)
        }
    };
    map.remove("apiVersion");
    map.remove("kind");
    let mut secret: Secret = decode_fields(map, position, &object)?;
    secret.data = data;
    secret.string_data = string_data;
    Ok(secret)
}

fn decode_sealed_secret(
    mut map: Map<String, Value>,
    position: Position,
) -> Result<SealedSecret, ManifestError> {
    let object = early_name(SEALED_KIND, &map);
    map.remove("apiVersion");
    map.remove("kind");
    map.entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    match map.get("spec") {
        Some(Value::Object(_)) => {}
        None | Some(Value::Null) => {
            return Err(ManifestError::Field {
                position,
                object,
                field: "spec".to_owned(),
                problem: "missing".to_owned(),
            });
        }
        Some(other) => {
            return Err(ManifestError::Field {
                position,
                object,
                field: "spec".to_owned(),
                problem: format!("expected an object, found {}", json_type(other)),
            });
        }
    }
    decode_fields(map, position, &object)
}

/// Decodes `map` as a `T`; on failure, names the field that failed (one level into `metadata`,
/// `spec` and `template`) and the JSON type found there, never the value: the decoder's own
/// messages quote it (`invalid type: string "...", expected a map`), and a manifest's values may
/// be secret.
fn decode_fields<T: serde::de::DeserializeOwned>(
    map: Map<String, Value>,
    position: Position,
    object: &str,
) -> Result<T, ManifestError> {
    let whole = Value::Object(map);
    let error = match serde_json::from_value::<T>(whole.clone()) {
        Ok(decoded) => return Ok(decoded),
        Err(e) => e,
    };
    let (field, value, error) = locate::<T>(&whole, error);
    Err(ManifestError::Field {
        position,
        object: object.to_owned(),
        field,
        problem: describe(&error, value),
    })
}

/// The path of the first field that fails to decode on its own, its value and its error.
fn locate<T: serde::de::DeserializeOwned>(
    whole: &Value,
    error: serde_json::Error,
) -> (String, &Value, serde_json::Error) {
    let mut path = Vec::new();
    let mut current = whole;
    let mut error = error;
    // Wraps the field at `path` (with value `v`) back into an otherwise empty object.
    fn nest(path: &[&str], v: &Value) -> Value {
        path.iter().rev().fold(v.clone(), |inner, key| {
            let mut m = Map::new();
            m.insert((*key).to_owned(), inner);
            Value::Object(m)
        })
    }
    'descend: while let Value::Object(fields) = current {
        for (key, value) in fields {
            let mut candidate = path.clone();
            candidate.push(key.as_str());
            if let Err(e) = serde_json::from_value::<T>(nest(&candidate, value)) {
                path = candidate;
                current = value;
                error = e;
                if path.len() < 3 {
                    continue 'descend;
                }
                break 'descend;
            }
        }
        break;
    }
    let field = if path.is_empty() {
        "(the object)".to_owned()
    } else {
        path.join(".")
    };
    (field, current, error)
}

/// `expected <type>, found <type>` from a decoder error, without the value it quotes.
fn describe(error: &serde_json::Error, found: &Value) -> String {
    let message = error.to_string();
    let serde_shaped = ["invalid type: ", "invalid value: ", "invalid length "]
        .iter()
        .any(|p| message.starts_with(p));
    match message.rfind(", expected ").filter(|_| serde_shaped) {
        Some(at) => format!(
            "{}, found {}",
            message[at + 2..].trim_end_matches('.'),
            json_type(found)
        ),
        None if message.starts_with("missing field") => message,
        None => format!("not a valid value (found {}; not shown)", json_type(found)),
    }
}
