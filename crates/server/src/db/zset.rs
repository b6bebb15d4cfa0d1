//! The sorted set value: members with scores, ordered by (score, member).
//!
//! DESIGN. A map from member to score answers ZSCORE and membership in O(1). The order lives
//! in a list of sorted chunks of at most [`MAX_CHUNK`] `(score, member)` pairs, whose
//! concatenation is the whole set in order. Members are [`Key`]s, as the keyspace's keys and
//! list elements: up to 22 bytes inline, so comparing one reads the entry already in cache
//! and a member costs no allocation (as `Bytes` shared by the map and the order, a million
//! members took 219 bytes each against Redis's 115). A small set is one chunk, a sorted vector much like Redis's
//! listpack encoding; a big one finds its chunk by binary search over the chunks' last
//! entries, then its place inside by binary search, so inserting and removing cost
//! O(log n + MAX_CHUNK). A rank (ZRANK, ZRANGE by index) needs the entries in the chunks
//! before: a Fenwick tree of chunk lengths gives them in O(log n) (summing the lengths made
//! ZREVRANK on a million members 0.71-0.80 of Redis; 1.02-1.35 with the tree).
//!
//! ORDER. As in Redis: by score, then by member bytes (memcmp, a prefix first). Scores are
//! never NaN (the commands refuse it), so the comparison is total; -0 and 0 compare equal and
//! the member decides.

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

use super::{Key, Limits};

type Hasher = ahash::RandomState;

/// Entries per chunk before it splits in two.
const MAX_CHUNK: usize = 256;

/// One member and its score.
pub(crate) type Item = (f64, Key);

/// A run of entries in order; a deque, so pops at either end of the set (ZPOPMIN, ZPOPMAX,
/// trimming the oldest) move nothing.
type Chunk = VecDeque<Item>;

/// Compare two (score, member) pairs in sorted set order.
#[inline]
pub(crate) fn cmp(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

/// Redis keeps a sorted set of at most `zset-max-listpack-entries` members, none longer
/// than `zset-max-listpack-value` ([`crate::db::Limits`]), in a listpack; confab stores every
/// set the same way but follows the two details where the encoding shows: a listpack keeps
/// scores as text, so -0 reads back as 0, and walks lex ranges from its ends.
/// A sorted set.
#[derive(Clone, Debug, Default)]
pub(crate) struct ZSet {
    scores: HashMap<Key, f64, Hasher>,
    chunks: Vec<Chunk>,
    /// Chunk lengths as a Fenwick tree (1-based): the entries before chunk `i` in
    /// O(log chunks), for ranks. Adjusted by one on every insert and removal inside a chunk,
    /// rebuilt (O(chunks)) when chunks split, merge or go.
    counts: Vec<u32>,
    /// Past Redis's listpack limits once (Redis converts to a skiplist and never back).
    big: bool,
}

impl ZSet {
    pub(crate) fn len(&self) -> usize {
        self.scores.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    pub(crate) fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// A set built whole (ZUNIONSTORE & co, ZRANGESTORE): Redis makes it a listpack when it
    /// fits, so -0 scores become 0 unless it is big.
    pub(crate) fn from_items(items: Vec<(f64, bytes::Bytes)>, lim: &Limits) -> ZSet {
        let mut z = ZSet {
            big: items.len() as u64 > lim.zset_entries
                || items.iter().any(|(_, m)| m.len() as u64 > lim.zset_value),
            ..ZSet::default()
        };
        for (s, m) in items {
            z.insert(&m, s, lim);
        }
        z
    }

    /// Whether Redis would hold this set in a listpack (see [`Limits`]).
    pub(crate) fn is_small(&self) -> bool {
        !self.big
    }

    /// Set `member`'s score, adding it if new. Returns the previous score. An equal score
    /// (0 for -0 too) changes nothing, as in Redis.
    ///
    /// A small set stores -0 as 0: Redis keeps a listpack's scores as text, where `-0` reads
    /// back as the integer 0. A member that takes the set past the listpack limits makes it
    /// big first, as Redis converts before adding, and a big set keeps -0.
    pub(crate) fn insert(&mut self, member: &[u8], score: f64, lim: &Limits) -> Option<f64> {
        match self.update(member, score) {
            Some(old) => Some(old),
            None => {
                self.add_new(member, score, lim);
                None
            }
        }
    }

    /// A small set's -0 is 0 (see [`Self::insert`]).
    fn stored(&self, score: f64) -> f64 {
        debug_assert!(!score.is_nan());
        if score == 0.0 && !self.big {
            0.0
        } else {
            score
        }
    }

    /// Move an existing member to `score`; its old score, `None` if it is not there.
    fn update(&mut self, member: &[u8], score: f64) -> Option<f64> {
        let score = self.stored(score);
        let slot = self.scores.get_mut(member)?;
        let old = *slot;
        if old != score {
            *slot = score;
            // The order's own copy of the member moves to its new place.
            if let Some(key) = self.unlink(old, member) {
                self.link(score, key);
            }
        }
        Some(old)
    }

    fn add_new(&mut self, member: &[u8], score: f64, lim: &Limits) {
        if self.len() as u64 + 1 > lim.zset_entries || member.len() as u64 > lim.zset_value {
            self.big = true;
        }
        let score = self.stored(score);
        self.scores.insert(Key::new(member), score);
        self.link(score, Key::new(member));
    }

    /// Remove `member`; its score if it was there.
    pub(crate) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.scores.remove(member)?;
        self.unlink(score, member);
        Some(score)
    }

    /// The chunk `(score, member)` belongs in: the first whose last entry is not below it
    /// (the last chunk if it is above them all).
    fn chunk_for(&self, score: f64, member: &[u8]) -> usize {
        let i = self.chunks.partition_point(|c| {
            let (s, m) = c.back().expect("chunks are never empty");
            cmp(*s, m.as_bytes(), score, member) == Ordering::Less
        });
        i.min(self.chunks.len().saturating_sub(1))
    }

    fn link(&mut self, score: f64, member: Key) {
        if self.chunks.is_empty() {
            let mut first = Chunk::with_capacity(4);
            first.push_back((score, member));
            self.chunks.push(first);
            self.rebuild_counts();
            return;
        }
        let ci = self.chunk_for(score, member.as_bytes());
        let chunk = &mut self.chunks[ci];
        let at = chunk.partition_point(|(s, m)| {
            cmp(*s, m.as_bytes(), score, member.as_bytes()) == Ordering::Less
        });
        chunk.insert(at, (score, member));
        if chunk.len() > MAX_CHUNK {
            let tail = chunk.split_off(chunk.len() / 2);
            self.chunks.insert(ci + 1, tail);
            self.rebuild_counts();
        } else {
            self.count_adjust(ci, 1);
        }
    }

    /// Take `(score, member)` out of the order; the order's copy of the member.
    fn unlink(&mut self, score: f64, member: &[u8]) -> Option<Key> {
        let ci = self.chunk_for(score, member);
        let chunk = &mut self.chunks[ci];
        let Ok(at) = chunk.binary_search_by(|(s, m)| cmp(*s, m.as_bytes(), score, member)) else {
            debug_assert!(false, "member in the map but not in the order");
            return None;
        };
        let (_, key) = chunk.remove(at)?;
        let left = chunk.len();
        if left == 0 {
            self.chunks.remove(ci);
            self.rebuild_counts();
        } else if left < MAX_CHUNK / 4
            && self
                .chunks
                .get(ci + 1)
                .is_some_and(|next| left + next.len() <= MAX_CHUNK)
        {
            // Keep chunks from thinning out: merge with the next one while they fit.
            let next = self.chunks.remove(ci + 1);
            self.chunks[ci].extend(next);
            self.rebuild_counts();
        } else {
            self.count_adjust(ci, -1);
        }
        Some(key)
    }

    /// Rebuild the Fenwick tree of chunk lengths (O(chunks)).
    fn rebuild_counts(&mut self) {
        let n = self.chunks.len();
        self.counts.clear();
        self.counts.resize(n + 1, 0);
        for i in 1..=n {
            self.counts[i] += self.chunks[i - 1].len() as u32;
            let j = i + (i & i.wrapping_neg());
            if j <= n {
                self.counts[j] += self.counts[i];
            }
        }
    }

    /// Chunk `chunk` gained (`by` > 0) or lost entries.
    fn count_adjust(&mut self, chunk: usize, by: i32) {
        let mut i = chunk + 1;
        while i < self.counts.len() {
            self.counts[i] = self.counts[i].wrapping_add_signed(by);
            i += i & i.wrapping_neg();
        }
    }

    /// Entries in the chunks before `chunk`.
    fn before(&self, chunk: usize) -> usize {
        let mut i = chunk.min(self.chunks.len());
        let mut sum = 0usize;
        while i > 0 {
            sum += self.counts[i] as usize;
            i -= i & i.wrapping_neg();
        }
        sum
    }

    /// (chunk, offset) of rank `rank` (< len): a descent of the Fenwick tree.
    fn locate(&self, rank: usize) -> (usize, usize) {
        let n = self.chunks.len();
        if rank >= self.len() {
            return (n, 0);
        }
        let (mut pos, mut left) = (0usize, rank);
        let mut step = if n == 0 {
            0
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        while step > 0 {
            let next = pos + step;
            if next <= n && (self.counts[next] as usize) <= left {
                pos = next;
                left -= self.counts[next] as usize;
            }
            step >>= 1;
        }
        // `pos` chunks hold at most `rank` entries: the rank is in chunk `pos`.
        (pos, left)
    }

    /// The 0-based rank of `member` in ascending order.
    pub(crate) fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let ci = self.chunk_for(score, member);
        let before = self.before(ci);
        let at = self.chunks[ci]
            .binary_search_by(|(s, m)| cmp(*s, m.as_bytes(), score, member))
            .ok()?;
        Some(before + at)
    }

    /// How many entries come before the first one for which `reached` holds (`reached` must
    /// be false for a prefix of the order and true for the rest).
    pub(crate) fn count_before(&self, reached: impl Fn(f64, &[u8]) -> bool) -> usize {
        let ci = self.chunks.partition_point(|c| {
            let (s, m) = c.back().expect("chunks are never empty");
            !reached(*s, m.as_bytes())
        });
        let before = self.before(ci);
        match self.chunks.get(ci) {
            Some(c) => before + c.partition_point(|(s, m)| !reached(*s, m.as_bytes())),
            None => before,
        }
    }

    /// Entries from rank `start` upwards.
    pub(crate) fn iter_from(&self, start: usize) -> impl Iterator<Item = &Item> + '_ {
        let (ci, off) = self.locate(start);
        let first = self
            .chunks
            .get(ci)
            .into_iter()
            .flat_map(move |c| c.range(off..));
        let rest: &[Chunk] = self.chunks.get(ci + 1..).unwrap_or(&[]);
        first.chain(rest.iter().flatten())
    }

    /// Entries from rank `start` downwards (`start` < len).
    pub(crate) fn iter_down_from(&self, start: usize) -> impl Iterator<Item = &Item> + '_ {
        let (ci, off) = self.locate(start);
        let first = self
            .chunks
            .get(ci)
            .into_iter()
            .flat_map(move |c| c.range(..=off).rev());
        let rest: &[Chunk] = &self.chunks[..ci.min(self.chunks.len())];
        first.chain(rest.iter().rev().flat_map(|c| c.iter().rev()))
    }

    /// Every entry in order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &Item> + '_ {
        self.chunks.iter().flatten()
    }

    /// Remove and return the entries of ranks `start..end` (ascending).
    pub(crate) fn remove_range(&mut self, start: usize, end: usize) -> Vec<Item> {
        let end = end.min(self.len());
        if start >= end {
            return Vec::new();
        }
        let gone: Vec<Item> = self.iter_from(start).take(end - start).cloned().collect();
        if end - start == self.len() {
            self.scores.clear();
            self.chunks.clear();
            self.counts.clear();
            return gone;
        }
        if end - start > self.len() / 2 {
            // Rebuild: cheaper than removing one by one.
            for (_, m) in &gone {
                self.scores.remove(m.as_bytes());
            }
            let keep: Vec<Item> = self
                .iter()
                .enumerate()
                .filter(|(i, _)| *i < start || *i >= end)
                .map(|(_, e)| e.clone())
                .collect();
            self.chunks = keep
                .chunks(MAX_CHUNK / 2)
                .map(|c| {
                    let mut v = Chunk::with_capacity(c.len().max(4));
                    v.extend(c.iter().cloned());
                    v
                })
                .collect();
            self.rebuild_counts();
            return gone;
        }
        for (s, m) in &gone {
            self.scores.remove(m.as_bytes());
            self.unlink(*s, m.as_bytes());
        }
        gone
    }

    /// Heap bytes (MEMORY USAGE): the map's table and the chunks, plus the members' bytes.
    pub(crate) fn memory_usage(&self, samples: usize) -> usize {
        use std::mem::size_of;
        let map = super::heap_block(self.scores.capacity() * (size_of::<(Key, f64)>() + 1));
        let chunks = super::heap_block(self.chunks.capacity() * size_of::<Chunk>())
            + super::heap_block(self.counts.capacity() * size_of::<u32>())
            + self
                .chunks
                .iter()
                .map(|c| super::heap_block(c.capacity() * size_of::<Item>()))
                .sum::<usize>();
        size_of::<ZSet>()
            + map
            + chunks
            + super::sampled(self.scores.keys(), samples, |m| 2 * m.heap_bytes())
    }

    #[cfg(test)]
    fn check(&self) {
        let all: Vec<&Item> = self.iter().collect();
        assert_eq!(all.len(), self.scores.len());
        for w in all.windows(2) {
            assert_eq!(
                cmp(w[0].0, w[0].1.as_bytes(), w[1].0, w[1].1.as_bytes()),
                Ordering::Less
            );
        }
        for (s, m) in &all {
            assert_eq!(self.scores.get(m.as_bytes()), Some(s));
        }
        assert!(self
            .chunks
            .iter()
            .all(|c| !c.is_empty() && c.len() <= MAX_CHUNK));
        let mut sum = 0;
        for ci in 0..=self.chunks.len() {
            assert_eq!(self.before(ci), sum, "entries before chunk {ci}");
            if ci < self.chunks.len() {
                for off in [0, self.chunks[ci].len() - 1] {
                    assert_eq!(self.locate(sum + off), (ci, off));
                }
                sum += self.chunks[ci].len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn b(s: &str) -> &[u8] {
        s.as_bytes()
    }

    #[test]
    fn orders_by_score_then_member() {
        let mut z = ZSet::default();
        z.insert(b("b"), 1.0, &Limits::DEFAULT);
        z.insert(b("a"), 1.0, &Limits::DEFAULT);
        z.insert(b("c"), 0.5, &Limits::DEFAULT);
        z.insert(b("aa"), 1.0, &Limits::DEFAULT);
        let order: Vec<&[u8]> = z.iter().map(|(_, m)| &m[..]).collect();
        assert_eq!(order, vec![&b"c"[..], b"a", b"aa", b"b"]);
        assert_eq!(z.rank(b"aa"), Some(2));
        assert_eq!(z.insert(b("c"), 2.0, &Limits::DEFAULT), Some(0.5));
        assert_eq!(z.rank(b"c"), Some(3));
        assert_eq!(z.remove(b"a"), Some(1.0));
        assert_eq!(z.remove(b"a"), None);
        z.check();
    }

    #[test]
    fn matches_a_sorted_vector_under_random_edits() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut z = ZSet::default();
        let mut model: std::collections::BTreeMap<Vec<u8>, f64> = Default::default();
        for step in 0..20_000 {
            let m = format!("m{}", rng.gen_range(0..3000));
            match rng.gen_range(0..10) {
                0..=5 => {
                    let s = f64::from(rng.gen_range(-50..50));
                    z.insert(b(&m), s, &Limits::DEFAULT);
                    model.insert(m.into_bytes(), s);
                }
                6..=8 => {
                    assert_eq!(z.remove(m.as_bytes()), model.remove(m.as_bytes()));
                }
                _ => {
                    let n = z.len();
                    if n > 0 {
                        let a = rng.gen_range(0..n);
                        let e = (a + rng.gen_range(0..n / 3 + 1)).min(n);
                        for (_, m) in z.remove_range(a, e) {
                            model.remove(&m[..]);
                        }
                    }
                }
            }
            if step % 997 == 0 {
                z.check();
                let mut want: Vec<(f64, Vec<u8>)> =
                    model.iter().map(|(m, s)| (*s, m.clone())).collect();
                want.sort_by(|a, b| cmp(a.0, &a.1, b.0, &b.1));
                let got: Vec<(f64, Vec<u8>)> = z.iter().map(|(s, m)| (*s, m.to_vec())).collect();
                assert_eq!(got, want);
                if let Some((_, m)) = want.get(want.len() / 2) {
                    assert_eq!(z.rank(m), Some(want.len() / 2));
                }
                let n = want.len();
                if n > 0 {
                    let from = n / 3;
                    let up: Vec<Vec<u8>> = z.iter_from(from).map(|(_, m)| m.to_vec()).collect();
                    assert_eq!(up.len(), n - from);
                    let down: Vec<Vec<u8>> =
                        z.iter_down_from(from).map(|(_, m)| m.to_vec()).collect();
                    assert_eq!(down.len(), from + 1);
                    assert_eq!(down[0], want[from].1);
                    let below = z.count_before(|s, _| s >= 0.0);
                    assert_eq!(below, want.iter().filter(|(s, _)| *s < 0.0).count());
                }
            }
        }
        z.check();
    }
}
