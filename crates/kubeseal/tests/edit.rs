//! `kubeseal set`, `kubeseal unset` and `kubeseal edit` (with `$EDITOR` a shell script) round trips: edit a
//! SealedSecret file, then
//! `--recovery-unseal` with the fixture key gives exactly the expected data, and every line that
//! does not hold a changed item is byte-identical to the file before (for JSON, up to the comma
//! that the line before an added or removed last item gains or loses).
//!
//! The files under edit are written by our kubeseal during the test, or by Bitnami's kubeseal
//! v0.36.6 (`tests/cmd/fixtures/bitnami-*`, sealed with the fixture certificate). Error cases
//! whose messages are fixed live as CLI data in `tests/cmd/set` and `tests/cmd/unset`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cmd/fixtures");

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

/// Runs kubeseal with no kubeconfig of the machine, `stdin` on standard input.
fn kubeseal(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubeseal"))
        .args(args)
        .env("HOME", "/nonexistent-home")
        .env_remove("KUBECONFIG")
        .env_remove("SEALED_SECRETS_CERT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str], stdin: &[u8]) -> Output {
    let out = kubeseal(args, stdin);
    assert!(
        out.status.success(),
        "kubeseal {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A fresh directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("edit-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The data of the one Secret that `--recovery-unseal` gives for `file`, decoded.
fn unsealed(file: &Path) -> BTreeMap<String, String> {
    let out = ok(
        &[
            "--recovery-unseal",
            "--recovery-private-key",
            fixture("key.pem").to_str().unwrap(),
            "-f",
            file.to_str().unwrap(),
            "-o",
            "json",
        ],
        b"",
    );
    let secret: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    secret["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap();
            (k.clone(), String::from_utf8(bytes).unwrap())
        })
        .collect()
}

/// The lines of `text` that name none of `items`, trailing commas dropped.
fn untouched_lines(text: &str, items: &[&str]) -> Vec<String> {
    text.lines()
        .filter(|line| {
            let t = line.trim_start().trim_start_matches('"');
            !items
                .iter()
                .any(|i| t.starts_with(&format!("{i}:")) || t.starts_with(&format!("{i}\":")))
        })
        .map(|l| l.trim_end_matches(',').to_owned())
        .collect()
}

/// Asserts that only the lines of `changed` items differ between `before` and `after`.
fn assert_minimal_diff(before: &str, after: &str, changed: &[&str]) {
    assert_eq!(
        untouched_lines(before, changed),
        untouched_lines(after, changed),
        "lines other than those of {changed:?} changed:\n--- before\n{before}\n--- after\n{after}"
    );
}

/// The ciphertext of `item` in a rendered file, if any.
fn ciphertext<'a>(text: &'a str, item: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let t = line.trim_start();
        t.strip_prefix(&format!("{item}: "))
            .or_else(|| t.strip_prefix(&format!("\"{item}\": ")))
            .map(|c| c.trim_end_matches(','))
    })
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// set (argument, --from-file, --from-env-file, stdin) then unset on one file.
fn round_trip(test: &str, source: &Path, file_name: &str, base: &[(&str, &str)]) {
    let dir = scratch(test);
    let file = dir.join(file_name);
    std::fs::copy(source, &file).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let cert = fixture("cert.pem");
    let cert = cert.to_str().unwrap();
    let path = file.to_str().unwrap();
    let first = base[0].0;
    let before = std::fs::read_to_string(&file).unwrap();
    assert_eq!(unsealed(&file), map(base));

    std::fs::write(dir.join("value.bin"), "from a file\n").unwrap();
    std::fs::write(
        dir.join("app.env"),
        "# comment\n\nENV_ONE=1\nENV_TWO=two=2\n",
    )
    .unwrap();
    let from_file = format!("zz-file={}", dir.join("value.bin").display());
    let env_file = dir.join("app.env");
    let replace = format!("{first}=replaced");
    let out = ok(
        &[
            "set",
            path,
            "--cert",
            cert,
            &replace,
            "a-new=",
            "--from-file",
            &from_file,
            "--from-file",
            "stdin.item=-",
            "--from-env-file",
            env_file.to_str().unwrap(),
        ],
        b"piped",
    );
    assert_eq!(out.stdout, b"");
    let after = std::fs::read_to_string(&file).unwrap();
    let changed = [
        first,
        "a-new",
        "zz-file",
        "stdin.item",
        "ENV_ONE",
        "ENV_TWO",
    ];
    assert_minimal_diff(&before, &after, &changed);
    for (item, _) in &base[1..] {
        assert_eq!(
            ciphertext(&before, item),
            ciphertext(&after, item),
            "{item}"
        );
    }
    assert_ne!(ciphertext(&before, first), ciphertext(&after, first));
    let mut expected = map(base);
    expected.extend(map(&[
        (first, "replaced"),
        ("a-new", ""),
        ("zz-file", "from a file\n"),
        ("stdin.item", "piped"),
        ("ENV_ONE", "1"),
        ("ENV_TWO", "two=2"),
    ]));
    assert_eq!(unsealed(&file), expected);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the file keeps its mode");

    ok(&["unset", path, "a-new", "ENV_ONE"], b"");
    let unset = std::fs::read_to_string(&file).unwrap();
    assert_minimal_diff(&after, &unset, &["a-new", "ENV_ONE"]);
    expected.remove("a-new");
    expected.remove("ENV_ONE");
    assert_eq!(unsealed(&file), expected);
    // Everything set removed again: the untouched lines are those of the original file.
    let mut all: Vec<&str> = vec!["zz-file", "stdin.item", "ENV_TWO"];
    ok(&[&["unset", path][..], &all[..]].concat(), b"");
    all.push(first);
    assert_minimal_diff(&before, &std::fs::read_to_string(&file).unwrap(), &all);
}

const STRICT: [(&str, &str); 2] = [("password", "hunter2"), ("username", "admin")];

#[test]
fn bitnami_yaml_strict() {
    round_trip(
        "bitnami-yaml",
        &fixture("bitnami-strict.yaml"),
        "s.yaml",
        &STRICT,
    );
}

#[test]
fn bitnami_json_strict() {
    round_trip(
        "bitnami-json",
        &fixture("bitnami-strict.json"),
        "s.json",
        &STRICT,
    );
}

#[test]
fn bitnami_namespace_wide() {
    round_trip(
        "bitnami-nsw",
        &fixture("bitnami-namespace-wide.yaml"),
        "s.yaml",
        &[("token", "s3cr3t-t0k3n")],
    );
}

#[test]
fn bitnami_cluster_wide_without_extension() {
    round_trip(
        "bitnami-cw",
        &fixture("bitnami-cluster-wide.json"),
        "sealed",
        &[(
            ".dockerconfigjson",
            r#"{"auths":{"registry.example":{"auth":"dXNlcjpwYXNz"}}}"#,
        )],
    );
}

/// Files our kubeseal wrote (with the key hint annotation), in both formats.
#[test]
fn ours_both_formats() {
    let dir = scratch("ours");
    for format in ["yaml", "json"] {
        let out = ok(
            &[
                "--cert",
                fixture("cert.pem").to_str().unwrap(),
                "-f",
                fixture("secret.yaml").to_str().unwrap(),
                "-o",
                format,
            ],
            b"",
        );
        let source = dir.join(format!("ours.{format}"));
        std::fs::write(&source, out.stdout).unwrap();
        round_trip(&format!("ours-{format}"), &source, "s", &STRICT);
    }
}

/// A YAML file of another layout (comments, quoting, unsorted items) is changed line by line: comments
/// and untouched lines stay, new items go in sorted place if the items are sorted, else last.
#[test]
fn other_yaml_layout_is_patched_line_by_line() {
    let dir = scratch("patch");
    let sealed = std::fs::read_to_string(fixture("bitnami-strict.yaml")).unwrap();
    let password = ciphertext(&sealed, "password").unwrap();
    let username = ciphertext(&sealed, "username").unwrap();
    let cert = fixture("cert.pem");
    let cert = cert.to_str().unwrap();
    for (name, items, expected_order) in [
        // Sorted items: "a" goes before "password" and its comment, "zz" last.
        (
            "sorted",
            format!(
                "    # the password\n    password: {password}\n    \"username\": '{username}'\n"
            ),
            vec!["a", "# the password", "password", "username", "zz"],
        ),
        // Unsorted: new items after the last one.
        (
            "unsorted",
            format!("    username: {username}\n    # the password\n    password: {password}\n"),
            vec!["username", "# the password", "password", "a", "zz"],
        ),
    ] {
        let file = dir.join(format!("{name}.yaml"));
        let before = format!(
            "# Hand-written.\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db-creds # the name\n  namespace: prod\nspec:\n  template:\n    metadata:\n      name: db-creds\n  encryptedData:\n{items}"
        );
        std::fs::write(&file, &before).unwrap();
        let out = ok(
            &[
                "set",
                file.to_str().unwrap(),
                "--cert",
                cert,
                "password=new",
                "a=1",
                "zz=2",
            ],
            b"",
        );
        assert_eq!(
            String::from_utf8(out.stderr).unwrap(),
            format!("{}: added a, zz; replaced password\n", file.display())
        );
        let after = std::fs::read_to_string(&file).unwrap();
        assert_minimal_diff(&before, &after, &["password", "a", "zz"]);
        let order: Vec<&str> = after
            .lines()
            .skip_while(|l| !l.contains("encryptedData:"))
            .skip(1)
            .map(|l| l.trim_start().split(':').next().unwrap().trim_matches('"'))
            .collect();
        assert_eq!(order, expected_order, "{after}");
        assert_eq!(
            unsealed(&file),
            map(&[
                ("password", "new"),
                ("username", "admin"),
                ("a", "1"),
                ("zz", "2")
            ])
        );
        ok(&["unset", file.to_str().unwrap(), "a", "zz"], b"");
        let unset = std::fs::read_to_string(&file).unwrap();
        assert_minimal_diff(&before, &unset, &["password"]);
    }
}

/// A file that cannot be changed line by line (compact JSON, YAML flow style, a value over two lines) is
/// re-formatted, with a note.
#[test]
fn other_layout_is_reformatted_with_a_note() {
    let dir = scratch("reformat");
    let json = std::fs::read_to_string(fixture("bitnami-strict.json")).unwrap();
    let sealed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let yaml = std::fs::read_to_string(fixture("bitnami-strict.yaml")).unwrap();
    let password = ciphertext(&yaml, "password").unwrap();
    let (head, tail) = password.split_at(40);
    let folded = yaml.replace(
        &format!("password: {password}"),
        &format!("password: \"{head}\\\n      {tail}\""),
    );
    let flow = yaml
        .replace(
            "  encryptedData:\n    password",
            "  encryptedData: {password",
        )
        .replace("\n    username: ", ", username: ")
        .replace("\n  template:", "}\n  template:");
    for (name, text) in [
        ("compact.json", serde_json::to_string(&sealed).unwrap()),
        ("folded.yaml", folded),
        ("flow.yaml", flow),
    ] {
        let file = dir.join(name);
        std::fs::write(&file, &text).unwrap();
        assert_eq!(unsealed(&file), map(&STRICT), "{name}:\n{text}");
        let out = ok(&["unset", file.to_str().unwrap(), "username"], b"");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("was not laid out as kubeseal writes it"),
            "{name}: {stderr}"
        );
        assert_eq!(unsealed(&file), map(&[("password", "hunter2")]), "{name}");
    }
}

/// A file without the leading `---` keeps starting without it.
#[test]
fn yaml_without_leading_separator() {
    let dir = scratch("no-separator");
    let file = dir.join("s.yaml");
    let sealed = std::fs::read_to_string(fixture("bitnami-strict.yaml")).unwrap();
    let before = sealed.strip_prefix("---\n").unwrap();
    std::fs::write(&file, before).unwrap();
    let out = ok(&["unset", file.to_str().unwrap(), "username"], b"");
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("{}: removed username\n", file.display())
    );
    let after = std::fs::read_to_string(&file).unwrap();
    assert_minimal_diff(before, &after, &["username"]);
    assert!(!after.starts_with("---"));
}

/// A symbolic link is followed: its target changes, the link stays a link.
#[test]
fn symlink_is_followed() {
    let dir = scratch("symlink");
    let file = dir.join("real.yaml");
    std::fs::copy(fixture("bitnami-strict.yaml"), &file).unwrap();
    let link = dir.join("link.yaml");
    std::os::unix::fs::symlink("real.yaml", &link).unwrap();
    ok(&["unset", link.to_str().unwrap(), "username"], b"");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(unsealed(&file), map(&[("password", "hunter2")]));
}

/// Errors leave the file as it was, and never show a value.
#[test]
fn errors_change_nothing_and_hide_values() {
    let dir = scratch("errors");
    let file = dir.join("s.yaml");
    std::fs::copy(fixture("bitnami-strict.yaml"), &file).unwrap();
    let before = std::fs::read(&file).unwrap();
    let path = file.to_str().unwrap();
    let cert = fixture("cert.pem");
    let cert = cert.to_str().unwrap();
    let env = dir.join("bad.env");
    std::fs::write(&env, "GOOD=1\nsup3r-s3cret-value\n").unwrap();
    for (args, stdin) in [
        (
            vec!["set", path, "--cert", cert, "sup3r-s3cret-value"],
            &b""[..],
        ),
        (
            vec!["set", path, "--cert", cert, "k=sup3r-s3cret-value", "k=x"],
            b"",
        ),
        (
            vec![
                "set",
                path,
                "--cert",
                cert,
                "--from-env-file",
                env.to_str().unwrap(),
            ],
            b"",
        ),
        (
            vec![
                "set",
                path,
                "--cert",
                "/nonexistent.pem",
                "k=sup3r-s3cret-value",
            ],
            b"",
        ),
        (
            vec!["set", path, "--cert", cert, "bad/key=sup3r-s3cret-value"],
            b"",
        ),
        (
            vec!["set", path, "--cert", cert, "--from-file", "k=/nonexistent"],
            b"",
        ),
        (vec!["unset", path, "password", "nope"], b""),
        (vec!["unset", path, "password", "username"], b""),
    ] {
        let out = kubeseal(&args, stdin);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("sup3r"), "{args:?}: {stderr}");
        assert_eq!(std::fs::read(&file).unwrap(), before, "{args:?}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "no temporary file left: {leftovers:?}");
}

/// `kubeseal edit FILE args...` with `$EDITOR` set to a shell script of `body` (its last argument is the
/// buffer, in `$f`; it records the buffer's path, its directory's mode and its arguments in `dir`).
fn edit_with(dir: &Path, body: &str, file: &Path, args: &[&str]) -> Output {
    let script = dir.join("vim");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a; do f=\"$a\"; done\necho \"$f\" > {d}/buffer-path\nstat -c %a \"$(dirname \"$f\")\" > {d}/buffer-dir-mode\nprintf '%s ' \"$@\" > {d}/editor-args\ncp \"$f\" {d}/view\n{body}\n",
            d = dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut all = vec!["edit", file.to_str().unwrap()];
    all.extend_from_slice(args);
    let child = Command::new(env!("CARGO_BIN_EXE_kubeseal"))
        .args(&all)
        .env("HOME", "/nonexistent-home")
        .env_remove("KUBECONFIG")
        .env_remove("VISUAL")
        .env("EDITOR", &script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    // The buffer and its directory are gone, whatever happened.
    let buffer = std::fs::read_to_string(dir.join("buffer-path")).unwrap();
    let buffer = Path::new(buffer.trim());
    assert!(
        !buffer.parent().unwrap().exists(),
        "{} left behind",
        buffer.display()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("buffer-dir-mode"))
            .unwrap()
            .trim(),
        "700"
    );
    out
}

fn edit_file(test: &str) -> (PathBuf, PathBuf, String) {
    let dir = scratch(test);
    let file = dir.join("s.yaml");
    std::fs::copy(fixture("bitnami-strict.yaml"), &file).unwrap();
    let before = std::fs::read_to_string(&file).unwrap();
    (dir, file, before)
}

#[test]
fn edit_write_only() {
    let (dir, file, before) = edit_file("edit-write-only");
    let cert = fixture("cert.pem");
    let out = edit_with(
        &dir,
        "sed -i 's/^  password: .*/  password: n3w/' \"$f\"\nprintf '  added: \"multi\\\\nline\"\\n' >> \"$f\"",
        &file,
        &["--cert", cert.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view = std::fs::read_to_string(dir.join("view")).unwrap();
    assert!(
        view.contains("  password: \"<sealed: unchanged>\"\n"),
        "{view}"
    );
    assert!(!view.contains("hunter2"), "{view}");
    // vim is told to keep no swap, backup, undo or viminfo file.
    let args = std::fs::read_to_string(dir.join("editor-args")).unwrap();
    assert!(
        args.starts_with("-n -i NONE --cmd set nobackup nowritebackup noundofile "),
        "{args}"
    );
    let after = std::fs::read_to_string(&file).unwrap();
    assert_minimal_diff(&before, &after, &["password", "added"]);
    assert_eq!(
        ciphertext(&before, "username"),
        ciphertext(&after, "username")
    );
    assert_eq!(
        unsealed(&file),
        map(&[
            ("password", "n3w"),
            ("username", "admin"),
            ("added", "multi\nline")
        ])
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("{}: added added; replaced password\n", file.display())
    );

    // Deleting a line removes the item; no certificate is needed for that.
    let out = edit_with(&dir, "sed -i '/^  added:/d' \"$f\"", &file, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        unsealed(&file),
        map(&[("password", "n3w"), ("username", "admin")])
    );
}

#[test]
fn edit_with_private_key_shows_values_and_reseals_only_changes() {
    let (dir, file, before) = edit_file("edit-key");
    let key = fixture("key.pem");
    let cert = fixture("cert.pem");
    let out = edit_with(
        &dir,
        "sed -i 's/^  username: admin/  username: root/' \"$f\"",
        &file,
        &[
            "--recovery-private-key",
            key.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view = std::fs::read_to_string(dir.join("view")).unwrap();
    assert!(
        view.contains("  password: hunter2\n  username: admin\n"),
        "{view}"
    );
    let after = std::fs::read_to_string(&file).unwrap();
    assert_minimal_diff(&before, &after, &["username"]);
    assert_eq!(
        ciphertext(&before, "password"),
        ciphertext(&after, "password")
    );
    assert_eq!(
        unsealed(&file),
        map(&[("password", "hunter2"), ("username", "root")])
    );
}

#[test]
fn edit_changes_nothing_when_unchanged_failed_or_stopped() {
    let (dir, file, before) = edit_file("edit-nothing");
    let cases = [
        ("true", true, "no changes"),
        ("exit 3", false, "exited with exit status: 3"),
        ("printf '' > \"$f\"", false, "the edited buffer is empty"),
        (
            "sed -i 's/^  name: db-creds/  name: other/; s/^  password: .*/  password: x/' \"$f\"",
            false,
            "changes items only",
        ),
        // A new item with the placeholder is an error, not a removal.
        (
            "sed -i 's/^  username: .*/  zz: \"<sealed: unchanged>\"/' \"$f\"",
            false,
            "placeholder",
        ),
        // SIGTERM to kubeseal stops the editor; nothing is written.
        (
            "sed -i 's/^  password: .*/  password: x/' \"$f\"\nkill -TERM $PPID\nsleep 1",
            false,
            "was stopped",
        ),
    ];
    for (body, success, message) in cases {
        std::fs::write(&file, &before).unwrap();
        let out = edit_with(
            &dir,
            body,
            &file,
            &["--cert", fixture("cert.pem").to_str().unwrap()],
        );
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(message), "{body}: {stderr}");
        assert_eq!(out.status.success(), success, "{body}: {stderr}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), before, "{body}");
    }
}

/// Ctrl-C while the editor runs belongs to the editor: kubeseal keeps waiting and applies the edit.
#[test]
fn edit_survives_ctrl_c_in_the_editor() {
    let (dir, file, _) = edit_file("edit-ctrl-c");
    let out = edit_with(
        &dir,
        "kill -INT $PPID\nsleep 0.2\nsed -i 's/^  password: .*/  password: after-ctrl-c/' \"$f\"",
        &file,
        &["--cert", fixture("cert.pem").to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        unsealed(&file),
        map(&[("password", "after-ctrl-c"), ("username", "admin")])
    );
}

#[test]
fn edit_refuses_a_certificate_other_than_the_pinned_one() {
    let (dir, file, before) = edit_file("edit-pin-mismatch");
    // The repository rule for s.yaml pins the fixture certificate; --cert gives the other one.
    std::fs::write(
        dir.join(".sealed-secrets.yaml"),
        "rules:\n  - path: \"*.yaml\"\n    fingerprint: \"60:20:A5:40:1D:22:54:75:4C:62:2F:D6:41:34:C0:C7:3D:26:2C:B1:BB:B8:D2:96:DF:E0:90:CB:0A:B5:AF:E8\"\n",
    )
    .unwrap();
    let other = fixture("other-cert.pem");
    let out = edit_with(
        &dir,
        "sed -i 's/^  password: .*/  password: n3w/' \"$f\"",
        &file,
        &["--cert", other.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "A2:B2:F6:08:DD:06:83:01:FE:5C:C8:01:21:1A:B8:F3:D0:43:58:DF:66:33:F4:67:33:CE:F7:52:58:C1:1E:A5 \
             does not match 60:20:A5:40:1D:22:54:75:4C:62:2F:D6:41:34:C0:C7:3D:26:2C:B1:BB:B8:D2:96:DF:E0:90:CB:0A:B5:AF:E8 pinned at "
        ),
        "{stderr}"
    );
    assert!(stderr.contains(".sealed-secrets.yaml:3\n"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before,
        "nothing changes"
    );
}
