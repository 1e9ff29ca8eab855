//! Splitting a byte stream into documents: concatenated JSON objects, `---` separated YAML
//! documents, or JSON objects followed by YAML (as upstream accepts).
//!
//! Every document is decoded to a [`serde_json::Value`] and numbered, so later errors can say
//! which document was wrong and on which line it starts. A malformed document is a terminal
//! error: the stream is never re-read from the same place, so a bad JSON object cannot make the
//! reader loop (docs/upstream-behavior.md, "JSON streams").

use serde_json::Value;

use super::error::{ManifestError, Position};

/// One document of a stream, decoded but not yet typed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawDocument {
    pub position: Position,
    pub value: Value,
}

/// The serialization format a stream starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON object (the first non-blank byte is `{` or `[`).
    Json,
    /// YAML (anything else).
    Yaml,
}

/// The format of a stream, judged like upstream: JSON when the first non-blank byte is `{`.
/// (`[` is also taken as JSON, so a top-level JSON array gets a clear error.)
pub fn detect_format(bytes: &[u8]) -> Format {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => Format::Json,
        _ => Format::Yaml,
    }
}

/// Decodes every document of `bytes`. Empty documents (blank, comments only, `null`) are
/// numbered but not returned.
pub(crate) fn documents(bytes: &[u8]) -> Result<Vec<RawDocument>, ManifestError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ManifestError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = LineIndex::new(text);
    let mut docs = Vec::new();
    let mut number = 0;
    let mut offset = 0;
    loop {
        let rest = &text[offset..];
        let skipped = rest.len() - rest.trim_start().len();
        offset += skipped;
        let rest = &text[offset..];
        if rest.is_empty() {
            break;
        }
        if !(rest.starts_with('{') || rest.starts_with('[')) {
            yaml_documents(text, &lines, offset, &mut number, &mut docs)?;
            break;
        }
        number += 1;
        let (line, column) = lines.line_column(offset);
        let position = Position {
            document: number,
            item: None,
            line,
        };
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                offset += stream.byte_offset();
                push(&mut docs, position, value);
            }
            Some(Err(err)) => {
                return Err(ManifestError::Json {
                    position,
                    message: json_message(&err, line, column),
                });
            }
            None => break,
        }
    }
    Ok(docs)
}

fn push(docs: &mut Vec<RawDocument>, position: Position, value: Value) {
    let empty = match &value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        _ => false,
    };
    if !empty {
        docs.push(RawDocument { position, value });
    }
}

/// Byte offsets of the line breaks of a text, to turn offsets into lines in O(log n).
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        LineIndex(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        )
    }

    /// 1-based line and column of byte `offset`.
    fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = self.0.partition_point(|&nl| nl < offset);
        let line_start = if before == 0 {
            0
        } else {
            self.0[before - 1] + 1
        };
        (before + 1, offset - line_start + 1)
    }
}

/// serde_json's message with its position rewritten relative to the whole input.
fn json_message(err: &serde_json::Error, start_line: usize, start_column: usize) -> String {
    let text = err.to_string();
    let message = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    if err.line() == 0 {
        return message.to_owned();
    }
    let line = start_line + err.line() - 1;
    let column = if err.line() == 1 {
        start_column + err.column() - 1
    } else {
        err.column()
    };
    format!("{message} at line {line} column {column}")
}

/// A line that starts a new document (`---`) or ends one (`...`).
#[derive(PartialEq)]
enum Marker {
    Start,
    End,
}

fn marker(line: &str) -> Option<Marker> {
    let marker = if line.starts_with("---") {
        Marker::Start
    } else if line.starts_with("...") {
        Marker::End
    } else {
        return None;
    };
    match line.as_bytes().get(3) {
        None | Some(b' ' | b'\t' | b'\r' | b'\n') => Some(marker),
        _ => None,
    }
}

/// Whether a chunk holds only blank lines and comments (no document at all).
fn is_blank(chunk: &str) -> bool {
    chunk.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    })
}

/// Whether a chunk holds only directives (`%YAML`, `%TAG`), blank lines and comments: it
/// belongs to the document that follows.
fn is_directives(chunk: &str) -> bool {
    chunk.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l.starts_with('%')
    }) && !is_blank(chunk)
}

/// Splits `text[start..]` at document markers and decodes each document.
///
/// Splitting on `---`/`...` lines at column 0 is what YAML itself does: such a line ends any
/// block or flow scalar, so it cannot be content.
fn yaml_documents(
    text: &str,
    lines: &LineIndex,
    start: usize,
    number: &mut usize,
    docs: &mut Vec<RawDocument>,
) -> Result<(), ManifestError> {
    // Chunk boundaries as (begin, end) byte ranges.
    let mut chunks = Vec::new();
    let mut chunk_start = start;
    let mut pos = start;
    for line in text[start..].split_inclusive('\n') {
        match marker(line) {
            Some(Marker::Start) => {
                chunks.push((chunk_start, pos));
                chunk_start = pos;
            }
            Some(Marker::End) => {
                chunks.push((chunk_start, pos));
                chunk_start = pos + line.len();
            }
            None => {}
        }
        pos += line.len();
    }
    chunks.push((chunk_start, text.len()));

    let mut pending: Option<usize> = None;
    for (begin, end) in chunks {
        let begin = pending.take().unwrap_or(begin);
        let chunk = &text[begin..end];
        if is_blank(chunk) {
            continue;
        }
        if is_directives(chunk) {
            pending = Some(begin);
            continue;
        }
        *number += 1;
        let first_line = lines.line_column(begin).0;
        let content_line = chunk
            .lines()
            .position(|l| {
                let bare_marker = l.starts_with("---") && {
                    let rest = l[3..].trim();
                    rest.is_empty() || rest.starts_with('#')
                };
                let l = l.trim();
                !(l.is_empty() || l.starts_with('#') || l.starts_with('%') || bare_marker)
            })
            .unwrap_or(0);
        let position = Position {
            document: *number,
            item: None,
            line: first_line + content_line,
        };
        let value = parse_yaml(chunk).map_err(|err| ManifestError::Yaml {
            position,
            message: yaml_message(&err, first_line - 1),
        })?;
        if let Some(value) = value {
            push(docs, position, value);
        }
    }
    Ok(())
}

fn parse_yaml(chunk: &str) -> Result<Option<Value>, serde_saphyr::Error> {
    // YAML 1.2 core booleans only (`n`, `no`, `on` stay strings: a namespace `n` is a name), and
    // spellings like `0755` or `1_000` stay strings rather than turning into numbers.
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
    };
    serde_saphyr::from_str_with_options::<Option<Value>>(chunk, options)
}

/// The parser's message without a source snippet (which could show secret values), with lines
/// counted from the start of the whole input.
fn yaml_message(err: &serde_saphyr::Error, line_offset: usize) -> String {
    let options = serde_saphyr::render_options! {
        snippets: serde_saphyr::SnippetMode::Off,
        line_offset: line_offset as u64,
    };
    err.without_snippet().render_with_options(options)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(input: &str) -> Vec<(usize, usize, Value)> {
        documents(input.as_bytes())
            .unwrap()
            .into_iter()
            .map(|d| (d.position.document, d.position.line, d.value))
            .collect()
    }

    #[test]
    fn yaml_stream() {
        let docs = values("a: 1\n---\nb: 2\n---\n# only a comment\n---\nc: 3\n");
        assert_eq!(
            docs,
            vec![
                (1, 1, json!({"a": 1})),
                (2, 3, json!({"b": 2})),
                (4, 7, json!({"c": 3}))
            ]
        );
    }

    #[test]
    fn leading_marker_and_directives() {
        let docs = values("# header\n---\na: 1\n");
        assert_eq!(docs, vec![(1, 3, json!({"a": 1}))]);
        let docs = values("%YAML 1.2\n---\na: 1\n...\n---\nb: 2\n");
        assert_eq!(docs, vec![(1, 3, json!({"a": 1})), (2, 6, json!({"b": 2}))]);
    }

    #[test]
    fn marker_inside_scalar_needs_column_zero() {
        let docs = values("a: |\n  ---\n  x\nb: '--- '\n");
        assert_eq!(docs, vec![(1, 1, json!({"a": "---\nx\n", "b": "--- "}))]);
        let docs = values("--- {a: 1}\n--- {b: 2}\n");
        assert_eq!(docs, vec![(1, 1, json!({"a": 1})), (2, 2, json!({"b": 2}))]);
    }

    /// Upstream's multi-document detection cases, counted as non-empty documents.
    #[test]
    fn upstream_multidoc_cases() {
        let count = |s: &str| documents(s.as_bytes()).unwrap().len();
        for single in [
            "foo: 1",
            "foo: 1\nbar: 2\n",
            "---\nfoo: 1",
            "foo: |\n ---\n",
        ] {
            assert_eq!(count(single), 1, "{single:?}");
        }
        assert_eq!(count("foo: 1\n---\nbar: 2\n"), 2);
        assert_eq!(count("---\nfoo: 1\n---\nbar: 2\n---\n"), 2);
    }

    #[test]
    fn json_stream_and_json_then_yaml() {
        let docs = values("{\"a\": 1}\n{\"b\": 2}{\"c\": 3}\n---\nd: 4\n");
        assert_eq!(
            docs,
            vec![
                (1, 1, json!({"a": 1})),
                (2, 2, json!({"b": 2})),
                (3, 2, json!({"c": 3})),
                (4, 4, json!({"d": 4}))
            ]
        );
    }

    #[test]
    fn empty_documents_are_skipped() {
        assert!(values("").is_empty());
        assert!(values("\n\n# nothing\n").is_empty());
        assert!(values("{}\n{}").is_empty());
        assert!(values("---\n---\nnull\n").is_empty());
    }

    #[test]
    fn malformed_json_after_valid_objects_is_an_error_not_a_loop() {
        let err = documents(b"{\"a\": 1}\n{\"b\": 2}\n{\"c\": \n").unwrap_err();
        match &err {
            ManifestError::Json { position, message } => {
                assert_eq!(position.document, 3);
                assert_eq!(position.line, 3);
                assert!(message.contains("line 4"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn malformed_yaml_names_document_and_absolute_line_without_content() {
        let err =
            documents(b"a: 1\n---\nb: 2\n---\nkey: [unclosed\nsecret: hunter2\n").unwrap_err();
        match &err {
            ManifestError::Yaml { position, message } => {
                assert_eq!(position.document, 3);
                assert_eq!(position.line, 5);
                assert!(message.contains("line 6"), "{message}");
                assert!(!message.contains("hunter2"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("document 3 (line 5): invalid YAML: "),
            "{err}"
        );
    }

    #[test]
    fn yaml_1_1_booleans_and_octals_stay_strings() {
        let docs = values("a: n\nb: on\nc: 0755\nd: true\ne: 1_000\n");
        assert_eq!(
            docs[0].2,
            json!({"a": "n", "b": "on", "c": "0755", "d": true, "e": "1_000"})
        );
    }

    #[test]
    fn not_utf8() {
        let err = documents(b"a: \xff\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "input is not valid UTF-8 (first bad byte at offset 3)"
        );
    }

    #[test]
    fn format_detection() {
        assert_eq!(detect_format(b"  \n{\"a\":1}"), Format::Json);
        assert_eq!(detect_format(b"\xEF\xBB\xBF{"), Format::Json);
        assert_eq!(detect_format(b"a: 1"), Format::Yaml);
        assert_eq!(detect_format(b""), Format::Yaml);
    }
}
