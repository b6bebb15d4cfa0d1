//! String commands: GET, SET and friends, counters, ranges.
//!
//! Replies and errors follow Redis 7.0's t_string.c. Values are bytes; counters parse and
//! format decimal text exactly like Redis (`string2ll`, human-friendly floats).

use bytes::Bytes;
use confab_protocol::Frame;

use super::{
    arg_i64, bulk, eq_ic, err, err_owned, int, ok, parse_i64, syntax, wrongtype, Ctx, Handler,
    Plan, NOT_FLOAT, NOT_INTEGER,
};
use crate::db::{Entry, Str, Value};
use crate::notify;

mod long_double;
pub(crate) use long_double::LongDouble;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("get", get, Plan::Keys),
    ("set", set, Plan::Keys),
    ("setnx", setnx, Plan::Keys),
    ("setex", setex, Plan::Keys),
    ("psetex", psetex, Plan::Keys),
    ("mget", mget, Plan::Keys),
    ("mset", mset, Plan::Keys),
    ("msetnx", msetnx, Plan::Keys),
    ("getset", getset, Plan::Keys),
    ("getdel", getdel, Plan::Keys),
    ("getex", getex, Plan::Keys),
    ("append", append, Plan::Keys),
    ("strlen", strlen, Plan::Keys),
    ("getrange", getrange, Plan::Keys),
    ("substr", getrange, Plan::Keys),
    ("setrange", setrange, Plan::Keys),
    ("incr", incr, Plan::Keys),
    ("decr", decr, Plan::Keys),
    ("incrby", incrby, Plan::Keys),
    ("decrby", decrby, Plan::Keys),
    ("incrbyfloat", incrbyfloat, Plan::Keys),
    ("lcs", lcs, Plan::Keys),
];

/// The string at `key` read through `f`: Ok(None) if missing, Err(WRONGTYPE) if another type.
pub(crate) fn with_str<T>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(&Str) -> T,
) -> Result<Option<T>, Frame> {
    let now = ctx.now;
    match ctx.shard(key).get(key, now) {
        None => Ok(None),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Ok(Some(f(s))),
        #[allow(unreachable_patterns)]
        Some(_) => Err(wrongtype()),
    }
}

/// The string at `key` (a clone of the stored value); see [`with_str`].
pub(crate) fn get_str(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<Bytes>, Frame> {
    with_str(ctx, key, Str::to_bytes)
}

fn reply_get(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Frame {
    // The reply is copied out of the shard (see `crate::arena`), not a clone of the value.
    let r = with_str(ctx, key, Str::reply);
    let stats = &ctx.shared.stats;
    match r {
        Ok(Some(v)) => {
            crate::stats::Stats::add(&stats.local().keyspace_hits, 1);
            bulk(v)
        }
        Ok(None) => {
            crate::stats::Stats::add(&stats.local().keyspace_misses, 1);
            Frame::Null
        }
        Err(e) => e,
    }
}

/// A stored copy of an argument: arguments are slices of the read buffer, and keeping one
/// would pin the whole buffer in memory.
pub(crate) fn own(b: &[u8]) -> Bytes {
    Bytes::copy_from_slice(b)
}

/// # Format
/// `GET key`
fn get(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply_get(ctx, &a[1])
}

#[derive(Default)]
struct SetOpts {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// The expiry argument's index and kind, as parsed.
    expire: Option<(usize, ExpireKind)>,
    /// Absolute expiry in ms, once resolved ([`SetOpts::resolve`]).
    expire_at: Option<u64>,
}

impl SetOpts {
    /// Turn the parsed expiry argument into an absolute time (Redis's
    /// `getExpireMillisecondsOrReply`): SET does this right after parsing, GETEX only once
    /// the key is found and is a string, as Redis orders its errors.
    fn resolve(&mut self, a: &[Bytes], now: u64, cmd: &str) -> Result<(), Frame> {
        if let Some((i, kind)) = self.expire {
            self.expire_at = Some(resolve_expire(&a[i], kind, now, cmd)?);
        }
        Ok(())
    }
}

#[derive(PartialEq, Clone, Copy)]
enum ExpireKind {
    None,
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// Parse SET / GETEX options (Redis's `parseExtendedStringArgumentsOrReply`): the syntax
/// only; the expiry is checked by [`SetOpts::resolve`].
fn parse_ext(a: &[Bytes], start: usize, is_set: bool) -> Result<SetOpts, Frame> {
    let mut o = SetOpts::default();
    let mut kind = ExpireKind::None;
    let mut expire_arg: Option<usize> = None;
    let mut j = start;
    while j < a.len() {
        let opt = &a[j];
        let has_next = j + 1 < a.len();
        let no_expire = kind == ExpireKind::None;
        if is_set && eq_ic(opt, "nx") && !o.xx {
            o.nx = true;
        } else if is_set && eq_ic(opt, "xx") && !o.nx {
            o.xx = true;
        } else if is_set && eq_ic(opt, "get") {
            o.get = true;
        } else if is_set && eq_ic(opt, "keepttl") && !o.persist && no_expire {
            o.keepttl = true;
        } else if !is_set && eq_ic(opt, "persist") && no_expire && !o.keepttl {
            o.persist = true;
        } else if has_next
            && !o.keepttl
            && !o.persist
            && (no_expire || kind == ExpireKind::Ex)
            && eq_ic(opt, "ex")
        {
            kind = ExpireKind::Ex;
            expire_arg = Some(j + 1);
            j += 1;
        } else if has_next
            && !o.keepttl
            && !o.persist
            && (no_expire || kind == ExpireKind::Px)
            && eq_ic(opt, "px")
        {
            kind = ExpireKind::Px;
            expire_arg = Some(j + 1);
            j += 1;
        } else if has_next
            && !o.keepttl
            && !o.persist
            && (no_expire || kind == ExpireKind::ExAt)
            && eq_ic(opt, "exat")
        {
            kind = ExpireKind::ExAt;
            expire_arg = Some(j + 1);
            j += 1;
        } else if has_next
            && !o.keepttl
            && !o.persist
            && (no_expire || kind == ExpireKind::PxAt)
            && eq_ic(opt, "pxat")
        {
            kind = ExpireKind::PxAt;
            expire_arg = Some(j + 1);
            j += 1;
        } else {
            return Err(syntax());
        }
        j += 1;
    }
    o.expire = expire_arg.map(|i| (i, kind));
    Ok(o)
}

fn invalid_expire(cmd: &str) -> Frame {
    err_owned(format!("ERR invalid expire time in '{cmd}' command"))
}

/// Redis's `getExpireMillisecondsOrReply`.
fn resolve_expire(arg: &[u8], kind: ExpireKind, now: u64, cmd: &str) -> Result<u64, Frame> {
    let v = arg_i64(arg)?;
    let seconds = matches!(kind, ExpireKind::Ex | ExpireKind::ExAt);
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(invalid_expire(cmd));
    }
    let mut ms = if seconds { v * 1000 } else { v };
    if matches!(kind, ExpireKind::Ex | ExpireKind::Px) {
        ms = ms
            .checked_add(now as i64)
            .ok_or_else(|| invalid_expire(cmd))?;
    }
    if ms <= 0 {
        return Err(invalid_expire(cmd));
    }
    Ok(ms as u64)
}

/// # Format
/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]`
fn set(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let mut o = match parse_ext(a, 3, true) {
        Ok(o) => o,
        Err(e) => return e,
    };
    if let Err(e) = o.resolve(a, ctx.now, "set") {
        return e;
    }
    let key = &a[1];
    let now = ctx.now;
    if !(o.nx || o.xx || o.get) {
        // Plain SET: one lookup, the value replaced in place for an existing key.
        let shard = ctx.shard(key);
        let value = Value::Str(Str::new(&a[2]));
        if o.keepttl {
            shard.insert_keep_ttl(key, value, now);
        } else {
            shard.insert(key, value, o.expire_at.unwrap_or(0));
        }
        notify_set(ctx, key, o.expire_at.is_some());
        return ok();
    }
    let old = match get_str(ctx, key) {
        Ok(v) => v,
        Err(e) if o.get => return e,
        Err(_) => None,
    };
    let found = ctx.shard(key).contains(key, now);
    let old_reply = || old.clone().map_or(Frame::Null, Frame::Bulk);
    if (o.nx && found) || (o.xx && !found) {
        return if o.get { old_reply() } else { Frame::Null };
    }
    let shard = ctx.shard(key);
    let value = Value::Str(Str::new(&a[2]));
    if o.keepttl {
        shard.insert_keep_ttl(key, value, now);
    } else {
        shard.insert(key, value, o.expire_at.unwrap_or(0));
    }
    notify_set(ctx, key, o.expire_at.is_some());
    if o.get {
        old_reply()
    } else {
        ok()
    }
}

/// Keyspace notifications of a SET: `set`, then `expire` when it set a TTL.
fn notify_set(ctx: &Ctx<'_, '_>, key: &[u8], expire: bool) {
    ctx.notify(notify::STRING, "set", key);
    if expire {
        ctx.notify(notify::GENERIC, "expire", key);
    }
}

/// # Format
/// `SETNX key value`
fn setnx(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    let shard = ctx.shard(&a[1]);
    if shard.contains(&a[1], now) {
        return int(0);
    }
    shard.insert(&a[1], Value::Str(Str::new(&a[2])), 0);
    ctx.notify(notify::STRING, "set", &a[1]);
    int(1)
}

fn set_with_expire(ctx: &mut Ctx<'_, '_>, a: &[Bytes], kind: ExpireKind, cmd: &str) -> Frame {
    let at = match resolve_expire(&a[2], kind, ctx.now, cmd) {
        Ok(at) => at,
        Err(e) => return e,
    };
    ctx.shard(&a[1])
        .insert(&a[1], Value::Str(Str::new(&a[3])), at);
    notify_set(ctx, &a[1], true);
    ok()
}

/// # Format
/// `SETEX key seconds value`
fn setex(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    set_with_expire(ctx, a, ExpireKind::Ex, "setex")
}

/// # Format
/// `PSETEX key milliseconds value`
fn psetex(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    set_with_expire(ctx, a, ExpireKind::Px, "psetex")
}

/// # Format
/// `MGET key [key ...]`
fn mget(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    let items = a[1..]
        .iter()
        .map(|k| match ctx.shard(k).get(k, now) {
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Frame::Bulk(s.reply()),
            _ => Frame::Null,
        })
        .collect();
    Frame::Array(items)
}

/// # Format
/// `MSET key value [key value ...]`
fn mset(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    if a.len().is_multiple_of(2) {
        return super::arity_error("mset");
    }
    for pair in a[1..].chunks_exact(2) {
        ctx.shard(&pair[0])
            .insert(&pair[0], Value::Str(Str::new(&pair[1])), 0);
        ctx.notify(notify::STRING, "set", &pair[0]);
    }
    ok()
}

/// # Format
/// `MSETNX key value [key value ...]`
fn msetnx(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    if a.len().is_multiple_of(2) {
        return super::arity_error("msetnx");
    }
    let now = ctx.now;
    if a[1..]
        .chunks_exact(2)
        .any(|p| ctx.shard(&p[0]).contains(&p[0], now))
    {
        return int(0);
    }
    for pair in a[1..].chunks_exact(2) {
        ctx.shard(&pair[0])
            .insert(&pair[0], Value::Str(Str::new(&pair[1])), 0);
        ctx.notify(notify::STRING, "set", &pair[0]);
    }
    int(1)
}

/// # Format
/// `GETSET key value`
fn getset(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let old = match get_str(ctx, &a[1]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    ctx.shard(&a[1])
        .insert(&a[1], Value::Str(Str::new(&a[2])), 0);
    ctx.notify(notify::STRING, "set", &a[1]);
    old.map_or(Frame::Null, Frame::Bulk)
}

/// # Format
/// `GETDEL key`
fn getdel(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let old = match get_str(ctx, &a[1]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if old.is_some() {
        let now = ctx.now;
        ctx.shard(&a[1]).remove(&a[1], now);
        ctx.notify(notify::GENERIC, "del", &a[1]);
    }
    old.map_or(Frame::Null, Frame::Bulk)
}

/// # Format
/// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]`
fn getex(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let mut o = match parse_ext(a, 2, false) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let v = match get_str(ctx, &a[1]) {
        Ok(Some(v)) => v,
        Ok(None) => return Frame::Null,
        Err(e) => return e,
    };
    let now = ctx.now;
    if let Err(e) = o.resolve(a, now, "getex") {
        return e;
    }
    let shard = ctx.shard(&a[1]);
    if let Some(at) = o.expire_at {
        if at <= now {
            shard.remove(&a[1], now);
            ctx.notify(notify::GENERIC, "del", &a[1]);
        } else {
            shard.set_expire(&a[1], at, now);
            ctx.notify(notify::GENERIC, "expire", &a[1]);
        }
    } else if o.persist && shard.get(&a[1], now).is_some_and(|e| e.expire_at() != 0) {
        // Like PERSIST: only a key that had a TTL changes (and touches its watchers).
        shard.set_expire(&a[1], 0, now);
        ctx.notify(notify::GENERIC, "persist", &a[1]);
    }
    bulk(v)
}

fn check_size(ctx: &Ctx<'_, '_>, len: usize) -> Result<(), Frame> {
    if len > ctx.shared.config.max_bulk_len {
        Err(err(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ))
    } else {
        Ok(())
    }
}

/// # Format
/// `APPEND key value`
fn append(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let old_len = match with_str(ctx, &a[1], |s| s.len()) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let now = ctx.now;
    match old_len {
        None => {
            let v = Str::new(&a[2]);
            let n = v.len();
            ctx.shard(&a[1]).insert(&a[1], Value::Str(v), 0);
            ctx.notify(notify::STRING, "append", &a[1]);
            int(n as i64)
        }
        Some(old_len) => {
            let len = old_len + a[2].len();
            if let Err(e) = check_size(ctx, len) {
                return e;
            }
            // In place (`Str::edit`): the buffer grows by doubling, so a string built by
            // appends costs amortized O(1) per append, as in Redis, not a copy each time.
            match ctx.shard(&a[1]).get_mut(&a[1], now) {
                Some(Entry {
                    value: Value::Str(s),
                    ..
                }) => s.edit(len, |p| p[old_len..].copy_from_slice(&a[2])),
                _ => return wrongtype(),
            }
            ctx.notify(notify::STRING, "append", &a[1]);
            int(len as i64)
        }
    }
}

/// # Format
/// `STRLEN key`
fn strlen(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    match get_str(ctx, &a[1]) {
        Ok(v) => int(v.map_or(0, |v| v.len() as i64)),
        Err(e) => e,
    }
}

/// # Format
/// `GETRANGE key start end`
fn getrange(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let (Some(mut start), Some(mut end)) = (parse_i64(&a[2]), parse_i64(&a[3])) else {
        return err(NOT_INTEGER);
    };
    let v = match get_str(ctx, &a[1]) {
        Ok(Some(v)) => v,
        Ok(None) => return bulk(Bytes::new()),
        Err(e) => return e,
    };
    let len = v.len() as i64;
    if start < 0 && end < 0 && start > end {
        return bulk(Bytes::new());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return bulk(Bytes::new());
    }
    bulk(v.slice(start as usize..=end as usize))
}

/// # Format
/// `SETRANGE key offset value`
fn setrange(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let offset = match arg_i64(&a[2]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    if offset < 0 {
        return err("ERR offset is out of range");
    }
    let old_len = match with_str(ctx, &a[1], |s| s.len()) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let value = &a[3];
    let offset = offset as usize;
    let now = ctx.now;
    match old_len {
        None => {
            if value.is_empty() {
                return int(0);
            }
            if let Err(e) = check_size(ctx, offset + value.len()) {
                return e;
            }
            let mut v = vec![0u8; offset + value.len()];
            v[offset..].copy_from_slice(value);
            let n = v.len();
            ctx.shard(&a[1])
                .insert(&a[1], Value::Str(Str::from(v).into_raw()), 0);
            ctx.notify(notify::STRING, "setrange", &a[1]);
            int(n as i64)
        }
        Some(old_len) => {
            if value.is_empty() {
                return int(old_len as i64);
            }
            if let Err(e) = check_size(ctx, offset + value.len()) {
                return e;
            }
            // In place (`Str::edit`): overwriting part of a big value copies only the part.
            let shard = ctx.shard(&a[1]);
            let n = match shard.get_mut(&a[1], now) {
                Some(Entry {
                    value: Value::Str(s),
                    ..
                }) => s.edit(offset + value.len(), |p| {
                    p[offset..offset + value.len()].copy_from_slice(value);
                    p.len()
                }),
                _ => return wrongtype(),
            };
            ctx.notify(notify::STRING, "setrange", &a[1]);
            int(n as i64)
        }
    }
}

fn incr_by(ctx: &mut Ctx<'_, '_>, key: &Bytes, by: i64) -> Frame {
    let now = ctx.now;
    let shard = ctx.shard(key);
    // Updated in place: one lookup for an existing counter. The watchers are marked only
    // once the value changed (an error leaves them alone, as in Redis).
    let new = match shard.get_mut_if_unmarked(key, now, |_| true, None) {
        Ok(Some(Entry {
            value: Value::Str(s),
            ..
        })) => {
            let Some(cur) = parse_i64(s) else {
                return err(NOT_INTEGER);
            };
            let Some(new) = cur.checked_add(by) else {
                return err("ERR increment or decrement would overflow");
            };
            *s = Str::new(itoa::Buffer::new().format(new).as_bytes());
            new
        }
        #[allow(unreachable_patterns)]
        Ok(Some(_)) | Err(()) => return wrongtype(),
        Ok(None) => {
            let text = Str::new(itoa::Buffer::new().format(by).as_bytes());
            shard.insert(key, Value::Str(text), 0);
            ctx.notify(notify::STRING, "incrby", key);
            return int(by);
        }
    };
    shard.touch(key);
    ctx.notify(notify::STRING, "incrby", key);
    int(new)
}

/// # Format
/// `INCR key`
fn incr(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    incr_by(ctx, &a[1], 1)
}

/// # Format
/// `DECR key`
fn decr(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    incr_by(ctx, &a[1], -1)
}

/// # Format
/// `INCRBY key increment`
fn incrby(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    match arg_i64(&a[2]) {
        Ok(by) => incr_by(ctx, &a[1], by),
        Err(e) => e,
    }
}

/// # Format
/// `DECRBY key decrement`
fn decrby(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    match arg_i64(&a[2]) {
        Ok(i64::MIN) => err("ERR decrement would overflow"),
        Ok(by) => incr_by(ctx, &a[1], -by),
        Err(e) => e,
    }
}

/// # Format
/// `INCRBYFLOAT key increment`
///
/// Computed as Redis does, in 80-bit `long double` ([`LongDouble`]): same accepted inputs,
/// same rounding, same `%.17Lf` digits.
fn incrbyfloat(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let old = match get_str(ctx, &a[1]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let cur = match old {
        None => LongDouble::ZERO,
        Some(v) => match LongDouble::parse(&v) {
            Some(n) => n,
            None => return err(NOT_FLOAT),
        },
    };
    let Some(by) = LongDouble::parse(&a[2]) else {
        return err(NOT_FLOAT);
    };
    let Some(new) = cur.plus(by) else {
        return err("ERR increment would produce NaN or Infinity");
    };
    let text = Bytes::from(new.to_human());
    let now = ctx.now;
    ctx.shard(&a[1]).insert_keep_ttl(
        &a[1],
        Value::Str(Str::from(text.clone()).into_not_int()),
        now,
    );
    ctx.notify(notify::STRING, "incrbyfloat", &a[1]);
    bulk(text)
}

/// # Format
/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]`
///
/// The longest common subsequence of two strings (a missing key is empty), by the textbook
/// dynamic-programming table; with IDX, the matching ranges found walking the table back from
/// the end, as Redis reports them (last match first).
fn lcs(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    let mut read = |k: &Bytes| match ctx.shard(k).get(k, now) {
        None => Ok(Bytes::new()),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Ok(s.reply()),
        Some(_) => Err(()),
    };
    let (Ok(x), Ok(y)) = (read(&a[1]), read(&a[2])) else {
        return err("ERR The specified keys must contain string values");
    };
    let (mut want_len, mut want_idx, mut with_len) = (false, false, false);
    let mut min_len: u64 = 0;
    let mut j = 3;
    while j < a.len() {
        if eq_ic(&a[j], "idx") {
            want_idx = true;
        } else if eq_ic(&a[j], "len") {
            want_len = true;
        } else if eq_ic(&a[j], "withmatchlen") {
            with_len = true;
        } else if eq_ic(&a[j], "minmatchlen") && j + 1 < a.len() {
            match parse_i64(&a[j + 1]) {
                Some(n) => min_len = n.max(0) as u64,
                None => return err(NOT_INTEGER),
            }
            j += 1;
        } else {
            return super::syntax();
        }
        j += 1;
    }
    if want_len && want_idx {
        return err("ERR If you want both the length and indexes, please just use IDX.");
    }
    let (n, m) = (x.len(), y.len());
    let cells = (n as u64 + 1).saturating_mul(m as u64 + 1);
    if cells.saturating_mul(4) > ctx.shared.config.max_bulk_len as u64 {
        return err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    // table[i][j]: LCS length of x[..i] and y[..j], row-major with m + 1 columns.
    let w = m + 1;
    let mut table = vec![0u32; (n + 1) * w];
    for i in 1..=n {
        for k in 1..=m {
            table[i * w + k] = if x[i - 1] == y[k - 1] {
                table[(i - 1) * w + k - 1] + 1
            } else {
                table[(i - 1) * w + k].max(table[i * w + k - 1])
            };
        }
    }
    let total = table[n * w + m] as usize;
    if want_len {
        return int(total as i64);
    }
    // Walk back from the end, collecting the common bytes and the runs of matches.
    let mut common = vec![0u8; total];
    let mut left = total;
    let mut ranges: Vec<Frame> = Vec::new();
    // The open run: (x start, x end, y start, y end).
    let mut run: Option<(usize, usize, usize, usize)> = None;
    let emit = |run: (usize, usize, usize, usize), ranges: &mut Vec<Frame>| {
        let (xs, xe, ys, ye) = run;
        let len = (xe - xs + 1) as u64;
        if min_len == 0 || len >= min_len {
            let pair = |s: usize, e: usize| Frame::Array(vec![int(s as i64), int(e as i64)]);
            let mut item = vec![pair(xs, xe), pair(ys, ye)];
            if with_len {
                item.push(int(len as i64));
            }
            ranges.push(Frame::Array(item));
        }
    };
    let (mut i, mut k) = (n, m);
    while i > 0 && k > 0 {
        if x[i - 1] == y[k - 1] {
            left -= 1;
            common[left] = x[i - 1];
            run = Some(match run {
                // Consecutive matches extend the run backwards.
                Some((xs, xe, ys, ye)) if xs == i && ys == k => (xs - 1, xe, ys - 1, ye),
                _ => (i - 1, i - 1, k - 1, k - 1),
            });
            i -= 1;
            k -= 1;
            // A run that reached the start of either string ends here.
            if let Some(r) = run.filter(|r| r.0 == 0 || r.2 == 0) {
                if want_idx {
                    emit(r, &mut ranges);
                }
                run = None;
            }
        } else {
            if table[(i - 1) * w + k] > table[i * w + k - 1] {
                i -= 1;
            } else {
                k -= 1;
            }
            if let Some(r) = run.take() {
                if want_idx {
                    emit(r, &mut ranges);
                }
            }
        }
    }
    if want_idx {
        let matches = Frame::Array(ranges);
        let len = int(total as i64);
        return match ctx.client.proto {
            confab_protocol::Protocol::Resp3 => Frame::Map(vec![
                (bulk(Bytes::from_static(b"matches")), matches),
                (bulk(Bytes::from_static(b"len")), len),
            ]),
            confab_protocol::Protocol::Resp2 => Frame::Array(vec![
                bulk(Bytes::from_static(b"matches")),
                matches,
                bulk(Bytes::from_static(b"len")),
                len,
            ]),
        };
    }
    bulk(Bytes::from(common))
}
