//! Inputs kept from fuzzing (`tests/fuzz/*`) render (or fail) without a panic, a hang or more memory than
//! the budget, exactly as `fuzz/fuzz_targets/template.rs` runs them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use go_template::{Limits, Session};

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    for entry in std::fs::read_dir(&dir).expect("tests/fuzz exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).expect("regression input");
        let text = String::from_utf8_lossy(&data);
        let values = BTreeMap::from([
            ("foo".to_owned(), b"bar".to_vec()),
            ("pw".to_owned(), b"p@ss\"w<o>r&d\n".to_vec()),
            ("bin".to_owned(), vec![0, 255, 10, 13]),
        ]);
        let mut session = Session::new(Limits {
            steps: 200_000,
            value_bytes: 8 << 20,
            output_bytes: 1 << 20,
            time: Some(Duration::from_secs(2)),
        });
        let _ = session.render_bytes(&text, &values);
        let _ = session.render_bytes(&text, &values);
    }
}
