//! The pub/sub registry and each subscriber's outbound queue.
//!
//! DESIGN. Publishers never write to another client's socket. Every subscribed
//! connection owns one [`PushSink`]: an output buffer of encoded frames that
//! publishers append to and the connection takes whole. A publisher looks subscribers
//! up under a read lock, and for each one either queues the message (counting its bytes) or,
//! when the subscriber is past its hard limit (or past its soft limit for longer than the
//! soft period), marks it slow: the subscriber's connection then closes with reason
//! `slow consumer`. So a publisher never waits on a subscriber and memory per subscriber is
//! bounded by the hard limit. Each subscriber's queue is FIFO, so it sees every publisher's
//! messages in publish order.
//!
//! WRITES. A publisher's connection asks for its subscribers to be woken at the end of its
//! batch. On the server's lanes (whose runtimes call [`Workers::parking`] before they
//! sleep; one worker each) some are not woken then (up to [`DEFER_AT_MOST`] per worker, or
//! [`DEFER_AT_MOST_AFTER_FEW`] after a batch of a few messages) but remembered by the worker,
//! and written when the workers run out of ready tasks, as Redis writes its clients once per
//! event-loop turn: a worker that runs out while another is still running hands what it
//! remembers to [`Workers`], and the last one to run out writes it all. So the publishers
//! that became ready together share one write per subscriber, and an idle subscriber's
//! socket is written directly, without waking its task. A subscriber whose connection is
//! busy, or whose socket takes only part of the queue, is woken instead and writes the rest
//! itself (with backpressure). A worker that keeps finding work writes what it remembers and
//! what was handed over after [`FLUSH_AFTER_BATCHES`] batches (so a command that runs long
//! delays the deliveries that wait on its worker, as any command delays everything in
//! Redis); big fan-outs are woken at once, so their writes spread over the workers.
//!
//! LOCKS. `channels`, `shard_channels` and `patterns` are independent `RwLock`s, taken one at
//! a time and never while a shard lock is held (PUBLISH touches no keys).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

use bytes::{Buf, Bytes, BytesMut};
use confab_protocol::Protocol;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

use crate::glob;

/// Output limits of a subscriber (Redis `client-output-buffer-limit pubsub`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimits {
    /// Queued bytes past which the subscriber is cut off at once (0 = no limit).
    pub hard: usize,
    /// Queued bytes that may persist at most `soft_seconds` (0 = no soft limit).
    pub soft: usize,
    /// How long the soft limit may be exceeded.
    pub soft_seconds: u64,
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits {
            hard: 32 * 1024 * 1024,
            soft: 8 * 1024 * 1024,
            soft_seconds: 60,
        }
    }
}

/// One connection's queue of frames pushed to it by others: an output buffer that
/// publishers append encoded frames to (as Redis appends to a client's reply buffer), and the
/// connection takes whole, swapping in its own empty write buffer, so a steady stream of
/// messages costs one copy and no allocation per message.
pub(crate) struct PushSink {
    pub client_id: u64,
    /// The subscriber's protocol (HELLO may change it while subscribed).
    resp3: std::sync::atomic::AtomicBool,
    /// Encoded frames not yet written, and the socket while the connection is idle.
    queue: Mutex<Queue>,
    /// Wakes the connection when its queue goes from empty to non-empty (unless a worker
    /// writes the queue itself), and when a direct write leaves part of it.
    ready: Notify,
    /// Milliseconds since `epoch` when the soft limit was first exceeded; 0 = not exceeded.
    soft_since: AtomicU64,
    epoch: std::time::Instant,
    /// The connection's kill token, cancelled when the subscriber is cut off as a slow
    /// consumer (after `slow` is set, so the connection can tell why).
    kill: Arc<crate::clients::KillSwitch>,
    slow: std::sync::atomic::AtomicBool,
    limits: OutputLimits,
}

/// A subscriber's queue keeps at most this much capacity after a direct write emptied it.
const KEEP_QUEUE_CAPACITY: usize = 64 * 1024;

/// A subscriber's pending output.
#[derive(Default)]
struct Queue {
    /// Encoded frames not yet taken by the connection or written directly.
    buf: BytesMut,
    /// The connection's socket, lent to the sink only while the connection waits with
    /// nothing of its own to write: then (and only then) [`PushSink::deliver`] writes to it.
    idle: Option<OwnedWriteHalf>,
    /// Bytes written directly since the connection went idle (for INFO's output bytes).
    written: u64,
}

impl PushSink {
    pub(crate) fn new(
        client_id: u64,
        proto: Protocol,
        limits: OutputLimits,
        kill: Arc<crate::clients::KillSwitch>,
    ) -> Arc<PushSink> {
        Arc::new(PushSink {
            client_id,
            resp3: std::sync::atomic::AtomicBool::new(proto == Protocol::Resp3),
            queue: Mutex::new(Queue::default()),
            ready: Notify::new(),
            soft_since: AtomicU64::new(0),
            epoch: std::time::Instant::now(),
            kill,
            slow: std::sync::atomic::AtomicBool::new(false),
            limits,
        })
    }

    /// Queue an encoded frame unless the subscriber is over its limits (then it is marked
    /// slow). Returns whether it was queued. When the queue was empty, the sink is added to
    /// `wake`: the caller must [`PushSink::wake`] it once its batch of work is done.
    pub(crate) fn push(self: &Arc<Self>, frame: &[u8], wake: &mut Vec<Arc<PushSink>>) -> bool {
        if self.is_slow() {
            return false;
        }
        let mut q = self.lock();
        let queued = q.buf.len() + frame.len();
        let l = self.limits;
        if l.hard > 0 && queued > l.hard {
            drop(q);
            self.cut_off();
            return false;
        }
        if l.soft > 0 && queued > l.soft {
            let now = self.epoch.elapsed().as_millis() as u64 + 1;
            let since = self.soft_since.load(Relaxed);
            if since == 0 {
                self.soft_since.store(now, Relaxed);
            } else if now.saturating_sub(since) > l.soft_seconds * 1000 {
                drop(q);
                self.cut_off();
                return false;
            }
        }
        let was_empty = q.buf.is_empty();
        q.buf.extend_from_slice(frame);
        drop(q);
        if was_empty {
            wake.push(self.clone());
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tell the connection there is something to take.
    pub(crate) fn wake(&self) {
        self.ready.notify_one();
    }

    /// The connection waits with nothing of its own to write: until [`PushSink::busy`]
    /// gives it back, queued frames may be written straight to `socket`.
    pub(crate) fn idle_on(&self, socket: OwnedWriteHalf) {
        self.lock().idle = Some(socket);
    }

    /// The connection woke up: it takes its socket back (from now on only it writes there),
    /// with the count of bytes written directly while it was idle.
    pub(crate) fn busy(&self) -> (Option<OwnedWriteHalf>, u64) {
        let mut q = self.lock();
        (q.idle.take(), std::mem::take(&mut q.written))
    }

    /// Write what is queued: straight to the socket when the connection is idle and the
    /// socket takes it all, otherwise (busy, socket full, error) by waking the connection,
    /// which writes the rest itself and deals with backpressure and errors.
    fn deliver(&self) {
        let mut guard = self.lock();
        let q = &mut *guard;
        if q.buf.is_empty() {
            return;
        }
        if let Some(socket) = &q.idle {
            if let Ok(n) = socket.try_write(&q.buf) {
                q.written += n as u64;
                if n == q.buf.len() {
                    if q.buf.capacity() > KEEP_QUEUE_CAPACITY {
                        // A burst grew it: give the memory back (the connection's buffers are
                        // trimmed the same way).
                        q.buf = BytesMut::new();
                    } else {
                        q.buf.clear();
                    }
                    drop(guard);
                    self.soft_since.store(0, Relaxed);
                    return;
                }
                q.buf.advance(n);
            }
            // The rest goes through the connection, which waits for the socket to drain.
        }
        drop(guard);
        self.wake();
    }

    /// Wait until something may have been queued (spurious wake-ups are possible).
    pub(crate) async fn ready(&self) {
        self.ready.notified().await
    }

    /// Move everything queued to the end of `out`. When `out` is empty the buffers are
    /// swapped instead of copied, so `out`'s allocation becomes the next queue.
    pub(crate) fn take_into(&self, out: &mut BytesMut) -> usize {
        let mut q = self.lock();
        let n = q.buf.len();
        if out.is_empty() {
            std::mem::swap(out, &mut q.buf);
        } else {
            out.extend_from_slice(&q.buf);
            q.buf.clear();
        }
        drop(q);
        if n > 0 {
            self.soft_since.store(0, Relaxed);
        }
        n
    }

    /// Bytes queued for the subscriber and not yet taken by its connection (CLIENT LIST
    /// `omem`).
    pub(crate) fn pending(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .buf
            .len()
    }

    /// Whether the subscriber was cut off as a slow consumer.
    pub(crate) fn is_slow(&self) -> bool {
        self.slow.load(Relaxed)
    }

    fn cut_off(&self) {
        self.slow.store(true, Relaxed);
        self.kill.kill();
    }

    /// The subscriber's protocol.
    pub(crate) fn proto(&self) -> Protocol {
        if self.resp3.load(Relaxed) {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        }
    }

    /// HELLO switched the subscriber's protocol.
    pub(crate) fn set_proto(&self, proto: Protocol) {
        self.resp3.store(proto == Protocol::Resp3, Relaxed);
    }
}

/// Subscribers to wake after a batch that are written later instead (see WRITES above), at
/// most this many per worker; a bigger fan-out is woken at once, so that its writes spread
/// over the workers.
const DEFER_AT_MOST: usize = 8;
/// The same after a batch of at most [`FEW_PUBLISHES`]: one message at a time to many
/// subscribers costs a wake-up per subscriber and message when woken, and one write per
/// subscriber and worker turn when deferred (`PUBLISH` to 50 `redis-cli` subscribers from
/// 10 clients at pipeline 1: 1.4x the publishes per second, half the CPU per publish).
const DEFER_AT_MOST_AFTER_FEW: usize = 64;
const FEW_PUBLISHES: u32 = 4;
/// A worker that keeps finding work writes its deferred subscribers after this many batches.
const FLUSH_AFTER_BATCHES: u32 = 16;

/// What a connection's batch of commands published: the subscribers it gave their first
/// queued bytes (to wake or write after the batch), and how many messages.
#[derive(Default)]
pub(crate) struct Wakes {
    sinks: Vec<Arc<PushSink>>,
    publishes: u32,
}

thread_local! {
    /// The workers of the runtime this thread works for, once it has parked: set only on
    /// runtimes that call [`Workers::parking`].
    static WORKERS: RefCell<Option<Arc<Workers>>> = const { RefCell::new(None) };
    /// The subscribers this worker writes before it parks, and batches run since the first.
    static PENDING: RefCell<(Vec<Arc<PushSink>>, u32)> = const { RefCell::new((Vec::new(), 0)) };
}

/// The workers of one server runtime, as its park hooks see them: a worker that runs out of
/// work while another is still running hands its deferred subscribers over, and the last
/// worker to park writes them all, so subscribers get one write per turn of the whole
/// server, not one per worker turn (with two workers taking turns, one `redis-cli`
/// subscriber and 10 publishers at pipeline 1 got 0.60 writes per publish, against 0.14 with
/// one worker and 0.17 from Redis).
pub(crate) struct Workers {
    turn: Mutex<Turn>,
    /// Whether `turn.handed` holds anything (read after every batch without the lock).
    has_handed: std::sync::atomic::AtomicBool,
    /// One worker (a lane): nothing is ever handed over, `turn` is not needed.
    single: bool,
}

struct Turn {
    /// Workers not parked.
    awake: usize,
    /// Subscribers deferred by workers that parked while another was awake.
    handed: Vec<Arc<PushSink>>,
}

impl Workers {
    /// A runtime of `threads` workers, all starting awake.
    pub(crate) fn new(threads: usize) -> Arc<Workers> {
        Arc::new(Workers {
            turn: Mutex::new(Turn {
                awake: threads,
                handed: Vec::new(),
            }),
            has_handed: std::sync::atomic::AtomicBool::new(false),
            single: threads == 1,
        })
    }

    fn turn(&self) -> std::sync::MutexGuard<'_, Turn> {
        self.turn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A runtime hook (`tokio::runtime::Builder::on_thread_park`): the worker ran out of
    /// ready tasks. The subscribers it deferred are written now, with those handed over by
    /// other workers, each with one write; unless another worker is still running, which
    /// then writes them when it parks.
    pub(crate) fn parking(self: &Arc<Self>) {
        WORKERS.with_borrow_mut(|w| {
            if w.is_none() {
                *w = Some(self.clone());
            }
        });
        let mut sinks = take_pending();
        if !self.single {
            let mut turn = self.turn();
            turn.awake = turn.awake.saturating_sub(1);
            if turn.awake > 0 {
                if !sinks.is_empty() {
                    turn.handed.append(&mut sinks);
                    self.has_handed.store(true, Relaxed);
                }
            } else if !turn.handed.is_empty() {
                sinks.append(&mut turn.handed);
                self.has_handed.store(false, Relaxed);
            }
        }
        deliver_all(sinks);
    }

    /// A runtime hook (`tokio::runtime::Builder::on_thread_unpark`).
    pub(crate) fn unparked(&self) {
        if !self.single {
            self.turn().awake += 1;
        }
    }

    /// What other workers handed over (for a worker that keeps running).
    fn take_handed(&self) -> Vec<Arc<PushSink>> {
        if !self.has_handed.load(Relaxed) {
            return Vec::new();
        }
        let mut turn = self.turn();
        self.has_handed.store(false, Relaxed);
        std::mem::take(&mut turn.handed)
    }
}

/// This worker's deferred subscribers, its batch count restarted.
fn take_pending() -> Vec<Arc<PushSink>> {
    PENDING.with_borrow_mut(|p| {
        p.1 = 0;
        std::mem::take(&mut p.0)
    })
}

/// Write each subscriber's queue (a subscriber listed twice finds its queue empty the second
/// time), keeping the list's memory for this worker's next turn.
fn deliver_all(mut sinks: Vec<Arc<PushSink>>) {
    if sinks.is_empty() {
        return;
    }
    for sink in sinks.drain(..) {
        sink.deliver();
    }
    PENDING.with_borrow_mut(|p| {
        if p.0.capacity() == 0 {
            p.0 = sinks;
        }
    });
}

/// After a connection's batch: wake the subscribers its publishes queued for (`wake`), or
/// defer them to this worker's next park (see WRITES above).
pub(crate) fn after_batch(wakes: &mut Wakes) {
    WORKERS.with_borrow(|workers| match workers {
        Some(workers) => defer(workers, wakes),
        None => {
            wakes.publishes = 0;
            for sink in wakes.sinks.drain(..) {
                sink.wake();
            }
        }
    });
}

/// [`after_batch`] on a worker of the server's runtime.
fn defer(workers: &Workers, wakes: &mut Wakes) {
    let publishes = std::mem::take(&mut wakes.publishes);
    let wake = &mut wakes.sinks;
    let handed = workers.has_handed.load(Relaxed);
    let at_most = if publishes <= FEW_PUBLISHES {
        DEFER_AT_MOST_AFTER_FEW
    } else {
        DEFER_AT_MOST
    };
    let due = PENDING.with_borrow_mut(|(pending, batches)| {
        if !wake.is_empty() && pending.len() + wake.len() <= at_most {
            pending.append(wake);
        }
        if pending.is_empty() && !handed {
            return false;
        }
        *batches += 1;
        *batches >= FLUSH_AFTER_BATCHES
    });
    for sink in wake.drain(..) {
        sink.wake();
    }
    if due {
        let mut sinks = take_pending();
        sinks.append(&mut workers.take_handed());
        deliver_all(sinks);
    }
}

type Subscribers = HashMap<Bytes, Vec<Arc<PushSink>>, ahash::RandomState>;

/// Every channel, shard channel and pattern subscription.
#[derive(Default)]
pub(crate) struct Registry {
    channels: RwLock<Subscribers>,
    shard_channels: RwLock<Subscribers>,
    patterns: RwLock<Vec<(Bytes, Arc<PushSink>)>>,
}

/// Which namespace a command works on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Channel,
    Shard,
    Pattern,
}

impl Kind {
    pub(crate) fn subscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Shard => "ssubscribe",
            Kind::Pattern => "psubscribe",
        }
    }
    pub(crate) fn unsubscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Shard => "sunsubscribe",
            Kind::Pattern => "punsubscribe",
        }
    }
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

/// Encode a message push once for a protocol (`>n` in RESP3, `*n` in RESP2), written
/// directly into one buffer: this runs once per publish and protocol.
fn encode_push(proto: Protocol, parts: &[&[u8]], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(if proto == Protocol::Resp3 { b">" } else { b"*" });
    out.extend_from_slice(itoa::Buffer::new().format(parts.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for p in parts {
        out.extend_from_slice(b"$");
        out.extend_from_slice(itoa::Buffer::new().format(p.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
}

impl Registry {
    pub(crate) fn subscribe(&self, kind: Kind, name: Bytes, sink: &Arc<PushSink>) {
        match kind {
            Kind::Pattern => {
                let mut p = write(&self.patterns);
                if !p
                    .iter()
                    .any(|(n, s)| *n == name && s.client_id == sink.client_id)
                {
                    p.push((name, sink.clone()));
                }
            }
            _ => {
                let map = if kind == Kind::Channel {
                    &self.channels
                } else {
                    &self.shard_channels
                };
                let mut m = write(map);
                let subs = m.entry(name).or_default();
                if !subs.iter().any(|s| s.client_id == sink.client_id) {
                    subs.push(sink.clone());
                }
            }
        }
    }

    pub(crate) fn unsubscribe(&self, kind: Kind, name: &[u8], client_id: u64) {
        match kind {
            Kind::Pattern => {
                write(&self.patterns).retain(|(n, s)| !(&n[..] == name && s.client_id == client_id))
            }
            _ => {
                let map = if kind == Kind::Channel {
                    &self.channels
                } else {
                    &self.shard_channels
                };
                let mut m = write(map);
                if let Some(subs) = m.get_mut(name) {
                    subs.retain(|s| s.client_id != client_id);
                    if subs.is_empty() {
                        m.remove(name);
                    }
                }
            }
        }
    }

    /// Deliver `message` to every subscriber of `channel` (and, unless `shard`, to every
    /// matching pattern). Returns (delivered, cut off as slow); sinks to wake go to `wakes`.
    pub(crate) fn publish(
        &self,
        shard: bool,
        channel: &[u8],
        message: &[u8],
        wakes: &mut Wakes,
    ) -> (usize, usize) {
        wakes.publishes += 1;
        let wake = &mut wakes.sinks;
        let mut delivered = 0;
        let mut slow = 0;
        let word: &[u8] = if shard { b"smessage" } else { b"message" };
        // Encoded once per protocol (subscribers may mix RESP2 and RESP3), then copied into
        // each subscriber's queue.
        let mut encoded: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        let mut send = |sink: &Arc<PushSink>, encoded: &mut [Vec<u8>; 2]| {
            let proto = sink.proto();
            let buf = &mut encoded[usize::from(proto == Protocol::Resp3)];
            if buf.is_empty() {
                encode_push(proto, &[word, channel, message], buf);
            }
            if sink.push(buf, wake) {
                delivered += 1;
            } else {
                slow += 1;
            }
        };
        {
            let map = if shard {
                read(&self.shard_channels)
            } else {
                read(&self.channels)
            };
            if let Some(subs) = map.get(channel) {
                for s in subs {
                    send(s, &mut encoded);
                }
            }
        }
        if !shard {
            let pats = read(&self.patterns);
            let mut frame = Vec::new();
            for (pattern, sink) in pats.iter() {
                if glob::matches(pattern, channel, false) {
                    encode_push(
                        sink.proto(),
                        &[b"pmessage", pattern, channel, message],
                        &mut frame,
                    );
                    if sink.push(&frame, wake) {
                        delivered += 1;
                    } else {
                        slow += 1;
                    }
                }
            }
        }
        (delivered, slow)
    }

    /// Active channels (with at least one subscriber) matching `pattern`.
    pub(crate) fn channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let map = if shard {
            read(&self.shard_channels)
        } else {
            read(&self.channels)
        };
        map.keys()
            .filter(|c| pattern.is_none_or(|p| glob::matches(p, c, false)))
            .cloned()
            .collect()
    }

    /// Active channels (INFO stats' `pubsub_channels`, `pubsubshard_channels`).
    pub(crate) fn channel_count(&self, shard: bool) -> usize {
        if shard {
            read(&self.shard_channels).len()
        } else {
            read(&self.channels).len()
        }
    }

    pub(crate) fn numsub(&self, shard: bool, channel: &[u8]) -> usize {
        let map = if shard {
            read(&self.shard_channels)
        } else {
            read(&self.channels)
        };
        map.get(channel).map_or(0, Vec::len)
    }

    /// Distinct patterns subscribed to.
    pub(crate) fn numpat(&self) -> usize {
        read(&self.patterns)
            .iter()
            .map(|(p, _)| p)
            .collect::<HashSet<_>>()
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_encoding_matches_the_codec() {
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            let parts: [&[u8]; 3] = [b"message", b"ch", b"hello\r\nworld"];
            let frame = confab_protocol::Frame::Push(
                parts
                    .iter()
                    .map(|p| confab_protocol::Frame::Bulk(Bytes::copy_from_slice(p)))
                    .collect(),
            );
            let mut want = BytesMut::new();
            confab_protocol::encode(&frame, proto, &mut want);
            let mut got = b"left over".to_vec();
            encode_push(proto, &parts, &mut got);
            assert_eq!(got, want.to_vec());
        }
    }

    #[test]
    fn sink_queues_wakes_once_per_burst_and_cuts_off_at_the_hard_limit() {
        let limits = OutputLimits {
            hard: 10,
            soft: 0,
            soft_seconds: 0,
        };
        let sink = PushSink::new(1, Protocol::Resp2, limits, Default::default());
        let mut wake = Vec::new();
        assert!(sink.push(b"abc", &mut wake));
        assert!(sink.push(b"def", &mut wake));
        assert_eq!(
            wake.len(),
            1,
            "only the first push into an empty queue asks for a wake"
        );
        let mut out = BytesMut::new();
        assert_eq!(sink.take_into(&mut out), 6);
        assert_eq!(&out[..], b"abcdef");
        assert!(sink.push(b"ghi", &mut wake));
        assert_eq!(wake.len(), 2, "empty again, so the next push asks again");
        assert_eq!(sink.take_into(&mut out), 3);
        assert_eq!(
            &out[..],
            b"abcdefghi",
            "appended after what the connection holds"
        );
        assert!(sink.push(b"12345", &mut wake));
        assert!(
            !sink.push(b"123456", &mut wake),
            "11 bytes queued > hard limit 10"
        );
        assert!(sink.is_slow());
        assert!(sink.kill.is_killed());
        assert!(!sink.push(b"x", &mut wake));
    }
}
