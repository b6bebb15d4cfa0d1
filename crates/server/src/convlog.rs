//! The conversation log: one file recording every exchange, written by one task.
//!
//! DESIGN. Connections format their lines (client commands, server replies, system events)
//! into a batch buffer while they run a pipeline batch, stamping them with the batch's time,
//! and hand the whole batch to the writer through a bounded channel with an awaiting send. If
//! the writer cannot keep up the channel fills and connections wait: backpressure, never a
//! silently lost line. Events raised where awaiting is impossible (a connection being dropped)
//! use `try_send`; if that fails the lines are counted in `dropped_lines`, reported by INFO and
//! written to the log as a SYSTEM line once the writer catches up. The writer buffers, flushes
//! at least every second and at close, rotates at a size limit, and survives write errors
//! (a full disk): it reports them through tracing and INFO, counts the lines it lost, and keeps
//! retrying on later batches.
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
use tokio::sync::{mpsc, oneshot};

use crate::config::{Config, LogMode};

/// Batches the channel holds before senders wait.
const CHANNEL_BATCHES: usize = 4096;
/// How often buffered lines reach the file at the latest.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Longest argument or reply text written in full; longer ones are cut with their length.
pub const MAX_SHOWN: usize = 128;
/// Most array elements shown in a reply line.
const MAX_ELEMENTS_SHOWN: usize = 16;

enum Msg {
    Lines(Vec<u8>),
    /// Sent every [`FLUSH_INTERVAL`] by a ticker so buffered lines reach the file in time.
    Tick,
    Flush(oneshot::Sender<()>),
}

/// Counters shared between the handle and the writer, for INFO.
#[derive(Default, Debug)]
pub struct LogCounters {
    /// Lines written to the file.
    pub written_lines: AtomicU64,
    /// Lines lost (channel full in a non-waiting context, or a write error).
    pub dropped_lines: AtomicU64,
    /// Write or flush errors seen.
    pub write_errors: AtomicU64,
}

/// Handle to the conversation log; cheap to clone. A disabled log ignores everything.
#[derive(Clone, Debug)]
pub struct ConvLog {
    tx: Option<mpsc::Sender<Msg>>,
    counters: Arc<LogCounters>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl ConvLog {
    /// A log that records nothing.
    pub fn disabled() -> Self {
        ConvLog {
            tx: None,
            counters: Arc::default(),
            path: None,
        }
    }

    /// Open the file as configured and start the writer task. Must be called within a tokio
    /// runtime. Returns the handle and the writer's join handle, which completes after
    /// [`ConvLog::close`] once everything is on disk.
    pub fn start(config: &Config) -> io::Result<(ConvLog, tokio::task::JoinHandle<()>)> {
        let Some(path) = config.conversation_log.clone() else {
            return Ok((ConvLog::disabled(), tokio::spawn(async {})));
        };
        let file = open(&path, config.conversation_log_mode)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        let counters = Arc::new(LogCounters::default());
        let writer = Writer {
            path: path.clone(),
            out: io::BufWriter::with_capacity(256 * 1024, file),
            size,
            max_size: config.conversation_log_max_size,
            counters: counters.clone(),
            failing: false,
            reported_drops: 0,
        };
        let join = tokio::task::spawn_blocking(move || writer.run(rx));
        // The ticker holds only a weak sender, so it never keeps the writer alive.
        let weak = tx.downgrade();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_INTERVAL);
            loop {
                tick.tick().await;
                let Some(tx) = weak.upgrade() else { break };
                if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(Msg::Tick) {
                    break;
                }
            }
        });
        Ok((
            ConvLog {
                tx: Some(tx),
                counters,
                path: Some(path),
            },
            join,
        ))
    }

    /// Whether lines are being recorded.
    pub fn is_on(&self) -> bool {
        self.tx.is_some()
    }

    /// The file path, if on.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The shared counters.
    pub fn counters(&self) -> &LogCounters {
        &self.counters
    }

    /// Send a batch of already formatted lines, waiting if the writer is behind.
    pub async fn send(&self, lines: Vec<u8>) {
        if let Some(tx) = &self.tx {
            if lines.is_empty() {
                return;
            }
            let n = count_lines(&lines);
            if tx.send(Msg::Lines(lines)).await.is_err() {
                self.counters.dropped_lines.fetch_add(n, Relaxed);
            }
        }
    }

    /// Send without waiting (for contexts that cannot await); counts the lines if it fails.
    pub fn try_send(&self, lines: Vec<u8>) {
        if let Some(tx) = &self.tx {
            let n = count_lines(&lines);
            if tx.try_send(Msg::Lines(lines)).is_err() {
                self.counters.dropped_lines.fetch_add(n, Relaxed);
            }
        }
    }

    /// Record a system event now.
    pub async fn system(&self, text: &str) {
        if self.is_on() {
            let mut buf = Vec::new();
            push_system(&mut buf, &timestamp(SystemTime::now()), text);
            self.send(buf).await;
        }
    }

    /// Wait until everything sent so far is written and flushed.
    pub async fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (done, wait) = oneshot::channel();
            if tx.send(Msg::Flush(done)).await.is_ok() {
                let _ = wait.await;
            }
        }
    }

    /// Flush and stop the writer (the writer ends once every handle is dropped or closed).
    pub async fn close(mut self) {
        self.flush().await;
        self.tx = None;
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
    out: io::BufWriter<std::fs::File>,
    size: u64,
    max_size: Option<u64>,
    counters: Arc<LogCounters>,
    failing: bool,
    reported_drops: u64,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut dirty = false;
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                Msg::Lines(lines) => {
                    self.write(&lines);
                    dirty = true;
                }
                Msg::Tick => {
                    if dirty {
                        self.flush();
                        dirty = false;
                    }
                }
                Msg::Flush(done) => {
                    self.flush();
                    dirty = false;
                    let _ = done.send(());
                }
            }
        }
        self.flush();
    }

    fn write(&mut self, lines: &[u8]) {
        self.report_drops();
        if let Some(max) = self.max_size {
            if self.size > 0 && self.size + lines.len() as u64 > max {
                self.rotate();
            }
        }
        match self.out.write_all(lines) {
            Ok(()) => {
                self.size += lines.len() as u64;
                self.counters
                    .written_lines
                    .fetch_add(count_lines(lines), Relaxed);
                self.failing = false;
            }
            Err(e) => self.on_error(&e, count_lines(lines)),
        }
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
            let _ = self.out.write_all(&buf);
        }
    }

    fn flush(&mut self) {
        if let Err(e) = self.out.flush() {
            // BufWriter keeps unwritten bytes; they are retried on the next flush. Count the
            // failure once per failing episode.
            self.on_error(&e, 0);
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
        self.flush();
        let mut rotated = self.path.clone().into_os_string();
        rotated.push(".1");
        if let Err(e) = std::fs::rename(&self.path, &rotated) {
            tracing::error!(error = %e, "conversation log rotation failed");
        }
        match open(&self.path, LogMode::Truncate) {
            Ok(f) => {
                self.out = io::BufWriter::with_capacity(256 * 1024, f);
                self.size = 0;
            }
            Err(e) => self.on_error(&e, 0),
        }
    }
}

/// RFC 3339 UTC timestamp with milliseconds, e.g. `2026-11-23T07:21:35.123Z`.
pub fn timestamp(t: SystemTime) -> String {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let secs = d.as_secs();
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
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Append `<ts> SYSTEM: <text>\n`.
pub fn push_system(buf: &mut Vec<u8>, ts: &str, text: &str) {
    buf.extend_from_slice(ts.as_bytes());
    buf.extend_from_slice(b" SYSTEM: ");
    buf.extend_from_slice(text.as_bytes());
    buf.push(b'\n');
}

/// Append `<ts> Client <id> (<label>): <args>\n`, with `redact_from` hiding arguments from that
/// index on (passwords).
pub fn push_command(
    buf: &mut Vec<u8>,
    ts: &str,
    id: u64,
    label: &str,
    args: &[Bytes],
    redact: &[usize],
) {
    buf.extend_from_slice(ts.as_bytes());
    buf.extend_from_slice(b" Client ");
    buf.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    buf.extend_from_slice(b" (");
    buf.extend_from_slice(label.as_bytes());
    buf.extend_from_slice(b"): ");
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

/// Append `<ts> Server -> <id>: <reply>\n`.
pub fn push_reply(buf: &mut Vec<u8>, ts: &str, id: u64, reply: &Frame) {
    buf.extend_from_slice(ts.as_bytes());
    buf.extend_from_slice(b" Server -> ");
    buf.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    buf.extend_from_slice(b": ");
    render_frame(buf, reply, 0);
    buf.push(b'\n');
}

/// A name (channel, key) as the log shows it: bare if plain text, else quoted.
pub fn shown(a: &[u8]) -> String {
    let mut buf = Vec::new();
    push_arg(&mut buf, a);
    String::from_utf8_lossy(&buf).into_owned()
}

/// An argument as typed: bare if it is plain printable text, else quoted and escaped.
fn push_arg(buf: &mut Vec<u8>, a: &[u8]) {
    let plain = !a.is_empty()
        && a.len() <= MAX_SHOWN
        && a.iter()
            .all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\');
    if plain {
        buf.extend_from_slice(a);
    } else {
        push_quoted(buf, a);
    }
}

/// `"text"` with escapes, cut at [`MAX_SHOWN`] bytes with the full length shown.
fn push_quoted(buf: &mut Vec<u8>, a: &[u8]) {
    let shown = &a[..a.len().min(MAX_SHOWN)];
    buf.push(b'"');
    for &c in shown {
        match c {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            c if (0x20..0x7f).contains(&c) => buf.push(c),
            c => {
                let _ = write!(Adapter(buf), "\\x{c:02x}");
            }
        }
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
