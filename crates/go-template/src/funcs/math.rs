//! Sprig numeric functions: integer arithmetic on `toInt64` conversions (wrapping like Go),
//! float arithmetic through exact decimals (Sprig uses shopspring/decimal, so `addf 0.1 0.2` is
//! `0.3`), `until`/`untilStep`/`seq`, rounding and conversions.

use super::{Ctx, Fail, MAX_LIST_LEN, arg, ferr, iarg, out_str, sarg, to_float64, to_int64};
use crate::value::{Elem, Value};

type R = Result<Value, Fail>;

/// Go's `strconv.ParseFloat(s, 64)` for the forms Sprig sees; `None` on a syntax or range error.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() {
        let lower = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
        if lower != "inf" && lower != "infinity" {
            return None;
        }
    }
    Some(f)
}

pub(crate) fn atoi(_: &mut Ctx, a: Vec<Value>) -> R {
    let s = String::from_utf8_lossy(sarg(&a, 0));
    Ok(Value::Int(s.parse::<i64>().unwrap_or(0)))
}

pub(crate) fn int64(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Int64(to_int64(arg(&a, 0))))
}

pub(crate) fn int(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Int(to_int64(arg(&a, 0))))
}

pub(crate) fn float64(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Float(to_float64(arg(&a, 0))))
}

/// `toDecimal`: the argument printed, then read as octal.
pub(crate) fn to_decimal(_: &mut Ctx, a: Vec<Value>) -> R {
    let s = String::from_utf8_lossy(&super::strval(arg(&a, 0))?).into_owned();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let v = i64::from_str_radix(digits, 8)
        .ok()
        .filter(|_| !digits.starts_with(['+', '-']))
        .unwrap_or(0);
    Ok(Value::Int64(if neg { -v } else { v }))
}

pub(crate) fn add1(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Int64(to_int64(arg(&a, 0)).wrapping_add(1)))
}

pub(crate) fn add(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Int64(
        a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v))),
    ))
}

pub(crate) fn sub(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Int64(
        to_int64(arg(&a, 0)).wrapping_sub(to_int64(arg(&a, 1))),
    ))
}

pub(crate) fn mul(_: &mut Ctx, a: Vec<Value>) -> R {
    let first = to_int64(arg(&a, 0));
    Ok(Value::Int64(
        a.iter()
            .skip(1)
            .fold(first, |acc, v| acc.wrapping_mul(to_int64(v))),
    ))
}

pub(crate) fn div(_: &mut Ctx, a: Vec<Value>) -> R {
    let d = to_int64(arg(&a, 1));
    if d == 0 {
        return ferr("runtime error: integer divide by zero");
    }
    Ok(Value::Int64(to_int64(arg(&a, 0)).wrapping_div(d)))
}

pub(crate) fn modulo(_: &mut Ctx, a: Vec<Value>) -> R {
    let d = to_int64(arg(&a, 1));
    if d == 0 {
        return ferr("runtime error: integer divide by zero");
    }
    Ok(Value::Int64(to_int64(arg(&a, 0)).wrapping_rem(d)))
}

pub(crate) fn max(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
}

pub(crate) fn min(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0)))
}

fn go_max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        x.max(y)
    }
}

fn go_min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        x.min(y)
    }
}

pub(crate) fn maxf(_: &mut Ctx, a: Vec<Value>) -> R {
    let first = to_float64(arg(&a, 0));
    Ok(Value::Float(
        a.iter().skip(1).map(to_float64).fold(first, go_max),
    ))
}

pub(crate) fn minf(_: &mut Ctx, a: Vec<Value>) -> R {
    let first = to_float64(arg(&a, 0));
    Ok(Value::Float(
        a.iter().skip(1).map(to_float64).fold(first, go_min),
    ))
}

pub(crate) fn ceil(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Float(to_float64(arg(&a, 0)).ceil()))
}

pub(crate) fn floor(_: &mut Ctx, a: Vec<Value>) -> R {
    Ok(Value::Float(to_float64(arg(&a, 0)).floor()))
}

/// `round x places [half]`: Sprig's rounding (ceil when the fraction is at least `half`).
pub(crate) fn round(_: &mut Ctx, a: Vec<Value>) -> R {
    let val = to_float64(arg(&a, 0));
    let p = iarg(&a, 1).clamp(-400, 400) as i32;
    let round_on = match a.get(2) {
        Some(Value::Float(f)) => *f,
        _ => 0.5,
    };
    let pow = 10f64.powi(p);
    let digit = pow * val;
    let r = if digit.fract() >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(r / pow))
}

/// Number of elements `untilStep` produces, to check before building.
fn until_len(start: i64, stop: i64, step: i64) -> usize {
    let (span, step) = if stop < start {
        if step >= 0 {
            return 0;
        }
        (i128::from(start) - i128::from(stop), -i128::from(step))
    } else {
        if step <= 0 {
            return 0;
        }
        (i128::from(stop) - i128::from(start), i128::from(step))
    };
    let n = (span + step - 1) / step;
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn until_values(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, Fail> {
    let n = until_len(start, stop, step);
    if n > MAX_LIST_LEN {
        return Err(Fail::Limit("list length", MAX_LIST_LEN));
    }
    Ok((0..n as i64).map(|i| start + i * step).collect())
}

pub(crate) fn until(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let count = iarg(&a, 0);
    let step = if count < 0 { -1 } else { 1 };
    let v = until_values(0, count, step)?;
    ctx.new_list(v.into_iter().map(Value::Int).collect(), Elem::Int)
}

pub(crate) fn until_step(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let v = until_values(iarg(&a, 0), iarg(&a, 1), iarg(&a, 2))?;
    ctx.new_list(v.into_iter().map(Value::Int).collect(), Elem::Int)
}

/// `seq [first [step]] last`, like GNU seq: a space-separated string.
pub(crate) fn seq(ctx: &mut Ctx, a: Vec<Value>) -> R {
    let p: Vec<i64> = a
        .iter()
        .map(|v| if let Value::Int(i) = v { *i } else { 0 })
        .collect();
    let values = match p.as_slice() {
        [end] => {
            let inc = if *end < 1 { -1 } else { 1 };
            until_values(1, end.saturating_add(inc), inc)?
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_values(*start, end.saturating_add(step), step)?
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if *step > 0 {
                    return Ok(Value::str(""));
                }
            }
            until_values(*start, end.saturating_add(inc), *step)?
        }
        _ => Vec::new(),
    };
    ctx.charge(values.len())?;
    let s: Vec<String> = values.iter().map(i64::to_string).collect();
    out_str(s.join(" ").into_bytes())
}

/// A decimal number `m * 10^-scale`, enough for Sprig's float functions.
#[derive(Clone, Copy)]
struct Dec {
    m: i128,
    scale: i32,
}

impl Dec {
    /// shopspring's `NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let neg = mant.starts_with('-');
        let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
        let mut m: i128 = digits.parse().ok()?;
        if neg {
            m = -m;
        }
        let mut scale = digits.len() as i32 - 1 - exp;
        while scale < 0 {
            m = m.checked_mul(10)?;
            scale += 1;
        }
        Some(Dec { m, scale })
    }

    fn rescale(self, scale: i32) -> Option<i128> {
        let mut m = self.m;
        for _ in self.scale..scale {
            m = m.checked_mul(10)?;
        }
        Some(m)
    }

    fn add(self, o: Dec) -> Option<Dec> {
        let scale = self.scale.max(o.scale);
        Some(Dec {
            m: self.rescale(scale)?.checked_add(o.rescale(scale)?)?,
            scale,
        })
    }

    fn sub(self, o: Dec) -> Option<Dec> {
        self.add(Dec {
            m: o.m.checked_neg()?,
            scale: o.scale,
        })
    }

    fn mul(self, o: Dec) -> Option<Dec> {
        Some(Dec {
            m: self.m.checked_mul(o.m)?,
            scale: self.scale.checked_add(o.scale)?,
        })
    }

    /// Division rounded half away from zero to 16 places (shopspring's `DivisionPrecision`).
    fn div(self, o: Dec) -> Option<Dec> {
        const PREC: i32 = 16;
        let mut num = self.m;
        for _ in 0..(o.scale + PREC - self.scale).max(0) {
            num = num.checked_mul(10)?;
        }
        let mut den = o.m;
        for _ in 0..(self.scale - o.scale - PREC).max(0) {
            den = den.checked_mul(10)?;
        }
        let q = num / den;
        let r = num % den;
        let twice = r.checked_abs()?.checked_mul(2)?;
        let q = if twice >= den.checked_abs()? {
            if (num < 0) != (den < 0) { q - 1 } else { q + 1 }
        } else {
            q
        };
        Some(Dec { m: q, scale: PREC })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, -self.scale)
            .parse()
            .unwrap_or(f64::NAN)
    }
}

/// The four decimal operations of Sprig's float functions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// Folds the arguments with a decimal operation; falls back to float arithmetic when a value
/// does not fit the 128-bit decimal.
fn decimal_op(first: f64, rest: &[Value], op: Op) -> R {
    let mut acc_f = first;
    let mut acc = Dec::from_f64(first);
    for v in rest {
        let x = to_float64(v);
        if op == Op::Div && x == 0.0 {
            return ferr("decimal division by zero");
        }
        acc = match (acc, Dec::from_f64(x)) {
            (Some(a), Some(b)) => match op {
                Op::Add => a.add(b),
                Op::Sub => a.sub(b),
                Op::Mul => a.mul(b),
                Op::Div => a.div(b),
            },
            _ => None,
        };
        acc_f = match acc {
            Some(a) => a.to_f64(),
            None => match op {
                Op::Add => acc_f + x,
                Op::Sub => acc_f - x,
                Op::Mul => acc_f * x,
                Op::Div => acc_f / x,
            },
        };
    }
    Ok(Value::Float(acc.map_or(acc_f, Dec::to_f64)))
}

pub(crate) fn add1f(_: &mut Ctx, a: Vec<Value>) -> R {
    decimal_op(to_float64(arg(&a, 0)), &[Value::Int(1)], Op::Add)
}

pub(crate) fn addf(_: &mut Ctx, a: Vec<Value>) -> R {
    decimal_op(0.0, &a, Op::Add)
}

pub(crate) fn subf(_: &mut Ctx, a: Vec<Value>) -> R {
    decimal_op(to_float64(arg(&a, 0)), a.get(1..).unwrap_or(&[]), Op::Sub)
}

pub(crate) fn mulf(_: &mut Ctx, a: Vec<Value>) -> R {
    decimal_op(to_float64(arg(&a, 0)), a.get(1..).unwrap_or(&[]), Op::Mul)
}

pub(crate) fn divf(_: &mut Ctx, a: Vec<Value>) -> R {
    decimal_op(to_float64(arg(&a, 0)), a.get(1..).unwrap_or(&[]), Op::Div)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: R) -> f64 {
        match v {
            Ok(Value::Float(f)) => f,
            _ => f64::NAN,
        }
    }

    #[test]
    fn decimal_float_ops() {
        let mut c = Ctx::new();
        assert_eq!(
            f(addf(&mut c, vec![Value::Float(0.1), Value::Float(0.2)])),
            0.3
        );
        assert_eq!(
            f(subf(&mut c, vec![Value::Float(1.5), Value::Float(0.7)])),
            0.8
        );
        assert_eq!(f(mulf(&mut c, vec![Value::Float(1.1), Value::Int(3)])), 3.3);
        assert_eq!(
            f(divf(&mut c, vec![Value::Int(10), Value::Int(3)])),
            3.3333333333333335
        );
        assert!(divf(&mut c, vec![Value::Int(1), Value::Int(0)]).is_err());
        assert_eq!(
            f(round(&mut c, vec![Value::Float(123.555555), Value::Int(3)])),
            123.556
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(until_values(0, 3, 1).unwrap_or_default(), vec![0, 1, 2]);
        assert_eq!(until_values(0, -3, -1).unwrap_or_default(), vec![0, -1, -2]);
        assert_eq!(until_values(0, 10, 4).unwrap_or_default(), vec![0, 4, 8]);
        assert!(until_values(0, 10, 0).unwrap_or_default().is_empty());
        assert!(until_values(0, i64::MAX, 1).is_err());
        let mut c = Ctx::new();
        let s = |v: R| {
            v.ok()
                .and_then(|v| v.as_bytes().map(<[u8]>::to_vec))
                .unwrap_or_default()
        };
        assert_eq!(s(seq(&mut c, vec![Value::Int(3)])), b"1 2 3");
        assert_eq!(s(seq(&mut c, vec![Value::Int(5), Value::Int(3)])), b"5 4 3");
        assert_eq!(
            s(seq(
                &mut c,
                vec![Value::Int(0), Value::Int(2), Value::Int(6)]
            )),
            b"0 2 4 6"
        );
    }

    #[test]
    fn conversions() {
        assert_eq!(to_int64(&Value::str("0x1f")), 31);
        assert_eq!(to_int64(&Value::str("010")), 8);
        assert_eq!(to_int64(&Value::str("1.0")), 1);
        assert_eq!(to_int64(&Value::str("1.5")), 0);
        assert_eq!(to_int64(&Value::str(" 3")), 0);
        assert_eq!(to_float64(&Value::str("1e6")), 1e6);
        assert_eq!(to_float64(&Value::str("1e400")), 0.0);
    }
}
