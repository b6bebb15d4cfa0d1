//! Helpers shared by the collection families (hashes, sets): typed access to a key's value,
//! HSCAN/SSCAN cursors, and random picks for HRANDFIELD / SRANDMEMBER / SPOP.

use bytes::Bytes;
use confab_protocol::Frame;

use super::{err, parse_i64, syntax, wrongtype, NOT_INTEGER};
use crate::db::{Entry, Shard, Value};
use crate::glob;

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

/// Whether every member parses as an integer, as Redis's intset encoding requires, for sets
/// small enough to be one: such sets list members in ascending numeric order in Redis.
pub(crate) fn intset_order(members: &[&Bytes]) -> Option<Vec<usize>> {
    const MAX_INTSET_ENTRIES: usize = 512;
    if members.is_empty() || members.len() > MAX_INTSET_ENTRIES {
        return None;
    }
    let mut nums = Vec::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        nums.push((parse_i64(m)?, i));
    }
    nums.sort_unstable();
    Some(nums.into_iter().map(|(_, i)| i).collect())
}
