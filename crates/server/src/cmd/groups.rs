//! Stream consumer groups: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, and the
//! groups part of XINFO.
//!
//! A group hands each new entry of a stream to one of its consumers and remembers it as
//! pending (the PEL) until the consumer acknowledges it; other consumers can claim entries
//! pending too long. Replies, errors and the `entries-read` / `lag` arithmetic follow Redis
//! 7.0's t_stream.c. Group state changes do not count as changes of the key for WATCH, as in
//! Redis (only XGROUP CREATE ... MKSTREAM, which creates the key, does).

use bytes::Bytes;
use confab_protocol::Frame;

use super::streams::{entry_frame, parse_interval_id, parse_strict_id};
use super::table;
use super::{
    arity_error, arity_ok, bulk, bulk_str, eq_ic, err, err_owned, int, parse_i64, syntax,
    unknown_subcommand, Ctx, Handler, Plan, NOT_INTEGER,
};
use crate::db::stream::{Consumer, Group, Nack, Stream, StreamId};
use crate::db::{Keyspace, Shard, ShardSet, Value};
use crate::notify;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("xgroup", xgroup, Plan::Custom(key_at_2)),
    (
        "xreadgroup",
        xreadgroup,
        Plan::Custom(super::streams::xread_plan),
    ),
    ("xack", xack, Plan::Keys),
    ("xpending", xpending, Plan::Keys),
    ("xclaim", xclaim, Plan::Keys),
    ("xautoclaim", xautoclaim, Plan::Keys),
];

fn key_at_2(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    a.get(2)
        .map(|k| ks.shard_index(db, k))
        .into_iter()
        .collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace(['\r', '\n'], " ")
}

/// The stream at `key` for group work, without marking watchers; `Ok(None)` if missing.
fn stream_mut<'s>(
    shard: &'s mut Shard,
    key: &[u8],
    now: u64,
) -> Result<Option<&'s mut Stream>, Frame> {
    match super::coll::write_unmarked(shard, key, now, "stream", None)? {
        Some(Value::Stream(s)) => Ok(Some(s)),
        _ => Ok(None),
    }
}

fn id_frame(id: StreamId) -> Frame {
    bulk(id.to_bytes())
}

/// A consumer of `g` by name, created if missing (with the `xgroup-createconsumer` event,
/// which the caller sends when the second value is true); its seen time becomes `now`.
fn consumer<'g>(g: &'g mut Group, name: &[u8], now: u64) -> (&'g mut Consumer, bool) {
    let created = !g.consumers.contains_key(name);
    let c = g.consumers.entry(Bytes::copy_from_slice(name)).or_default();
    c.seen_ms = now;
    (c, created)
}

// ---- XGROUP ---------------------------------------------------------------------------------

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

/// # Format
/// `XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]` / `XGROUP SETID key group id|$
/// [ENTRIESREAD n]` / `XGROUP DESTROY key group` / `XGROUP CREATECONSUMER key group
/// consumer` / `XGROUP DELCONSUMER key group consumer` / `XGROUP HELP`
fn xgroup(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match table::lookup_sub("xgroup", &sub) {
        None => return unknown_subcommand("xgroup", &a[1]),
        Some(spec) if !arity_ok(spec.arity, a.len()) => return arity_error(spec.name),
        Some(_) => {}
    }
    if sub == "help" {
        return super::conn::help_reply(XGROUP_HELP);
    }
    let (create, setid) = (sub == "create", sub == "setid");
    // Options (from the sixth argument), as xgroupCommand parses them first.
    let mut mkstream = false;
    let mut entries_read: Option<u64> = None;
    let mut i = 5;
    while i < a.len() {
        if create && eq_ic(&a[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && eq_ic(&a[i], "entriesread") && i + 1 < a.len() {
            match parse_i64(&a[i + 1]) {
                None => return err(NOT_INTEGER),
                Some(-1) => entries_read = None,
                Some(n) if n < 0 => return err("ERR value for ENTRIESREAD must be positive or -1"),
                Some(n) => entries_read = Some(n as u64),
            }
            i += 2;
        } else {
            return super::conn::subcommand_syntax_error(a);
        }
    }
    let key = &a[2];
    let group = &a[3];
    let now = ctx.now;
    let db = ctx.client.db;
    let exists = match super::coll::kind(ctx.shard(key), key, now) {
        None => false,
        Some("stream") => true,
        Some(_) => return super::wrongtype(),
    };
    if !mkstream && !exists {
        return err(
            "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
        );
    }
    if exists && matches!(sub.as_str(), "setid" | "createconsumer" | "delconsumer") {
        let found = match stream_mut(ctx.shard(key), key, now) {
            Ok(Some(s)) => s.groups.contains_key(&group[..]),
            _ => false,
        };
        if !found {
            return err_owned(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                text(group),
                text(key)
            ));
        }
    }
    match sub.as_str() {
        "create" if a.len() <= 8 => {
            // The ID first: a bad one creates no stream.
            let given = if &a[4][..] == b"$" {
                None
            } else {
                match parse_strict_id(&a[4]) {
                    Ok(id) => Some(id),
                    Err(e) => return e,
                }
            };
            let shard = ctx.shard(key);
            if !exists {
                shard.insert(key, Value::Stream(Box::default()), 0);
            }
            let Ok(Some(s)) = stream_mut(shard, key, now) else {
                return err("ERR no such key");
            };
            let id = given.unwrap_or(s.last_id);
            if s.groups.contains_key(&group[..]) {
                return err("BUSYGROUP Consumer Group name already exists");
            }
            // (A copy: the argument is a slice of the connection's read buffer.)
            s.groups.insert(
                Bytes::copy_from_slice(group),
                Group {
                    last_id: id,
                    entries_read,
                    ..Group::default()
                },
            );
            // (The key's `new` event came from the insert.)
            ctx.notify(notify::STREAM, "xgroup-create", key);
            super::ok()
        }
        "setid" if a.len() == 5 || a.len() == 7 => {
            let Ok(Some(s)) = stream_mut(ctx.shard(key), key, now) else {
                return err("ERR no such key");
            };
            let id = if &a[4][..] == b"$" {
                s.last_id
            } else {
                match super::streams::parse_id_or_reply(&a[4]) {
                    Ok(id) => id,
                    Err(e) => return e,
                }
            };
            if let Some(g) = s.groups.get_mut(&group[..]) {
                g.last_id = id;
                g.entries_read = entries_read;
            }
            ctx.notify(notify::STREAM, "xgroup-setid", key);
            super::ok()
        }
        "destroy" if a.len() == 4 => {
            let Ok(Some(s)) = stream_mut(ctx.shard(key), key, now) else {
                return err("ERR no such key");
            };
            if s.groups.remove(&group[..]).is_none() {
                return int(0);
            }
            ctx.notify(notify::STREAM, "xgroup-destroy", key);
            // Clients blocked reading the group hear that it is gone.
            ctx.signal_key_ready_in(db, key);
            int(1)
        }
        "createconsumer" if a.len() == 5 => {
            let Ok(Some(s)) = stream_mut(ctx.shard(key), key, now) else {
                return err("ERR no such key");
            };
            let Some(g) = s.groups.get_mut(&group[..]) else {
                return int(0);
            };
            if g.consumers.contains_key(&a[4][..]) {
                return int(0);
            }
            consumer(g, &a[4], now);
            ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
            int(1)
        }
        "delconsumer" if a.len() == 5 => {
            let Ok(Some(s)) = stream_mut(ctx.shard(key), key, now) else {
                return err("ERR no such key");
            };
            let Some(g) = s.groups.get_mut(&group[..]) else {
                return int(0);
            };
            let Some(c) = g.consumers.remove(&a[4][..]) else {
                return int(0);
            };
            for id in &c.pel {
                g.pel.remove(id);
            }
            ctx.notify(notify::STREAM, "xgroup-delconsumer", key);
            int(c.pel.len() as i64)
        }
        _ => super::conn::subcommand_syntax_error(a),
    }
}

// ---- XREADGROUP -----------------------------------------------------------------------------

/// Deliver the entries of `s` after the group's last ID to `consumer` (at most `count`,
/// 0 = all): the group moves forward and, unless `noack`, each entry becomes pending for the
/// consumer. Returns the entries' frame.
fn deliver_new(
    s: &mut Stream,
    group: &[u8],
    consumer_name: &[u8],
    count: usize,
    noack: bool,
    now: u64,
) -> (Frame, bool) {
    let limit = if count == 0 { usize::MAX } else { count };
    let Some(mut g) = s.groups.remove(group) else {
        return (Frame::Array(vec![]), false);
    };
    let ids: Vec<StreamId> = s.after(g.last_id).take(limit).map(|(id, _)| id).collect();
    let mut out = Vec::with_capacity(ids.len());
    let (_, created) = consumer(&mut g, consumer_name, now);
    for id in ids {
        s.advance_group(&mut g, id);
        if let Some(f) = s.get(id) {
            out.push(entry_frame(id, f));
        }
        if !noack {
            // An entry already pending (after SETID back) moves to this consumer afresh.
            if let Some(old) = g.pel.insert(
                id,
                Nack {
                    consumer: Some(Bytes::copy_from_slice(consumer_name)),
                    delivery_ms: now,
                    delivery_count: 1,
                },
            ) {
                if let Some(owner) = old.consumer {
                    if let Some(c) = g.consumers.get_mut(&owner) {
                        c.pel.remove(&id);
                    }
                }
            }
            if let Some(c) = g.consumers.get_mut(consumer_name) {
                c.pel.insert(id);
            }
        }
    }
    s.groups.insert(Bytes::copy_from_slice(group), g);
    (Frame::Array(out), created)
}

/// The consumer's own pending entries after `after` (at most `count`), each delivered again
/// (its count goes up); entries deleted meanwhile come as `[id, nil]`.
fn deliver_history(
    s: &mut Stream,
    group: &[u8],
    consumer_name: &[u8],
    after: StreamId,
    count: usize,
    now: u64,
) -> (Frame, bool) {
    let limit = if count == 0 { usize::MAX } else { count };
    let Some(mut g) = s.groups.remove(group) else {
        return (Frame::Array(vec![]), false);
    };
    let (c, created) = consumer(&mut g, consumer_name, now);
    let start = after.incr();
    let ids: Vec<StreamId> = match start {
        Some(start) => c.pel.range(start..).take(limit).copied().collect(),
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match s.get(id) {
            Some(f) => {
                out.push(entry_frame(id, f));
                if let Some(n) = g.pel.get_mut(&id) {
                    n.delivery_ms = now;
                    n.delivery_count += 1;
                }
            }
            None => out.push(Frame::Array(vec![id_frame(id), Frame::NullArray])),
        }
    }
    s.groups.insert(Bytes::copy_from_slice(group), g);
    (Frame::Array(out), created)
}

/// # Format
/// `XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key
/// [key ...] id [id ...]`
fn xreadgroup(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let x = match super::streams::parse_xread(a) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let Some((group, consumer_name)) = &x.group else {
        return err("ERR Missing GROUP option for XREADGROUP");
    };
    let keys = &a[x.streams_at..x.streams_at + x.streams];
    let id_args = &a[x.streams_at + x.streams..];
    let now = ctx.now;
    // Check each key in order: its type, its group, then its ID (as xreadCommand does).
    let mut history: Vec<Option<StreamId>> = Vec::with_capacity(keys.len());
    for (key, arg) in keys.iter().zip(id_args) {
        let has_group = match stream_mut(ctx.shard(key), key, now) {
            Err(e) => return e,
            Ok(s) => s.is_some_and(|s| s.groups.contains_key(&group[..])),
        };
        if !has_group {
            return err_owned(format!(
                "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                text(key),
                text(group)
            ));
        }
        history.push(match &arg[..] {
            b"$" => return err("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."),
            b">" => None,
            _ => match parse_strict_id(arg) {
                // The largest ID is Redis's own mark for `>`, so it reads new entries too.
                Ok(StreamId::MAX) => None,
                Ok(id) => Some(id),
                Err(e) => return e,
            },
        });
    }
    let mut served = Vec::new();
    for (key, hist) in keys.iter().zip(&history) {
        let Ok(Some(s)) = stream_mut(ctx.shard(key), key, now) else {
            continue;
        };
        let (frame, created) = match hist {
            Some(after) => deliver_history(s, group, consumer_name, *after, x.count, now),
            None => {
                let ready = s
                    .last_entry_id()
                    .zip(s.groups.get(&group[..]))
                    .is_some_and(|(last, g)| last > g.last_id);
                if !ready {
                    continue;
                }
                deliver_new(s, group, consumer_name, x.count, x.noack, now)
            }
        };
        if created {
            ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
        }
        served.push((key.clone(), frame));
    }
    if let (true, Some(ms)) = (served.is_empty(), x.block) {
        let count = if x.count == 0 {
            super::streams::XREAD_BLOCKED_DEFAULT_COUNT
        } else {
            x.count
        };
        // Copies: the arguments are slices of the connection's read buffer.
        let op = crate::blocking::BlockOp::XReadGroup {
            group: Bytes::copy_from_slice(group),
            consumer: Bytes::copy_from_slice(consumer_name),
            noack: x.noack,
            count,
            proto: ctx.client.proto,
        };
        let timeout = (ms > 0).then(|| std::time::Duration::from_millis(ms));
        return super::blocking::block(ctx, keys.to_vec(), op, timeout, Frame::NullArray);
    }
    super::streams::read_reply(ctx.client.proto, served)
}

/// What a blocked XREADGROUP does when `key` may have news: `Ok(Some(reply))` to deliver,
/// `Ok(None)` to keep waiting, `Err(error)` to end the wait with an error (its group went).
/// `op` is the waiter's [`BlockOp::XReadGroup`](crate::blocking::BlockOp::XReadGroup); the
/// flag says whether its consumer was created (for the `xgroup-createconsumer` event).
pub(crate) fn serve_waiter(
    shard: &mut Shard,
    key: &Bytes,
    now: u64,
    op: &crate::blocking::BlockOp,
) -> Result<Option<(Frame, bool)>, Frame> {
    let crate::blocking::BlockOp::XReadGroup {
        group,
        consumer: consumer_name,
        noack,
        count,
        proto,
    } = op
    else {
        return Ok(None);
    };
    let (noack, count, proto) = (*noack, *count, *proto);
    let Ok(Some(s)) = stream_mut(shard, key, now) else {
        return Err(err("UNBLOCKED the stream key no longer exists"));
    };
    let Some(g) = s.groups.get(group) else {
        return Err(err(
            "NOGROUP the consumer group this client was blocked on no longer exists",
        ));
    };
    if s.last_id <= g.last_id {
        return Ok(None);
    }
    let (frame, created) = deliver_new(s, group, consumer_name, count, noack, now);
    Ok(Some((
        super::streams::read_reply(proto, vec![(key.clone(), frame)]),
        created,
    )))
}

// ---- XACK / XPENDING ------------------------------------------------------------------------

/// # Format
/// `XACK key group id [id ...]`
fn xack(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    let s = match stream_mut(ctx.shard(&a[1]), &a[1], now) {
        Err(e) => return e,
        Ok(s) => s,
    };
    let Some(g) = s.and_then(|s| s.groups.get_mut(&a[2][..])) else {
        return int(0);
    };
    let mut ids = Vec::with_capacity(a.len() - 3);
    for arg in &a[3..] {
        match parse_strict_id(arg) {
            Ok(id) => ids.push(id),
            Err(e) => return e,
        }
    }
    let mut acked = 0;
    for id in ids {
        if let Some(n) = g.pel.remove(&id) {
            if let Some(c) = n.consumer.and_then(|c| g.consumers.get_mut(&c)) {
                c.pel.remove(&id);
            }
            acked += 1;
        }
    }
    int(acked)
}

fn nogroup(key: &[u8], group: &[u8]) -> Frame {
    err_owned(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        text(key),
        text(group)
    ))
}

/// # Format
/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`
fn xpending(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let summary = a.len() == 3;
    if !summary && !(6..=9).contains(&a.len()) {
        return syntax();
    }
    let mut range = None;
    if !summary {
        let mut at = 3;
        let mut min_idle = 0i64;
        if eq_ic(&a[3], "idle") {
            match parse_i64(&a[4]) {
                Some(n) => min_idle = n,
                None => return err(NOT_INTEGER),
            }
            if a.len() < 8 {
                return syntax();
            }
            at += 2;
        }
        let count = match parse_i64(&a[at + 2]) {
            Some(n) => n.max(0) as usize,
            None => return err(NOT_INTEGER),
        };
        let (mut start, start_ex) = match parse_interval_id(&a[at], 0) {
            Ok(p) => p,
            Err(e) => return e,
        };
        if start_ex {
            match start.incr() {
                Some(s) => start = s,
                None => return err("ERR invalid start ID for the interval"),
            }
        }
        let (mut end, end_ex) = match parse_interval_id(&a[at + 1], u64::MAX) {
            Ok(p) => p,
            Err(e) => return e,
        };
        if end_ex {
            match end.decr() {
                Some(e) => end = e,
                None => return err("ERR invalid end ID for the interval"),
            }
        }
        let consumer = a.get(at + 3).cloned();
        range = Some((min_idle, start, end, count, consumer));
    }
    let now = ctx.now;
    let s = match stream_mut(ctx.shard(&a[1]), &a[1], now) {
        Err(e) => return e,
        Ok(s) => s,
    };
    let Some(g) = s.and_then(|s| s.groups.get_mut(&a[2][..])) else {
        return nogroup(&a[1], &a[2]);
    };
    let Some((min_idle, start, end, count, consumer)) = range else {
        if g.pel.is_empty() {
            return Frame::Array(vec![int(0), Frame::Null, Frame::Null, Frame::NullArray]);
        }
        let first = g.pel.keys().next().copied().unwrap_or_default();
        let last = g.pel.keys().next_back().copied().unwrap_or_default();
        let per: Vec<Frame> = g
            .consumers
            .iter()
            .filter(|(_, c)| !c.pel.is_empty())
            .map(|(name, c)| {
                Frame::Array(vec![
                    bulk(name.clone()),
                    bulk(Bytes::from(c.pel.len().to_string())),
                ])
            })
            .collect();
        return Frame::Array(vec![
            int(g.pel.len() as i64),
            id_frame(first),
            id_frame(last),
            Frame::Array(per),
        ]);
    };
    let ids: Vec<StreamId> = match &consumer {
        Some(name) => match g.consumers.get(&name[..]) {
            None => return Frame::Array(vec![]),
            Some(c) if start <= end => c.pel.range(start..=end).copied().collect(),
            Some(_) => Vec::new(),
        },
        None if start <= end => g.pel.range(start..=end).map(|(id, _)| *id).collect(),
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for id in ids {
        if out.len() == count {
            break;
        }
        let Some(n) = g.pel.get(&id) else { continue };
        let idle = now.saturating_sub(n.delivery_ms) as i64;
        if min_idle != 0 && idle < min_idle {
            continue;
        }
        out.push(Frame::Array(vec![
            id_frame(id),
            bulk(n.consumer.clone().unwrap_or_default()),
            int(idle),
            int(n.delivery_count as i64),
        ]));
    }
    Frame::Array(out)
}

// ---- XCLAIM / XAUTOCLAIM --------------------------------------------------------------------

/// Give pending entry `id` of `g` to `name` (created if missing: the returned flag), with
/// delivery time `at`; its delivery count is set to `retry`, or goes up unless `justid`.
fn claim(
    g: &mut Group,
    id: StreamId,
    name: &[u8],
    at: u64,
    retry: Option<u64>,
    justid: bool,
    now: u64,
) -> bool {
    let (_, created) = consumer(g, name, now);
    let Some(n) = g.pel.get_mut(&id) else {
        return created;
    };
    let old = n.consumer.replace(Bytes::copy_from_slice(name));
    n.delivery_ms = at;
    match retry {
        Some(r) => n.delivery_count = r,
        None if !justid => n.delivery_count += 1,
        None => {}
    }
    if let Some(old) = old {
        if &old[..] != name {
            if let Some(c) = g.consumers.get_mut(&old) {
                c.pel.remove(&id);
            }
        }
    }
    if let Some(c) = g.consumers.get_mut(name) {
        c.pel.insert(id);
    }
    created
}

/// Drop pending entry `id` (its stream entry is gone).
fn forget(g: &mut Group, id: StreamId) {
    if let Some(n) = g.pel.remove(&id) {
        if let Some(c) = n.consumer.and_then(|c| g.consumers.get_mut(&c)) {
            c.pel.remove(&id);
        }
    }
}

/// # Format
/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]`
fn xclaim(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    let key = &a[1];
    let s = match stream_mut(ctx.shard(key), key, now) {
        Err(e) => return e,
        Ok(s) => s,
    };
    let Some(s) = s.filter(|s| s.groups.contains_key(&a[2][..])) else {
        return nogroup(key, &a[2]);
    };
    let min_idle = match parse_i64(&a[4]) {
        Some(n) => n.max(0) as u64,
        None => return err("ERR Invalid min-idle-time argument for XCLAIM"),
    };
    // IDs run up to the first argument that is not one; options follow.
    let mut ids = Vec::new();
    let mut j = 5;
    while j < a.len() {
        match parse_strict_id(&a[j]) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let (mut force, mut justid) = (false, false);
    let mut delivery: Option<i64> = None;
    let mut retry: Option<u64> = None;
    let mut last_id = StreamId::MIN;
    while j < a.len() {
        let more = a.len() - 1 - j;
        let o = &a[j];
        if eq_ic(o, "force") {
            force = true;
        } else if eq_ic(o, "justid") {
            justid = true;
        } else if eq_ic(o, "idle") && more > 0 {
            j += 1;
            match parse_i64(&a[j]) {
                Some(n) => delivery = Some(now as i64 - n),
                None => return err("ERR Invalid IDLE option argument for XCLAIM"),
            }
        } else if eq_ic(o, "time") && more > 0 {
            j += 1;
            match parse_i64(&a[j]) {
                Some(n) => delivery = Some(n),
                None => return err("ERR Invalid TIME option argument for XCLAIM"),
            }
        } else if eq_ic(o, "retrycount") && more > 0 {
            j += 1;
            match parse_i64(&a[j]) {
                Some(n) => retry = (n >= 0).then_some(n as u64),
                None => return err("ERR Invalid RETRYCOUNT option argument for XCLAIM"),
            }
        } else if eq_ic(o, "lastid") && more > 0 {
            j += 1;
            match parse_strict_id(&a[j]) {
                Ok(id) => last_id = id,
                Err(e) => return e,
            }
        } else {
            return err_owned(format!("ERR Unrecognized XCLAIM option '{}'", text(o)));
        }
        j += 1;
    }
    let at = match delivery {
        Some(t) if t >= 0 && (t as u64) <= now => t as u64,
        _ => now,
    };
    let Some(mut g) = s.groups.remove(&a[2][..]) else {
        return nogroup(key, &a[2]);
    };
    if last_id > g.last_id {
        g.last_id = last_id;
    }
    let name = &a[3];
    let mut out = Vec::new();
    let mut created = false;
    for id in ids {
        if s.get(id).is_none() {
            forget(&mut g, id);
            continue;
        }
        if force && !g.pel.contains_key(&id) {
            g.pel.insert(
                id,
                Nack {
                    consumer: None,
                    delivery_ms: now,
                    delivery_count: 1,
                },
            );
        }
        let Some(n) = g.pel.get(&id) else { continue };
        if n.consumer.is_some() && min_idle > 0 && now.saturating_sub(n.delivery_ms) < min_idle {
            continue;
        }
        created |= claim(&mut g, id, name, at, retry, justid, now);
        out.push(if justid {
            id_frame(id)
        } else {
            match s.get(id) {
                Some(f) => entry_frame(id, f),
                None => id_frame(id),
            }
        });
    }
    s.groups.insert(Bytes::copy_from_slice(&a[2]), g);
    if created {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    Frame::Array(out)
}

/// # Format
/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`
fn xautoclaim(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    let key = &a[1];
    let min_idle = match parse_i64(&a[4]) {
        Some(n) => n.max(0) as u64,
        None => return err("ERR Invalid min-idle-time argument for XAUTOCLAIM"),
    };
    let (mut start, start_ex) = match parse_interval_id(&a[5], 0) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if start_ex {
        match start.incr() {
            Some(s) => start = s,
            None => return err("ERR invalid start ID for the interval"),
        }
    }
    let mut count = 100usize;
    let mut justid = false;
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if eq_ic(&a[j], "count") && more > 0 {
            // Redis bounds COUNT so that count * 10 attempts cannot overflow.
            let max = i64::MAX / 16;
            match parse_i64(&a[j + 1]) {
                Some(n) if (1..=max).contains(&n) => count = n as usize,
                _ => return err("ERR COUNT must be > 0"),
            }

            j += 1;
        } else if eq_ic(&a[j], "justid") {
            justid = true;
        } else {
            return syntax();
        }
        j += 1;
    }
    let s = match stream_mut(ctx.shard(key), key, now) {
        Err(e) => return e,
        Ok(s) => s,
    };
    let Some(s) = s.filter(|s| s.groups.contains_key(&a[2][..])) else {
        return nogroup(key, &a[2]);
    };
    // Redis allocates 16 bytes per COUNT up front, once the group is found; past a
    // terabyte that fails.
    if count > 1 << 36 {
        return err("ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
    }
    let Some(mut g) = s.groups.remove(&a[2][..]) else {
        return nogroup(key, &a[2]);
    };
    let name = &a[3];
    let mut attempts = count.saturating_mul(10);
    let mut left = count;
    let mut out = Vec::new();
    let mut deleted = Vec::new();
    let mut created = false;
    let mut cursor = start;
    let mut next = StreamId::MIN;
    while let Some(id) = g.pel.range(cursor..).next().map(|(id, _)| *id) {
        if attempts == 0 || left == 0 {
            next = id;
            break;
        }
        attempts -= 1;
        cursor = match id.incr() {
            Some(c) => c,
            None => StreamId::MAX,
        };
        if s.get(id).is_none() {
            forget(&mut g, id);
            deleted.push(id_frame(id));
            left -= 1;
        } else {
            let idle = g
                .pel
                .get(&id)
                .map_or(0, |n| now.saturating_sub(n.delivery_ms));
            if min_idle == 0 || idle >= min_idle {
                created |= claim(&mut g, id, name, now, None, justid, now);
                out.push(if justid {
                    id_frame(id)
                } else {
                    match s.get(id) {
                        Some(f) => entry_frame(id, f),
                        None => id_frame(id),
                    }
                });
                left -= 1;
            }
        }
        if id == StreamId::MAX {
            break;
        }
    }
    s.groups.insert(Bytes::copy_from_slice(&a[2]), g);
    if created {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    Frame::Array(vec![
        id_frame(next),
        Frame::Array(out),
        Frame::Array(deleted),
    ])
}

// ---- XINFO ----------------------------------------------------------------------------------

/// XINFO GROUPS' reply.
pub(crate) fn groups_info(s: &Stream) -> Frame {
    Frame::Array(
        s.groups
            .iter()
            .map(|(name, g)| {
                Frame::Map(vec![
                    (bulk_str("name"), bulk(name.clone())),
                    (bulk_str("consumers"), int(g.consumers.len() as i64)),
                    (bulk_str("pending"), int(g.pel.len() as i64)),
                    (bulk_str("last-delivered-id"), id_frame(g.last_id)),
                    (
                        bulk_str("entries-read"),
                        g.entries_read.map_or(Frame::Null, |n| int(n as i64)),
                    ),
                    (bulk_str("lag"), s.lag(g).map_or(Frame::Null, int)),
                ])
            })
            .collect(),
    )
}

/// XINFO CONSUMERS' reply, or NOGROUP.
pub(crate) fn consumers_info(s: &Stream, key: &[u8], group: &[u8], now: u64) -> Frame {
    let Some(g) = s.groups.get(group) else {
        return err_owned(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            text(group),
            text(key)
        ));
    };
    Frame::Array(
        g.consumers
            .iter()
            .map(|(name, c)| {
                Frame::Map(vec![
                    (bulk_str("name"), bulk(name.clone())),
                    (bulk_str("pending"), int(c.pel.len() as i64)),
                    (bulk_str("idle"), int(now.saturating_sub(c.seen_ms) as i64)),
                ])
            })
            .collect(),
    )
}

/// The `groups` part of XINFO STREAM FULL (`count` limits each PEL listed; 0 = all).
pub(crate) fn groups_full(s: &Stream, count: usize) -> Frame {
    let limit = if count == 0 { usize::MAX } else { count };
    Frame::Array(
        s.groups
            .iter()
            .map(|(name, g)| {
                let pending: Vec<Frame> = g
                    .pel
                    .iter()
                    .take(limit)
                    .map(|(id, n)| {
                        Frame::Array(vec![
                            id_frame(*id),
                            bulk(n.consumer.clone().unwrap_or_default()),
                            int(n.delivery_ms as i64),
                            int(n.delivery_count as i64),
                        ])
                    })
                    .collect();
                let consumers: Vec<Frame> = g
                    .consumers
                    .iter()
                    .map(|(cname, c)| {
                        let pel: Vec<Frame> = c
                            .pel
                            .iter()
                            .take(limit)
                            .map(|id| {
                                let n = g.pel.get(id);
                                Frame::Array(vec![
                                    id_frame(*id),
                                    int(n.map_or(0, |n| n.delivery_ms as i64)),
                                    int(n.map_or(0, |n| n.delivery_count as i64)),
                                ])
                            })
                            .collect();
                        Frame::Map(vec![
                            (bulk_str("name"), bulk(cname.clone())),
                            (bulk_str("seen-time"), int(c.seen_ms as i64)),
                            (bulk_str("pel-count"), int(c.pel.len() as i64)),
                            (bulk_str("pending"), Frame::Array(pel)),
                        ])
                    })
                    .collect();
                Frame::Map(vec![
                    (bulk_str("name"), bulk(name.clone())),
                    (bulk_str("last-delivered-id"), id_frame(g.last_id)),
                    (
                        bulk_str("entries-read"),
                        g.entries_read.map_or(Frame::Null, |n| int(n as i64)),
                    ),
                    (bulk_str("lag"), s.lag(g).map_or(Frame::Null, int)),
                    (bulk_str("pel-count"), int(g.pel.len() as i64)),
                    (bulk_str("pending"), Frame::Array(pending)),
                    (bulk_str("consumers"), Frame::Array(consumers)),
                ])
            })
            .collect(),
    )
}
