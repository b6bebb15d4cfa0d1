//! Keyspace notifications (Redis's `notify-keyspace-events`): a pub/sub message for every
//! change to a key, on `__keyspace@<db>__:<key>` (the message is the event, e.g. `set`) and
//! on `__keyevent@<db>__:<event>` (the message is the key), for the classes of events
//! configured.
//!
//! DESIGN. Commands (and the shards, for keys that expire) note events while they hold shard
//! locks: [`note`] checks the configured classes (one atomic load: nothing else happens when
//! notifications are off, the default) and queues the event on the thread. The queue is
//! published by [`flush`] once the locks are released (pub/sub locks are never taken under a
//! shard lock): by the dispatcher after every command (after any blocked clients the command
//! served), and by the expiry sweeper after each pass. So a command's events go out in the
//! order it made them, before its reply; between clients, as in any multi-threaded server,
//! events of commands that ran at the same time on other keys may interleave.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::pubsub::Wakes;
use crate::server::Shared;

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub(crate) const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub(crate) const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub(crate) const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub(crate) const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub(crate) const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub(crate) const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub(crate) const HASH: u32 = 1 << 6;
/// `z`: sorted-set commands (confab has none yet).
pub(crate) const ZSET: u32 = 1 << 7;
/// `x`: keys that expired.
pub(crate) const EXPIRED: u32 = 1 << 8;
/// `e`: keys evicted for memory (confab evicts none).
pub(crate) const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub(crate) const STREAM: u32 = 1 << 10;
/// `m`: key misses.
pub(crate) const KEY_MISS: u32 = 1 << 11;
/// `d`: module events (confab has no modules).
pub(crate) const MODULE: u32 = 1 << 13;
/// `n`: new keys.
pub(crate) const NEW: u32 = 1 << 14;
/// `A`: every class but `m` and `n`.
pub(crate) const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parse a `notify-keyspace-events` value (Redis's `keyspaceEventsStringToFlags`); `None` for
/// a character that names no class.
pub(crate) fn parse_flags(s: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for c in s {
        flags |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The value CONFIG GET shows (Redis's `keyspaceEventsFlagsToString`).
pub(crate) fn flags_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// The configured classes of one server, shared by its keyspace's shards.
pub(crate) type Flags = Arc<AtomicU32>;

struct Note {
    /// Which server's flags noted it (a thread may serve several servers in tests).
    server: usize,
    event: &'static str,
    db: usize,
    key: Bytes,
}

thread_local! {
    static QUEUE: RefCell<Vec<Note>> = const { RefCell::new(Vec::new()) };
}

/// Whether any event of `class` is published (a command may skip work it only does for
/// notifications).
#[inline]
pub(crate) fn wanted(flags: &Flags, class: u32) -> bool {
    let f = flags.load(Relaxed);
    f & class != 0 && f & (KEYSPACE | KEYEVENT) != 0
}

/// Queue `event` of `class` on `key` in database `db`, if that class is configured.
#[inline]
pub(crate) fn note(flags: &Flags, class: u32, event: &'static str, db: usize, key: &[u8]) {
    if wanted(flags, class) {
        push(flags, event, db, key);
    }
}

#[cold]
fn push(flags: &Flags, event: &'static str, db: usize, key: &[u8]) {
    let server = Arc::as_ptr(flags) as usize;
    QUEUE.with_borrow_mut(|q| {
        q.push(Note {
            server,
            event,
            db,
            key: Bytes::copy_from_slice(key),
        })
    });
}

/// Publish what this thread queued for `shared`'s server (see DESIGN).
#[inline]
pub(crate) fn flush(shared: &Shared, wakes: &mut Wakes) {
    if QUEUE.with_borrow(|q| q.is_empty()) {
        return;
    }
    publish(shared, wakes);
}

#[cold]
fn publish(shared: &Shared, wakes: &mut Wakes) {
    let notes = QUEUE.with_borrow_mut(std::mem::take);
    let flags = &shared.keyspace.notify;
    let me = Arc::as_ptr(flags) as usize;
    let f = flags.load(Relaxed);
    let mut channel = BytesMut::new();
    for n in notes.iter().filter(|n| n.server == me) {
        if f & KEYSPACE != 0 {
            channel.clear();
            channel.extend_from_slice(format!("__keyspace@{}__:", n.db).as_bytes());
            channel.extend_from_slice(&n.key);
            shared
                .pubsub
                .publish(false, &channel, n.event.as_bytes(), wakes);
        }
        if f & KEYEVENT != 0 {
            let channel = format!("__keyevent@{}__:{}", n.db, n.event);
            shared
                .pubsub
                .publish(false, channel.as_bytes(), &n.key, wakes);
        }
    }
    // Keep the queue's memory for the next command.
    QUEUE.with_borrow_mut(|q| {
        if q.capacity() == 0 {
            let mut notes = notes;
            notes.clear();
            *q = notes;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_as_redis_prints_them() {
        assert_eq!(flags_string(parse_flags(b"KEA").unwrap()), "AKE");
        assert_eq!(flags_string(parse_flags(b"Ex").unwrap()), "xE");
        assert_eq!(flags_string(parse_flags(b"").unwrap()), "");
        assert_eq!(flags_string(parse_flags(b"$lgK").unwrap()), "g$lK");
        assert_eq!(flags_string(parse_flags(b"AKEmn").unwrap()), "AKEm");
        assert_eq!(parse_flags(b"KEQ"), None);
    }
}
