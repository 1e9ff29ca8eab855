//! Unit tests of the template engine, one group per construct. Expected outputs were checked
//! against Go 1.26 `text/template` with Sprig 3.3.0.

use std::collections::BTreeMap;

use super::*;

fn data() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("foo".to_string(), "bar".to_string()),
        ("n".to_string(), "42".to_string()),
        ("e".to_string(), String::new()),
        ("my-key".to_string(), "dashed".to_string()),
    ])
}

/// Renders with fixed randomness and clock.
fn r(t: &str) -> Result<String, TemplateError> {
    let tree = parse::parse(t)?;
    let mut ctx = funcs::Ctx::fixed(
        1,
        "2024-03-05T07:08:09Z"
            .parse()
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    );
    let d = data();
    let out = run(t, &tree, d.iter().map(|(k, v)| (k, v.as_bytes())), &mut ctx)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[track_caller]
fn ok(t: &str, want: &str) {
    match r(t) {
        Ok(got) => assert_eq!(got, want, "template {t:?}"),
        Err(e) => panic!("template {t:?} failed: {e}"),
    }
}

#[track_caller]
fn err(t: &str, want: &str) {
    match r(t) {
        Ok(got) => panic!("template {t:?} rendered {got:?}, expected an error containing {want:?}"),
        Err(e) => assert!(
            e.to_string().contains(want),
            "template {t:?}: error {e} does not contain {want:?}"
        ),
    }
}

#[test]
fn upstream_examples() {
    ok(r#"secret {{ index . "foo" }} !"#, "secret bar !");
    let d = BTreeMap::from([("password".to_string(), "a\"b<c>&d\ne".to_string())]);
    let out = render("{{ toJson .password }}", &d)
        .map(|o| o.to_vec())
        .unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(&out),
        r#""a\"b\u003cc\u003e\u0026d\ne""#
    );
}

#[test]
fn fields_and_missing_keys() {
    ok("{{ .foo }}", "bar");
    ok("{{ .missing }}", "<no value>");
    ok(
        r#"{{ index . "missing" }}|{{ index . "my-key" }}"#,
        "|dashed",
    );
    ok("{{ .missing.deeper }}", "<no value>");
    ok(
        "{{ (dict).x }}|{{ index (dict) \"x\" }}",
        "<no value>|<no value>",
    );
    err("{{ .foo.bar }}", "can't evaluate field bar in type string");
    err("{{ .foo 1 }}", "foo is not a method but has arguments");
    ok("{{ $.foo }}{{ $ | len }}", "bar4");
}

#[test]
fn literals() {
    ok(
        r#"{{ "a\tb" }}|{{ `raw\n` }}|{{ 'a' }}|{{ 0x1F }}|{{ 1.5 }}|{{ 1e3 }}|{{ true }}"#,
        "a\tb|raw\\n|97|31|1.5|1000|true",
    );
    ok(
        "{{ -3 }}|{{ 1_000 }}|{{ 0o17 }}|{{ 1234567.0 }}",
        "-3|1000|15|1.234567e+06",
    );
    err("{{ nil }}", "nil is not a command");
    err(r#"{{ "a" "b" }}"#, "can't give argument to non-function");
}

#[test]
fn pipelines_and_parentheses() {
    ok("{{ .foo | upper }}", "BAR");
    ok("{{ .foo | printf \"%s-%s\" \"x\" }}", "x-bar");
    ok("{{ (printf \"%s!\" .foo) | upper | quote }}", "\"BAR!\"");
    ok("{{ (list 1 2 3 | len) }}", "3");
    ok("{{ .foo | b64enc | b64dec }}", "bar");
    err(
        "{{ .foo | 3 }}",
        "non executable command in pipeline stage 2",
    );
    err(
        "{{ \"x\" | .foo }}",
        "foo is not a method but has arguments",
    );
}

#[test]
fn variables() {
    ok("{{ $x := .foo }}{{ $x }}", "bar");
    ok("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2");
    ok(
        "{{ $x := 1 }}{{ if true }}{{ $x = 3 }}{{ $y := 9 }}{{ end }}{{ $x }}",
        "3",
    );
    err(
        "{{ if true }}{{ $y := 9 }}{{ end }}{{ $y }}",
        "undefined variable \"$y\"",
    );
    ok(
        "{{ range $i, $e := list \"a\" \"b\" }}{{ $ | len }}{{ end }}",
        "44",
    );
}

#[test]
fn conditionals() {
    ok("{{ if .foo }}yes{{ else }}no{{ end }}", "yes");
    ok("{{ if .e }}yes{{ else }}no{{ end }}", "no");
    ok(
        "{{ if .missing }}a{{ else if eq .foo \"bar\" }}b{{ else }}c{{ end }}",
        "b",
    );
    ok(
        "{{ if and .foo .e }}a{{ else if or .e .missing }}b{{ else }}c{{ end }}",
        "c",
    );
    ok(
        "{{ with .foo }}{{ . }}{{ end }}|{{ with .e }}x{{ else }}empty{{ end }}",
        "bar|empty",
    );
    ok("{{ with .e }}a{{ else with .foo }}{{ . }}{{ end }}", "bar");
    ok("{{ with $v := .n }}{{ $v }}{{ end }}", "42");
}

#[test]
fn and_or_not_are_lazy_and_return_values() {
    ok(
        "{{ and 1 0 2 }}|{{ and 1 2 }}|{{ or 0 \"\" \"x\" }}|{{ or 0 \"\" }}|{{ not .e }}",
        "0|2|x||true",
    );
    // `and` stops before evaluating a failing argument.
    ok("{{ and false (fail \"boom\") }}", "false");
    ok("{{ .e | or \"dflt\" }}", "dflt");
}

#[test]
fn comparisons() {
    ok(
        "{{ eq .foo \"bar\" }}|{{ eq 1 2 3 1 }}|{{ ne .foo \"x\" }}|{{ lt 1 2 }}|{{ le 2 2 }}|{{ gt \"b\" \"a\" }}|{{ ge 1.5 2.5 }}",
        "true|true|true|true|true|true|false",
    );
    ok(
        "{{ eq .missing \"x\" }}|{{ eq .missing .missing2 }}",
        "false|true",
    );
    err("{{ eq 1 1.0 }}", "incompatible types for comparison");
    err("{{ lt 1 \"a\" }}", "incompatible types for comparison");
    err("{{ eq (list 1) (list 1) }}", "non-comparable");
}

#[test]
fn range_forms() {
    ok("{{ range list 1 2 3 }}{{ . }}{{ end }}", "123");
    ok(
        "{{ range $i, $e := until 3 }}{{ $i }}{{ $e }},{{ end }}",
        "00,11,22,",
    );
    ok(
        "{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}",
        "e=;foo=bar;my-key=dashed;n=42;",
    );
    ok("{{ range 3 }}{{ . }}{{ end }}", "012");
    ok("{{ range list }}x{{ else }}empty{{ end }}", "empty");
    ok("{{ range .missing }}x{{ else }}none{{ end }}", "none");
    ok(
        "{{ range $e := list 1 2 3 4 }}{{ if eq $e 2 }}{{ continue }}{{ end }}{{ if eq $e 4 }}{{ break }}{{ end }}{{ $e }}{{ end }}",
        "13",
    );
    err(
        "{{ range .foo }}{{ end }}",
        "range can't iterate over a value of type string",
    );
    err("{{ range $i, $e := 3 }}{{ end }}", "more than one variable");
}

#[test]
fn trim_markers_and_comments() {
    ok("a  {{- .foo -}}  b", "abarb");
    ok("a {{/* comment */}} b", "a  b");
    ok("a {{- /* comment */ -}} b", "ab");
    ok("{{- 3 }} {{ -3 -}} !", "3 -3!");
    ok("x\n{{- if true }}\ny\n{{- end }}\n", "x\ny\n");
}

#[test]
fn define_template_block() {
    ok(
        "{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" .foo }}{{ template \"t\" }}",
        "[bar][<no value>]",
    );
    ok("{{ block \"b\" .n }}<{{ . }}>{{ end }}", "<42>");
    err("{{ template \"nope\" }}", "no such template \"nope\"");
    err(
        "{{ define \"r\" }}{{ template \"r\" }}{{ end }}{{ template \"r\" }}",
        "nesting depth limit exceeded",
    );
}

#[test]
fn printing_values() {
    ok("{{ list 1 \"a\" nil 2.5 true }}", "[1 a <nil> 2.5 true]");
    ok("{{ dict \"b\" 1 \"a\" (list) }}", "map[a:[] b:1]");
    ok(
        "{{ splitList \",\" \"a,b\" }}|{{ split \",\" \"a,b\" }}",
        "[a b]|map[_0:a _1:b]",
    );
    ok(
        "{{ print 1 2 \"a\" 3 }}|{{ println 1 \"a\" }}",
        "1 2a3|1 a\n",
    );
    ok(
        "{{ printf \"%05.1f|%x|%q|%v|%T\" 3.14159 \"hi\" \"q\" (list 1) . }}",
        "003.1|6869|\"q\"|[1]|map[string]string",
    );
    ok("{{ now }}", "2024-03-05 07:08:09 +0000 UTC");
}

#[test]
fn builtins() {
    ok("{{ len .foo }}|{{ len . }}|{{ len (list 1 2) }}", "3|4|2");
    err("{{ len 3 }}", "len of type int");
    ok(
        "{{ index (list 1 2 3) 1 }}|{{ index \"abc\" 1 }}|{{ index (dict \"a\" (list 5 6)) \"a\" 1 }}",
        "2|98|6",
    );
    err("{{ index (list 1 2) 5 }}", "index out of range");
    ok(
        "{{ html \"<a href='x'>\" }}|{{ js \"<'\\\">=\" }}|{{ urlquery \"a b&c\" }}",
        "&lt;a href=&#39;x&#39;&gt;|\\u003C\\'\\\"\\u003E\\u003D|a+b%26c",
    );
    ok("{{ slice (list 1 2 3 4) 1 3 }}", "[2 3]");
}

#[test]
fn argument_types_are_checked() {
    err("{{ upper 3 }}", "expected string; found 3");
    err("{{ upper .missing }}", "invalid value; expected string");
    err("{{ .missing | upper }}", "invalid value; expected string");
    err(
        "{{ get . \"foo\" }}",
        "wrong type for value; expected map[string]interface {}; got map[string]string",
    );
    err("{{ repeat 1.5 \"x\" }}", "expected integer; found 1.5");
    err(
        "{{ upper }}",
        "wrong number of args for upper: want 1 got 0",
    );
    err(
        "{{ upper \"a\" \"b\" }}",
        "wrong number of args for upper: want 1 got 2",
    );
    ok("{{ repeat 2.0 \"x\" }}", "xx");
    ok(
        "{{ default \"d\" .missing }}|{{ default \"d\" .foo }}|{{ .e | default \"d\" }}",
        "d|bar|d",
    );
}

#[test]
fn function_lookup() {
    err("{{ env \"HOME\" }}", "function \"env\" not defined");
    err(
        "{{ expandenv \"$HOME\" }}",
        "function \"expandenv\" not defined",
    );
    err(
        "{{ getHostByName \"x\" }}",
        "function \"getHostByName\" not defined",
    );
    err("{{ nosuchfunc }}", "function \"nosuchfunc\" not defined");
    err(
        "{{ genCA \"x\" 365 }}",
        "is not supported by sealed-secrets-rs",
    );
    assert!(
        matches!(r("{{ env \"X\" }}"), Err(TemplateError::UndefinedFunction { ref name, .. }) if name == "env")
    );
}

#[test]
fn errors_do_not_leak_values() {
    let d = BTreeMap::from([("pw".to_string(), "hunter2-SECRET(".to_string())]);
    for t in [
        "{{ .pw.x }}",
        "{{ .pw 1 }}",
        "{{ index .pw 99 }}",
        "{{ range .pw }}{{ end }}",
        "{{ fail .pw }}",
        "{{ substr 5 2 .pw }}",
        "{{ eq .pw 1 }}",
        "{{ mustFromJson .pw }}",
        "{{ mustRegexMatch .pw \"x\" }}",
        "{{ mustToDate \"2006\" .pw }}",
        "{{ div 1 (len .pw | sub 15) }}",
        "{{ upper (len .pw) }}",
    ] {
        match render(t, &d) {
            Ok(_) => panic!("{t} should fail"),
            Err(e) => {
                let msg = format!("{e} {e:?}");
                assert!(
                    !msg.contains("hunter2") && !msg.contains("SECRET"),
                    "{t}: {msg}"
                );
            }
        }
    }
}

#[test]
fn limits() {
    err(
        "{{ range until 1000000 }}{{ end }}",
        "list length limit exceeded",
    );
    err(
        "{{ range 100000000 }}{{ end }}",
        "evaluation steps limit exceeded",
    );
    err("{{ repeat 100000000 \"x\" }}", "value size limit exceeded");
    err(
        "{{ range 2000 }}{{ repeat 1000 \"x\" }}{{ end }}",
        "output size limit exceeded",
    );
    err(
        "{{ printf \"%99999999d\" 1 | len }}",
        "value size limit exceeded",
    );
    // Many large strings kept alive at once hit the total size limit (here with steps to spare).
    let mut session = Session::new(Limits {
        steps: 100_000_000,
        ..Limits::default()
    });
    let many =
        "{{ $l := list }}{{ range 200 }}{{ $l = append $l (repeat 1000000 \"a\") }}{{ end }}";
    let e = session
        .render_bytes(many, &BTreeMap::new())
        .err()
        .map(|e| e.to_string());
    assert!(
        e.as_deref()
            .is_some_and(|e| e.contains("total value size limit exceeded")),
        "{e:?}"
    );
    // Work on large values costs steps in proportion to their size.
    err(
        "{{ $b := repeat 1000000 \"a\" }}{{ range 1000 }}{{ $_ := sha512sum $b }}{{ end }}",
        "evaluation steps limit exceeded",
    );
    // A list containing itself many times over prints as a bounded error, not a hang.
    err(
        "{{ $l := list 1 }}{{ range 40 }}{{ $l = list $l $l }}{{ end }}{{ $l }}",
        "limit exceeded",
    );
    // Cycles through maps end with a nesting error and do not leak.
    err(
        "{{ $d := dict }}{{ $_ := set $d \"self\" $d }}{{ toJson $d }}",
        "nesting depth limit exceeded",
    );
    let deep = "{{ list ".repeat(70) + &"}}".repeat(70);
    assert!(r(&deep).is_err());
}

#[test]
fn binary_values_round_trip() {
    let d = BTreeMap::from([("bin".to_string(), vec![0u8, 0xff, 0xfe, b'a'])]);
    let out = render_bytes("{{ .bin }}|{{ .bin | b64enc | b64dec }}", &d)
        .map(|o| o.to_vec())
        .unwrap_or_default();
    assert_eq!(out, [0, 0xff, 0xfe, b'a', b'|', 0, 0xff, 0xfe, b'a']);
}

#[test]
fn sprig_samples() {
    ok(
        "{{ .foo | quote }} {{ .foo | squote }} {{ cat .foo 1 .missing }}",
        "\"bar\" 'bar' bar 1",
    );
    ok(
        "{{ title \"hello world\" }}|{{ trim \"  x \" }}|{{ trimPrefix \"a\" \"abc\" }}|{{ trimSuffix \"c\" \"abc\" }}",
        "Hello World|x|bc|ab",
    );
    ok(
        "{{ replace \"a\" \"b\" \"aaa\" }}|{{ contains \"ar\" .foo }}|{{ hasPrefix \"b\" .foo }}|{{ hasSuffix \"x\" .foo }}",
        "bbb|true|true|false",
    );
    ok(
        "{{ join \",\" (list 1 \"a\" nil) }}|{{ splitList \":\" \"a:b\" | last }}|{{ (split \":\" \"a:b\")._1 }}",
        "1,a|b|b",
    );
    ok(
        "{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"b\" 2 }}{{ keys $d | sortAlpha }}|{{ hasKey $d \"a\" }}|{{ get $d \"z\" }}|{{ $d.b }}",
        "[a b]|true||2",
    );
    ok(
        "{{ toJson (dict \"a\" (list 1 2.5 \"x\") \"b\" nil) }}",
        r#"{"a":[1,2.5,"x"],"b":null}"#,
    );
    ok("{{ toPrettyJson (dict \"a\" 1) }}", "{\n  \"a\": 1\n}");
    ok(
        "{{ toRawJson \"<&>\" }}|{{ (fromJson \"{\\\"a\\\":[1,2]}\").a }}",
        "\"<&>\"|[1 2]",
    );
    ok(
        "{{ b32enc \"foobar\" }}|{{ b32dec \"MZXW6YTBOI======\" }}",
        "MZXW6YTBOI======|foobar",
    );
    ok(
        "{{ sha256sum \"abc\" | trunc 16 }}|{{ sha1sum \"\" | trunc 8 }}",
        "ba7816bf8f01cfea|da39a3ee",
    );
    ok(
        "{{ indent 2 \"a\\nb\" }}|{{ nindent 1 \"x\" }}",
        "  a\n  b|\n x",
    );
    ok(
        "{{ add 1 2 \"3\" }}|{{ sub 5 7 }}|{{ mul 2 3 4 }}|{{ div 7 2 }}|{{ mod 7 3 }}|{{ max 1 5 3 }}|{{ min 4 2 }}",
        "6|-2|24|3|1|5|2",
    );
    ok(
        "{{ atoi \"12\" }}|{{ int \"0x10\" }}|{{ float64 \"1.5\" }}|{{ addf 0.1 0.2 }}|{{ round 2.567 2 }}",
        "12|16|1.5|0.3|2.57",
    );
    err("{{ div 1 0 }}", "integer divide by zero");
    ok(
        "{{ empty .e }}|{{ empty .foo }}|{{ coalesce .e .missing .foo }}|{{ ternary \"y\" \"n\" true }}",
        "true|false|bar|y",
    );
    ok(
        "{{ list 3 1 2 | sortAlpha }}|{{ list 1 2 2 1 | uniq }}|{{ without (list 1 2 3) 2 }}|{{ has 2 (list 1 2) }}",
        "[1 2 3]|[1 2]|[1 3]|true",
    );
    ok(
        "{{ regexMatch \"^b.r$\" .foo }}|{{ regexReplaceAll \"a(.)\" .foo \"<$1>\" }}|{{ regexFindAll \"[0-9]\" \"a1b22\" -1 }}",
        "true|b<r>|[1 2 2]",
    );
    ok(
        "{{ regexSplit \",+\" \"a,,b,c\" -1 }}|{{ regexQuoteMeta \"a.b*\" }}",
        "[a b c]|a\\.b\\*",
    );
    ok(
        "{{ base \"/a/b.txt\" }}|{{ dir \"/a/b.txt\" }}|{{ ext \"b.tar.gz\" }}|{{ clean \"a//b/../c\" }}|{{ isAbs \"/x\" }}",
        "b.txt|/a|.gz|a/c|true",
    );
    ok(
        "{{ date \"2006-01-02\" now }}|{{ now | unixEpoch }}|{{ dateModify \"1h\" now | date \"15:04\" }}",
        "2024-03-05|1709622489|08:08",
    );
    ok(
        "{{ duration \"90\" }}|{{ durationRound \"49h\" }}|{{ toDate \"2006-01-02\" \"2020-02-29\" | date \"Jan 2\" }}",
        "1m30s|2d|Feb 29",
    );
    ok(
        "{{ dateInZone \"15:04 MST\" now \"Europe/Berlin\" }}|{{ dateInZone \"15:04 MST\" now \"Nope/Zone\" }}",
        "08:08 CET|07:08 UTC",
    );
    ok("{{ htpasswd \"a:b\" \"pw\" }}", "invalid username: a:b");
    ok(
        "{{ uuidv4 | len }}|{{ randAlphaNum 10 | len }}|{{ randBytes 3 | b64dec | len }}",
        "36|10|3",
    );
    ok(
        "{{ abbrev 5 \"hello world\" }}|{{ substr 1 3 \"abcd\" }}|{{ trunc 2 \"abc\" }}|{{ nospace \"a b\" }}|{{ initials \"a b\" }}",
        "he...|bc|ab|ab|ab",
    );
    ok(
        "{{ dig \"a\" \"b\" \"dflt\" (dict \"a\" (dict \"b\" 7)) }}|{{ dig \"a\" \"x\" \"dflt\" (dict \"a\" (dict)) }}",
        "7|dflt",
    );
    ok(
        "{{ $a := dict \"x\" 1 \"n\" (dict \"p\" 1) }}{{ $_ := merge $a (dict \"x\" 2 \"y\" 3 \"n\" (dict \"q\" 2)) }}{{ toJson $a }}",
        r#"{"n":{"p":1,"q":2},"x":1,"y":3}"#,
    );
    ok(
        "{{ typeOf 1 }}|{{ typeOf .foo }}|{{ kindOf (list) }}|{{ typeIs \"string\" .foo }}|{{ deepEqual (list 1) (list 1) }}",
        "int|string|slice|true|true",
    );
    ok(
        "{{ seq 3 }}|{{ untilStep 0 10 3 }}|{{ chunk 2 (list 1 2 3) }}|{{ concat (list 1) (list 2) }}",
        "1 2 3|[0 3 6 9]|[[1 2] [3]]|[1 2]",
    );
}

#[test]
fn bcrypt_hashes_verify() {
    let out = r("{{ bcrypt \"pw\" }}").unwrap_or_default();
    assert!(out.starts_with("$2a$10$"), "{out}");
    assert!(bcrypt::verify("pw", &out).unwrap_or(false));
}

/// Renders thousands of random and mutated templates: none may panic, and each finishes
/// quickly thanks to the limits.
#[test]
fn random_templates_never_panic() {
    use rand::{Rng, SeedableRng};
    let seeds = [
        "{{ if .foo }}{{ range $i, $e := until 3 }}{{ $i }}{{ end }}{{ else }}x{{ end }}",
        "{{ define \"t\" }}{{ . }}{{ end }}{{ template \"t\" (dict \"a\" (list 1 2)) }}",
        "{{- with $x := index . \"foo\" -}} {{ $x | upper | quote }} {{- end }}",
        "{{ printf \"%5.2f %q %v\" 3.14 .foo (list 1 (dict \"a\" nil)) }}",
        "{{ toJson (fromJson \"{\\\"a\\\": [1, {\\\"b\\\": null}]}\") }} {{ .missing.x }}",
        "{{/* c */}}{{ (split \",\" \"a,b\")._0 }}{{ regexReplaceAll \"(a)\" \"aa\" \"$1x\" }}",
        "{{ $d := dict }}{{ $_ := set $d \"k\" $d }}{{ range $k, $v := $d }}{{ $k }}{{ end }}",
        "{{ block \"b\" . }}{{ len . }}{{ end }}{{ date \"2006\" now }} {{ 0x1p3 }} {{ '\\n' }}",
    ];
    let alphabet: Vec<&str> = vec![
        "{{",
        "}}",
        "{{-",
        "-}}",
        " ",
        ".",
        "$",
        "$x",
        ":=",
        "=",
        "|",
        "(",
        ")",
        "\"",
        "`",
        "'",
        ",",
        "if",
        "else",
        "end",
        "range",
        "with",
        "define",
        "template",
        "block",
        "break",
        "continue",
        "nil",
        "true",
        "1",
        "-1",
        "0x",
        "1e9",
        ".foo",
        ".missing",
        "index",
        "len",
        "printf",
        "\"%v\"",
        "list",
        "dict",
        "until",
        "repeat",
        "toJson",
        "and",
        "or",
        "not",
        "eq",
        "/*",
        "*/",
        "\n",
        "é",
        "\\",
        "%",
        "set",
        "fromJson",
        "template \"t\"",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let d = data();
    for i in 0..4000 {
        let t: String = if i % 2 == 0 {
            (0..rng.gen_range(1..30))
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect()
        } else {
            let mut b: Vec<char> = seeds[rng.gen_range(0..seeds.len())].chars().collect();
            for _ in 0..rng.gen_range(1..6) {
                let pos = rng.gen_range(0..=b.len());
                match rng.gen_range(0..3) {
                    0 if pos < b.len() => {
                        b.remove(pos);
                    }
                    1 => {
                        for c in alphabet[rng.gen_range(0..alphabet.len())].chars().rev() {
                            b.insert(pos, c);
                        }
                    }
                    _ => b.insert(pos, char::from(rng.gen_range(32u8..127))),
                }
            }
            b.into_iter().collect()
        };
        let _ = render(&t, &d);
    }
}
