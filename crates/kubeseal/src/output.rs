//! Rendering objects the way upstream kubeseal does, and writing them out.
//!
//! JSON is Go's: 2-space indentation, one object after another each followed by a newline,
//! fields in Go struct order (`kind`, `apiVersion`, `metadata` in ObjectMeta order, `spec`,
//! `status`), map keys sorted, and `<`, `>`, `&`, U+2028, U+2029 escaped as `\u003c` etc.
//! YAML is upstream's JSON-to-YAML conversion: a `---` line before each document, keys sorted.
//!
//! Output goes to stdout, or to a file that is replaced atomically only once everything is
//! rendered: a failed run leaves an existing file as it was.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::Secret;
use sealed_secrets::SealedSecret;
use sealed_secrets::names::{API_VERSION, KIND};
use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};
use serde_json::{Map, Value};

/// Output format (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Pretty JSON (the default).
    Json,
    /// YAML, each document preceded by `---`.
    Yaml,
}

impl Format {
    /// Parses `-o` case-insensitively; empty is JSON.
    pub fn parse(value: &str) -> Result<Format> {
        match value.to_ascii_lowercase().as_str() {
            "" | "json" => Ok(Format::Json),
            "yaml" => Ok(Format::Yaml),
            _ => Err(crate::report::message_with_hint(
                format!("unsupported output format: {value}"),
                "use -o json or -o yaml",
            )),
        }
    }

    /// The format a file name implies: `.yaml`/`.yml` or `.json`.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Where the output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Standard output.
    Stdout,
    /// A file, replaced atomically on success (`-w`).
    File(PathBuf),
}

/// Go field order of `ObjectMeta`.
const OBJECT_META: [&str; 16] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "clusterName",
    "managedFields",
];
const OWNER_REFERENCE: [&str; 6] = [
    "apiVersion",
    "kind",
    "name",
    "uid",
    "controller",
    "blockOwnerDeletion",
];
const MANAGED_FIELDS: [&str; 7] = [
    "manager",
    "operation",
    "apiVersion",
    "time",
    "fieldsType",
    "fieldsV1",
    "subresource",
];
const SEALED_SECRET: [&str; 5] = ["kind", "apiVersion", "metadata", "spec", "status"];
const SEALED_SECRET_SPEC: [&str; 3] = ["template", "data", "encryptedData"];
const TEMPLATE: [&str; 4] = ["metadata", "type", "immutable", "data"];
const STATUS: [&str; 2] = ["observedGeneration", "conditions"];
const CONDITION: [&str; 6] = [
    "type",
    "status",
    "lastUpdateTime",
    "lastTransitionTime",
    "reason",
    "message",
];
const SECRET: [&str; 7] = [
    "kind",
    "apiVersion",
    "metadata",
    "immutable",
    "data",
    "stringData",
    "type",
];

/// Reorders an object's keys: `order` first, then any others in their existing order.
fn ordered(value: Value, order: &[&str]) -> Value {
    let Value::Object(mut map) = value else {
        return value;
    };
    let mut out = Map::with_capacity(map.len());
    for key in order {
        if let Some(v) = map.shift_remove(*key) {
            out.insert((*key).to_owned(), v);
        }
    }
    out.extend(map);
    Value::Object(out)
}

/// Applies `f` to the value under `key`, if present.
fn edit(value: &mut Value, key: &str, f: impl FnOnce(Value) -> Value) {
    if let Some(slot) = value.get_mut(key) {
        *slot = f(slot.take());
    }
}

fn each(value: Value, f: impl Fn(Value) -> Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(f).collect()),
        other => other,
    }
}

fn object_meta(value: Value) -> Value {
    let mut meta = ordered(value, &OBJECT_META);
    edit(&mut meta, "ownerReferences", |v| {
        each(v, |r| ordered(r, &OWNER_REFERENCE))
    });
    edit(&mut meta, "managedFields", |v| {
        each(v, |m| ordered(m, &MANAGED_FIELDS))
    });
    meta
}

fn to_value(object: &impl Serialize) -> Result<Value> {
    serde_json::to_value(object).context("cannot serialize the output")
}

/// A SealedSecret in Go's field order.
pub fn sealed_secret_value(sealed: &SealedSecret) -> Result<Value> {
    let mut value = to_value(sealed)?;
    if let Value::Object(map) = &mut value {
        map.insert("kind".to_owned(), Value::String(KIND.to_owned()));
        map.insert(
            "apiVersion".to_owned(),
            Value::String(API_VERSION.to_owned()),
        );
    }
    let mut value = ordered(value, &SEALED_SECRET);
    edit(&mut value, "metadata", object_meta);
    edit(&mut value, "spec", |spec| {
        let mut spec = ordered(spec, &SEALED_SECRET_SPEC);
        edit(&mut spec, "template", |template| {
            let mut template = ordered(template, &TEMPLATE);
            edit(&mut template, "metadata", object_meta);
            template
        });
        spec
    });
    edit(&mut value, "status", |status| {
        let mut status = ordered(status, &STATUS);
        edit(&mut status, "conditions", |c| {
            each(c, |c| ordered(c, &CONDITION))
        });
        status
    });
    Ok(value)
}

/// A v1 Secret in Go's field order.
pub fn secret_value(secret: &Secret) -> Result<Value> {
    let mut value = to_value(secret)?;
    if let Value::Object(map) = &mut value {
        map.insert("kind".to_owned(), Value::String("Secret".to_owned()));
        map.insert("apiVersion".to_owned(), Value::String("v1".to_owned()));
    }
    let mut value = ordered(value, &SECRET);
    edit(&mut value, "metadata", object_meta);
    Ok(value)
}

/// Renders objects one after the other in `format`.
pub fn render(objects: &[Value], format: Format) -> Result<String> {
    let mut out = String::new();
    for object in objects {
        match format {
            Format::Json => {
                out.push_str(&to_go_json(object)?);
                out.push('\n');
            }
            Format::Yaml => {
                out.push_str("---\n");
                out.push_str(&to_yaml(object)?);
            }
        }
    }
    Ok(out)
}

/// Go's `json.MarshalIndent(v, "", "  ")` output.
pub fn to_go_json(value: &Value) -> Result<String> {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut buf,
        GoFormatter(PrettyFormatter::with_indent(b"  ")),
    );
    value.serialize(&mut ser).context("cannot render JSON")?;
    String::from_utf8(buf).context("cannot render JSON")
}

/// YAML with sorted keys, long strings unfolded.
pub fn to_yaml(value: &Value) -> Result<String> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    let mut out = String::new();
    serde_saphyr::to_fmt_writer_with_options(&mut out, &sorted(value), options)
        .context("cannot render YAML")?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// serde_json's pretty printer with Go's HTML-safe string escaping.
struct GoFormatter<'a>(PrettyFormatter<'a>);

impl Formatter for GoFormatter<'_> {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(escape.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        serde_json::ser::CompactFormatter.write_char_escape(w, escape)
    }
}

/// Writes `bytes` to the target. A file is replaced atomically.
pub fn write(target: &Target, bytes: &[u8]) -> Result<()> {
    write_as(target, bytes, Access::Usual)
}

/// Who may read a file kubeseal writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// SealedSecrets (safe to share): an existing file keeps its permissions, a new one gets the
    /// usual permissions for new files.
    Usual,
    /// Plaintext (`--recovery-unseal`): the owner only (0600), the temporary file included,
    /// whatever the file had before.
    Private,
}

/// [`write()`], with the file's [`Access`].
pub fn write_as(target: &Target, bytes: &[u8], access: Access) -> Result<()> {
    match target {
        Target::Stdout => {
            let mut out = io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .context("cannot write to stdout")
        }
        Target::File(path) => replace_file_as(path, bytes, access),
    }
}

/// Replaces `path` with `bytes` atomically: a temporary file in the same directory, synced,
/// then renamed over it. An existing file keeps its permissions; a new one gets the usual
/// permissions for new files (upstream forced 0600).
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_file_as(path, bytes, Access::Usual)
}

/// [`replace_file`], with the file's [`Access`].
pub fn replace_file_as(path: &Path, bytes: &[u8], access: Access) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let existing = fs::metadata(path).ok();
    let (tmp_path, mut file) = create_temp(&dir, &name, access)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let result = (|| -> io::Result<()> {
        file.write_all(bytes)?;
        if let (Some(meta), Access::Usual) = (&existing, access) {
            file.set_permissions(meta.permissions())?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp_path, path)
    })();
    if let Err(err) = result {
        let _ = fs::remove_file(&tmp_path);
        return Err(err).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

fn create_temp(dir: &Path, name: &str, access: Access) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut last = None;
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let candidate = dir.join(format!(".{name}.{pid}.{nanos:x}{attempt}.tmp"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if access == Access::Private {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        #[cfg(not(unix))]
        let _ = access;
        match options.open(&candidate) {
            Ok(file) => return Ok((candidate, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("cannot create a temporary file")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[cfg(unix)]
    #[test]
    fn private_files_are_owner_only_even_over_a_shared_one() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("kubeseal-private-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("plain.yaml");
        fs::write(&path, "old").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        replace_file_as(&path, b"secret", Access::Private).expect("written");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let new = dir.join("new.yaml");
        replace_file_as(&new, b"secret", Access::Private).expect("written");
        assert_eq!(
            fs::metadata(&new).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        // Sealed output keeps an existing file's permissions.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        replace_file_as(&path, b"sealed", Access::Usual).expect("written");
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o644
        );
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn go_json_escaping_and_indent() {
        let v = json!({"b": "<a&b>\u{2028}\n\"", "a": [], "c": {}, "d": [1, {"x": null}]});
        assert_eq!(
            to_go_json(&v).unwrap(),
            "{\n  \"b\": \"\\u003ca\\u0026b\\u003e\\u2028\\n\\\"\",\n  \"a\": [],\n  \"c\": {},\n  \"d\": [\n    1,\n    {\n      \"x\": null\n    }\n  ]\n}"
        );
    }

    #[test]
    fn object_meta_in_go_order() {
        let meta = json!({"annotations": {"b": "1", "a": "2"}, "labels": {}, "namespace": "ns", "name": "n",
                          "ownerReferences": [{"uid": "u", "name": "o", "kind": "K", "apiVersion": "v", "controller": true}]});
        let out = object_meta(meta);
        let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "name",
                "namespace",
                "labels",
                "annotations",
                "ownerReferences"
            ]
        );
        let owner_keys: Vec<_> = out["ownerReferences"][0]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            owner_keys,
            ["apiVersion", "kind", "name", "uid", "controller"]
        );
    }

    #[test]
    fn yaml_documents_sorted_with_separators() {
        let docs = [
            json!({"kind": "A", "apiVersion": "v", "metadata": {"name": "x", "annotations": {"a/b": "true"}}}),
            json!({"k": "y"}),
        ];
        let out = render(&docs, Format::Yaml).unwrap();
        assert_eq!(
            out,
            "---\napiVersion: v\nkind: A\nmetadata:\n  annotations:\n    a/b: \"true\"\n  name: x\n---\nk: \"y\"\n"
        );
        assert!(!out.ends_with("---\n"));
    }

    #[test]
    fn formats() {
        assert_eq!(Format::parse("YAML").unwrap(), Format::Yaml);
        assert_eq!(Format::parse("").unwrap(), Format::Json);
        assert_eq!(
            Format::parse("xml").unwrap_err().to_string(),
            "unsupported output format: xml"
        );
        assert_eq!(
            Format::from_extension(Path::new("a/b.YML")),
            Some(Format::Yaml)
        );
        assert_eq!(Format::from_extension(Path::new("b.txt")), None);
    }

    #[test]
    fn replace_keeps_old_file_until_success_and_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("kubeseal-out-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        replace_file(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
