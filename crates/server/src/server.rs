//! The server entry point: shared state, the accept loop, the expiry sweeper and the shutdown
//! sequence.
//!
//! [`run`] never binds: the caller passes a bound listener (tests bind port 0). Shutdown order:
//! stop accepting → connections finish their in-flight batch, notify RESP3 clients and close
//! with reason `shutdown` → wait up to `shutdown_timeout` → force-close stragglers → write
//! `SYSTEM: Server stopped`, flush and close the conversation log → return.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clients::Registry;
use crate::cmd::Commands;
use crate::config::Config;
use crate::convlog::ConvLog;
use crate::db::{now_ms, Keyspace};
use crate::lanes::Handoff;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Settings CONFIG SET may change while running. Atomics: read on every connection's read.
pub(crate) struct Runtime {
    pub maxclients: AtomicUsize,
    pub timeout_secs: AtomicU64,
    /// Written by CONFIG SET requirepass only; read at AUTH and connect.
    pub requirepass: RwLock<Option<Bytes>>,
    /// Active-expiry passes per second (1..=500); the sweeper reads it every pass.
    pub hz: AtomicU32,
    /// CONFIG SET maxmemory-policy (an index into `cmd::server::MAXMEMORY_POLICIES`); kept
    /// for CONFIG GET and INFO: confab evicts nothing yet, so past `maxmemory` every policy
    /// refuses as `noeviction` does.
    pub maxmemory_policy: AtomicUsize,
    /// `maxmemory` in bytes (0 = none): see `cmd::over_maxmemory`.
    pub maxmemory: AtomicU64,
    /// CLIENT PAUSE.
    pub pause: Pause,
    /// CONFIG `slowlog-log-slower-than` (microseconds; negative: log nothing) and
    /// `slowlog-max-len`.
    pub slowlog_slower_than: std::sync::atomic::AtomicI64,
    pub slowlog_max_len: AtomicUsize,
    /// Redis's encoding-tuning settings (`cmd::server::TUNING`), kept for CONFIG GET; the
    /// thresholds confab applies live in `Keyspace::encodings` instead (their slots here
    /// keep the defaults, unused).
    pub tuning: Mutex<Vec<i64>>,
}

/// One SLOWLOG entry, as Redis keeps it.
pub(crate) struct SlowlogEntry {
    pub id: u64,
    /// Unix seconds.
    pub time: u64,
    pub micros: u64,
    /// At most 32 arguments, each cut at 128 bytes (Redis's limits).
    pub args: Vec<Bytes>,
    pub addr: String,
    pub name: Bytes,
}

/// The slow log: newest first, at most `slowlog-max-len` entries.
#[derive(Default)]
pub(crate) struct Slowlog {
    pub entries: std::collections::VecDeque<SlowlogEntry>,
    pub next_id: u64,
}

/// CLIENT PAUSE: while a pause lasts, clients' commands (all of them, or only those that
/// write) wait before they run, and active expiry stops, as in Redis 7.0.
#[derive(Default)]
pub(crate) struct Pause {
    /// [`PAUSE_OFF`], [`PAUSE_WRITE`] or [`PAUSE_ALL`]; read by every command.
    mode: std::sync::atomic::AtomicU8,
    /// Unix milliseconds at which the pause ends.
    until: AtomicU64,
    /// Changes of the two above.
    lock: Mutex<()>,
    /// Woken by CLIENT UNPAUSE (a pause that runs out is waited for with a timer).
    ended: tokio::sync::Notify,
    /// Clients whose command waits for the pause to end: blocked clients to INFO, as Redis
    /// counts its postponed clients.
    waiting: std::sync::atomic::AtomicUsize,
}

/// A client's wait for a pause to end, counted while it lasts (see [`Pause::waiting`]).
pub(crate) struct PauseWait<'a>(&'a Pause);

impl Drop for PauseWait<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Relaxed);
    }
}

pub(crate) const PAUSE_OFF: u8 = 0;
pub(crate) const PAUSE_WRITE: u8 = 1;
pub(crate) const PAUSE_ALL: u8 = 2;

impl Pause {
    /// CLIENT PAUSE: a pause already running keeps the stricter mode and the later end.
    pub(crate) fn pause(&self, mode: u8, until_ms: u64, now_ms: u64) {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let (old_mode, old_until) = match self.in_force(now_ms) {
            PAUSE_OFF => (PAUSE_OFF, 0),
            m => (m, self.until.load(Relaxed)),
        };
        self.until.store(old_until.max(until_ms), Relaxed);
        self.mode.store(old_mode.max(mode), Relaxed);
    }

    /// A client starts waiting for the pause to end; it stops when the guard goes.
    pub(crate) fn wait(&self) -> PauseWait<'_> {
        self.waiting.fetch_add(1, Relaxed);
        PauseWait(self)
    }

    /// Clients waiting for the pause to end (INFO `blocked_clients` counts them).
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Relaxed)
    }

    /// CLIENT UNPAUSE.
    pub(crate) fn unpause(&self) {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.mode.store(PAUSE_OFF, Relaxed);
        self.ended.notify_waiters();
    }

    /// The pause in force at `now_ms` ([`PAUSE_OFF`] once its time has run out).
    #[inline]
    pub(crate) fn in_force(&self, now_ms: u64) -> u8 {
        match self.mode.load(Relaxed) {
            PAUSE_OFF => PAUSE_OFF,
            m if now_ms < self.until.load(Relaxed) => m,
            _ => PAUSE_OFF,
        }
    }

    /// When the pause in force ends (Unix milliseconds).
    pub(crate) fn until(&self) -> u64 {
        self.until.load(Relaxed)
    }

    /// Resolves at CLIENT UNPAUSE (create it before checking [`Self::in_force`]).
    pub(crate) fn ended(&self) -> tokio::sync::futures::Notified<'_> {
        self.ended.notified()
    }
}

/// A MONITOR client's queue.
pub(crate) struct MonitorSink {
    pub client_id: u64,
    pub tx: mpsc::Sender<Bytes>,
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub config: Config,
    pub runtime: Runtime,
    pub keyspace: Keyspace,
    pub clients: Registry,
    pub stats: Stats,
    /// Big values and flushed databases freed off the command path (UNLINK, FLUSH* ASYNC).
    pub(crate) lazyfree: crate::lazyfree::LazyFree,
    pub log: ConvLog,
    pub commands: Commands,
    pub shutdown: Shutdown,
    /// Cancelled when the drain deadline passes: connections still writing their last
    /// replies to a client that does not read give up (the one place a killed connection
    /// still waits; every other wait is bounded).
    pub force_close: CancellationToken,
    /// Cancelled once the "Shutdown requested" line is logged, so the connections' own
    /// `disconnected: shutdown` lines come after it.
    pub shutdown_announced: CancellationToken,
    pub local_addr: SocketAddr,
    pub started: Instant,
    /// When the server started, in Unix seconds (INFO's `rdb_last_save_time`, as Redis sets
    /// it at start when it has loaded nothing).
    pub started_unix: u64,
    /// INFO's `run_id` and `master_replid`: 40 random hex digits each, new at every start.
    pub run_id: String,
    pub replid: String,
    /// MONITOR clients. Locked only when a monitor connects or leaves and, while
    /// `monitor_count > 0`, once per command to fan the line out.
    pub monitors: Mutex<Vec<MonitorSink>>,
    pub monitor_count: AtomicUsize,
    /// Channel and pattern subscriptions.
    pub pubsub: crate::pubsub::Registry,
    /// Clients blocked on keys.
    pub blocking: crate::blocking::Registry,
    /// SLOWLOG (locked only to add a command slower than `slowlog-log-slower-than`).
    pub slowlog: Mutex<Slowlog>,
    /// The threads serving connections.
    pub lanes: crate::lanes::Lanes,
    /// INFO's instantaneous rates, sampled every 100 ms by [`sample_metrics`].
    pub instant: crate::stats::InstantMetrics,
    /// Memory in use once the server was set up (INFO's `used_memory_startup`; see
    /// [`crate::cmd::server::used_memory`]).
    pub startup_memory: u64,
    /// The most memory seen in use (INFO's `used_memory_peak`): sampled by INFO, and by the
    /// expiry sweep every pass where the counting allocator makes that a few loads (not a
    /// read of /proc).
    pub peak_memory: AtomicU64,
}

impl Shared {
    /// Memory in use now ([`crate::cmd::server::used_memory`]), recorded in the peak.
    pub(crate) fn memory_now(&self) -> u64 {
        let used = crate::cmd::server::used_memory();
        self.peak_memory.fetch_max(used, Relaxed);
        used
    }
}

impl Shared {
    pub(crate) fn requirepass(&self) -> Option<Bytes> {
        self.runtime
            .requirepass
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Run the server on `listener` until `shutdown` is triggered, then shut down gracefully.
///
/// Returns once every connection has closed (or the drain deadline passed) and the
/// conversation log is flushed.
pub async fn run(listener: TcpListener, config: Config, shutdown: Shutdown) -> io::Result<()> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let local_addr = listener.local_addr()?;
    // Calibrate quanta's TSC clock (command timing) now, not on the first command.
    let _ = quanta::Instant::now();
    let (log, log_join) = ConvLog::start(&config)?;
    let commands = Commands::new();
    let (lanes, lane_receivers) = crate::lanes::Lanes::new(config.threads, config.lane_policy);
    let startup_memory = crate::cmd::server::used_memory();
    let shared = Arc::new(Shared {
        runtime: Runtime {
            maxclients: AtomicUsize::new(config.maxclients),
            timeout_secs: AtomicU64::new(config.timeout_secs),
            requirepass: RwLock::new(config.requirepass.clone().map(Bytes::from)),
            hz: AtomicU32::new(config.hz),
            maxmemory_policy: AtomicUsize::new(crate::cmd::server::NOEVICTION),
            maxmemory: AtomicU64::new(config.maxmemory),
            pause: Pause::default(),
            slowlog_slower_than: 10_000.into(),
            slowlog_max_len: AtomicUsize::new(128),
            tuning: Mutex::new(
                crate::cmd::server::TUNING
                    .iter()
                    .map(|t| t.default)
                    .collect(),
            ),
        },
        keyspace: Keyspace::new(config.databases),
        clients: Registry::default(),
        stats: Stats::new(commands.slot_count()),
        lazyfree: Default::default(),
        log,
        commands,
        shutdown: shutdown.clone(),
        force_close: CancellationToken::new(),
        shutdown_announced: CancellationToken::new(),
        local_addr,
        started: Instant::now(),
        started_unix: now_ms() / 1000,
        run_id: random_hex40(),
        replid: random_hex40(),
        monitors: Mutex::new(Vec::new()),
        monitor_count: AtomicUsize::new(0),
        pubsub: Default::default(),
        blocking: Default::default(),
        slowlog: Default::default(),
        lanes,
        instant: Default::default(),
        startup_memory,
        peak_memory: AtomicU64::new(startup_memory),
        config,
    });
    crate::lanes::start(&shared, lane_receivers);
    // The lane threads stop with the server, also when this future is dropped unfinished.
    let stop_lanes = shared.lanes.stop_guard();
    shared
        .log
        .system(&format!(
            "Server launched on {local_addr} (confab {}, pid {})",
            crate::VERSION,
            std::process::id()
        ))
        .await;
    tracing::info!(%local_addr, "accepting connections");

    let sweeper = tokio::spawn(sweep_expired(shared.clone()));
    tokio::spawn(sample_metrics(shared.clone()));
    // The accept loop runs as a task on a worker thread, not in the caller's `block_on`
    // thread: a connection task spawned from a worker starts on that worker (no cross-thread
    // wake-up per connection), and no third thread competes with the workers for the cores.
    let acceptor = {
        let shared = shared.clone();
        tokio::spawn(async move {
            accept_loop(&listener, &shared).await;
            drop(listener);
        })
    };
    if let Err(e) = acceptor.await {
        tracing::error!(error = %e, "accept loop failed");
        shutdown.trigger("accept loop failed");
    }
    shared.clients.kill_all();

    let reason = shutdown.reason().unwrap_or_else(|| "unknown".into());
    tracing::info!(%reason, "shutdown requested; draining connections");
    shared
        .log
        .system(&format!(
            "Shutdown requested ({reason}); no longer accepting, closing {} clients",
            shared.clients.connected()
        ))
        .await;
    shared.shutdown_announced.cancel();
    let tracker = shutdown.tracker();
    tracker.close();
    if tokio::time::timeout(shared.config.shutdown_timeout, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("drain deadline passed; closing remaining connections");
        shared
            .log
            .system("Shutdown deadline passed; closing remaining connections")
            .await;
        shared.force_close.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(1), tracker.wait()).await;
    }
    sweeper.abort();
    drop(stop_lanes);
    shared.log.system("Server stopped").await;
    shared.log.flush().await;
    let log = shared.log.clone();
    drop(shared);
    log.close().await;
    let _ = log_join.await;
    tracing::info!("server stopped");
    Ok(())
}

/// 40 random hex digits (a Redis run id).
fn random_hex40() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

async fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shared.shutdown.requested() => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((socket, addr)) => {
                backoff = Duration::from_millis(5);
                Stats::add(&shared.stats.local().connections_received, 1);
                let max = shared.runtime.maxclients.load(Relaxed);
                if !shared.clients.try_reserve(max) {
                    Stats::add(&shared.stats.local().rejected_connections, 1);
                    shared
                        .shutdown
                        .tracker()
                        .spawn(refuse(socket, addr, shared.clone()));
                    continue;
                }
                let id = shared.clients.next_id();
                let lane = shared.lanes.accept_lane();
                let socket = if lane == 0 {
                    socket
                } else {
                    // Served on another lane (the balancer spreads load, see `lanes`).
                    let token = shared.shutdown.tracker().token();
                    let handoff = socket
                        .into_std()
                        .map(|socket| Handoff::New { socket, addr, id });
                    match handoff.map(|h| shared.lanes.hand_over(lane, h, token)) {
                        Ok(Ok(())) => continue,
                        Ok(Err(Handoff::New { socket, .. })) => match TcpStream::from_std(socket) {
                            Ok(s) => s,
                            Err(e) => {
                                tracing::warn!(error = %e, "cannot register a connection");
                                shared.clients.release();
                                continue;
                            }
                        },
                        Ok(Err(Handoff::Moved(_))) => continue,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot hand a connection over");
                            shared.clients.release();
                            continue;
                        }
                    }
                };
                // A debug-level span: at the default level it costs nothing per connection.
                let span = tracing::debug_span!("conn", id, %addr);
                shared.shutdown.tracker().spawn(
                    crate::connection::serve(socket, addr, id, shared.clone(), 0).instrument(span),
                );
            }
            Err(e) => {
                // Out of file descriptors and similar: back off and keep serving; shutdown
                // interrupts the wait.
                tracing::warn!(error = %e, ?backoff, "accept failed");
                tokio::select! {
                    _ = shared.shutdown.requested() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

async fn refuse(mut socket: TcpStream, addr: SocketAddr, shared: Arc<Shared>) {
    use tokio::io::AsyncWriteExt;
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        socket.write_all(b"-ERR max number of clients reached\r\n"),
    )
    .await;
    shared
        .log
        .system(&format!(
            "Client refused {addr}: max number of clients reached"
        ))
        .await;
}

/// Every 100 ms, sample the counters behind INFO's instantaneous rates (as Redis's cron
/// does), until shutdown.
async fn sample_metrics(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shared.shutdown.requested() => return,
            _ = tick.tick() => {}
        }
        let st = &shared.stats;
        shared.instant.sample(
            now_ms(),
            [
                st.total(|s| &s.commands_processed),
                st.total(|s| &s.net_input_bytes),
                st.total(|s| &s.net_output_bytes),
            ],
        );
    }
}

/// Active expiry: every 1/hz seconds, reclaim expired keys shard by shard, one shard lock at
/// a time and a bounded number of keys per lock, so client commands never wait long.
async fn sweep_expired(shared: Arc<Shared>) {
    const PER_LOCK: usize = 500;
    let every = |hz: u32| {
        let mut tick = tokio::time::interval(Duration::from_millis(1000 / u64::from(hz.max(1))));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    };
    let mut hz = shared.runtime.hz.load(Relaxed);
    let mut tick = every(hz);
    loop {
        tokio::select! {
            _ = shared.shutdown.requested() => return,
            _ = tick.tick() => {}
        }
        // CONFIG SET hz takes effect from the next pass.
        let now_hz = shared.runtime.hz.load(Relaxed);
        if now_hz != hz {
            hz = now_hz;
            tick = every(hz);
            tick.reset();
        }
        if let Some(used) = confab_alloc::allocated() {
            shared.peak_memory.fetch_max(used, Relaxed);
        }
        let mut wakes = crate::pubsub::Wakes::default();
        let started = quanta::Instant::now();
        // One clock read per pass, not per shard (16 x 512 shards, 10 passes a second).
        let mut now = now_ms();
        // No active expiry while clients are paused (Redis 7.0 stops it too).
        if shared.runtime.pause.in_force(now) != crate::server::PAUSE_OFF {
            continue;
        }
        for i in 0..shared.keyspace.shard_count() {
            if !shared.keyspace.may_expire(i) {
                continue;
            }
            loop {
                // (Counted in the keyspace's `expired_keys` by the shard.)
                let n = shared.keyspace.lock_one(i).reclaim_expired(now, PER_LOCK);
                if n > 0 {
                    // Their `expired` events, if configured (before the task may move), and
                    // clients blocked reading an expired stream with a group.
                    crate::notify::flush(&shared, &mut wakes);
                    let mut gone = Vec::new();
                    crate::blocking::take_gone(&mut gone);
                    if !gone.is_empty() {
                        crate::blocking::serve(&shared, gone);
                    }
                }
                if n < PER_LOCK {
                    break;
                }
                tokio::task::yield_now().await;
                now = now_ms();
            }
        }
        crate::pubsub::after_batch(&mut wakes);
        let took = quanta::Instant::now().saturating_duration_since(started);
        Stats::add(
            &shared.stats.local().expire_cycle_us,
            crate::cmd::micros(took),
        );
    }
}
