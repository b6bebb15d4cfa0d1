//! Keyspace commands: existence, deletion, expiry, renaming, iteration, databases.
//!
//! Replies and errors follow Redis 7.0's db.c and expire.c.

use crate::notify;
use bytes::Bytes;
use confab_protocol::Frame;

use super::{
    arg_i64, bulk, eq_ic, err, err_owned, int, ok, parse_i64, syntax, Ctx, Handler, Plan,
    NOT_INTEGER,
};
use crate::db::{scan::scan_keys, Keyspace, ShardSet};
use crate::glob;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("del", del, Plan::Keys),
    ("unlink", unlink, Plan::Keys),
    ("exists", exists, Plan::Keys),
    ("touch", exists, Plan::Keys),
    ("type", type_cmd, Plan::Keys),
    ("expire", expire, Plan::Keys),
    ("pexpire", pexpire, Plan::Keys),
    ("expireat", expireat, Plan::Keys),
    ("pexpireat", pexpireat, Plan::Keys),
    ("ttl", ttl, Plan::Keys),
    ("pttl", pttl, Plan::Keys),
    ("expiretime", expiretime, Plan::Keys),
    ("pexpiretime", pexpiretime, Plan::Keys),
    ("persist", persist, Plan::Keys),
    ("rename", rename, Plan::Keys),
    ("renamenx", renamenx, Plan::Keys),
    ("keys", keys, Plan::Db),
    ("scan", scan, Plan::Db),
    ("randomkey", randomkey, Plan::Db),
    ("dbsize", dbsize, Plan::Db),
    ("flushdb", flushdb, Plan::Db),
    ("flushall", flushall, Plan::All),
    ("select", select, Plan::None),
    ("swapdb", swapdb, Plan::All),
    ("move", move_cmd, Plan::Custom(move_plan)),
    ("copy", copy, Plan::Custom(copy_plan)),
];

/// # Format
/// `DEL key [key ...]`
fn del(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    remove_keys(ctx, a, false)
}

/// # Format
/// `UNLINK key [key ...]`: DEL, with big values freed in the background (`lazyfree`).
fn unlink(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    remove_keys(ctx, a, true)
}

fn remove_keys(ctx: &mut Ctx<'_, '_>, a: &[Bytes], lazy: bool) -> Frame {
    let now = ctx.now;
    let mut n = 0;
    for k in &a[1..] {
        if let Some(entry) = ctx.shard(k).remove(k, now) {
            if lazy {
                ctx.shared.lazyfree.free_value(entry.value);
            }
            ctx.notify(notify::GENERIC, "del", k);
            n += 1;
        }
    }
    int(n as i64)
}

/// # Format
/// `EXISTS key [key ...]` / `TOUCH key [key ...]`
fn exists(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    let n = a[1..]
        .iter()
        .filter(|k| ctx.shard(k).contains(k, now))
        .count();
    int(n as i64)
}

/// # Format
/// `TYPE key`
fn type_cmd(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    let name = ctx
        .shard(&a[1])
        .get(&a[1], now)
        .map_or("none", |e| e.value.type_name());
    Frame::Simple(Bytes::from_static(name.as_bytes()))
}

const NX: u8 = 1;
const XX: u8 = 2;
const GT: u8 = 4;
const LT: u8 = 8;

/// Redis's `expireGenericCommand`: `basetime` is now (relative forms) or 0 (absolute forms).
fn expire_generic(ctx: &mut Ctx<'_, '_>, a: &[Bytes], basetime: i64, seconds: bool) -> Frame {
    let mut flags = 0u8;
    for opt in &a[3..] {
        flags |= if eq_ic(opt, "nx") {
            NX
        } else if eq_ic(opt, "xx") {
            XX
        } else if eq_ic(opt, "gt") {
            GT
        } else if eq_ic(opt, "lt") {
            LT
        } else {
            return err_owned(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            ));
        };
    }
    if flags & NX != 0 && flags & (XX | GT | LT) != 0 {
        return err("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if flags & GT != 0 && flags & LT != 0 {
        return err("ERR GT and LT options at the same time are not compatible");
    }
    let cmd = String::from_utf8_lossy(&a[0]).to_ascii_lowercase();
    let invalid = || err_owned(format!("ERR invalid expire time in '{cmd}' command"));
    let mut when = match arg_i64(&a[2]) {
        Ok(w) => w,
        Err(e) => return e,
    };
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return invalid();
        }
        when *= 1000;
    }
    if when > i64::MAX - basetime {
        return invalid();
    }
    when += basetime;
    let now = ctx.now;
    let key = &a[1];
    let shard = ctx.shard(key);
    let Some(entry) = shard.get(key, now) else {
        return int(0);
    };
    let current = entry.expire_at();
    let has_ttl = current != 0;
    if flags & NX != 0 && has_ttl {
        return int(0);
    }
    if flags & XX != 0 && !has_ttl {
        return int(0);
    }
    if flags & GT != 0 && (!has_ttl || when <= current as i64) {
        return int(0);
    }
    if flags & LT != 0 && has_ttl && when >= current as i64 {
        return int(0);
    }
    if when <= now as i64 {
        shard.remove(key, now);
        ctx.notify(notify::GENERIC, "del", key);
    } else {
        shard.set_expire(key, when as u64, now);
        ctx.notify(notify::GENERIC, "expire", key);
    }
    int(1)
}

/// # Format
/// `EXPIRE key seconds [NX | XX | GT | LT]`
fn expire(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let base = ctx.now as i64;
    expire_generic(ctx, a, base, true)
}

/// # Format
/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`
fn pexpire(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let base = ctx.now as i64;
    expire_generic(ctx, a, base, false)
}

/// # Format
/// `EXPIREAT key unix-time-seconds [NX | XX | GT | LT]`
fn expireat(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    expire_generic(ctx, a, 0, true)
}

/// # Format
/// `PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]`
fn pexpireat(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    expire_generic(ctx, a, 0, false)
}

/// Redis's `ttlGenericCommand`.
fn ttl_generic(ctx: &mut Ctx<'_, '_>, a: &[Bytes], ms: bool, abs: bool) -> Frame {
    let now = ctx.now;
    let Some(entry) = ctx.shard(&a[1]).get(&a[1], now) else {
        return int(-2);
    };
    let at = entry.expire_at();
    if at == 0 {
        return int(-1);
    }
    let ttl = if abs {
        at as i64
    } else {
        (at as i64 - now as i64).max(0)
    };
    // Rounded to the nearest second without overflowing for expiry times near i64::MAX
    // (PXAT 9223372036854775807 has EXPIRETIME 9223372036854776).
    int(if ms {
        ttl
    } else {
        ttl / 1000 + (ttl % 1000 + 500) / 1000
    })
}

/// # Format
/// `TTL key`
fn ttl(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    ttl_generic(ctx, a, false, false)
}

/// # Format
/// `PTTL key`
fn pttl(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    ttl_generic(ctx, a, true, false)
}

/// # Format
/// `EXPIRETIME key`
fn expiretime(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    ttl_generic(ctx, a, false, true)
}

/// # Format
/// `PEXPIRETIME key`
fn pexpiretime(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    ttl_generic(ctx, a, true, true)
}

/// # Format
/// `PERSIST key`
fn persist(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    let shard = ctx.shard(&a[1]);
    match shard.get(&a[1], now) {
        Some(e) if e.expire_at() != 0 => {
            shard.set_expire(&a[1], 0, now);
            ctx.notify(notify::GENERIC, "persist", &a[1]);
            int(1)
        }
        _ => int(0),
    }
}

fn rename_generic(ctx: &mut Ctx<'_, '_>, a: &[Bytes], nx: bool) -> Frame {
    let now = ctx.now;
    let (src, dst) = (&a[1], &a[2]);
    if !ctx.shard(src).contains(src, now) {
        return err("ERR no such key");
    }
    if src == dst {
        return if nx { int(0) } else { ok() };
    }
    if nx && ctx.shard(dst).contains(dst, now) {
        return int(0);
    }
    let Some(entry) = ctx.shard(src).remove(src, now) else {
        return err("ERR no such key");
    };
    let at = entry.expire_at();
    let servable = entry.value.serves_waiters();
    let dshard = ctx.shard(dst);
    dshard.remove(dst, now);
    dshard.insert(dst, entry.value, at);
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    if servable {
        ctx.signal_key_ready(dst);
    }
    if nx {
        int(1)
    } else {
        ok()
    }
}

/// # Format
/// `RENAME key newkey`
fn rename(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    rename_generic(ctx, a, false)
}

/// # Format
/// `RENAMENX key newkey`
fn renamenx(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    rename_generic(ctx, a, true)
}

/// # Format
/// `KEYS pattern`
fn keys(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let (db, now) = (ctx.client.db, ctx.now);
    let pattern = &a[1];
    let all = &pattern[..] == b"*";
    let shards: Vec<usize> = ctx.locked.db_shards(db).collect();
    let mut out = Vec::new();
    for i in shards {
        for (k, _) in ctx.locked.shard_at(i).iter_live(now) {
            if all || glob::matches(pattern, k, false) {
                out.push(Frame::Bulk(k.to_bytes()));
            }
        }
    }
    Frame::Array(out)
}

/// Parse a SCAN cursor as Redis's `parseScanCursorOrReply` does: C `strtoul` over the whole
/// argument with no leading space. So an optional sign is accepted and a minus negates modulo
/// 2^64 (`-1` is the largest cursor), and an empty argument is cursor 0; values above 2^64-1
/// (`ERANGE`) and any trailing byte are refused.
pub(crate) fn parse_cursor(b: &[u8]) -> Option<u64> {
    let (neg, digits) = match b.first() {
        None => return Some(0),
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        Some(_) => (false, b),
    };
    super::unsigned_digits(neg, digits)
}

/// # Format
/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
fn scan(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let Some(cursor) = parse_cursor(&a[1]) else {
        return err("ERR invalid cursor");
    };
    let mut count = 10usize;
    let mut pattern: Option<&Bytes> = None;
    let mut type_name: Option<&Bytes> = None;
    let mut i = 2;
    while i < a.len() {
        let more = a.len() - i >= 2;
        if more && eq_ic(&a[i], "count") {
            match parse_i64(&a[i + 1]) {
                None => return err(NOT_INTEGER),
                Some(c) if c < 1 => return syntax(),
                Some(c) => count = c.min(1 << 20) as usize,
            }
        } else if more && eq_ic(&a[i], "match") {
            pattern = (&a[i + 1][..] != b"*").then_some(&a[i + 1]);
        } else if more && eq_ic(&a[i], "type") {
            type_name = Some(&a[i + 1]);
        } else {
            return syntax();
        }
        i += 2;
    }
    let (db, now) = (ctx.client.db, ctx.now);
    let (next, found) = scan_keys(ctx.locked, db, cursor, count, now);
    let mut out = Vec::with_capacity(found.len());
    for k in found {
        if let Some(p) = pattern {
            if !glob::matches(p, &k, false) {
                continue;
            }
        }
        if let Some(t) = type_name {
            let shard = ctx.locked.shard(db, &k);
            match shard.get(&k, now) {
                Some(e) if eq_ic(t, e.value.type_name()) => {}
                _ => continue,
            }
        }
        out.push(Frame::Bulk(k));
    }
    Frame::Array(vec![bulk(Bytes::from(next.to_string())), Frame::Array(out)])
}

/// # Format
/// `RANDOMKEY`
fn randomkey(ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    use rand::seq::SliceRandom;
    let (db, now) = (ctx.client.db, ctx.now);
    let mut shards: Vec<usize> = ctx.locked.db_shards(db).collect();
    shards.shuffle(&mut rand::thread_rng());
    // Weighting by shard size keeps the choice close to uniform.
    let total: usize = shards.iter().map(|&i| ctx.locked.shard_at(i).len()).sum();
    if total == 0 {
        return Frame::Null;
    }
    let mut pick = rand::Rng::gen_range(&mut rand::thread_rng(), 0..total);
    for &i in &shards {
        let len = ctx.locked.shard_at(i).len();
        if pick < len {
            if let Some(k) = ctx.locked.shard_at(i).random_key(now) {
                return bulk(k);
            }
        }
        pick = pick.saturating_sub(len);
    }
    for &i in &shards {
        if let Some(k) = ctx.locked.shard_at(i).random_key(now) {
            return bulk(k);
        }
    }
    Frame::Null
}

/// # Format
/// `DBSIZE`
fn dbsize(ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    let (db, now) = (ctx.client.db, ctx.now);
    let shards: Vec<usize> = ctx.locked.db_shards(db).collect();
    let n: usize = shards
        .into_iter()
        .map(|i| ctx.locked.shard_at(i).iter_live(now).count())
        .sum();
    int(n as i64)
}

fn flush_args_ok(a: &[Bytes]) -> bool {
    a.len() == 1 || (a.len() == 2 && (eq_ic(&a[1], "sync") || eq_ic(&a[1], "async")))
}

/// Empty `shards`: at once, or with ASYNC in the background, counting their keys (Redis's
/// `emptyDbAsync`; `lazyfree`).
fn flush_shards(ctx: &mut Ctx<'_, '_>, a: &[Bytes], shards: impl Iterator<Item = usize>) {
    if a.len() == 2 && eq_ic(&a[1], "async") {
        let taken: Vec<_> = shards.map(|i| ctx.locked.shard_at(i).take()).collect();
        let keys: usize = taken.iter().map(|c| c.len()).sum();
        if keys > 0 {
            ctx.shared.lazyfree.free(taken, keys as u64);
        }
    } else {
        for i in shards {
            ctx.locked.shard_at(i).clear();
        }
    }
}

/// # Format
/// `FLUSHDB [ASYNC | SYNC]`
fn flushdb(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    if !flush_args_ok(a) {
        return syntax();
    }
    let db = ctx.client.db;
    let shards: Vec<usize> = ctx.locked.db_shards(db).collect();
    flush_shards(ctx, a, shards.into_iter());
    // Clients blocked on keys hear of it (XREADGROUP ones learn their stream is gone).
    for k in ctx.shared.blocking.keys_in(db) {
        ctx.signal_key_ready_in(db, &k);
    }
    ok()
}

/// # Format
/// `FLUSHALL [ASYNC | SYNC]`
fn flushall(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    if !flush_args_ok(a) {
        return syntax();
    }
    let count = ctx.locked.keyspace().shard_count();
    flush_shards(ctx, a, 0..count);
    for db in 0..ctx.shared.config.databases {
        for k in ctx.shared.blocking.keys_in(db) {
            ctx.signal_key_ready_in(db, &k);
        }
    }
    ok()
}

/// A database index argument: Redis's `getIntFromObjectOrReply` (no custom message: an integer
/// outside the C `int` range has its own error) then the range check.
fn db_index(ctx: &Ctx<'_, '_>, b: &[u8]) -> Result<usize, Frame> {
    let v = arg_i64(b)?;
    if i32::try_from(v).is_err() {
        return Err(err(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    if v < 0 || v as usize >= ctx.shared.keyspace.databases() {
        return Err(err("ERR DB index is out of range"));
    }
    Ok(v as usize)
}

/// # Format
/// `SELECT index`
fn select(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    match db_index(ctx, &a[1]) {
        Ok(db) => {
            ctx.client.db = db;
            ctx.client
                .handle
                .db
                .store(db, std::sync::atomic::Ordering::Relaxed);
            ok()
        }
        Err(e) => e,
    }
}

/// # Format
/// `SWAPDB index1 index2`
fn swapdb(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let first = parse_i64(&a[1]).filter(|v| i32::try_from(*v).is_ok());
    let Some(first) = first else {
        return err("ERR invalid first DB index");
    };
    let Some(second) = parse_i64(&a[2]).filter(|v| i32::try_from(*v).is_ok()) else {
        return err("ERR invalid second DB index");
    };
    let n = ctx.shared.keyspace.databases() as i64;
    if first < 0 || first >= n || second < 0 || second >= n {
        return err("ERR DB index is out of range");
    }
    let (d1, d2) = (first as usize, second as usize);
    if d1 != d2 {
        let per = crate::db::SHARDS_PER_DB;
        for s in 0..per {
            let (x, y) = ctx.locked.two_shards(d1 * per + s, d2 * per + s);
            x.swap_contents(y, ctx.now);
        }
        // Clients blocked on a key of either database may find a list or stream there now.
        if ctx.shared.blocking.blocked() > 0 {
            for db in [d1, d2] {
                for key in ctx.shared.blocking.keys_in(db) {
                    let servable = ctx
                        .locked
                        .shard(db, &key)
                        .get(&key, ctx.now)
                        .is_some_and(|e| e.value.serves_waiters());
                    if servable {
                        ctx.signal_key_ready_in(db, &key);
                    }
                }
            }
        }
    }
    ok()
}

fn target_db(ks: &Keyspace, b: &[u8]) -> Option<usize> {
    parse_i64(b)
        .filter(|v| *v >= 0 && (*v as usize) < ks.databases())
        .map(|v| v as usize)
}

fn move_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    let mut set = ShardSet::new();
    set.push(ks.shard_index(db, &a[1]));
    if let Some(dst) = target_db(ks, &a[2]) {
        set.push(ks.shard_index(dst, &a[1]));
    }
    set
}

/// # Format
/// `MOVE key db`
fn move_cmd(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let dst = match db_index(ctx, &a[2]) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let src = ctx.client.db;
    if src == dst {
        return err("ERR source and destination objects are the same");
    }
    let now = ctx.now;
    let key = &a[1];
    let ks = ctx.locked.keyspace();
    let (si, di) = (ks.shard_index(src, key), ks.shard_index(dst, key));
    let (s, d) = ctx.locked.two_shards(si, di);
    if !s.contains(key, now) || d.contains(key, now) {
        return int(0);
    }
    let Some(entry) = s.remove(key, now) else {
        return int(0);
    };
    let at = entry.expire_at();
    let servable = entry.value.serves_waiters();
    d.insert(key, entry.value, at);
    ctx.notify_db(notify::GENERIC, "move_from", src, key);
    ctx.notify_db(notify::GENERIC, "move_to", dst, key);
    if servable {
        ctx.signal_key_ready_in(dst, key);
    }
    int(1)
}

fn copy_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    let mut dst_db = db;
    let mut j = 3;
    while j < a.len() {
        if eq_ic(&a[j], "db") && j + 1 < a.len() {
            if let Some(d) = target_db(ks, &a[j + 1]) {
                dst_db = d;
            }
            j += 1;
        }
        j += 1;
    }
    let mut set = ShardSet::new();
    set.push(ks.shard_index(db, &a[1]));
    set.push(ks.shard_index(dst_db, &a[2]));
    set
}

/// # Format
/// `COPY source destination [DB destination-db] [REPLACE]`
fn copy(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let src_db = ctx.client.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < a.len() {
        if eq_ic(&a[j], "replace") {
            replace = true;
        } else if eq_ic(&a[j], "db") && j + 1 < a.len() {
            match db_index(ctx, &a[j + 1]) {
                Ok(d) => dst_db = d,
                Err(e) => return e,
            }
            j += 1;
        } else {
            return syntax();
        }
        j += 1;
    }
    let (key, newkey) = (&a[1], &a[2]);
    if src_db == dst_db && key == newkey {
        return err("ERR source and destination objects are the same");
    }
    let now = ctx.now;
    let Some(entry) = ctx.locked.shard(src_db, key).get(key, now).cloned() else {
        return int(0);
    };
    let dshard = ctx.locked.shard(dst_db, newkey);
    if dshard.contains(newkey, now) {
        if !replace {
            return int(0);
        }
        dshard.remove(newkey, now);
    }
    let at = entry.expire_at();
    let servable = entry.value.serves_waiters();
    dshard.insert(newkey, entry.value.copied(), at);
    ctx.notify_db(notify::GENERIC, "copy_to", dst_db, newkey);
    if servable {
        ctx.signal_key_ready_in(dst_db, newkey);
    }
    int(1)
}
