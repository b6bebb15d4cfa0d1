//! Redis's `long double` arithmetic for INCRBYFLOAT (and HINCRBYFLOAT), emulated exactly.
//!
//! Redis parses both operands with `strtold`, adds them as x87 80-bit extended floats (64-bit
//! significand, round to nearest even) and prints the sum with `"%.17Lf"`, trailing zeros
//! removed. An `f64` gets different digits (`10.6 + 5000` is `5005.60000000000000009` in Redis),
//! accepts less (`1e400`, `0x10`) and overflows sooner, so replies would differ. Rust has no
//! 80-bit float and the crate forbids `unsafe` (no libc), so this module does the three steps in
//! software with exact big-integer arithmetic: correctly rounded parsing (glibc's `strtold` is
//! correctly rounded), one correctly rounded addition, and exact `%.17Lf` digits.
//!
//! It owns only numbers; the commands (type checks, error texts) stay in `strings.rs`.

use std::cmp::Ordering;

/// Exponent of the least significant bit of the smallest subnormal (2^-16445).
const MIN_EXP: i64 = -16445;
/// Exponent of the least significant bit of the largest finite value ((2^64-1) * 2^16320).
const MAX_EXP: i64 = 16320;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer inputs are refused by `string2ld`.
const MAX_CHARS: usize = 5 * 1024;

/// An 80-bit extended float: zero, `±mant * 2^exp`, or infinity. Finite values keep `mant`
/// non-zero; normal values have its top bit set (subnormals sit at `exp == MIN_EXP`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LongDouble {
    neg: bool,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Zero,
    Finite { mant: u64, exp: i64 },
    Inf,
}

impl LongDouble {
    /// Positive zero: the value of a missing key.
    pub(crate) const ZERO: LongDouble = LongDouble {
        neg: false,
        kind: Kind::Zero,
    };

    /// Parse as Redis's `string2ld`: `strtold` must consume the whole argument, which may not
    /// start with a space, be empty, be NaN, or overflow / underflow to zero (`ERANGE`).
    /// Accepts what C does: signs, `inf`/`infinity`, exponents, hexadecimal floats.
    pub(crate) fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_CHARS || is_c_space(s[0]) {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let kind = if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            Kind::Inf
        } else if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
            parse_hex(&body[2..])?
        } else {
            parse_decimal(body)?
        };
        Some(LongDouble { neg, kind })
    }

    /// The correctly rounded sum; `None` when it is infinite or NaN.
    pub(crate) fn plus(self, other: LongDouble) -> Option<LongDouble> {
        match (self.kind, other.kind) {
            (Kind::Inf, _) | (_, Kind::Inf) => None,
            (Kind::Zero, Kind::Zero) => Some(LongDouble {
                neg: self.neg && other.neg,
                kind: Kind::Zero,
            }),
            (Kind::Zero, _) => Some(other),
            (_, Kind::Zero) => Some(self),
            (Kind::Finite { mant: ma, exp: ea }, Kind::Finite { mant: mb, exp: eb }) => {
                let e = ea.min(eb);
                let a = Big::from_u64(ma).shifted((ea - e) as usize);
                let b = Big::from_u64(mb).shifted((eb - e) as usize);
                let (neg, sum) = if self.neg == other.neg {
                    (self.neg, a.plus(&b))
                } else {
                    match a.compare(&b) {
                        Ordering::Equal => {
                            return Some(LongDouble {
                                neg: false,
                                kind: Kind::Zero,
                            })
                        }
                        Ordering::Greater => (self.neg, a.minus(&b)),
                        Ordering::Less => (other.neg, b.minus(&a)),
                    }
                };
                let kind = round(sum, Big::from_u64(1), e);
                (kind != Kind::Inf).then_some(LongDouble { neg, kind })
            }
        }
    }

    /// Whether this is greater than zero.
    pub(crate) fn is_positive(self) -> bool {
        !self.neg && self.kind != Kind::Zero
    }

    /// Whether this is ±infinity.
    pub(crate) fn is_infinite(self) -> bool {
        self.kind == Kind::Inf
    }

    /// The nearest `f64` (infinite when out of its range).
    pub(crate) fn to_f64(self) -> f64 {
        let v = match self.kind {
            Kind::Zero => 0.0,
            Kind::Inf => f64::INFINITY,
            Kind::Finite { mant, exp } => {
                // Two steps, so that a tiny value is not lost to an underflow of the
                // power alone (mant is about 2^63: 1e-300 is 2^63 * 2^-1060).
                let e = exp.clamp(-2000, 2000) as i32;
                (mant as f64) * 2f64.powi(e / 2) * 2f64.powi(e - e / 2)
            }
        };
        if self.neg {
            -v
        } else {
            v
        }
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)`: `"%.17Lf"`, trailing zeros (and a trailing
    /// point) removed, `-0` shown as `0`.
    pub(crate) fn to_human(self) -> String {
        let (int_part, frac17) = match self.kind {
            Kind::Inf => return if self.neg { "-inf" } else { "inf" }.to_string(),
            Kind::Zero => (String::from("0"), 0u64),
            Kind::Finite { mant, exp } if exp >= 0 => {
                (Big::from_u64(mant).shifted(exp as usize).to_decimal(), 0)
            }
            Kind::Finite { mant, exp } => fixed17(mant, (-exp) as u32),
        };
        let mut out = String::with_capacity(int_part.len() + 19);
        if self.neg {
            out.push('-');
        }
        out.push_str(&int_part);
        if frac17 != 0 {
            let digits = format!("{frac17:017}");
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
        if out == "-0" {
            out.remove(0);
        }
        out
    }
}

/// `mant * 2^-shift` as its integer part and 17 decimal places, rounded to nearest with ties
/// to even as glibc's printf does.
fn fixed17(mant: u64, shift: u32) -> (String, u64) {
    const SCALE: u128 = 100_000_000_000_000_000; // 10^17
    let (int_part, frac) = if shift >= 64 {
        (0u128, u128::from(mant))
    } else {
        (
            u128::from(mant >> shift),
            u128::from(mant & ((1u64 << shift) - 1)),
        )
    };
    // frac < 2^64 and 10^17 < 2^57: the product fits in 121 bits.
    let scaled = frac * SCALE;
    let (mut digits, round_up) = if shift > 121 {
        // scaled < 2^121 <= half of 2^shift: rounds down to zero.
        (0u128, false)
    } else {
        let digits = scaled >> shift;
        let rem = scaled & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        (digits, rem > half || (rem == half && digits & 1 == 1))
    };
    let mut int_part = int_part;
    if round_up {
        digits += 1;
        if digits == SCALE {
            digits = 0;
            int_part += 1;
        }
    }
    (int_part.to_string(), digits as u64)
}

/// C `isspace` in the "C" locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parse an exponent's digits (after an optional sign), saturating far beyond any range that
/// matters. `None` if there is no digit or anything else follows.
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().fold(0i64, |acc, &c| {
        (acc * 10 + i64::from(c - b'0')).min(1_000_000_000)
    });
    Some(if neg { -v } else { v })
}

/// Split `digits[.digits][<marker>exponent]` into its digit bytes (point removed), the count
/// of digits after the point, and the exponent. `None` unless the whole input matches with at
/// least one digit.
fn split_number(s: &[u8], is_digit: fn(&u8) -> bool, marker: u8) -> Option<(Vec<u8>, i64, i64)> {
    let int_len = s.iter().take_while(|c| is_digit(c)).count();
    let mut rest = &s[int_len..];
    let mut digits = s[..int_len].to_vec();
    let mut frac_len = 0;
    if rest.first() == Some(&b'.') {
        frac_len = rest[1..].iter().take_while(|c| is_digit(c)).count();
        digits.extend_from_slice(&rest[1..1 + frac_len]);
        rest = &rest[1 + frac_len..];
    }
    if digits.is_empty() {
        return None;
    }
    let exp = match rest.first() {
        None => 0,
        Some(&c) if c | 0x20 == marker => parse_exponent(&rest[1..])?,
        Some(_) => return None,
    };
    Some((digits, frac_len as i64, exp))
}

/// A decimal `strtold` body: `value = D * 10^e`.
fn parse_decimal(s: &[u8]) -> Option<Kind> {
    let (digits, frac_len, exp) = split_number(s, u8::is_ascii_digit, b'e')?;
    let first = digits.iter().position(|&c| c != b'0');
    let Some(first) = first else {
        return Some(Kind::Zero);
    };
    let significant = &digits[first..];
    let e10 = exp - frac_len;
    // The value lies in [10^m, 10^(m+1)); beyond these bounds it surely overflows (the
    // largest long double is ~1.19e4932) or rounds to zero (the smallest is ~3.65e-4951).
    let m = e10 + significant.len() as i64 - 1;
    if !(-4960..=4933).contains(&m) {
        return None;
    }
    let mut d = Big::from_u64(0);
    for chunk in significant.chunks(9) {
        let v = chunk
            .iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
        d.mul_small(10u32.pow(chunk.len() as u32));
        d.add_small(v);
    }
    // 10^e = 5^e * 2^e: the power of two goes into the binary exponent.
    let kind = if e10 >= 0 {
        round(d.times(&Big::pow5(e10 as u32)), Big::from_u64(1), e10)
    } else {
        round(d, Big::pow5((-e10) as u32), e10)
    };
    // Rounding to zero or infinity is ERANGE, which string2ld refuses.
    matches!(kind, Kind::Finite { .. }).then_some(kind)
}

/// A hexadecimal `strtold` body after `0x`: `value = H * 2^(p - 4 * fraction digits)`.
fn parse_hex(s: &[u8]) -> Option<Kind> {
    let (digits, frac_len, exp) = split_number(s, u8::is_ascii_hexdigit, b'p')?;
    let mut h = Big::from_u64(0);
    for &c in &digits {
        h.mul_small(16);
        h.add_small((c as char).to_digit(16).unwrap_or(0));
    }
    if h.is_zero() {
        return Some(Kind::Zero);
    }
    let t = exp - 4 * frac_len;
    let lead = h.bits() as i64 - 1 + t;
    if !(MIN_EXP - 2..=MAX_EXP + 64).contains(&lead) {
        return None;
    }
    let kind = round(h, Big::from_u64(1), t);
    matches!(kind, Kind::Finite { .. }).then_some(kind)
}

/// Round the positive value `n / q * 2^t` to an extended float (nearest, ties to even).
fn round(mut n: Big, mut q: Big, t: i64) -> Kind {
    // Scale so the quotient has 66 or 67 bits: 64 for the significand, one to round with,
    // the rest of the remainder is the sticky bit.
    let k = 66 - (n.bits() as i64 - q.bits() as i64);
    if k >= 0 {
        n = n.shifted(k as usize);
    } else {
        q = q.shifted((-k) as usize);
    }
    let mut quo: u128 = 0;
    let mut step = q.shifted(67);
    for i in (0..=67).rev() {
        if n.compare(&step) != Ordering::Less {
            n = n.minus(&step);
            quo |= 1u128 << i;
        }
        step.shr1();
    }
    let sticky = !n.is_zero();
    // value = (quo + sticky fraction) * 2^base
    let base = t - k;
    let nbits = 128 - i64::from(quo.leading_zeros());
    let exp = (nbits - 1 + base - 63).max(MIN_EXP);
    let drop = exp - base;
    // drop >= 2: quo has at least 66 bits and the significand keeps at most 64.
    let mut mant = if drop >= 68 {
        0 // below half of the smallest subnormal
    } else {
        let kept = quo >> drop;
        let rem = quo & ((1u128 << drop) - 1);
        let half = 1u128 << (drop - 1);
        let up = rem > half || (rem == half && (sticky || kept & 1 == 1));
        kept + u128::from(up)
    };
    let mut exp = exp;
    if mant == 1u128 << 64 {
        mant >>= 1;
        exp += 1;
    }
    if mant == 0 {
        Kind::Zero
    } else if exp > MAX_EXP {
        Kind::Inf
    } else {
        Kind::Finite {
            mant: mant as u64,
            exp,
        }
    }
}

/// A minimal unsigned big integer: little-endian 32-bit limbs, no trailing zero limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> usize {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() * 32 - top.leading_zeros() as usize,
        }
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.0 {
            if carry == 0 {
                break;
            }
            let v = u64::from(*limb) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn times(&self, other: &Big) -> Big {
        let mut out = vec![0u32; self.0.len() + other.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &b) in other.0.iter().enumerate() {
                let v = u64::from(out[i + j]) + u64::from(a) * u64::from(b) + carry;
                out[i + j] = v as u32;
                carry = v >> 32;
            }
            out[i + other.0.len()] = carry as u32;
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn pow5(mut e: u32) -> Big {
        const FIVE13: u32 = 1_220_703_125; // 5^13, the largest power of five in a u32
        let mut b = Big::from_u64(1);
        while e >= 13 {
            b.mul_small(FIVE13);
            e -= 13;
        }
        b.mul_small(5u32.pow(e));
        b
    }

    fn shifted(&self, bits: usize) -> Big {
        if self.is_zero() {
            return self.clone();
        }
        let (limbs, rem) = (bits / 32, bits % 32);
        let mut out = vec![0u32; limbs];
        if rem == 0 {
            out.extend_from_slice(&self.0);
        } else {
            let mut carry = 0u32;
            for &l in &self.0 {
                out.push((l << rem) | carry);
                carry = l >> (32 - rem);
            }
            out.push(carry);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn shr1(&mut self) {
        let mut carry = 0u32;
        for limb in self.0.iter_mut().rev() {
            let next = *limb & 1;
            *limb = (*limb >> 1) | (carry << 31);
            carry = next;
        }
        self.trim();
    }

    fn plus(&self, other: &Big) -> Big {
        let (long, short) = if self.0.len() >= other.0.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut out = Vec::with_capacity(long.0.len() + 1);
        let mut carry = 0u64;
        for (i, &a) in long.0.iter().enumerate() {
            let v = u64::from(a) + u64::from(short.0.get(i).copied().unwrap_or(0)) + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        if carry != 0 {
            out.push(carry as u32);
        }
        Big(out)
    }

    /// `self - other`; `self >= other` is required.
    fn minus(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for (i, &a) in self.0.iter().enumerate() {
            let mut v = i64::from(a) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            out.push(v as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn compare(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn to_decimal(&self) -> String {
        const CHUNK: u64 = 1_000_000_000;
        let mut limbs = self.0.clone();
        let mut chunks = Vec::new();
        while !limbs.is_empty() {
            let mut rem = 0u64;
            for limb in limbs.iter_mut().rev() {
                let v = (rem << 32) | u64::from(*limb);
                *limb = (v / CHUNK) as u32;
                rem = v % CHUNK;
            }
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
            chunks.push(rem as u32);
        }
        let mut out = match chunks.pop() {
            None => return "0".to_string(),
            Some(top) => top.to_string(),
        };
        for c in chunks.iter().rev() {
            out.push_str(&format!("{c:09}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(a: &str, b: &str) -> Option<String> {
        let a = LongDouble::parse(a.as_bytes())?;
        let b = LongDouble::parse(b.as_bytes())?;
        a.plus(b).map(LongDouble::to_human)
    }

    fn human(s: &str) -> String {
        LongDouble::parse(s.as_bytes()).unwrap().to_human()
    }

    // Expected texts are redis-server 7.0.15's replies (x86-64, glibc).
    #[test]
    fn sums_match_redis() {
        assert_eq!(incr("10.5", "0.1").unwrap(), "10.6");
        assert_eq!(incr("10.6", "5.0e3").unwrap(), "5010.60000000000000009");
        assert_eq!(incr("0.1", "0.2").unwrap(), "0.3");
        assert_eq!(incr("0", "3e-5").unwrap(), "0.00003");
        assert_eq!(incr("5000", "-5000").unwrap(), "0");
        assert_eq!(incr("1e17", "1.5").unwrap(), "100000000000000001.5");
        assert_eq!(incr("0", "1e-20").unwrap(), "0");
        assert_eq!(incr("0", "-1e-20").unwrap(), "0");
        assert_eq!(incr("1", "-1.5").unwrap(), "-0.5");
        assert!(incr("1.1e4932", "1.1e4932").is_none());
    }

    #[test]
    fn parses_like_strtold() {
        assert_eq!(human("0x10"), "16");
        assert_eq!(human("0x1.8p1"), "3");
        assert_eq!(human("123456789012345678"), "123456789012345678");
        assert_eq!(human("9007199254740993"), "9007199254740993");
        assert_eq!(human("0.333333333333333333333"), "0.33333333333333333");
        assert_eq!(human("-0"), "0");
        assert_eq!(human(".5"), "0.5");
        assert_eq!(human("5."), "5");
        assert_eq!(human("inf"), "inf");
        assert_eq!(human("-Infinity"), "-inf");
        assert!(human("1e400").starts_with("1000000000000000000028188"));
        assert_eq!(human("1e400").len(), 401);
        for bad in [
            "", " 1", "1 ", "abc", "nan", "1e", "1e+", ".", "-", "0x", "0xg", "1,5", "1e5000",
            "1e-5000", "infx",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        // Zero is not an underflow.
        assert_eq!(human("0e-99999"), "0");
    }

    #[test]
    fn extremes() {
        let max = "1.18973149535723176502e4932";
        let v = LongDouble::parse(max.as_bytes()).unwrap();
        assert!(matches!(v.kind, Kind::Finite { .. }));
        assert_eq!(v.to_human().len(), 4933);
        // The smallest subnormal is accepted; below half of it is an underflow to zero.
        for ok in [
            "3.6451995318824746025e-4951",
            "2e-4951",
            "0x1p-16445",
            "0x1.8p-16446",
        ] {
            assert!(LongDouble::parse(ok.as_bytes()).is_some(), "{ok}");
        }
        for zero in ["1e-4951", "1e-4952", "0x1p-16446"] {
            assert!(LongDouble::parse(zero.as_bytes()).is_none(), "{zero}");
        }
        assert!(LongDouble::parse(b"0x1.fffffffffffffffep16383").is_some());
        assert!(LongDouble::parse(b"0x1p16384").is_none());
    }
}
