//! Sprig's random functions: `randAlphaNum`, `randAlpha`, `randAscii`, `randNumeric`,
//! `randBytes`, `randInt`, `uuidv4`, `shuffle`. Randomness comes from the OS (Sprig uses
//! `crypto/rand` for the strings).

use base64::Engine;
use rand::Rng;
use rand::seq::SliceRandom;

use super::{Ctx, Fail, MAX_VALUE_BYTES, ferr, iarg, out_str, sarg};
use crate::value::Value;

type R = Result<Value, Fail>;

fn rand_from(ctx: &mut Ctx, count: i64, alphabet: &[u8]) -> R {
    if count <= 0 {
        // goutils returns an error for negative counts, which Sprig turns into "".
        return Ok(Value::str(""));
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count > MAX_VALUE_BYTES {
        return Err(Fail::Limit("value size", MAX_VALUE_BYTES));
    }
    ctx.charge(count / 16)?;
    let rng = ctx.rng()?;
    let out: Vec<u8> = (0..count)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
        .collect();
    Ok(Value::bytes(out))
}

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const DIGITS: &[u8] = b"0123456789";

pub(crate) fn rand_alpha_num(ctx: &mut Ctx, a: Vec<Value>) -> R {
    rand_from(ctx, iarg(&a, 0), ALNUM)
}

pub(crate) fn rand_alpha(ctx: &mut Ctx, a: Vec<Value>) -> R {
    rand_from(ctx, iarg(&a, 0), ALPHA)
}

pub(crate) fn rand_numeric(ctx: &mut Ctx, a: Vec<Value>) -> R {
    rand_from(ctx, iarg(&a, 0), DIGITS)
}

/// Printable ASCII, space to tilde.
pub(crate) fn rand_ascii(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let printable: Vec<u8> = (32u8..127).collect();
    rand_from(ctx, iarg(&a, 0), &printable)
}

/// `randBytes n`: n random bytes, base64-encoded.
pub(crate) fn rand_bytes(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let n = iarg(&a, 0);
    if n < 0 {
        return ferr("runtime error: makeslice: len out of range");
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n > MAX_VALUE_BYTES / 2 {
        return Err(Fail::Limit("value size", MAX_VALUE_BYTES));
    }
    let mut buf = zeroize::Zeroizing::new(vec![0u8; n]);
    ctx.rng()?.fill(&mut buf[..]);
    out_str(
        base64::engine::general_purpose::STANDARD
            .encode(&buf[..])
            .into_bytes(),
    )
}

/// `randInt min max`: a number in [min, max).
pub(crate) fn rand_int(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let (min, max) = (iarg(&a, 0), iarg(&a, 1));
    if max <= min {
        return ferr("invalid argument to Intn");
    }
    Ok(Value::Int(ctx.rng()?.gen_range(min..max)))
}

/// `uuidv4`: a random RFC 4122 version 4 UUID, lower case.
pub(crate) fn uuidv4(ctx: &mut Ctx, _: Vec<Value>) -> R {
    let mut b = [0u8; 16];
    ctx.rng()?.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(Value::str(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )))
}

/// `shuffle s`: the runes of s in random order.
pub(crate) fn shuffle(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let mut chars: Vec<char> = String::from_utf8_lossy(sarg(&a, 0)).chars().collect();
    chars.shuffle(ctx.rng()?);
    Ok(Value::str(chars.into_iter().collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let mut ctx = Ctx::fixed(7, jiff::Timestamp::UNIX_EPOCH);
        let s = rand_alpha_num(&mut ctx, vec![Value::Int(32)])
            .ok()
            .and_then(|v| v.as_bytes().map(<[u8]>::to_vec));
        assert!(s.is_some_and(|s| s.len() == 32 && s.iter().all(u8::is_ascii_alphanumeric)));
        let u = uuidv4(&mut ctx, vec![])
            .ok()
            .map(|v| v.as_text().into_owned())
            .unwrap_or_default();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(rand_int(&mut ctx, vec![Value::Int(5), Value::Int(5)]).is_err());
        assert!(rand_alpha(&mut ctx, vec![Value::Int(1 << 40)]).is_err());
    }
}
