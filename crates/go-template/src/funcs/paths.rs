//! Go's `path` functions (`base`, `dir`, `clean`, `ext`, `isAbs`); the `os*` variants use
//! `path/filepath`, which is the same on Linux. Purely lexical: nothing touches the filesystem.

use super::{Ctx, Fail, sarg};
use crate::value::Value;

type R = Result<Value, Fail>;

/// Go's `path.Clean`.
pub(crate) fn clean_path(p: &[u8]) -> Vec<u8> {
    if p.is_empty() {
        return b".".to_vec();
    }
    let rooted = p[0] == b'/';
    let n = p.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        if p[r] == b'/' || (p[r] == b'.' && (r + 1 == n || p[r + 1] == b'/')) {
            r += 1;
        } else if p[r] == b'.' && p[r + 1] == b'.' && (r + 2 == n || p[r + 2] == b'/') {
            r += 2;
            if out.len() > dotdot {
                let mut w = out.len() - 1;
                while w > dotdot && out[w] != b'/' {
                    w -= 1;
                }
                out.truncate(w);
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && p[r] != b'/' {
                out.push(p[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return b".".to_vec();
    }
    out
}

pub(crate) fn clean(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::bytes(clean_path(sarg(&a, 0))))
}

/// Go's `path.Base`.
pub(crate) fn base(_: &mut Ctx, a: Vec<Value>) -> R {
    let mut p = sarg(&a, 0);
    if p.is_empty() {
        return Ok(Value::str("."));
    }
    while p.len() > 1 && p.ends_with(b"/") {
        p = &p[..p.len() - 1];
    }
    if let Some(i) = p.iter().rposition(|&b| b == b'/')
        && p.len() > 1
    {
        p = &p[i + 1..];
    }
    if p.is_empty() {
        return Ok(Value::str("/"));
    }
    Ok(Value::bytes(p.to_vec()))
}

/// Go's `path.Dir`.
pub(crate) fn dir(_: &mut Ctx, a: Vec<Value>) -> R {
    let p = sarg(&a, 0);
    let cut = p.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    Ok(Value::bytes(clean_path(&p[..cut])))
}

/// Go's `path.Ext`.
pub(crate) fn ext(_: &mut Ctx, a: Vec<Value>) -> R {
    let p = sarg(&a, 0);
    for i in (0..p.len()).rev() {
        if p[i] == b'/' {
            break;
        }
        if p[i] == b'.' {
            return Ok(Value::bytes(p[i..].to_vec()));
        }
    }
    Ok(Value::str(""))
}

pub(crate) fn is_abs(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Bool(sarg(&a, 0).starts_with(b"/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_like_go() {
        for (i, o) in [
            ("", "."),
            ("a/../../b", "../b"),
            ("/../a//b/./c/", "/a/b/c"),
            ("abc/def/..", "abc"),
            ("./", "."),
            ("/", "/"),
            ("..", ".."),
        ] {
            assert_eq!(clean_path(i.as_bytes()), o.as_bytes(), "{i}");
        }
        let mut ctx = Ctx::new();
        let s = |r: R| r.ok().map(|v| v.as_text().into_owned()).unwrap_or_default();
        assert_eq!(s(base(&mut ctx, vec![Value::str("/a/b.txt/")])), "b.txt");
        assert_eq!(s(base(&mut ctx, vec![Value::str("///")])), "/");
        assert_eq!(s(dir(&mut ctx, vec![Value::str("/a/b/c")])), "/a/b");
        assert_eq!(s(dir(&mut ctx, vec![Value::str("c")])), ".");
        assert_eq!(s(ext(&mut ctx, vec![Value::str("a/b.tar.gz")])), ".gz");
    }
}
