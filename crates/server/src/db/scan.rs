//! SCAN cursors over the sharded keyspace.
//!
//! A cursor is a position in a fixed order of keys: the shard (within the database) in the top
//! bits, then the key's hash without its shard bits. That order depends only on the key, never
//! on insertions, deletions or table growth, so SCAN keeps Redis's guarantee: every key present
//! for the whole scan is returned at least once, and the scan ends (cursor 0). Keys sharing a
//! position (a hash collision in the bits below the shard) are always returned in the same call.

use bytes::Bytes;

use super::{Locked, SHARDS_PER_DB};

/// The shard sits in the top bits of a cursor, the rest of the key's hash below it.
const SHARD_SHIFT: u32 = 64 - SHARD_SHARD_BITS;

fn position(local_shard: usize, hash: u64) -> u64 {
    ((local_shard as u64) << SHARD_SHIFT) | (hash >> SHARD_SHARD_BITS)
}

/// Bits of the hash used to pick the shard (log2 of `SHARDS_PER_DB`).
const SHARD_SHARD_BITS: u32 = SHARDS_PER_DB.trailing_zeros();

/// Walk `db` from `cursor`, returning about `count` live keys and the next cursor (0 = done).
/// `locked` must hold every shard of `db`.
pub(crate) fn scan_keys(
    locked: &mut Locked<'_>,
    db: usize,
    cursor: u64,
    count: usize,
    now: u64,
) -> (u64, Vec<Bytes>) {
    let ks = locked.keyspace();
    let count = count.max(1);
    let mut out = Vec::with_capacity(count.min(1024));
    let mut local = (cursor >> SHARD_SHIFT) as usize;
    let mut low = cursor & ((1u64 << SHARD_SHIFT) - 1);
    while local < SHARDS_PER_DB {
        let shard = locked.shard_at(db * SHARDS_PER_DB + local);
        let mut items: Vec<(u64, &super::Key)> = shard
            .iter_live(now)
            .map(|(k, _)| (ks.hash(k) >> SHARD_SHARD_BITS, k))
            .filter(|(p, _)| *p >= low)
            .collect();
        items.sort_unstable_by_key(|(p, _)| *p);
        let want = count - out.len();
        let mut taken = 0;
        while taken < items.len() && (taken < want || items[taken].0 == items[taken - 1].0) {
            out.push(items[taken].1.to_bytes());
            taken += 1;
        }
        if taken < items.len() {
            return (position(local, items[taken].0 << SHARD_SHARD_BITS), out);
        }
        local += 1;
        low = 0;
        if out.len() >= count {
            let next = if local < SHARDS_PER_DB {
                (local as u64) << SHARD_SHIFT
            } else {
                0
            };
            return (next, out);
        }
    }
    (0, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Keyspace, Value};
    use std::collections::HashSet;

    #[test]
    fn full_scan_returns_every_key_once_despite_writes() {
        let ks = Keyspace::new(1);
        {
            let mut l = ks.lock_db(0);
            for i in 0..2000 {
                let k = Bytes::from(format!("key:{i}"));
                l.shard(0, &k)
                    .insert(&k, Value::Str(crate::db::Str::new(b"")), 0);
            }
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            let mut l = ks.lock_db(0);
            let (next, keys) = scan_keys(&mut l, 0, cursor, 10, 0);
            for k in keys {
                seen.insert(k);
            }
            // Churn: add keys during the scan; the original ones must all be seen.
            let k = Bytes::from(format!("new:{calls}"));
            l.shard(0, &k)
                .insert(&k, Value::Str(crate::db::Str::new(b"")), 0);
            calls += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
            assert!(calls < 10_000, "scan does not terminate");
        }
        for i in 0..2000 {
            assert!(
                seen.contains(format!("key:{i}").as_bytes()),
                "missed key:{i}"
            );
        }
        assert!(calls > 100, "COUNT was not respected: {calls} calls");
    }
}
