//! Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP for lists, BZPOPMIN, BZPOPMAX,
//! BZMPOP for sorted sets.
//!
//! Each first tries to serve itself like its non-blocking twin. Otherwise (outside a
//! transaction, where blocking commands never block) it registers a waiter while its shard
//! locks are held and hands the connection a [`Blocked`] to wait on; see [`crate::blocking`].

use std::time::Duration;

use bytes::Bytes;
use confab_protocol::Frame;
use tokio::sync::oneshot;

use super::lists::End;
use super::{err, parse_i64, syntax, Ctx, Handler, Plan};
use crate::blocking::{self, BlockOp, Waiter};
use crate::db::{Keyspace, ShardSet};

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("blpop", blpop, Plan::Keys),
    ("brpop", brpop, Plan::Keys),
    ("blmove", blmove, Plan::Keys),
    ("brpoplpush", brpoplpush, Plan::Keys),
    ("blmpop", blmpop, Plan::Custom(blmpop_plan)),
    ("bzpopmin", bzpopmin, Plan::Keys),
    ("bzpopmax", bzpopmax, Plan::Keys),
    ("bzmpop", bzmpop, Plan::Custom(blmpop_plan)),
    ("wait", wait, Plan::None),
];

/// A registered wait; the connection sees it through (see [`block`]).
pub(crate) struct Blocked {
    pub waiter: std::sync::Arc<Waiter>,
    pub rx: oneshot::Receiver<Frame>,
    /// `None` = wait forever.
    pub timeout: Option<Duration>,
    /// What a timeout replies.
    pub timeout_reply: Frame,
}

/// Redis's `getTimeoutFromObjectOrReply` in seconds: parsed as a long double, then
/// `(long long) ceill(t * 1000)`; anything outside the `long long` range becomes negative on
/// x86-64, as it does in Redis. 0 = forever.
fn parse_timeout(b: &[u8]) -> Result<Option<Duration>, Frame> {
    let Some(secs) = super::strings::LongDouble::parse(b) else {
        return Err(err("ERR timeout is not a float or out of range"));
    };
    let mut ms = (secs.to_f64() * 1000.0).ceil();
    if !(0.0..9.2e18).contains(&ms) {
        return Err(err("ERR timeout is negative"));
    }
    if secs.is_positive() {
        // Redis rounds up in long double: any positive timeout waits at least 1 ms, even
        // one too small for an f64 (1e-400).
        ms = ms.max(1.0);
    }
    Ok((ms > 0.0).then(|| Duration::from_millis(ms as u64)))
}

/// Kind check of every key first (WRONGTYPE wins), then the first non-empty list serves.
fn try_pop(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    left: bool,
    count: usize,
) -> Result<Option<(Bytes, Vec<Bytes>)>, Frame> {
    let now = ctx.now;
    for k in keys {
        match super::coll::kind(ctx.shard(k), k, now) {
            Some("list") => {
                if let Some((elems, emptied)) =
                    blocking::pop_list(ctx.shard(k), k, now, left, count)
                {
                    super::lists::notify_pop(ctx, k, End::from_left(left), emptied);
                    return Ok(Some((k.clone(), elems)));
                }
            }
            Some(_) => return Err(super::wrongtype()),
            None => {}
        }
    }
    Ok(None)
}

/// Block on `keys`, or reply `timeout_reply` at once inside a transaction.
pub(crate) fn block(
    ctx: &mut Ctx<'_, '_>,
    keys: Vec<Bytes>,
    op: BlockOp,
    timeout: Option<Duration>,
    timeout_reply: Frame,
) -> Frame {
    if ctx.in_exec {
        // Inside a transaction it answers as its non-blocking twin would: LMOVE's null bulk
        // for the moves, a null array for the pops.
        return match op {
            BlockOp::Move { .. } => Frame::Null,
            _ => timeout_reply,
        };
    }
    let keys: Vec<Bytes> = keys.iter().map(|k| Bytes::copy_from_slice(k)).collect();
    let (waiter, rx) = Waiter::new(ctx.client.handle.id, ctx.client.db, keys, op);
    ctx.shared.blocking.register(&waiter);
    ctx.client.block = Some(Blocked {
        waiter,
        rx,
        timeout,
        timeout_reply,
    });
    Frame::Null
}

/// # Format
/// `WAIT numreplicas timeout`: confab has no replicas, so none ever acknowledges. As on a
/// Redis primary without replicas: 0 at once when no acknowledgement is asked for (or inside
/// MULTI), else the client waits out `timeout` milliseconds (0: for ever, until CLIENT
/// UNBLOCK) and gets 0.
fn wait(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let timeout = match super::parse_i64(&a[2]) {
        None => return err("ERR timeout is not an integer or out of range"),
        Some(ms) if ms < 0 => return err("ERR timeout is negative"),
        Some(ms) => (ms > 0).then(|| Duration::from_millis(ms as u64)),
    };
    let Some(wanted) = super::parse_i64(&a[1]) else {
        return err(super::NOT_INTEGER);
    };
    if wanted <= 0 || ctx.in_exec {
        return Frame::Integer(0);
    }
    // A wait on no keys: nothing serves it; it ends by its timeout or CLIENT UNBLOCK.
    block(
        ctx,
        Vec::new(),
        BlockOp::Pop { left: true },
        timeout,
        Frame::Integer(0),
    )
}

fn bpop(ctx: &mut Ctx<'_, '_>, a: &[Bytes], left: bool) -> Frame {
    let timeout = match parse_timeout(&a[a.len() - 1]) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let keys = &a[1..a.len() - 1];
    match try_pop(ctx, keys, left, 1) {
        Err(e) => e,
        Ok(Some((key, elems))) => blocking::pop_reply(&BlockOp::Pop { left }, &key, elems),
        Ok(None) => block(
            ctx,
            keys.to_vec(),
            BlockOp::Pop { left },
            timeout,
            Frame::NullArray,
        ),
    }
}

/// # Format
/// `BLPOP key [key ...] timeout`
fn blpop(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    bpop(ctx, a, true)
}

/// # Format
/// `BRPOP key [key ...] timeout`
fn brpop(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    bpop(ctx, a, false)
}

fn side(b: &[u8]) -> Option<bool> {
    super::lists::End::parse(b).map(|e| e == super::lists::End::Head)
}

fn bmove(
    ctx: &mut Ctx<'_, '_>,
    src: &Bytes,
    dst: &Bytes,
    from_left: bool,
    to_left: bool,
    t: &[u8],
) -> Frame {
    let timeout = match parse_timeout(t) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let now = ctx.now;
    match super::coll::kind(ctx.shard(src), src, now) {
        Some("list") => {
            if let Some(k) = super::coll::kind(ctx.shard(dst), dst, now) {
                if k != "list" {
                    return super::wrongtype();
                }
            }
            let Some((mut elems, emptied)) =
                blocking::pop_list(ctx.shard(src), src, now, from_left, 1)
            else {
                return Frame::Null;
            };
            let elem = elems.pop().unwrap_or_default();
            blocking::push_list(ctx.shard(dst), dst, now, to_left, elem.clone());
            // Redis's order: the push, then the pop.
            ctx.notify(
                crate::notify::LIST,
                End::from_left(to_left).push_event(),
                dst,
            );
            super::lists::notify_pop(ctx, src, End::from_left(from_left), emptied);
            ctx.signal_key_ready(dst);
            Frame::Bulk(elem)
        }
        Some(_) => super::wrongtype(),
        None => block(
            ctx,
            vec![src.clone()],
            BlockOp::Move {
                from_left,
                to_left,
                dst: Bytes::copy_from_slice(dst),
            },
            timeout,
            Frame::NullArray,
        ),
    }
}

/// # Format
/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`
fn blmove(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let (Some(from), Some(to)) = (side(&a[3]), side(&a[4])) else {
        return syntax();
    };
    bmove(ctx, &a[1], &a[2], from, to, &a[5])
}

/// # Format
/// `BRPOPLPUSH source destination timeout`
fn brpoplpush(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    bmove(ctx, &a[1], &a[2], false, true, &a[3])
}

fn blmpop_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    super::numkeys_shards(ks, db, a, 2)
}

/// # Format
/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`
fn blmpop(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    // Redis checks numkeys, the side and COUNT before the timeout.
    let numkeys = match parse_i64(&a[2]) {
        Some(n) if n >= 1 => n as usize,
        _ => return err("ERR numkeys should be greater than 0"),
    };
    let where_idx = 3 + numkeys;
    if where_idx >= a.len() {
        return syntax();
    }
    let Some(left) = side(&a[where_idx]) else {
        return syntax();
    };
    let count = match super::lists::mpop_count(&a[where_idx + 1..]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let timeout = match parse_timeout(&a[1]) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let keys = &a[3..where_idx];
    let op = BlockOp::MPop { left, count };
    match try_pop(ctx, keys, left, count) {
        Err(e) => e,
        Ok(Some((key, elems))) => blocking::pop_reply(&op, &key, elems),
        Ok(None) => block(ctx, keys.to_vec(), op, timeout, Frame::NullArray),
    }
}

fn bzpop(ctx: &mut Ctx<'_, '_>, a: &[Bytes], max: bool) -> Frame {
    let timeout = match parse_timeout(&a[a.len() - 1]) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let keys = &a[1..a.len() - 1];
    match super::zsets::mpop_first(ctx, keys, max, 1) {
        Err(e) => e,
        Ok(Some((key, got))) => blocking::zpop_reply(None, &key, got),
        Ok(None) => block(
            ctx,
            keys.to_vec(),
            BlockOp::ZPop { max, count: None },
            timeout,
            Frame::NullArray,
        ),
    }
}

/// # Format
/// `BZPOPMIN key [key ...] timeout`
fn bzpopmin(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    bzpop(ctx, a, false)
}

/// # Format
/// `BZPOPMAX key [key ...] timeout`
fn bzpopmax(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    bzpop(ctx, a, true)
}

/// # Format
/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`
fn bzmpop(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    // As Redis: numkeys, the end and COUNT are checked before the timeout.
    let (keys, max, count) = match super::zsets::parse_mpop(a, 2) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let timeout = match parse_timeout(&a[1]) {
        Ok(t) => t,
        Err(e) => return e,
    };
    match super::zsets::mpop_first(ctx, &keys, max, count) {
        Err(e) => e,
        Ok(Some((key, got))) => super::zsets::mpop_reply(&key, &got),
        Ok(None) => block(
            ctx,
            keys,
            BlockOp::ZPop {
                max,
                count: Some(count),
            },
            timeout,
            Frame::NullArray,
        ),
    }
}
