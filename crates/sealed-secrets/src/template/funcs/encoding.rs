//! Sprig's encoding and hashing functions: base64 and base32 (standard alphabets, padded),
//! SHA-1/SHA-256/SHA-512 and Adler-32 checksums, and bcrypt (`bcrypt`, `htpasswd`), which
//! produces Go's `$2a$` hashes at cost 10.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use sha1::Digest;

use super::{BCRYPT_COST, Ctx, Fail, out_str, sarg};
use crate::template::value::Value;

type R = Result<Value, Fail>;

/// Go's `base64.StdEncoding`: padded, and lenient about unused trailing bits.
const STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn b64enc(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(STD.encode(sarg(&a, 0)).into_bytes())
}

/// `b64dec`: the decoded bytes, or Go's error text as the result (that is what Sprig does).
pub(crate) fn b64dec(_: &mut Ctx, a: Vec<Value>) -> R {
    // Go's decoder skips CR and LF.
    let input: Vec<u8> = sarg(&a, 0)
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    match STD.decode(&input) {
        Ok(b) => Ok(Value::bytes(b)),
        Err(e) => {
            let at = match e {
                base64::DecodeError::InvalidByte(i, _)
                | base64::DecodeError::InvalidLastSymbol(i, _) => i,
                _ => input.len() / 4 * 4,
            };
            Ok(Value::str(format!(
                "illegal base64 data at input byte {at}"
            )))
        }
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

/// Decodes padded base32; the error is the offset of the first bad byte.
pub(crate) fn base32_decode(s: &[u8]) -> Result<Vec<u8>, usize> {
    let s: Vec<u8> = s
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    if s.len() % 8 != 0 {
        return Err(s.len() / 8 * 8);
    }
    let mut out = Vec::with_capacity(s.len() / 8 * 5);
    for (ci, chunk) in s.chunks(8).enumerate() {
        let pad = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        let data = 8 - pad;
        let bytes = match data {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => return Err(ci * 8 + data),
        };
        if pad > 0 && ci + 1 != s.len() / 8 {
            return Err(ci * 8 + data);
        }
        let mut n: u64 = 0;
        for (i, &b) in chunk[..data].iter().enumerate() {
            let Some(v) = B32.iter().position(|&c| c == b) else {
                return Err(ci * 8 + i);
            };
            n |= (v as u64) << (35 - i * 5);
        }
        let be = n.to_be_bytes();
        out.extend_from_slice(&be[3..3 + bytes]);
    }
    Ok(out)
}

pub(crate) fn b32enc(_: &mut Ctx, a: Vec<Value>) -> R {
    out_str(base32_encode(sarg(&a, 0)).into_bytes())
}

pub(crate) fn b32dec(_: &mut Ctx, a: Vec<Value>) -> R {
    match base32_decode(sarg(&a, 0)) {
        Ok(b) => Ok(Value::bytes(b)),
        Err(at) => Ok(Value::str(format!(
            "illegal base32 data at input byte {at}"
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
        assert!(base32_decode(b"MZXW6===!").is_err());
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
