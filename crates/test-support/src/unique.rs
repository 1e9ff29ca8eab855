//! Names no other test (in this process or another) uses.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// `<prefix>-<6 hex chars>`, unique within and across test processes, a valid DNS label (the prefix is made one
/// by [`dns_label`] and shortened to fit).
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mix = nanos
        ^ std::process::id().rotate_left(16)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9);
    format!("{}-{:06x}", dns_label(prefix, 63 - 7), mix & 0xff_ffff)
}

/// `text` as a DNS label (also a valid label value) of at most `max` characters: lower-case letters and digits
/// kept, anything else turned into `-`, no `-` at either end.
pub fn dns_label(text: &str, max: usize) -> String {
    let label: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(max)
        .collect();
    label.trim_matches('-').to_owned()
}
