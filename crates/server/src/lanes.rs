//! Lanes: the threads that serve connections, and the balancer that moves connections
//! between them.
//!
//! DESIGN. `--threads N` gives N lanes. Lane 0 is the runtime [`crate::run`] is called on (for
//! `confab server`, [`crate::runtime_builder`]: one worker thread); it accepts every connection
//! and, unless the balancer says otherwise, serves it. Lanes 1..N are threads of their own,
//! each running a current-thread tokio runtime. A connection lives on one lane at a time: its
//! task, its socket's registration and its timers belong to that lane, so serving a request
//! wakes no other thread. (tokio's work-stealing scheduler, used before, wakes a second worker
//! whenever the first finds two ready tasks; with 50 clients at pipeline 1 that cost the load
//! generator throughput and the server 5-10% more CPU per request than one worker:
//! docs/PERFORMANCE.md, session 10.)
//!
//! BALANCING. Every [`TICK`] the balancer (a task on lane 0) reads each lane's busy time from
//! its runtime's park hooks ([`BusyMeter`]) and the machine's idle CPU time from `/proc/stat`.
//! When a lane was busy at least [`HOT`] of the tick, another at most [`COOL`], and the machine
//! had at least [`SPARE_CORES`] of a core idle (a core for the other lane to run on: where the
//! other cores are taken, by a load generator say, a second lane only adds preemption and
//! wake-ups), it marks a share of the hot lane's active connections to move to the cool one,
//! and sends new connections there. When all the lanes' work together would fit on one lane
//! with room to spare ([`CONSOLIDATE_BELOW`], for [`CONSOLIDATE_AFTER`] ticks in a row), the
//! connections on other lanes are marked to go back to lane 0. After a move it waits
//! [`COOLDOWN`] ticks before deciding again. A spread is a trial: unless the server's command
//! rate over the following second beat the second before by [`SPREAD_MUST_GAIN`], the moved
//! connections go back and no spread is tried for [`BACKOFF_AFTER_UNDO`] ticks (clients that
//! all work on one key only contend on its shard lock from two lanes; and on a machine whose
//! idle core is taken by the clients themselves a second lane gains nothing). A spread is
//! tried only after a lane has been hot for a whole second (so the rate it must beat is a
//! steady one, not the ramp of a burst of new clients: a spread started then looked like a
//! gain and was kept, two lanes fighting over one hot key for good), and one under which the
//! lanes fight over shard locks (more than [`CONTENDED_SHARE`] of a tick's commands found
//! their shard held by the other lane) is undone at the next tick, not after a second. Where
//! busy time is unknown (lane 0 on a runtime without [`crate::runtime_builder`]'s hooks)
//! nothing moves.
//!
//! MOVING. A marked connection moves itself at its next wake-up for a read, between requests
//! ([`crate::connection`]): its socket leaves one lane's reactor and joins the other's (two
//! `epoll_ctl` calls), and its buffers, parser state and session (MULTI, WATCH, database, name)
//! go along in a [`Handoff`] over the lane's channel. Subscribers and MONITOR clients (whose
//! sockets publishers may write) and blocked clients stay where they are. A move that cannot
//! be made (the lane is gone) leaves the connection where it was.
//!
//! NAPPING. A lane that runs out of work under load from many clients sleeps [`NAP`] before
//! it parks in `epoll_wait`, so requests arriving meanwhile wake no thread and are served in
//! one turn ([`nap_before_parking`] says when, and why).
//!
//! SHUTDOWN. Moved connections are spawned on the shutdown tracker like every other
//! connection (a tracker token travels with the handoff, so the drain never sees a moving
//! connection as gone). The lane threads stop when [`crate::run`] ends (or is dropped).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;

use crate::server::Shared;

/// `ClientHandle::move_to` when the connection is to stay where it is.
pub(crate) const NO_MOVE: usize = usize::MAX;

/// How often the balancer decides.
pub(crate) const TICK: Duration = Duration::from_millis(250);
/// A lane busy at least this share of a tick is hot.
pub(crate) const HOT: f64 = 0.85;
/// A lane busy at most this share of a tick may take connections from a hot one.
pub(crate) const COOL: f64 = 0.6;
/// Idle CPU the machine must have had (in cores) for a move to a cool lane to help.
pub(crate) const SPARE_CORES: f64 = 0.5;
/// Ticks to wait after a move before deciding again (the moved connections settle).
pub(crate) const COOLDOWN: u32 = 4;
/// When the lanes were busy less than this in total (in cores)...
pub(crate) const CONSOLIDATE_BELOW: f64 = 0.5;
/// ...for this many ticks in a row, connections go back to lane 0.
pub(crate) const CONSOLIDATE_AFTER: u32 = 8;
/// A spread must raise the server's command rate by this factor within [`COOLDOWN`] ticks, or
/// it is undone (clients that all hammer one key gain nothing from a second lane: the two
/// lanes only contend on that key's shard lock).
pub(crate) const SPREAD_MUST_GAIN: f64 = 1.05;
/// A spread on trial is undone at once when more than this share of a tick's commands found
/// their shard locked by the other lane.
pub(crate) const CONTENDED_SHARE: f64 = 0.02;
/// Ticks without spreading after a spread was undone.
pub(crate) const BACKOFF_AFTER_UNDO: u32 = 120;
/// A connection that ran a command within this many milliseconds counts as active.
const ACTIVE_WITHIN_MS: u64 = 1_000;

/// How connections are spread over the lanes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LanePolicy {
    /// Serve on lane 0, spread to other lanes only when lane 0 is saturated and the machine
    /// has a core to spare (see the module docs).
    #[default]
    Adaptive,
    /// Every connection moves to the next lane every few milliseconds and new connections
    /// go round the lanes: exercises moving, for tests.
    Rotate,
}

// ---- Busy time ---------------------------------------------------------------------------

fn now_ns() -> u64 {
    static BASE: OnceLock<quanta::Instant> = OnceLock::new();
    let base = *BASE.get_or_init(quanta::Instant::now);
    // +1: 0 means "running" in `BusyMeter::parked_at`.
    quanta::Instant::now()
        .saturating_duration_since(base)
        .as_nanos() as u64
        + 1
}

/// One lane's idle time, kept by its runtime's park hooks.
#[derive(Default)]
pub(crate) struct BusyMeter {
    /// When the lane last parked (`now_ns`); 0 while it runs.
    parked_at: AtomicU64,
    /// Nanoseconds spent parked, up to the last unpark.
    idle_ns: AtomicU64,
    /// Whether the hooks have reported at all.
    known: AtomicBool,
    /// Naps taken before parking ([`nap_before_parking`]; INFO lanes).
    naps: AtomicU64,
}

impl BusyMeter {
    /// The lane's runtime is about to park (`on_thread_park`), at `now` (`now_ns`).
    pub(crate) fn parked_at(&self, now: u64) {
        self.parked_at.store(now, Relaxed);
        if !self.known.load(Relaxed) {
            self.known.store(true, Relaxed);
        }
    }

    /// The lane's runtime woke (`on_thread_unpark`); how long it was parked (nanoseconds;
    /// `u64::MAX` if it was not known to be).
    pub(crate) fn unparked(&self) -> u64 {
        let at = self.parked_at.swap(0, Relaxed);
        if at == 0 {
            return u64::MAX;
        }
        let idle = now_ns().saturating_sub(at);
        self.idle_ns.fetch_add(idle, Relaxed);
        idle
    }

    /// Idle nanoseconds up to `now`, including a park in progress; `None` if unknown.
    fn idle_until(&self, now: u64) -> Option<u64> {
        if !self.known.load(Relaxed) {
            return None;
        }
        let at = self.parked_at.load(Relaxed);
        let parked = if at != 0 { now.saturating_sub(at) } else { 0 };
        Some(self.idle_ns.load(Relaxed) + parked)
    }
}

thread_local! {
    /// The busy meter of the lane this thread runs (set by the runtime's hooks).
    static THREAD_METER: std::cell::RefCell<Option<Arc<BusyMeter>>> =
        const { std::cell::RefCell::new(None) };
}

/// A lane under load naps this long (see [`nap_before_parking`])...
pub(crate) const NAP: Duration = Duration::from_micros(30);
/// ...when it served at least this many distinct clients in the last millisecond or two...
pub(crate) const NAP_MIN_CLIENTS: u32 = 32;
/// ...its requests came at least once per [`NAP`] over the last millisecond (a nap, which
/// outlasts its nominal length by the time it takes to arm its timer, gathers a few)...
pub(crate) const NAP_MAX_GAP_NS: u64 = NAP.as_nanos() as u64;
/// ...and its last wait for work, nap included, was shorter than this (requests arrive back
/// to back).
pub(crate) const NAP_IF_IDLE_BELOW_NS: u64 = 200_000;

thread_local! {
    /// How long this lane's thread waited for work the last time it parked (nanoseconds,
    /// nap included).
    static LAST_IDLE_NS: std::cell::Cell<u64> = const { std::cell::Cell::new(u64::MAX) };
}

/// Whether a lane that ran out of work should nap ([`NAP`]) before it parks, and so let the
/// requests of the next few tens of microseconds gather, instead of waiting in `epoll_wait`
/// for the first of them.
///
/// Why: a thread waiting in `epoll_wait` is woken by the client's `send`, and on a VM whose
/// idle vCPUs halt that wake-up is an IPI the *sender* pays for (7-8 us of its CPU inside
/// `sendto`). Under many clients at pipeline 1 the load generator (or a busy application
/// server) is the bottleneck, and confab, faster than Redis per request, ran out of work and
/// went back to sleep after every request or two: redis-benchmark paid a wake-up for one
/// request in six at LRANGE_100 (one in thirty against Redis, whose slower turn gathers more)
/// and lost 10-15% of its rate to it. A napping thread is not waiting on the sockets, so a
/// request that arrives during the nap wakes nobody; the nap's own timer fires on the lane's
/// own CPU.
///
/// How long: arming that timer is what a nap costs the server, and on a VM it is dear (on
/// the Firecracker VMs of docs/PERFORMANCE.md 20-30 us of CPU however short the nap). Naps of
/// 5-20 us (the mean gap between requests, sessions 13-15) cost that and mostly never even
/// slept, so a napping lane was busy a whole core and used 5-17% more CPU per request than
/// Redis. A 30 us nap (about 60 us by the clock, with the arming) really sleeps, gathers
/// several requests and is taken about half as often: CPU per request fell below Redis's in
/// every P=1 cell while the rate stayed above it (session 16). Longer naps cost p99 (40 and
/// 50 us: a few per cent in most cells) and then rate (100 and 200 us: the load generator
/// ran short of replies to answer).
///
/// It is taken only under load from many clients: at least [`NAP_MIN_CLIENTS`] served lately
/// (a handful of clients in lock-step with the server would only wait longer: redis-benchmark
/// -c 5 lost a third of its rate to an unconditional nap), requests coming at least every
/// [`NAP_MAX_GAP_NS`] (a nap that would gather one request or none only costs its timer),
/// the last wait for work under [`NAP_IF_IDLE_BELOW_NS`] (a nap that found nothing makes
/// the next wait long, and so stops the napping), and this turn served requests. Spinning
/// instead of sleeping keeps the thread from sleeping at all: it costs its whole length,
/// and a spinning lane is busy a whole core (session 16).
fn nap_before_parking(turn: crate::connection::TurnSummary) -> Option<Duration> {
    if turn.batches == 0
        || turn.recent_clients < NAP_MIN_CLIENTS
        || LAST_IDLE_NS.get() >= NAP_IF_IDLE_BELOW_NS
    {
        return None;
    }
    let gap = crate::connection::CLIENT_WINDOW_NS / u64::from(turn.window_batches.max(1));
    (gap <= NAP_MAX_GAP_NS).then_some(NAP)
}

/// The builder of a lane's runtime: current-thread, with park hooks that measure the lane's
/// busy time in `meter` (and make it this thread's [`thread_meter`] at the first park), write
/// the pub/sub deliveries the lane deferred (see `pubsub`), end the connections' loop turn
/// (see `connection`) and nap under load ([`nap_before_parking`]).
pub(crate) fn lane_runtime(meter: Arc<BusyMeter>) -> tokio::runtime::Builder {
    let workers = crate::pubsub::Workers::new(1);
    let unparked = workers.clone();
    let (m1, m2) = (meter.clone(), meter);
    let registered = AtomicBool::new(false);
    let mut b = tokio::runtime::Builder::new_current_thread();
    b.enable_all()
        .on_thread_park(move || {
            let now = now_ns();
            let turn = crate::connection::turn_ended(now);
            workers.parking();
            m1.parked_at(now);
            if !registered.load(Relaxed) {
                registered.store(true, Relaxed);
                THREAD_METER.with_borrow_mut(|m| *m = Some(m1.clone()));
                // Timers of this thread (the nap's above all) fire when due, not up to the
                // default 50 us later. Failure only makes naps longer.
                let _ = nix::sys::prctl::set_timerslack(1);
            }
            if let Some(nap) = nap_before_parking(turn) {
                m1.naps.fetch_add(1, Relaxed);
                std::thread::sleep(nap);
            }
        })
        .on_thread_unpark(move || {
            LAST_IDLE_NS.set(m2.unparked());
            unparked.unparked();
        });
    b
}

/// The busy meter of the lane this thread runs, if its runtime has one.
pub(crate) fn thread_meter() -> Option<Arc<BusyMeter>> {
    THREAD_METER.with_borrow(|m| m.clone())
}

// ---- Lanes -----------------------------------------------------------------------------------

/// What goes over a lane's channel.
pub(crate) enum Handoff {
    /// A connection just accepted on lane 0.
    New {
        socket: std::net::TcpStream,
        addr: SocketAddr,
        id: u64,
    },
    /// A connection moving from another lane, with its session and buffers.
    Moved(Box<crate::connection::Conn>),
}

type Message = (Handoff, TaskTrackerToken);

struct Lane {
    tx: mpsc::UnboundedSender<Message>,
    /// Set when the lane starts; lane 0's once its runtime's park hook has run (see
    /// [`thread_meter`]), which the balancer looks for.
    meter: OnceLock<Arc<BusyMeter>>,
}

/// The lanes, as connections and the balancer see them.
pub(crate) struct Lanes {
    lanes: Box<[Lane]>,
    policy: LanePolicy,
    /// The lane new connections go to.
    accept_to: AtomicUsize,
    /// Round-robin position for [`LanePolicy::Rotate`].
    next: AtomicUsize,
    /// Connections moved so far (INFO lanes).
    moves: AtomicU64,
    /// Spreads undone because they did not raise the command rate (INFO lanes).
    undone: AtomicU64,
    /// Each lane's busy share over the last tick, in percent (INFO lanes; -1 unknown).
    last_busy: Mutex<Vec<i32>>,
    /// Cancelled when the server ends: the lane threads stop.
    stop: CancellationToken,
}

/// The receiving ends, handed to [`start`] once the shared state exists.
pub(crate) struct Receivers(Vec<mpsc::UnboundedReceiver<Message>>);

impl Lanes {
    /// `n` lanes (lane 0's busy meter is found later, see [`Lane::meter`]).
    pub(crate) fn new(n: usize, policy: LanePolicy) -> (Lanes, Receivers) {
        let n = n.max(1);
        let mut lanes = Vec::with_capacity(n);
        let mut rxs = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = mpsc::unbounded_channel();
            let meter = OnceLock::new();
            if i > 0 {
                let _ = meter.set(Arc::default());
            }
            lanes.push(Lane { tx, meter });
            rxs.push(rx);
        }
        let lanes = Lanes {
            lanes: lanes.into_boxed_slice(),
            policy,
            accept_to: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            moves: AtomicU64::new(0),
            undone: AtomicU64::new(0),
            last_busy: Mutex::new(vec![-1; n]),
            stop: CancellationToken::new(),
        };
        (lanes, Receivers(rxs))
    }

    pub(crate) fn count(&self) -> usize {
        self.lanes.len()
    }

    /// The lane a connection accepted now should be served on.
    pub(crate) fn accept_lane(&self) -> usize {
        match self.policy {
            LanePolicy::Adaptive => self.accept_to.load(Relaxed),
            LanePolicy::Rotate => self.next.fetch_add(1, Relaxed) % self.lanes.len(),
        }
    }

    /// Send `handoff` to lane `to`; gives it back if that lane is gone (or out of range).
    pub(crate) fn hand_over(
        &self,
        to: usize,
        handoff: Handoff,
        token: TaskTrackerToken,
    ) -> Result<(), Handoff> {
        let Some(lane) = self.lanes.get(to) else {
            return Err(handoff);
        };
        if matches!(handoff, Handoff::Moved(_)) {
            self.moves.fetch_add(1, Relaxed);
        }
        lane.tx.send((handoff, token)).map_err(|e| e.0 .0)
    }

    /// Stops the lane threads when dropped (their remaining tasks are dropped with them).
    pub(crate) fn stop_guard(&self) -> tokio_util::sync::DropGuard {
        self.stop.clone().drop_guard()
    }
}

/// Start lanes 1.. on threads of their own, lane 0's receiver and the balancer as tasks on
/// the calling runtime.
pub(crate) fn start(shared: &Arc<Shared>, receivers: Receivers) {
    let lanes = &shared.lanes;
    for (i, rx) in receivers.0.into_iter().enumerate() {
        if i == 0 {
            tokio::spawn(lane_loop(0, rx, shared.clone(), lanes.stop.clone()));
            continue;
        }
        let meter = lanes.lanes[i].meter.get().cloned().unwrap_or_default();
        let shared = shared.clone();
        let stop = lanes.stop.clone();
        let started = std::thread::Builder::new()
            .name(format!("confab-lane-{i}"))
            .spawn(move || {
                match lane_runtime(meter).build() {
                    Ok(rt) => rt.block_on(lane_loop(i, rx, shared, stop)),
                    // The channel closes: moves to this lane fail and stay where they were.
                    Err(e) => tracing::error!(lane = i, error = %e, "cannot start a lane"),
                }
            });
        if let Err(e) = started {
            tracing::error!(lane = i, error = %e, "cannot start a lane thread");
        }
    }
    if lanes.count() > 1 {
        tokio::spawn(balance(shared.clone()));
    }
}

/// Serve what arrives on one lane's channel until the server ends.
async fn lane_loop(
    lane: usize,
    mut rx: mpsc::UnboundedReceiver<Message>,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    tokio::spawn(crate::connection::pacer(stop.clone()));
    loop {
        let msg = tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            m = rx.recv() => m,
        };
        let Some((handoff, token)) = msg else { return };
        let shared = shared.clone();
        tokio::spawn(async move {
            crate::connection::take_over(lane, handoff, shared).await;
            drop(token);
        });
    }
}

// ---- Balancing -------------------------------------------------------------------------------

/// What the balancer does after a tick.
#[derive(Debug, PartialEq)]
pub(crate) enum Decision {
    Stay,
    /// Move `share` of lane `from`'s active connections to lane `to`; new ones go to `to`.
    Spread {
        from: usize,
        to: usize,
        share: f64,
    },
    /// Everything back to lane 0.
    Consolidate,
}

/// The balancer's rule (see the module docs): `busy` is each lane's busy share of the last
/// tick (`None` unknown), `spare` the machine's idle cores, `calm` how many ticks in a row
/// the lanes' total was below [`CONSOLIDATE_BELOW`] (this one included).
pub(crate) fn decide(busy: &[Option<f64>], spare: f64, calm: u32) -> Decision {
    if busy.len() < 2 || busy.iter().any(Option::is_none) {
        return Decision::Stay;
    }
    let busy: Vec<f64> = busy.iter().map(|b| b.unwrap_or(0.0)).collect();
    let (hot, hot_busy) = busy
        .iter()
        .copied()
        .enumerate()
        .fold((0, f64::MIN), |a, (i, b)| if b > a.1 { (i, b) } else { a });
    let (cool, cool_busy) = busy
        .iter()
        .copied()
        .enumerate()
        .fold((0, f64::MAX), |a, (i, b)| if b < a.1 { (i, b) } else { a });
    if hot_busy >= HOT && cool_busy <= COOL && hot != cool && spare >= SPARE_CORES {
        // Even the two out: move half the difference.
        let share = ((hot_busy - cool_busy) / (2.0 * hot_busy)).clamp(0.0, 0.5);
        return Decision::Spread {
            from: hot,
            to: cool,
            share,
        };
    }
    if calm >= CONSOLIDATE_AFTER {
        return Decision::Consolidate;
    }
    Decision::Stay
}

/// Whether a spread paid: the command rate over the second after it against the second
/// before.
pub(crate) fn spread_paid(before: f64, after: f64) -> bool {
    after >= before * SPREAD_MUST_GAIN
}

/// The machine's idle CPU time, from `/proc/stat`'s first line.
#[derive(Default)]
struct MachineCpu {
    prev: Option<(u64, u64)>,
}

impl MachineCpu {
    /// Idle cores since the last call (`None` the first time or without `/proc/stat`).
    fn spare_cores(&mut self, cores: f64) -> Option<f64> {
        let text = std::fs::read_to_string("/proc/stat").ok()?;
        let line = text.lines().next()?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|f| f.parse().ok())
            .collect();
        if fields.len() < 5 {
            return None;
        }
        // user nice system idle iowait irq softirq steal
        let idle = fields[3] + fields[4];
        let total: u64 = fields.iter().sum();
        let prev = self.prev.replace((idle, total));
        let (pidle, ptotal) = prev?;
        let dt = total.saturating_sub(ptotal);
        if dt == 0 {
            return None;
        }
        Some(idle.saturating_sub(pidle) as f64 / dt as f64 * cores)
    }
}

async fn balance(shared: Arc<Shared>) {
    let lanes = &shared.lanes;
    let rotate = lanes.policy == LanePolicy::Rotate;
    let mut tick = tokio::time::interval(if rotate {
        Duration::from_millis(5)
    } else {
        TICK
    });
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as f64)
        .unwrap_or(1.0);
    let mut cpu = MachineCpu::default();
    let mut last_now = now_ns();
    let idle_of = |l: &Lane, at: u64| l.meter.get().and_then(|m| m.idle_until(at));
    let mut last_idle: Vec<Option<u64>> =
        lanes.lanes.iter().map(|l| idle_of(l, last_now)).collect();
    let (mut cooldown, mut calm) = (0u32, 0u32);
    // Commands processed at the last tick, and the spread on trial: the rate before it, the
    // lanes and the clients moved.
    // (now, commands) at each of the last ticks, for rates over a second, not a tick.
    let mut history: std::collections::VecDeque<(u64, u64)> = std::collections::VecDeque::new();
    let mut trial: Option<(f64, usize, usize, Vec<u64>)> = None;
    let mut backoff = 0u32;
    // Ticks in a row a lane has been hot: a spread is tried only after a whole second of it,
    // so the rate it must beat is a steady one (a burst of new clients would otherwise make any
    // spread look like a gain over the quiet second before it).
    let mut hot_streak = 0u32;
    let mut last_contended = shared.keyspace.contended();
    loop {
        tokio::select! {
            biased;
            _ = shared.shutdown.requested() => return,
            _ = tick.tick() => {}
        }
        if rotate {
            let n = lanes.count();
            for h in shared.clients.snapshot() {
                let at = h.lane.load(Relaxed);
                h.move_to.store((at + 1) % n, Relaxed);
            }
            continue;
        }
        // Lane 0's meter appears once its runtime's park hook has run on this thread.
        if lanes.lanes[0].meter.get().is_none() {
            if let Some(m) = thread_meter() {
                let _ = lanes.lanes[0].meter.set(m);
            }
        }
        let now = now_ns();
        let wall = now.saturating_sub(last_now).max(1) as f64;
        let idle: Vec<Option<u64>> = lanes.lanes.iter().map(|l| idle_of(l, now)).collect();
        let busy: Vec<Option<f64>> = idle
            .iter()
            .zip(&last_idle)
            .map(|(now_idle, then)| match (now_idle, then) {
                (Some(a), Some(b)) => {
                    Some((1.0 - a.saturating_sub(*b) as f64 / wall).clamp(0.0, 1.0))
                }
                _ => None,
            })
            .collect();
        last_now = now;
        last_idle = idle;
        let total: f64 = busy.iter().map(|b| b.unwrap_or(1.0)).sum();
        *lanes.last_busy.lock().unwrap_or_else(|p| p.into_inner()) = busy
            .iter()
            .map(|b| b.map_or(-1, |b| (b * 100.0).round() as i32))
            .collect();
        history.push_back((now, shared.stats.commands_total()));
        if history.len() > COOLDOWN as usize + 1 {
            history.pop_front();
        }
        // Commands per second over the last second (COOLDOWN ticks).
        let rate = match (history.front(), history.back()) {
            (Some(a), Some(b)) if b.0 > a.0 => {
                b.1.saturating_sub(a.1) as f64 / ((b.0 - a.0) as f64 / 1e9)
            }
            _ => 0.0,
        };
        backoff = backoff.saturating_sub(1);
        hot_streak = if busy.iter().flatten().any(|b| *b >= HOT) {
            hot_streak + 1
        } else {
            0
        };
        // Without /proc/stat: what the lanes leave of the cores (blind to other processes).
        let spare = cpu.spare_cores(cores).unwrap_or(cores - total);
        calm = if total < CONSOLIDATE_BELOW {
            calm + 1
        } else {
            0
        };
        // Lanes that fight over shard locks (clients sharing a hot key) lose to one lane: a
        // spread on trial under which more than [`CONTENDED_SHARE`] of the tick's commands met
        // a held lock is undone at once, not after a second of it.
        let contended = shared.keyspace.contended();
        let commands_tick = match history.len() {
            n if n >= 2 => history[n - 1].1.saturating_sub(history[n - 2].1),
            _ => 0,
        };
        let fighting = trial.is_some()
            && contended.saturating_sub(last_contended) as f64
                > commands_tick as f64 * CONTENDED_SHARE;
        last_contended = contended;
        if cooldown > 0 && !fighting {
            cooldown -= 1;
            continue;
        }
        // The spread on trial has settled: keep it if the server got faster, else undo it.
        if let Some((before, from, to, moved)) = trial.take() {
            if fighting || !spread_paid(before, rate) {
                let mut n = 0;
                for h in shared.clients.snapshot() {
                    if moved.contains(&h.id) && h.lane.load(Relaxed) == to && movable(&h) {
                        h.move_to.store(from, Relaxed);
                        n += 1;
                    }
                }
                lanes.accept_to.store(from, Relaxed);
                lanes.undone.fetch_add(1, Relaxed);
                tracing::debug!(before, rate, n, "balancer: a spread did not pay; undone");
                backoff = BACKOFF_AFTER_UNDO;
                cooldown = COOLDOWN;
                continue;
            }
        }
        let decision = match decide(&busy, spare, calm) {
            Decision::Spread { .. } if backoff > 0 || hot_streak <= COOLDOWN => Decision::Stay,
            d => d,
        };
        match decision {
            Decision::Stay => {
                // New connections go home once lane 0 has room again.
                if busy[0].is_some_and(|b| b < COOL) {
                    lanes.accept_to.store(0, Relaxed);
                }
            }
            Decision::Spread { from, to, share } => {
                let now_ms = crate::db::now_ms();
                let active: Vec<_> = shared
                    .clients
                    .snapshot()
                    .into_iter()
                    .filter(|h| {
                        h.lane.load(Relaxed) == from
                            && h.move_to.load(Relaxed) == NO_MOVE
                            && movable(h)
                            && now_ms.saturating_sub(h.last_active_ms.load(Relaxed))
                                <= ACTIVE_WITHIN_MS
                    })
                    .collect();
                // One busy connection alone would only take the heat along.
                if active.len() >= 2 {
                    let n = ((active.len() as f64 * share).round() as usize).max(1);
                    for h in active.iter().take(n) {
                        h.move_to.store(to, Relaxed);
                    }
                    tracing::debug!(from, to, n, "balancer: spreading connections");
                    trial = Some((
                        rate,
                        from,
                        to,
                        active.iter().take(n).map(|h| h.id).collect(),
                    ));
                    cooldown = COOLDOWN;
                }
                lanes.accept_to.store(to, Relaxed);
            }
            Decision::Consolidate => {
                lanes.accept_to.store(0, Relaxed);
                let mut n = 0;
                for h in shared.clients.snapshot() {
                    if h.lane.load(Relaxed) != 0 && movable(&h) {
                        h.move_to.store(0, Relaxed);
                        n += 1;
                    }
                }
                if n > 0 {
                    tracing::debug!(n, "balancer: connections back to lane 0");
                    cooldown = COOLDOWN;
                }
                calm = 0;
            }
        }
    }
}

/// Whether a client may move (the connection checks again before it does).
fn movable(h: &crate::clients::ClientHandle) -> bool {
    !h.is_pubsub() && !h.is_monitor.load(Relaxed) && !h.blocked.load(Relaxed)
}

/// INFO's `lanes` section body.
pub(crate) fn info(shared: &Shared, out: &mut String) {
    use std::fmt::Write as _;
    let lanes = &shared.lanes;
    let mut clients = vec![0usize; lanes.count()];
    for h in shared.clients.snapshot() {
        if let Some(c) = clients.get_mut(h.lane.load(Relaxed)) {
            *c += 1;
        }
    }
    let busy = lanes
        .last_busy
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let _ = write!(
        out,
        "lanes:{}\r\nlane_policy:{}\r\naccept_lane:{}\r\nconnections_moved:{}\r\nspreads_undone:{}\r\nshard_locks_contended:{}\r\nflushes_deferred:{}\r\nnaps:{}\r\n",
        lanes.count(),
        match lanes.policy {
            LanePolicy::Adaptive => "adaptive",
            LanePolicy::Rotate => "rotate",
        },
        lanes.accept_to.load(Relaxed),
        lanes.moves.load(Relaxed),
        lanes.undone.load(Relaxed),
        shared.keyspace.contended(),
        crate::connection::FLUSHES_DEFERRED.load(Relaxed),
        lanes
            .lanes
            .iter()
            .filter_map(|l| l.meter.get())
            .map(|m| m.naps.load(Relaxed))
            .sum::<u64>(),
    );
    for (i, c) in clients.iter().enumerate() {
        let b = busy.get(i).copied().unwrap_or(-1);
        let _ = write!(out, "lane{i}:clients={c},busy_percent={b}\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_only_from_a_hot_lane_with_a_spare_core() {
        // Lane 0 saturated, lane 1 idle, a core idle: half the difference moves.
        match decide(&[Some(0.95), Some(0.05)], 0.9, 0) {
            Decision::Spread {
                from: 0,
                to: 1,
                share,
            } => assert!((share - 0.4737).abs() < 0.01),
            d => panic!("{d:?}"),
        }
        // The same lanes on a machine whose other core is taken: stay.
        assert_eq!(decide(&[Some(0.95), Some(0.05)], 0.1, 0), Decision::Stay);
        // Lane 0 busy but not saturated: stay.
        assert_eq!(decide(&[Some(0.7), Some(0.0)], 1.2, 0), Decision::Stay);
        // Both hot: nowhere to go.
        assert_eq!(decide(&[Some(0.95), Some(0.9)], 0.6, 0), Decision::Stay);
        // A hot second lane spreads to lane 0.
        assert!(matches!(
            decide(&[Some(0.2), Some(0.99)], 1.0, 0),
            Decision::Spread { from: 1, to: 0, .. }
        ));
        // Unknown busy time (no hooks): never move.
        assert_eq!(decide(&[None, Some(0.0)], 2.0, 100), Decision::Stay);
        // One lane: nothing to do.
        assert_eq!(decide(&[Some(1.0)], 2.0, 100), Decision::Stay);
    }

    #[test]
    fn a_spread_is_kept_only_if_the_server_got_faster() {
        assert!(spread_paid(100.0, 118.0));
        assert!(!spread_paid(128.9, 114.3)); // measured: KEYS, 4 clients, 2 cores
        assert!(!spread_paid(1000.0, 1030.0));
    }

    #[test]
    fn consolidates_after_a_calm_spell() {
        assert_eq!(
            decide(&[Some(0.1), Some(0.1)], 1.0, CONSOLIDATE_AFTER - 1),
            Decision::Stay
        );
        assert_eq!(
            decide(&[Some(0.1), Some(0.1)], 1.0, CONSOLIDATE_AFTER),
            Decision::Consolidate
        );
    }

    #[test]
    fn naps_only_when_many_clients_send_back_to_back() {
        let turn = |batches, recent_clients, window_batches| crate::connection::TurnSummary {
            batches,
            recent_clients,
            window_batches,
        };
        // (Each #[test] runs on its own thread: this thread's last wait is its own.)
        LAST_IDLE_NS.set(20_000);
        // 100 clients, 200 batches in the last millisecond (a gap of 5 us): nap.
        assert_eq!(nap_before_parking(turn(3, 100, 200)), Some(NAP));
        // A turn that served nothing, or a handful of clients: no nap.
        assert_eq!(nap_before_parking(turn(0, 100, 200)), None);
        assert_eq!(nap_before_parking(turn(3, NAP_MIN_CLIENTS - 1, 200)), None);
        // Requests further apart than a nap (20 per millisecond, a 50 us gap), or none
        // counted yet: a nap would gather one at most.
        assert_eq!(nap_before_parking(turn(3, 100, 20)), None);
        assert_eq!(nap_before_parking(turn(3, 100, 0)), None);
        // One per nap still naps.
        let per_nap = crate::connection::CLIENT_WINDOW_NS.div_ceil(NAP_MAX_GAP_NS) as u32;
        assert_eq!(nap_before_parking(turn(3, 100, per_nap)), Some(NAP));
        // The last wait was long (the last nap found nothing): no nap.
        LAST_IDLE_NS.set(NAP_IF_IDLE_BELOW_NS);
        assert_eq!(nap_before_parking(turn(3, 100, 200)), None);
    }

    #[test]
    fn busy_meter_counts_parked_time() {
        let m = BusyMeter::default();
        assert_eq!(m.idle_until(now_ns()), None);
        m.parked_at(now_ns());
        std::thread::sleep(Duration::from_millis(20));
        let during = m.idle_until(now_ns()).unwrap();
        assert!(during >= 15_000_000, "{during}");
        assert!(m.unparked() >= during);
        assert_eq!(m.unparked(), u64::MAX, "not parked");
        let after = m.idle_until(now_ns()).unwrap();
        assert!(after >= during);
        std::thread::sleep(Duration::from_millis(10));
        // Running time is not idle time.
        assert!(m.idle_until(now_ns()).unwrap() - after < 5_000_000);
    }
}
