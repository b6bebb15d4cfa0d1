//! List commands, the non-blocking ones: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN,
//! LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP.
//!
//! Replies and errors follow Redis 7.0's t_list.c, including the order in which arguments
//! and the key are checked (which decides the reply when several things are wrong). A list is
//! a `VecDeque` of [`Key`]s (short elements inline, see `db::key`): O(1) at both ends,
//! indexable. Empty lists are never stored: the
//! command that empties one deletes its key.
//!
//! Commands that add elements record the key with [`Ctx::signal_key_ready`] so clients
//! blocked on it (BLPOP and friends, in [`super::blocking`]) are served once the locks are
//! released. The blocking commands themselves are not here.
//!
//! WATCH. A write command marks a key's watchers only when it may change the key, as Redis's
//! `signalModifiedKey` does: never on WRONGTYPE, nor when it finds nothing to do (LREM with
//! no match, LINSERT without the pivot, LSET out of range, LPOP with count 0). That is why
//! writes go through [`Shard::get_mut_if`], which marks watchers only once the key is known
//! to hold a list.

use std::collections::VecDeque;

use bytes::Bytes;
use confab_protocol::Frame;

use super::{
    arg_i64, arity_error, eq_ic, err, int, ok, parse_i64, syntax, wrongtype, Ctx, Handler, Plan,
};
use crate::db::{Entry, Key, Keyspace, Shard, ShardSet, Value};
use crate::notify;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("lpush", lpush, Plan::Keys),
    ("rpush", rpush, Plan::Keys),
    ("lpushx", lpushx, Plan::Keys),
    ("rpushx", rpushx, Plan::Keys),
    ("lpop", lpop, Plan::Keys),
    ("rpop", rpop, Plan::Keys),
    ("llen", llen, Plan::Keys),
    ("lrange", lrange, Plan::Keys),
    ("lindex", lindex, Plan::Keys),
    ("lset", lset, Plan::Keys),
    ("linsert", linsert, Plan::Keys),
    ("lrem", lrem, Plan::Keys),
    ("ltrim", ltrim, Plan::Keys),
    ("lpos", lpos, Plan::Keys),
    ("lmove", lmove, Plan::Keys),
    ("rpoplpush", rpoplpush, Plan::Keys),
    ("lmpop", lmpop, Plan::Custom(lmpop_plan)),
];

type List = VecDeque<Key>;

/// Redis's `getPositiveLongFromObjectOrReply` error without a custom message.
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";

/// An end of a list: Redis's `LIST_HEAD` (LEFT) and `LIST_TAIL` (RIGHT).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum End {
    Head,
    Tail,
}

impl End {
    /// `LEFT` / `RIGHT`, case-insensitively (Redis's `getListPositionFromObjectOrReply`).
    pub(crate) fn parse(arg: &[u8]) -> Option<End> {
        if eq_ic(arg, "left") {
            Some(End::Head)
        } else if eq_ic(arg, "right") {
            Some(End::Tail)
        } else {
            None
        }
    }

    /// `Head` for left, `Tail` for right.
    pub(crate) fn from_left(left: bool) -> End {
        if left {
            End::Head
        } else {
            End::Tail
        }
    }

    /// The keyspace event of a push at this end.
    pub(crate) fn push_event(self) -> &'static str {
        match self {
            End::Head => "lpush",
            End::Tail => "rpush",
        }
    }

    /// The keyspace event of a pop from this end.
    pub(crate) fn pop_event(self) -> &'static str {
        match self {
            End::Head => "lpop",
            End::Tail => "rpop",
        }
    }
}

/// The optional `COUNT n` after LMPOP's / BLMPOP's `LEFT|RIGHT` (default 1); checked in
/// Redis's order: a bad count is reported before anything left over after it.
pub(crate) fn mpop_count(rest: &[Bytes]) -> Result<usize, Frame> {
    match rest {
        [] => Ok(1),
        [opt, n, tail @ ..] if eq_ic(opt, "count") => match parse_i64(n) {
            Some(n) if n >= 1 && tail.is_empty() => Ok(n as usize),
            Some(n) if n >= 1 => Err(syntax()),
            _ => Err(err("ERR count should be greater than 0")),
        },
        _ => Err(syntax()),
    }
}

fn push_at(list: &mut List, end: End, elem: Key) {
    match end {
        End::Head => list.push_front(elem),
        End::Tail => list.push_back(elem),
    }
}

fn pop_at(list: &mut List, end: End) -> Option<Key> {
    match end {
        End::Head => list.pop_front(),
        End::Tail => list.pop_back(),
    }
}

/// Take up to `count` elements from `end`, in the order they come off (so from the tail the
/// last element first), as replies.
fn take_at(list: &mut List, end: End, count: usize) -> Vec<Frame> {
    let n = count.min(list.len());
    match end {
        End::Head => list
            .drain(..n)
            .map(|e| Frame::Bulk(e.into_reply()))
            .collect(),
        End::Tail => (0..n)
            .filter_map(|_| list.pop_back())
            .map(|e| Frame::Bulk(e.into_reply()))
            .collect(),
    }
}

/// The list at `key` for reading: `Ok(None)` if missing, WRONGTYPE if it holds another type.
fn read_list<'s>(shard: &'s mut Shard, key: &[u8], now: u64) -> Result<Option<&'s List>, Frame> {
    match shard.get(key, now) {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(l)),
        Some(_) => Err(wrongtype()),
    }
}

/// The list at `key` for writing (its watchers are marked): `Ok(None)` if missing, WRONGTYPE
/// (watchers untouched) if it holds another type. One lookup.
fn write_list<'s>(
    shard: &'s mut Shard,
    key: &[u8],
    now: u64,
) -> Result<Option<&'s mut List>, Frame> {
    match shard.get_mut_if(key, now, |v| matches!(v, Value::List(_)), None) {
        Err(()) => Err(wrongtype()),
        Ok(Some(Entry {
            value: Value::List(l),
            ..
        })) => Ok(Some(l)),
        Ok(_) => Ok(None),
    }
}

/// Keyspace notifications of a pop from `end` of `key`: `lpop`/`rpop`, then `del` if it
/// emptied the list.
pub(crate) fn notify_pop(ctx: &Ctx<'_, '_>, key: &[u8], end: End, emptied: bool) {
    ctx.notify(notify::LIST, end.pop_event(), key);
    if emptied {
        ctx.notify(notify::GENERIC, "del", key);
    }
}

/// Delete `key` if the command emptied its list.
fn drop_if_empty(shard: &mut Shard, key: &[u8], now: u64, empty: bool) {
    if empty {
        shard.remove(key, now);
    }
}

/// Redis's range normalisation (`addListRangeReply`, LTRIM): negative indexes count from the
/// end; `None` when the range is empty, else inclusive `(start, end)` within the list.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// The position an index (LINDEX, LSET) names, negative from the tail; `None` if outside.
fn position(index: i64, len: usize) -> Option<usize> {
    // `!index` is `-index - 1` without overflow, as quicklist's `(-idx) - 1`.
    let (from_head, off) = if index < 0 {
        (false, !index as u64)
    } else {
        (true, index as u64)
    };
    if off >= len as u64 {
        return None;
    }
    let off = off as usize;
    Some(if from_head { off } else { len - 1 - off })
}

fn reply(r: Result<Frame, Frame>) -> Frame {
    r.unwrap_or_else(|e| e)
}

// ---- Push -----------------------------------------------------------------------------------

/// LPUSH / RPUSH / LPUSHX / RPUSHX (Redis's `pushGenericCommand`): push `a[2..]` one by one
/// at `end`; `existing_only` (the X forms) does nothing to a missing key.
fn push(ctx: &mut Ctx<'_, '_>, a: &[Bytes], end: End, existing_only: bool) -> Frame {
    let key = &a[1];
    let now = ctx.now;
    let shard = ctx.shard(key);
    let len = match write_list(shard, key, now) {
        Err(e) => return e,
        Ok(Some(list)) => {
            list.reserve(a.len() - 2);
            for elem in &a[2..] {
                push_at(list, end, Key::new(elem));
            }
            list.len()
        }
        Ok(None) if existing_only => return int(0),
        Ok(None) => {
            let mut list = List::with_capacity(a.len() - 2);
            for elem in &a[2..] {
                push_at(&mut list, end, Key::new(elem));
            }
            let len = list.len();
            shard.insert(key, Value::List(list), 0);
            len
        }
    };
    ctx.notify(notify::LIST, end.push_event(), key);
    ctx.signal_key_ready(key);
    int(len as i64)
}

/// # Format
/// `LPUSH key element [element ...]`
fn lpush(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    push(ctx, a, End::Head, false)
}

/// # Format
/// `RPUSH key element [element ...]`
fn rpush(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    push(ctx, a, End::Tail, false)
}

/// # Format
/// `LPUSHX key element [element ...]`
fn lpushx(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    push(ctx, a, End::Head, true)
}

/// # Format
/// `RPUSHX key element [element ...]`
fn rpushx(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    push(ctx, a, End::Tail, true)
}

// ---- Pop ------------------------------------------------------------------------------------

/// LPOP / RPOP (Redis's `popGenericCommand`): one element as a bulk string, or with a count
/// up to that many as an array; a missing key is a null bulk, or with a count a null array.
fn pop(ctx: &mut Ctx<'_, '_>, a: &[Bytes], end: End) -> Frame {
    if a.len() > 3 {
        return arity_error(if end == End::Head { "lpop" } else { "rpop" });
    }
    let count = match a.get(2) {
        None => None,
        Some(c) => match parse_i64(c) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return err(NOT_POSITIVE),
        },
    };
    let key = &a[1];
    let now = ctx.now;
    let shard = ctx.shard(key);
    match count {
        None => {
            let (elem, empty) = match write_list(shard, key, now) {
                Err(e) => return e,
                Ok(None) => return Frame::Null,
                Ok(Some(list)) => (pop_at(list, end), list.is_empty()),
            };
            drop_if_empty(shard, key, now, empty);
            if elem.is_some() {
                notify_pop(ctx, key, end, empty);
            }
            elem.map_or(Frame::Null, |e| Frame::Bulk(e.into_reply()))
        }
        // Redis's fast exit: the key is looked up (a null array when missing) but untouched.
        Some(0) => match read_list(shard, key, now) {
            Err(e) => e,
            Ok(None) => Frame::NullArray,
            Ok(Some(_)) => Frame::Array(Vec::new()),
        },
        Some(n) => {
            let (elems, empty) = match write_list(shard, key, now) {
                Err(e) => return e,
                Ok(None) => return Frame::NullArray,
                Ok(Some(list)) => (take_at(list, end, n), list.is_empty()),
            };
            drop_if_empty(shard, key, now, empty);
            notify_pop(ctx, key, end, empty);
            Frame::Array(elems)
        }
    }
}

/// # Format
/// `LPOP key [count]`
fn lpop(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    pop(ctx, a, End::Head)
}

/// # Format
/// `RPOP key [count]`
fn rpop(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    pop(ctx, a, End::Tail)
}

/// LMPOP's keys are `numkeys` arguments from `a[2]` (movable keys: the table cannot say).
fn lmpop_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    super::numkeys_shards(ks, db, a, 1)
}

/// # Format
/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`
///
/// Pops from the first key holding a list; `[key, [elements]]`, or a null array if none.
fn lmpop(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let numkeys = match parse_i64(&a[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return err("ERR numkeys should be greater than 0"),
    };
    // `where` sits at 2 + numkeys; compared in u64 so a huge numkeys cannot overflow.
    if numkeys + 2 >= a.len() as u64 {
        return syntax();
    }
    let where_idx = 2 + numkeys as usize;
    let Some(end) = End::parse(&a[where_idx]) else {
        return syntax();
    };
    let count = match mpop_count(&a[where_idx + 1..]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let now = ctx.now;
    for key in &a[2..where_idx] {
        let shard = ctx.shard(key);
        let (elems, empty) = match write_list(shard, key, now) {
            Err(e) => return e,
            Ok(None) => continue,
            Ok(Some(list)) => (take_at(list, end, count), list.is_empty()),
        };
        drop_if_empty(shard, key, now, empty);
        notify_pop(ctx, key, end, empty);
        return Frame::Array(vec![Frame::Bulk(key.clone()), Frame::Array(elems)]);
    }
    Frame::NullArray
}

// ---- Reads ----------------------------------------------------------------------------------

/// # Format
/// `LLEN key`
fn llen(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    reply(read_list(ctx.shard(&a[1]), &a[1], now).map(|l| int(l.map_or(0, |l| l.len() as i64))))
}

/// # Format
/// `LRANGE key start stop`
fn lrange(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let (start, stop) = match (arg_i64(&a[2]), arg_i64(&a[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let now = ctx.now;
    let list = match read_list(ctx.shard(&a[1]), &a[1], now) {
        Err(e) => return e,
        Ok(None) => return Frame::Array(Vec::new()),
        Ok(Some(l)) => l,
    };
    match clamp_range(start, stop, list.len()) {
        None => Frame::Array(Vec::new()),
        Some((s, e)) => Frame::Raw(bulk_array(list.range(s..=e), e - s + 1)),
    }
}

/// `n` items as an array of bulk strings, encoded at once ([`Frame::Raw`]: the shape is the
/// same in RESP2 and RESP3) instead of a cloned `Bytes` (a reference-count update on a cold
/// cache line) and a frame per item.
fn bulk_array<'a>(items: impl Iterator<Item = &'a Key> + Clone, n: usize) -> Bytes {
    let size = 16 + items.clone().map(|b| b.len() + 16).sum::<usize>();
    crate::arena::build(size, |out| {
        confab_protocol::encode_array_len(out, n);
        for b in items {
            confab_protocol::encode_bulk(out, b);
        }
    })
}

/// # Format
/// `LINDEX key index`
fn lindex(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    // Redis looks the key up before parsing the index.
    let list = match read_list(ctx.shard(&a[1]), &a[1], now) {
        Err(e) => return e,
        Ok(None) => return Frame::Null,
        Ok(Some(l)) => l,
    };
    let index = match arg_i64(&a[2]) {
        Ok(i) => i,
        Err(e) => return e,
    };
    position(index, list.len()).map_or(Frame::Null, |p| {
        Frame::Bulk(crate::arena::reply_slice(&list[p]))
    })
}

/// # Format
/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
///
/// Positions are as LINDEX counts them from the head, whichever way the search runs.
fn lpos(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let mut rank: i64 = 1;
    let mut count: Option<u64> = None;
    let mut maxlen: u64 = 0;
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        if more && eq_ic(&a[j], "rank") {
            rank = match arg_i64(&a[j + 1]) {
                Ok(0) => {
                    return err(
                        "ERR RANK can't be zero: use 1 to start from the first match, \
                         2 from the second ... or use negative to start from the end of the list",
                    )
                }
                Ok(r) => r,
                Err(e) => return e,
            };
        } else if more && eq_ic(&a[j], "count") {
            match parse_i64(&a[j + 1]) {
                Some(n) if n >= 0 => count = Some(n as u64),
                _ => return err("ERR COUNT can't be negative"),
            }
        } else if more && eq_ic(&a[j], "maxlen") {
            match parse_i64(&a[j + 1]) {
                Some(n) if n >= 0 => maxlen = n as u64,
                _ => return err("ERR MAXLEN can't be negative"),
            }
        } else {
            return syntax();
        }
        j += 2;
    }
    // Negative: search from the tail. Redis negates a `long`, so RANK -2^63 stays negative
    // and then every match qualifies; the wrapping arithmetic below keeps that.
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let now = ctx.now;
    let list = match read_list(ctx.shard(&a[1]), &a[1], now) {
        Err(e) => return e,
        Ok(None) if count.is_some() => return Frame::Array(Vec::new()),
        Ok(None) => return Frame::Null,
        Ok(Some(l)) => l,
    };
    let elem = &a[2][..];
    let limit = match maxlen {
        0 => list.len(),
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let found = if from_tail {
        lpos_scan(list.iter().enumerate().rev().take(limit), elem, rank, count)
    } else {
        lpos_scan(list.iter().enumerate().take(limit), elem, rank, count)
    };
    match count {
        Some(_) => Frame::Array(found),
        None => found.into_iter().next().unwrap_or(Frame::Null),
    }
}

/// LPOS's search over `(position, element)` in search order: the positions of the matches
/// from the `rank`th on, up to `count` of them (all for 0; one when there is no COUNT).
fn lpos_scan<'l>(
    scanned: impl Iterator<Item = (usize, &'l Key)>,
    elem: &[u8],
    rank: i64,
    count: Option<u64>,
) -> Vec<Frame> {
    let mut matches: i64 = 0;
    let mut found = Vec::new();
    for (i, _) in scanned.filter(|(_, e)| e[..] == *elem) {
        matches += 1;
        if matches < rank {
            continue;
        }
        found.push(Frame::Integer(i as i64));
        match count {
            None => break,
            Some(c) if c > 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c as i64 => break,
            Some(_) => {}
        }
    }
    found
}

// ---- In-place changes -----------------------------------------------------------------------

/// # Format
/// `LSET key index element`
fn lset(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let key = &a[1];
    let now = ctx.now;
    let shard = ctx.shard(key);
    let len = match read_list(shard, key, now) {
        Err(e) => return e,
        Ok(None) => return err("ERR no such key"),
        Ok(Some(l)) => l.len(),
    };
    let index = match arg_i64(&a[2]) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let Some(p) = position(index, len) else {
        return err("ERR index out of range");
    };
    if let Ok(Some(list)) = write_list(shard, key, now) {
        list[p] = Key::new(&a[3]);
    }
    ctx.notify(notify::LIST, "lset", key);
    ok()
}

/// # Format
/// `LINSERT key BEFORE|AFTER pivot element`
fn linsert(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let after = if eq_ic(&a[2], "after") {
        true
    } else if eq_ic(&a[2], "before") {
        false
    } else {
        return syntax();
    };
    let key = &a[1];
    let now = ctx.now;
    let shard = ctx.shard(key);
    let at = match read_list(shard, key, now) {
        Err(e) => return e,
        Ok(None) => return int(0),
        Ok(Some(l)) => l.iter().position(|e| e[..] == a[3][..]),
    };
    let Some(at) = at else {
        return int(-1);
    };
    let len = match write_list(shard, key, now) {
        Ok(Some(list)) => {
            list.insert(at + usize::from(after), Key::new(&a[4]));
            list.len()
        }
        _ => 0,
    };
    ctx.notify(notify::LIST, "linsert", key);
    ctx.signal_key_ready(key);
    int(len as i64)
}

/// # Format
/// `LREM key count element`
///
/// Removes the first `count` matches from the head, or with a negative count from the tail,
/// or with 0 all of them.
fn lrem(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let count = match arg_i64(&a[2]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let key = &a[1];
    let elem = &a[3][..];
    let now = ctx.now;
    let shard = ctx.shard(key);
    let total = match read_list(shard, key, now) {
        Err(e) => return e,
        Ok(None) => return int(0),
        Ok(Some(l)) => l.iter().filter(|e| e[..] == *elem).count(),
    };
    if total == 0 {
        return int(0);
    }
    let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = if count == 0 { total } else { total.min(wanted) };
    // Matches are removed from the head, or from the tail by keeping the first ones.
    let (skip, upto) = if count < 0 {
        (total - removed, total)
    } else {
        (0, removed)
    };
    let empty = match write_list(shard, key, now) {
        Ok(Some(list)) => {
            let mut seen = 0;
            list.retain(|e| {
                if e[..] != *elem {
                    return true;
                }
                seen += 1;
                !(skip < seen && seen <= upto)
            });
            list.is_empty()
        }
        _ => false,
    };
    drop_if_empty(shard, key, now, empty);
    ctx.notify(notify::LIST, "lrem", key);
    if empty {
        ctx.notify(notify::GENERIC, "del", key);
    }
    int(removed as i64)
}

/// # Format
/// `LTRIM key start stop`
fn ltrim(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let (start, stop) = match (arg_i64(&a[2]), arg_i64(&a[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let key = &a[1];
    let now = ctx.now;
    let shard = ctx.shard(key);
    let empty = match write_list(shard, key, now) {
        Err(e) => return e,
        Ok(None) => return ok(),
        Ok(Some(list)) => {
            match clamp_range(start, stop, list.len()) {
                None => list.clear(),
                Some((s, e)) => {
                    list.truncate(e + 1);
                    list.drain(..s);
                }
            }
            list.is_empty()
        }
    };
    drop_if_empty(shard, key, now, empty);
    ctx.notify(notify::LIST, "ltrim", key);
    if empty {
        ctx.notify(notify::GENERIC, "del", key);
    }
    ok()
}

// ---- Moves ----------------------------------------------------------------------------------

/// LMOVE / RPOPLPUSH (Redis's `lmoveGenericCommand`): pop from `from` of `src`, push at `to`
/// of `dst` (created if missing), reply the element; a missing source is a null bulk.
fn lmove_generic(ctx: &mut Ctx<'_, '_>, src: &Bytes, dst: &Bytes, from: End, to: End) -> Frame {
    let now = ctx.now;
    let same = src[..] == dst[..];
    // The destination's type is checked before anything is popped; WRONGTYPE only once the
    // source is known to exist.
    if !same {
        if let Err(e) = read_list(ctx.shard(dst), dst, now) {
            return match read_list(ctx.shard(src), src, now) {
                Ok(None) => Frame::Null,
                _ => e,
            };
        }
    }
    let shard = ctx.shard(src);
    let (elem, emptied) = match write_list(shard, src, now) {
        Err(e) => return e,
        Ok(None) => return Frame::Null,
        Ok(Some(list)) => {
            let Some(elem) = pop_at(list, from) else {
                return Frame::Null;
            };
            if same {
                // A rotation: the list never becomes empty.
                push_at(list, to, elem.clone());
            }
            (elem, list.is_empty())
        }
    };
    if same {
        ctx.notify(notify::LIST, to.push_event(), dst);
        ctx.notify(notify::LIST, from.pop_event(), src);
        ctx.signal_key_ready(dst);
        return Frame::Bulk(elem.into_reply());
    }
    drop_if_empty(shard, src, now, emptied);
    let shard = ctx.shard(dst);
    match write_list(shard, dst, now) {
        Ok(Some(list)) => push_at(list, to, elem.clone()),
        // Checked above under the same locks: the destination is missing.
        _ => shard.insert(dst, Value::List(List::from([elem.clone()])), 0),
    }
    // Redis's order: the push, then the pop (and the source's deletion).
    ctx.notify(notify::LIST, to.push_event(), dst);
    notify_pop(ctx, src, from, emptied);
    ctx.signal_key_ready(dst);
    Frame::Bulk(elem.into_reply())
}

/// # Format
/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`
fn lmove(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let (Some(from), Some(to)) = (End::parse(&a[3]), End::parse(&a[4])) else {
        return syntax();
    };
    lmove_generic(ctx, &a[1], &a[2], from, to)
}

/// # Format
/// `RPOPLPUSH source destination`
fn rpoplpush(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    lmove_generic(ctx, &a[1], &a[2], End::Tail, End::Head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_like_redis() {
        assert_eq!(clamp_range(0, -1, 3), Some((0, 2)));
        assert_eq!(clamp_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(clamp_range(2, 1, 3), None);
        assert_eq!(clamp_range(3, 5, 3), None);
        assert_eq!(clamp_range(-1, -1, 3), Some((2, 2)));
        assert_eq!(clamp_range(0, -4, 3), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(clamp_range(0, 0, 0), None);
    }

    #[test]
    fn positions_like_quicklist() {
        assert_eq!(position(0, 3), Some(0));
        assert_eq!(position(2, 3), Some(2));
        assert_eq!(position(3, 3), None);
        assert_eq!(position(-1, 3), Some(2));
        assert_eq!(position(-3, 3), Some(0));
        assert_eq!(position(-4, 3), None);
        assert_eq!(position(i64::MIN, 3), None);
        assert_eq!(position(i64::MAX, 3), None);
    }

    #[test]
    fn take_from_either_end() {
        let b = |s: &'static str| Bytes::from_static(s.as_bytes());
        let mut l: List = ["a", "b", "c"]
            .into_iter()
            .map(|s| Key::new(s.as_bytes()))
            .collect();
        assert_eq!(
            take_at(&mut l, End::Tail, 2),
            vec![Frame::Bulk(b("c")), Frame::Bulk(b("b"))]
        );
        assert_eq!(take_at(&mut l, End::Head, 5), vec![Frame::Bulk(b("a"))]);
        assert!(l.is_empty());
    }
}
