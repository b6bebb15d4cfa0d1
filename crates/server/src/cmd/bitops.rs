//! Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
//! BITFIELD_RO.
//!
//! Bit 0 is the most significant bit of the first byte, as in Redis; reads past the end of a
//! string see zeros, writes grow the string with zero bytes (up to `proto-max-bulk-len`).
//! Writes change the stored value in place ([`Str::edit`]): setting a bit of a big bitmap
//! copies nothing. Replies, errors, the order in which arguments and the key are checked, and
//! keyspace events follow Redis 7.0's bitops.c.

use bytes::Bytes;
use confab_protocol::Frame;

use super::strings::with_str;
use super::{arg_i64, eq_ic, err, int, parse_i64, syntax, wrongtype, Ctx, Handler, Plan};
use crate::db::{Entry, Str, Value};
use crate::notify;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("setbit", setbit, Plan::Keys),
    ("getbit", getbit, Plan::Keys),
    ("bitcount", bitcount, Plan::Keys),
    ("bitpos", bitpos, Plan::Keys),
    ("bitop", bitop, Plan::Keys),
    ("bitfield", bitfield, Plan::Keys),
    ("bitfield_ro", bitfield_ro, Plan::Keys),
];

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_BIT: &str = "ERR bit is not an integer or out of range";
const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// A bit offset argument: a non-negative integer addressing a byte below
/// `proto-max-bulk-len`; with `bits` (BITFIELD), `#N` means N * bits.
fn bit_offset(ctx: &Ctx<'_, '_>, arg: &[u8], bits: Option<u32>) -> Result<u64, Frame> {
    let (digits, times) = match (arg.first(), bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    let n = parse_i64(digits)
        .and_then(|n| n.checked_mul(times))
        .ok_or_else(|| err(BAD_OFFSET))?;
    if n < 0 || (n as u64 >> 3) >= ctx.shared.config.max_bulk_len as u64 {
        return Err(err(BAD_OFFSET));
    }
    Ok(n as u64)
}

/// Edit the string at `key` (created empty if missing), padded to `len` bytes, with `f`.
/// Returns `f`'s result and whether the key was created or grew (Redis's `dirty`: a created key
/// always grew, `len` being at least 1); the caller decides whether the key changed, and then
/// calls [`modified`].
fn edit<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    len: usize,
    f: impl FnOnce(&mut [u8]) -> R,
) -> Result<(R, bool), Frame> {
    let now = ctx.now;
    let Ok(Some(Entry {
        value: Value::Str(s),
        ..
    })) = ctx.shard(key).get_mut_if_unmarked(
        key,
        now,
        |v| matches!(v, Value::Str(_)),
        Some(|| Value::Str(Str::new(b""))),
    )
    else {
        return Err(wrongtype());
    };
    let grew = s.len() < len;
    Ok((s.edit(len, f), grew))
}

/// The key changed: mark its watchers and send the `setbit` event.
fn modified(ctx: &mut Ctx<'_, '_>, key: &[u8]) {
    ctx.shard(key).touch(key);
    ctx.notify(notify::STRING, "setbit", key);
}

fn get_bit(p: &[u8], offset: u64) -> bool {
    p.get((offset >> 3) as usize)
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// # Format
/// `SETBIT key offset value`
fn setbit(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let offset = match bit_offset(ctx, &a[2], None) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let on = match parse_i64(&a[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return err(BAD_BIT),
    };
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    let r = edit(ctx, &a[1], byte + 1, |p| {
        let was = p[byte] & mask != 0;
        if on {
            p[byte] |= mask;
        } else {
            p[byte] &= !mask;
        }
        was
    });
    match r {
        Ok((was, dirty)) => {
            if dirty || was != on {
                modified(ctx, &a[1]);
            }
            int(i64::from(was))
        }
        Err(e) => e,
    }
}

/// # Format
/// `GETBIT key offset`
fn getbit(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let offset = match bit_offset(ctx, &a[2], None) {
        Ok(o) => o,
        Err(e) => return e,
    };
    match with_str(ctx, &a[1], |s| get_bit(s, offset)) {
        Ok(bit) => int(i64::from(bit.unwrap_or(false))),
        Err(e) => e,
    }
}

fn popcount(p: &[u8]) -> u64 {
    let mut chunks = p.chunks_exact(8);
    let mut n: u64 = chunks
        .by_ref()
        .map(|c| u64::from(u64::from_ne_bytes(c.try_into().unwrap()).count_ones()))
        .sum();
    n += chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>();
    n
}

/// A BITCOUNT / BITPOS range resolved to bytes: `start..=end` (empty when start > end), with
/// the masks of the bits outside a BIT range in its first and last byte.
struct Range {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

/// Resolve `start`/`end` (negative from the end) over a string of `len` bytes, in bits when
/// `bits`, as bitcountCommand and bitposCommand do.
fn resolve(mut start: i64, mut end: i64, len: i64, bits: bool) -> Range {
    let total = if bits { len << 3 } else { len };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    let (mut first_mask, mut last_mask) = (0, 0);
    if bits && start <= end {
        first_mask = !((1u16 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Range {
        start,
        end,
        first_mask,
        last_mask,
    }
}

/// `BIT` or `BYTE` (case-insensitive): whether the range counts bits.
fn unit(arg: &[u8]) -> Result<bool, Frame> {
    if eq_ic(arg, "bit") {
        Ok(true)
    } else if eq_ic(arg, "byte") {
        Ok(false)
    } else {
        Err(syntax())
    }
}

/// # Format
/// `BITCOUNT key [start end [BYTE | BIT]]`
fn bitcount(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let r = with_str(ctx, &a[1], |s| {
        let p = s.as_bytes();
        let range = match a.len() {
            2 => Range {
                start: 0,
                end: p.len() as i64 - 1,
                first_mask: 0,
                last_mask: 0,
            },
            4 | 5 => {
                let (start, end) = match (arg_i64(&a[2]), arg_i64(&a[3])) {
                    (Ok(s), Ok(e)) => (s, e),
                    (Err(e), _) | (_, Err(e)) => return e,
                };
                if start < 0 && end < 0 && start > end {
                    return int(0);
                }
                let bits = match a.get(4).map(|m| unit(m)) {
                    Some(Err(e)) => return e,
                    Some(Ok(b)) => b,
                    None => false,
                };
                resolve(start, end, p.len() as i64, bits)
            }
            _ => return syntax(),
        };
        if range.start > range.end {
            return int(0);
        }
        let (s, e) = (range.start as usize, range.end as usize);
        let mut n = popcount(&p[s..=e]);
        n -= u64::from((p[s] & range.first_mask).count_ones());
        n -= u64::from((p[e] & range.last_mask).count_ones());
        int(n as i64)
    });
    match r {
        Ok(Some(reply)) => reply,
        Ok(None) => int(0),
        Err(e) => e,
    }
}

/// The first bit equal to `bit` in `p` (bit 0 = the first byte's top bit); when `bit` is 0
/// and every bit is 1, the bit just past the end (the string is taken as zero-padded); when
/// `bit` is 1 and there is none, -1 (Redis's `redisBitpos`).
fn first_bit(p: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0 } else { 0xff };
    match p.iter().position(|&b| b != skip) {
        Some(i) => {
            let b = if bit { p[i] } else { !p[i] };
            (i as i64) * 8 + i64::from(b.leading_zeros())
        }
        None if bit => -1,
        None => p.len() as i64 * 8,
    }
}

/// # Format
/// `BITPOS key bit [start [end [BYTE | BIT]]]`
fn bitpos(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let bit = match arg_i64(&a[2]) {
        Ok(b @ (0 | 1)) => b == 1,
        Ok(_) => return err("ERR The bit argument must be 1 or 0."),
        Err(e) => return e,
    };
    let r = with_str(ctx, &a[1], |s| {
        let p = s.as_bytes();
        let len = p.len() as i64;
        let mut end_given = false;
        let range = match a.len() {
            3 => Range {
                start: 0,
                end: len - 1,
                first_mask: 0,
                last_mask: 0,
            },
            4..=6 => {
                let start = match arg_i64(&a[3]) {
                    Ok(s) => s,
                    Err(e) => return e,
                };
                let bits = match a.get(5).map(|m| unit(m)) {
                    Some(Err(e)) => return e,
                    Some(Ok(b)) => b,
                    None => false,
                };
                let end = match a.get(4) {
                    Some(e) => match arg_i64(e) {
                        Ok(e) => {
                            end_given = true;
                            e
                        }
                        Err(e) => return e,
                    },
                    None => len - 1,
                };
                resolve(start, end, len, bits)
            }
            _ => return syntax(),
        };
        if range.start > range.end {
            return int(-1);
        }
        let (mut start, end) = (range.start as usize, range.end as usize);
        let mut bytes = end - start + 1;
        let pos = 'found: {
            if range.first_mask != 0 {
                let mut b = if bit {
                    p[start] & !range.first_mask
                } else {
                    p[start] | range.first_mask
                };
                if range.last_mask != 0 && bytes == 1 {
                    b = if bit {
                        b & !range.last_mask
                    } else {
                        b | range.last_mask
                    };
                }
                let pos = first_bit(&[b], bit);
                if bytes == 1 || (pos != -1 && pos != 8) {
                    break 'found pos;
                }
                start += 1;
                bytes -= 1;
            }
            let whole = bytes - usize::from(range.last_mask != 0);
            if whole > 0 {
                let pos = first_bit(&p[start..start + whole], bit);
                if bytes == whole || (pos != -1 && pos != (whole as i64) << 3) {
                    break 'found pos;
                }
                start += whole;
                bytes -= whole;
            }
            let b = if bit {
                p[end] & !range.last_mask
            } else {
                p[end] | range.last_mask
            };
            first_bit(&[b], bit)
        };
        // With an explicit end, the bits right of the range are not zero padding.
        if end_given && !bit && pos == (bytes as i64) << 3 {
            return int(-1);
        }
        int(if pos == -1 {
            -1
        } else {
            pos + ((start as i64) << 3)
        })
    });
    match r {
        Ok(Some(reply)) => reply,
        // A missing key is an endless run of zeros.
        Ok(None) => int(if bit { -1 } else { 0 }),
        Err(e) => e,
    }
}

/// # Format
/// `BITOP <AND | OR | XOR | NOT> destkey key [key ...]`
fn bitop(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    #[derive(Clone, Copy, PartialEq)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = if eq_ic(&a[1], "and") {
        Op::And
    } else if eq_ic(&a[1], "or") {
        Op::Or
    } else if eq_ic(&a[1], "xor") {
        Op::Xor
    } else if eq_ic(&a[1], "not") {
        Op::Not
    } else {
        return syntax();
    };
    if op == Op::Not && a.len() != 4 {
        return err("ERR BITOP NOT must be called with a single source key.");
    }
    let mut sources: Vec<Option<Bytes>> = Vec::with_capacity(a.len() - 3);
    for key in &a[3..] {
        match super::strings::get_str(ctx, key) {
            Ok(v) => sources.push(v),
            Err(e) => return e,
        }
    }
    let max = sources.iter().flatten().map(Bytes::len).max().unwrap_or(0);
    let byte =
        |s: &Option<Bytes>, j: usize| s.as_ref().and_then(|s| s.get(j).copied()).unwrap_or(0);
    let result = (max > 0).then(|| {
        let mut out = vec![0u8; max];
        for (j, o) in out.iter_mut().enumerate() {
            let mut v = byte(&sources[0], j);
            match op {
                Op::Not => v = !v,
                Op::And => sources[1..].iter().for_each(|s| v &= byte(s, j)),
                Op::Or => sources[1..].iter().for_each(|s| v |= byte(s, j)),
                Op::Xor => sources[1..].iter().for_each(|s| v ^= byte(s, j)),
            }
            *o = v;
        }
        Value::Str(Str::from(out).into_raw())
    });
    super::coll::store(ctx, &a[2], result, notify::STRING, "set");
    int(max as i64)
}

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// `i1`..`i64` or `u1`..`u63`.
fn field_type(arg: &[u8]) -> Result<(bool, u32), Frame> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err(BAD_TYPE)),
    };
    match parse_i64(&arg[1..]) {
        Some(n) if n >= 1 && n <= if signed { 64 } else { 63 } => Ok((signed, n as u32)),
        _ => Err(err(BAD_TYPE)),
    }
}

fn get_field(p: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |v, i| (v << 1) | u64::from(get_bit(p, offset + i)))
}

fn set_field(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let o = offset + i;
        let mask = 0x80u8 >> (o & 7);
        let byte = &mut p[(o >> 3) as usize];
        if value & (1 << (u64::from(bits) - 1 - i)) != 0 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// What an overflow policy makes of a result that does not fit: the wrapped value, the limit
/// it saturates at, or nothing (FAIL).
fn overflowed<T>(ow: Overflow, wrapped: impl FnOnce() -> T, limit: T) -> Option<T> {
    match ow {
        Overflow::Wrap => Some(wrapped()),
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    }
}

/// `value + incr` stored in an unsigned field of `bits`: `Ok(v)` if it fits, else the value
/// the overflow policy makes of it (`Err(None)` for FAIL), as checkUnsignedBitfieldOverflow.
fn unsigned_add(value: u64, incr: i64, bits: u32, ow: Overflow) -> Result<u64, Option<u64>> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX << bits);
    if value > max || (incr > 0 && incr > max_incr) {
        Err(overflowed(ow, wrap, max))
    } else if incr < 0 && incr < min_incr {
        Err(overflowed(ow, wrap, 0))
    } else {
        Ok(value.wrapping_add(incr as u64))
    }
}

/// The signed counterpart of [`unsigned_add`] (checkSignedBitfieldOverflow).
fn signed_add(value: i64, incr: i64, bits: u32, ow: Overflow) -> Result<i64, Option<i64>> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrap = || {
        let c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1 << (bits - 1)) != 0 {
                (c | mask) as i64
            } else {
                (c & !mask) as i64
            }
        } else {
            c as i64
        }
    };
    if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr)
    {
        Err(overflowed(ow, wrap, max))
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        Err(overflowed(ow, wrap, min))
    } else {
        Ok(value.wrapping_add(incr))
    }
}

/// Run one SET / INCRBY on `p`: the reply (nil when FAIL refused it) and whether it changed
/// the field.
fn write_field(p: &mut [u8], f: &Field) -> (Frame, bool) {
    let old = get_field(p, f.offset, f.bits);
    let (new, reply) = if f.signed {
        let old = sign_extend(old, f.bits);
        let (r, reply_new) = match f.op {
            FieldOp::IncrBy(by) => (signed_add(old, by, f.bits, f.overflow), true),
            FieldOp::Set(v) => (signed_add(v, 0, f.bits, f.overflow), false),
            FieldOp::Get => unreachable!(),
        };
        let new = match r {
            Ok(v) | Err(Some(v)) => v,
            Err(None) => return (Frame::Null, false),
        };
        (new as u64, if reply_new { new } else { old })
    } else {
        let (r, reply_new) = match f.op {
            FieldOp::IncrBy(by) => (unsigned_add(old, by, f.bits, f.overflow), true),
            FieldOp::Set(v) => (unsigned_add(v as u64, 0, f.bits, f.overflow), false),
            FieldOp::Get => unreachable!(),
        };
        let new = match r {
            Ok(v) | Err(Some(v)) => v,
            Err(None) => return (Frame::Null, false),
        };
        (new, (if reply_new { new } else { old }) as i64)
    };
    set_field(p, f.offset, f.bits, new);
    let changed = get_field(p, f.offset, f.bits) != old;
    (Frame::Integer(reply), changed)
}

fn read_field(p: Option<&[u8]>, f: &Field) -> Frame {
    let v = p.map_or(0, |p| get_field(p, f.offset, f.bits));
    Frame::Integer(if f.signed {
        sign_extend(v, f.bits)
    } else {
        v as i64
    })
}

/// # Format
/// `BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset
/// value | INCRBY encoding offset increment> [GET encoding offset | ...] ...]`
fn bitfield(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    bitfield_generic(ctx, a, false)
}

/// # Format
/// `BITFIELD_RO key [GET encoding offset [GET encoding offset ...]]`
fn bitfield_ro(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    bitfield_generic(ctx, a, true)
}

fn bitfield_generic(ctx: &mut Ctx<'_, '_>, a: &[Bytes], read_only: bool) -> Frame {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest: Option<u64> = None;
    let mut j = 2;
    while j < a.len() {
        let rest = a.len() - j - 1;
        let sub = &a[j];
        let writes = if eq_ic(sub, "get") && rest >= 2 {
            false
        } else if (eq_ic(sub, "set") || eq_ic(sub, "incrby")) && rest >= 3 {
            true
        } else if eq_ic(sub, "overflow") && rest >= 1 {
            overflow = if eq_ic(&a[j + 1], "wrap") {
                Overflow::Wrap
            } else if eq_ic(&a[j + 1], "sat") {
                Overflow::Sat
            } else if eq_ic(&a[j + 1], "fail") {
                Overflow::Fail
            } else {
                return err("ERR Invalid OVERFLOW type specified");
            };
            j += 2;
            continue;
        } else {
            return syntax();
        };
        let (signed, bits) = match field_type(&a[j + 1]) {
            Ok(t) => t,
            Err(e) => return e,
        };
        let offset = match bit_offset(ctx, &a[j + 2], Some(bits)) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let op = if writes {
            let last = offset + u64::from(bits) - 1;
            highest = Some(highest.map_or(last, |h| h.max(last)));
            let v = match arg_i64(&a[j + 3]) {
                Ok(v) => v,
                Err(e) => return e,
            };
            if eq_ic(sub, "set") {
                FieldOp::Set(v)
            } else {
                FieldOp::IncrBy(v)
            }
        } else {
            FieldOp::Get
        };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            overflow,
        });
        j += if writes { 4 } else { 3 };
    }
    let Some(highest) = highest else {
        // Only GETs: a read, of zeros where the key is missing.
        let get_all =
            |p: Option<&[u8]>| Frame::Array(fields.iter().map(|f| read_field(p, f)).collect());
        return match with_str(ctx, &a[1], |s| get_all(Some(s))) {
            Ok(r) => r.unwrap_or_else(|| get_all(None)),
            Err(e) => e,
        };
    };
    if read_only {
        return err("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let len = (highest >> 3) as usize + 1;
    let r = edit(ctx, &a[1], len, |p| {
        // (writes done, writes that changed their field)
        let (mut done, mut changed) = (false, false);
        let replies = fields
            .iter()
            .map(|f| match f.op {
                FieldOp::Get => read_field(Some(p), f),
                _ => {
                    let (reply, c) = write_field(p, f);
                    done |= !matches!(reply, Frame::Null);
                    changed |= c;
                    reply
                }
            })
            .collect();
        (Frame::Array(replies), done, changed)
    });
    match r {
        // As Redis counts changes: a write FAIL refused changes nothing, even on a key it
        // created.
        Ok(((reply, done, changed), dirty)) => {
            if changed || (dirty && done) {
                modified(ctx, &a[1]);
            }
            reply
        }
        Err(e) => e,
    }
}
