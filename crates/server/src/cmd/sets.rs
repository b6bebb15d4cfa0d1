//! Set commands: SADD, SMEMBERS, set algebra and friends.
//!
//! Replies and errors follow Redis 7.0's t_set.c. Sets small enough for Redis's intset
//! encoding (all members integers, at most 512) list members in ascending numeric order, as
//! Redis does; other sets list them in insertion order (Redis's order there is unspecified).

use crate::notify;
use bytes::Bytes;
use confab_protocol::Frame;

use super::coll::{self, parse_scan, scan_items, scan_reply, Changed};
use super::strings::own;
use super::{bulk, err, int, parse_i64, syntax, Ctx, Handler, Plan, NOT_INTEGER};
use crate::db::{Keyspace, SetValue, ShardSet, Value};

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("sadd", sadd, Plan::Keys),
    ("srem", srem, Plan::Keys),
    ("smembers", smembers, Plan::Keys),
    ("sismember", sismember, Plan::Keys),
    ("smismember", smismember, Plan::Keys),
    ("scard", scard, Plan::Keys),
    ("spop", spop, Plan::Keys),
    ("srandmember", srandmember, Plan::Keys),
    ("sinter", sinter, Plan::Keys),
    ("sintercard", sintercard, Plan::Custom(sintercard_plan)),
    ("sunion", sunion, Plan::Keys),
    ("sdiff", sdiff, Plan::Keys),
    ("sinterstore", sinterstore, Plan::Keys),
    ("sunionstore", sunionstore, Plan::Keys),
    ("sdiffstore", sdiffstore, Plan::Keys),
    ("smove", smove, Plan::Keys),
    ("sscan", sscan, Plan::Keys),
];

/// A copy of the set at `key` (empty if missing), or WRONGTYPE.
fn read_set(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<SetValue>, Frame> {
    let now = ctx.now;
    match coll::read(ctx.shard(key), key, now, "set")? {
        Some(Value::Set(s)) => Ok(Some((**s).clone())),
        _ => Ok(None),
    }
}

fn with_set<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(Option<&SetValue>) -> R,
) -> Result<R, Frame> {
    coll::with(ctx, key, f)
}

/// Write access to the set at `key` (see [`coll::with_mut`]).
fn with_set_mut<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    create: bool,
    event: &'static str,
    f: impl FnOnce(Option<&mut SetValue>, &mut Changed) -> R,
) -> Result<R, Frame> {
    coll::with_mut(ctx, key, create, event, f)
}

fn reply(r: Result<Frame, Frame>) -> Frame {
    r.unwrap_or_else(|e| e)
}

/// Members in the order Redis lists them (see the module doc).
pub(crate) fn ordered(s: &SetValue) -> Vec<Bytes> {
    let members: Vec<&Bytes> = s.iter().collect();
    let order = s
        .is_intset()
        .then(|| coll::intset_order(&members))
        .flatten();
    match order {
        Some(order) => order.into_iter().map(|i| members[i].clone()).collect(),
        None => members.into_iter().cloned().collect(),
    }
}

fn set_reply(s: &SetValue) -> Frame {
    Frame::Set(ordered(s).into_iter().map(bulk).collect())
}

/// # Format
/// `SADD key member [member ...]`
fn sadd(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let lim = ctx.shared.keyspace.encodings.limits();
    reply(with_set_mut(ctx, &a[1], true, "sadd", |s, changed| {
        let s = s.expect("created");
        let n = a[2..]
            .iter()
            .filter(|m| !s.contains(&m[..]) && s.insert(own(m), &lim))
            .count();
        changed.0 = n > 0;
        int(n as i64)
    }))
}

/// # Format
/// `SREM key member [member ...]`
fn srem(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_set_mut(ctx, &a[1], false, "srem", |s, changed| {
        let Some(s) = s else { return int(0) };
        let n = a[2..].iter().filter(|m| s.shift_remove(&m[..])).count();
        changed.0 = n > 0;
        int(n as i64)
    }))
}

/// # Format
/// `SMEMBERS key`
fn smembers(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_set(ctx, &a[1], |s| {
        s.map_or(Frame::Set(vec![]), set_reply)
    }))
}

/// # Format
/// `SISMEMBER key member`
fn sismember(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_set(ctx, &a[1], |s| {
        int(i64::from(s.is_some_and(|s| s.contains(&a[2][..]))))
    }))
}

/// # Format
/// `SMISMEMBER key member [member ...]`
fn smismember(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_set(ctx, &a[1], |s| {
        Frame::Array(
            a[2..]
                .iter()
                .map(|m| int(i64::from(s.is_some_and(|s| s.contains(&m[..])))))
                .collect(),
        )
    }))
}

/// # Format
/// `SCARD key`
fn scard(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_set(ctx, &a[1], |s| {
        int(s.map_or(0, |s| s.len() as i64))
    }))
}

/// # Format
/// `SPOP key [count]`
fn spop(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    if a.len() > 3 {
        return syntax();
    }
    let count = if a.len() == 3 {
        match parse_i64(&a[2]) {
            Some(n) if n >= 0 => Some(n),
            _ => return err("ERR value is out of range, must be positive"),
        }
    } else {
        None
    };
    reply(with_set_mut(ctx, &a[1], false, "spop", |s, changed| {
        let Some(s) = s else {
            return if count.is_some() {
                Frame::Set(vec![])
            } else {
                Frame::Null
            };
        };
        let n = count.unwrap_or(1);
        if count.is_some() && n >= s.len() as i64 {
            // The whole set goes, listed as SMEMBERS lists it.
            let all = ordered(s);
            s.clear();
            changed.0 = !all.is_empty();
            return Frame::Set(all.into_iter().map(bulk).collect());
        }
        let mut picks = coll::random_positions(s.len(), n);
        picks.sort_unstable_by(|x, y| y.cmp(x));
        let popped: Vec<Frame> = picks
            .into_iter()
            .filter_map(|i| s.swap_remove_index(i))
            .map(bulk)
            .collect();
        changed.0 = !popped.is_empty();
        match count {
            None => popped.into_iter().next().unwrap_or(Frame::Null),
            Some(_) => Frame::Set(popped),
        }
    }))
}

/// # Format
/// `SRANDMEMBER key [count]`
fn srandmember(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    if a.len() > 3 {
        return syntax();
    }
    let count = if a.len() == 3 {
        match parse_i64(&a[2]) {
            None => return err(NOT_INTEGER),
            Some(i64::MIN) => return err(super::OUT_OF_LONG_RANGE),
            Some(n) => Some(n),
        }
    } else {
        None
    };
    reply(with_set(ctx, &a[1], |s| {
        let Some(s) = s else {
            return if count.is_some() {
                Frame::Array(vec![])
            } else {
                Frame::Null
            };
        };
        match count {
            None => coll::random_positions(s.len(), 1)
                .first()
                .and_then(|&i| s.get_index(i))
                .map_or(Frame::Null, |m| bulk(m.clone())),
            Some(n) if n >= s.len() as i64 => {
                Frame::Array(ordered(s).into_iter().map(bulk).collect())
            }
            Some(n) => match coll::check_repeated_picks(n) {
                Err(e) => e,
                Ok(()) => Frame::Array(
                    coll::random_positions(s.len(), n)
                        .into_iter()
                        .filter_map(|i| s.get_index(i))
                        .map(|m| bulk(m.clone()))
                        .collect(),
                ),
            },
        }
    }))
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Combine the sets at `keys`; WRONGTYPE if any key holds another type.
fn combine(ctx: &mut Ctx<'_, '_>, keys: &[Bytes], op: Op) -> Result<SetValue, Frame> {
    let mut sets = Vec::with_capacity(keys.len());
    for k in keys {
        sets.push(read_set(ctx, k)?);
    }
    let mut iter = sets.into_iter();
    let first = iter.next().flatten().unwrap_or_default();
    let mut acc = first;
    for s in iter {
        match op {
            Op::Inter => match s {
                None => acc.clear(),
                Some(s) => acc.retain(|m| s.contains(m)),
            },
            Op::Union => {
                if let Some(s) = s {
                    acc.extend(s);
                }
            }
            Op::Diff => {
                if let Some(s) = s {
                    acc.retain(|m| !s.contains(m));
                }
            }
        }
    }
    // A new set, encoded by what it holds, not by the first source it was copied from.
    acc.reencode(&ctx.shared.keyspace.encodings.limits());
    Ok(acc)
}

/// # Format
/// `SINTER key [key ...]`
fn sinter(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(combine(ctx, &a[1..], Op::Inter).map(|s| set_reply(&s)))
}

/// # Format
/// `SUNION key [key ...]`
fn sunion(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(combine(ctx, &a[1..], Op::Union).map(|s| set_reply(&s)))
}

/// # Format
/// `SDIFF key [key ...]`
fn sdiff(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(combine(ctx, &a[1..], Op::Diff).map(|s| set_reply(&s)))
}

fn store(ctx: &mut Ctx<'_, '_>, a: &[Bytes], op: Op) -> Frame {
    let result = match combine(ctx, &a[2..], op) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let n = result.len() as i64;
    let event = match op {
        Op::Inter => "sinterstore",
        Op::Union => "sunionstore",
        Op::Diff => "sdiffstore",
    };
    let value = (!result.is_empty()).then(|| Value::Set(Box::new(result)));
    coll::store(ctx, &a[1], value, notify::SET, event);
    int(n)
}

/// # Format
/// `SINTERSTORE destination key [key ...]`
fn sinterstore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    store(ctx, a, Op::Inter)
}

/// # Format
/// `SUNIONSTORE destination key [key ...]`
fn sunionstore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    store(ctx, a, Op::Union)
}

/// # Format
/// `SDIFFSTORE destination key [key ...]`
fn sdiffstore(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    store(ctx, a, Op::Diff)
}

/// Keys of SINTERCARD: `numkeys key [key ...]`.
fn sintercard_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    super::numkeys_shards(ks, db, a, 1)
}

/// # Format
/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
fn sintercard(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let numkeys = match parse_i64(&a[1]) {
        Some(n) if n >= 1 => n as usize,
        _ => return err("ERR numkeys should be greater than 0"),
    };
    if numkeys > a.len() - 2 {
        return err("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < a.len() {
        if super::eq_ic(&a[j], "limit") && j + 1 < a.len() {
            match parse_i64(&a[j + 1]) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => return err("ERR LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return syntax();
        }
    }
    match combine(ctx, &a[2..2 + numkeys], Op::Inter) {
        Ok(s) => {
            let n = if limit > 0 {
                s.len().min(limit)
            } else {
                s.len()
            };
            int(n as i64)
        }
        Err(e) => e,
    }
}

/// # Format
/// `SMOVE source destination member`
fn smove(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    let (src, dst, member) = (&a[1], &a[2], &a[3]);
    let src_kind = coll::kind(ctx.shard(src), src, now);
    if src_kind.is_none() {
        return int(0);
    }
    let dst_kind = coll::kind(ctx.shard(dst), dst, now);
    if src_kind != Some("set") || dst_kind.is_some_and(|k| k != "set") {
        return super::wrongtype();
    }
    if src == dst {
        return reply(with_set(ctx, src, |s| {
            int(i64::from(s.is_some_and(|s| s.contains(&member[..]))))
        }));
    }
    let removed = match with_set_mut(ctx, src, false, "srem", |s, changed| {
        changed.0 = s.is_some_and(|s| s.shift_remove(&member[..]));
        changed.0
    }) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if !removed {
        return int(0);
    }
    // The destination's watchers only see a member it did not have (as in Redis).
    let lim = ctx.shared.keyspace.encodings.limits();
    match with_set_mut(ctx, dst, true, "sadd", |s, changed| {
        if let Some(s) = s {
            changed.0 = s.insert(own(member), &lim);
        }
    }) {
        Ok(()) => int(1),
        Err(e) => e,
    }
}

/// # Format
/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
fn sscan(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let o = match parse_scan(a) {
        Ok(o) => o,
        Err(e) => return e,
    };
    reply(with_set(ctx, &a[1], |s| {
        let Some(s) = s else {
            return scan_reply(0, vec![]);
        };
        let members = ordered(s);
        let (next, items) = scan_items(members.iter().map(|m| (m, None)), members.len(), &o);
        scan_reply(next, items)
    }))
}
