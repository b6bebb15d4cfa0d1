//! Lazy freeing: UNLINK and FLUSHDB / FLUSHALL ASYNC hand what they removed to a background
//! thread, as Redis's lazyfree.c does with its bio thread, so that neither the lane that runs
//! the command nor the shard locks it holds spend milliseconds freeing a hash of a million
//! fields or a whole database.
//!
//! DESIGN. One thread per server, started at the first lazy free (most servers never need
//! it) and ended when the server's [`LazyFree`] is dropped (its channel closes). A value goes
//! there only when freeing it is real work: Redis's "free effort" (the allocations behind it:
//! a big hash's, set's or sorted set's elements, a list's quicklist nodes, a stream's radix
//! tree nodes and consumer groups) above [`THRESHOLD`]; a smaller one is freed at once, as in
//! Redis. INFO memory shows `lazyfree_pending_objects` (handed over, not freed yet) and
//! `lazyfreed_objects` (freed since start or CONFIG RESETSTAT), counted as Redis counts them:
//! one per value, one per key of a flushed database.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

use crate::db::Value;

/// Redis's `LAZYFREE_THRESHOLD`: a value whose free effort is above it is freed in the
/// background.
pub(crate) const THRESHOLD: u64 = 64;

/// Bytes of elements a quicklist node holds at Redis's default `list-max-listpack-size` (-2).
const QUICKLIST_NODE_BYTES: u64 = 8 * 1024;

/// Something to drop off the command path, and how many objects it counts for.
struct Garbage {
    what: Box<dyn Send>,
    objects: u64,
}

/// The server's lazy-free thread and its counters.
#[derive(Default)]
pub(crate) struct LazyFree {
    /// The thread's channel, once started (`None` if it could not be).
    tx: OnceLock<Option<mpsc::Sender<Garbage>>>,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    pending: AtomicU64,
    freed: AtomicU64,
}

impl Counts {
    /// Free `g` here and now.
    fn free(&self, g: Garbage) {
        let n = g.objects;
        drop(g.what);
        self.pending.fetch_sub(n, Relaxed);
        self.freed.fetch_add(n, Relaxed);
    }
}

impl LazyFree {
    /// Free `what` in the background, counting `objects`. If the thread could not be
    /// started, it is freed here.
    pub(crate) fn free<T: Send + 'static>(&self, what: T, objects: u64) {
        self.counts.pending.fetch_add(objects, Relaxed);
        let garbage = Garbage {
            what: Box::new(what),
            objects,
        };
        let unsent = match self.tx.get_or_init(|| self.start()) {
            Some(t) => t.send(garbage).err().map(|e| e.0),
            None => Some(garbage),
        };
        if let Some(g) = unsent {
            self.counts.free(g);
        }
    }

    fn start(&self) -> Option<mpsc::Sender<Garbage>> {
        let (tx, rx) = mpsc::channel::<Garbage>();
        let counts = self.counts.clone();
        std::thread::Builder::new()
            .name("confab-lazyfree".into())
            .spawn(move || {
                while let Ok(g) = rx.recv() {
                    counts.free(g);
                }
            })
            .ok()
            .map(|_| tx)
    }

    /// Objects handed over and not freed yet (INFO `lazyfree_pending_objects`).
    pub(crate) fn pending(&self) -> u64 {
        self.counts.pending.load(Relaxed)
    }

    /// Objects freed in the background since start or CONFIG RESETSTAT (INFO
    /// `lazyfreed_objects`).
    pub(crate) fn freed(&self) -> u64 {
        self.counts.freed.load(Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub(crate) fn reset_stats(&self) {
        self.counts.freed.store(0, Relaxed);
    }

    /// Drop `value` here, or in the background when that is real work (UNLINK).
    pub(crate) fn free_value(&self, value: Value) {
        if effort(&value) > THRESHOLD {
            self.free(value, 1);
        }
    }
}

/// Redis's `lazyfreeGetFreeEffort`: about how many allocations freeing `v` takes (for a
/// list, only whether it passes [`THRESHOLD`] is exact). Compact encodings (listpacks,
/// intsets) and strings are one.
pub(crate) fn effort(v: &Value) -> u64 {
    match v {
        Value::Str(_) => 1,
        Value::Hash(h) if h.is_listpack() => 1,
        Value::Hash(h) => h.len() as u64,
        Value::Set(s) if s.is_intset() => 1,
        Value::Set(s) => s.len() as u64,
        Value::ZSet(z) if z.is_small() => 1,
        Value::ZSet(z) => z.len() as u64,
        // A quicklist node per 8 KB of elements (each with a couple of bytes of listpack
        // overhead), at least one. Each node holds an element at least, so a short list
        // is under the threshold unread, and the count stops once past it.
        Value::List(l) if l.len() as u64 <= THRESHOLD => 1,
        Value::List(l) => {
            let mut bytes = 0;
            for e in l {
                bytes += e.len() as u64 + 2;
                if bytes > THRESHOLD * QUICKLIST_NODE_BYTES {
                    break;
                }
            }
            bytes.div_ceil(QUICKLIST_NODE_BYTES).max(1)
        }
        // The radix tree's nodes, and per group itself and (estimated from the first
        // group's) its pending entries.
        Value::Stream(s) => {
            let per_group = s
                .groups
                .values()
                .next()
                .map_or(0, |g| 1 + g.pel.len() as u64);
            s.rax_node_count() + s.groups.len() as u64 * per_group
        }
    }
}
