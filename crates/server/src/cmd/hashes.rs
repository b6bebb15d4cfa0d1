//! Hash commands: HSET, HGET, HGETALL and friends.
//!
//! Replies and errors follow Redis 7.0's t_hash.c. Fields keep insertion order, so small
//! hashes list fields exactly as Redis's listpack encoding does.

use bytes::Bytes;
use confab_protocol::{Frame, Protocol};

use super::coll::{self, parse_scan, scan_items, scan_reply, Changed};
use super::strings::{own, LongDouble};
use super::{
    arity_error, bulk, eq_ic, err, int, ok, parse_i64, syntax, Ctx, Handler, Plan, NOT_INTEGER,
};
use crate::db::HashValue;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("hset", hset, Plan::Keys),
    ("hmset", hset, Plan::Keys),
    ("hsetnx", hsetnx, Plan::Keys),
    ("hget", hget, Plan::Keys),
    ("hmget", hmget, Plan::Keys),
    ("hgetall", hgetall, Plan::Keys),
    ("hdel", hdel, Plan::Keys),
    ("hexists", hexists, Plan::Keys),
    ("hlen", hlen, Plan::Keys),
    ("hkeys", hkeys, Plan::Keys),
    ("hvals", hvals, Plan::Keys),
    ("hincrby", hincrby, Plan::Keys),
    ("hincrbyfloat", hincrbyfloat, Plan::Keys),
    ("hstrlen", hstrlen, Plan::Keys),
    ("hrandfield", hrandfield, Plan::Keys),
    ("hscan", hscan, Plan::Keys),
];

/// Read access to the hash at `key`.
fn with_hash<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(Option<&HashValue>) -> R,
) -> Result<R, Frame> {
    coll::with(ctx, key, f)
}

/// Write access to the hash at `key` (see [`coll::with_mut`]).
fn with_hash_mut<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    create: bool,
    event: &'static str,
    f: impl FnOnce(Option<&mut HashValue>, &mut Changed) -> R,
) -> Result<R, Frame> {
    coll::with_mut(ctx, key, create, event, f)
}

fn reply<T: Into<Frame>>(r: Result<T, Frame>) -> Frame {
    match r {
        Ok(f) => f.into(),
        Err(e) => e,
    }
}

/// # Format
/// `HSET key field value [field value ...]` / `HMSET key field value [field value ...]`
fn hset(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let is_hmset = a[0].len() == 5;
    if a.len() % 2 == 1 {
        return arity_error(if is_hmset { "hmset" } else { "hset" });
    }
    let lim = ctx.shared.keyspace.encodings.limits();
    let r = with_hash_mut(ctx, &a[1], true, "hset", |h, changed| {
        let h = h.expect("created");
        changed.0 = true;
        let mut created = 0;
        for pair in a[2..].chunks_exact(2) {
            if h.set(&pair[0], own(&pair[1]), &lim) {
                created += 1;
            }
        }
        created
    });
    match r {
        Ok(_) if is_hmset => ok(),
        Ok(n) => int(n),
        Err(e) => e,
    }
}

/// # Format
/// `HSETNX key field value`
fn hsetnx(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let lim = ctx.shared.keyspace.encodings.limits();
    reply(with_hash_mut(ctx, &a[1], true, "hset", |h, changed| {
        let h = h.expect("created");
        if h.contains_key(&a[2][..]) {
            int(0)
        } else {
            h.insert(own(&a[2]), own(&a[3]), &lim);
            changed.0 = true;
            int(1)
        }
    }))
}

/// # Format
/// `HGET key field`
fn hget(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_hash(ctx, &a[1], |h| {
        h.and_then(|h| h.get(&a[2][..]))
            .map_or(Frame::Null, |v| bulk(v.clone()))
    }))
}

/// # Format
/// `HMGET key field [field ...]`
fn hmget(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_hash(ctx, &a[1], |h| {
        Frame::Array(
            a[2..]
                .iter()
                .map(|f| {
                    h.and_then(|h| h.get(&f[..]))
                        .map_or(Frame::Null, |v| bulk(v.clone()))
                })
                .collect(),
        )
    }))
}

/// # Format
/// `HGETALL key`
fn hgetall(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_hash(ctx, &a[1], |h| {
        Frame::Map(
            h.into_iter()
                .flatten()
                .map(|(k, v)| (bulk(k.clone()), bulk(v.clone())))
                .collect(),
        )
    }))
}

/// # Format
/// `HDEL key field [field ...]`
fn hdel(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_hash_mut(ctx, &a[1], false, "hdel", |h, changed| {
        let Some(h) = h else { return int(0) };
        let n = a[2..]
            .iter()
            .filter(|f| h.shift_remove(&f[..]).is_some())
            .count();
        changed.0 = n > 0;
        int(n as i64)
    }))
}

/// # Format
/// `HEXISTS key field`
fn hexists(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_hash(ctx, &a[1], |h| {
        int(i64::from(h.is_some_and(|h| h.contains_key(&a[2][..]))))
    }))
}

/// # Format
/// `HLEN key`
fn hlen(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_hash(ctx, &a[1], |h| {
        int(h.map_or(0, |h| h.len() as i64))
    }))
}

/// # Format
/// `HKEYS key`
fn hkeys(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_hash(ctx, &a[1], |h| {
        Frame::Array(
            h.into_iter()
                .flatten()
                .map(|(k, _)| bulk(k.clone()))
                .collect(),
        )
    }))
}

/// # Format
/// `HVALS key`
fn hvals(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_hash(ctx, &a[1], |h| {
        Frame::Array(
            h.into_iter()
                .flatten()
                .map(|(_, v)| bulk(v.clone()))
                .collect(),
        )
    }))
}

/// # Format
/// `HINCRBY key field increment`
fn hincrby(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let Some(by) = parse_i64(&a[3]) else {
        return err(NOT_INTEGER);
    };
    let lim = ctx.shared.keyspace.encodings.limits();
    reply(with_hash_mut(ctx, &a[1], true, "hincrby", |h, changed| {
        let h = h.expect("created");
        let cur = match h.get(&a[2][..]) {
            None => 0,
            Some(v) => match parse_i64(v) {
                Some(n) => n,
                None => return err("ERR hash value is not an integer"),
            },
        };
        let Some(new) = cur.checked_add(by) else {
            return err("ERR increment or decrement would overflow");
        };
        let text = Bytes::copy_from_slice(itoa::Buffer::new().format(new).as_bytes());
        changed.0 = true;
        h.set(&a[2], text, &lim);
        int(new)
    }))
}

/// # Format
/// `HINCRBYFLOAT key field increment`
fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let by = match LongDouble::parse(&a[3]) {
        Some(v) if !v.is_infinite() => v,
        Some(_) => return err("ERR value is NaN or Infinity"),
        None => return err(super::NOT_FLOAT),
    };
    let lim = ctx.shared.keyspace.encodings.limits();
    reply(with_hash_mut(
        ctx,
        &a[1],
        true,
        "hincrbyfloat",
        |h, changed| {
            let h = h.expect("created");
            let cur = match h.get(&a[2][..]) {
                None => LongDouble::ZERO,
                Some(v) => match LongDouble::parse(v) {
                    Some(n) => n,
                    None => return err("ERR hash value is not a float"),
                },
            };
            let Some(new) = cur.plus(by) else {
                return err("ERR increment would produce NaN or Infinity");
            };
            let text = Bytes::from(new.to_human());
            changed.0 = true;
            h.set(&a[2], text.clone(), &lim);
            bulk(text)
        },
    ))
}

/// # Format
/// `HSTRLEN key field`
fn hstrlen(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(with_hash(ctx, &a[1], |h| {
        int(h
            .and_then(|h| h.get(&a[2][..]))
            .map_or(0, |v| v.len() as i64))
    }))
}

/// # Format
/// `HRANDFIELD key [count [WITHVALUES]]`
fn hrandfield(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let proto = ctx.client.proto;
    if a.len() == 2 {
        return reply(with_hash(ctx, &a[1], |h| {
            let Some(h) = h.filter(|h| !h.is_empty()) else {
                return Frame::Null;
            };
            let i = coll::random_positions(h.len(), 1)[0];
            h.get_index(i).map_or(Frame::Null, |(k, _)| bulk(k.clone()))
        }));
    }
    let count = match parse_i64(&a[2]) {
        None => return err(NOT_INTEGER),
        Some(i64::MIN) => return err(super::OUT_OF_LONG_RANGE),
        Some(c) => c,
    };
    let withvalues = match a.len() {
        3 => false,
        4 if eq_ic(&a[3], "withvalues") => {
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
                return err("ERR value is out of range");
            }
            true
        }
        _ => return syntax(),
    };
    reply(with_hash(ctx, &a[1], |h| {
        let Some(h) = h else {
            return Frame::Array(vec![]);
        };
        if let Err(e) = coll::check_repeated_picks(count) {
            return e;
        }
        let mut out = Vec::new();
        for i in coll::random_positions(h.len(), count) {
            let Some((k, v)) = h.get_index(i) else {
                continue;
            };
            if !withvalues {
                out.push(bulk(k.clone()));
            } else if proto == Protocol::Resp3 {
                out.push(Frame::Array(vec![bulk(k.clone()), bulk(v.clone())]));
            } else {
                out.push(bulk(k.clone()));
                out.push(bulk(v.clone()));
            }
        }
        Frame::Array(out)
    }))
}

/// # Format
/// `HSCAN key cursor [MATCH pattern] [COUNT count]`
fn hscan(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let o = match parse_scan(a) {
        Ok(o) => o,
        Err(e) => return e,
    };
    reply(with_hash(ctx, &a[1], |h| {
        let Some(h) = h else {
            return scan_reply(0, vec![]);
        };
        let (next, items) = scan_items(h.iter().map(|(k, v)| (k, Some(v))), h.len(), &o);
        scan_reply(next, items)
    }))
}
