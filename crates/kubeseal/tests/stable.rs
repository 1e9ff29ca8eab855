//! Stable re-sealing (`--stable-cache DIR`): sealing the same values again into the same file
//! leaves it byte for byte as it was; a changed value changes only its own line; a renewed
//! certificate, another cache or a ciphertext changed in the file re-seals; `--merge-into` and
//! `kubeseal set` keep unchanged items too; the result always unseals to the new values.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cmd/fixtures");

fn fixture(name: &str) -> String {
    Path::new(FIXTURES).join(name).display().to_string()
}

fn kubeseal_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeseal"));
    cmd.args(args)
        .env("HOME", "/nonexistent-home")
        .env_remove("KUBECONFIG")
        .env_remove("SEALED_SECRETS_CERT")
        .env_remove("SEALED_SECRETS_STABLE_CACHE")
        .env_remove("SEALED_SECRETS_STABLE_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn ok_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let out = kubeseal_env(args, stdin, env);
    assert!(
        out.status.success(),
        "kubeseal {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok(args: &[&str], stdin: &[u8]) -> Output {
    ok_env(args, stdin, &[])
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("stable-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A Secret with `data` as stringData.
fn secret(data: &[(&str, &str)]) -> Vec<u8> {
    let mut out = String::from(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-creds\n  namespace: prod\nstringData:\n",
    );
    for (k, v) in data {
        out.push_str(&format!("  {k}: {v}\n"));
    }
    out.into_bytes()
}

fn seal(file: &Path, cache: &Path, cert: &str, data: &[(&str, &str)]) {
    ok(
        &[
            "--cert",
            &fixture(cert),
            "-w",
            file.to_str().unwrap(),
            "--stable-cache",
            cache.to_str().unwrap(),
        ],
        &secret(data),
    );
}

fn unsealed(file: &Path) -> BTreeMap<String, String> {
    let out = ok(
        &[
            "--recovery-unseal",
            "--recovery-private-key",
            &format!("{},{}", fixture("key.pem"), fixture("other-key.pem")),
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

fn expect(data: &[(&str, &str)]) -> BTreeMap<String, String> {
    data.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The lines of `a` and `b` that differ (same line count expected).
fn changed_lines(a: &str, b: &str) -> Vec<String> {
    assert_eq!(a.lines().count(), b.lines().count(), "{a}\n---\n{b}");
    a.lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.split(':').next().unwrap().trim().to_owned())
        .collect()
}

#[test]
fn the_same_values_leave_the_file_as_it_was_and_a_changed_one_changes_its_line_only() {
    let dir = scratch("same");
    let (file, cache) = (dir.join("db.yaml"), dir.join("cache"));
    let data = [("password", "hunter2"), ("username", "admin")];
    seal(&file, &cache, "cert.pem", &data);
    let first = std::fs::read_to_string(&file).unwrap();
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    for _ in 0..3 {
        seal(&file, &cache, "cert.pem", &data);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), first);
    }
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        mtime,
        "an unchanged file is not rewritten"
    );

    let changed = [("password", "hunter3"), ("username", "admin")];
    seal(&file, &cache, "cert.pem", &changed);
    let second = std::fs::read_to_string(&file).unwrap();
    assert_eq!(changed_lines(&first, &second), ["password"]);
    assert_eq!(unsealed(&file), expect(&changed));

    // Back to the old value: sealed anew (the cache maps ciphertexts to values, not values to
    // ciphertexts; the old ciphertext is no longer in the file).
    seal(&file, &cache, "cert.pem", &data);
    let third = std::fs::read_to_string(&file).unwrap();
    assert_eq!(changed_lines(&second, &third), ["password"]);
    assert_ne!(third, first);
    assert_eq!(unsealed(&file), expect(&data));

    // A new item is sealed, the others kept; a removed one disappears.
    seal(&file, &cache, "cert.pem", &[("password", "hunter2")]);
    let fourth = std::fs::read_to_string(&file).unwrap();
    assert!(!fourth.contains("username:"), "{fourth}");
    let password = |s: &str| {
        s.lines()
            .find(|l| l.trim_start().starts_with("password:"))
            .unwrap()
            .to_owned()
    };
    assert_eq!(password(&fourth), password(&third));
}

#[test]
fn without_the_cache_or_with_another_certificate_everything_is_sealed_anew() {
    let dir = scratch("anew");
    let (file, cache) = (dir.join("db.yaml"), dir.join("cache"));
    let data = [("password", "hunter2"), ("username", "admin")];
    seal(&file, &cache, "cert.pem", &data);
    let first = std::fs::read_to_string(&file).unwrap();

    // Another cache directory (another key): nothing is known, everything is sealed anew.
    seal(&file, &dir.join("other-cache"), "cert.pem", &data);
    let second = std::fs::read_to_string(&file).unwrap();
    assert_eq!(changed_lines(&first, &second), ["password", "username"]);

    // A renewed certificate: everything is sealed for it.
    seal(&file, &cache, "other-cert.pem", &data);
    let third = std::fs::read_to_string(&file).unwrap();
    let changed = changed_lines(&second, &third);
    assert!(
        changed.contains(&"password".to_owned()) && changed.contains(&"username".to_owned()),
        "{changed:?}"
    );
    assert_eq!(unsealed(&file), expect(&data));
}

#[test]
fn a_ciphertext_replaced_in_the_file_is_not_trusted() {
    let dir = scratch("replaced");
    let (file, cache) = (dir.join("db.yaml"), dir.join("cache"));
    let data = [("password", "hunter2"), ("username", "admin")];
    seal(&file, &cache, "cert.pem", &data);
    // Someone with write access to Git swaps the two ciphertexts (each is a valid ciphertext
    // kubeseal wrote, for another item): neither is kept.
    let text = std::fs::read_to_string(&file).unwrap();
    let value = |item: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{item}:")))
            .unwrap()
            .split_once(": ")
            .unwrap()
            .1
            .to_owned()
    };
    let (p, u) = (value("password"), value("username"));
    let swapped = text
        .replace(&p, "P")
        .replace(&u, &p)
        .replace("P\n", &format!("{u}\n"));
    std::fs::write(&file, &swapped).unwrap();
    seal(&file, &cache, "cert.pem", &data);
    let after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(changed_lines(&swapped, &after), ["password", "username"]);
    assert_eq!(unsealed(&file), expect(&data));
}

#[test]
fn a_key_from_the_environment_works_across_cache_directories() {
    let dir = scratch("env-key");
    let file = dir.join("db.yaml");
    let key = [("SEALED_SECRETS_STABLE_KEY", &"ab".repeat(32)[..])];
    let data = secret(&[("password", "hunter2")]);
    let run = |cache: &str| {
        ok_env(
            &[
                "--cert",
                &fixture("cert.pem"),
                "-w",
                file.to_str().unwrap(),
                "--stable-cache",
                dir.join(cache).to_str().unwrap(),
            ],
            &data,
            &key,
        )
    };
    run("cache-a");
    let first = std::fs::read_to_string(&file).unwrap();
    assert!(
        !dir.join("cache-a/key").exists(),
        "no key file when the key comes from the environment"
    );
    // The entries are what CI keeps between runs; copied to another directory they still work.
    std::fs::create_dir_all(dir.join("cache-b")).unwrap();
    std::fs::set_permissions(dir.join("cache-b"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let status = Command::new("cp")
        .args(["-r"])
        .arg(dir.join("cache-a/entries"))
        .arg(dir.join("cache-b/"))
        .status()
        .unwrap();
    assert!(status.success());
    run("cache-b");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), first);

    // A malformed key is an error that shows no part of it.
    let out = kubeseal_env(
        &[
            "--cert",
            &fixture("cert.pem"),
            "-w",
            file.to_str().unwrap(),
            "--stable-cache",
            dir.join("cache-a").to_str().unwrap(),
        ],
        &data,
        &[("SEALED_SECRETS_STABLE_KEY", "not-hex-0123456789")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("SEALED_SECRETS_STABLE_KEY is not a 32-byte key"),
        "{stderr}"
    );
    assert!(!stderr.contains("0123456789"), "{stderr}");
}

#[test]
fn merge_into_and_set_keep_unchanged_items() {
    let dir = scratch("merge-set");
    let (file, cache) = (dir.join("db.yaml"), dir.join("cache"));
    let cache_arg = cache.to_str().unwrap();
    seal(
        &file,
        &cache,
        "cert.pem",
        &[("password", "hunter2"), ("username", "admin")],
    );
    let first = std::fs::read_to_string(&file).unwrap();

    // --merge-into with an unchanged and a new item: only the new item's line is added.
    ok(
        &[
            "--cert",
            &fixture("cert.pem"),
            "--merge-into",
            file.to_str().unwrap(),
            "--stable-cache",
            cache_arg,
        ],
        &secret(&[("password", "hunter2"), ("host", "db.internal")]),
    );
    let merged = std::fs::read_to_string(&file).unwrap();
    let without_host: String = merged
        .lines()
        .filter(|l| !l.trim_start().starts_with("host:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without_host, first);

    // set with the same value: nothing changes, and it says so.
    let out = ok(
        &[
            "set",
            file.to_str().unwrap(),
            "username=admin",
            "--cert",
            &fixture("cert.pem"),
            "--stable-cache",
            cache_arg,
        ],
        b"",
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("{}: unchanged username\n", file.display())
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), merged);

    // set with a new value for one item and the same for another: one line changes.
    let out = ok(
        &[
            "set",
            file.to_str().unwrap(),
            "username=root",
            "host=db.internal",
            "--cert",
            &fixture("cert.pem"),
            "--stable-cache",
            cache_arg,
        ],
        b"",
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("{}: replaced username; unchanged host\n", file.display())
    );
    let after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(changed_lines(&merged, &after), ["username"]);
    assert_eq!(
        unsealed(&file),
        expect(&[
            ("host", "db.internal"),
            ("password", "hunter2"),
            ("username", "root")
        ])
    );
}

#[test]
fn stable_cache_needs_a_file_and_a_private_directory() {
    let dir = scratch("errors");
    let out = kubeseal_env(
        &[
            "--cert",
            &fixture("cert.pem"),
            "--stable-cache",
            dir.join("cache").to_str().unwrap(),
        ],
        &secret(&[("password", "hunter2")]),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with(
            "error: --stable-cache needs the file it keeps ciphertexts in: seal with -w FILE or --merge-into FILE\n"
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());

    let open = dir.join("open");
    std::fs::create_dir_all(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.join("db.yaml");
    let out = kubeseal_env(
        &[
            "--cert",
            &fixture("cert.pem"),
            "-w",
            file.to_str().unwrap(),
            "--stable-cache",
            open.to_str().unwrap(),
        ],
        &secret(&[("password", "hunter2")]),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is readable by others (mode 755)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!file.exists(), "nothing is written");
}
