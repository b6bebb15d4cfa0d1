//! Number text: strict decimal integer parsing with Redis `string2ll` rules
//! (used for every length line and `:` integer), and C `printf("%.17g")`
//! formatting of doubles (used for RESP3 `,` and its RESP2 bulk downgrade).
//! No I/O and no frame knowledge here.

use std::io::Write as _;

/// `LONG_STR_SIZE` in Redis: a number text of this many bytes or more is rejected.
const LONG_STR_SIZE: usize = 21;

/// Parses `s` as an `i64` exactly like Redis's `string2ll`: optional `-`, no
/// `+`, no leading zeros (except the number `0` itself), no `-0`, no spaces,
/// fewer than 21 bytes, no overflow.
#[inline]
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [] => return None,
        [b'0'] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if s.len() >= LONG_STR_SIZE {
        return None;
    }
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    // At most 20 digits: 19 can never overflow a u64, the 20th is checked.
    let mut v: u64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    if neg {
        // i64::MIN's magnitude is i64::MAX + 1.
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Formats `d` the way C's `printf("%.17g", d)` does (glibc), except that
/// infinities are `inf`/`-inf` and every NaN is `nan`, as Redis writes them.
pub fn format_double(d: f64) -> String {
    let mut buf = [0u8; DOUBLE_BUF];
    let n = write_double(d, &mut buf);
    // The buffer holds only ASCII written below.
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Large enough for any `%.17g` output: sign, 17 digits, point, `e-308`, or
/// `-0.0000` plus 17 digits.
pub(crate) const DOUBLE_BUF: usize = 40;

/// Writes the `%.17g` text of `d` into `out`, returning its length.
pub(crate) fn write_double(d: f64, out: &mut [u8; DOUBLE_BUF]) -> usize {
    if d.is_nan() {
        out[..3].copy_from_slice(b"nan");
        return 3;
    }
    if d.is_infinite() {
        let s: &[u8] = if d > 0.0 { b"inf" } else { b"-inf" };
        out[..s.len()].copy_from_slice(s);
        return s.len();
    }
    // Rust's `{:.16e}` rounds correctly to 17 significant digits, like glibc:
    // "-1.2345678901234567e-5".
    let mut sci = [0u8; DOUBLE_BUF];
    let sci_len = {
        let mut cursor: &mut [u8] = &mut sci;
        let before = cursor.len();
        // 40 bytes always fit a 17-digit mantissa and a 3-digit exponent.
        if write!(cursor, "{d:.16e}").is_err() {
            return 0;
        }
        before - cursor.len()
    };
    let sci = &sci[..sci_len];
    let (neg, sci) = match sci.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, sci),
    };
    let epos = sci.iter().position(|&c| c == b'e').unwrap_or(sci.len());
    let exp: i32 = std::str::from_utf8(&sci[epos + 1..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // The 17 significant digits, without the point.
    let mut digits = [0u8; 17];
    let mut nd = 0;
    for &c in &sci[..epos] {
        if c.is_ascii_digit() && nd < 17 {
            digits[nd] = c;
            nd += 1;
        }
    }
    // %g drops trailing zeros (keeping at least one digit).
    while nd > 1 && digits[nd - 1] == b'0' {
        nd -= 1;
    }
    let digits = &digits[..nd];

    let mut w = 0;
    let mut put = |b: u8, w: &mut usize| {
        out[*w] = b;
        *w += 1;
    };
    if neg {
        put(b'-', &mut w);
    }
    if (-4..17).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            for i in 0..int_len {
                put(*digits.get(i).unwrap_or(&b'0'), &mut w);
            }
            if digits.len() > int_len {
                put(b'.', &mut w);
                for &c in &digits[int_len..] {
                    put(c, &mut w);
                }
            }
        } else {
            put(b'0', &mut w);
            put(b'.', &mut w);
            for _ in 0..(-exp - 1) {
                put(b'0', &mut w);
            }
            for &c in digits {
                put(c, &mut w);
            }
        }
    } else {
        put(digits[0], &mut w);
        if digits.len() > 1 {
            put(b'.', &mut w);
            for &c in &digits[1..] {
                put(c, &mut w);
            }
        }
        put(b'e', &mut w);
        put(if exp < 0 { b'-' } else { b'+' }, &mut w);
        let a = exp.unsigned_abs();
        if a >= 100 {
            put(b'0' + (a / 100) as u8, &mut w);
        }
        put(b'0' + (a / 10 % 10) as u8, &mut w);
        put(b'0' + (a % 10) as u8, &mut w);
    }
    w
}

/// Parses the text of a RESP3 double (`inf`, `-inf`, `nan` and anything Rust's
/// float parser accepts, e.g. `1.5`, `-2e10`).
pub(crate) fn parse_double(s: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(s).ok()?;
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        _ => {
            // Rust accepts "infinity"/"NaN" spellings too; that is harmless.
            let first = s.as_bytes().first()?;
            if first.is_ascii_whitespace() {
                return None;
            }
            s.parse().ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_i64_follows_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"7"), Some(7));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"1234567890"), Some(1_234_567_890));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"99999999999999999999",
            b"000000000000000000001",
            b"abc",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn format_double_matches_printf_17g() {
        // Expected values are glibc printf("%.17g") outputs.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.10000000000000001"),
            (1.0 / 3.0, "0.33333333333333331"),
            (100.0, "100"),
            (2.675, "2.6749999999999998"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1.5e17, "1.5e+17"),
            (1e-4, "0.0001"),
            (1e-5, "1.0000000000000001e-05"),
            (1.25e-5, "1.2500000000000001e-05"),
            (123456789.125, "123456789.125"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-f64::NAN, "nan"),
        ];
        for (d, want) in cases {
            assert_eq!(format_double(*d), *want, "formatting {d:e}");
        }
    }

    #[test]
    fn format_double_round_trips() {
        for d in [0.1, -2.5e-300, 6.02214076e23, 1.0 / 7.0, f64::EPSILON, 42.0] {
            let s = format_double(d);
            assert_eq!(parse_double(s.as_bytes()), Some(d), "{s}");
        }
    }

    #[test]
    fn parse_double_accepts_resp3_spellings() {
        assert_eq!(parse_double(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_double(b"-inf"), Some(f64::NEG_INFINITY));
        assert!(parse_double(b"nan").is_some_and(f64::is_nan));
        assert_eq!(parse_double(b"1.5"), Some(1.5));
        assert_eq!(parse_double(b"1e+17"), Some(1e17));
        assert_eq!(parse_double(b"-0"), Some(-0.0));
        assert_eq!(parse_double(b""), None);
        assert_eq!(parse_double(b" 1"), None);
        assert_eq!(parse_double(b"1x"), None);
        assert_eq!(parse_double(b"\xff"), None);
    }
}
