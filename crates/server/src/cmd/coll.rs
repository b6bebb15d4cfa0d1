//! Helpers shared by the collection families (hashes, sets, sorted sets): typed access to a
//! key's value ([`with`], [`with_mut`]), HSCAN/SSCAN cursors, and random picks for
//! HRANDFIELD / SRANDMEMBER / SPOP.

use bytes::Bytes;
use confab_protocol::Frame;

use super::{err, parse_i64, syntax, wrongtype, Ctx, NOT_INTEGER};
use crate::db::zset::ZSet;
use crate::db::{Entry, HashValue, SetValue, Shard, Value};
use crate::{glob, notify};

/// A collection type with the typed access below: its TYPE name, its keyspace-event class,
/// and its place in [`Value`].
pub(crate) trait Collection: Sized {
    const TYPE: &'static str;
    const CLASS: u32;
    fn new_value() -> Value;
    fn of(v: &Value) -> Option<&Self>;
    fn of_mut(v: &mut Value) -> Option<&mut Self>;
    fn empty(&self) -> bool;
}

impl Collection for HashValue {
    const TYPE: &'static str = "hash";
    const CLASS: u32 = notify::HASH;
    fn new_value() -> Value {
        Value::Hash(Box::default())
    }
    fn of(v: &Value) -> Option<&Self> {
        match v {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }
    fn of_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }
    fn empty(&self) -> bool {
        self.is_empty()
    }
}

impl Collection for SetValue {
    const TYPE: &'static str = "set";
    const CLASS: u32 = notify::SET;
    fn new_value() -> Value {
        Value::Set(Box::default())
    }
    fn of(v: &Value) -> Option<&Self> {
        match v {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }
    fn of_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }
    fn empty(&self) -> bool {
        self.is_empty()
    }
}

impl Collection for ZSet {
    const TYPE: &'static str = "zset";
    const CLASS: u32 = notify::ZSET;
    fn new_value() -> Value {
        Value::ZSet(Box::default())
    }
    fn of(v: &Value) -> Option<&Self> {
        match v {
            Value::ZSet(z) => Some(z),
            _ => None,
        }
    }
    fn of_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::ZSet(z) => Some(z),
            _ => None,
        }
    }
    fn empty(&self) -> bool {
        self.is_empty()
    }
}

/// Store a command's result at `dst` (SINTERSTORE, ZUNIONSTORE, SORT ... STORE & co):
/// `value` replaces whatever `dst` held, with the `class` keyspace event `event` (and clients
/// blocked on `dst` may be served from it); an empty result (`None`) deletes `dst` instead,
/// with `del` if it existed.
pub(crate) fn store(
    ctx: &mut Ctx<'_, '_>,
    dst: &[u8],
    value: Option<Value>,
    class: u32,
    event: &'static str,
) {
    let now = ctx.now;
    let shard = ctx.shard(dst);
    match value {
        None => {
            if shard.remove(dst, now).is_some() {
                ctx.notify(notify::GENERIC, "del", dst);
            }
        }
        Some(v) => {
            let servable = v.serves_waiters();
            shard.insert(dst, v, 0);
            ctx.notify(class, event, dst);
            if servable {
                ctx.signal_key_ready(dst);
            }
        }
    }
}

/// Run `f` on the collection at `key` for reading (`None` if missing); WRONGTYPE if the key
/// holds another type.
pub(crate) fn with<T: Collection, R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(Option<&T>) -> R,
) -> Result<R, Frame> {
    let now = ctx.now;
    Ok(f(read(ctx.shard(key), key, now, T::TYPE)?.and_then(T::of)))
}

/// Run `f` on the collection at `key` for writing (created when `create`), then drop the key
/// if `f` emptied it (a key created for a command that then added nothing goes without a
/// trace). `f` sets `Changed` when it changed anything: then the watchers are marked and the
/// keyspace events sent, the command's `event` and `del` if the key went.
pub(crate) fn with_mut<T: Collection, R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    create: bool,
    event: &'static str,
    f: impl FnOnce(Option<&mut T>, &mut Changed) -> R,
) -> Result<R, Frame> {
    let now = ctx.now;
    let shard = ctx.shard(key);
    let make: Option<fn() -> Value> = create.then_some(T::new_value as fn() -> Value);
    let mut changed = Changed(false);
    let (r, empty) = match write_unmarked(shard, key, now, T::TYPE, make)?.and_then(T::of_mut) {
        Some(c) => {
            let r = f(Some(&mut *c), &mut changed);
            (r, c.empty())
        }
        None => (f(None, &mut changed), false),
    };
    if empty {
        shard.remove(key, now);
    } else if changed.0 {
        shard.touch(key);
    }
    if changed.0 {
        ctx.notify(T::CLASS, event, key);
        if empty {
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    Ok(r)
}

/// Options of HSCAN / SSCAN: `cursor [MATCH pattern] [COUNT count]`.
pub(crate) struct ScanOpts {
    pub cursor: u64,
    pub count: usize,
    pub pattern: Option<Bytes>,
}

/// Parse `cursor [MATCH p] [COUNT n]` starting at `a[2]` (after the key).
pub(crate) fn parse_scan(a: &[Bytes]) -> Result<ScanOpts, Frame> {
    let cursor = super::keys::parse_cursor(&a[2]).ok_or_else(|| err("ERR invalid cursor"))?;
    let mut o = ScanOpts {
        cursor,
        count: 10,
        pattern: None,
    };
    let mut i = 3;
    while i < a.len() {
        let more = a.len() - i >= 2;
        if more && super::eq_ic(&a[i], "count") {
            match parse_i64(&a[i + 1]) {
                None => return Err(err(NOT_INTEGER)),
                Some(c) if c < 1 => return Err(syntax()),
                Some(c) => o.count = c.min(1 << 20) as usize,
            }
        } else if more && super::eq_ic(&a[i], "match") {
            o.pattern = (&a[i + 1][..] != b"*").then(|| a[i + 1].clone());
        } else {
            return Err(syntax());
        }
        i += 2;
    }
    Ok(o)
}

/// Collections this small are returned whole by one SCAN call (cursor 0), as Redis does
/// for its compact encodings.
const SCAN_WHOLE_UP_TO: usize = 512;

/// Walk `items` (name, optional value) from `cursor`: about `count` items ordered by a stable
/// hash of the name, so every item present for the whole scan is returned at least once
/// whatever is added or removed meanwhile. Returns the next cursor (0 = done).
pub(crate) fn scan_items<'a>(
    items: impl Iterator<Item = (&'a Bytes, Option<&'a Bytes>)>,
    len: usize,
    o: &ScanOpts,
) -> (u64, Vec<Frame>) {
    let keep = |name: &Bytes| {
        o.pattern
            .as_ref()
            .is_none_or(|p| glob::matches(p, name, false))
    };
    let mut out = Vec::new();
    let push = |out: &mut Vec<Frame>, name: &Bytes, value: Option<&Bytes>| {
        out.push(Frame::Bulk(name.clone()));
        if let Some(v) = value {
            out.push(Frame::Bulk(v.clone()));
        }
    };
    if len <= SCAN_WHOLE_UP_TO {
        for (name, value) in items {
            if keep(name) {
                push(&mut out, name, value);
            }
        }
        return (0, out);
    }
    let hasher = scan_hasher();
    // Position 0 means "start"; positions are hash | 1 so no item sits at 0.
    let mut sorted: Vec<(u64, &Bytes, Option<&Bytes>)> = items
        .map(|(n, v)| (hasher.hash_one(n) | 1, n, v))
        .filter(|(h, _, _)| *h >= o.cursor)
        .collect();
    sorted.sort_unstable_by_key(|(h, _, _)| *h);
    let mut taken = 0;
    while taken < sorted.len() && (taken < o.count || sorted[taken].0 == sorted[taken - 1].0) {
        let (_, n, v) = sorted[taken];
        if keep(n) {
            push(&mut out, n, v);
        }
        taken += 1;
    }
    let next = sorted.get(taken).map_or(0, |(h, _, _)| *h);
    (next, out)
}

fn scan_hasher() -> &'static ahash::RandomState {
    static H: std::sync::OnceLock<ahash::RandomState> = std::sync::OnceLock::new();
    H.get_or_init(ahash::RandomState::new)
}

/// `[cursor, [items]]`.
pub(crate) fn scan_reply(next: u64, items: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(next.to_string())),
        Frame::Array(items),
    ])
}

/// Set by a command that changed the value it was given for writing: the key's watchers are
/// then marked, as Redis's `signalModifiedKey` is reached only by a change.
pub(crate) struct Changed(pub(crate) bool);

/// [`write`] leaving the watchers alone: the caller calls `Shard::touch` if it changes the
/// value.
pub(crate) fn write_unmarked<'s>(
    shard: &'s mut Shard,
    key: &[u8],
    now: u64,
    want: &str,
    create: Option<fn() -> Value>,
) -> Result<Option<&'s mut Value>, Frame> {
    typed(shard.get_mut_if_unmarked(key, now, |v| v.type_name() == want, create))
}

/// A typed lookup's outcome as [`write`] returns it: a refused type is WRONGTYPE.
fn typed(entry: Result<Option<&mut Entry>, ()>) -> Result<Option<&mut Value>, Frame> {
    match entry {
        Err(()) => Err(wrongtype()),
        Ok(entry) => Ok(entry.map(|e| &mut e.value)),
    }
}

/// Which variant a live key holds, without borrowing it.
pub(crate) fn kind(shard: &mut Shard, key: &[u8], now: u64) -> Option<&'static str> {
    shard.get(key, now).map(|e| e.value.type_name())
}

/// The key's value for reading, `Ok(None)` if missing, WRONGTYPE if `want` differs.
pub(crate) fn read<'s>(
    shard: &'s mut Shard,
    key: &[u8],
    now: u64,
    want: &str,
) -> Result<Option<&'s Value>, Frame> {
    match shard.get(key, now) {
        None => Ok(None),
        Some(Entry { value, .. }) if value.type_name() == want => Ok(Some(value)),
        Some(_) => Err(wrongtype()),
    }
}

/// The key's value for writing (watchers marked), created with `create` when missing and
/// `create` is given; WRONGTYPE (watchers untouched) if it holds another type. One lookup.
pub(crate) fn write<'s>(
    shard: &'s mut Shard,
    key: &[u8],
    now: u64,
    want: &str,
    create: Option<fn() -> Value>,
) -> Result<Option<&'s mut Value>, Frame> {
    typed(shard.get_mut_if(key, now, |v| v.type_name() == want, create))
}

/// Most picks a negative count (picks with repetition) may ask of HRANDFIELD, SRANDMEMBER or
/// ZRANDMEMBER. Redis has no bound and builds the reply until memory runs out (a count of
/// -9223372036854775807 gets it killed); confab refuses such a count instead.
pub(crate) const MAX_REPEATED_PICKS: u64 = 10_000_000;

/// The error for a negative count past [`MAX_REPEATED_PICKS`], if it is one.
pub(crate) fn check_repeated_picks(count: i64) -> Result<(), Frame> {
    if count < 0 && count.unsigned_abs() > MAX_REPEATED_PICKS {
        return Err(err(
            "ERR value is out of range, a negative count may ask for at most 10000000 elements",
        ));
    }
    Ok(())
}

/// Pick `count` positions out of `len` for the RANDFIELD/RANDMEMBER family: distinct when
/// `count` > 0 (all of them, in order, when `count` >= `len`), with repetitions when < 0.
pub(crate) fn random_positions(len: usize, count: i64) -> Vec<usize> {
    use rand::seq::index::sample;
    use rand::Rng;
    let mut rng = rand::thread_rng();
    if len == 0 || count == 0 {
        return Vec::new();
    }
    if count < 0 {
        let n = count.unsigned_abs() as usize;
        return (0..n).map(|_| rng.gen_range(0..len)).collect();
    }
    let n = count as usize;
    if n >= len {
        return (0..len).collect();
    }
    sample(&mut rng, len, n).into_vec()
}

/// The members of an intset (`SetValue::is_intset`, which also bounds their number) in
/// ascending numeric order, as Redis lists them; `None` if one does not parse as an integer.
pub(crate) fn intset_order(members: &[&Bytes]) -> Option<Vec<usize>> {
    let mut nums = Vec::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        nums.push((parse_i64(m)?, i));
    }
    nums.sort_unstable();
    Some(nums.into_iter().map(|(_, i)| i).collect())
}
