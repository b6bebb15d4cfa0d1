//! The stream value: an append-only log of entries with strictly increasing IDs
//! (`<ms>-<seq>`), each a list of field/value pairs. Owned by the streams family
//! (cmd/streams.rs), which parses arguments and builds replies; the keyspace only stores it.
//!
//! DESIGN. Entries live in a `BTreeMap` keyed by ID: O(log n) append, delete and seek, and
//! O(log n + count) range reads in either direction. Redis keeps entries in "macro nodes"
//! (listpacks of up to `stream-node-max-entries` entries / `stream-node-max-bytes` bytes,
//! indexed by a radix tree), and that layout is visible: `MAXLEN ~` / `MINID ~` trim only whole
//! nodes, and XINFO STREAM reports the radix tree's size. So beside the entries we keep a small
//! model of those nodes — per node its master ID and fields, live and deleted counts, the
//! listpack's byte size as Redis would encode it, and its last ID — updated exactly as
//! t_stream.c updates its listpacks. That makes approximate trimming remove exactly the entries
//! Redis removes, and XINFO report Redis's numbers, without storing listpacks. A node costs
//! one small record per up to 100 entries.
//!
//! Streams are never deleted when they become empty, as in Redis.

use std::collections::BTreeMap;
use std::ops::Bound;

use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;

use super::Limits;

/// Largest total size of one entry's fields and values, and of a node
/// (`STREAM_LISTPACK_MAX_SIZE`).
const MAX_ENTRY_BYTES: usize = 1 << 30;
/// Listpack header (total bytes + element count) and end marker.
const LP_HDR_AND_EOF: u64 = 6 + 1;
/// Entry flag: the entry has the same fields as its node's master entry.
const FLAG_SAMEFIELDS: i64 = 2;

/// A stream entry ID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    /// `0-0`, the smallest ID (`-`).
    pub(crate) const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest ID (`+`).
    pub(crate) const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub(crate) const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next ID, or `None` past the largest (Redis's `streamIncrID`).
    pub(crate) fn incr(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// The previous ID, or `None` before `0-0` (Redis's `streamDecrID`).
    pub(crate) fn decr(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }

    /// `<ms>-<seq>` as sent to clients.
    pub(crate) fn to_bytes(self) -> Bytes {
        Bytes::copy_from_slice(&self.text())
    }

    /// `<ms>-<seq>` in a buffer on the stack (at most 41 bytes).
    pub(crate) fn text(self) -> SmallVec<[u8; 41]> {
        let mut buf = itoa::Buffer::new();
        let mut out = SmallVec::new();
        out.extend_from_slice(buf.format(self.ms).as_bytes());
        out.push(b'-');
        out.extend_from_slice(buf.format(self.seq).as_bytes());
        out
    }

    /// The radix tree key Redis files a node under: the ID as a 128-bit big-endian number.
    fn rax_key(self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.ms.to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One entry's fields and values, alternating, copied into a single buffer (one allocation
/// per entry; replies hand out cheap slices of it).
#[derive(Clone, Debug)]
pub(crate) struct Fields {
    data: Bytes,
    /// End offset of each item in `data`.
    ends: SmallVec<[u32; 4]>,
}

impl Fields {
    /// Copy `items` (field, value, field, value, ...). Their total size is at most
    /// [`MAX_ENTRY_BYTES`], checked by the caller, so offsets fit in `u32`.
    fn copy_from(items: &[Bytes]) -> Fields {
        let total: usize = items.iter().map(Bytes::len).sum();
        let mut data = BytesMut::with_capacity(total);
        let mut ends = SmallVec::with_capacity(items.len());
        for it in items {
            data.extend_from_slice(it);
            ends.push(data.len() as u32);
        }
        Fields {
            data: data.freeze(),
            ends,
        }
    }

    /// Number of items (twice the number of pairs).
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Item `i`.
    fn item(&self, i: usize) -> Bytes {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.data.slice(start..self.ends[i] as usize)
    }

    /// The items in order as slices (no reference counting), for encoding replies.
    pub(crate) fn slices(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&end| {
            let s = &self.data[start..end as usize];
            start = end as usize;
            s
        })
    }
}

/// Redis's bookkeeping for one macro node (listpack); see the module doc.
#[derive(Clone, Debug)]
struct Node {
    /// Entries not deleted (the master entry's `count`).
    live: u32,
    /// Entries flagged deleted but still inside the listpack.
    deleted: u32,
    /// `lpBytes` of the listpack.
    bytes: u64,
    /// ID of the last entry in the listpack, deleted or not.
    last: StreamId,
    /// The master entry's fields (those of the node's first entry).
    master_fields: Box<[Bytes]>,
}

/// How a new entry's ID is chosen.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NewId {
    /// `*`: the current time in milliseconds, or the last ID's sequence plus one if the clock
    /// is not ahead of it (IDs never go backwards).
    Auto { now_ms: u64 },
    /// `<ms>-*`: this time, with the next free sequence number.
    AutoSeq { ms: u64 },
    /// `<ms>-<seq>` as given.
    Explicit(StreamId),
}

/// Why an entry cannot be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AppendError {
    /// The ID is not greater than the stream's last ID.
    NotGreater,
    /// `<ms>-*` with the sequence exhausted for that millisecond. Redis reports it through a
    /// stale `errno`; see cmd/streams.rs.
    SeqExhausted,
    /// The fields and values are larger than one listpack can hold.
    TooLarge,
}

/// A trimming strategy.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries with IDs below this one.
    MinId(StreamId),
}

/// What a trim would do: whole head nodes dropped, then entries dropped from the next node.
#[derive(Clone, Copy, Debug, Default)]
struct TrimPlan {
    nodes: usize,
    node_entries: u64,
    partial: u64,
}

/// A stream's entries and metadata.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stream {
    /// Live entries in ID order.
    entries: BTreeMap<StreamId, Fields>,
    /// Redis's macro nodes by master ID (the ID of the node's first entry).
    nodes: BTreeMap<StreamId, Node>,
    /// The last ID ever added or set with XSETID (IDs never go backwards).
    pub last_id: StreamId,
    /// Entries ever added (XINFO `entries-added`; XSETID can set it).
    pub entries_added: u64,
    /// The largest ID ever deleted by XDEL (XINFO `max-deleted-entry-id`).
    pub max_deleted_id: StreamId,
    /// Consumer groups by name, in byte order (Redis's radix tree order).
    pub groups: BTreeMap<Bytes, Group>,
}

/// A consumer group: where it has read to, what it delivered and nobody acknowledged yet
/// (the pending entries list, PEL), and its consumers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Group {
    /// The last entry delivered to the group (XREADGROUP `>` reads past it).
    pub last_id: StreamId,
    /// Entries the group has read, counting from the stream's first entry ever, when known
    /// (XINFO `entries-read`, used for `lag`); `None` is Redis's "invalid" (-1).
    pub entries_read: Option<u64>,
    /// Delivered, unacknowledged entries.
    pub pel: BTreeMap<StreamId, Nack>,
    /// Consumers by name, in byte order.
    pub consumers: BTreeMap<Bytes, Consumer>,
}

/// A pending entry: who has it, when it was last delivered (Unix ms), how often.
#[derive(Clone, Debug)]
pub(crate) struct Nack {
    /// `None` only for an entry XCLAIM FORCE put in the PEL before claiming it.
    pub consumer: Option<Bytes>,
    pub delivery_ms: u64,
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Clone, Debug, Default)]
pub(crate) struct Consumer {
    /// When it last read or claimed (Unix ms; XINFO CONSUMERS `idle`).
    pub seen_ms: u64,
    /// Its pending entries (each also in the group's PEL, naming this consumer).
    pub pel: std::collections::BTreeSet<StreamId>,
}

impl Stream {
    /// Whether XDEL left a tombstone between `start` and the end of the stream (Redis's
    /// `streamRangeHasTombstones(s, start, NULL)`).
    pub(crate) fn tombstones_from(&self, start: StreamId) -> bool {
        if self.entries.is_empty() || self.max_deleted_id == StreamId::MIN {
            return false;
        }
        if self.first_id() > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id
    }

    /// The count of entries from the first ever added up to `id`, when it can be known
    /// (Redis's `streamEstimateDistanceFromFirstEverEntry`).
    pub(crate) fn distance_from_first_ever(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.entries.is_empty() && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        let first = self.first_id();
        if self.max_deleted_id == StreamId::MIN || self.max_deleted_id < first {
            let len = self.entries.len() as u64;
            match id.cmp(&first) {
                std::cmp::Ordering::Less => return Some(self.entries_added - len),
                std::cmp::Ordering::Equal => return Some(self.entries_added - len + 1),
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// A group's lag: entries not yet delivered to it, when it can be known (Redis's
    /// `streamReplyWithCGLag`; negative when XGROUP ... ENTRIESREAD claimed more than the
    /// stream ever had, as in Redis).
    pub(crate) fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let added = self.entries_added as i64;
        if let Some(read) = g.entries_read {
            if !self.tombstones_from(g.last_id) {
                return Some(added.wrapping_sub(read as i64));
            }
        }
        self.distance_from_first_ever(g.last_id)
            .map(|read| added.wrapping_sub(read as i64))
    }

    /// Account for delivering entry `id` to group `g` (Redis's `streamReplyWithRange` with a
    /// group): its last ID and read counter move forward.
    pub(crate) fn advance_group(&self, g: &mut Group, id: StreamId) {
        if id <= g.last_id {
            return;
        }
        match g.entries_read {
            Some(read) if !self.tombstones_from(id) => g.entries_read = Some(read + 1),
            _ if self.entries_added > 0 => g.entries_read = self.distance_from_first_ever(id),
            _ => {}
        }
        g.last_id = id;
    }

    /// The fields of entry `id`, if it is there.
    pub(crate) fn get(&self, id: StreamId) -> Option<&Fields> {
        self.entries.get(&id)
    }
}

impl Stream {
    /// MEMORY USAGE of the stream's own structures: the B-tree slots of every entry and node,
    /// and the field buffers of up to `samples` entries (0 = all), the rest extrapolated.
    pub(crate) fn memory_usage(&self, samples: usize) -> usize {
        // A B-tree leaf holds up to 11 slots and is about two thirds full.
        let slots = |n: usize, slot: usize| n * slot * 3 / 2;
        let entries = slots(
            self.entries.len(),
            std::mem::size_of::<(StreamId, Fields)>(),
        ) + super::sampled(self.entries.values(), samples, |f| {
            super::heap_block(f.data.len())
                + if f.ends.spilled() {
                    super::heap_block(f.ends.capacity() * 4)
                } else {
                    0
                }
        });
        let nodes = slots(self.nodes.len(), std::mem::size_of::<(StreamId, Node)>())
            + self
                .nodes
                .values()
                .map(|n| {
                    super::heap_block(n.master_fields.len() * std::mem::size_of::<Bytes>())
                        + n.master_fields
                            .iter()
                            .map(|b| super::heap_block(b.len()))
                            .sum::<usize>()
                })
                .sum::<usize>();
        // Groups: their names, PEL entries (one in the group's, one in a consumer's) and
        // consumers, at B-tree slot cost.
        let groups = self
            .groups
            .iter()
            .map(|(name, g)| {
                slots(1, std::mem::size_of::<(Bytes, Group)>())
                    + super::heap_block(name.len())
                    + slots(g.pel.len(), std::mem::size_of::<(StreamId, Nack)>())
                    + g.pel
                        .values()
                        .map(|n| {
                            n.consumer
                                .as_ref()
                                .map_or(0, |c| super::heap_block(c.len()))
                        })
                        .sum::<usize>()
                    + g.consumers
                        .iter()
                        .map(|(cname, c)| {
                            slots(1, std::mem::size_of::<(Bytes, Consumer)>())
                                + super::heap_block(cname.len())
                                + slots(c.pel.len(), std::mem::size_of::<StreamId>())
                        })
                        .sum::<usize>()
            })
            .sum::<usize>();
        std::mem::size_of::<Stream>() + entries + nodes + groups
    }

    /// Number of live entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The first live entry's ID, or `0-0` when empty (XINFO `recorded-first-entry-id`).
    pub(crate) fn first_id(&self) -> StreamId {
        self.entries
            .first_key_value()
            .map_or(StreamId::MIN, |(id, _)| *id)
    }

    /// The last live entry's ID (Redis's `streamLastValidID`).
    pub(crate) fn last_entry_id(&self) -> Option<StreamId> {
        self.entries.last_key_value().map(|(id, _)| *id)
    }

    /// The ID [`append`](Self::append) would give an entry, as Redis's `streamAppendItem`
    /// chooses it.
    pub(crate) fn resolve_id(&self, how: NewId) -> Result<StreamId, AppendError> {
        let last = self.last_id;
        let id = match how {
            NewId::Explicit(id) => id,
            NewId::AutoSeq { ms } if ms == last.ms => {
                if last.seq == u64::MAX {
                    return Err(AppendError::SeqExhausted);
                }
                StreamId::new(ms, last.seq + 1)
            }
            NewId::AutoSeq { ms } => StreamId::new(ms, 0),
            NewId::Auto { now_ms } if now_ms > last.ms => StreamId::new(now_ms, 0),
            // Past the largest ID this wraps to 0-0 and fails below, as in Redis.
            NewId::Auto { .. } => last.incr().unwrap_or(StreamId::MIN),
        };
        if id <= last {
            return Err(AppendError::NotGreater);
        }
        Ok(id)
    }

    /// Whether `items` are too large for one entry.
    pub(crate) fn too_large(items: &[Bytes]) -> bool {
        items.iter().map(Bytes::len).sum::<usize>() > MAX_ENTRY_BYTES
    }

    /// Add an entry of `items` (field, value, ...; an even, non-zero number), copying them.
    /// The last node takes it unless that would reach `stream-node-max-bytes` or it holds
    /// `stream-node-max-entries` (live and deleted; 0: no limit), as in `streamAppendItem`.
    pub(crate) fn append(
        &mut self,
        how: NewId,
        items: &[Bytes],
        lim: &Limits,
    ) -> Result<StreamId, AppendError> {
        let id = self.resolve_id(how)?;
        if Self::too_large(items) {
            return Err(AppendError::TooLarge);
        }
        let fields = Fields::copy_from(items);
        let total = items.iter().map(|b| b.len() as u64).sum::<u64>();
        let max_bytes = match lim.stream_node_bytes {
            0 => MAX_ENTRY_BYTES as u64,
            n => n.min(MAX_ENTRY_BYTES as u64),
        };
        let tail = self.nodes.last_entry().filter(|n| {
            let n = n.get();
            n.bytes + total < max_bytes
                && (lim.stream_node_entries == 0
                    || u64::from(n.live + n.deleted) < lim.stream_node_entries)
        });
        match tail {
            Some(mut node) => {
                let master = *node.key();
                let node = node.get_mut();
                let same = node.master_fields.len() * 2 == items.len()
                    && node
                        .master_fields
                        .iter()
                        .zip(items.iter().step_by(2))
                        .all(|(m, f)| m == f);
                node.bytes += entry_bytes(id, master, same, items);
                node.live += 1;
                node.last = id;
            }
            None => {
                let master_fields: Box<[Bytes]> =
                    (0..items.len() / 2).map(|i| fields.item(2 * i)).collect();
                let bytes = LP_HDR_AND_EOF
                    + lp_int(1)
                    + lp_int(0)
                    + lp_int(master_fields.len() as i64)
                    + master_fields.iter().map(|f| lp_str(f)).sum::<u64>()
                    + lp_int(0)
                    + entry_bytes(id, id, true, items);
                self.nodes.insert(
                    id,
                    Node {
                        live: 1,
                        deleted: 0,
                        bytes,
                        last: id,
                        master_fields,
                    },
                );
            }
        }
        self.entries.insert(id, fields);
        self.last_id = id;
        self.entries_added += 1;
        Ok(id)
    }

    /// Whether an entry with this ID exists.
    pub(crate) fn contains(&self, id: StreamId) -> bool {
        self.entries.contains_key(&id)
    }

    /// XDEL one entry: returns whether it existed. Its node keeps it as a tombstone, or goes
    /// away with its last live entry.
    pub(crate) fn delete(&mut self, id: StreamId) -> bool {
        if self.entries.remove(&id).is_none() {
            return false;
        }
        if let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() {
            if node.live == 1 {
                self.nodes.remove(&master);
            } else {
                node.live -= 1;
                node.deleted += 1;
            }
        }
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        true
    }

    /// Live entries with IDs in `start..=end`, ascending or (with `rev`) descending.
    pub(crate) fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
    ) -> Box<dyn Iterator<Item = (StreamId, &Fields)> + '_> {
        if start > end {
            return Box::new(std::iter::empty());
        }
        let r = self.entries.range(start..=end).map(|(id, f)| (*id, f));
        if rev {
            Box::new(r.rev())
        } else {
            Box::new(r)
        }
    }

    /// Live entries with IDs greater than `after`, ascending (what XREAD serves).
    pub(crate) fn after(&self, after: StreamId) -> impl Iterator<Item = (StreamId, &Fields)> {
        self.entries
            .range((Bound::Excluded(after), Bound::Unbounded))
            .map(|(id, f)| (*id, f))
    }

    /// Trim as Redis's `streamTrim` does; `approx` drops only whole nodes, `limit` (0 = none)
    /// caps the entries dropped. Returns the number dropped. XDEL's `max-deleted-entry-id` is
    /// not changed by trimming.
    pub(crate) fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let plan = self.plan_trim(how, approx, limit);
        for _ in 0..plan.nodes {
            if let Some((_, node)) = self.nodes.pop_first() {
                for _ in 0..node.live {
                    self.entries.pop_first();
                }
            }
        }
        if plan.partial > 0 {
            if let Some(mut node) = self.nodes.first_entry() {
                let node = node.get_mut();
                node.live -= plan.partial as u32;
                node.deleted += plan.partial as u32;
            }
            for _ in 0..plan.partial {
                self.entries.pop_first();
            }
        }
        plan.node_entries + plan.partial
    }

    /// How many entries [`trim`](Self::trim) would drop, without changing anything.
    pub(crate) fn trim_count(&self, how: Trim, approx: bool, limit: u64) -> u64 {
        let plan = self.plan_trim(how, approx, limit);
        plan.node_entries + plan.partial
    }

    fn plan_trim(&self, how: Trim, approx: bool, limit: u64) -> TrimPlan {
        let mut plan = TrimPlan::default();
        let mut length = self.entries.len() as u64;
        for (master, node) in &self.nodes {
            if let Trim::MaxLen(max) = how {
                if length <= max {
                    break;
                }
            }
            let entries = u64::from(node.live);
            if limit != 0 && plan.node_entries + entries > limit {
                break;
            }
            let remove_node = match how {
                Trim::MaxLen(max) => length - entries >= max,
                Trim::MinId(min) => node.last < min,
            };
            if remove_node {
                plan.nodes += 1;
                plan.node_entries += entries;
                length -= entries;
                continue;
            }
            if approx {
                break;
            }
            // Flag entries of this node until the target is met; it keeps some.
            plan.partial = match how {
                Trim::MaxLen(max) => length - max,
                Trim::MinId(min) if min > *master => self
                    .entries
                    .range(*master..min)
                    .take(node.live as usize)
                    .count() as u64,
                Trim::MinId(_) => 0,
            };
            break;
        }
        plan
    }

    /// Number of macro nodes (XINFO `radix-tree-keys`).
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Nodes of Redis's radix tree over the macro nodes' keys (XINFO `radix-tree-nodes`).
    /// Redis's rax keeps chains of single-child nodes compressed after every insert and
    /// delete, so its node count is that of the compressed trie of the keys: O(nodes) here.
    pub(crate) fn rax_node_count(&self) -> u64 {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|id| id.rax_key()).collect();
        if keys.is_empty() {
            return 1;
        }
        rax_nodes(&keys, 0)
    }
}

/// Rax nodes for the subtree of `keys` (sorted, distinct, sharing their first `depth` bytes)
/// starting at `depth`: a leaf at the end of the key; a compressed node for a run of bytes all
/// keys share; otherwise a branching node with one child per distinct next byte.
fn rax_nodes(keys: &[[u8; 16]], depth: usize) -> u64 {
    if depth == 16 {
        return 1;
    }
    let (first, last) = (&keys[0], &keys[keys.len() - 1]);
    let common = (depth..16).find(|&i| first[i] != last[i]).unwrap_or(16);
    if common > depth {
        return 1 + rax_nodes(keys, common);
    }
    let mut total = 1;
    let mut rest = keys;
    while let Some(head) = rest.first() {
        let n = rest.partition_point(|k| k[depth] == head[depth]);
        total += rax_nodes(&rest[..n], depth + 1);
        rest = &rest[n..];
    }
    total
}

/// Bytes an entry adds to its node's listpack (see `streamAppendItem`).
fn entry_bytes(id: StreamId, master: StreamId, same: bool, items: &[Bytes]) -> u64 {
    let pairs = items.len() as i64 / 2;
    let flags = if same { FLAG_SAMEFIELDS } else { 0 };
    let mut n = lp_int(flags)
        + lp_int(id.ms.wrapping_sub(master.ms) as i64)
        + lp_int(id.seq.wrapping_sub(master.seq) as i64);
    let mut lp_count = pairs + 3;
    if !same {
        n += lp_int(pairs);
        lp_count += pairs + 1;
    }
    for (i, it) in items.iter().enumerate() {
        if !same || i % 2 == 1 {
            n += lp_str(it);
        }
    }
    n + lp_int(lp_count)
}

/// Size of a listpack element whose encoding takes `enc` bytes: plus its back-length.
fn lp_element(enc: u64) -> u64 {
    enc + match enc {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Size of an integer element (`lpEncodeIntegerGetType`).
fn lp_int(v: i64) -> u64 {
    lp_element(match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    })
}

/// Size of a string element: strings that are canonical 64-bit integers are stored as such.
fn lp_str(s: &[u8]) -> u64 {
    // listpack.c's `lpStringToInt64` accepts exactly what `string2ll` does.
    match confab_protocol::parse_i64(s) {
        Some(v) => lp_int(v),
        None => lp_element(
            match s.len() {
                0..=63 => 1,
                64..=4095 => 2,
                _ => 5,
            } + s.len() as u64,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(pairs: &[&str]) -> Vec<Bytes> {
        pairs
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    #[test]
    fn ids_step_and_format() {
        assert_eq!(id(1, u64::MAX).incr(), Some(id(2, 0)));
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(id(2, 0).decr(), Some(id(1, u64::MAX)));
        assert_eq!(StreamId::MIN.decr(), None);
        assert_eq!(&id(5, 12).to_bytes()[..], b"5-12");
        assert_eq!(
            &StreamId::MAX.to_bytes()[..],
            b"18446744073709551615-18446744073709551615"
        );
    }

    #[test]
    fn ids_never_go_backwards() {
        let mut s = Stream::default();
        let a = s
            .append(
                NewId::Auto { now_ms: 100 },
                &items(&["f", "v"]),
                &Limits::DEFAULT,
            )
            .unwrap();
        assert_eq!(a, id(100, 0));
        // The clock went back: same millisecond, next sequence.
        let b = s
            .append(
                NewId::Auto { now_ms: 50 },
                &items(&["f", "v"]),
                &Limits::DEFAULT,
            )
            .unwrap();
        assert_eq!(b, id(100, 1));
        assert_eq!(
            s.append(
                NewId::Explicit(id(100, 1)),
                &items(&["f", "v"]),
                &Limits::DEFAULT
            ),
            Err(AppendError::NotGreater)
        );
        assert_eq!(
            s.append(
                NewId::AutoSeq { ms: 100 },
                &items(&["f", "v"]),
                &Limits::DEFAULT
            ),
            Ok(id(100, 2))
        );
        assert_eq!(
            s.append(
                NewId::AutoSeq { ms: 99 },
                &items(&["f", "v"]),
                &Limits::DEFAULT
            ),
            Err(AppendError::NotGreater)
        );
        s.last_id = id(7, u64::MAX);
        assert_eq!(
            s.resolve_id(NewId::AutoSeq { ms: 7 }),
            Err(AppendError::SeqExhausted)
        );
    }

    #[test]
    fn listpack_sizes_follow_redis() {
        // A one-entry node with fields "a" and value "1": header+eof 7, count 2, deleted 2,
        // num-fields 2, "a" 3, terminator 2, then flags 2, ms 2, seq 2, value 1 (an int) 2,
        // lp-count 2.
        let mut s = Stream::default();
        s.append(
            NewId::Explicit(id(1, 1)),
            &items(&["a", "1"]),
            &Limits::DEFAULT,
        )
        .unwrap();
        assert_eq!(
            s.nodes[&id(1, 1)].bytes,
            7 + 2 + 2 + 2 + 3 + 2 + 2 + 2 + 2 + 2 + 2
        );
        assert_eq!(lp_str(b"12345678901234567890"), 1 + 20 + 1);
        assert_eq!(lp_str(b"-9223372036854775808"), 10);
        assert_eq!(lp_str(&[b'x'; 64]), 2 + 64 + 1);
        assert_eq!(lp_str(&[b'x'; 200]), 2 + 200 + 2);
    }

    #[test]
    fn nodes_split_at_100_entries_and_approx_trims_whole_nodes() {
        let mut s = Stream::default();
        for i in 1..=250 {
            s.append(
                NewId::Explicit(id(i, 0)),
                &items(&["f", "v"]),
                &Limits::DEFAULT,
            )
            .unwrap();
        }
        assert_eq!(s.node_count(), 3);
        // ~ 120: dropping the first node leaves 150 >= 120; the second would leave 50.
        assert_eq!(s.trim(Trim::MaxLen(120), true, 10_000), 100);
        assert_eq!(s.len(), 150);
        // Exact: the rest comes out of the (new) first node, which stays.
        assert_eq!(s.trim(Trim::MaxLen(120), false, 0), 30);
        assert_eq!(s.len(), 120);
        assert_eq!(s.node_count(), 2);
        assert_eq!(s.first_id(), id(131, 0));
        assert_eq!(s.trim(Trim::MinId(id(240, 0)), false, 0), 109);
        assert_eq!(s.first_id(), id(240, 0));
        assert_eq!(s.node_count(), 1);
    }

    #[test]
    fn deleting_a_nodes_last_live_entry_drops_the_node() {
        let mut s = Stream::default();
        s.append(
            NewId::Explicit(id(1, 0)),
            &items(&["f", "v"]),
            &Limits::DEFAULT,
        )
        .unwrap();
        s.append(
            NewId::Explicit(id(2, 0)),
            &items(&["f", "v"]),
            &Limits::DEFAULT,
        )
        .unwrap();
        assert!(s.delete(id(1, 0)));
        assert!(!s.delete(id(1, 0)));
        assert_eq!(s.node_count(), 1);
        assert!(s.delete(id(2, 0)));
        assert_eq!(s.node_count(), 0);
        assert_eq!(s.max_deleted_id, id(2, 0));
        assert_eq!(s.rax_node_count(), 1);
    }

    #[test]
    fn rax_counts_compressed_trie_nodes() {
        let k = |ms: u64| StreamId::new(ms, 0).rax_key();
        assert_eq!(rax_nodes(&[k(1)], 0), 2);
        // Common 7-byte prefix, a branch on byte 7, then each a 8-byte tail and a leaf.
        assert_eq!(rax_nodes(&[k(1), k(2)], 0), 1 + 1 + 2 * 2);
        assert_eq!(rax_nodes(&[k(1), k(2), k(3)], 0), 1 + 1 + 3 * 2);
    }
}
