//! Sorted set commands: ZADD, ZRANGE in all its forms, ZPOP*, set algebra and friends.
//!
//! Replies and errors follow Redis 7.0's t_zset.c. Scores are doubles: RESP2 replies carry
//! them as bulk strings in C's `%.17g`, RESP3 as doubles, and where RESP2 lists
//! `member, score, member, score` RESP3 nests `[member, score]` pairs, as Redis does. The
//! blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) live in `cmd::blocking`.

use bytes::Bytes;
use confab_protocol::{Frame, Protocol};

use super::coll::{self, parse_scan, scan_items, scan_reply, Changed};
use super::{bulk, err, err_owned, int, parse_i64, syntax, Ctx, Handler, Plan, NOT_INTEGER};
use crate::db::zset::{self, ZSet};
use crate::db::{Keyspace, ShardSet, Value};
use crate::notify;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("zadd", zadd, Plan::Keys),
    ("zincrby", zincrby, Plan::Keys),
    ("zscore", zscore, Plan::Keys),
    ("zmscore", zmscore, Plan::Keys),
    ("zcard", zcard, Plan::Keys),
    ("zcount", zcount, Plan::Keys),
    ("zlexcount", zlexcount, Plan::Keys),
    ("zrank", zrank, Plan::Keys),
    ("zrevrank", zrevrank, Plan::Keys),
    ("zrem", zrem, Plan::Keys),
    ("zremrangebyrank", zremrangebyrank, Plan::Keys),
    ("zremrangebyscore", zremrangebyscore, Plan::Keys),
    ("zremrangebylex", zremrangebylex, Plan::Keys),
    ("zrange", zrange, Plan::Keys),
    ("zrangestore", zrangestore, Plan::Keys),
    ("zrevrange", zrevrange, Plan::Keys),
    ("zrangebyscore", zrangebyscore, Plan::Keys),
    ("zrevrangebyscore", zrevrangebyscore, Plan::Keys),
    ("zrangebylex", zrangebylex, Plan::Keys),
    ("zrevrangebylex", zrevrangebylex, Plan::Keys),
    ("zpopmin", zpopmin, Plan::Keys),
    ("zpopmax", zpopmax, Plan::Keys),
    ("zmpop", zmpop, Plan::Custom(zmpop_plan)),
    ("zunionstore", zunionstore, Plan::Custom(store_plan)),
    ("zinterstore", zinterstore, Plan::Custom(store_plan)),
    ("zdiffstore", zdiffstore, Plan::Custom(store_plan)),
    ("zunion", zunion, Plan::Custom(numkeys_plan)),
    ("zinter", zinter, Plan::Custom(numkeys_plan)),
    ("zdiff", zdiff, Plan::Custom(numkeys_plan)),
    ("zintercard", zintercard, Plan::Custom(numkeys_plan)),
    ("zrandmember", zrandmember, Plan::Keys),
    ("zscan", zscan, Plan::Keys),
];

const NOT_FLOAT: &str = "ERR value is not a valid float";
const RANGE_NOT_FLOAT: &str = "ERR min or max is not a float";
const RANGE_NOT_LEX: &str = "ERR min or max not valid string range item";
const NAN_RESULT: &str = "ERR resulting score is not a number (NaN)";

fn reply(r: Result<Frame, Frame>) -> Frame {
    r.unwrap_or_else(|e| e)
}

// ---- Parsing --------------------------------------------------------------------------------

/// C's `strtod` over the whole argument: the value and whether it over- or underflowed
/// (`ERANGE`). `None` if any byte is left over. Leading white space is skipped, as strtod
/// does; callers that refuse it check first.
fn strtod(b: &[u8]) -> Option<(f64, bool)> {
    let start = b
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))?;
    let s = std::str::from_utf8(&b[start..]).ok()?;
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some((
            if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            },
            false,
        ));
    }
    if lower == "nan" {
        return Some((f64::NAN, false));
    }
    let v = if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        // Rust's grammar for the rest is strtod's decimal one: digits with an optional point
        // and exponent, at least one digit in the mantissa.
        if !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    let mantissa_nonzero = body
        .bytes()
        .take_while(|c| !matches!(c, b'e' | b'E' | b'p' | b'P'))
        .any(|c| {
            matches!(c, b'1'..=b'9')
                || (lower.starts_with("0x") && c.is_ascii_hexdigit() && c != b'0')
        });
    let erange = v.is_infinite() || (v == 0.0 && mantissa_nonzero);
    Some((if neg { -v } else { v }, erange))
}

/// The digits after `0x` of a C hex float: `h[.h][p[+-]d]`.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = match s.find('p') {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// Redis's `getDoubleFromObject`: no leading space, nothing left over, no overflow or
/// underflow to zero, not NaN.
pub(crate) fn parse_score(b: &[u8]) -> Option<f64> {
    if b.first()
        .is_none_or(|c| c.is_ascii_whitespace() || *c == 0x0b)
    {
        return None;
    }
    match strtod(b)? {
        (v, false) if !v.is_nan() => Some(v),
        (v, true) if v != 0.0 && v.is_finite() => Some(v),
        _ => None,
    }
}

/// One end of a score range: `1.5`, `(1.5`, `-inf`, `+inf`.
#[derive(Clone, Copy)]
struct ScoreBound {
    value: f64,
    exclusive: bool,
}

/// Redis's `zslParseRange` (strtod, so leading space is fine; NaN is not).
fn parse_score_bound(b: &[u8]) -> Option<ScoreBound> {
    // Redis hands the argument to strtod as a C string: it ends at a NUL, and an empty one
    // is 0 ("(" is "above 0").
    let b = &b[..memchr::memchr(0, b).unwrap_or(b.len())];
    let (exclusive, rest) = match b.first() {
        Some(b'(') => (true, &b[1..]),
        _ => (false, b),
    };
    if rest.is_empty() {
        return Some(ScoreBound {
            value: 0.0,
            exclusive,
        });
    }
    let (value, _) = strtod(rest)?;
    (!value.is_nan()).then_some(ScoreBound { value, exclusive })
}

#[derive(Clone, Copy)]
struct ScoreRange {
    min: ScoreBound,
    max: ScoreBound,
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<Self, Frame> {
        match (parse_score_bound(min), parse_score_bound(max)) {
            (Some(min), Some(max)) => Ok(ScoreRange { min, max }),
            _ => Err(err(RANGE_NOT_FLOAT)),
        }
    }

    fn above_min(&self, s: f64) -> bool {
        if self.min.exclusive {
            s > self.min.value
        } else {
            s >= self.min.value
        }
    }

    fn past_max(&self, s: f64) -> bool {
        if self.max.exclusive {
            s >= self.max.value
        } else {
            s > self.max.value
        }
    }

    fn is_empty(&self) -> bool {
        self.min.value > self.max.value
            || (self.min.value == self.max.value && (self.min.exclusive || self.max.exclusive))
    }

    /// Ranks `[start, end)` of the entries in range.
    fn ranks(&self, z: &ZSet) -> (usize, usize) {
        if self.is_empty() {
            return (0, 0);
        }
        let start = z.count_before(|s, _| self.above_min(s));
        let end = z.count_before(|s, _| self.past_max(s)).max(start);
        (start, end)
    }
}

/// One end of a lex range: `-`, `+`, `[x`, `(x`.
#[derive(Clone)]
enum LexBound {
    Min,
    Max,
    Incl(Bytes),
    Excl(Bytes),
}

fn parse_lex_bound(b: &Bytes) -> Option<LexBound> {
    match b.first() {
        Some(b'+') if b.len() == 1 => Some(LexBound::Max),
        Some(b'-') if b.len() == 1 => Some(LexBound::Min),
        Some(b'[') => Some(LexBound::Incl(b.slice(1..))),
        Some(b'(') => Some(LexBound::Excl(b.slice(1..))),
        _ => None,
    }
}

#[derive(Clone)]
struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexRange {
    fn parse(min: &Bytes, max: &Bytes) -> Result<Self, Frame> {
        match (parse_lex_bound(min), parse_lex_bound(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(err(RANGE_NOT_LEX)),
        }
    }

    fn above_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Incl(x) => m >= &x[..],
            LexBound::Excl(x) => m > &x[..],
        }
    }

    fn past_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Incl(x) => m > &x[..],
            LexBound::Excl(x) => m >= &x[..],
        }
    }

    /// Ranks `[start, end)` of the entries in range, walking up from the lowest. Lex ranges
    /// assume equal scores; where they differ, a small set answers as Redis's listpack walk
    /// does (the first entry at or above min, then on while at or below max), a big one as
    /// a search over the order.
    fn ranks(&self, z: &ZSet) -> (usize, usize) {
        if z.is_small() {
            if !self.ends_overlap(z) {
                return (0, 0);
            }
            let Some(start) = z.iter().position(|(_, m)| self.above_min(m)) else {
                return (0, 0);
            };
            let n = z
                .iter_from(start)
                .take_while(|(_, m)| !self.past_max(m))
                .count();
            return (start, start + n);
        }
        let start = z.count_before(|_, m| self.above_min(m));
        let end = z.count_before(|_, m| self.past_max(m)).max(start);
        (start, end)
    }

    /// [`Self::ranks`] for a walk down from the highest (ZREVRANGEBYLEX): on a small set,
    /// the last entry at or below max, then down while at or above min.
    fn ranks_rev(&self, z: &ZSet) -> (usize, usize) {
        if !z.is_small() {
            return self.ranks(z);
        }
        if !self.ends_overlap(z) {
            return (0, 0);
        }
        let len = z.len();
        let Some(from_top) = z.iter().rev().position(|(_, m)| !self.past_max(m)) else {
            return (0, 0);
        };
        let hi = len - 1 - from_top;
        let n = z
            .iter_down_from(hi)
            .take_while(|(_, m)| self.above_min(m))
            .count();
        (hi + 1 - n, hi + 1)
    }

    /// Redis's `zzlIsInLexRange`: the highest entry reaches min and the lowest max.
    fn ends_overlap(&self, z: &ZSet) -> bool {
        let (Some(lo), Some(hi)) = (z.iter().next(), z.iter().next_back()) else {
            return false;
        };
        self.above_min(&hi.1) && !self.past_max(&lo.1)
    }
}

// ---- Access ---------------------------------------------------------------------------------

fn with_zset<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(Option<&ZSet>) -> R,
) -> Result<R, Frame> {
    coll::with(ctx, key, f)
}

/// Write access to the zset at `key` (see [`coll::with_mut`]).
fn with_zset_mut<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    create: bool,
    event: &'static str,
    f: impl FnOnce(Option<&mut ZSet>, &mut Changed) -> R,
) -> Result<R, Frame> {
    coll::with_mut(ctx, key, create, event, f)
}

// ---- Replies --------------------------------------------------------------------------------

/// Members, with their scores if `withscores`: flat in RESP2, `[member, score]` pairs in
/// RESP3.
fn items_reply(
    proto: Protocol,
    items: impl Iterator<Item = (Bytes, f64)>,
    withscores: bool,
) -> Frame {
    let mut out = Vec::new();
    for (m, s) in items {
        if !withscores {
            out.push(bulk(m));
        } else if proto == Protocol::Resp3 {
            out.push(Frame::Array(vec![bulk(m), Frame::Double(s)]));
        } else {
            out.push(bulk(m));
            out.push(Frame::Double(s));
        }
    }
    Frame::Array(out)
}

// ---- ZADD / ZINCRBY -------------------------------------------------------------------------

#[derive(Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// # Format
/// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]`
fn zadd(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        if super::eq_ic(o, "nx") {
            f.nx = true;
        } else if super::eq_ic(o, "xx") {
            f.xx = true;
        } else if super::eq_ic(o, "ch") {
            f.ch = true;
        } else if super::eq_ic(o, "incr") {
            f.incr = true;
        } else if super::eq_ic(o, "gt") {
            f.gt = true;
        } else if super::eq_ic(o, "lt") {
            f.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    add_generic(ctx, a, i, f)
}

/// # Format
/// `ZINCRBY key increment member`
fn zincrby(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    add_generic(
        ctx,
        a,
        2,
        AddFlags {
            incr: true,
            ..AddFlags::default()
        },
    )
}

fn add_generic(ctx: &mut Ctx<'_, '_>, a: &[Bytes], first: usize, f: AddFlags) -> Frame {
    let elements = a.len() - first;
    if elements % 2 == 1 || elements == 0 {
        return syntax();
    }
    if f.nx && f.xx {
        return err("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return err("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && elements > 2 {
        return err("ERR INCR option supports a single increment-element pair");
    }
    let mut pairs = Vec::with_capacity(elements / 2);
    for p in a[first..].chunks_exact(2) {
        match parse_score(&p[0]) {
            Some(s) => pairs.push((s, &p[1])),
            None => return err(NOT_FLOAT),
        }
    }
    let key = &a[1];
    let event = if f.incr { "zincr" } else { "zadd" };
    // XX on a missing key adds nothing and creates nothing.
    let create = !f.xx;
    let lim = ctx.shared.keyspace.encodings.limits();
    let r = with_zset_mut(ctx, key, create, event, |z, changed| {
        let Some(z) = z else {
            return Ok(if f.incr { Frame::Null } else { int(0) });
        };
        let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
        let mut last = 0.0;
        for (score, member) in pairs {
            let mut score = score;
            match z.score(member) {
                Some(cur) => {
                    if f.nx {
                        continue;
                    }
                    if f.incr {
                        score += cur;
                        if score.is_nan() {
                            changed.0 = added + updated > 0;
                            return Err(err(NAN_RESULT));
                        }
                    }
                    if (f.lt && score >= cur) || (f.gt && score <= cur) {
                        continue;
                    }
                    processed += 1;
                    last = score;
                    if score != cur {
                        z.insert(member, score, &lim);
                        updated += 1;
                    }
                }
                None => {
                    if f.xx {
                        continue;
                    }
                    z.insert(member, score, &lim);
                    added += 1;
                    processed += 1;
                    last = score;
                }
            }
        }
        changed.0 = added + updated > 0;
        Ok(if f.incr {
            if processed > 0 {
                Frame::Double(last)
            } else {
                Frame::Null
            }
        } else {
            int(if f.ch { added + updated } else { added })
        })
    });
    match r {
        Ok(Ok(f)) | Ok(Err(f)) | Err(f) => {
            if !matches!(f, Frame::Error(_) | Frame::Null) {
                // A zset may have appeared where BZPOPMIN & co wait.
                ctx.signal_key_ready(key);
            }
            f
        }
    }
}

// ---- Reads ----------------------------------------------------------------------------------

/// # Format
/// `ZSCORE key member`
fn zscore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_zset(ctx, &a[1], |z| {
        z.and_then(|z| z.score(&a[2]))
            .map_or(Frame::Null, Frame::Double)
    }))
}

/// # Format
/// `ZMSCORE key member [member ...]`
fn zmscore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_zset(ctx, &a[1], |z| {
        Frame::Array(
            a[2..]
                .iter()
                .map(|m| {
                    z.and_then(|z| z.score(m))
                        .map_or(Frame::Null, Frame::Double)
                })
                .collect(),
        )
    }))
}

/// # Format
/// `ZCARD key`
fn zcard(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_zset(ctx, &a[1], |z| {
        int(z.map_or(0, |z| z.len() as i64))
    }))
}

/// # Format
/// `ZCOUNT key min max`
fn zcount(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let range = match ScoreRange::parse(&a[2], &a[3]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    reply(with_zset(ctx, &a[1], |z| {
        int(z.map_or(0, |z| {
            let (s, e) = range.ranks(z);
            (e - s) as i64
        }))
    }))
}

/// # Format
/// `ZLEXCOUNT key min max`
fn zlexcount(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let range = match LexRange::parse(&a[2], &a[3]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    reply(with_zset(ctx, &a[1], |z| {
        int(z.map_or(0, |z| {
            let (s, e) = range.ranks(z);
            (e - s) as i64
        }))
    }))
}

fn rank_generic(ctx: &mut Ctx<'_, '_>, a: &[Bytes], rev: bool) -> Frame {
    reply(with_zset(ctx, &a[1], |z| {
        let Some(z) = z else { return Frame::Null };
        match z.rank(&a[2]) {
            Some(r) if rev => int((z.len() - 1 - r) as i64),
            Some(r) => int(r as i64),
            None => Frame::Null,
        }
    }))
}

/// # Format
/// `ZRANK key member`
fn zrank(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    rank_generic(ctx, a, false)
}

/// # Format
/// `ZREVRANK key member`
fn zrevrank(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    rank_generic(ctx, a, true)
}

// ---- ZRANGE and its ancestors ---------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum RangeBy {
    Rank,
    Score,
    Lex,
}

/// A parsed ZRANGE-family request.
struct RangeSpec {
    by: RangeBy,
    rev: bool,
    withscores: bool,
    /// `LIMIT offset count` (count < 0: no limit).
    limit: Option<(i64, i64)>,
    start: i64,
    end: i64,
    score: Option<ScoreRange>,
    lex: Option<LexRange>,
}

/// Parse `min max [options]` starting at `a[at]` (the key is `a[at - 1]`). `by`/`rev` are
/// fixed by the old commands; ZRANGE and ZRANGESTORE (`None`) take them from the options.
fn parse_range(
    a: &[Bytes],
    at: usize,
    by: Option<RangeBy>,
    rev: Option<bool>,
    store: bool,
) -> Result<RangeSpec, Frame> {
    let mut spec = RangeSpec {
        by: by.unwrap_or(RangeBy::Rank),
        rev: rev.unwrap_or(false),
        withscores: false,
        limit: None,
        start: 0,
        end: 0,
        score: None,
        lex: None,
    };
    // Redis takes REV and BYSCORE/BYLEX once: a second one is a syntax error.
    let (mut rev_given, mut by_given) = (false, false);
    let mut j = at + 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        let o = &a[j];
        if !store && super::eq_ic(o, "withscores") {
            spec.withscores = true;
        } else if super::eq_ic(o, "limit") && left >= 2 {
            let (Some(off), Some(cnt)) = (parse_i64(&a[j + 1]), parse_i64(&a[j + 2])) else {
                return Err(err(NOT_INTEGER));
            };
            spec.limit = Some((off, cnt));
            j += 2;
        } else if rev.is_none() && !rev_given && super::eq_ic(o, "rev") {
            spec.rev = true;
            rev_given = true;
        } else if by.is_none() && !by_given && super::eq_ic(o, "bylex") {
            spec.by = RangeBy::Lex;
            by_given = true;
        } else if by.is_none() && !by_given && super::eq_ic(o, "byscore") {
            spec.by = RangeBy::Score;
            by_given = true;
        } else {
            return Err(syntax());
        }
        j += 1;
    }
    // (Redis tells "no LIMIT" by a count of -1, so `LIMIT x -1` passes here.)
    if spec.limit.is_some_and(|(_, count)| count != -1) && spec.by == RangeBy::Rank {
        return Err(err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if spec.withscores && spec.by == RangeBy::Lex {
        return Err(err(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (lo, hi) = if spec.rev && spec.by != RangeBy::Rank {
        (&a[at + 1], &a[at])
    } else {
        (&a[at], &a[at + 1])
    };
    match spec.by {
        RangeBy::Rank => {
            let (Some(s), Some(e)) = (parse_i64(lo), parse_i64(hi)) else {
                return Err(err(NOT_INTEGER));
            };
            spec.start = s;
            spec.end = e;
        }
        RangeBy::Score => spec.score = Some(ScoreRange::parse(lo, hi)?),
        RangeBy::Lex => spec.lex = Some(LexRange::parse(lo, hi)?),
    }
    Ok(spec)
}

/// The entries a range selects, in reply order.
fn select(z: &ZSet, spec: &RangeSpec) -> Vec<(Bytes, f64)> {
    let len = z.len() as i64;
    let take = |it: &mut dyn Iterator<Item = &zset::Item>, n: usize| -> Vec<(Bytes, f64)> {
        it.take(n).map(|(s, m)| (m.to_reply(), *s)).collect()
    };
    match spec.by {
        RangeBy::Rank => {
            let (mut s, mut e) = (spec.start, spec.end);
            if s < 0 {
                s += len;
            }
            if e < 0 {
                e += len;
            }
            s = s.max(0);
            if s > e || s >= len {
                return Vec::new();
            }
            e = e.min(len - 1);
            let n = (e - s + 1) as usize;
            if spec.rev {
                take(&mut z.iter_down_from((len - 1 - s) as usize), n)
            } else {
                take(&mut z.iter_from(s as usize), n)
            }
        }
        RangeBy::Score | RangeBy::Lex => {
            let (start, end) = match (spec.by, &spec.lex) {
                (RangeBy::Lex, Some(r)) if spec.rev => r.ranks_rev(z),
                (RangeBy::Lex, Some(r)) => r.ranks(z),
                _ => spec.score.as_ref().map_or((0, 0), |r| r.ranks(z)),
            };
            let (offset, count) = spec.limit.unwrap_or((0, -1));
            if offset < 0 || start >= end {
                return Vec::new();
            }
            let avail = (end - start).saturating_sub(offset as usize);
            let n = if count < 0 {
                avail
            } else {
                avail.min(count as usize)
            };
            if n == 0 {
                return Vec::new();
            }
            if spec.rev {
                take(&mut z.iter_down_from(end - 1 - offset as usize), n)
            } else {
                take(&mut z.iter_from(start + offset as usize), n)
            }
        }
    }
}

fn range_generic(
    ctx: &mut Ctx<'_, '_>,
    a: &[Bytes],
    by: Option<RangeBy>,
    rev: Option<bool>,
) -> Frame {
    let spec = match parse_range(a, 2, by, rev, false) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let proto = ctx.client.proto;
    reply(with_zset(ctx, &a[1], |z| {
        let Some(z) = z else {
            return Frame::Array(vec![]);
        };
        let got = select(z, &spec);
        items_reply(proto, got.into_iter(), spec.withscores)
    }))
}

/// # Format
/// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
fn zrange(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    range_generic(ctx, a, None, None)
}

/// # Format
/// `ZREVRANGE key start stop [WITHSCORES]`
fn zrevrange(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    range_generic(ctx, a, Some(RangeBy::Rank), Some(true))
}

/// # Format
/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
fn zrangebyscore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    range_generic(ctx, a, Some(RangeBy::Score), Some(false))
}

/// # Format
/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    range_generic(ctx, a, Some(RangeBy::Score), Some(true))
}

/// # Format
/// `ZRANGEBYLEX key min max [LIMIT offset count]`
fn zrangebylex(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    range_generic(ctx, a, Some(RangeBy::Lex), Some(false))
}

/// # Format
/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    range_generic(ctx, a, Some(RangeBy::Lex), Some(true))
}

/// Store `items` as the zset at `dst` (deleting `dst` when empty) and notify `event`;
/// replies with the stored size, as ZRANGESTORE / ZUNIONSTORE & co do.
fn store_result(ctx: &mut Ctx<'_, '_>, dst: &[u8], z: ZSet, event: &'static str) -> Frame {
    let n = z.len() as i64;
    let value = (!z.is_empty()).then(|| Value::ZSet(Box::new(z)));
    coll::store(ctx, dst, value, notify::ZSET, event);
    int(n)
}

/// # Format
/// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`
fn zrangestore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let spec = match parse_range(a, 3, None, None, true) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let got = match with_zset(ctx, &a[2], |z| z.map(|z| select(z, &spec))) {
        Ok(g) => g.unwrap_or_default(),
        Err(e) => return e,
    };
    let lim = ctx.shared.keyspace.encodings.limits();
    let out = ZSet::from_items(got.into_iter().map(|(m, s)| (s, m)).collect(), &lim);
    store_result(ctx, &a[1], out, "zrangestore")
}

// ---- Removal --------------------------------------------------------------------------------

/// # Format
/// `ZREM key member [member ...]`
fn zrem(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_zset_mut(ctx, &a[1], false, "zrem", |z, changed| {
        let Some(z) = z else { return int(0) };
        let n = a[2..].iter().filter(|m| z.remove(m).is_some()).count();
        changed.0 = n > 0;
        int(n as i64)
    }))
}

fn remrange(ctx: &mut Ctx<'_, '_>, a: &[Bytes], by: RangeBy) -> Frame {
    let (event, spec) = match by {
        RangeBy::Rank => {
            let (Some(s), Some(e)) = (parse_i64(&a[2]), parse_i64(&a[3])) else {
                return err(NOT_INTEGER);
            };
            ("zremrangebyrank", (s, e, None, None))
        }
        RangeBy::Score => match ScoreRange::parse(&a[2], &a[3]) {
            Ok(r) => ("zremrangebyscore", (0, 0, Some(r), None)),
            Err(e) => return e,
        },
        RangeBy::Lex => match LexRange::parse(&a[2], &a[3]) {
            Ok(r) => ("zremrangebylex", (0, 0, None, Some(r))),
            Err(e) => return e,
        },
    };
    reply(with_zset_mut(ctx, &a[1], false, event, |z, changed| {
        let Some(z) = z else { return int(0) };
        let len = z.len() as i64;
        let (start, end) = match by {
            RangeBy::Rank => {
                let (mut s, mut e) = (spec.0, spec.1);
                if s < 0 {
                    s += len;
                }
                if e < 0 {
                    e += len;
                }
                s = s.max(0);
                if s > e || s >= len {
                    return int(0);
                }
                e = e.min(len - 1);
                (s as usize, e as usize + 1)
            }
            RangeBy::Score => spec.2.as_ref().map_or((0, 0), |r| r.ranks(z)),
            RangeBy::Lex => spec.3.as_ref().map_or((0, 0), |r| r.ranks(z)),
        };
        let n = z.remove_range(start, end).len();
        changed.0 = n > 0;
        int(n as i64)
    }))
}

/// # Format
/// `ZREMRANGEBYRANK key start stop`
fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    remrange(ctx, a, RangeBy::Rank)
}

/// # Format
/// `ZREMRANGEBYSCORE key min max`
fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    remrange(ctx, a, RangeBy::Score)
}

/// # Format
/// `ZREMRANGEBYLEX key min max`
fn zremrangebylex(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    remrange(ctx, a, RangeBy::Lex)
}

// ---- Pops -----------------------------------------------------------------------------------

/// Members popped with their scores, in pop order.
pub(crate) type Popped = Vec<(Bytes, f64)>;

/// Pop up to `count` (at least 1) entries from the lowest (`max` false) or highest end of the
/// zset at `key` (the caller checked the type); `None` if the key is missing. Notifies
/// `zpopmin`/`zpopmax`, then `del` if the set went.
pub(crate) fn pop(ctx: &mut Ctx<'_, '_>, key: &[u8], max: bool, count: usize) -> Option<Popped> {
    let now = ctx.now;
    let (got, emptied) = crate::blocking::pop_zset(ctx.shard(key), key, now, max, count)?;
    ctx.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    if emptied {
        ctx.notify(notify::GENERIC, "del", key);
    }
    Some(got)
}

/// The reply of ZPOPMIN/ZPOPMAX: flat pairs, nested in RESP3 when a count was given.
fn pop_reply(got: &[(Bytes, f64)], nested: bool) -> Frame {
    let mut out = Vec::new();
    for (m, s) in got {
        if nested {
            out.push(Frame::Array(vec![bulk(m.clone()), Frame::Double(*s)]));
        } else {
            out.push(bulk(m.clone()));
            out.push(Frame::Double(*s));
        }
    }
    Frame::Array(out)
}

/// `[key, [[member, score], ...]]`: ZMPOP's and BZMPOP's reply.
pub(crate) fn mpop_reply(key: &Bytes, got: &[(Bytes, f64)]) -> Frame {
    Frame::Array(vec![
        bulk(key.clone()),
        Frame::Array(
            got.iter()
                .map(|(m, s)| Frame::Array(vec![bulk(m.clone()), Frame::Double(*s)]))
                .collect(),
        ),
    ])
}

fn zpop_generic(ctx: &mut Ctx<'_, '_>, a: &[Bytes], max: bool) -> Frame {
    if a.len() > 3 {
        return syntax();
    }
    let count = if a.len() == 3 {
        match parse_i64(&a[2]) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return err("ERR value is out of range, must be positive"),
        }
    } else {
        None
    };
    // Type check first: a count of 0 on a string key is still WRONGTYPE.
    match with_zset(ctx, &a[1], |z| z.is_some()) {
        Err(e) => return e,
        Ok(false) => return Frame::Array(vec![]),
        Ok(true) => {}
    }
    if count == Some(0) {
        return Frame::Array(vec![]);
    }
    let proto = ctx.client.proto;
    match pop(ctx, &a[1], max, count.unwrap_or(1)) {
        None => Frame::Array(vec![]),
        Some(got) => pop_reply(&got, proto == Protocol::Resp3 && count.is_some()),
    }
}

/// # Format
/// `ZPOPMIN key [count]`
fn zpopmin(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    zpop_generic(ctx, a, false)
}

/// # Format
/// `ZPOPMAX key [count]`
fn zpopmax(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    zpop_generic(ctx, a, true)
}

/// Keys of ZMPOP: `numkeys key [key ...]`.
fn zmpop_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    super::numkeys_shards(ks, db, a, 1)
}

/// ZMPOP's and BZMPOP's arguments after numkeys: `(keys, max, count)`.
pub(crate) fn parse_mpop(
    a: &[Bytes],
    numkeys_at: usize,
) -> Result<(Vec<Bytes>, bool, usize), Frame> {
    let numkeys = match parse_i64(&a[numkeys_at]) {
        Some(n) if n >= 1 => n as usize,
        _ => return Err(err("ERR numkeys should be greater than 0")),
    };
    let where_at = numkeys_at + 1 + numkeys;
    if numkeys >= a.len() || where_at >= a.len() {
        return Err(syntax());
    }
    let max = if super::eq_ic(&a[where_at], "min") {
        false
    } else if super::eq_ic(&a[where_at], "max") {
        true
    } else {
        return Err(syntax());
    };
    // `[COUNT count]`, parsed as LMPOP's.
    let count = super::lists::mpop_count(&a[where_at + 1..])?;
    Ok((a[numkeys_at + 1..where_at].to_vec(), max, count))
}

/// Pop from the first of `keys` that holds a zset (WRONGTYPE if the first existing key
/// holds something else): `Ok(None)` if none exists.
pub(crate) fn mpop_first(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    max: bool,
    count: usize,
) -> Result<Option<(Bytes, Popped)>, Frame> {
    let now = ctx.now;
    for k in keys {
        match coll::kind(ctx.shard(k), k, now) {
            None => continue,
            Some("zset") => {
                return Ok(pop(ctx, k, max, count).map(|got| (k.clone(), got)));
            }
            Some(_) => return Err(super::wrongtype()),
        }
    }
    Ok(None)
}

/// # Format
/// `ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]`
fn zmpop(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let (keys, max, count) = match parse_mpop(a, 1) {
        Ok(p) => p,
        Err(e) => return e,
    };
    match mpop_first(ctx, &keys, max, count) {
        Err(e) => e,
        Ok(None) => Frame::NullArray,
        Ok(Some((k, got))) => mpop_reply(&k, &got),
    }
}

// ---- Set algebra ----------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, v: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += v;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v;
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v;
            }
        }
    }
}

/// Keys of ZUNIONSTORE & co: the destination and `numkeys key [key ...]`.
fn store_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    let mut set = super::numkeys_shards(ks, db, a, 2);
    if a.len() > 1 {
        set.push(ks.shard_index(db, &a[1]));
    }
    set
}

/// Keys of ZUNION & co: `numkeys key [key ...]`.
fn numkeys_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    super::numkeys_shards(ks, db, a, 1)
}

/// An input of the algebra: a zset, or a set whose members score 1.
enum Source {
    Missing,
    Z(
        Vec<(Bytes, f64)>,
        std::collections::HashMap<Bytes, f64, ahash::RandomState>,
    ),
}

impl Source {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Z(v, _) => v.len(),
        }
    }

    fn get(&self, m: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Z(_, map) => map.get(m).copied(),
        }
    }
}

fn read_source(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Source, Frame> {
    let now = ctx.now;
    let shard = ctx.shard(key);
    let Some(entry) = shard.get(key, now) else {
        return Ok(Source::Missing);
    };
    let items: Vec<(Bytes, f64)> = match &entry.value {
        Value::ZSet(z) => z.iter().map(|(s, m)| (m.to_bytes(), *s)).collect(),
        Value::Set(s) => s.iter().map(|m| (m.clone(), 1.0)).collect(),
        _ => return Err(super::wrongtype()),
    };
    let map = items.iter().cloned().collect();
    Ok(Source::Z(items, map))
}

/// What ZUNION/ZINTER/ZDIFF (and their STORE and CARD forms) were asked.
struct Algebra {
    op: Op,
    sources: Vec<Source>,
    weights: Vec<f64>,
    how: Aggregate,
    withscores: bool,
    limit: usize,
}

/// Parse `numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
/// (or `[LIMIT n]` for ZINTERCARD) at `a[at]` and read the inputs.
fn parse_algebra(
    ctx: &mut Ctx<'_, '_>,
    a: &[Bytes],
    at: usize,
    op: Op,
    store: bool,
    card: bool,
    name: &str,
) -> Result<Algebra, Frame> {
    let Some(numkeys) = parse_i64(&a[at]) else {
        return Err(err(NOT_INTEGER));
    };
    if numkeys < 1 {
        return Err(err_owned(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let numkeys = numkeys as usize;
    if numkeys > a.len() - at - 1 {
        return Err(syntax());
    }
    let mut sources = Vec::with_capacity(numkeys);
    for k in &a[at + 1..at + 1 + numkeys] {
        sources.push(read_source(ctx, k)?);
    }
    let mut alg = Algebra {
        op,
        sources,
        weights: vec![1.0; numkeys],
        how: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let mut j = at + 1 + numkeys;
    while j < a.len() {
        let remaining = a.len() - j;
        if op != Op::Diff && !card && remaining > numkeys && super::eq_ic(&a[j], "weights") {
            for i in 0..numkeys {
                match parse_score(&a[j + 1 + i]) {
                    Some(w) => alg.weights[i] = w,
                    None => return Err(err("ERR weight value is not a float")),
                }
            }
            j += 1 + numkeys;
        } else if op != Op::Diff && !card && remaining >= 2 && super::eq_ic(&a[j], "aggregate") {
            let v = &a[j + 1];
            alg.how = if super::eq_ic(v, "sum") {
                Aggregate::Sum
            } else if super::eq_ic(v, "min") {
                Aggregate::Min
            } else if super::eq_ic(v, "max") {
                Aggregate::Max
            } else {
                return Err(syntax());
            };
            j += 2;
        } else if !store && !card && super::eq_ic(&a[j], "withscores") {
            alg.withscores = true;
            j += 1;
        } else if card && remaining >= 2 && super::eq_ic(&a[j], "limit") {
            match parse_i64(&a[j + 1]) {
                Some(n) if n >= 0 => alg.limit = n as usize,
                _ => return Err(err("ERR LIMIT can't be negative")),
            }
            j += 2;
        } else {
            return Err(syntax());
        }
    }
    Ok(alg)
}

/// Compute the result (or, for ZINTERCARD, just count it up to the limit).
/// The result in order (a reply keeps a -0 score, as Redis's skiplist result does; a stored
/// one goes through [`ZSet::insert`]).
fn compute(alg: &Algebra, card: bool) -> (Vec<(f64, Bytes)>, usize) {
    let mut out: Vec<(f64, Bytes)> = Vec::new();
    let mut order: Vec<usize> = (0..alg.sources.len()).collect();
    if alg.op != Op::Diff {
        // Smallest first, as Redis iterates.
        order.sort_by_key(|&i| alg.sources[i].len());
    }
    let weighted = |i: usize, s: f64| {
        let v = alg.weights[i] * s;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    match alg.op {
        Op::Inter => {
            let first = order[0];
            let mut count = 0;
            if let Source::Z(items, _) = &alg.sources[first] {
                'each: for (m, s) in items {
                    let mut score = weighted(first, *s);
                    for &j in &order[1..] {
                        match alg.sources[j].get(m) {
                            Some(v) => aggregate(&mut score, v * alg.weights[j], alg.how),
                            None => continue 'each,
                        }
                    }
                    count += 1;
                    if card {
                        if alg.limit > 0 && count >= alg.limit {
                            break;
                        }
                    } else {
                        out.push((score, m.clone()));
                    }
                }
            }
            out.sort_by(|a, b| zset::cmp(a.0, &a.1, b.0, &b.1));
            (out, count)
        }
        Op::Union => {
            let mut acc: indexmap::IndexMap<Bytes, f64, ahash::RandomState> = Default::default();
            for &i in &order {
                if let Source::Z(items, _) = &alg.sources[i] {
                    for (m, s) in items {
                        let v = weighted(i, *s);
                        match acc.get_mut(m) {
                            Some(t) => aggregate(t, v, alg.how),
                            None => {
                                acc.insert(m.clone(), v);
                            }
                        }
                    }
                }
            }
            out.extend(acc.into_iter().map(|(m, s)| (s, m)));
            out.sort_by(|a, b| zset::cmp(a.0, &a.1, b.0, &b.1));
            let n = out.len();
            (out, n)
        }
        Op::Diff => {
            if let Source::Z(items, _) = &alg.sources[0] {
                for (m, s) in items {
                    if alg.sources[1..].iter().all(|src| src.get(m).is_none()) {
                        out.push((*s, m.clone()));
                    }
                }
            }
            // (A set as the first input lists its members in set order.)
            out.sort_by(|a, b| zset::cmp(a.0, &a.1, b.0, &b.1));
            let n = out.len();
            (out, n)
        }
    }
}

fn algebra_store(ctx: &mut Ctx<'_, '_>, a: &[Bytes], op: Op, name: &str) -> Frame {
    let alg = match parse_algebra(ctx, a, 2, op, true, false, name) {
        Ok(alg) => alg,
        Err(e) => return e,
    };
    let (items, _) = compute(&alg, false);
    let out = ZSet::from_items(items, &ctx.shared.keyspace.encodings.limits());
    let event = match op {
        Op::Union => "zunionstore",
        Op::Inter => "zinterstore",
        Op::Diff => "zdiffstore",
    };
    store_result(ctx, &a[1], out, event)
}

fn algebra_reply(ctx: &mut Ctx<'_, '_>, a: &[Bytes], op: Op, name: &str) -> Frame {
    let alg = match parse_algebra(ctx, a, 1, op, false, false, name) {
        Ok(alg) => alg,
        Err(e) => return e,
    };
    let (out, _) = compute(&alg, false);
    items_reply(
        ctx.client.proto,
        out.into_iter().map(|(s, m)| (m, s)),
        alg.withscores,
    )
}

/// # Format
/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]`
fn zunionstore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    algebra_store(ctx, a, Op::Union, "zunionstore")
}

/// # Format
/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]`
fn zinterstore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    algebra_store(ctx, a, Op::Inter, "zinterstore")
}

/// # Format
/// `ZDIFFSTORE destination numkeys key [key ...]`
fn zdiffstore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    algebra_store(ctx, a, Op::Diff, "zdiffstore")
}

/// # Format
/// `ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
fn zunion(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    algebra_reply(ctx, a, Op::Union, "zunion")
}

/// # Format
/// `ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
fn zinter(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    algebra_reply(ctx, a, Op::Inter, "zinter")
}

/// # Format
/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
fn zdiff(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    algebra_reply(ctx, a, Op::Diff, "zdiff")
}

/// # Format
/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`
fn zintercard(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let alg = match parse_algebra(ctx, a, 1, Op::Inter, false, true, "zintercard") {
        Ok(alg) => alg,
        Err(e) => return e,
    };
    int(compute(&alg, true).1 as i64)
}

// ---- Random picks and scanning --------------------------------------------------------------

/// # Format
/// `ZRANDMEMBER key [count [WITHSCORES]]`
fn zrandmember(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let proto = ctx.client.proto;
    if a.len() == 2 {
        return reply(with_zset(ctx, &a[1], |z| {
            let Some(z) = z.filter(|z| !z.is_empty()) else {
                return Frame::Null;
            };
            let i = coll::random_positions(z.len(), -1)[0];
            z.iter_from(i)
                .next()
                .map_or(Frame::Null, |(_, m)| bulk(m.to_reply()))
        }));
    }
    let count = match parse_i64(&a[2]) {
        Some(i64::MIN) => return err(super::OUT_OF_LONG_RANGE),
        Some(n) => n,
        None => return err(NOT_INTEGER),
    };
    let withscores = match a.len() {
        3 => false,
        4 if super::eq_ic(&a[3], "withscores") => {
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
                return err("ERR value is out of range");
            }
            true
        }
        _ => return syntax(),
    };
    reply(with_zset(ctx, &a[1], |z| {
        let Some(z) = z else {
            return Frame::Array(vec![]);
        };
        if let Err(e) = coll::check_repeated_picks(count) {
            return e;
        }
        let all: Vec<&zset::Item> = z.iter().collect();
        let picks = coll::random_positions(all.len(), count);
        items_reply(
            proto,
            picks.into_iter().map(|i| (all[i].1.to_reply(), all[i].0)),
            withscores,
        )
    }))
}

/// # Format
/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`
fn zscan(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let o = match parse_scan(a) {
        Ok(o) => o,
        Err(e) => return e,
    };
    reply(with_zset(ctx, &a[1], |z| {
        let Some(z) = z else {
            return scan_reply(0, vec![]);
        };
        // Scores as ZSCAN shows them: the `%.17g` text.
        let items: Vec<(Bytes, Bytes)> = z
            .iter()
            .map(|(s, m)| {
                (
                    m.to_bytes(),
                    Bytes::from(confab_protocol::format_double(*s)),
                )
            })
            .collect();
        let (next, out) = scan_items(items.iter().map(|(m, s)| (m, Some(s))), items.len(), &o);
        scan_reply(next, out)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_as_redis_does() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"1e5"), Some(1e5));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"5."), Some(5.0));
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b"1 "), None);
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"abc"), None);
        assert_eq!(parse_score(b""), None);
        assert!(parse_score_bound(b" 1").is_some());
        assert!(parse_score_bound(b"(1").unwrap().exclusive);
        assert!(parse_score_bound(b"(nan").is_none());
    }
}
