//! Data-driven tests of `go_template::render`: every case in `tests/cases/*.json` gives a
//! template, the data map and either the exact `output` (produced by Go 1.26 `text/template` with
//! Sprig v3.3.0, see `tests/oracle`) or an `error` substring.

use std::collections::BTreeMap;
use std::path::Path;

use go_template::render;

#[derive(serde::Deserialize)]
struct CaseFile {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    template: String,
    data: BTreeMap<String, String>,
    output: Option<String>,
    error: Option<String>,
}

#[test]
fn template_cases() {
    // TEMPLATE_CASES_DIR points the test at another directory of case files (differential runs
    // against freshly generated Go outputs).
    let dir = match std::env::var_os("TEMPLATE_CASES_DIR") {
        Some(d) => Path::new(&d).to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases"),
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/cases exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files in {}", dir.display());
    let (mut passed, mut failures) = (0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).expect("case file is readable");
        let cases: CaseFile =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for case in cases.cases {
            let got = render(&case.template, &case.data);
            let outcome = match (&case.output, &case.error, got) {
                (Some(want), None, Ok(out)) if out.as_slice() == want.as_bytes() => Ok(()),
                (Some(want), None, Ok(out)) => Err(format!(
                    "want {want:?}\n      got  {:?}",
                    String::from_utf8_lossy(&out)
                )),
                (Some(_), None, Err(e)) => Err(format!("unexpected error: {e}")),
                (None, Some(want), Err(e)) if e.to_string().contains(want.as_str()) => Ok(()),
                (None, Some(want), Err(e)) => Err(format!("error {e:?} does not contain {want:?}")),
                (None, Some(want), Ok(out)) => Err(format!(
                    "expected an error containing {want:?}, got {:?}",
                    String::from_utf8_lossy(&out)
                )),
                _ => Err("a case needs exactly one of output and error".to_string()),
            };
            match outcome {
                Ok(()) => passed += 1,
                Err(why) => failures.push(format!("{stem}: {}\n      {why}", case.name)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        passed + failures.len(),
        failures.join("\n")
    );
    println!("{passed} template cases passed");
}
