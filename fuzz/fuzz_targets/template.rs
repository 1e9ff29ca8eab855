//! Arbitrary text as a `spec.template.data` entry (untrusted input to the controller), parsed and
//! rendered over a few decrypted values within a per-object budget like the controller's. Must
//! never panic, overflow the stack, hang, or grow memory past the budget (libFuzzer's -timeout and
//! -rss_limit_mb catch the last two).
#![no_main]

use std::collections::BTreeMap;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use go_template::{Limits, Session};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
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
    // Two renders share the budget, as the templates of one SealedSecret do.
    let _ = session.render_bytes(&text, &values);
    let _ = session.render_bytes(&text, &values);
});
