//! The conversation log: one file recording every exchange, written by one thread.
//!
//! DESIGN. Connections format their lines (client commands, server replies, system events)
//! into a batch buffer while they run a pipeline batch, stamping them with the batch's time,
//! and append the whole batch to one shared pending buffer under a short lock (a memcpy, no
//! wake-up). The writer thread wakes every [`WRITE_INTERVAL`], or early once [`WAKE_AT`] bytes
//! are pending or someone waits in [`ConvLog::flush`], swaps the pending buffer for an empty one
//! and writes it with one `write`: lines reach the file within 100 ms, and the hot path costs no
//! futex wake-up per batch (waking the writer once per batch had cost 7% of the CPU at
//! pipeline 16). If the writer cannot keep up and [`HIGH_WATER`] bytes are pending, senders
//! wait until it catches up: backpressure, never a silently lost line. Lines that cannot be
//! written (a full disk, a log already closed) are counted in `dropped_lines`, reported by INFO
//! and written to the log as a SYSTEM line once writes succeed again; the writer reports the
//! error through tracing, never crashes, and keeps trying on later batches. It rotates the file
//! at a size limit, on line boundaries.
//!
//! Line format: `<RFC 3339 UTC timestamp> <text>` where text is one of
//! `SYSTEM: <event>`, `Client <id> (<name> <addr>): <command args>`, `Server -> <id>: <reply>`.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use confab_protocol::Frame;
use parking_lot::{Condvar, Mutex};
use tokio::sync::{oneshot, Notify};

use crate::config::{Config, LogMode};

/// How often the writer writes out what is pending (so at most this late on disk).
const WRITE_INTERVAL: Duration = Duration::from_millis(100);
/// Pending bytes that wake the writer before its interval (small enough to stay in L2).
const WAKE_AT: usize = 256 << 10;
/// Pending bytes past which senders wait for the writer.
const HIGH_WATER: usize = 64 << 20;
/// Longest argument or reply text written in full; longer ones are cut with their length.
pub const MAX_SHOWN: usize = 128;
/// Most array elements shown in a reply line.
const MAX_ELEMENTS_SHOWN: usize = 16;

/// Counters shared between the handle and the writer, for INFO.
#[derive(Default, Debug)]
pub struct LogCounters {
    /// Lines written to the file.
    pub written_lines: AtomicU64,
    /// Lines lost (a write error, or sent after the log was closed).
    pub dropped_lines: AtomicU64,
    /// Write or flush errors seen.
    pub write_errors: AtomicU64,
}

/// What connections hand to the writer.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    /// The number of lines in `buf` (senders count them as they format them).
    lines: u64,
    /// Completed once everything pending when they were queued is written.
    flush_waiters: Vec<oneshot::Sender<()>>,
    closed: bool,
}

struct Inner {
    pending: Mutex<Pending>,
    /// Wakes the writer early (flush, close, [`WAKE_AT`]).
    wake: Condvar,
    /// Notified by the writer after each write, for senders held back at [`HIGH_WATER`].
    space: Notify,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("convlog::Inner")
    }
}

/// Handle to the conversation log; cheap to clone. A disabled log ignores everything.
#[derive(Clone, Debug)]
pub struct ConvLog {
    inner: Option<Arc<Inner>>,
    counters: Arc<LogCounters>,
    path: Option<PathBuf>,
}

impl ConvLog {
    /// A log that records nothing.
    pub fn disabled() -> Self {
        ConvLog {
            inner: None,
            counters: Arc::default(),
            path: None,
        }
    }

    /// Open the file as configured and start the writer thread. Must be called within a tokio
    /// runtime. Returns the handle and the writer's join handle, which completes after
    /// [`ConvLog::close`] once everything is on disk.
    pub fn start(config: &Config) -> io::Result<(ConvLog, tokio::task::JoinHandle<()>)> {
        let Some(path) = config.conversation_log.clone() else {
            return Ok((ConvLog::disabled(), tokio::spawn(async {})));
        };
        let file = open(&path, config.conversation_log_mode)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let counters = Arc::new(LogCounters::default());
        let inner = Arc::new(Inner {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            space: Notify::new(),
        });
        let writer = Writer {
            path: path.clone(),
            out: Some(file),
            size,
            max_size: config.conversation_log_max_size,
            counters: counters.clone(),
            failing: false,
            reported_drops: 0,
        };
        let shared = inner.clone();
        let join = tokio::task::spawn_blocking(move || writer.run(&shared));
        Ok((
            ConvLog {
                inner: Some(inner),
                counters,
                path: Some(path),
            },
            join,
        ))
    }

    /// Whether lines are being recorded.
    pub fn is_on(&self) -> bool {
        self.inner.is_some()
    }

    /// The file path, if on.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The shared counters.
    pub fn counters(&self) -> &LogCounters {
        &self.counters
    }

    /// Hand over a batch of formatted lines (the batch is emptied, its capacity kept),
    /// waiting first if the writer is far behind.
    pub async fn send(&self, lines: &mut Lines) {
        let Some(inner) = &self.inner else {
            lines.clear();
            return;
        };
        if lines.is_empty() {
            return;
        }
        // The common case takes only the pending lock; registering for the `space` wake-up
        // (which takes the Notify's own lock twice) is left to a sender that has to wait.
        if self.try_append(inner, lines) {
            return;
        }
        loop {
            let space = inner.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            if self.try_append(inner, lines) {
                return;
            }
            space.await;
        }
    }

    /// Append `lines` (or count them dropped once the log is closed) unless the writer is
    /// [`HIGH_WATER`] behind; true when done.
    fn try_append(&self, inner: &Inner, lines: &mut Lines) -> bool {
        let mut p = inner.pending.lock();
        if p.closed {
            drop(p);
            self.counters.dropped_lines.fetch_add(lines.count, Relaxed);
            lines.clear();
            return true;
        }
        if p.buf.len() >= HIGH_WATER {
            return false;
        }
        let before = p.buf.len();
        p.buf.extend_from_slice(&lines.buf);
        p.lines += lines.count;
        let after = p.buf.len();
        drop(p);
        lines.clear();
        if before < WAKE_AT && after >= WAKE_AT {
            inner.wake.notify_one();
        }
        true
    }

    /// Record a system event now.
    pub async fn system(&self, text: &str) {
        if self.is_on() {
            let mut lines = Lines::default();
            lines.system(Stamp::now().as_str(), text);
            self.send(&mut lines).await;
        }
    }

    /// Wait until everything sent so far is written to the file.
    pub async fn flush(&self) {
        if let Some(inner) = &self.inner {
            let (done, wait) = oneshot::channel();
            {
                let mut p = inner.pending.lock();
                if p.closed {
                    return;
                }
                p.flush_waiters.push(done);
            }
            inner.wake.notify_one();
            let _ = wait.await;
        }
    }

    /// Write everything sent so far and stop the writer; lines sent afterwards through any
    /// handle are counted as dropped.
    pub async fn close(mut self) {
        self.flush().await;
        if let Some(inner) = self.inner.take() {
            inner.pending.lock().closed = true;
            inner.wake.notify_one();
        }
    }
}

fn count_lines(buf: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', buf).count() as u64
}

fn open(path: &Path, mode: LogMode) -> io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true);
    match mode {
        LogMode::Truncate => o.write(true).truncate(true),
        LogMode::Append => o.append(true),
    };
    o.open(path)
}

struct Writer {
    path: PathBuf,
    /// `None` after a failed reopen during rotation (retried on the next batch).
    out: Option<std::fs::File>,
    size: u64,
    max_size: Option<u64>,
    counters: Arc<LogCounters>,
    failing: bool,
    reported_drops: u64,
}

impl Writer {
    fn run(mut self, inner: &Arc<Inner>) {
        let mut spare = Vec::new();
        loop {
            let (batch, lines, waiters, closed) = {
                let mut p = inner.pending.lock();
                if p.buf.len() < WAKE_AT && p.flush_waiters.is_empty() && !p.closed {
                    inner.wake.wait_for(&mut p, WRITE_INTERVAL);
                }
                let batch = std::mem::replace(&mut p.buf, std::mem::take(&mut spare));
                let lines = std::mem::take(&mut p.lines);
                (batch, lines, std::mem::take(&mut p.flush_waiters), p.closed)
            };
            if !batch.is_empty() {
                inner.space.notify_waiters();
                self.write_batch(&batch, lines);
            }
            for w in waiters {
                let _ = w.send(());
            }
            spare = batch;
            spare.clear();
            if spare.capacity() > 2 * WAKE_AT {
                spare = Vec::new();
            }
            // Closed, or every handle gone without a close (the server task was dropped).
            if closed || Arc::strong_count(inner) == 1 {
                let (rest, lines) = {
                    let mut p = inner.pending.lock();
                    (std::mem::take(&mut p.buf), std::mem::take(&mut p.lines))
                };
                self.write_batch(&rest, lines);
                return;
            }
        }
    }

    /// Write whole lines (`lines` of them), rotating on a line boundary when the size limit
    /// would be passed.
    fn write_batch(&mut self, mut data: &[u8], lines: u64) {
        if data.is_empty() {
            return;
        }
        let fits = self
            .max_size
            .is_none_or(|max| self.size + data.len() as u64 <= max);
        if fits {
            // The common case: the count the senders kept, no scan.
            self.write(data, lines);
            return;
        }
        while !data.is_empty() {
            let take = match self.max_size {
                Some(max) if self.size + data.len() as u64 > max => {
                    let room = (max.saturating_sub(self.size) as usize).min(data.len());
                    match memchr::memrchr(b'\n', &data[..room]) {
                        Some(i) => i + 1,
                        // A line longer than the limit gets a file of its own.
                        None if self.size == 0 => {
                            memchr::memchr(b'\n', data).map_or(data.len(), |i| i + 1)
                        }
                        None => {
                            self.rotate();
                            continue;
                        }
                    }
                }
                _ => data.len(),
            };
            self.write(&data[..take], count_lines(&data[..take]));
            data = &data[take..];
        }
    }

    fn write(&mut self, lines: &[u8], n: u64) {
        self.report_drops();
        let r = match self.out.as_mut() {
            Some(f) => f.write_all(lines),
            None => self.reopen().and_then(|f| f.write_all(lines)),
        };
        match r {
            Ok(()) => {
                self.size += lines.len() as u64;
                self.counters.written_lines.fetch_add(n, Relaxed);
                self.failing = false;
            }
            Err(e) => self.on_error(&e, n),
        }
    }

    fn reopen(&mut self) -> io::Result<&mut std::fs::File> {
        let f = open(&self.path, LogMode::Append)?;
        self.size = f.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(self.out.insert(f))
    }

    fn report_drops(&mut self) {
        let dropped = self.counters.dropped_lines.load(Relaxed);
        if dropped > self.reported_drops && !self.failing {
            self.reported_drops = dropped;
            let mut buf = Vec::new();
            push_system(
                &mut buf,
                &timestamp(SystemTime::now()),
                &format!("conversation log dropped {dropped} lines so far"),
            );
            if let Some(f) = self.out.as_mut() {
                if f.write_all(&buf).is_ok() {
                    self.size += buf.len() as u64;
                }
            }
        }
    }

    fn on_error(&mut self, e: &io::Error, lost_lines: u64) {
        self.counters.write_errors.fetch_add(1, Relaxed);
        self.counters.dropped_lines.fetch_add(lost_lines, Relaxed);
        if !self.failing {
            tracing::error!(path = %self.path.display(), error = %e, "conversation log write failed; lines are being dropped and counted");
            self.failing = true;
        }
    }

    fn rotate(&mut self) {
        self.out = None;
        let mut rotated = self.path.clone().into_os_string();
        rotated.push(".1");
        if let Err(e) = std::fs::rename(&self.path, &rotated) {
            tracing::error!(error = %e, "conversation log rotation failed");
        }
        match open(&self.path, LogMode::Truncate) {
            Ok(f) => {
                self.out = Some(f);
                self.size = 0;
            }
            Err(e) => {
                // Lines go on being counted as dropped until a reopen succeeds.
                self.size = 0;
                self.on_error(&e, 0);
            }
        }
    }
}

/// RFC 3339 UTC timestamp with milliseconds, e.g. `2026-11-23T07:21:35.123Z`.
pub fn timestamp(t: SystemTime) -> String {
    Stamp::new(t).as_str().to_owned()
}

/// A log timestamp ([`timestamp`]'s text) formatted by hand into a fixed buffer: it is made
/// once per batch of commands, and `format!` made it 3% of the CPU at pipeline 16 with the
/// log on.
#[derive(Clone, Copy)]
pub struct Stamp([u8; 24]);

impl Stamp {
    /// The stamp for `t` (times before 1970 show as 1970, after 9999 as 9999's last instant).
    pub fn new(t: SystemTime) -> Stamp {
        let d = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        // 253402300799 = 9999-12-31T23:59:59Z.
        let (secs, millis) = match d.as_secs() {
            s if s > 253_402_300_799 => (253_402_300_799, 999),
            s => (s, d.subsec_millis()),
        };
        let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = if month <= 2 { y + 1 } else { y };
        let mut b = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut v: u64| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, year as u64);
        put(5, 2, month as u64);
        put(8, 2, day as u64);
        put(11, 2, rem / 3600);
        put(14, 2, rem / 60 % 60);
        put(17, 2, rem % 60);
        put(20, 3, u64::from(millis));
        Stamp(b)
    }

    /// The current time's stamp. Each thread remembers the last second it stamped and only
    /// rewrites the milliseconds within it (the calendar arithmetic ran once per batch).
    pub fn now() -> Stamp {
        thread_local! {
            static LAST: std::cell::Cell<(u64, Stamp)> =
                const { std::cell::Cell::new((u64::MAX, Stamp(*b"0000-00-00T00:00:00.000Z"))) };
        }
        let t = SystemTime::now();
        let Ok(d) = t.duration_since(SystemTime::UNIX_EPOCH) else {
            return Stamp::new(t);
        };
        let secs = d.as_secs();
        LAST.with(|last| {
            let (at, mut stamp) = last.get();
            // (A clamped stamp, past year 9999, is not patched.)
            if at == secs && secs <= 253_402_300_799 {
                let ms = d.subsec_millis();
                stamp.0[20] = b'0' + (ms / 100) as u8;
                stamp.0[21] = b'0' + (ms / 10 % 10) as u8;
                stamp.0[22] = b'0' + (ms % 10) as u8;
                stamp
            } else {
                let stamp = Stamp::new(t);
                last.set((secs, stamp));
                stamp
            }
        })
    }

    /// The text (always ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// Append `<ts> SYSTEM: <text>\n`.
pub fn push_system(buf: &mut Vec<u8>, ts: &str, text: &str) {
    buf.extend_from_slice(ts.as_bytes());
    buf.extend_from_slice(b" SYSTEM: ");
    buf.extend_from_slice(text.as_bytes());
    buf.push(b'\n');
}

/// A batch of formatted lines and their number, which the senders count as they format so
/// that the writer need not scan for newlines (the scan was 1% of the server's CPU at
/// pipeline 16 with the log on). What is counted is events, one per line: arguments and
/// bulk replies show newlines escaped, and error replies have none (they are built with
/// newlines replaced, as Redis builds them).
#[derive(Default)]
pub struct Lines {
    buf: Vec<u8>,
    count: u64,
}

impl Lines {
    /// Whether no line is held.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The buffer's capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Forget the lines, keeping the capacity.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.count = 0;
    }

    /// Append a command line under `prefixes` (see [`push_command`]).
    pub fn command(&mut self, prefixes: &LinePrefixes, args: &[Bytes], redact: &[usize]) {
        prefixes.push_command(&mut self.buf, args, redact);
        self.count += 1;
    }

    /// Append a reply line under `prefixes` (see [`push_reply`]).
    pub fn reply(&mut self, prefixes: &LinePrefixes, reply: &Frame) {
        prefixes.push_reply(&mut self.buf, reply);
        self.count += 1;
    }

    /// Append a reply line to client `id` stamped `ts`.
    pub fn reply_to(&mut self, ts: &str, id: u64, reply: &Frame) {
        push_reply(&mut self.buf, ts, id, reply);
        self.count += 1;
    }

    /// Append a system line (see [`push_system`]).
    pub fn system(&mut self, ts: &str, text: &str) {
        push_system(&mut self.buf, ts, text);
        self.count += 1;
    }
}

/// The positions of a command's arguments that must never reach a log: passwords and other
/// secrets, where Redis 7 redacts them from its own logs and MONITOR (`redactClientCommandArgument`):
/// every argument of AUTH; HELLO's `AUTH username password`; MIGRATE's `AUTH password` and
/// `AUTH2 username password`; the value of CONFIG SET `requirepass` and `masterauth`; and
/// everything after ACL SETUSER. Whether the command is valid does not matter: a mistyped
/// secret is still a secret. Shared by the server's log, MONITOR and the cli's `--log`.
#[inline]
pub fn redactions(args: &[Bytes]) -> Vec<usize> {
    // Most commands are none of these: one byte tells, without a call.
    match args.first().and_then(|name| name.first()) {
        Some(b'a' | b'h' | b'c' | b'm' | b'A' | b'H' | b'C' | b'M') => secret_positions(args),
        _ => Vec::new(),
    }
}

/// [`redactions`] for the commands that may carry a secret.
#[inline(never)]
fn secret_positions(args: &[Bytes]) -> Vec<usize> {
    let name = &args[0];
    let is = |a: &Bytes, word: &str| a.eq_ignore_ascii_case(word.as_bytes());
    let mut v = Vec::new();
    if is(name, "auth") {
        v.extend(1..args.len());
    } else if is(name, "hello") || is(name, "migrate") {
        let hello = is(name, "hello");
        let mut i = 1;
        while i < args.len() {
            if is(&args[i], "auth") {
                // HELLO: AUTH username password; MIGRATE: AUTH password.
                let n = if hello { 2 } else { 1 };
                v.extend((i + 1..=i + n).filter(|&j| j < args.len()));
                i += 1 + n;
            } else if !hello && is(&args[i], "auth2") {
                v.extend((i + 1..=i + 2).filter(|&j| j < args.len()));
                i += 3;
            } else {
                i += 1;
            }
        }
    } else if is(name, "config") && args.len() >= 3 && is(&args[1], "set") {
        let mut i = 2;
        while i < args.len() {
            if is(&args[i], "requirepass") || is(&args[i], "masterauth") {
                v.extend((i + 1 < args.len()).then_some(i + 1));
            }
            i += 2;
        }
    } else if is(name, "acl") && args.len() >= 3 && is(&args[1], "setuser") {
        // Redis hides the user name and every rule, not only the password rules.
        v.extend(2..args.len());
    }
    v
}

/// Append `<ts> Client <id> (<label>): <args>\n`, with `redact` hiding the arguments at those
/// indexes (passwords).
pub fn push_command(
    buf: &mut Vec<u8>,
    ts: &str,
    id: u64,
    label: &str,
    args: &[Bytes],
    redact: &[usize],
) {
    let mut prefix = LinePrefixes::default();
    prefix.build(ts, id, label);
    prefix.push_command(buf, args, redact);
}

/// Append `<ts> Server -> <id>: <reply>\n`.
pub fn push_reply(buf: &mut Vec<u8>, ts: &str, id: u64, reply: &Frame) {
    let mut prefix = LinePrefixes::default();
    prefix.build(ts, id, "");
    prefix.push_reply(buf, reply);
}

/// The starts of one client's command and reply lines at one timestamp,
/// `<ts> Client <id> (<label>): ` and `<ts> Server -> <id>: `, built once per batch of
/// commands instead of once per line.
#[derive(Default)]
pub struct LinePrefixes {
    /// Both prefixes back to back: the command's, then the reply's from `split`.
    bytes: Vec<u8>,
    split: usize,
}

impl LinePrefixes {
    /// Rebuild both prefixes (the buffer's capacity is kept).
    pub fn build(&mut self, ts: &str, id: u64, label: &str) {
        let mut digits = itoa::Buffer::new();
        let id = digits.format(id).as_bytes();
        let b = &mut self.bytes;
        b.clear();
        b.extend_from_slice(ts.as_bytes());
        b.extend_from_slice(b" Client ");
        b.extend_from_slice(id);
        b.extend_from_slice(b" (");
        b.extend_from_slice(label.as_bytes());
        b.extend_from_slice(b"): ");
        self.split = b.len();
        b.extend_from_slice(ts.as_bytes());
        b.extend_from_slice(b" Server -> ");
        b.extend_from_slice(id);
        b.extend_from_slice(b": ");
    }

    /// Give the buffer back (an idle connection keeps none).
    pub fn release(&mut self) {
        *self = LinePrefixes::default();
    }

    /// Whether a buffer is held.
    pub fn holds_memory(&self) -> bool {
        self.bytes.capacity() > 0
    }

    /// Append a command line (see [`push_command`]).
    pub fn push_command(&self, buf: &mut Vec<u8>, args: &[Bytes], redact: &[usize]) {
        buf.extend_from_slice(&self.bytes[..self.split]);
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                buf.push(b' ');
            }
            if redact.contains(&i) {
                buf.extend_from_slice(b"(redacted)");
            } else {
                push_arg(buf, a);
            }
        }
        buf.push(b'\n');
    }

    /// Append a reply line (see [`push_reply`]).
    pub fn push_reply(&self, buf: &mut Vec<u8>, reply: &Frame) {
        buf.extend_from_slice(&self.bytes[self.split..]);
        render_frame(buf, reply, 0);
        buf.push(b'\n');
    }
}

/// A name (channel, key) as the log shows it: bare if plain text, else quoted.
pub fn shown(a: &[u8]) -> String {
    let mut buf = Vec::new();
    push_arg(&mut buf, a);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Bytes that make an argument show quoted: anything but printable ASCII, and the quote and
/// backslash characters. (Tables: a lookup per byte instead of a chain of comparisons; a
/// branch-free comparison fold the compiler vectorizes measured slower on keys this short.)
static QUOTE: [bool; 256] = byte_table(true);
/// Bytes that are escaped inside quotes (a lookup per byte instead of a chain of comparisons).
static ESCAPE: [bool; 256] = byte_table(false);

/// [`QUOTE`] (`quote`) or [`ESCAPE`].
const fn byte_table(quote: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let special = c == b'"' || c == b'\\';
        t[i] = if quote {
            !c.is_ascii_graphic() || special || c == b'\''
        } else {
            !(c >= 0x20 && c <= 0x7e) || special
        };
        i += 1;
    }
    t
}

/// Whether a [`QUOTE`] byte is in `a`: eight bytes at a time (a table lookup per byte was
/// half of the time spent formatting a command line), the tail through the table.
fn needs_quotes(a: &[u8]) -> bool {
    let mut words = a.chunks_exact(8);
    for w in &mut words {
        let mut word = [0; 8];
        word.copy_from_slice(w);
        if word_needs_quotes(u64::from_le_bytes(word)) {
            return true;
        }
    }
    words.remainder().iter().any(|&c| QUOTE[usize::from(c)])
}

/// Whether any byte of `w` is a [`QUOTE`] byte: below `!` (0x21), above `~` (0x7e), or one
/// of `"`, `\`, `'`. The usual bit tricks, each exact for "is there such a byte" (borrows
/// and carries only spill past a byte that already matched).
#[inline]
fn word_needs_quotes(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below = w.wrapping_sub(ONES * 0x21) & !w & HIGH;
    let above = (w.wrapping_add(ONES) | w) & HIGH;
    let special = has_zero(w ^ (ONES * u64::from(b'"')))
        | has_zero(w ^ (ONES * u64::from(b'\\')))
        | has_zero(w ^ (ONES * u64::from(b'\'')));
    (below | above | special) != 0
}

/// An argument as typed: bare if it is plain printable text, else quoted and escaped.
fn push_arg(buf: &mut Vec<u8>, a: &[u8]) {
    let plain = !a.is_empty() && a.len() <= MAX_SHOWN && !needs_quotes(a);
    if plain {
        buf.extend_from_slice(a);
    } else {
        push_quoted(buf, a);
    }
}

/// `"text"` with escapes, cut at [`MAX_SHOWN`] bytes with the full length shown.
fn push_quoted(buf: &mut Vec<u8>, a: &[u8]) {
    let mut rest = &a[..a.len().min(MAX_SHOWN)];
    buf.push(b'"');
    while !rest.is_empty() {
        // Copy the run that needs no escape at once.
        let run = rest
            .iter()
            .position(|&c| ESCAPE[c as usize])
            .unwrap_or(rest.len());
        buf.extend_from_slice(&rest[..run]);
        let Some((&c, tail)) = rest[run..].split_first() else {
            break;
        };
        match c {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            c => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[usize::from(c >> 4)],
                    HEX[usize::from(c & 15)],
                ]);
            }
        }
        rest = tail;
    }
    buf.push(b'"');
    if a.len() > MAX_SHOWN {
        let _ = write!(Adapter(buf), "... ({} bytes)", a.len());
    }
}

struct Adapter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Adapter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A reply the way redis-cli shows it, on one line.
pub fn render_frame(buf: &mut Vec<u8>, f: &Frame, depth: usize) {
    match f {
        Frame::Raw(r) => {
            let mark = buf.len();
            if render_raw(Some(&mut *buf), r, 0, depth, true) != Some(r.len()) {
                // Not one whole frame: show what the decoder makes of it.
                buf.truncate(mark);
                render_frame(buf, &Frame::decode_raw(r), depth);
            }
        }
        Frame::Simple(s) => buf.extend_from_slice(s),
        Frame::Error(e) => {
            buf.extend_from_slice(b"(error) ");
            buf.extend_from_slice(&e[..e.len().min(MAX_SHOWN * 2)]);
        }
        Frame::Integer(n) => {
            buf.extend_from_slice(b"(integer) ");
            buf.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
        }
        Frame::Bulk(b) | Frame::BigNumber(b) => push_quoted(buf, b),
        Frame::Verbatim { text, .. } => push_quoted(buf, text),
        Frame::Null | Frame::NullArray => buf.extend_from_slice(b"(nil)"),
        Frame::Double(d) => {
            let _ = write!(Adapter(buf), "(double) {d}");
        }
        Frame::Boolean(b) => buf.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            render_list(buf, items.iter(), items.len(), depth)
        }
        Frame::Map(pairs) => {
            buf.push(b'{');
            for (i, (k, v)) in pairs.iter().take(MAX_ELEMENTS_SHOWN).enumerate() {
                if i > 0 {
                    buf.extend_from_slice(b", ");
                }
                render_frame(buf, k, depth + 1);
                buf.extend_from_slice(b": ");
                render_frame(buf, v, depth + 1);
            }
            if pairs.len() > MAX_ELEMENTS_SHOWN {
                let _ = write!(Adapter(buf), ", ... ({} pairs)", pairs.len());
            }
            buf.push(b'}');
        }
    }
}

fn render_list<'a>(
    buf: &mut Vec<u8>,
    items: impl Iterator<Item = &'a Frame>,
    len: usize,
    depth: usize,
) {
    if depth > 8 {
        buf.extend_from_slice(b"[...]");
        return;
    }
    buf.push(b'[');
    for (i, item) in items.take(MAX_ELEMENTS_SHOWN).enumerate() {
        if i > 0 {
            buf.extend_from_slice(b", ");
        }
        render_frame(buf, item, depth + 1);
    }
    if len > MAX_ELEMENTS_SHOWN {
        let _ = write!(Adapter(buf), ", ... ({len} elements)");
    }
    buf.push(b']');
}

/// The header line at `raw[pos..]` (type byte excluded) and the position after its CRLF.
fn raw_line(raw: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = raw.get(pos + 1..)?;
    let end = memchr::memchr(b'\r', rest)?;
    (rest.get(end + 1) == Some(&b'\n')).then(|| (&rest[..end], pos + 1 + end + 2))
}

/// Render (or with `buf == None` only skip) the RESP element at `raw[pos..]` straight from
/// its bytes, as [`render_frame`] renders the decoded frame; returns the position after it,
/// or `None` if the bytes are not a whole element. A reply encoded straight into bytes
/// ([`Frame::Raw`], e.g. LRANGE's) is never decoded whole: aggregates stop rendering after
/// [`MAX_ELEMENTS_SHOWN`] elements, and skip over the rest only when something follows
/// that must be found (`last` is false); when `last`, the end is `raw.len()` unchecked.
fn render_raw(
    mut buf: Option<&mut Vec<u8>>,
    raw: &[u8],
    pos: usize,
    depth: usize,
    last: bool,
) -> Option<usize> {
    let kind = *raw.get(pos)?;
    match kind {
        b'$' | b'+' | b':' | b'*' | b'~' | b'>' | b'%' => {}
        _ => {
            // Rare in raw replies (doubles, booleans, errors, ...): decode this element alone.
            let (f, n) = confab_protocol::parse_frame(&raw[pos..], &Default::default()).ok()?;
            if let Some(buf) = buf {
                render_frame(buf, &f, depth);
            }
            return Some(pos + n);
        }
    }
    let (line, mut next) = raw_line(raw, pos)?;
    match kind {
        b'+' => {
            if let Some(buf) = buf {
                buf.extend_from_slice(line);
            }
        }
        b':' => {
            if let Some(buf) = buf {
                buf.extend_from_slice(b"(integer) ");
                buf.extend_from_slice(line);
            }
        }
        // RESP2's null bulk string and null array.
        _ if line == b"-1" => {
            if let Some(buf) = buf {
                buf.extend_from_slice(b"(nil)");
            }
        }
        b'$' => {
            let len = usize::try_from(confab_protocol::parse_i64(line)?).ok()?;
            let body = raw.get(next..next.checked_add(len)?)?;
            if raw.get(next + len..next + len + 2)? != b"\r\n" {
                return None;
            }
            if let Some(buf) = buf {
                push_quoted(buf, body);
            }
            next += len + 2;
        }
        _ => {
            let n = usize::try_from(confab_protocol::parse_i64(line)?).ok()?;
            let map = kind == b'%';
            if depth > 8 && !map {
                if let Some(buf) = buf.as_deref_mut() {
                    buf.extend_from_slice(b"[...]");
                }
                buf = None;
            }
            if let Some(buf) = buf.as_deref_mut() {
                buf.push(if map { b'{' } else { b'[' });
            }
            for i in 0..n {
                let shown = i < MAX_ELEMENTS_SHOWN;
                if !shown && last {
                    // Past what is shown and nothing after this element to find: stop reading.
                    next = raw.len();
                    break;
                }
                let child_last = last && i + 1 == n;
                let mut out = if shown { buf.as_deref_mut() } else { None };
                if i > 0 {
                    if let Some(out) = out.as_deref_mut() {
                        out.extend_from_slice(b", ");
                    }
                }
                next = render_raw(out.as_deref_mut(), raw, next, depth + 1, child_last && !map)?;
                if map {
                    if let Some(out) = out.as_deref_mut() {
                        out.extend_from_slice(b": ");
                    }
                    next = render_raw(out, raw, next, depth + 1, child_last)?;
                }
            }
            if let Some(buf) = buf {
                if n > MAX_ELEMENTS_SHOWN {
                    let what = if map { "pairs" } else { "elements" };
                    let _ = write!(Adapter(buf), ", ... ({n} {what})");
                }
                buf.push(if map { b'}' } else { b']' });
            }
        }
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_419_695_123);
        assert_eq!(timestamp(t), "2026-11-23T07:41:35.123Z");
        assert_eq!(
            timestamp(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000Z"
        );
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(timestamp(leap), "2000-02-29T00:00:00.000Z");
        let at = |ms: u64| timestamp(SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
        assert_eq!(at(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
        // 2100 is not a leap year: 28 February is followed by 1 March.
        assert_eq!(at(4_107_542_399_000), "2100-02-28T23:59:59.000Z");
        assert_eq!(at(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(at(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(at(u64::MAX / 4), "9999-12-31T23:59:59.999Z");
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(timestamp(before), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn lines() {
        let mut buf = Vec::new();
        let args = [
            Bytes::from_static(b"SET"),
            Bytes::from_static(b"k"),
            Bytes::from_static(b"two words"),
        ];
        push_command(&mut buf, "T", 7, "cli-1 127.0.0.1:5", &args, &[]);
        push_reply(&mut buf, "T", 7, &Frame::Bulk(Bytes::from_static(b"89")));
        push_reply(&mut buf, "T", 7, &Frame::Integer(3));
        let long = Bytes::from(vec![b'x'; 1000]);
        push_reply(&mut buf, "T", 7, &Frame::Bulk(long));
        let text = String::from_utf8(buf).unwrap();
        let mut it = text.lines();
        assert_eq!(
            it.next(),
            Some("T Client 7 (cli-1 127.0.0.1:5): SET k \"two words\"")
        );
        assert_eq!(it.next(), Some("T Server -> 7: \"89\""));
        assert_eq!(it.next(), Some("T Server -> 7: (integer) 3"));
        let cut = it.next().unwrap();
        assert!(cut.ends_with("\"... (1000 bytes)"), "{cut}");
        assert!(cut.len() < 200);
    }

    /// The byte-at-a-time escaping the table-driven `push_arg` / `push_quoted` replaced.
    fn shown_reference(a: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let plain = !a.is_empty()
            && a.len() <= MAX_SHOWN
            && a.iter()
                .all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\');
        if plain {
            return a.to_vec();
        }
        out.push(b'"');
        for &c in &a[..a.len().min(MAX_SHOWN)] {
            match c {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                c if (0x20..0x7f).contains(&c) => out.push(c),
                c => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
            }
        }
        out.push(b'"');
        if a.len() > MAX_SHOWN {
            out.extend_from_slice(format!("... ({} bytes)", a.len()).as_bytes());
        }
        out
    }

    #[test]
    fn secrets_are_redacted() {
        let r = |line: &str| {
            let args: Vec<Bytes> = line.split(' ').map(|a| Bytes::from(a.to_owned())).collect();
            redactions(&args)
        };
        assert_eq!(r("AUTH pw"), vec![1]);
        assert_eq!(r("auth user pw"), vec![1, 2]);
        assert_eq!(r("HELLO 3 AUTH u pw SETNAME x"), vec![3, 4]);
        assert_eq!(r("hello 3 setname auth"), Vec::<usize>::new());
        assert_eq!(r("HELLO 3 AUTH u"), vec![3]);
        assert_eq!(
            r("CONFIG SET requirepass s1 maxclients 10 masterauth s2"),
            vec![3, 7]
        );
        assert_eq!(r("config set maxclients requirepass"), Vec::<usize>::new());
        assert_eq!(r("CONFIG SET requirepass"), Vec::<usize>::new());
        assert_eq!(r("CONFIG GET requirepass"), Vec::<usize>::new());
        assert_eq!(r("MIGRATE h 1 k 0 5 AUTH pw KEYS a"), vec![7]);
        assert_eq!(r("MIGRATE h 1 k 0 5 AUTH2 u pw"), vec![7, 8]);
        assert_eq!(r("ACL SETUSER bob on >pw #abc"), vec![2, 3, 4, 5]);
        assert_eq!(r("GET auth"), Vec::<usize>::new());
        assert_eq!(r("MSET auth x"), Vec::<usize>::new());
    }

    #[test]
    fn quote_table() {
        for c in 0..=255u8 {
            let plain = c.is_ascii_graphic() && !b"\"'\\".contains(&c);
            assert_eq!(needs_quotes(&[c]), !plain, "byte {c}");
            // Every position of a word read eight bytes at a time, and of the tail after it,
            // among plain bytes at both ends of the plain range.
            for len in [8, 9, 16, 23] {
                for at in 0..len {
                    for fill in [b'!', b'~', b'a'] {
                        let mut a = vec![fill; len];
                        a[at] = c;
                        assert_eq!(needs_quotes(&a), !plain, "byte {c} at {at} of {len}");
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn the_writer_counts_the_lines_the_senders_counted() {
        let dir = std::env::temp_dir().join(format!(
            "confab-convlog-count-{}-{:?}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        // Without a size limit (one write per batch, no scan), and with one small enough to
        // rotate inside batches (a scan per piece).
        for (name, max_size) in [("plain", None), ("rotating", Some(700))] {
            let path = dir.join(name);
            let config = Config {
                conversation_log: Some(path.clone()),
                conversation_log_max_size: max_size,
                ..Config::for_tests()
            };
            let (log, join) = ConvLog::start(&config).unwrap();
            let mut prefixes = LinePrefixes::default();
            prefixes.build(Stamp::now().as_str(), 7, "cli 127.0.0.1:1");
            let mut lines = Lines::default();
            for i in 0..50 {
                // Newlines inside arguments and replies are escaped: one line each.
                let arg = Bytes::from(format!("k\n{i}"));
                lines.command(&prefixes, &[Bytes::from_static(b"GET"), arg], &[]);
                lines.reply(&prefixes, &Frame::Bulk(Bytes::from_static(b"a\nb")));
                if i % 7 == 0 {
                    log.send(&mut lines).await;
                    assert!(lines.is_empty());
                }
            }
            log.send(&mut lines).await;
            log.system("done").await;
            log.flush().await;
            assert_eq!(log.counters().written_lines.load(Relaxed), 101, "{name}");
            let text = std::fs::read(&path).unwrap();
            if max_size.is_none() {
                assert_eq!(count_lines(&text), 101);
            } else {
                assert!(text.len() <= 700 && text.ends_with(b"\n"), "{name}");
            }
            log.close().await;
            join.await.unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stamps_within_a_second_patch_the_milliseconds() {
        // Two stamps in a row, on one thread: the second comes from the cached second.
        for _ in 0..3 {
            let before = SystemTime::now();
            let a = Stamp::now();
            let after = SystemTime::now();
            let b = Stamp::now();
            let later = SystemTime::now();
            assert!(
                timestamp(before).as_str() <= a.as_str() && a.as_str() <= timestamp(after).as_str()
            );
            assert!(a.as_str() <= b.as_str() && b.as_str() <= timestamp(later).as_str());
        }
    }

    fn raw_leaf() -> impl proptest::strategy::Strategy<Value = Frame> {
        use proptest::prelude::*;
        let text = proptest::collection::vec(0x20u8..0x7f, 0..20).prop_map(Bytes::from);
        prop_oneof![
            text.clone().prop_map(Frame::Simple),
            text.clone().prop_map(Frame::Error),
            any::<i64>().prop_map(Frame::Integer),
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(|v| Frame::Bulk(v.into())),
            Just(Frame::Null),
            Just(Frame::NullArray),
            any::<bool>().prop_map(Frame::Boolean),
            (-1000i64..1000).prop_map(|n| Frame::Double(n as f64 / 8.0)),
        ]
    }

    fn raw_frame() -> impl proptest::strategy::Strategy<Value = Frame> {
        use proptest::prelude::*;
        raw_leaf().prop_recursive(12, 400, 40, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..40).prop_map(Frame::Array),
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Frame::Array),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..20)
                    .prop_map(Frame::Map),
                proptest::collection::vec(inner.clone(), 0..20).prop_map(Frame::Set),
                proptest::collection::vec(inner, 0..20).prop_map(Frame::Push),
            ]
        })
    }

    #[test]
    fn raw_replies_render_without_decoding_the_unshown_part() {
        // 100 elements, only 16 of them valid bulk strings: rendering must stop after 16.
        let mut raw = b"*100\r\n".to_vec();
        for i in 0..16 {
            raw.extend_from_slice(format!("${}\r\n{i}\r\n", i.to_string().len()).as_bytes());
        }
        raw.extend_from_slice(b"junk that is never read");
        let mut buf = Vec::new();
        render_frame(&mut buf, &Frame::Raw(raw.into()), 0);
        let want = (0..16)
            .map(|i| format!("\"{i}\""))
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            format!("[{want}, ... (100 elements)]")
        );
        // Not one whole frame: what the decoder says.
        let mut buf = Vec::new();
        render_frame(&mut buf, &Frame::Raw(Bytes::from_static(b"$5\r\nab")), 0);
        assert_eq!(buf, b"(error) ERR malformed raw reply");
    }

    proptest::proptest! {
        #[test]
        fn arguments_show_as_the_reference_escaping_does(
            a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            printable in proptest::collection::vec(0x20u8..0x7f, 0..200),
        ) {
            for a in [a, printable] {
                let mut buf = Vec::new();
                push_arg(&mut buf, &a);
                proptest::prop_assert_eq!(&buf, &shown_reference(&a));
            }
        }

        #[test]
        fn raw_replies_render_as_their_decoded_frames(f in raw_frame(), resp3: bool) {
            use confab_protocol::Protocol;
            let proto = if resp3 { Protocol::Resp3 } else { Protocol::Resp2 };
            let mut enc = bytes::BytesMut::new();
            confab_protocol::encode(&f, proto, &mut enc);
            let raw = enc.freeze();
            // render_raw itself, not render_frame: its fallback would hide a walk that fails.
            let mut from_raw = Vec::new();
            let end = render_raw(Some(&mut from_raw), &raw, 0, 0, true);
            proptest::prop_assert_eq!(end, Some(raw.len()));
            let mut decoded = Vec::new();
            render_frame(&mut decoded, &Frame::decode_raw(&raw), 0);
            proptest::prop_assert_eq!(
                String::from_utf8_lossy(&from_raw),
                String::from_utf8_lossy(&decoded)
            );
        }
    }

    #[test]
    fn redaction() {
        let mut buf = Vec::new();
        let args = [Bytes::from_static(b"AUTH"), Bytes::from_static(b"secret")];
        push_command(&mut buf, "T", 1, "x", &args, &[1]);
        let text = String::from_utf8(buf).unwrap();
        assert!(!text.contains("secret"));
        assert!(text.contains("AUTH (redacted)"));
    }
}
