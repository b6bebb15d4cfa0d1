//! Stream commands without consumer groups: XADD, XLEN, XRANGE, XREVRANGE, XREAD, XDEL, XTRIM,
//! XSETID and XINFO (STREAM [FULL], GROUPS, CONSUMERS, HELP).
//!
//! Argument parsing, replies and errors follow Redis 7.0's t_stream.c, including its ID
//! syntax (`string2ull`, so `+5`, ` 5` and `007` are IDs too). The value itself (entries and
//! the model of Redis's macro nodes that `~` trimming and XINFO depend on) is db/stream.rs.
//!
//! XREAD BLOCK with nothing to read blocks (see `cmd::blocking`; inside MULTI it answers a
//! null at once); [`read_after`] and [`read_reply`] are the pieces a woken reader reruns.
//! Writes that change nothing (XDEL of missing IDs, XTRIM with nothing to trim, a rejected
//! XADD) leave watched keys alone, as Redis does.

use crate::notify;
use bytes::{Bytes, BytesMut};
use confab_protocol::{encode_array_len, encode_bulk, Frame, Protocol};

use super::conn::help_reply;
use super::{
    arity_error, arity_ok, bulk, bulk_str, coll, eq_ic, err, err_owned, int, ok, parse_i64, syntax,
    table, unknown_subcommand, Ctx, Handler, Plan, NOT_INTEGER,
};
use crate::db::stream::{AppendError, Fields, NewId, Stream, StreamId, Trim};
use crate::db::{Keyspace, Shard, ShardSet, Value};

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("xadd", xadd, Plan::Keys),
    ("xlen", xlen, Plan::Keys),
    ("xrange", xrange, Plan::Keys),
    ("xrevrange", xrevrange, Plan::Keys),
    ("xread", xread, Plan::Custom(xread_plan)),
    ("xdel", xdel, Plan::Keys),
    ("xtrim", xtrim, Plan::Keys),
    ("xsetid", xsetid, Plan::Keys),
    ("xinfo", xinfo, Plan::Custom(xinfo_plan)),
];

pub(crate) const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
/// COUNT Redis uses for a blocked XREAD given none (`XREAD_BLOCKED_DEFAULT_COUNT`).
#[allow(dead_code)] // for the blocking XREAD wiring
pub(crate) const XREAD_BLOCKED_DEFAULT_COUNT: usize = 1000;
/// Default limit of `~` trimming: 100 nodes' worth of entries (`100 *
/// stream-node-max-entries`), at most 1,000,000; 10,000 when that is 0 or overflows (Redis
/// multiplies in a `long long`).
fn approx_trim_limit(node_entries: u64) -> u64 {
    match (node_entries as i64).wrapping_mul(100) {
        n if n <= 0 => 10_000,
        n => n.min(1_000_000) as u64,
    }
}

fn new_stream() -> Value {
    Value::Stream(Box::default())
}

/// The stream at `key` for reading; `Ok(None)` if missing, WRONGTYPE if not a stream.
fn get_stream<'s>(shard: &'s mut Shard, key: &[u8], now: u64) -> Result<Option<&'s Stream>, Frame> {
    match coll::read(shard, key, now, "stream")? {
        Some(Value::Stream(s)) => Ok(Some(s)),
        _ => Ok(None),
    }
}

/// The stream at `key` for writing (marks watchers dirty), created when `create`.
fn get_stream_mut<'s>(
    shard: &'s mut Shard,
    key: &[u8],
    now: u64,
    create: bool,
) -> Result<Option<&'s mut Stream>, Frame> {
    let make: Option<fn() -> Value> = create.then_some(new_stream as fn() -> Value);
    match coll::write(shard, key, now, "stream", make)? {
        Some(Value::Stream(s)) => Ok(Some(s)),
        _ => Ok(None),
    }
}

fn reply(r: Result<Frame, Frame>) -> Frame {
    r.unwrap_or_else(|e| e)
}

// ---- IDs ------------------------------------------------------------------------------------

/// Redis's `string2ull`: a canonical non-negative i64, else C's `strtoull` base 10 (leading
/// spaces, a sign — `-` wraps around —, leading zeros; the whole string; no overflow).
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = s
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .unwrap_or(s.len());
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    super::unsigned_digits(neg, &s[i..])
}

/// A parsed ID argument; `seq_given` is false for the `<ms>-*` form.
struct ParsedId {
    id: StreamId,
    seq_given: bool,
}

/// Redis's `streamGenericParseIDOrReply`: `-`, `+` (unless `strict`), `<ms>`, `<ms>-<seq>`
/// and, with `auto_seq`, `<ms>-*`. A missing sequence is `missing_seq`. Like Redis, the
/// argument is read as a C string (up to a NUL) of at most 127 bytes.
fn parse_id_generic(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    auto_seq: bool,
) -> Option<ParsedId> {
    if arg.len() > 127 {
        return None;
    }
    let arg = arg.split(|&c| c == 0).next().unwrap_or_default();
    let given = |id| ParsedId {
        id,
        seq_given: true,
    };
    match arg {
        b"-" | b"+" if strict => return None,
        b"-" => return Some(given(StreamId::MIN)),
        b"+" => return Some(given(StreamId::MAX)),
        _ => {}
    }
    let (ms, seq) = match arg.iter().position(|&c| c == b'-') {
        None => (arg, None),
        Some(dash) => (&arg[..dash], Some(&arg[dash + 1..])),
    };
    let ms = string2ull(ms)?;
    match seq {
        None => Some(given(StreamId::new(ms, missing_seq))),
        Some(b"*") if auto_seq => Some(ParsedId {
            id: StreamId::new(ms, 0),
            seq_given: false,
        }),
        Some(seq) => Some(given(StreamId::new(ms, string2ull(seq)?))),
    }
}

/// An ID where `-` and `+` are not allowed (XADD, XDEL, XREAD, MINID, XSETID).
pub(crate) fn parse_strict_id(arg: &[u8]) -> Result<StreamId, Frame> {
    parse_id_generic(arg, 0, true, false)
        .map(|p| p.id)
        .ok_or_else(|| err(INVALID_ID))
}

/// An ID where `-` and `+` are allowed (Redis's `streamParseIDOrReply`: XGROUP SETID).
pub(crate) fn parse_id_or_reply(arg: &[u8]) -> Result<StreamId, Frame> {
    parse_id_generic(arg, 0, false, false)
        .map(|p| p.id)
        .ok_or_else(|| err(INVALID_ID))
}

/// A range bound of XRANGE / XREVRANGE: `(` makes it exclusive (and then `-`/`+` are not
/// allowed); returns the ID and whether it was exclusive.
pub(crate) fn parse_interval_id(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Frame> {
    let exclusive = arg.len() > 1 && arg[0] == b'(';
    let parsed = if exclusive {
        parse_id_generic(&arg[1..], missing_seq, true, false)
    } else {
        parse_id_generic(arg, missing_seq, false, false)
    };
    parsed
        .map(|p| (p.id, exclusive))
        .ok_or_else(|| err(INVALID_ID))
}

// ---- Replies --------------------------------------------------------------------------------

/// `[id, [field, value, ...]]`.
pub(crate) fn entry_frame(id: StreamId, fields: &Fields) -> Frame {
    Frame::Raw(crate::arena::build(entry_size(fields), |out| {
        put_entry(out, id, fields)
    }))
}

/// An array of entries, at most `count` of them (0 = all). Encoded straight into bytes
/// ([`Frame::Raw`]; the shape is the same in RESP2 and RESP3): a frame per ID, field and
/// value cost an allocation each, most of XRANGE's time.
fn entries_frame<'a>(it: impl Iterator<Item = (StreamId, &'a Fields)>, count: usize) -> Frame {
    let limit = if count == 0 { usize::MAX } else { count };
    let entries: smallvec::SmallVec<[(StreamId, &Fields); 16]> = it.take(limit).collect();
    let size: usize = entries.iter().map(|(_, f)| entry_size(f)).sum();
    Frame::Raw(crate::arena::build(size + 16, |out| {
        encode_array_len(out, entries.len());
        for (id, f) in entries {
            put_entry(out, id, f);
        }
    }))
}

/// An upper bound of [`put_entry`]'s output.
fn entry_size(f: &Fields) -> usize {
    // "*2", the ID (at most 41 bytes) with its header, "*n", and per item its header.
    4 + 50 + 24 + f.slices().map(|s| s.len() + 16).sum::<usize>()
}

fn put_entry(out: &mut BytesMut, id: StreamId, fields: &Fields) {
    encode_array_len(out, 2);
    encode_bulk(out, &id.text());
    encode_array_len(out, fields.len());
    for s in fields.slices() {
        encode_bulk(out, s);
    }
}

// ---- XADD / XTRIM options ---------------------------------------------------------------------

/// Options shared by XADD and XTRIM (`streamParseAddOrTrimArgsOrReply`).
#[derive(Default)]
struct TrimArgs {
    trim: Option<Trim>,
    approx: bool,
    /// Entries a trim may drop; 0 = no limit.
    limit: u64,
    nomkstream: bool,
    /// XADD: the ID (`None` for `*`) and the index of the first field.
    id: Option<ParsedId>,
    fields_at: usize,
}

const BOTH_STRATEGIES: &str =
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";

fn parse_trim_args(a: &[Bytes], xadd: bool, node_entries: u64) -> Result<TrimArgs, Frame> {
    let mut o = TrimArgs::default();
    let mut limit_given = false;
    let mut limit: i64 = 0;
    let mut i = 2;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let opt = &a[i][..];
        if xadd && opt == b"*" {
            break;
        } else if (eq_ic(opt, "maxlen") || eq_ic(opt, "minid")) && more > 0 {
            if o.trim.is_some() {
                return Err(err(BOTH_STRATEGIES));
            }
            o.approx = false;
            let next = &a[i + 1][..];
            if more >= 2 && next == b"~" {
                o.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let arg = &a[i + 1][..];
            o.trim = Some(if eq_ic(opt, "maxlen") {
                let n = parse_i64(arg).ok_or_else(|| err(NOT_INTEGER))?;
                if n < 0 {
                    return Err(err("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(parse_strict_id(arg)?)
            });
            i += 1;
        } else if eq_ic(opt, "limit") && more > 0 {
            limit = parse_i64(&a[i + 1]).ok_or_else(|| err(NOT_INTEGER))?;
            if limit < 0 {
                return Err(err("ERR The LIMIT argument must be >= 0."));
            }
            limit_given = true;
            i += 1;
        } else if xadd && eq_ic(opt, "nomkstream") {
            o.nomkstream = true;
        } else if xadd {
            o.id = Some(parse_id_generic(opt, 0, true, true).ok_or_else(|| err(INVALID_ID))?);
            break;
        } else {
            return Err(syntax());
        }
        i += 1;
    }
    if limit != 0 && o.trim.is_none() {
        return Err(err(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && o.trim.is_none() {
        return Err(err(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given {
        if !o.approx {
            return Err(err(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
        o.limit = limit as u64;
    } else if o.approx {
        o.limit = approx_trim_limit(node_entries);
    }
    o.fields_at = i + 1;
    Ok(o)
}

/// # Format
/// `XADD key [NOMKSTREAM] [<MAXLEN | MINID> [= | ~] threshold [LIMIT count]] <* | id>
/// field value [field value ...]`
fn xadd(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let o = match parse_trim_args(
        a,
        true,
        ctx.shared.keyspace.encodings.limits().stream_node_entries,
    ) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let n_items = a.len().saturating_sub(o.fields_at);
    if n_items < 2 || n_items % 2 == 1 {
        return arity_error("xadd");
    }
    let items = &a[o.fields_at..];
    let how = match &o.id {
        None => NewId::Auto {
            now_ms: crate::db::now_ms(),
        },
        Some(p) if !p.seq_given => NewId::AutoSeq { ms: p.id.ms },
        Some(p) if p.id == StreamId::MIN => {
            return err("ERR The ID specified in XADD must be greater than 0-0");
        }
        Some(p) => NewId::Explicit(p.id),
    };
    let key = &a[1];
    let now = ctx.now;
    let lim = ctx.shared.keyspace.encodings.limits();
    let shard = ctx.shard(key);
    // Check first without marking watchers: a rejected XADD changes nothing.
    let exists = match get_stream(shard, key, now) {
        Err(e) => return e,
        Ok(None) if o.nomkstream => return Frame::Null,
        Ok(None) => false,
        Ok(Some(s)) if s.last_id == StreamId::MAX => {
            return err(
                "ERR The stream has exhausted the last possible ID, unable to add more items",
            );
        }
        Ok(Some(s)) => {
            if let Err(e) = s.resolve_id(how) {
                return append_error(e);
            }
            true
        }
    };
    if exists && Stream::too_large(items) {
        return append_error(AppendError::TooLarge);
    }
    // Redis creates the stream before appending, so a new one stays even if this fails.
    let s = match get_stream_mut(shard, key, now, true) {
        Ok(Some(s)) => s,
        Ok(None) => return Frame::Null,
        Err(e) => return e,
    };
    let id = match s.append(how, items, &lim) {
        Ok(id) => id,
        Err(e) => return append_error(e),
    };
    let trimmed = match o.trim {
        Some(trim) => s.trim(trim, o.approx, o.limit),
        None => 0,
    };
    ctx.notify(notify::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    ctx.signal_key_ready(key);
    bulk(id.to_bytes())
}

fn append_error(e: AppendError) -> Frame {
    match e {
        AppendError::NotGreater => {
            err("ERR The ID specified in XADD is equal or smaller than the target stream top item")
        }
        // Redis picks the message from a stale `errno` for an exhausted `<ms>-*`; in a
        // fresh server that is not EDOM, so this is what it says.
        AppendError::SeqExhausted | AppendError::TooLarge => {
            err("ERR Elements are too large to be stored")
        }
    }
}

/// # Format
/// `XTRIM key <MAXLEN | MINID> [= | ~] threshold [LIMIT count]`
fn xtrim(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let o = match parse_trim_args(
        a,
        false,
        ctx.shared.keyspace.encodings.limits().stream_node_entries,
    ) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let Some(trim) = o.trim else {
        return syntax();
    };
    let key = &a[1];
    let now = ctx.now;
    let shard = ctx.shard(key);
    let would = match get_stream(shard, key, now) {
        Err(e) => return e,
        Ok(None) => return int(0),
        Ok(Some(s)) => s.trim_count(trim, o.approx, o.limit),
    };
    if would == 0 {
        return int(0);
    }
    let trimmed = match get_stream_mut(shard, key, now, false) {
        Ok(Some(s)) => s.trim(trim, o.approx, o.limit),
        Ok(None) => 0,
        Err(e) => return e,
    };
    if trimmed > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    int(trimmed as i64)
}

// ---- Reads --------------------------------------------------------------------------------------

/// # Format
/// `XLEN key`
fn xlen(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let now = ctx.now;
    match get_stream(ctx.shard(&a[1]), &a[1], now) {
        Ok(s) => int(s.map_or(0, |s| s.len() as i64)),
        Err(e) => e,
    }
}

/// # Format
/// `XRANGE key start end [COUNT count]`
fn xrange(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    range(ctx, a, false)
}

/// # Format
/// `XREVRANGE key end start [COUNT count]`
fn xrevrange(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    range(ctx, a, true)
}

/// XRANGE / XREVRANGE (`xrangeGenericCommand`).
fn range(ctx: &mut Ctx<'_, '_>, a: &[Bytes], rev: bool) -> Frame {
    reply(range_entries(ctx, a, rev))
}

fn range_entries(ctx: &mut Ctx<'_, '_>, a: &[Bytes], rev: bool) -> Result<Frame, Frame> {
    let (start_arg, end_arg) = if rev { (&a[3], &a[2]) } else { (&a[2], &a[3]) };
    let (mut start, ex) = parse_interval_id(start_arg, 0)?;
    if ex {
        start = start
            .incr()
            .ok_or_else(|| err("ERR invalid start ID for the interval"))?;
    }
    let (mut end, ex) = parse_interval_id(end_arg, u64::MAX)?;
    if ex {
        end = end
            .decr()
            .ok_or_else(|| err("ERR invalid end ID for the interval"))?;
    }
    let mut count: Option<i64> = None;
    let mut j = 4;
    while j < a.len() {
        if eq_ic(&a[j], "count") && j + 1 < a.len() {
            count = Some(parse_i64(&a[j + 1]).ok_or_else(|| err(NOT_INTEGER))?.max(0));
            j += 2;
        } else {
            return Err(syntax());
        }
    }
    let now = ctx.now;
    let Some(s) = get_stream(ctx.shard(&a[1]), &a[1], now)? else {
        return Ok(Frame::Array(vec![]));
    };
    Ok(match count {
        Some(0) => Frame::NullArray,
        Some(n) => entries_frame(s.range(start, end, rev), n as usize),
        None => entries_frame(s.range(start, end, rev), 0),
    })
}

// ---- XREAD ------------------------------------------------------------------------------------

/// XREAD's and XREADGROUP's options, before the IDs (which need the keys) are resolved.
pub(crate) struct XreadArgs {
    /// Entries per stream; 0 = all.
    pub count: usize,
    /// `BLOCK` milliseconds (0 = forever), if given.
    pub block: Option<u64>,
    /// Index of the first key; the IDs follow the keys.
    pub streams_at: usize,
    /// Number of streams.
    pub streams: usize,
    /// XREADGROUP's `GROUP group consumer` (always there for XREADGROUP).
    pub group: Option<(Bytes, Bytes)>,
    /// XREADGROUP's `NOACK`.
    pub noack: bool,
}

const UNBALANCED: &str =
    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.";

/// Parse XREAD's or XREADGROUP's options as `xreadCommand` does, up to and including
/// STREAMS; which command it is comes from the name's length, as there.
pub(crate) fn parse_xread(a: &[Bytes]) -> Result<XreadArgs, Frame> {
    let xreadgroup = a[0].len() == 10;
    let mut x = XreadArgs {
        count: 0,
        block: None,
        streams_at: 0,
        streams: 0,
        group: None,
        noack: false,
    };
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - i - 1;
        let o = &a[i][..];
        if eq_ic(o, "block") && more > 0 {
            i += 1;
            let ms = parse_i64(&a[i])
                .ok_or_else(|| err("ERR timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(err("ERR timeout is negative"));
            }
            x.block = Some(ms as u64);
        } else if eq_ic(o, "count") && more > 0 {
            i += 1;
            x.count = parse_i64(&a[i]).ok_or_else(|| err(NOT_INTEGER))?.max(0) as usize;
        } else if eq_ic(o, "streams") && more > 0 {
            x.streams_at = i + 1;
            let n = a.len() - x.streams_at;
            if !n.is_multiple_of(2) {
                return Err(err(UNBALANCED));
            }
            x.streams = n / 2;
            if xreadgroup && x.group.is_none() {
                return Err(err("ERR Missing GROUP option for XREADGROUP"));
            }
            return Ok(x);
        } else if eq_ic(o, "group") && more >= 2 {
            if !xreadgroup {
                return Err(err(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            x.group = Some((a[i + 1].clone(), a[i + 2].clone()));
            i += 2;
        } else if eq_ic(o, "noack") {
            if !xreadgroup {
                return Err(err(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            x.noack = true;
        } else {
            return Err(syntax());
        }
        i += 1;
    }
    Err(syntax())
}

/// XREAD and XREADGROUP lock the keys after STREAMS (movable keys).
pub(crate) fn xread_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    match parse_xread(a) {
        Ok(x) => a[x.streams_at..x.streams_at + x.streams]
            .iter()
            .map(|k| ks.shard_index(db, k))
            .collect(),
        Err(_) => ShardSet::new(),
    }
}

/// Entries of the stream at `key` with IDs after `after`, at most `count` (0 = all), as XREAD
/// replies them for one stream; `Ok(None)` if there are none (or no such key). What a blocked
/// XREAD reruns for a key when it is woken.
pub(crate) fn read_after(
    shard: &mut Shard,
    key: &[u8],
    now: u64,
    after: StreamId,
    count: usize,
) -> Result<Option<Frame>, Frame> {
    let Some(s) = get_stream(shard, key, now)? else {
        return Ok(None);
    };
    match s.last_entry_id() {
        Some(last) if last > after => Ok(Some(entries_frame(s.after(after), count))),
        _ => Ok(None),
    }
}

/// XREAD's reply for the streams served, in order: RESP2 an array of `[key, entries]`, RESP3
/// a map key → entries; a null array when none was.
pub(crate) fn read_reply(proto: Protocol, served: Vec<(Bytes, Frame)>) -> Frame {
    if served.is_empty() {
        return Frame::NullArray;
    }
    match proto {
        Protocol::Resp3 => Frame::Map(
            served
                .into_iter()
                .map(|(k, entries)| (bulk(k), entries))
                .collect(),
        ),
        _ => Frame::Array(
            served
                .into_iter()
                .map(|(k, entries)| Frame::Array(vec![bulk(k), entries]))
                .collect(),
        ),
    }
}

/// XREAD's starting points, after a type check of each key in order as Redis does (a
/// WRONGTYPE for one key comes before a bad ID for a later one): `$` is the stream's last ID
/// (0-0 for a missing key), `>` is refused.
pub(crate) fn resolve_read_ids(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    id_args: &[Bytes],
) -> Result<Vec<StreamId>, Frame> {
    let now = ctx.now;
    let mut after = Vec::with_capacity(keys.len());
    for (key, arg) in keys.iter().zip(id_args) {
        let s = get_stream(ctx.shard(key), key, now)?;
        after.push(match &arg[..] {
            b"$" => s.map_or(StreamId::MIN, |s| s.last_id),
            b">" => return Err(err("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")),
            _ => parse_strict_id(arg)?,
        });
    }
    Ok(after)
}

/// # Format
/// `XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]`
fn xread(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let x = match parse_xread(a) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let keys = &a[x.streams_at..x.streams_at + x.streams];
    let after = match resolve_read_ids(ctx, keys, &a[x.streams_at + x.streams..]) {
        Ok(ids) => ids,
        Err(e) => return e,
    };
    let now = ctx.now;
    let mut served = Vec::new();
    for (key, &id) in keys.iter().zip(&after) {
        match read_after(ctx.shard(key), key, now, id, x.count) {
            Ok(Some(entries)) => served.push((key.clone(), entries)),
            Ok(None) => {}
            Err(e) => return e,
        }
    }
    if let (true, Some(ms)) = (served.is_empty(), x.block) {
        // Nothing yet: wait for an XADD to one of `keys` past `after` (inside MULTI this
        // answers as a timeout at once).
        let count = if x.count == 0 {
            XREAD_BLOCKED_DEFAULT_COUNT
        } else {
            x.count
        };
        let op = super::blocking_op_xread(after, count, ctx.client.proto);
        let timeout = (ms > 0).then(|| std::time::Duration::from_millis(ms));
        return super::blocking::block(ctx, keys.to_vec(), op, timeout, Frame::NullArray);
    }
    read_reply(ctx.client.proto, served)
}

// ---- XDEL / XSETID ------------------------------------------------------------------------------

/// # Format
/// `XDEL key id [id ...]`
fn xdel(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let key = &a[1];
    let now = ctx.now;
    let shard = ctx.shard(key);
    // The key is looked up before the IDs are parsed, as Redis does.
    let ids = match get_stream(shard, key, now) {
        Err(e) => return e,
        Ok(None) => return int(0),
        Ok(Some(s)) => {
            let ids: Result<Vec<StreamId>, Frame> =
                a[2..].iter().map(|arg| parse_strict_id(arg)).collect();
            match ids {
                Err(e) => return e,
                Ok(ids) if !ids.iter().any(|&id| s.contains(id)) => return int(0),
                Ok(ids) => ids,
            }
        }
    };
    let deleted = match get_stream_mut(shard, key, now, false) {
        Ok(Some(s)) => ids.into_iter().filter(|&id| s.delete(id)).count(),
        Ok(None) => 0,
        Err(e) => return e,
    };
    if deleted > 0 {
        ctx.notify(notify::STREAM, "xdel", key);
    }
    int(deleted as i64)
}

/// # Format
/// `XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]`
fn xsetid(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    reply(set_id(ctx, a))
}

fn set_id(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Result<Frame, Frame> {
    let id = parse_strict_id(&a[2])?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < a.len() {
        let more = a.len() - 1 - i;
        if eq_ic(&a[i], "entriesadded") && more > 0 {
            let n = parse_i64(&a[i + 1]).ok_or_else(|| err(NOT_INTEGER))?;
            if n < 0 {
                return Err(err("ERR entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if eq_ic(&a[i], "maxdeletedid") && more > 0 {
            max_deleted = parse_strict_id(&a[i + 1])?;
            if id < max_deleted {
                return Err(err("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"));
            }
        } else {
            return Err(syntax());
        }
        i += 2;
    }
    let key = &a[1];
    let now = ctx.now;
    let shard = ctx.shard(key);
    let Some(s) = get_stream(shard, key, now)? else {
        return Err(err("ERR no such key"));
    };
    if let Some(top) = s.last_entry_id() {
        if id < top {
            return Err(err(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| (s.len() as u64) > n) {
            return Err(err("ERR The entries_added specified in XSETID is smaller than the target stream length"));
        }
    }
    // Redis's XSETID does not signal the key as modified: WATCHers of the stream stay clean.
    if let Some(Value::Stream(s)) = coll::write_unmarked(shard, key, now, "stream", None)? {
        s.last_id = id;
        if let Some(n) = entries_added {
            s.entries_added = n;
        }
        if max_deleted != StreamId::MIN {
            s.max_deleted_id = max_deleted;
        }
    }
    ctx.notify(notify::STREAM, "xsetid", key);
    Ok(ok())
}

// ---- XINFO ------------------------------------------------------------------------------------

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

/// XINFO's subcommands other than HELP name their key second.
fn xinfo_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    a.get(2)
        .map(|k| ks.shard_index(db, k))
        .into_iter()
        .collect()
}

/// `ERR unknown subcommand or wrong number of arguments for 'x'. Try XINFO HELP.`
fn xinfo_syntax_error(sub: &[u8]) -> Frame {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    err_owned(
        format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try XINFO HELP.")
            .replace(['\r', '\n'], " "),
    )
}

/// # Format
/// `XINFO STREAM key [FULL [COUNT count]]` / `XINFO GROUPS key` /
/// `XINFO CONSUMERS key group` / `XINFO HELP`
fn xinfo(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    // As the dispatcher does for other containers: unknown subcommand, then its arity.
    match table::lookup_sub("xinfo", &sub) {
        None => return unknown_subcommand("xinfo", &a[1]),
        Some(spec) if !arity_ok(spec.arity, a.len()) => return arity_error(spec.name),
        Some(_) => {}
    }
    if sub == "help" {
        return help_reply(XINFO_HELP);
    }
    let key = &a[2];
    let now = ctx.now;
    let s = match get_stream(ctx.shard(key), key, now) {
        Ok(Some(s)) => s,
        Ok(None) => return err("ERR no such key"),
        Err(e) => return e,
    };
    match sub.as_str() {
        "consumers" => super::groups::consumers_info(s, key, &a[3], now),
        "groups" => super::groups::groups_info(s),
        _ => stream_info(s, &a[3..], &a[1]),
    }
}

/// XINFO STREAM's reply (`xinfoReplyWithStreamInfo`).
fn stream_info(s: &Stream, opts: &[Bytes], sub: &[u8]) -> Frame {
    let full = match opts.len() {
        0 => None,
        1 | 3 if eq_ic(&opts[0], "full") => {
            if opts.len() == 3 {
                if !eq_ic(&opts[1], "count") {
                    return xinfo_syntax_error(sub);
                }
                match parse_i64(&opts[2]) {
                    None => return err(NOT_INTEGER),
                    Some(c) if c < 0 => Some(10),
                    Some(c) => Some(c as usize),
                }
            } else {
                Some(10)
            }
        }
        _ => return xinfo_syntax_error(sub),
    };
    let id = |id: StreamId| bulk(id.to_bytes());
    let mut m = vec![
        (bulk_str("length"), int(s.len() as i64)),
        (bulk_str("radix-tree-keys"), int(s.node_count() as i64)),
        (bulk_str("radix-tree-nodes"), int(s.rax_node_count() as i64)),
        (bulk_str("last-generated-id"), id(s.last_id)),
        (bulk_str("max-deleted-entry-id"), id(s.max_deleted_id)),
        (bulk_str("entries-added"), int(s.entries_added as i64)),
        (bulk_str("recorded-first-entry-id"), id(s.first_id())),
    ];
    match full {
        None => {
            let edge = |rev: bool| {
                s.range(StreamId::MIN, StreamId::MAX, rev)
                    .next()
                    .map_or(Frame::Null, |(id, f)| entry_frame(id, f))
            };
            m.push((bulk_str("groups"), int(s.groups.len() as i64)));
            m.push((bulk_str("first-entry"), edge(false)));
            m.push((bulk_str("last-entry"), edge(true)));
        }
        Some(count) => {
            m.push((
                bulk_str("entries"),
                entries_frame(s.range(StreamId::MIN, StreamId::MAX, false), count),
            ));
            m.push((bulk_str("groups"), super::groups::groups_full(s, count)));
        }
    }
    Frame::Map(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_like_redis() {
        let p =
            |s: &str| parse_id_generic(s.as_bytes(), 0, true, true).map(|p| (p.id, p.seq_given));
        assert_eq!(p("5"), Some((StreamId::new(5, 0), true)));
        assert_eq!(p("5-3"), Some((StreamId::new(5, 3), true)));
        assert_eq!(p("5-*"), Some((StreamId::new(5, 0), false)));
        assert_eq!(p("+5"), Some((StreamId::new(5, 0), true)));
        assert_eq!(p(" 5"), Some((StreamId::new(5, 0), true)));
        assert_eq!(p("005-01"), Some((StreamId::new(5, 1), true)));
        assert_eq!(p("1--05"), Some((StreamId::new(1, u64::MAX - 4), true)));
        assert_eq!(p("1--5"), None);
        assert_eq!(p("-"), None);
        assert_eq!(p("+"), None);
        assert_eq!(p("1-"), None);
        assert_eq!(p("5 "), None);
        assert_eq!(p("18446744073709551616"), None);
        assert_eq!(
            p("18446744073709551615-18446744073709551615"),
            Some((StreamId::MAX, true))
        );
        assert_eq!(p("7\0junk"), Some((StreamId::new(7, 0), true)));
        let loose = |s: &str| parse_id_generic(s.as_bytes(), u64::MAX, false, false).map(|p| p.id);
        assert_eq!(loose("-"), Some(StreamId::MIN));
        assert_eq!(loose("+"), Some(StreamId::MAX));
        assert_eq!(loose("3"), Some(StreamId::new(3, u64::MAX)));
        assert_eq!(loose("3-*"), None);
    }
}
