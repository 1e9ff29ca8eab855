//! API requests of one ServiceAccount, counted from the control plane's audit log per `verb resource`.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::PathBuf;

/// Reads the audit log from where it ended when created.
pub struct AuditTail {
    path: PathBuf,
    offset: u64,
    user: String,
    partial: Vec<u8>,
    seen: HashSet<String>,
    counts: BTreeMap<String, u64>,
}

impl AuditTail {
    /// Counts the requests of `user` written to `path` from now on.
    pub fn new(path: PathBuf, user: String) -> Self {
        let offset = std::fs::metadata(&path).map_or(0, |m| m.len());
        Self {
            path,
            offset,
            user,
            partial: Vec::new(),
            seen: HashSet::new(),
            counts: BTreeMap::new(),
        }
    }

    /// Reads what was appended since the last call.
    pub fn poll(&mut self) -> anyhow::Result<()> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Ok(());
        };
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let Some(last_nl) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        let rest = self.partial.split_off(last_nl + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        for line in complete.split(|&b| b == b'\n') {
            if line.is_empty()
                || !line
                    .windows(self.user.len())
                    .any(|w| w == self.user.as_bytes())
            {
                continue;
            }
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            if v["user"]["username"].as_str() != Some(self.user.as_str()) {
                continue;
            }
            // Each request is logged once per stage; count it once.
            let Some(id) = v["auditID"].as_str() else {
                continue;
            };
            if !self.seen.insert(id.to_owned()) {
                continue;
            }
            let verb = v["verb"].as_str().unwrap_or("?");
            let resource = v["objectRef"]["resource"].as_str().unwrap_or("nonresource");
            let key = match v["objectRef"]["subresource"].as_str() {
                Some(sub) => format!("{verb} {resource}/{sub}"),
                None => format!("{verb} {resource}"),
            };
            *self.counts.entry(key).or_default() += 1;
        }
        Ok(())
    }

    /// The counts so far.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.clone()
    }
}
