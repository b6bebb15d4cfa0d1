//! Clients blocked on keys (BLPOP and friends, XREAD BLOCK) and how pushes serve them.
//!
//! DESIGN. A blocking command first tries to serve itself under its shard locks. If it
//! cannot, it registers a [`Waiter`] on each of its keys while still holding those locks, so
//! no push can slip between its check and its registration. A command that adds to a key
//! records the key as ready; once that command has released its locks, [`serve`] locks each
//! ready key's shard on its own and hands its elements to the key's waiters in arrival order
//! (first come, first served), as many as there are elements: a push wakes exactly the
//! clients it can serve. Each waiter is claimed with a compare-and-swap before anything is
//! taken for it, so a waiter that timed out, was unblocked or disconnected at the same moment
//! is never given an element it would lose.
//!
//! LOCK ORDER. Shard lock → registry mutex. The registry mutex is never held while a shard
//! is locked by someone who then waits on it: [`serve`] takes one shard at a time.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use confab_protocol::Frame;
use tokio::sync::oneshot;

use crate::cmd::lists::End;
use crate::db::{Entry, Key, Keyspace, Shard, Value};
use crate::server::Shared;

const WAITING: u8 = 0;
const CLAIMED: u8 = 1;
const DONE: u8 = 2;

/// What a blocked client waits to do.
#[derive(Debug)]
pub(crate) enum BlockOp {
    /// BLPOP / BRPOP: reply `[key, element]`.
    Pop { left: bool },
    /// BLMPOP: reply `[key, [elements]]`.
    MPop { left: bool, count: usize },
    /// BLMOVE / BRPOPLPUSH: reply `element`, after pushing it to `dst`.
    Move {
        from_left: bool,
        to_left: bool,
        dst: Bytes,
    },
    /// BZPOPMIN / BZPOPMAX (`count` None: reply `[key, member, score]`) and BZMPOP (reply
    /// `[key, [[member, score], ...]]`).
    ZPop { max: bool, count: Option<usize> },
    /// XREADGROUP BLOCK: reply the group's new entries of the first stream that got some,
    /// delivered to `consumer` (pending unless `noack`).
    XReadGroup {
        group: Bytes,
        consumer: Bytes,
        noack: bool,
        count: usize,
        proto: confab_protocol::Protocol,
    },
    /// XREAD BLOCK: reply the entries past `after[i]` of the stream `keys[i]` that got some.
    /// Reading consumes nothing, so every blocked reader of a stream is served.
    XRead {
        after: Vec<crate::db::stream::StreamId>,
        count: usize,
        proto: confab_protocol::Protocol,
    },
}

/// One blocked client.
pub(crate) struct Waiter {
    pub client_id: u64,
    pub db: usize,
    pub keys: Vec<Bytes>,
    pub op: BlockOp,
    state: AtomicU8,
    tx: Mutex<Option<oneshot::Sender<Frame>>>,
}

impl Waiter {
    pub(crate) fn new(
        client_id: u64,
        db: usize,
        keys: Vec<Bytes>,
        op: BlockOp,
    ) -> (Arc<Waiter>, oneshot::Receiver<Frame>) {
        let (tx, rx) = oneshot::channel();
        (
            Arc::new(Waiter {
                client_id,
                db,
                keys,
                op,
                state: AtomicU8::new(WAITING),
                tx: Mutex::new(Some(tx)),
            }),
            rx,
        )
    }

    fn claim(&self) -> bool {
        self.state
            .compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn unclaim(&self) {
        self.state.store(WAITING, Ordering::Release);
    }

    fn deliver(&self, reply: Frame) {
        self.state.store(DONE, Ordering::Release);
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(reply);
        }
    }

    /// End the wait from the waiter's side (timeout, disconnect, shutdown) or CLIENT
    /// UNBLOCK with `reply`. Returns false if a push already claimed it: the element is on
    /// its way through the channel.
    pub(crate) fn cancel(&self, reply: Option<Frame>) -> bool {
        if self
            .state
            .compare_exchange(WAITING, DONE, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        // Without a reply the sender is dropped: the waiting side reads that as "timed out".
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
            if let Some(reply) = reply {
                let _ = tx.send(reply);
            }
        }
        true
    }
}

/// Clients blocked in XREADGROUP. While there are any, removing or overwriting a stream
/// (DEL, SET, expiry, ...) records the key (see [`note_stream_gone`]) so they hear that it
/// is gone, as Redis's `signalDeletedKeyAsReady` makes them.
static GROUP_WAITERS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static GONE: std::cell::RefCell<Vec<(usize, Bytes)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A stream at `key` in database `db` was removed or replaced: clients blocked reading it
/// with a group are told when the command is done (nothing to do when none are blocked).
#[inline]
pub(crate) fn note_stream_gone(db: usize, key: &[u8]) {
    if GROUP_WAITERS.load(Ordering::Relaxed) == 0 {
        return;
    }
    GONE.with(|g| g.borrow_mut().push((db, Bytes::copy_from_slice(key))));
}

/// Take the keys [`note_stream_gone`] recorded on this thread, into `ready`.
#[inline]
pub(crate) fn take_gone(ready: &mut Vec<(usize, Bytes)>) {
    if GROUP_WAITERS.load(Ordering::Relaxed) == 0 {
        return;
    }
    GONE.with(|g| ready.append(&mut g.borrow_mut()));
}

/// Every blocked client, by key and by client id.
#[derive(Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
    /// Number of blocked clients (INFO `blocked_clients`, and a fast "nobody waits" check).
    count: AtomicUsize,
}

#[derive(Default)]
struct Inner {
    by_key: HashMap<(usize, Bytes), VecDeque<Arc<Waiter>>>,
    by_client: HashMap<u64, Arc<Waiter>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn blocked(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Register `w` on its keys (call while holding the keys' shard locks).
    pub(crate) fn register(&self, w: &Arc<Waiter>) {
        let mut inner = self.lock();
        for k in &w.keys {
            inner
                .by_key
                .entry((w.db, k.clone()))
                .or_default()
                .push_back(w.clone());
        }
        inner.by_client.insert(w.client_id, w.clone());
        self.count.fetch_add(1, Ordering::Relaxed);
        if matches!(w.op, BlockOp::XReadGroup { .. }) {
            GROUP_WAITERS.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Remove `w` everywhere (idempotent).
    pub(crate) fn unregister(&self, w: &Arc<Waiter>) {
        let mut inner = self.lock();
        let Some(current) = inner.by_client.get(&w.client_id) else {
            return;
        };
        if !Arc::ptr_eq(current, w) {
            return;
        }
        inner.by_client.remove(&w.client_id);
        for k in &w.keys {
            let key = (w.db, k.clone());
            if let Some(q) = inner.by_key.get_mut(&key) {
                q.retain(|x| !Arc::ptr_eq(x, w));
                if q.is_empty() {
                    inner.by_key.remove(&key);
                }
            }
        }
        self.count.fetch_sub(1, Ordering::Relaxed);
        if matches!(w.op, BlockOp::XReadGroup { .. }) {
            GROUP_WAITERS.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn waiters(&self, db: usize, key: &Bytes) -> Vec<Arc<Waiter>> {
        self.lock()
            .by_key
            .get(&(db, key.clone()))
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The keys clients are blocked on in database `db` (for SWAPDB, which may bring them
    /// values).
    pub(crate) fn keys_in(&self, db: usize) -> Vec<Bytes> {
        self.lock()
            .by_key
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// The waiter of a client, for CLIENT UNBLOCK.
    pub(crate) fn of_client(&self, id: u64) -> Option<Arc<Waiter>> {
        self.lock().by_client.get(&id).cloned()
    }
}

/// Pop up to `count` elements from the list at `key`, deleting it when emptied. `None` if
/// the key is missing or not a list.
pub(crate) fn pop_list(
    shard: &mut Shard,
    key: &[u8],
    now: u64,
    left: bool,
    count: usize,
) -> Option<(Vec<Bytes>, bool)> {
    let Some(Entry {
        value: Value::List(list),
        ..
    }) = shard.get_mut(key, now)
    else {
        return None;
    };
    let n = count.min(list.len());
    if n == 0 {
        return None;
    }
    let out: Vec<Bytes> = (0..n)
        .filter_map(|_| {
            if left {
                list.pop_front()
            } else {
                list.pop_back()
            }
        })
        .map(Key::into_reply)
        .collect();
    let emptied = list.is_empty();
    if emptied {
        shard.remove(key, now);
    }
    Some((out, emptied))
}

/// Pop up to `count` members from the lowest (or, `max`, highest) end of the zset at `key`,
/// deleting it when emptied. `None` if the key is missing or not a zset.
pub(crate) fn pop_zset(
    shard: &mut Shard,
    key: &[u8],
    now: u64,
    max: bool,
    count: usize,
) -> Option<(Vec<(Bytes, f64)>, bool)> {
    let Some(Entry {
        value: Value::ZSet(z),
        ..
    }) = shard.get_mut(key, now)
    else {
        return None;
    };
    let n = count.min(z.len());
    if n == 0 {
        return None;
    }
    let len = z.len();
    let range = if max { (len - n, len) } else { (0, n) };
    let mut out: Vec<(Bytes, f64)> = z
        .remove_range(range.0, range.1)
        .into_iter()
        .map(|(s, m)| (m.into_reply(), s))
        .collect();
    if max {
        out.reverse();
    }
    // (The lookup marked the watchers.)
    let emptied = z.is_empty();
    if emptied {
        shard.remove(key, now);
    }
    Some((out, emptied))
}

/// The reply of a zset pop for BZPOPMIN/BZPOPMAX (`count` None) or BZMPOP.
pub(crate) fn zpop_reply(count: Option<usize>, key: &Bytes, got: Vec<(Bytes, f64)>) -> Frame {
    match count {
        Some(_) => crate::cmd::zsets::mpop_reply(key, &got),
        None => {
            let mut v = vec![Frame::Bulk(key.clone())];
            for (m, s) in got {
                v.push(Frame::Bulk(m));
                v.push(Frame::Double(s));
            }
            Frame::Array(v)
        }
    }
}

/// Keyspace notifications of a zset pop for a waiter: `zpopmin`/`zpopmax`, then `del`.
fn note_zpop(ks: &Keyspace, db: usize, key: &[u8], max: bool, emptied: bool) {
    let event = if max { "zpopmax" } else { "zpopmin" };
    crate::notify::note(&ks.notify, crate::notify::ZSET, event, db, key);
    if emptied {
        crate::notify::note(&ks.notify, crate::notify::GENERIC, "del", db, key);
    }
}

/// Keyspace notifications of a pop for a waiter: `lpop`/`rpop`, then `del` if it emptied
/// the list (see `notify`).
fn note_pop(ks: &Keyspace, db: usize, key: &[u8], left: bool, emptied: bool) {
    let pop = End::from_left(left).pop_event();
    crate::notify::note(&ks.notify, crate::notify::LIST, pop, db, key);
    if emptied {
        crate::notify::note(&ks.notify, crate::notify::GENERIC, "del", db, key);
    }
}

/// Push `elem` onto the list at `key` (created if missing). False if `key` holds another type.
pub(crate) fn push_list(shard: &mut Shard, key: &[u8], now: u64, left: bool, elem: Bytes) -> bool {
    match shard.get_mut(key, now) {
        Some(Entry {
            value: Value::List(list),
            ..
        }) => {
            if left {
                list.push_front(Key::new(&elem));
            } else {
                list.push_back(Key::new(&elem));
            }
            true
        }
        Some(_) => false,
        None => {
            shard.insert(key, Value::List(VecDeque::from([Key::new(&elem)])), 0);
            true
        }
    }
}

/// A list operation's reply for a waiter once `elems` were taken from `key`.
pub(crate) fn pop_reply(op: &BlockOp, key: &Bytes, mut elems: Vec<Bytes>) -> Frame {
    match op {
        BlockOp::Pop { .. } => Frame::Array(vec![
            Frame::Bulk(key.clone()),
            Frame::Bulk(elems.pop().unwrap_or_default()),
        ]),
        BlockOp::MPop { .. } => Frame::Array(vec![
            Frame::Bulk(key.clone()),
            Frame::Array(elems.into_iter().map(Frame::Bulk).collect()),
        ]),
        BlockOp::Move { .. } => Frame::Bulk(elems.pop().unwrap_or_default()),
        BlockOp::XRead { .. } | BlockOp::XReadGroup { .. } | BlockOp::ZPop { .. } => {
            Frame::NullArray
        }
    }
}

/// Put back what a push handed to a waiter that went away before it could reply.
pub(crate) fn restore(shared: &Shared, w: &Waiter, reply: Frame) {
    let ks = &shared.keyspace;
    let now = crate::db::now_ms();
    let (left, key, elems) = match (&w.op, reply) {
        (BlockOp::Pop { left }, Frame::Array(mut v)) if v.len() == 2 => {
            let elem = v.pop();
            let key = v.pop();
            match (key, elem) {
                (Some(Frame::Bulk(k)), Some(Frame::Bulk(e))) => (*left, k, vec![e]),
                _ => return,
            }
        }
        (BlockOp::MPop { left, .. }, Frame::Array(mut v)) if v.len() == 2 => {
            let elems = v.pop();
            let key = v.pop();
            match (key, elems) {
                (Some(Frame::Bulk(k)), Some(Frame::Array(es))) => (
                    *left,
                    k,
                    es.into_iter()
                        .filter_map(|f| match f {
                            Frame::Bulk(b) => Some(b),
                            _ => None,
                        })
                        .collect(),
                ),
                _ => return,
            }
        }
        (BlockOp::ZPop { .. }, Frame::Array(v)) => {
            restore_zset(shared, w, v);
            return;
        }
        // BLMOVE's element already sits in its destination: nothing was lost.
        _ => return,
    };
    {
        let mut shard = ks.lock_one(ks.shard_index(w.db, &key));
        // Re-push in reverse so the list reads as before the pop.
        for e in elems.into_iter().rev() {
            push_list(&mut shard, &key, now, left, e);
        }
    }
    serve(shared, vec![(w.db, key)]);
}

/// Put back the members a zset pop handed to a waiter that went away (its reply `v`:
/// `[key, member, score]` or `[key, [[member, score], ...]]`).
fn restore_zset(shared: &Shared, w: &Waiter, v: Vec<Frame>) {
    let mut it = v.into_iter();
    let Some(Frame::Bulk(key)) = it.next() else {
        return;
    };
    let mut pairs = Vec::new();
    let mut push = |m: Option<Frame>, s: Option<Frame>| {
        if let (Some(Frame::Bulk(m)), Some(Frame::Double(s))) = (m, s) {
            pairs.push((m, s));
        }
    };
    match w.op {
        BlockOp::ZPop { count: None, .. } => push(it.next(), it.next()),
        _ => {
            if let Some(Frame::Array(items)) = it.next() {
                for item in items {
                    if let Frame::Array(pair) = item {
                        let mut p = pair.into_iter();
                        push(p.next(), p.next());
                    }
                }
            }
        }
    }
    let ks = &shared.keyspace;
    let now = crate::db::now_ms();
    let lim = ks.encodings.limits();
    {
        let mut shard = ks.lock_one(ks.shard_index(w.db, &key));
        match shard.get_mut(&key, now) {
            Some(Entry {
                value: Value::ZSet(z),
                ..
            }) => {
                for (m, s) in pairs {
                    z.insert(&m, s, &lim);
                }
            }
            Some(_) => return,
            None => {
                let mut z = crate::db::zset::ZSet::default();
                for (m, s) in pairs {
                    z.insert(&m, s, &lim);
                }
                shard.insert(&key, Value::ZSet(Box::new(z)), 0);
            }
        }
    }
    serve(shared, vec![(w.db, key)]);
}

/// Serve the waiters of keys that commands just made ready. Call with no shard locked.
pub(crate) fn serve(shared: &Shared, ready: Vec<(usize, Bytes)>) {
    if shared.blocking.blocked() == 0 {
        return;
    }
    let ks = &shared.keyspace;
    let mut pending: VecDeque<(usize, Bytes)> = ready.into();
    // Bound the follow-up chain (BLMOVE into a key others wait on) defensively.
    let mut budget = 100_000;
    while let Some((db, key)) = pending.pop_front() {
        budget -= 1;
        if budget == 0 {
            break;
        }
        let waiters = shared.blocking.waiters(db, &key);
        if waiters.is_empty() {
            continue;
        }
        let now = crate::db::now_ms();
        let mut moves = Vec::new();
        {
            let mut shard = ks.lock_one(ks.shard_index(db, &key));
            for w in waiters {
                if !w.claim() {
                    continue;
                }
                if let BlockOp::XRead {
                    after,
                    count,
                    proto,
                } = &w.op
                {
                    let at = w.keys.iter().position(|k| *k == key);
                    let read = at.map(|i| {
                        crate::cmd::streams::read_after(&mut shard, &key, now, after[i], *count)
                    });
                    match read {
                        Some(Ok(Some(entries))) => {
                            let reply = crate::cmd::streams::read_reply(
                                *proto,
                                vec![(key.clone(), entries)],
                            );
                            shared.blocking.unregister(&w);
                            w.deliver(reply);
                        }
                        _ => w.unclaim(),
                    }
                    continue;
                }
                if let BlockOp::XReadGroup { .. } = &w.op {
                    match crate::cmd::groups::serve_waiter(&mut shard, &key, now, &w.op) {
                        Ok(None) => w.unclaim(),
                        Ok(Some((reply, created))) => {
                            if created {
                                crate::notify::note(
                                    &ks.notify,
                                    crate::notify::STREAM,
                                    "xgroup-createconsumer",
                                    db,
                                    &key,
                                );
                            }
                            shared.blocking.unregister(&w);
                            w.deliver(reply);
                        }
                        Err(e) => {
                            shared.blocking.unregister(&w);
                            w.deliver(e);
                        }
                    }
                    continue;
                }
                if let BlockOp::ZPop { max, count } = &w.op {
                    if !matches!(shard.get(&key, now).map(|e| &e.value), Some(Value::ZSet(_))) {
                        // Not a zset (yet): a list waiter on the same key may be served.
                        w.unclaim();
                        continue;
                    }
                    let Some((got, emptied)) =
                        pop_zset(&mut shard, &key, now, *max, count.unwrap_or(1))
                    else {
                        w.unclaim();
                        break;
                    };
                    note_zpop(ks, db, &key, *max, emptied);
                    let reply = zpop_reply(*count, &key, got);
                    shared.blocking.unregister(&w);
                    w.deliver(reply);
                    continue;
                }
                let (left, count) = match &w.op {
                    BlockOp::Pop { left } => (*left, 1),
                    BlockOp::MPop { left, count } => (*left, *count),
                    BlockOp::Move { from_left, .. } => (*from_left, 1),
                    BlockOp::XRead { .. } | BlockOp::XReadGroup { .. } | BlockOp::ZPop { .. } => {
                        continue
                    }
                };
                if matches!(shard.get(&key, now).map(|e| &e.value), Some(Value::ZSet(_))) {
                    // A zset waiter further on may be served.
                    w.unclaim();
                    continue;
                }
                let Some((elems, emptied)) = pop_list(&mut shard, &key, now, left, count) else {
                    w.unclaim();
                    break;
                };
                if let BlockOp::Move { to_left, dst, .. } = &w.op {
                    moves.push((w.clone(), left, *to_left, dst.clone(), elems, emptied));
                } else {
                    note_pop(ks, db, &key, left, emptied);
                    let reply = pop_reply(&w.op, &key, elems);
                    shared.blocking.unregister(&w);
                    w.deliver(reply);
                }
            }
        }
        for (w, from_left, to_left, dst, mut elems, emptied) in moves {
            let elem = elems.pop().unwrap_or_default();
            let idx = ks.shard_index(db, &dst);
            let pushed = push_list(&mut ks.lock_one(idx), &dst, now, to_left, elem.clone());
            shared.blocking.unregister(&w);
            if pushed {
                // Redis's order: the push, then the pop.
                let push = End::from_left(to_left).push_event();
                crate::notify::note(&ks.notify, crate::notify::LIST, push, db, &dst);
                note_pop(ks, db, &key, from_left, emptied);
                w.deliver(Frame::Bulk(elem));
                pending.push_back((db, dst));
            } else {
                // The destination changed type meanwhile: put the element back and report.
                let src = ks.shard_index(db, &key);
                push_list(&mut ks.lock_one(src), &key, now, from_left, elem);
                w.deliver(Frame::Error(Bytes::from_static(
                    crate::cmd::WRONGTYPE.as_bytes(),
                )));
                // The element is back: the key's next waiter gets it, as in Redis (which
                // checks the destination before popping for a waiter).
                pending.push_back((db, key.clone()));
            }
        }
    }
}
