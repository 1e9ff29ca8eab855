//! A lenient PEM (RFC 7468) scanner and a PEM writer.
//!
//! Exists because key Secrets and certificate files contain several blocks, sometimes with
//! text between them, and must be read the way upstream reads them: every well-formed
//! `-----BEGIN X-----` ... `-----END X-----` block is returned in order, anything else (text
//! around blocks, blocks with a mismatched END line or bad base64) is skipped. Decoded bytes are
//! zeroized on drop since blocks may hold private keys.

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

/// Standard base64 with padding, tolerating non-zero trailing bits as Go's decoder does.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// One decoded PEM block.
pub(crate) struct Block {
    /// The type after `BEGIN `, e.g. `CERTIFICATE`.
    pub(crate) label: String,
    /// Whether the block had RFC 1421 headers (`Proc-Type: ...`).
    pub(crate) has_headers: bool,
    /// The decoded body.
    pub(crate) der: Zeroizing<Vec<u8>>,
}

/// Every well-formed PEM block in `input`, in order.
pub(crate) fn blocks(input: &[u8]) -> Vec<Block> {
    let lines: Vec<&[u8]> = input.split(|&b| b == b'\n').map(trim_end).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(label) = marker(lines[i], b"-----BEGIN ")
            && let Some((block, next)) = parse_body(&lines[i + 1..], label)
        {
            out.push(block);
            i += 1 + next;
            continue;
        }
        i += 1;
    }
    out
}

/// Decodes the block body starting at `lines[0]`; returns the block and the lines consumed.
fn parse_body(lines: &[&[u8]], label: &[u8]) -> Option<(Block, usize)> {
    // Find the END line first: a nested BEGIN or a mismatched END makes the block malformed.
    let end = lines.iter().position(|line| {
        marker(line, b"-----END ").is_some() || marker(line, b"-----BEGIN ").is_some()
    })?;
    if marker(lines[end], b"-----END ")? != label {
        return None;
    }
    let label = String::from_utf8(label.to_vec()).ok()?;
    // RFC 1421 headers ("Key: value" lines) precede the base64 body.
    let headers = lines[..end]
        .iter()
        .take_while(|line| line.contains(&b':'))
        .count();
    let body_lines = &lines[headers..end];
    // Sized up front so the buffer holding (possibly secret) base64 never reallocates.
    let mut body = Zeroizing::new(Vec::with_capacity(body_lines.iter().map(|l| l.len()).sum()));
    for line in body_lines {
        body.extend(line.iter().filter(|b| !matches!(b, b' ' | b'\t')));
    }
    let der = Zeroizing::new(LENIENT_BASE64.decode(body.as_slice()).ok()?);
    let block = Block {
        label,
        has_headers: headers > 0,
        der,
    };
    Some((block, end + 1))
}

/// If `line` is `<prefix>LABEL-----`, returns `LABEL`.
fn marker<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    line.strip_prefix(prefix)?.strip_suffix(b"-----")
}

fn trim_end(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        .map_or(0, |p| p + 1);
    &line[..end]
}

/// Encodes `der` as one PEM block of type `label`, base64 in 64-character lines.
pub(crate) fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(der));
    let mut out = Zeroizing::new(String::with_capacity(
        b64.len() + b64.len() / 64 + 2 * label.len() + 40,
    ));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 output is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}
