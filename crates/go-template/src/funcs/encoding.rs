//! Sprig's encoding and hashing functions: base64 and base32 (standard alphabets, padded),
//! SHA-1/SHA-256/SHA-512 and Adler-32 checksums, and bcrypt (`bcrypt`, `htpasswd`), which
//! produces Go's `$2a$` hashes at cost 10.

use base64::Engine;
use sha1::Digest;

use super::{BCRYPT_COST, Ctx, Fail, out_str, sarg};
use crate::value::Value;

type R = Result<Value, Fail>;

/// Maps an offset in the input without CR/LF back to the input as given (Go counts them).
fn original_offset(input: &[u8], filtered: usize) -> usize {
    let mut seen = 0;
    for (i, &b) in input.iter().enumerate() {
        if b == b'\r' || b == b'\n' {
            continue;
        }
        if seen == filtered {
            return i;
        }
        seen += 1;
    }
    input.len()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn b64enc(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(
        base64::engine::general_purpose::STANDARD
            .encode(sarg(&a, 0))
            .into_bytes(),
    )
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Go's `base64.StdEncoding.DecodeString` (CR and LF skipped, padding required, unused trailing
/// bits allowed); the error is the offset Go reports.
pub(crate) fn base64_decode(s: &[u8]) -> Result<Vec<u8>, usize> {
    let src: Vec<u8> = s
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        let mut dbuf = [0u8; 4];
        let mut dlen = 4;
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if c == b'=' {
                // Padding: only after 2 or 3 data characters, and nothing may follow it.
                match j {
                    0 | 1 => return Err(si - 1),
                    2 => {
                        if si == src.len() {
                            return Err(src.len());
                        }
                        if src[si] != b'=' {
                            return Err(si - 1);
                        }
                        si += 1;
                    }
                    _ => {}
                }
                if si < src.len() {
                    return Err(si);
                }
                dlen = j;
                break;
            }
            match B64.iter().position(|&a| a == c) {
                Some(v) => dbuf[j] = v as u8,
                None => return Err(si - 1),
            }
            j += 1;
        }
        let n = (u32::from(dbuf[0]) << 18)
            | (u32::from(dbuf[1]) << 12)
            | (u32::from(dbuf[2]) << 6)
            | u32::from(dbuf[3]);
        let b = n.to_be_bytes();
        match dlen {
            4 => out.extend_from_slice(&b[1..4]),
            3 => out.extend_from_slice(&b[1..3]),
            _ => out.push(b[1]),
        }
        if dlen < 4 {
            return Ok(out);
        }
    }
    Ok(out)
}

/// `b64dec`: the decoded bytes, or Go's error text as the result (that is what Sprig does).
pub(crate) fn b64dec(_: &mut Ctx, a: Vec<Value>) -> R {
    let input = sarg(&a, 0);
    match base64_decode(input) {
        Ok(b) => Ok(Value::bytes(b)),
        Err(at) => Ok(Value::str(format!(
            "illegal base64 data at input byte {}",
            original_offset(input, at)
        ))),
    }
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 with padding (Go's `base32.StdEncoding`).
pub(crate) fn base32_encode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len().div_ceil(5) * 8);
    for chunk in s.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(char::from(B32[((n >> (35 - i * 5)) & 31) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's `base32.StdEncoding.DecodeString` (CR and LF skipped); the error is the offset of the
/// first bad byte, as Go reports it.
pub(crate) fn base32_decode(s: &[u8]) -> Result<Vec<u8>, usize> {
    let src: Vec<u8> = s
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    let olen = src.len();
    let mut out = Vec::with_capacity(olen / 8 * 5);
    let mut pos = 0;
    let mut end = false;
    while pos < olen && !end {
        let mut dbuf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0;
        while j < 8 {
            if pos == olen {
                // Input ended inside a quantum without padding.
                return Err(olen - j);
            }
            let c = src[pos];
            pos += 1;
            let remaining = olen - pos;
            if c == b'=' && j >= 2 && remaining < 8 {
                if remaining + j < 7 {
                    return Err(olen);
                }
                for k in 0..(7 - j) {
                    if remaining > k && src[pos + k] != b'=' {
                        return Err(pos + k);
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(pos - 1);
                }
                break;
            }
            match B32.iter().position(|&a| a == c) {
                Some(v) => dbuf[j] = v as u8,
                None => return Err(pos - 1),
            }
            j += 1;
        }
        let mut n: u64 = 0;
        for (i, d) in dbuf.iter().enumerate() {
            n |= u64::from(*d) << (35 - i * 5);
        }
        let bytes = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            _ => 1,
        };
        out.extend_from_slice(&n.to_be_bytes()[3..3 + bytes]);
    }
    Ok(out)
}

pub(crate) fn b32enc(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(base32_encode(sarg(&a, 0)).into_bytes())
}

pub(crate) fn b32dec(_: &mut Ctx, a: Vec<Value>) -> R {
    let input = sarg(&a, 0);
    match base32_decode(input) {
        Ok(b) => Ok(Value::bytes(b)),
        Err(at) => Ok(Value::str(format!(
            "illegal base32 data at input byte {}",
            original_offset(input, at)
        ))),
    }
}

pub(crate) fn sha1sum(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::str(hex(&sha1::Sha1::digest(sarg(&a, 0)))))
}

pub(crate) fn sha256sum(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::str(hex(&sha2::Sha256::digest(sarg(&a, 0)))))
}

pub(crate) fn sha512sum(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::str(hex(&sha2::Sha512::digest(sarg(&a, 0)))))
}

/// Adler-32 (RFC 1950), printed in decimal.
pub(crate) fn adler32sum(_: &mut Ctx, a: Vec<Value>) -> R {
    let (mut x, mut y) = (1u32, 0u32);
    for &b in sarg(&a, 0) {
        x = (x + u32::from(b)) % 65521;
        y = (y + x) % 65521;
    }
    Ok(Value::str(((y << 16) | x).to_string()))
}

/// bcrypt at Go's default cost 10 with a `$2a$` prefix, or Sprig's error text as the result.
fn bcrypt_hash(ctx: &mut Ctx, password: &[u8]) -> Result<String, Fail> {
    if password.len() > 72 {
        return Ok(
            "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
                .to_string(),
        );
    }
    ctx.charge(BCRYPT_COST)?;
    let mut salt = [0u8; 16];
    rand::Rng::fill(ctx.rng()?, &mut salt);
    match bcrypt::hash_with_salt(password, 10, salt) {
        Ok(parts) => Ok(parts.format_for_version(bcrypt::Version::TwoA)),
        Err(_) => Ok("failed to encrypt string with bcrypt".to_string()),
    }
}

pub(crate) fn bcrypt(ctx: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::str(bcrypt_hash(ctx, sarg(&a, 0))?))
}

/// `htpasswd user password`: `user:$2a$10$...`.
pub(crate) fn htpasswd(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let user = sarg(&a, 0);
    if user.contains(&b':') {
        let mut out = b"invalid username: ".to_vec();
        out.extend_from_slice(user);
        return out_str(out);
    }
    let mut out = user.to_vec();
    out.push(b':');
    out.extend_from_slice(bcrypt_hash(ctx, sarg(&a, 1))?.as_bytes());
    out_str(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trip() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let e = base32_encode(s.as_bytes());
            assert_eq!(
                base32_decode(e.as_bytes()),
                Ok(s.as_bytes().to_vec()),
                "{s} {e}"
            );
        }
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI======");
        for (input, want) in [
            ("MZXW6", Err(0)),
            ("MZXW6===X", Ok(b"foo".to_vec())),
            ("MZ======", Ok(b"f".to_vec())),
            ("M=======", Err(1)),
            ("MZXW6YTBOI======MZXW6YTB", Err(10)),
            ("MZXW6YT=", Ok(b"foob".to_vec())),
            ("p@ss", Err(0)),
        ] {
            assert_eq!(base32_decode(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn base64_like_go() {
        let mut ctx = Ctx::new();
        let dec = |ctx: &mut Ctx, s: &str| {
            b64dec(ctx, vec![Value::str(s)])
                .ok()
                .map(|v| v.as_text().into_owned())
        };
        assert_eq!(dec(&mut ctx, "YWJj\nZA=="), Some("abcd".into()));
        assert_eq!(
            dec(&mut ctx, "YWJ!"),
            Some("illegal base64 data at input byte 3".into())
        );
        assert_eq!(dec(&mut ctx, "YWI="), Some("ab".into()));
        for (input, want) in [
            ("Zm9", Err(0)),
            ("Zm9vYg", Err(4)),
            ("Zm9v!", Err(4)),
            ("Zm==", Ok(b"f".to_vec())),
            ("Zm9vYmFy=", Err(8)),
            ("Zm==Zm9v", Err(4)),
            ("Zm9=", Ok(b"fo".to_vec())),
            ("Zh==", Ok(b"f".to_vec())),
            ("Z===", Err(1)),
        ] {
            assert_eq!(base64_decode(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn checksums() {
        let mut ctx = Ctx::new();
        let s = |r: R| r.ok().map(|v| v.as_text().into_owned()).unwrap_or_default();
        assert_eq!(
            s(adler32sum(&mut ctx, vec![Value::str("Wikipedia")])),
            "300286872"
        );
        assert_eq!(
            s(sha1sum(&mut ctx, vec![Value::str("abc")])),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
