//! The sharded keyspace: every database's keys, values and expiry times.
//!
//! DESIGN. Each database is split into [`SHARDS_PER_DB`] shards, each a `std::sync::Mutex` over
//! its own hash map, chosen by a hash of the key. A command locks only the shards of the keys it
//! names, so commands on different keys do not contend. Guards are never held across an
//! `.await`: command handlers are synchronous functions that run while the guards are held.
//!
//! LOCK ORDER. All shards of all databases are numbered globally (`db * SHARDS_PER_DB + shard`).
//! Whoever needs more than one shard (multi-key commands, EXEC, SWAPDB, FLUSHALL, MOVE, COPY)
//! takes them through [`Keyspace::lock`], which sorts and de-duplicates the indexes and locks in
//! ascending order. No code locks a shard any other way while holding one, so there is no
//! deadlock. Nothing else (client registry, conversation log) is ever locked while shard guards
//! are held, except the per-shard watcher flags, which are atomics.
//!
//! EXPIRY. An entry's expiry is an absolute Unix time in milliseconds. Each shard also keeps an
//! ordered index of `(expire_at, key)`, maintained by every mutation here, so the active sweeper
//! reclaims expired keys in time order without scanning; reads expire lazily.
//!
//! WATCH. A shard keeps, only for watched keys, the flags of the clients watching them; every
//! mutation through this module sets those flags (Redis's `touchWatchedKey`).

pub(crate) mod key;
pub(crate) mod scan;
pub(crate) mod str;
pub(crate) mod stream;
pub(crate) mod zset;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use bytes::Bytes;
use smallvec::SmallVec;

pub(crate) use key::Key;
pub(crate) use str::Str;

/// Shards per database; a power of two so a mask picks the shard. Many shards keep
/// multi-key commands (MSET of 10 random keys) on two threads from colliding on a lock
/// (about 18% of the time at 512, 82% at 64); an empty shard costs ~150 bytes.
pub(crate) const SHARDS_PER_DB: usize = 512;

type Hasher = ahash::RandomState;

/// The thresholds of Redis's compact encodings and stream macro nodes, as CONFIG SET left
/// them (`hash-max-listpack-entries`, `hash-max-listpack-value`, `set-max-intset-entries`,
/// `zset-max-listpack-entries`, `zset-max-listpack-value`, `stream-node-max-bytes`,
/// `stream-node-max-entries`; Redis 7.0's defaults until then). They decide what OBJECT
/// ENCODING says, the order a set lists its members in, whether a sorted set keeps -0, and
/// where a stream's nodes split, which `MAXLEN ~` / `MINID ~` trimming and XINFO STREAM show.
/// As in Redis, a value is checked against them when written: a change applies to the
/// values written after it.
#[derive(Debug)]
pub(crate) struct Encodings {
    values: [AtomicU64; 7],
}

/// A snapshot of [`Encodings`], taken by a command before it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub hash_entries: u64,
    pub hash_value: u64,
    pub set_intset_entries: u64,
    pub zset_entries: u64,
    pub zset_value: u64,
    pub stream_node_bytes: u64,
    pub stream_node_entries: u64,
}

impl Limits {
    /// Redis 7.0's defaults (config.c).
    pub(crate) const DEFAULT: Limits = Limits {
        hash_entries: 512,
        hash_value: 64,
        set_intset_entries: 512,
        zset_entries: 128,
        zset_value: 64,
        stream_node_bytes: 4096,
        stream_node_entries: 100,
    };
}

/// The CONFIG names of [`Encodings`]' values, in their order.
const ENCODING_NAMES: [&str; 7] = [
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "set-max-intset-entries",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "stream-node-max-bytes",
    "stream-node-max-entries",
];

impl Default for Encodings {
    fn default() -> Self {
        let d = Limits::DEFAULT;
        let v = [
            d.hash_entries,
            d.hash_value,
            d.set_intset_entries,
            d.zset_entries,
            d.zset_value,
            d.stream_node_bytes,
            d.stream_node_entries,
        ];
        Encodings {
            values: v.map(AtomicU64::new),
        }
    }
}

impl Encodings {
    /// The current values.
    pub(crate) fn limits(&self) -> Limits {
        let v = |i: usize| self.values[i].load(Relaxed);
        Limits {
            hash_entries: v(0),
            hash_value: v(1),
            set_intset_entries: v(2),
            zset_entries: v(3),
            zset_value: v(4),
            stream_node_bytes: v(5),
            stream_node_entries: v(6),
        }
    }

    /// CONFIG GET of `name` (its current name); `None` if it is not one of these.
    pub(crate) fn get(&self, name: &str) -> Option<i64> {
        let i = ENCODING_NAMES.iter().position(|n| *n == name)?;
        Some(self.values[i].load(Relaxed) as i64)
    }

    /// CONFIG SET of `name` (its current name, already validated); false if it is not one
    /// of these.
    pub(crate) fn set(&self, name: &str, value: i64) -> bool {
        match ENCODING_NAMES.iter().position(|n| *n == name) {
            Some(i) => {
                self.values[i].store(value.max(0) as u64, Relaxed);
                true
            }
            None => false,
        }
    }
}

/// Whether a hash field or value is past `hash-max-listpack-value`, which makes the hash a
/// hashtable.
fn too_long(field: &[u8], value: &[u8], lim: &Limits) -> bool {
    field.len() as u64 > lim.hash_value || value.len() as u64 > lim.hash_value
}

/// Field → value map of a hash (the map's methods through `Deref`). Insertion-ordered, as
/// Redis's small (listpack) hashes are, so small hashes list their fields in the same order
/// as Redis. Remembers whether Redis would have converted it to a hashtable: once past the
/// listpack limits, for good, as in Redis.
#[derive(Clone, Debug, Default)]
pub(crate) struct HashValue {
    map: indexmap::IndexMap<Bytes, Bytes, Hasher>,
    big: bool,
}

impl HashValue {
    /// Set `field` to `value` (the map's `insert`, noting a field or value past the listpack
    /// limits, or one field too many).
    pub(crate) fn insert(&mut self, field: Bytes, value: Bytes, lim: &Limits) -> Option<Bytes> {
        self.big |= too_long(&field, &value, lim);
        let old = self.map.insert(field, value);
        if self.map.len() as u64 > lim.hash_entries {
            self.big = true;
        }
        old
    }

    /// Set `field` to `value`, adding the field if it is new; whether it was added. As
    /// Redis's `hashTypeSet`, a field or value past `hash-max-listpack-value` makes the hash
    /// a hashtable even when the field was there already.
    /// (The field is copied only when added.)
    pub(crate) fn set(&mut self, field: &[u8], value: Bytes, lim: &Limits) -> bool {
        match self.map.get_mut(field) {
            Some(v) => {
                self.big |= too_long(field, &value, lim);
                *v = value;
                false
            }
            None => {
                self.insert(Bytes::copy_from_slice(field), value, lim);
                true
            }
        }
    }

    /// Whether Redis would hold this hash as a listpack.
    pub(crate) fn is_listpack(&self) -> bool {
        !self.big
    }
}

impl std::ops::Deref for HashValue {
    type Target = indexmap::IndexMap<Bytes, Bytes, Hasher>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl std::ops::DerefMut for HashValue {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.map
    }
}

impl<'a> IntoIterator for &'a HashValue {
    type Item = (&'a Bytes, &'a Bytes);
    type IntoIter = indexmap::map::Iter<'a, Bytes, Bytes>;
    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

/// Members of a set (the set's methods through `Deref`), and whether Redis would have
/// converted it from an intset to a hashtable: once a member is not an integer or there are
/// too many, for good, as in Redis.
#[derive(Clone, Debug, Default)]
pub(crate) struct SetValue {
    set: indexmap::IndexSet<Bytes, Hasher>,
    big: bool,
}

impl SetValue {
    /// Add `member` (the set's `insert`, noting a member that is not an integer, or one too
    /// many).
    pub(crate) fn insert(&mut self, member: Bytes, lim: &Limits) -> bool {
        if !self.big && confab_protocol::parse_i64(&member).is_none() {
            self.big = true;
        }
        let added = self.set.insert(member);
        if self.set.len() as u64 > lim.set_intset_entries {
            self.big = true;
        }
        added
    }

    /// The encoding of a set built afresh with these members (SINTERSTORE and the like
    /// create their destination as an intset and add to it, as Redis does).
    pub(crate) fn reencode(&mut self, lim: &Limits) {
        self.big = self.set.len() as u64 > lim.set_intset_entries
            || !self
                .set
                .iter()
                .all(|m| confab_protocol::parse_i64(m).is_some());
    }

    /// Whether Redis would hold this set as an intset.
    pub(crate) fn is_intset(&self) -> bool {
        !self.big
    }
}

impl std::ops::Deref for SetValue {
    type Target = indexmap::IndexSet<Bytes, Hasher>;
    fn deref(&self) -> &Self::Target {
        &self.set
    }
}

impl std::ops::DerefMut for SetValue {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.set
    }
}

impl<'a> IntoIterator for &'a SetValue {
    type Item = &'a Bytes;
    type IntoIter = indexmap::set::Iter<'a, Bytes>;
    fn into_iter(self) -> Self::IntoIter {
        self.set.iter()
    }
}

impl IntoIterator for SetValue {
    type Item = Bytes;
    type IntoIter = indexmap::set::IntoIter<Bytes>;
    fn into_iter(self) -> Self::IntoIter {
        self.set.into_iter()
    }
}

/// A stored value.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// A string (binary safe).
    Str(Str),
    /// A hash (boxed, like sets and streams, so an entry stays small: the map's buckets
    /// hold only a pointer for them and string keys pack more per cache line).
    Hash(Box<HashValue>),
    /// A set.
    Set(Box<SetValue>),
    /// A list (a deque: O(1) at both ends).
    List(std::collections::VecDeque<Key>),
    /// A stream (boxed: it is large and rarer than the other types).
    Stream(Box<stream::Stream>),
    /// A sorted set.
    ZSet(Box<zset::ZSet>),
}

impl Value {
    /// Whether clients blocked on the key may be served from this value (a list or a zset
    /// for the blocking pops, a stream for XREAD BLOCK): a command that stores one at a key others
    /// wait on signals it, as Redis's `dbAdd` does.
    pub(crate) fn serves_waiters(&self) -> bool {
        matches!(self, Value::List(_) | Value::Stream(_) | Value::ZSet(_))
    }
}

impl Value {
    /// MEMORY USAGE of the value: its structures and, for collections, the element bytes of up
    /// to `samples` elements (0 = all), extrapolated to the rest as Redis does.
    pub(crate) fn memory_usage(&self, samples: usize) -> usize {
        use std::mem::size_of;
        // indexmap: a vector of (hash, key, value) and a table of indices (8 bytes and a
        // control byte per slot).
        let index = |cap: usize| heap_block(cap * 9);
        let bytes = |b: &Bytes| heap_block(b.len());
        match self {
            Value::Str(s) => s.heap_bytes(),
            Value::List(l) => {
                heap_block(l.capacity() * size_of::<Key>())
                    + sampled(l.iter(), samples, Key::heap_bytes)
            }
            Value::Hash(h) => {
                size_of::<HashValue>()
                    + heap_block(h.capacity() * (8 + 2 * size_of::<Bytes>()))
                    + index(h.capacity())
                    + sampled(h.iter(), samples, |(f, v)| bytes(f) + bytes(v))
            }
            Value::Set(s) => {
                size_of::<SetValue>()
                    + heap_block(s.capacity() * (8 + size_of::<Bytes>()))
                    + index(s.capacity())
                    + sampled(s.iter(), samples, bytes)
            }
            Value::Stream(s) => s.memory_usage(samples),
            Value::ZSet(z) => z.memory_usage(samples),
        }
    }

    /// The encoding Redis 7.0 would give this value, by the thresholds in force when it was
    /// written (OBJECT ENCODING; see `cmd::object` and [`Encodings`]).
    pub(crate) fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(_) => "quicklist",
            Value::Hash(h) => {
                if h.is_listpack() {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            Value::Set(s) => {
                if s.is_intset() {
                    "intset"
                } else {
                    "hashtable"
                }
            }
            Value::ZSet(z) => {
                if z.is_small() {
                    "listpack"
                } else {
                    "skiplist"
                }
            }
            Value::Stream(_) => "stream",
        }
    }

    /// The value as COPY stores it at its destination (see `str::Str::copied`).
    pub(crate) fn copied(self) -> Value {
        match self {
            Value::Str(s) => Value::Str(s.copied()),
            other => other,
        }
    }

    /// OBJECT REFCOUNT: 1, or `INT_MAX` for the small integers Redis shares.
    pub(crate) fn refcount(&self) -> i64 {
        match self {
            Value::Str(s) => s.refcount(),
            _ => 1,
        }
    }

    /// The name TYPE reports.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::List(_) => "list",
            Value::Stream(_) => "stream",
            Value::ZSet(_) => "zset",
        }
    }
}

/// Bytes glibc's malloc takes for a block of `n` bytes: 8 of header, rounded up to 16, at
/// least 32 (MEMORY USAGE's estimate of a heap block).
pub(crate) fn heap_block(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        ((n + 8 + 15) & !15).max(32)
    }
}

/// The sum of `each` over the first `samples` items (0 = all), scaled to all `items.len()`
/// (Redis's `objectComputeSize` sampling).
pub(crate) fn sampled<I: ExactSizeIterator>(
    items: I,
    samples: usize,
    each: impl Fn(I::Item) -> usize,
) -> usize {
    let len = items.len();
    let take = if samples == 0 { len } else { samples.min(len) };
    if take == 0 {
        return 0;
    }
    let sum: usize = items.take(take).map(each).sum();
    (sum as u128 * len as u128 / take as u128) as usize
}

/// A key's value and expiry.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// The value; mutate it in place through [`Shard::get_mut`].
    pub(crate) value: Value,
    /// Absolute Unix milliseconds at which the key expires; 0 = never. Private so the expiry
    /// index cannot go stale: change it through [`Shard::set_expire`].
    expire_at: u64,
}

// Every lookup touches a key's bucket: keep it to (key, entry) = 32 + 48 bytes.
const _: () = assert!(std::mem::size_of::<Entry>() <= 48);

impl Entry {
    /// Absolute Unix milliseconds at which the key expires, 0 if it never does.
    pub(crate) fn expire_at(&self) -> u64 {
        self.expire_at
    }

    fn is_expired(&self, now: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now
    }
}

/// What happens to a key's expiry when its value is replaced.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ttl {
    /// Keep the current expiry (none for a new key).
    Keep,
    /// Set this absolute expiry (0 = none).
    Set(u64),
}

/// Flag set when a watched key is modified; shared between a client and the shards it watches.
pub(crate) type WatchFlag = Arc<AtomicBool>;

/// A client watching a key of the shard.
struct Watcher {
    flag: WatchFlag,
    /// The key had expired, not yet reclaimed, when it was WATCHed (Redis's
    /// `watchedKey.expired`): its removal is then no change, as the key was already logically
    /// gone; a new value is one.
    expired: std::cell::Cell<bool>,
}

/// The keys a shard held, taken out whole by [`Shard::take`].
pub(crate) struct ShardContents {
    _map: HashMap<Key, Entry, Hasher>,
    _expires: BTreeSet<(u64, Key)>,
}

impl ShardContents {
    /// Keys, expired ones not yet reclaimed included.
    pub(crate) fn len(&self) -> usize {
        self._map.len()
    }
}

/// One shard of one database.
#[derive(Default)]
pub(crate) struct Shard {
    map: HashMap<Key, Entry, Hasher>,
    expires: BTreeSet<(u64, Key)>,
    watchers: HashMap<Bytes, Vec<Watcher>, Hasher>,
    /// The shard's database and its server's notification classes, for `expired` events.
    db: usize,
    notify: crate::notify::Flags,
    /// Keys removed because they expired, on access or by the sweeper: the server's count,
    /// shared by its shards (INFO `expired_keys`).
    expired: Arc<AtomicU64>,
}

impl Shard {
    /// Number of keys, including expired ones not yet reclaimed.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Number of keys with an expiry.
    pub(crate) fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// Bytes of bookkeeping the shard's tables take beside the keys and values (INFO's
    /// `used_memory_overhead`, as Redis counts its hash tables there): the map's control
    /// bytes and its empty buckets (a used bucket holds a key and its entry, often the whole
    /// key and value inline, and counts as data), and the expiry index (about twice its
    /// items' size, for the B-tree's nodes).
    pub(crate) fn table_bytes(&self) -> usize {
        let capacity = self.map.capacity();
        let bucket = std::mem::size_of::<(Key, Entry)>();
        let expiry = 2 * std::mem::size_of::<(u64, Key)>();
        capacity + capacity.saturating_sub(self.map.len()) * bucket + self.expires.len() * expiry
    }

    /// The total time to live, in milliseconds after `now`, of the keys with an expiry:
    /// exact up to 64 of them, else estimated from 64 spread over the expiry order (for
    /// INFO keyspace's `avg_ttl`). Already-expired keys count as 0.
    pub(crate) fn ttl_total(&self, now: u64) -> u128 {
        const SAMPLE: usize = 64;
        let n = self.expires.len();
        if n == 0 {
            return 0;
        }
        let step = n.div_ceil(SAMPLE);
        let (sum, taken) = self
            .expires
            .iter()
            .step_by(step)
            .fold((0u128, 0u128), |(sum, k), (at, _)| {
                (sum + u128::from(at.saturating_sub(now)), k + 1)
            });
        sum * n as u128 / taken.max(1)
    }

    /// The live entry for `key`, reclaiming it first if it has expired.
    pub(crate) fn get(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        self.expire_if_needed(key, now);
        self.map.get(key)
    }

    /// The live entry for `key` for modification; marks watchers of `key` dirty.
    pub(crate) fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        self.get_mut_if(key, now, |_| true, None).unwrap_or(None)
    }

    /// The live entry for `key` for modification if `accept` takes its value, in one lookup:
    /// `Ok(None)` if missing (with `make`, a missing key is first created holding `make()`),
    /// `Err(())` if `accept` refuses the value (a command meeting another type: WRONGTYPE leaves
    /// watchers untouched, as Redis's `signalModifiedKey` is never reached), else the entry,
    /// with the watchers of `key` marked dirty.
    pub(crate) fn get_mut_if(
        &mut self,
        key: &[u8],
        now: u64,
        accept: impl FnOnce(&Value) -> bool,
        make: Option<fn() -> Value>,
    ) -> Result<Option<&mut Entry>, ()> {
        self.entry_if(key, now, accept, make, true)
    }

    /// [`Shard::get_mut_if`] leaving the watchers alone, for commands that may change nothing
    /// (HDEL of a missing field, SADD of a member already there, a failed HINCRBY): they call
    /// [`Shard::touch`] once they did change the value, as Redis calls `signalModifiedKey`.
    pub(crate) fn get_mut_if_unmarked(
        &mut self,
        key: &[u8],
        now: u64,
        accept: impl FnOnce(&Value) -> bool,
        make: Option<fn() -> Value>,
    ) -> Result<Option<&mut Entry>, ()> {
        self.entry_if(key, now, accept, make, false)
    }

    fn entry_if(
        &mut self,
        key: &[u8],
        now: u64,
        accept: impl FnOnce(&Value) -> bool,
        make: Option<fn() -> Value>,
        mark: bool,
    ) -> Result<Option<&mut Entry>, ()> {
        self.expire_if_needed(key, now);
        let entry = match make {
            None => match self.map.get_mut(key) {
                None => return Ok(None),
                Some(e) => e,
            },
            // The entry API needs an owned key: a copy into the 24-byte `Key` (an allocation
            // only past 22 bytes), cheaper than the second lookup it saves.
            Some(make) => {
                let (notify, db) = (&self.notify, self.db);
                self.map.entry(Key::new(key)).or_insert_with(|| {
                    crate::notify::note(notify, crate::notify::NEW, "new", db, key);
                    Entry {
                        value: make(),
                        expire_at: 0,
                    }
                })
            }
        };
        if !accept(&entry.value) {
            return Err(());
        }
        if mark {
            // (The entry borrows the map, so the watchers are reached by field, not `touch`.)
            mark_watchers(&self.watchers, key, || true);
        }
        Ok(Some(entry))
    }

    /// MEMORY USAGE of `key`, if live: its slot in the map (key and entry), a long key's heap
    /// block, its place in the expiry index, and the value (see [`Value::memory_usage`]).
    pub(crate) fn memory_usage(&mut self, key: &[u8], now: u64, samples: usize) -> Option<usize> {
        use std::mem::size_of;
        let entry = self.get(key, now)?;
        let key_heap = Key::new(key).heap_bytes();
        // The map's slot and its control byte, with hashbrown's 1/8 of spare slots.
        let mut n = (size_of::<(Key, Entry)>() + 1) * 8 / 7 + key_heap;
        if entry.expire_at != 0 {
            // A B-tree slot for (expiry, key) and the key's second copy.
            n += size_of::<(u64, Key)>() * 3 / 2 + key_heap;
        }
        Some(n + entry.value.memory_usage(samples))
    }

    /// Whether `key` exists and is live.
    pub(crate) fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.get(key, now).is_some()
    }

    /// Store `value` under `key` with the given expiry (0 = none), replacing any old entry.
    /// An existing key is updated in place (one lookup, no key allocation); a new key is
    /// stored as a [`Key`] copied from `key` (arguments are slices of a connection's read
    /// buffer: keeping one would pin the whole buffer).
    pub(crate) fn insert(&mut self, key: &[u8], value: Value, expire_at: u64) {
        self.upsert(key, value, Ttl::Set(expire_at));
    }

    /// Store a value keeping the key's current expiry (for KEEPTTL and in-place rewrites).
    pub(crate) fn insert_keep_ttl(&mut self, key: &[u8], value: Value, now: u64) {
        self.expire_if_needed(key, now);
        self.upsert(key, value, Ttl::Keep);
    }

    /// Insert or replace; returns the previous value. Expired entries must already have been
    /// reclaimed by the caller when `ttl` is [`Ttl::Keep`].
    pub(crate) fn upsert(&mut self, k: &[u8], value: Value, ttl: Ttl) -> Option<Value> {
        if crate::notify::wanted(&self.notify, crate::notify::EXPIRED) {
            // Replacing a key that had expired: it expires first, with its event (as Redis's
            // lookup before a write reclaims it).
            if let Some(e) = self.map.get(k) {
                if e.expire_at != 0 && e.expire_at <= now_ms() {
                    self.remove_raw(k);
                    self.note_expired(k);
                }
            }
        }
        self.touch(k);
        if let Some(e) = self.map.get_mut(k) {
            let old_exp = e.expire_at;
            if old_exp != 0 && old_exp <= now_ms() {
                // Redis's lookup before a write deletes the expired key first.
                self.expired.fetch_add(1, Relaxed);
            }
            let new_exp = match ttl {
                Ttl::Keep => old_exp,
                Ttl::Set(t) => t,
            };
            e.expire_at = new_exp;
            let old = std::mem::replace(&mut e.value, value);
            if matches!(old, Value::Stream(_)) {
                crate::blocking::note_stream_gone(self.db, k);
            }
            if old_exp != new_exp {
                // Rare: fix the expiry index, which needs the stored key.
                if let Some((stored, _)) = self.map.get_key_value(k) {
                    let stored = stored.clone();
                    if old_exp != 0 {
                        self.expires.remove(&(old_exp, stored.clone()));
                    }
                    if new_exp != 0 {
                        self.expires.insert((new_exp, stored));
                    }
                }
            }
            return Some(old);
        }
        let expire_at = match ttl {
            Ttl::Keep => 0,
            Ttl::Set(t) => t,
        };
        let key = Key::new(k);
        if expire_at != 0 {
            self.expires.insert((expire_at, key.clone()));
        }
        self.map.insert(key, Entry { value, expire_at });
        self.note(crate::notify::NEW, "new", k);
        None
    }

    /// Remove `key`, returning its entry if it was live.
    pub(crate) fn remove(&mut self, key: &[u8], now: u64) -> Option<Entry> {
        let entry = self.remove_raw(key)?;
        if entry.is_expired(now) {
            self.note_expired(key);
            None
        } else {
            Some(entry)
        }
    }

    fn remove_raw(&mut self, key: &[u8]) -> Option<Entry> {
        let (k, entry) = self.map.remove_entry(key)?;
        if matches!(entry.value, Value::Stream(_)) {
            crate::blocking::note_stream_gone(self.db, key);
        }
        if entry.expire_at != 0 {
            self.expires.remove(&(entry.expire_at, k));
        }
        self.touch(key);
        Some(entry)
    }

    /// Set (or with 0, clear) the expiry of a live key. Returns false if the key is missing.
    pub(crate) fn set_expire(&mut self, key: &[u8], expire_at: u64, now: u64) -> bool {
        self.expire_if_needed(key, now);
        let Some((k, old)) = self
            .map
            .get_key_value(key)
            .map(|(k, e)| (k.clone(), e.expire_at))
        else {
            return false;
        };
        if old != 0 {
            self.expires.remove(&(old, k.clone()));
        }
        if let Some(entry) = self.map.get_mut(key) {
            entry.expire_at = expire_at;
        }
        if expire_at != 0 {
            self.expires.insert((expire_at, k));
        }
        self.touch(key);
        true
    }

    fn expire_if_needed(&mut self, key: &[u8], now: u64) {
        if self.expires.is_empty() {
            return;
        }
        if let Some(e) = self.map.get(key) {
            if e.is_expired(now) {
                self.remove_raw(key);
                self.note_expired(key);
            }
        }
    }

    /// A keyspace notification of `class` for `key` in this shard's database (see `notify`).
    #[inline]
    fn note(&self, class: u32, event: &'static str, key: &[u8]) {
        crate::notify::note(&self.notify, class, event, self.db, key);
    }

    /// A keyspace notification for a key that expired (see `notify`).
    #[inline]
    fn note_expired(&self, key: &[u8]) {
        self.expired.fetch_add(1, Relaxed);
        self.note(crate::notify::EXPIRED, "expired", key);
    }

    /// Reclaim up to `budget` expired keys in expiry order; returns how many were removed.
    pub(crate) fn reclaim_expired(&mut self, now: u64, budget: usize) -> usize {
        let mut n = 0;
        while n < budget {
            let Some((at, _)) = self.expires.first() else {
                break;
            };
            if *at > now {
                break;
            }
            let Some((_, key)) = self.expires.pop_first() else {
                break;
            };
            self.map.remove(&key);
            self.touch(&key);
            self.note_expired(&key);
            n += 1;
        }
        if n > 0 {
            self.shrink_if_sparse();
        }
        n
    }

    fn shrink_if_sparse(&mut self) {
        let cap = self.map.capacity();
        if cap > 64 && self.map.len() * 8 < cap {
            self.map.shrink_to(self.map.len() * 2);
        }
    }

    /// Remove everything (FLUSHDB), marking dirty the watchers of keys that existed (but not
    /// those that saw the key already expired: Redis's `touchAllWatchedKeysInDb`).
    pub(crate) fn clear(&mut self) {
        drop(self.take());
    }

    /// Empty the shard (FLUSHDB / FLUSHALL), handing back what it held, to be dropped
    /// elsewhere (ASYNC: see `lazyfree`). Watchers of the keys it held see them touched.
    pub(crate) fn take(&mut self) -> ShardContents {
        for (key, list) in &self.watchers {
            if self.map.contains_key(&key[..]) {
                for w in list {
                    if !w.expired.replace(false) {
                        w.flag.store(true, Ordering::Release);
                    }
                }
            }
        }
        ShardContents {
            _map: std::mem::take(&mut self.map),
            _expires: std::mem::take(&mut self.expires),
        }
    }

    /// Swap contents with the same shard of another database (SWAPDB); watchers stay put.
    /// As Redis's `touchAllWatchedKeysInDb`, a watcher is marked dirty when its key exists on
    /// either side, except when it saw the key expired and the key now is missing or expired
    /// again, or it saw the key missing and the key now is an expired one.
    pub(crate) fn swap_contents(&mut self, other: &mut Shard, now: u64) {
        for (watching, incoming) in [(&*self, &*other), (&*other, &*self)] {
            for (key, list) in &watching.watchers {
                let here = watching.map.contains_key(&key[..]);
                let there = incoming.map.get(&key[..]).map(|e| e.is_expired(now));
                if !here && there.is_none() {
                    continue;
                }
                for w in list {
                    if w.expired.get() {
                        match there {
                            None => {
                                w.expired.set(false);
                                continue;
                            }
                            Some(true) => continue,
                            Some(false) => {}
                        }
                    } else if !here && there == Some(true) {
                        w.expired.set(true);
                        continue;
                    }
                    w.flag.store(true, Ordering::Release);
                }
            }
        }
        std::mem::swap(&mut self.map, &mut other.map);
        std::mem::swap(&mut self.expires, &mut other.expires);
    }

    /// Iterate live keys with their entries.
    pub(crate) fn iter_live(&self, now: u64) -> impl Iterator<Item = (&Key, &Entry)> {
        self.map.iter().filter(move |(_, e)| !e.is_expired(now))
    }

    /// Register `flag` to be set when `key` changes, remembering whether the key was already
    /// expired (see [`Watcher::expired`]).
    pub(crate) fn watch(&mut self, key: Bytes, flag: WatchFlag, now: u64) {
        let expired = self.map.get(&key[..]).is_some_and(|e| e.is_expired(now));
        let list = self.watchers.entry(key).or_default();
        if !list.iter().any(|w| Arc::ptr_eq(&w.flag, &flag)) {
            list.push(Watcher {
                flag,
                expired: expired.into(),
            });
        }
    }

    /// Forget `flag` for `key`.
    pub(crate) fn unwatch(&mut self, key: &[u8], flag: &WatchFlag) {
        if let Some(list) = self.watchers.get_mut(key) {
            list.retain(|w| !Arc::ptr_eq(&w.flag, flag));
            if list.is_empty() {
                self.watchers.remove(key);
            }
        }
    }

    /// Whether `key`, watched through `flag` while live (or missing), has expired since (EXEC
    /// then fails, as Redis's `isWatchedKeyExpired` makes it), though not yet reclaimed.
    pub(crate) fn watched_key_expired(&self, key: &[u8], flag: &WatchFlag, now: u64) -> bool {
        if !self.map.get(key).is_some_and(|e| e.is_expired(now)) {
            return false;
        }
        self.watchers
            .get(key)
            .and_then(|list| list.iter().find(|w| Arc::ptr_eq(&w.flag, flag)))
            .is_some_and(|w| !w.expired.get())
    }

    /// Mark dirty the clients watching `key`: it was modified (or removed).
    pub(crate) fn touch(&self, key: &[u8]) {
        mark_watchers(&self.watchers, key, || self.map.contains_key(key));
    }

    /// A uniformly chosen live key, if any (RANDOMKEY).
    pub(crate) fn random_key(&self, now: u64) -> Option<Bytes> {
        use rand::Rng;
        let n = self.map.len();
        if n == 0 {
            return None;
        }
        let mut rng = rand::thread_rng();
        // Try a few random positions so a shard full of expired keys does not loop forever.
        for _ in 0..8 {
            let i = rng.gen_range(0..n);
            if let Some((k, e)) = self.map.iter().nth(i) {
                if !e.is_expired(now) {
                    return Some(k.to_bytes());
                }
            }
        }
        self.iter_live(now).next().map(|(k, _)| k.to_bytes())
    }
}

/// Mark dirty the clients watching `key` (Redis's `touchWatchedKey`); no hashing when nobody
/// watches a key of the shard (the common case). `present` tells whether the key is in the
/// map after the change: removing a key a client saw already expired is no change to it.
fn mark_watchers(
    watchers: &HashMap<Bytes, Vec<Watcher>, Hasher>,
    key: &[u8],
    present: impl Fn() -> bool,
) {
    if watchers.is_empty() {
        return;
    }
    if let Some(list) = watchers.get(key) {
        for w in list {
            if w.expired.get() && !present() {
                w.expired.set(false);
                continue;
            }
            w.flag.store(true, Ordering::Release);
        }
    }
}

/// Every database's shards.
pub(crate) struct Keyspace {
    /// parking_lot mutexes: critical sections are a few hash probes, and under contention (a
    /// hot key shared by both workers) a short spin before parking beats a futex sleep and
    /// wake. No poisoning: a handler that panics leaves the shard structurally sound (every
    /// mutation keeps the map and the expiry index consistent before returning).
    shards: Box<[Mutex<Shard>]>,
    /// Per shard: whether it may hold keys with an expiry. Kept up to date by every guard as
    /// it unlocks (true whenever the shard's expiry index is non-empty), so the sweeper skips
    /// the shards without TTLs by reading one dense array instead of locking (and pulling into
    /// cache) all 16 x 512 shards ten times a second.
    expiring: Box<[AtomicBool]>,
    databases: usize,
    hasher: Hasher,
    /// Keyspace notification classes (CONFIG SET notify-keyspace-events; see `notify`).
    pub(crate) notify: crate::notify::Flags,
    /// Encoding thresholds (CONFIG SET hash-max-listpack-entries & co).
    pub(crate) encodings: Encodings,
    /// Keys removed because they expired (see [`Shard`]'s `expired`).
    expired: Arc<AtomicU64>,
    /// Shard locks that were held by another thread when taken (counted on the slow path
    /// only): the balancer undoes a spread whose lanes fight over shards (`lanes`).
    contended: std::sync::atomic::AtomicU64,
}

/// Shard indexes a command needs, sorted before locking.
pub(crate) type ShardSet = SmallVec<[usize; 4]>;

impl Keyspace {
    pub(crate) fn new(databases: usize) -> Self {
        let notify = crate::notify::Flags::default();
        let expired = Arc::new(AtomicU64::new(0));
        let shards = (0..databases * SHARDS_PER_DB)
            .map(|i| {
                Mutex::new(Shard {
                    db: i / SHARDS_PER_DB,
                    notify: notify.clone(),
                    expired: expired.clone(),
                    ..Shard::default()
                })
            })
            .collect();
        Keyspace {
            notify,
            expired,
            encodings: Encodings::default(),
            shards,
            expiring: (0..databases * SHARDS_PER_DB)
                .map(|_| AtomicBool::new(false))
                .collect(),
            databases,
            hasher: Hasher::new(),
            contended: Default::default(),
        }
    }

    /// How many shard locks were found held by another thread when taken, since start.
    pub(crate) fn contended(&self) -> u64 {
        self.contended.load(Ordering::Relaxed)
    }

    /// Number of databases.
    /// Keys removed because they expired, on access or by the sweeper, since start or
    /// CONFIG RESETSTAT (INFO `expired_keys`).
    pub(crate) fn expired_keys(&self) -> u64 {
        self.expired.load(Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub(crate) fn reset_expired_keys(&self) {
        self.expired.store(0, Relaxed);
    }

    pub(crate) fn databases(&self) -> usize {
        self.databases
    }

    /// The key's hash; shards use its low bits, SCAN orders by it.
    pub(crate) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Global index of the shard holding `key` in `db`.
    pub(crate) fn shard_index(&self, db: usize, key: &[u8]) -> usize {
        db * SHARDS_PER_DB + (self.hash(key) as usize & (SHARDS_PER_DB - 1))
    }

    /// Lock the given shards in ascending order (the lock order; see the module doc).
    pub(crate) fn lock(&self, mut set: ShardSet) -> Locked<'_> {
        let mut guards = SmallVec::new();
        // Most commands name no key or one: no sorting, no iterator plumbing.
        match set.len() {
            0 => {}
            1 => guards.push((set[0], self.lock_one(set[0]))),
            _ => {
                set.sort_unstable();
                set.dedup();
                guards.extend(set.into_iter().map(|i| (i, self.lock_one(i))));
            }
        }
        Locked { ks: self, guards }
    }

    /// Lock every shard of `db`.
    #[cfg(test)]
    pub(crate) fn lock_db(&self, db: usize) -> Locked<'_> {
        self.lock((db * SHARDS_PER_DB..(db + 1) * SHARDS_PER_DB).collect())
    }

    /// Lock every shard of every database.
    pub(crate) fn lock_all(&self) -> Locked<'_> {
        self.lock((0..self.shards.len()).collect())
    }

    /// Lock one shard by global index (the sweeper and INFO, which hold one at a time).
    pub(crate) fn lock_one(&self, index: usize) -> ShardGuard<'_> {
        let guard = match self.shards[index].try_lock() {
            Some(g) => g,
            None => {
                self.contended.fetch_add(1, Ordering::Relaxed);
                self.shards[index].lock()
            }
        };
        ShardGuard {
            guard,
            expiring: &self.expiring[index],
        }
    }

    /// Whether shard `index` may hold keys with an expiry (see [`Keyspace::expiring`]).
    pub(crate) fn may_expire(&self, index: usize) -> bool {
        self.expiring[index].load(Ordering::Relaxed)
    }

    /// Total number of shards.
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }
}

/// A locked shard. Before unlocking it records whether the shard now holds expiring keys.
pub(crate) struct ShardGuard<'a> {
    guard: MutexGuard<'a, Shard>,
    expiring: &'a AtomicBool,
}

impl std::ops::Deref for ShardGuard<'_> {
    type Target = Shard;
    fn deref(&self) -> &Shard {
        &self.guard
    }
}

impl std::ops::DerefMut for ShardGuard<'_> {
    fn deref_mut(&mut self) -> &mut Shard {
        &mut self.guard
    }
}

impl Drop for ShardGuard<'_> {
    fn drop(&mut self) {
        // Still under the lock, so no later holder's update can be overwritten by this one.
        // Written only on change: the flag's cache line stays shared between cores.
        let has = !self.guard.expires.is_empty();
        if self.expiring.load(Ordering::Relaxed) != has {
            self.expiring.store(has, Ordering::Relaxed);
        }
    }
}

/// The shards one command (or one EXEC) holds while it runs.
pub(crate) struct Locked<'a> {
    ks: &'a Keyspace,
    guards: SmallVec<[(usize, ShardGuard<'a>); 2]>,
}

impl<'a> Locked<'a> {
    /// The locked shard holding `key` in `db`.
    ///
    /// Panics if the command's lock plan did not include it: that is a bug in the command
    /// table, caught by the tests of every command, and a panic only ends that connection.
    pub(crate) fn shard(&mut self, db: usize, key: &[u8]) -> &mut Shard {
        let idx = self.ks.shard_index(db, key);
        self.shard_at(idx)
    }

    /// The locked shard with global index `idx`.
    pub(crate) fn shard_at(&mut self, idx: usize) -> &mut Shard {
        match self.guards.binary_search_by_key(&idx, |(i, _)| *i) {
            Ok(pos) => &mut self.guards[pos].1,
            Err(_) => panic!("shard {idx} used without being locked: command lock plan is wrong"),
        }
    }

    /// Two different locked shards at once (SWAPDB, MOVE).
    pub(crate) fn two_shards(&mut self, a: usize, b: usize) -> (&mut Shard, &mut Shard) {
        let pa = self
            .guards
            .binary_search_by_key(&a, |(i, _)| *i)
            .unwrap_or_else(|_| panic!("shard {a} not locked"));
        let pb = self
            .guards
            .binary_search_by_key(&b, |(i, _)| *i)
            .unwrap_or_else(|_| panic!("shard {b} not locked"));
        assert_ne!(pa, pb, "two_shards needs two different shards");
        if pa < pb {
            let (lo, hi) = self.guards.split_at_mut(pb);
            (&mut lo[pa].1, &mut hi[0].1)
        } else {
            let (lo, hi) = self.guards.split_at_mut(pa);
            (&mut hi[0].1, &mut lo[pb].1)
        }
    }

    /// The keyspace these guards belong to.
    pub(crate) fn keyspace(&self) -> &'a Keyspace {
        self.ks
    }

    /// Global indexes of the locked shards of `db`, ascending.
    pub(crate) fn db_shards(&self, db: usize) -> impl Iterator<Item = usize> + '_ {
        self.guards
            .iter()
            .map(|(i, _)| *i)
            .filter(move |i| i / SHARDS_PER_DB == db)
    }
}

/// Current Unix time in milliseconds.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn expiry_index_stays_consistent() {
        let mut s = Shard::default();
        s.insert(&b("a"), Value::Str(Str::new(b"1")), 100);
        s.insert(&b("a"), Value::Str(Str::new(b"2")), 200);
        assert_eq!(s.expires_len(), 1);
        s.set_expire(b"a", 0, 0);
        assert_eq!(s.expires_len(), 0);
        s.set_expire(b"a", 50, 0);
        assert!(s.get(b"a", 49).is_some());
        assert!(s.get(b"a", 50).is_none());
        assert_eq!(s.len(), 0);
        assert_eq!(s.expires_len(), 0);
    }

    #[test]
    fn sweeper_reclaims_in_order() {
        let mut s = Shard::default();
        for i in 0..10u64 {
            s.insert(&b(&format!("k{i}")), Value::Str(Str::new(b"v")), 10 + i);
        }
        s.insert(&b("forever"), Value::Str(Str::new(b"v")), 0);
        assert_eq!(s.reclaim_expired(14, 100), 5);
        assert_eq!(s.reclaim_expired(100, 2), 2);
        assert_eq!(s.reclaim_expired(100, 100), 3);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn watchers_are_flagged() {
        let mut s = Shard::default();
        let f: WatchFlag = Arc::default();
        s.watch(b("w"), f.clone(), 0);
        s.insert(&b("other"), Value::Str(Str::new(b"v")), 0);
        assert!(!f.load(Ordering::Acquire));
        s.insert(&b("w"), Value::Str(Str::new(b"v")), 0);
        assert!(f.load(Ordering::Acquire));
    }

    /// Redis 7.0's `watchedKey.expired`: a key WATCHed after its expiry (not yet reclaimed)
    /// was already gone, so its removal changes nothing; a key WATCHed live that expires
    /// makes EXEC fail even before it is reclaimed, and its removal marks the watcher.
    #[test]
    fn watchers_of_expired_keys() {
        let v = || Value::Str(Str::new(b"v"));
        // Watched once expired, then removed (DEL, the sweeper): no change.
        let mut s = Shard::default();
        let f: WatchFlag = Arc::default();
        s.insert(&b("k"), v(), 100);
        s.watch(b("k"), f.clone(), 150);
        assert!(!s.watched_key_expired(b"k", &f, 150));
        assert!(s.remove(b"k", 150).is_none());
        assert!(!f.load(Ordering::Acquire));
        // ... but a new value afterwards is one.
        s.insert(&b("k"), v(), 0);
        assert!(f.load(Ordering::Acquire));

        // Watched once expired, then reclaimed by the sweeper, then FLUSHDB: no change.
        let mut s = Shard::default();
        let f: WatchFlag = Arc::default();
        s.insert(&b("k"), v(), 100);
        s.watch(b("k"), f.clone(), 150);
        assert_eq!(s.reclaim_expired(150, 10), 1);
        s.clear();
        assert!(!f.load(Ordering::Acquire));

        // Watched expired, FLUSHDB while it is still in the map: no change.
        let mut s = Shard::default();
        let f: WatchFlag = Arc::default();
        s.insert(&b("k"), v(), 100);
        s.watch(b("k"), f.clone(), 150);
        s.clear();
        assert!(!f.load(Ordering::Acquire));

        // Watched live, expired since: EXEC must fail; its reclaiming marks the watcher.
        let mut s = Shard::default();
        let f: WatchFlag = Arc::default();
        s.insert(&b("k"), v(), 100);
        s.watch(b("k"), f.clone(), 50);
        assert!(!s.watched_key_expired(b"k", &f, 99));
        assert!(s.watched_key_expired(b"k", &f, 100));
        assert_eq!(s.reclaim_expired(150, 10), 1);
        assert!(f.load(Ordering::Acquire));

        // SWAPDB: a missing key replaced by an expired one stays "no change", and so does an
        // expired one replaced by nothing; a live one replaced by an expired one is a change.
        let (mut s0, mut s1) = (Shard::default(), Shard::default());
        let (missing, expired, live) = (
            WatchFlag::default(),
            WatchFlag::default(),
            WatchFlag::default(),
        );
        s1.insert(&b("m"), v(), 100);
        s0.watch(b("m"), missing.clone(), 150);
        s0.insert(&b("e"), v(), 100);
        s0.watch(b("e"), expired.clone(), 150);
        s0.insert(&b("l"), v(), 0);
        s1.insert(&b("l"), v(), 100);
        s0.watch(b("l"), live.clone(), 150);
        s0.swap_contents(&mut s1, 150);
        assert!(!missing.load(Ordering::Acquire));
        assert!(!expired.load(Ordering::Acquire));
        assert!(live.load(Ordering::Acquire));
        // The swapped-in expired key counts as seen expired: reclaiming it is no change.
        assert_eq!(s0.reclaim_expired(150, 10), 2);
        assert!(!missing.load(Ordering::Acquire));
    }

    #[test]
    fn lock_order_is_sorted() {
        let ks = Keyspace::new(2);
        let mut set = ShardSet::new();
        set.extend([70, 3, 70, 1]);
        let l = ks.lock(set);
        let idx: Vec<usize> = l.guards.iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, vec![1, 3, 70]);
    }
}
