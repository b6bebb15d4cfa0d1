//! One client connection: read frames, run every complete command, write the batch's
//! replies with one write, repeat.
//!
//! DESIGN. The task owns its socket, a read buffer, an output buffer and the client's state.
//! Each turn it runs every complete command already buffered (pipelining), appending replies to
//! the output buffer, and flushes once at the end of the batch (on a busy lane, at the end of
//! the lane's loop turn, with the other connections' replies: `DEFER_FLUSH_AFTER`), or early
//! when the batch's output passes `output_flush_threshold`. While a write waits on a client that does not read,
//! nothing more is read from it: the kernel's socket buffers and the threshold bound the
//! memory one connection can hold, however much it pipelines. Between turns it waits for input,
//! shutdown, CLIENT KILL, the idle timeout and (in MONITOR mode) monitor lines. A subscriber
//! lends its socket's write half to its push sink while it waits, so a publisher's worker
//! can write deliveries straight to it (see `pubsub`); it takes it back before doing
//! anything else, so the socket only ever has one writer.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use confab_protocol::{encode, Frame, Limits, ParseError, Protocol, RequestParser};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::clients::{ClientHandle, ClientNames, CloseReason};
use crate::cmd::{self, Client, Reply};
use crate::convlog;
use crate::lanes::Handoff;
use crate::server::{MonitorSink, Shared};
use crate::stats::Stats;

/// First read size of a connection; doubled each time a read fills the buffer, up to
/// [`MAX_READ_CHUNK`], so chatty clients read in big chunks and idle ones stay small.
const MIN_READ_CHUNK: usize = 1024;
/// Largest read size.
const MAX_READ_CHUNK: usize = 64 * 1024;
/// Output buffer capacity an idle connection keeps.
const KEEP_WRITE_BUFFER: usize = 4 * 1024;
/// Output buffer capacity a busy connection keeps between batches.
const KEEP_BUSY_WRITE_BUFFER: usize = 256 * 1024;
/// Idle time after which a connection gives back buffers grown by a burst.
const TRIM_AFTER: Duration = Duration::from_secs(1);
/// Requests closer together than this keep the connection's read buffer between them.
const CHATTY_WITHIN: Duration = Duration::from_millis(50);
/// Lines a MONITOR client may have queued before it is cut off as a slow consumer.
const MONITOR_QUEUE: usize = 10_000;
/// A lane whose last loop turn served at least this many batches (connections with commands)
/// writes each batch's replies at the end of the turn, after every connection ready in it ran,
/// as Redis writes its clients in `beforeSleep`; a quieter lane writes each at once. Written
/// one by one, the replies of a busy turn each woke the clients' side anew: redis-benchmark
/// at pipeline 16 slept 41,000 times per 2,000,000 GETs against confab and 5,400 times against
/// Redis, and the wake-ups (an IPI each on a VM) took a fifth of confab's CPU. At the end of the
/// turn: 6,700 sleeps, 0.67 instead of 0.92 us of server CPU per request, 1.37x the requests
/// per second. With a handful of clients (redis-benchmark -c 5) writing at once is faster
/// (90-101k against 66k requests per second): the client starts on a reply while the server
/// serves the next, so only a busy turn defers. (docs/PERFORMANCE.md, session 12.)
const DEFER_FLUSH_AFTER: u32 = 8;

/// The clients a lane served are counted over windows of this length (see [`turn_ended`]).
pub(crate) const CLIENT_WINDOW_NS: u64 = 1_000_000;

/// What a lane's thread has served lately: this loop turn and the last, and the clients of
/// the current and the last [`CLIENT_WINDOW_NS`] window.
#[derive(Clone, Copy)]
struct Served {
    /// Batches with replies in the current turn, and in the last one.
    turn: u32,
    last_turn: u32,
    /// The current window's number (a connection remembers the window it was last counted
    /// in, so each counts once per window; never 0, the number of a new connection).
    window: u32,
    window_start_ns: u64,
    /// Distinct connections served in the current window, and in the last one.
    clients: u32,
    last_clients: u32,
    /// Batches with replies in the current window, and in the last one.
    batches: u32,
    last_batches: u32,
}

thread_local! {
    static SERVED: std::cell::Cell<Served> = const {
        std::cell::Cell::new(Served {
            turn: 0,
            last_turn: 0,
            window: 1,
            window_start_ns: 0,
            clients: 0,
            last_clients: 0,
            batches: 0,
            last_batches: 0,
        })
    };
}

/// Batches whose replies waited for the end of their lane's turn, since start (INFO lanes).
pub(crate) static FLUSHES_DEFERRED: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

/// How a lane's loop turn went, for its park hook.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TurnSummary {
    /// Batches with replies served in the turn.
    pub(crate) batches: u32,
    /// Distinct connections served in the last millisecond or two.
    pub(crate) recent_clients: u32,
    /// Batches served in the last whole [`CLIENT_WINDOW_NS`] window (0 in the first).
    pub(crate) window_batches: u32,
}

/// The lane's loop turn ended: its runtime is about to park (from the lane runtime's park
/// hook; see `lanes`; `now_ns` on the hook's clock). Without the hook (a runtime of the
/// embedder's), nothing is deferred. The turn's deferred batches are counted here, once per
/// turn, not once per batch.
pub(crate) fn turn_ended(now_ns: u64) -> TurnSummary {
    let mut s = SERVED.get();
    if s.last_turn >= DEFER_FLUSH_AFTER {
        FLUSHES_DEFERRED.fetch_add(u64::from(s.turn), Relaxed);
    }
    let batches = s.turn;
    s.last_turn = s.turn;
    s.turn = 0;
    if now_ns.saturating_sub(s.window_start_ns) >= CLIENT_WINDOW_NS {
        s.window = s.window.wrapping_add(1).max(1);
        s.window_start_ns = now_ns;
        s.last_clients = s.clients;
        s.clients = 0;
        s.last_batches = s.batches;
        s.batches = 0;
    }
    SERVED.set(s);
    TurnSummary {
        batches,
        recent_clients: s.clients.max(s.last_clients),
        window_batches: s.last_batches,
    }
}

/// Count a batch with replies (and its connection, once per window: `seen` is the window it
/// was last counted in); whether to write them at the end of the turn (every batch of a turn
/// that follows a busy one).
fn flush_later(seen: &mut u32) -> bool {
    let mut s = SERVED.get();
    s.turn = s.turn.saturating_add(1);
    s.batches = s.batches.saturating_add(1);
    if *seen != s.window {
        *seen = s.window;
        s.clients += 1;
    }
    SERVED.set(s);
    s.last_turn >= DEFER_FLUSH_AFTER
}

thread_local! {
    /// This lane's pacer (see [`pacer`]): its waker, and whether a deferred write asked it
    /// to make the lane read its sockets before it parks.
    static PACER: std::cell::RefCell<Option<std::task::Waker>> =
        const { std::cell::RefCell::new(None) };
    static PACER_ARMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Let every other task ready on this lane run, then go on, before the lane reads its
/// sockets again: the replies of one loop turn are all written before the requests that
/// arrived meanwhile are read, as Redis writes its clients in `beforeSleep`, before its next
/// `epoll_wait`. A task that wakes itself goes to the back of the lane's run queue (unless
/// the runtime's periodic driver poll comes first).
///
/// `tokio::task::yield_now`, used before, wakes the task only after the runtime has polled
/// its driver: the requests that arrived during the turn ran first, and a deferred reply
/// waited for them, which widened P=1's latency tail (docs/PERFORMANCE.md, session 16). It
/// also made the runtime poll its sockets (`epoll_wait` with no timeout) instead of parking
/// when the turn ended; the [`pacer`] keeps that.
fn to_end_of_turn() -> impl std::future::Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            if !PACER_ARMED.replace(true) {
                PACER.with_borrow(|w| w.as_ref().map(std::task::Waker::wake_by_ref));
            }
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
}

/// A lane's pacer: after a loop turn that deferred writes (see [`to_end_of_turn`]), it
/// yields with `tokio::task::yield_now`, so the runtime reads the sockets' readiness without
/// waiting instead of parking, and the requests that arrived during the turn are served in
/// the next one. Only a turn that found nothing new lets the lane park, and so nap (see
/// `lanes`): a nap with requests already waiting would only delay them. Ends with `stop`.
pub(crate) async fn pacer(stop: tokio_util::sync::CancellationToken) {
    let run = async {
        loop {
            std::future::poll_fn(|cx| {
                if PACER_ARMED.replace(false) {
                    return std::task::Poll::Ready(());
                }
                PACER.with_borrow_mut(|w| match w {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *w = Some(cx.waker().clone()),
                });
                std::task::Poll::Pending
            })
            .await;
            tokio::task::yield_now().await;
        }
    };
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = run => {}
    }
    PACER.with_borrow_mut(|w| *w = None);
}

/// Serve one accepted connection until it closes; never returns an error (it is logged).
pub(crate) async fn serve(
    socket: TcpStream,
    addr: SocketAddr,
    id: u64,
    shared: Arc<Shared>,
    lane: usize,
) {
    let _ = socket.set_nodelay(true);
    // The listener's address is the local address unless it is a wildcard; only then ask
    // the kernel (one syscall fewer per connection on the common path).
    let laddr = if shared.local_addr.ip().is_unspecified() {
        socket.local_addr().unwrap_or(shared.local_addr)
    } else {
        shared.local_addr
    };
    let fd = {
        use std::os::fd::AsRawFd;
        socket.as_raw_fd()
    };
    let handle = Arc::new(ClientHandle {
        id,
        addr,
        laddr,
        fd,
        created: Instant::now(),
        last_active_ms: crate::db::now_ms().into(),
        db: Default::default(),
        resp: 2.into(),
        last_cmd: usize::MAX.into(),
        multi: (-1).into(),
        subscriptions: Default::default(),
        psubscriptions: Default::default(),
        ssubscriptions: Default::default(),
        blocked: Default::default(),
        no_evict: Default::default(),
        watch_flag: Default::default(),
        is_monitor: Default::default(),
        names: std::sync::Mutex::new(ClientNames::default()),
        kill: Default::default(),
        lane: lane.into(),
        move_to: crate::lanes::NO_MOVE.into(),
        push: Default::default(),
    });
    shared.clients.register(handle.clone());
    // Registered after the shutdown's kill_all went through the registry: the trigger came
    // before it, so it is visible here (the registry's mutex orders the two).
    if shared.shutdown.is_triggered() {
        handle.kill.kill();
    }
    if shared.log.is_on() || cmd::monitoring(&shared) {
        let text = format!("Client {id} connected from {addr}");
        cmd::monitor_system(&shared, &text);
        shared.log.system(&text).await;
    }
    tracing::debug!("client connected");

    let authenticated = shared.requirepass().is_none();
    let mut parser = RequestParser::new(Limits {
        max_bulk_len: shared.config.max_bulk_len,
        max_multibulk_len: shared.config.max_multibulk_len,
        max_inline_len: shared.config.max_inline_len,
    });
    // Redis's tighter framing limits for clients that have not authenticated yet.
    parser.set_auth_required(!authenticated);
    // Split so that a subscriber's write half can be lent to its push sink while the
    // connection is idle (see `pubsub`); the halves share one allocation.
    let (socket, out) = socket.into_split();
    let conn = Conn {
        socket,
        out: Some(out),
        rbuf: BytesMut::new(),
        wbuf: BytesMut::new(),
        parser,
        args: Vec::new(),
        client: Client::new(handle.clone(), authenticated),
        logbuf: convlog::Lines::default(),
        log_prefixes: Default::default(),
        prefix_label_version: 0,
        monitor_rx: None,
        shared: shared.clone(),
        read_chunk: MIN_READ_CHUNK,
        last_batch: quanta::Instant::now(),
        chatty: false,
        ran_batch: false,
        seen_window: 0,
        trim: None,
    };
    drive(conn).await;
}

/// Serve a connection handed to this lane (see `lanes`): a new one, or one moving here.
pub(crate) async fn take_over(lane: usize, handoff: Handoff, shared: Arc<Shared>) {
    match handoff {
        Handoff::New { socket, addr, id } => match TcpStream::from_std(socket) {
            Ok(socket) => {
                let span = tracing::debug_span!("conn", id, %addr);
                serve(socket, addr, id, shared, lane).instrument(span).await
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot register a connection on its lane");
                shared.clients.release();
            }
        },
        Handoff::Moved(conn) => {
            let handle = conn.client.handle.clone();
            let span = tracing::debug_span!("conn", id = handle.id, addr = %handle.addr);
            match conn.rehome() {
                Ok(conn) => {
                    handle.lane.store(lane, Relaxed);
                    drive(*conn).instrument(span).await
                }
                Err(back) => {
                    let (shared, client) = *back;
                    tracing::warn!(lane, "cannot move a connection to its lane; closing it");
                    let label = leave_with(&shared, client, || {});
                    log_close(shared, label, CloseReason::IoError).await
                }
            }
        }
    }
}

/// Run the connection until it closes (then clean up) or moves to another lane.
///
/// (Not an `async fn`: an async fn's future keeps its by-value arguments twice, once as
/// passed and once moved into its body; capturing `conn` in an `async move` block keeps it
/// once. Measured: 488 bytes less per connection task.)
#[allow(clippy::manual_async_fn)] // deliberate: see above
fn drive(mut conn: Conn) -> impl std::future::Future<Output = ()> + Send {
    async move {
        let reason = loop {
            let reason = conn.run().await;
            if reason != CloseReason::Moved {
                break reason;
            }
            let to = conn
                .client
                .handle
                .move_to
                .swap(crate::lanes::NO_MOVE, Relaxed);
            let shared = conn.shared.clone();
            let token = shared.shutdown.tracker().token();
            match shared
                .lanes
                .hand_over(to, Handoff::Moved(Box::new(conn)), token)
            {
                // (A lane that is gone: stay here.)
                Err(Handoff::Moved(back)) => conn = *back,
                _ => return,
            }
        };
        let (shared, label) = conn.leave();
        log_close(shared, label, reason).await
    }
}

/// After the connection's last reply: leave every registry and close the socket; returns
/// what [`log_close`] needs. (Synchronous, so no connection state is held across the log's
/// await: an idle connection's task stays small.)
fn leave_with(
    shared: &Arc<Shared>,
    mut client: Client,
    close: impl FnOnce(),
) -> (u64, cmd::LazyLabel) {
    let id = client.handle.id;
    let label = client.take_log_label();
    cmd::tx::discard_state(shared, &mut client);
    cmd::conn::stop_monitor(shared, &mut client);
    cmd::pubsub::unsubscribe_all(shared, &mut client);
    // Out of CLIENT LIST before the client can see its connection close.
    shared.clients.unregister(id);
    close();
    shared.clients.release();
    (id, label)
}

/// The conversation log's and MONITOR's line for a closed connection.
async fn log_close(shared: Arc<Shared>, (id, label): (u64, cmd::LazyLabel), reason: CloseReason) {
    tracing::debug!(reason = reason.as_str(), "client disconnected");
    if shared.log.is_on() || cmd::monitoring(&shared) {
        if reason == CloseReason::Shutdown {
            // Log after the server's "Shutdown requested" line (bounded: never hold up exit).
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                shared.shutdown_announced.cancelled(),
            )
            .await;
        }
        let text = format!("Client {id} ({label}) disconnected: {}", reason.as_str());
        cmd::monitor_system(&shared, &text);
        shared.log.system(&text).await;
    }
}

pub(crate) struct Conn {
    socket: OwnedReadHalf,
    /// The socket's write half; lent to the client's push sink (and `None`) only inside
    /// [`Conn::wait`].
    out: Option<OwnedWriteHalf>,
    rbuf: BytesMut,
    wbuf: BytesMut,
    parser: RequestParser,
    /// The current command's arguments (slices of the read buffer), reused.
    args: Vec<Bytes>,
    client: Client,
    /// Conversation-log lines of the current batch, sent once per batch.
    logbuf: convlog::Lines,
    /// The current batch's log line starts, and the label version they were built for.
    log_prefixes: convlog::LinePrefixes,
    prefix_label_version: u32,
    monitor_rx: Option<mpsc::Receiver<Bytes>>,
    shared: Arc<Shared>,
    /// Current read size (see [`MIN_READ_CHUNK`]).
    read_chunk: usize,
    /// When the last batch started: buffers are given back [`TRIM_AFTER`] after it.
    last_batch: quanta::Instant,
    /// Whether the last two batches came within [`CHATTY_WITHIN`] of each other: such a
    /// client keeps its read buffer between requests.
    chatty: bool,
    /// Whether a batch has run (the first one never counts as chatty).
    ran_batch: bool,
    /// Armed while the connection holds buffers; created once and re-armed only when it
    /// fires early, so a busy connection pays no timer registration per request.
    trim: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    /// The lane's client window this connection was last counted in (see [`turn_ended`]).
    seen_window: u32,
}

enum Wake {
    Readable,
    Push,
    SlowConsumer,
    Shutdown,
    Killed,
    Idle,
    Monitor(Option<Bytes>),
    /// Idle for [`TRIM_AFTER`] with big buffers: give them back.
    Trim,
}

impl Conn {
    /// Leave every registry and close the socket (see [`leave_with`]); the rest of the
    /// connection's state is dropped here.
    fn leave(self) -> (Arc<Shared>, (u64, cmd::LazyLabel)) {
        let Conn {
            socket,
            out,
            client,
            shared,
            ..
        } = self;
        let label = leave_with(&shared, client, move || {
            // Close without a separate shutdown of the write half first, which dropping a
            // shared write half would do.
            if let Some(out) = out {
                out.forget();
            }
            drop(socket);
        });
        (shared, label)
    }

    /// Move the socket into the current lane's reactor (the connection moved here, see
    /// `lanes`); on failure the socket is closed and the session given back for cleanup.
    fn rehome(self: Box<Self>) -> Result<Box<Conn>, Box<(Arc<Shared>, Client)>> {
        let mut conn = *self;
        let Some(out) = conn.out.take() else {
            return Err(Box::new((conn.shared, conn.client)));
        };
        let moved = conn
            .socket
            .reunite(out)
            .map_err(|_| std::io::Error::other("halves of different sockets"))
            .and_then(|s| s.into_std())
            .and_then(TcpStream::from_std);
        let (socket, out) = match moved {
            Ok(s) => s.into_split(),
            Err(e) => {
                tracing::warn!(error = %e, "moving a connection failed");
                return Err(Box::new((conn.shared, conn.client)));
            }
        };
        Ok(Box::new(Conn {
            socket,
            out: Some(out),
            // (A timer of the old lane's: re-armed here when needed.)
            trim: None,
            ..conn
        }))
    }

    /// Whether the balancer asked this connection to move and it may (subscribers and
    /// MONITOR clients stay: publishers may write their sockets).
    fn moving(&self) -> bool {
        if self.client.handle.move_to.load(Relaxed) == crate::lanes::NO_MOVE {
            return false;
        }
        if self.client.push.is_some()
            || self.monitor_rx.is_some()
            || self.client.monitor_requested
            || self.out.is_none()
        {
            self.client
                .handle
                .move_to
                .store(crate::lanes::NO_MOVE, Relaxed);
            return false;
        }
        true
    }

    async fn run(&mut self) -> CloseReason {
        loop {
            let closing = self.process_buffer().await;
            crate::pubsub::after_batch(&mut self.client.wakes);
            if let Some(reason) = closing {
                // Best effort: the replies before the close (QUIT's +OK, a protocol error).
                let _ = self.flush().await;
                return reason;
            }
            if !self.wbuf.is_empty() && flush_later(&mut self.seen_window) {
                // A busy lane: the other connections ready in this turn run first, and the
                // replies go out together at its end, before the lane reads its sockets
                // again (see `DEFER_FLUSH_AFTER` and `to_end_of_turn`).
                to_end_of_turn().await;
            }
            if self.flush().await.is_err() {
                return self.write_failure_reason();
            }
            // Buffers are kept while the client stays busy (so it reads and writes without an
            // allocation per request, and a pipelining client in big chunks) and given back
            // after [`TRIM_AFTER`] idle (`Wake::Trim`), as Redis frees idle clients' query
            // buffers; oversized ones (a huge value, a backlog) go at once. A client whose
            // requests are far apart (or that sent one and went idle, as most of a big idle
            // fleet does) keeps no read buffer at all: thousands of idle clients hold none.
            if self.rbuf.is_empty() && (!self.chatty || self.rbuf.capacity() > 2 * MAX_READ_CHUNK) {
                self.rbuf = BytesMut::new();
                // (A chatty client keeps its arguments vector too; `Wake::Trim` frees it.)
                self.args = Vec::new();
            }
            if self.wbuf.capacity() > KEEP_BUSY_WRITE_BUFFER {
                self.wbuf = BytesMut::new();
            }
            if self.client.monitor_requested && self.monitor_rx.is_none() {
                self.start_monitor();
            }
            match self.wait().await {
                Wake::Readable => {
                    if self.moving() {
                        return CloseReason::Moved;
                    }
                    if self.rbuf.capacity() - self.rbuf.len() < self.read_chunk / 2 {
                        let want = self.parser.bytes_wanted().unwrap_or(0);
                        let extra = want.saturating_sub(self.rbuf.len()).min(64 * 1024 * 1024);
                        self.rbuf.reserve(self.read_chunk.max(extra));
                    }
                    let room = self.rbuf.capacity() - self.rbuf.len();
                    Stats::add(&self.shared.stats.local().reads_processed, 1);
                    match read_now(&mut self.socket, &mut self.rbuf).await {
                        Ok(Some(0)) => return CloseReason::Eof,
                        Ok(Some(n)) => {
                            if n == room {
                                self.read_chunk = (self.read_chunk * 2).min(MAX_READ_CHUNK);
                            } else if n < self.read_chunk / 8 {
                                self.read_chunk = (self.read_chunk / 2).max(MIN_READ_CHUNK);
                            }
                            Stats::add(&self.shared.stats.local().net_input_bytes, n as u64);
                            if self.rbuf.len() > self.shared.config.query_buffer_limit {
                                tracing::warn!(
                                    "closing client that reached max query buffer length"
                                );
                                return CloseReason::QueryBufferLimit;
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::debug!(error = %e, "read failed");
                            return CloseReason::IoError;
                        }
                    }
                }
                Wake::Shutdown => {
                    Box::pin(self.notify_shutdown()).await;
                    return CloseReason::Shutdown;
                }
                Wake::Killed => return CloseReason::Killed,
                Wake::Idle => return CloseReason::Idle,
                Wake::Monitor(Some(line)) => {
                    self.wbuf.extend_from_slice(&line);
                    // Drain what else is queued so one write carries it.
                    if let Some(rx) = self.monitor_rx.as_mut() {
                        while self.wbuf.len() < 64 * 1024 {
                            match rx.try_recv() {
                                Ok(l) => self.wbuf.extend_from_slice(&l),
                                Err(_) => break,
                            }
                        }
                    }
                }
                Wake::Monitor(None) => return CloseReason::SlowConsumer,
                Wake::SlowConsumer => return CloseReason::SlowConsumer,
                Wake::Trim => {
                    let idle = quanta::Instant::now().saturating_duration_since(self.last_batch);
                    if idle < TRIM_AFTER {
                        // Busy since the timer was armed: wait for the rest of the idle time.
                        if let Some(t) = self.trim.as_mut() {
                            t.as_mut()
                                .reset(tokio::time::Instant::now() + (TRIM_AFTER - idle));
                        }
                        continue;
                    }
                    self.trim = None;
                    if self.rbuf.is_empty() {
                        self.rbuf = BytesMut::new();
                        self.read_chunk = MIN_READ_CHUNK;
                    }
                    if self.wbuf.is_empty() {
                        self.wbuf = BytesMut::new();
                    }
                    self.logbuf = convlog::Lines::default();
                    self.log_prefixes.release();
                    self.args = Vec::new();
                }
                Wake::Push => {
                    if let Some(sink) = &self.client.push {
                        sink.take_into(&mut self.wbuf);
                    }
                }
            }
        }
    }

    /// Wait for the next thing to do. A subscriber's socket may be written by publishers'
    /// workers meanwhile (nothing of the connection's own is pending: `flush` ran).
    async fn wait(&mut self) -> Wake {
        let Some(sink) = self.client.push.clone() else {
            return self.wait_for_wake().await;
        };
        debug_assert!(self.wbuf.is_empty());
        let Some(out) = self.out.take() else {
            return self.wait_for_wake().await;
        };
        sink.idle_on(out);
        let wake = self.wait_for_wake().await;
        let (out, written) = sink.busy();
        self.out = out;
        if written > 0 {
            let st = self.shared.stats.local();
            Stats::add(&st.net_output_bytes, written);
            Stats::add(&st.writes_processed, 1);
        }
        wake
    }

    async fn wait_for_wake(&mut self) -> Wake {
        let timeout = self.shared.runtime.timeout_secs.load(Relaxed);
        let monitoring = self.monitor_rx.is_some() || self.client.subs.active();
        let idle = async {
            if timeout == 0 || monitoring {
                std::future::pending::<()>().await
            } else {
                Box::pin(tokio::time::sleep(Duration::from_secs(timeout))).await
            }
        };
        let monitor = async {
            match self.monitor_rx.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        // (The timers are boxed: allocated only when armed, so an idle connection's task stays
        // small.)
        let holding = self.rbuf.capacity() > 0
            || self.wbuf.capacity() > KEEP_WRITE_BUFFER
            || self.logbuf.capacity() > 0
            || self.log_prefixes.holds_memory();
        if holding && self.trim.is_none() {
            self.trim = Some(Box::pin(tokio::time::sleep_until(
                tokio::time::Instant::now()
                    + TRIM_AFTER.saturating_sub(
                        quanta::Instant::now().saturating_duration_since(self.last_batch),
                    ),
            )));
        }
        let trim = async {
            match self.trim.as_mut() {
                Some(t) => t.as_mut().await,
                None => std::future::pending::<()>().await,
            }
        };
        let push = async {
            match self.client.push.as_deref() {
                Some(sink) => sink.ready().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = self.client.handle.kill.killed() => {
                if self.shared.shutdown.is_triggered() {
                    Wake::Shutdown
                } else if self.is_slow_consumer() {
                    Wake::SlowConsumer
                } else {
                    Wake::Killed
                }
            }
            _ = push => Wake::Push,
            // Errors surface from the read that follows.
            _ = read_ready(&self.socket) => Wake::Readable,
            line = monitor => Wake::Monitor(line),
            _ = idle => Wake::Idle,
            _ = trim => Wake::Trim,
        }
    }

    /// Run every complete command in the read buffer. Returns a close reason if the
    /// connection must close after flushing.
    async fn process_buffer(&mut self) -> Option<CloseReason> {
        let log_on = self.shared.log.is_on();
        if self.rbuf.is_empty() {
            return None;
        }
        let mut now = crate::db::now_ms();
        self.client.qbuf = self.rbuf.len();

        // Commands are timed (INFO commandstats) with the TSC through quanta: a clock read per
        // command through the vDSO was 3% of the CPU at pipeline 16.
        let mut clock = quanta::Instant::now();
        let batch_start = clock;
        self.client.handle.touch(now);
        self.chatty = self.ran_batch
            && batch_start.saturating_duration_since(self.last_batch) < CHATTY_WITHIN;
        self.ran_batch = true;
        self.last_batch = batch_start;
        let stamp = log_on.then(convlog::Stamp::now);
        let ts = stamp.as_ref().map_or("", convlog::Stamp::as_str);
        if log_on {
            self.build_log_prefixes(ts);
        }
        loop {
            // The arguments vector is reused from command to command (taken out of `self`
            // while the command runs, put back after).
            let mut args = std::mem::take(&mut self.args);
            match self.parser.next_command_into(&mut self.rbuf, &mut args) {
                Ok(true) => {
                    if log_on {
                        self.logbuf
                            .command(&self.log_prefixes, &args, &convlog::redactions(&args));
                    }
                    let was_authenticated = self.client.authenticated;
                    let mut reply =
                        cmd::dispatch(&self.shared, &mut self.client, &args, now, &mut clock);
                    while let Reply::Postpone = reply {
                        // CLIENT PAUSE: wait for its end, then run the command again.
                        if let Some(reason) = Box::pin(self.wait_unpaused()).await {
                            return Some(reason);
                        }
                        now = crate::db::now_ms();
                        clock = quanta::Instant::now();
                        reply =
                            cmd::dispatch(&self.shared, &mut self.client, &args, now, &mut clock);
                    }
                    if was_authenticated != self.client.authenticated {
                        self.parser.set_auth_required(!self.client.authenticated);
                    }
                    if log_on && self.prefix_label_version != self.client.log_label_version {
                        // HELLO / CLIENT SETNAME: the next command lines show the new name.
                        self.build_log_prefixes(ts);
                    }
                    // A subscriber's messages published before its command's reply go out
                    // before it, as Redis writes them into the client's buffer when they are
                    // published (a RESP3 client publishing to its own channel gets the
                    // message, then PUBLISH's count).
                    if let Some(sink) = &self.client.push {
                        sink.take_into(&mut self.wbuf);
                    }
                    match reply {
                        Reply::Frame(_) if self.client.reply_mode.silent() => {}
                        Reply::Frame(frame) => {
                            encode(&frame, self.client.proto, &mut self.wbuf);
                            if log_on {
                                self.logbuf.reply(&self.log_prefixes, &frame);
                            }
                        }
                        Reply::Nothing | Reply::Postpone => {}
                        Reply::Block(mut blocked) => {
                            // Boxed: the blocked state is big and rare, and would otherwise
                            // be part of every idle connection's task.
                            if let Some(reason) =
                                Box::pin(self.wait_blocked(&mut blocked, log_on)).await
                            {
                                return Some(reason);
                            }
                            clock = quanta::Instant::now();
                        }
                        Reply::Frames(frames) => {
                            for frame in &frames {
                                encode(frame, self.client.proto, &mut self.wbuf);
                                if log_on {
                                    self.logbuf.reply(&self.log_prefixes, frame);
                                }
                            }
                        }
                    }
                    self.client.reply_mode.after_command();
                    for note in self.client.log_notes.drain(..) {
                        if log_on {
                            self.logbuf.system(ts, &note);
                        }
                        cmd::monitor_system(&self.shared, &note);
                    }
                    if let Some(reason) = self.client.close.take() {
                        if reason == CloseReason::SecurityAttack {
                            // As Redis: a cross-protocol request gets nothing back, not even
                            // the replies to what came before it in the same read.
                            self.wbuf.clear();
                        }
                        return Some(reason);
                    }
                    if self.wbuf.len() >= self.shared.config.output_flush_threshold
                        && self.flush().await.is_err()
                    {
                        return Some(self.write_failure_reason());
                    }
                    args.clear();
                    // A command with thousands of arguments does not keep its vector.
                    if args.capacity() <= 64 {
                        self.args = args;
                    }
                }
                Ok(false) => {
                    self.args = args;
                    return None;
                }
                Err(e) => {
                    Stats::add(&self.shared.stats.local().protocol_errors, 1);
                    let text = e.reply_text();
                    tracing::debug!(error = %text, "protocol error");
                    let frame = Frame::Error(Bytes::from(text));
                    encode(&frame, self.client.proto, &mut self.wbuf);
                    if log_on {
                        self.logbuf.reply(&self.log_prefixes, &frame);
                    }
                    let _: &ParseError = &e;
                    return Some(CloseReason::ProtocolError);
                }
            }
        }
    }

    /// Start this batch's log lines (or restart them after a name change).
    fn build_log_prefixes(&mut self, ts: &str) {
        let id = self.client.handle.id;
        self.log_prefixes.build(ts, id, self.client.log_label());
        self.prefix_label_version = self.client.log_label_version;
    }

    fn is_slow_consumer(&self) -> bool {
        self.client.push.as_ref().is_some_and(|s| s.is_slow())
    }

    /// Why the connection ends after a failed write: it was killed or cut off as a slow
    /// consumer while the write waited, or the socket failed.
    fn write_failure_reason(&self) -> CloseReason {
        if self.shared.force_close.is_cancelled() {
            CloseReason::Shutdown
        } else if !self.client.handle.kill.is_killed() || self.shared.shutdown.is_triggered() {
            CloseReason::IoError
        } else if self.is_slow_consumer() {
            CloseReason::SlowConsumer
        } else {
            CloseReason::Killed
        }
    }

    /// Write the batch's replies with one write and hand its log lines to the writer.
    async fn flush(&mut self) -> std::io::Result<()> {
        if !self.logbuf.is_empty() {
            self.shared.log.send(&mut self.logbuf).await;
            if self.logbuf.capacity() > KEEP_BUSY_WRITE_BUFFER {
                self.logbuf = convlog::Lines::default();
            }
        }
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let n = self.wbuf.len();
        // A client that stops reading must not pin its connection (and its buffers) forever:
        // CLIENT KILL and the slow-consumer cut-off abandon the write. A shutdown does not:
        // in-flight replies are finished (the drain deadline force-closes stragglers).
        let r = {
            let Some(out) = self.out.as_mut() else {
                return Err(std::io::ErrorKind::NotConnected.into());
            };
            let write = out.write_all(&self.wbuf);
            tokio::pin!(write);
            tokio::select! {
                biased;
                r = &mut write => r,
                _ = self.client.handle.kill.killed() => {
                    if self.shared.shutdown.is_triggered() {
                        tokio::select! {
                            r = &mut write => r,
                            _ = self.shared.force_close.cancelled() => Err(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "shutdown deadline passed while writing",
                            )),
                        }
                    } else {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionAborted,
                            "connection killed while writing",
                        ))
                    }
                }
            }
        };
        self.wbuf.clear();
        let st = self.shared.stats.local();
        Stats::add(&st.net_output_bytes, n as u64);
        Stats::add(&st.writes_processed, 1);
        r
    }

    /// Wait out a blocking command: its reply, its timeout, or the end of the connection.
    /// Input that arrives meanwhile is buffered (and runs afterwards), as in Redis. Returns a
    /// close reason if the connection must close.
    async fn wait_blocked(
        &mut self,
        b: &mut cmd::blocking::Blocked,
        log_on: bool,
    ) -> Option<CloseReason> {
        // CLIENT LIST shows `flags=b` while the client waits.
        self.client.handle.blocked.store(true, Relaxed);
        let outcome = self.wait_blocked_inner(b, log_on).await;
        self.client.handle.blocked.store(false, Relaxed);
        outcome
    }

    async fn wait_blocked_inner(
        &mut self,
        b: &mut cmd::blocking::Blocked,
        log_on: bool,
    ) -> Option<CloseReason> {
        let id = self.client.handle.id;
        if log_on || cmd::monitoring(&self.shared) {
            let keys: Vec<String> = b.waiter.keys.iter().map(|k| convlog::shown(k)).collect();
            let on = if keys.is_empty() {
                "replica acknowledgements (WAIT)".to_string()
            } else {
                keys.join(" ")
            };
            let note = format!(
                "Client {id} blocked on {on} (timeout {})",
                b.timeout
                    .map_or("none".to_string(), |t| format!("{:.3}s", t.as_secs_f64()))
            );
            if log_on {
                let ts = convlog::Stamp::now();
                self.logbuf.system(ts.as_str(), &note);
            }
            cmd::monitor_system(&self.shared, &note);
        }
        if self.flush().await.is_err() {
            self.abandon_block(b).await;
            return Some(CloseReason::IoError);
        }
        let deadline = b.timeout.map(|t| tokio::time::Instant::now() + t);
        let (frame, how) = loop {
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                r = &mut b.rx => {
                    break match r {
                        Ok(f) => (f, "served"),
                        Err(_) => (b.timeout_reply.clone(), "unblocked"),
                    };
                }
                _ = self.client.handle.kill.killed() => {
                    self.abandon_block(b).await;
                    if self.shared.shutdown.is_triggered() {
                        self.notify_shutdown().await;
                        return Some(CloseReason::Shutdown);
                    }
                    return Some(CloseReason::Killed);
                }
                _ = sleep => {
                    if b.waiter.cancel(None) {
                        break (b.timeout_reply.clone(), "timed out");
                    }
                    // A push claimed us at the same moment: its reply is on the way.
                }
                _ = read_ready(&self.socket) => {
                    self.rbuf.reserve(MIN_READ_CHUNK);
                    match read_now(&mut self.socket, &mut self.rbuf).await {
                        Ok(Some(0)) => {
                            self.abandon_block(b).await;
                            return Some(CloseReason::Eof);
                        }
                        Ok(Some(_)) if self.rbuf.len() > self.shared.config.query_buffer_limit => {
                            self.abandon_block(b).await;
                            return Some(CloseReason::QueryBufferLimit);
                        }
                        Ok(_) => {}
                        Err(_) => {
                            self.abandon_block(b).await;
                            return Some(CloseReason::IoError);
                        }
                    }
                }
            }
        };
        self.shared.blocking.unregister(&b.waiter);
        if let Frame::Error(e) = &frame {
            // An error handed to a blocked client (CLIENT UNBLOCK ... ERROR, a destination
            // of the wrong type) is an error reply of its command, as Redis counts it.
            self.shared.stats.error_reply(e);
            let slot = self.client.handle.last_cmd.load(Relaxed);
            if let Some(s) = self.shared.stats.local().commands.get(slot) {
                crate::stats::Stats::add(&s.failed, 1);
            }
        }
        let silent = self.client.reply_mode.silent();
        if !silent {
            encode(&frame, self.client.proto, &mut self.wbuf);
        }
        if log_on {
            let ts = convlog::Stamp::now();
            self.logbuf
                .system(ts.as_str(), &format!("Client {id} unblocked ({how})"));
            if !silent {
                self.logbuf.reply_to(ts.as_str(), id, &frame);
            }
        }
        if cmd::monitoring(&self.shared) {
            cmd::monitor_system(&self.shared, &format!("Client {id} unblocked ({how})"));
        }
        None
    }

    /// Wait while CLIENT PAUSE holds this client's command (its earlier replies are sent
    /// first; CLIENT LIST shows it with flag b, INFO counts it in `blocked_clients`). `Some`
    /// when the connection must close.
    async fn wait_unpaused(&mut self) -> Option<CloseReason> {
        if self.flush().await.is_err() {
            return Some(CloseReason::IoError);
        }
        let shared = self.shared.clone();
        let pause = &shared.runtime.pause;
        self.client.handle.blocked.store(true, Relaxed);
        let counted = pause.wait();
        let outcome = loop {
            let ended = pause.ended();
            let now = crate::db::now_ms();
            if pause.in_force(now) == crate::server::PAUSE_OFF {
                break None;
            }
            let left = Duration::from_millis(pause.until().saturating_sub(now));
            tokio::select! {
                _ = ended => {}
                _ = tokio::time::sleep(left) => {}
                _ = self.client.handle.kill.killed() => {
                    if self.shared.shutdown.is_triggered() {
                        self.notify_shutdown().await;
                        break Some(CloseReason::Shutdown);
                    }
                    break Some(CloseReason::Killed);
                }
            }
        };
        drop(counted);
        self.client.handle.blocked.store(false, Relaxed);
        outcome
    }

    /// The connection is going away while blocked: withdraw the wait; if a push already
    /// handed us elements, put them back where they came from so nothing is lost.
    async fn abandon_block(&mut self, b: &mut cmd::blocking::Blocked) {
        let w = b.waiter.clone();
        if !w.cancel(None) {
            if let Ok(Ok(frame)) = tokio::time::timeout(Duration::from_secs(1), &mut b.rx).await {
                crate::blocking::restore(&self.shared, &w, frame);
            }
        }
        self.shared.blocking.unregister(&w);
    }

    fn start_monitor(&mut self) {
        let (tx, rx) = mpsc::channel(MONITOR_QUEUE);
        let mut monitors = self
            .shared
            .monitors
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        monitors.push(MonitorSink {
            client_id: self.client.handle.id,
            tx,
        });
        self.shared.monitor_count.store(monitors.len(), Relaxed);
        self.client.handle.is_monitor.store(true, Relaxed);
        self.monitor_rx = Some(rx);
    }

    /// RESP3 clients get a push announcing the shutdown before the connection closes:
    /// `>2 $8 shutdown $<n> <reason>`. RESP2 has no out-of-band channel, so RESP2 clients
    /// see the connection close.
    async fn notify_shutdown(&mut self) {
        if self.client.proto == Protocol::Resp3 || self.client.subs.active() {
            let reason = self
                .shared
                .shutdown
                .reason()
                .unwrap_or_else(|| "shutdown".into());
            let push = Frame::Push(vec![
                Frame::Bulk(Bytes::from_static(b"shutdown")),
                Frame::Bulk(Bytes::from(reason)),
            ]);
            encode(&push, self.client.proto, &mut self.wbuf);
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.flush()).await;
    }
}

/// Read what the socket holds now, without waiting: `Ok(None)` if nothing (the readiness was
/// stale). Unlike `try_read_buf`, this goes through tokio's `poll_read`, which on epoll treats
/// a short read as proof the socket is drained and clears its readiness: the next wait goes
/// straight to epoll instead of first costing a `recvfrom` that returns EAGAIN (measured: 2.00
/// `recvfrom` per request at pipeline 1 before, 1.0 after; Redis makes 1).
/// Completes when the socket may have bytes to read (or an error or EOF to report).
///
/// Unlike `readable()`, whose future queues itself on the socket's waiter list under a lock
/// and takes the lock again when dropped, this keeps the waker in the socket's single reader
/// slot: one task reads each socket, and the wait is set up once per request at pipeline 1
/// (about 400 fewer instructions per request, callgrind).
fn read_ready(socket: &OwnedReadHalf) -> impl std::future::Future<Output = ()> + '_ {
    std::future::poll_fn(move |cx| {
        let stream: &TcpStream = socket.as_ref();
        // An error surfaces from the read that follows.
        stream.poll_read_ready(cx).map(|_| ())
    })
}

async fn read_now(
    socket: &mut OwnedReadHalf,
    buf: &mut BytesMut,
) -> std::io::Result<Option<usize>> {
    std::future::poll_fn(|cx| {
        match tokio_util::io::poll_read_buf(std::pin::Pin::new(&mut *socket), cx, buf) {
            std::task::Poll::Ready(r) => std::task::Poll::Ready(r.map(Some)),
            std::task::Poll::Pending => std::task::Poll::Ready(Ok(None)),
        }
    })
    .await
}
