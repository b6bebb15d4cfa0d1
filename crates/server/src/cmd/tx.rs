//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! EXEC is atomic: it locks, in the keyspace's global order, every shard any queued command
//! needs (all shards when a queued command can switch or span databases), checks the WATCH
//! flag while holding them, runs every command, and only then releases. No other client can
//! observe a state between two of the transaction's commands.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use bytes::Bytes;
use confab_protocol::Frame;

use super::{err, ok, plan_shards, record, Client, Ctx, Handler, Plan};
use crate::db::ShardSet;
use crate::server::Shared;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("multi", multi, Plan::None),
    ("exec", exec_placeholder, Plan::None),
    ("discard", discard, Plan::None),
    ("watch", watch, Plan::Keys),
    ("unwatch", unwatch, Plan::None),
];

/// # Format
/// `MULTI`
fn multi(ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    if ctx.client.multi.is_some() {
        return err("ERR MULTI calls can not be nested");
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_error = false;
    ctx.client.handle.multi.store(0, Relaxed);
    ok()
}

/// EXEC is dispatched to [`exec`] directly (it locks for itself); this is never called.
fn exec_placeholder(_ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    err("ERR EXEC without MULTI")
}

/// Forget the transaction and every watch (DISCARD, RESET, EXEC's end, disconnect). Must be
/// called with no shard locked.
pub(crate) fn discard_state(shared: &Shared, client: &mut Client) {
    client.multi = None;
    client.multi_error = false;
    client.handle.multi.store(-1, Relaxed);
    unwatch_all(shared, client);
}

/// Remove this client's watches from the shards and clear its dirty flag. Must be called
/// with no shard locked: it locks each watched key's shard on its own.
pub(crate) fn unwatch_all(shared: &Shared, client: &mut Client) {
    for (db, key) in client.watched.drain(..) {
        let idx = shared.keyspace.shard_index(db, &key);
        shared
            .keyspace
            .lock_one(idx)
            .unwatch(&key, &client.handle.watch_flag);
    }
    client.handle.watch_flag.store(false, Release);
}

/// # Format
/// `DISCARD`
fn discard(ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    if ctx.client.multi.is_none() {
        return err("ERR DISCARD without MULTI");
    }
    discard_state(ctx.shared, ctx.client);
    ok()
}

/// # Format
/// `WATCH key [key ...]`
fn watch(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    if ctx.client.multi.is_some() {
        return err("ERR WATCH inside MULTI is not allowed");
    }
    let db = ctx.client.db;
    for key in &a[1..] {
        if ctx.client.watched.iter().any(|(d, k)| *d == db && k == key) {
            continue;
        }
        let key = Bytes::copy_from_slice(key);
        let flag = ctx.client.handle.watch_flag.clone();
        ctx.locked.shard(db, &key).watch(key.clone(), flag, ctx.now);
        ctx.client.watched.push((db, key));
    }
    ok()
}

/// # Format
/// `UNWATCH`
fn unwatch(ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    unwatch_all(ctx.shared, ctx.client);
    ok()
}

/// Commands that, queued in a transaction, need EXEC to hold every shard: those that may
/// touch another database than the current one, or all of them, and INFO, whose keyspace
/// section reads every shard (locking one the transaction holds would wait on itself and
/// stall the lane's thread with every connection on it).
fn needs_every_shard(name: &str) -> bool {
    matches!(
        name,
        "select" | "swapdb" | "flushall" | "move" | "copy" | "info"
    )
}

/// # Format
/// `EXEC`
pub(crate) fn exec(shared: &Shared, client: &mut Client, now: u64) -> Frame {
    // The client shows `flags=x multi=<queued>` while its transaction runs, as in Redis.
    let reply = run_exec(shared, client, now);
    client.handle.multi.store(-1, Relaxed);
    reply
}

fn run_exec(shared: &Shared, client: &mut Client, now: u64) -> Frame {
    let Some(queue) = client.multi.take() else {
        return err("ERR EXEC without MULTI");
    };
    if std::mem::take(&mut client.multi_error) {
        unwatch_all(shared, client);
        return err("EXECABORT Transaction discarded because of previous errors.");
    }
    let ks = &shared.keyspace;
    let mut set = ShardSet::new();
    let mut everything = false;
    for q in &queue {
        let def = shared.commands.by_idx(q.def_idx);
        if needs_every_shard(def.spec.name) || matches!(def.plan, Plan::All) {
            everything = true;
            break;
        }
        set.extend(plan_shards(ks, def, client.db, &q.args));
    }
    // And the watched keys' shards, to check under their locks whether one expired.
    set.extend(
        client
            .watched
            .iter()
            .map(|(db, key)| ks.shard_index(*db, key)),
    );
    let mut locked = if everything {
        ks.lock_all()
    } else {
        ks.lock(set)
    };
    // Checked while holding the shards, the watched keys' among them: nothing can touch a
    // watched key between this check and the end of the transaction. A watched key that has
    // expired since WATCH (not yet reclaimed) fails EXEC too, as Redis's
    // `isWatchedKeyExpired` makes it.
    let expired = client.watched.iter().any(|(db, key)| {
        locked
            .shard(*db, key)
            .watched_key_expired(key, &client.handle.watch_flag, now)
    });
    if expired || client.handle.watch_flag.load(Acquire) {
        drop(locked);
        unwatch_all(shared, client);
        return Frame::NullArray;
    }
    let mut replies = Vec::with_capacity(queue.len());
    // Replies of commands that answer with several frames (SUBSCRIBE and friends: one per
    // channel), by position in `replies`.
    let mut spread: Vec<(usize, Vec<Frame>)> = Vec::new();
    for q in &queue {
        let def = shared.commands.by_idx(q.def_idx);
        if shared.monitor_count.load(Relaxed) > 0 && !def.skip_monitor {
            super::feed_monitors(shared, client, &q.args);
        }
        let started = quanta::Instant::now();
        let mut ctx = Ctx {
            shared,
            client,
            locked: &mut locked,
            now,
            in_exec: true,
        };
        // A queued UNWATCH must not lock shards we hold; EXEC unwatches everything below.
        let reply = if def.spec.name == "unwatch" {
            ok()
        } else {
            (def.handler)(&mut ctx, &q.args)
        };
        let took = super::micros(started.elapsed());
        record(shared, q.slot, took, &reply);
        super::slowlog_check(shared, client, def, &q.args, took);
        if let Some(frames) = client.replies.take() {
            spread.push((replies.len(), frames));
        }
        replies.push(reply);
    }
    drop(locked);
    unwatch_all(shared, client);
    if !client.ready_keys.is_empty() {
        let ready = std::mem::take(&mut client.ready_keys);
        crate::blocking::serve(shared, ready);
    }
    if spread.is_empty() {
        return Frame::Array(replies);
    }
    client.replies = Some(spread_replies(replies, spread));
    Frame::Null
}

/// EXEC's reply when some queued command answered with several frames: as Redis does, the
/// array's length counts commands and each command's frames follow in order (`MULTI`,
/// `SUBSCRIBE a b`, `EXEC` sends `*1` and then two subscribe confirmations). On the wire that
/// is an array of the first frames followed by the rest, which is how it is sent (and shown
/// in the conversation log).
fn spread_replies(replies: Vec<Frame>, spread: Vec<(usize, Vec<Frame>)>) -> Vec<Frame> {
    let n = replies.len();
    let mut all = Vec::with_capacity(n + spread.iter().map(|(_, f)| f.len()).sum::<usize>());
    let mut spread = spread.into_iter().peekable();
    for (i, reply) in replies.into_iter().enumerate() {
        match spread.next_if(|(at, _)| *at == i) {
            Some((_, frames)) => all.extend(frames),
            None => all.push(reply),
        }
    }
    let rest = all.split_off(n.min(all.len()));
    let mut out = vec![Frame::Array(all)];
    out.extend(rest);
    out
}
