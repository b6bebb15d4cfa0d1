//! The client registry: who is connected, for CLIENT LIST / INFO / KILL and INFO clients.
//!
//! Each connection registers a [`ClientHandle`] and removes it when it ends. Fields other
//! connections read (name, db, idle time, last command) are atomics or a small mutex that is
//! only written by the owning connection on rare commands (SETNAME), so the registry never
//! slows the command path. The registry's own mutex is taken on connect, disconnect and the
//! CLIENT commands only, and never while shard locks are held.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering, Ordering::Relaxed,
};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures_util::task::AtomicWaker;

/// How a connection learns it must end: CLIENT KILL, the slow-consumer cut-off, or the
/// server's shutdown (which kills every registered client). A flag plus the connection task's
/// waker: checking costs one atomic load and waiting one waker registration, where a
/// `CancellationToken` took a mutex to check and two more to add and withdraw a waiter, on
/// every wait of every request. Only the connection's own task waits on it.
#[derive(Default)]
pub(crate) struct KillSwitch {
    killed: AtomicBool,
    waker: AtomicWaker,
}

impl KillSwitch {
    /// End the connection (idempotent).
    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Whether [`KillSwitch::kill`] was called.
    pub(crate) fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// Completes once killed.
    pub(crate) fn killed(&self) -> impl std::future::Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            if self.is_killed() {
                return std::task::Poll::Ready(());
            }
            self.waker.register(cx.waker());
            // A kill between the check and the registration must not be missed.
            if self.is_killed() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
    }
}

/// Why a connection ended; recorded in the conversation log and traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// The client sent QUIT.
    ClientQuit,
    /// The client closed the connection.
    Eof,
    /// A framing error.
    ProtocolError,
    /// Idle past `timeout`.
    Idle,
    /// CLIENT KILL.
    Killed,
    /// Server shutdown.
    Shutdown,
    /// Reading or writing the socket failed.
    IoError,
    /// The query buffer outgrew its limit.
    QueryBufferLimit,
    /// Looked like HTTP (or another cross-protocol attack).
    SecurityAttack,
    /// A MONITOR client did not keep up.
    SlowConsumer,
    /// Not a close: the connection moves to another lane (see `lanes`).
    Moved,
}

impl CloseReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CloseReason::ClientQuit => "quit",
            CloseReason::Eof => "eof",
            CloseReason::ProtocolError => "protocol error",
            CloseReason::Idle => "idle timeout",
            CloseReason::Killed => "killed",
            CloseReason::Shutdown => "shutdown",
            CloseReason::IoError => "io error",
            CloseReason::QueryBufferLimit => "query buffer limit",
            CloseReason::SecurityAttack => "http request refused",
            CloseReason::SlowConsumer => "slow consumer",
            CloseReason::Moved => "moved",
        }
    }
}

/// What other connections may read about one client.
pub(crate) struct ClientHandle {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    /// The socket's file descriptor (`fd=`).
    pub fd: i32,
    pub created: Instant,
    /// Unix milliseconds of the last command (or of the connection), for `idle=`.
    pub last_active_ms: AtomicU64,
    pub db: AtomicUsize,
    pub resp: AtomicU8,
    /// Stats slot of the last command (`Commands::slot`, `usize::MAX` for an unknown one),
    /// for `cmd=`.
    pub last_cmd: AtomicUsize,
    /// Commands queued since MULTI (-1 outside MULTI; kept while EXEC runs them), for
    /// `multi=` and the `x` flag.
    pub multi: AtomicI64,
    /// Channel subscriptions, for `sub=`.
    pub subscriptions: AtomicUsize,
    /// Pattern subscriptions, for `psub=`.
    pub psubscriptions: AtomicUsize,
    /// Shard channel subscriptions, for `ssub=`.
    pub ssubscriptions: AtomicUsize,
    /// Waiting in a blocking command, for the `b` flag.
    pub blocked: AtomicBool,
    /// CLIENT NO-EVICT ON, for the `e` flag (there is no client eviction to exempt it from).
    pub no_evict: AtomicBool,
    /// The client's WATCH flag, set by shards when a watched key changes (read by EXEC, and
    /// CLIENT LIST's `d` flag).
    pub watch_flag: crate::db::WatchFlag,
    pub is_monitor: AtomicBool,
    /// Name, library name and version: written by SETNAME/SETINFO/HELLO, read by CLIENT LIST.
    pub names: Mutex<ClientNames>,
    /// Thrown by CLIENT KILL, a slow-consumer cut-off, or the server's shutdown; the
    /// connection task waits on this one switch and then tells which it was from the shutdown
    /// handle and its push queue.
    pub kill: Arc<KillSwitch>,
    /// The lane serving the connection (see `lanes`).
    pub lane: AtomicUsize,
    /// The lane the balancer wants it on (`lanes::NO_MOVE`: stay).
    pub move_to: AtomicUsize,
    /// The connection's push queue once it has subscribed (CLIENT LIST reads its size).
    pub push: Mutex<std::sync::Weak<crate::pubsub::PushSink>>,
}

/// The client's self-reported identity.
#[derive(Default, Clone)]
pub(crate) struct ClientNames {
    pub name: Bytes,
    pub lib_name: Bytes,
    pub lib_ver: Bytes,
}

impl ClientHandle {
    pub(crate) fn name(&self) -> Bytes {
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .name
            .clone()
    }

    /// Record activity at `now_ms`, Unix milliseconds (the batch's clock reading, so no
    /// extra one and no arithmetic).
    pub(crate) fn touch(&self, now_ms: u64) {
        self.last_active_ms.store(now_ms, Relaxed);
    }

    /// Redis's client type `pubsub`: subscribed to a channel, pattern or shard channel.
    pub(crate) fn is_pubsub(&self) -> bool {
        self.subscriptions.load(Relaxed)
            + self.psubscriptions.load(Relaxed)
            + self.ssubscriptions.load(Relaxed)
            > 0
    }

    /// Bytes of a subscriber's queued deliveries (CLIENT LIST `omem`); other replies are
    /// written within their batch.
    pub(crate) fn omem(&self) -> usize {
        self.push
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .upgrade()
            .map_or(0, |s| s.pending())
    }

    /// One CLIENT LIST / CLIENT INFO line (without the trailing newline), in Redis 7.2's
    /// field order. `own` is, for the calling client, its query buffer's length and the
    /// size of the running command's arguments (`qbuf` and `argv-mem`; Redis shows 0 for
    /// an idle client, whose buffer it frees, and other clients here are idle or mid-read).
    /// `omem` is a subscriber's queued deliveries (`obl` and `oll`, how Redis's buffers hold
    /// them, stay 0); `tot-mem` adds up the three, without the connection's fixed costs.
    pub(crate) fn info_line(&self, cmd_name: &str, own: Option<(usize, usize)>) -> String {
        let (qbuf, argv_mem) = own.unwrap_or((0, 0));
        let omem = self.omem();
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let age = self.created.elapsed().as_secs();
        let idle_ms = crate::db::now_ms().saturating_sub(self.last_active_ms.load(Relaxed));
        let mut flags = String::new();
        if self.is_monitor.load(Relaxed) {
            flags.push('O');
        }
        // In Redis's order: O, P, x, b, d, e.
        let multi = self.multi.load(Relaxed);
        if self.is_pubsub() {
            flags.push('P');
        }
        if multi >= 0 {
            flags.push('x');
        }
        if self.blocked.load(Relaxed) {
            flags.push('b');
        }
        if self.watch_flag.load(Relaxed) {
            flags.push('d');
        }
        if self.no_evict.load(Relaxed) {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free=0 argv-mem={} multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            String::from_utf8_lossy(&names.name),
            age,
            idle_ms / 1000,
            flags,
            self.db.load(Relaxed),
            self.subscriptions.load(Relaxed),
            self.psubscriptions.load(Relaxed),
            self.ssubscriptions.load(Relaxed),
            multi,
            qbuf,
            argv_mem,
            omem,
            qbuf + argv_mem + omem,
            cmd_name,
            self.resp.load(Relaxed),
            String::from_utf8_lossy(&names.lib_name),
            String::from_utf8_lossy(&names.lib_ver),
        )
    }
}

/// All connected clients.
#[derive(Default)]
pub(crate) struct Registry {
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    next_id: AtomicU64,
    connected: AtomicUsize,
}

impl Registry {
    /// A fresh id (ids start at 1 and are never reused, as in Redis).
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Relaxed) + 1
    }

    pub(crate) fn connected(&self) -> usize {
        self.connected.load(Relaxed)
    }

    /// Reserve a slot if fewer than `max` clients are connected.
    pub(crate) fn try_reserve(&self, max: usize) -> bool {
        self.connected
            .fetch_update(Relaxed, Relaxed, |n| (n < max).then_some(n + 1))
            .is_ok()
    }

    /// Give back a slot reserved with `try_reserve`.
    pub(crate) fn release(&self) {
        self.connected.fetch_sub(1, Relaxed);
    }

    pub(crate) fn register(&self, handle: Arc<ClientHandle>) {
        self.lock().insert(handle.id, handle);
    }

    pub(crate) fn unregister(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Kill every registered client (shutdown). A connection that registers afterwards
    /// checks the shutdown flag itself.
    pub(crate) fn kill_all(&self) {
        for h in self.lock().values() {
            h.kill.kill();
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<Arc<ClientHandle>> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<ClientHandle>>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }
}
