//! A benchmark's report: printed as it is written and saved to `target/bench/<name>.txt`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Lines of a report, echoed to stdout as they are added.
pub struct Report {
    path: PathBuf,
    text: String,
}

impl Report {
    /// A report saved to `<out_dir>/<name>.txt` by [`Report::save`].
    pub fn new(out_dir: &Path, name: &str) -> Self {
        Self {
            path: out_dir.join(format!("{name}.txt")),
            text: String::new(),
        }
    }

    /// Adds (and prints) one line.
    pub fn line(&mut self, line: impl AsRef<str>) {
        println!("{}", line.as_ref());
        let _ = writeln!(self.text, "{}", line.as_ref());
    }

    /// Adds a target's verdict: `ratio` must be at least `need` (both "how many times better").
    pub fn target(&mut self, what: &str, ratio: f64, need: f64) {
        self.line(format!(
            "  {what}: {ratio:.2}x (need >= {need}x): {}",
            verdict(ratio >= need)
        ));
    }

    /// Writes the report to its file and returns the path.
    pub fn save(&self) -> anyhow::Result<&Path> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&self.path, &self.text)?;
        Ok(&self.path)
    }
}

/// `met` or `MISSED`.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// The median of `values` (0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The current time, UTC, as `YYYY-MM-DDTHH:MM:SSZ` (from `date`).
pub fn now_utc() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "?".into(), |s| s.trim().to_owned())
}
