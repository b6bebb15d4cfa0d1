//! Differential tests: every script in `tests/diff/*.txt` runs against confab (in-process)
//! and against a real `redis-server` 7 started by the test, and each reply's raw bytes must
//! be identical.
//!
//! When `redis-server` is not on `PATH` the test prints `SKIPPED: redis-server not installed`
//! and passes (CI installs it).
//!
//! # Script format
//!
//! One command per line in redis-cli syntax (split with Redis's inline rules, so `"quoted
//! \x00 strings"` work); blank lines and lines starting with `#` are ignored. Lines starting
//! with `!` are directives:
//!
//! - `!sorted` — the next command's reply has an unspecified order (KEYS, SCAN): every array
//!   of plain elements in it is sorted on both sides before comparing.
//! - `!skip-reply` — the next command's reply legitimately differs (ids, times): only check
//!   that both are errors or both are not.
//! - `!type-only` — the next command's reply differs by nature (INFO's fields): compare only
//!   the reply's type byte (a RESP3 verbatim string `=` is not a bulk string `$`).
//! - `!resp3` / `!resp2` — switch both connections with `HELLO 3` / `HELLO 2` (the replies
//!   carry the connection id, so they are compared like `!skip-reply`).
//! - `!inline` — send the next command as an inline line instead of a RESP array.
//! - `!replies N` — the next command answers with N frames (SUBSCRIBE a b: one per channel);
//!   all of them are read and compared as one byte string (`!sorted` and `!skip-reply` then
//!   look at the last frame only). `!replies 0`: the command answers nothing (CLIENT REPLY
//!   OFF); the next command's reply shows anything sent by mistake.
//! - `!events` — compare the keyspace notifications each server published since the last
//!   `!events` (or the script's start), in order. A script with this directive gets a third
//!   connection per server, subscribed to `__key*__:*` before the first command; at each
//!   `!events` a sentinel is published to it, and what arrived before the sentinel is
//!   compared. (The script turns notifications on itself with CONFIG SET.)
//!
//! Each script gets a fresh connection to each server after a `FLUSHALL`, so scripts are
//! independent. Every script runs even after a mismatch; all mismatches are reported at the
//! end with file, line, command and both replies.

mod common;

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use confab_protocol::{encode, encode_command, parse_frame, split_inline, Frame, Limits};
use confab_protocol::{BytesMut, ParseError, Protocol};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one reply may take before the script is declared stuck.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `redis-server` may take to answer its first PING.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` child process, killed when dropped.
struct RedisServer {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch directory for redis-server's working files, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The installed `redis-server`'s version (`7.0.15`), or `None` if it cannot be run.
fn redis_server_version() -> Option<String> {
    let out = Command::new("redis-server")
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let version = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("v="))
        .unwrap_or("unknown");
    Some(version.to_string())
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let l = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

impl RedisServer {
    /// Start `redis-server` on a free port with persistence off and wait until it answers
    /// PING. A port taken between probing and starting is retried on another one.
    async fn start() -> RedisServer {
        let mut last_err = String::new();
        for attempt in 0..3 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "confab-diff-{}-{port}-{attempt}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).expect("create redis-server work dir");
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string()])
                .args(["--bind", "127.0.0.1"])
                .args(["--save", ""])
                .args(["--appendonly", "no"])
                .args(["--daemonize", "no"])
                .arg("--dir")
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let mut server = RedisServer {
                child,
                port,
                _dir: TempDir(dir),
            };
            match server.wait_ready().await {
                Ok(()) => return server,
                Err(e) => last_err = e,
            }
        }
        panic!("redis-server did not start: {last_err}");
    }

    /// Poll with PING until `+PONG` arrives, the child exits, or the deadline passes.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut pause = Duration::from_millis(5);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("redis-server exited early: {status}"));
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)).await {
                if s.write_all(b"PING\r\n").await.is_ok() {
                    let mut buf = [0u8; 7];
                    let read = tokio::time::timeout(Duration::from_secs(1), s.read_exact(&mut buf));
                    if matches!(read.await, Ok(Ok(_))) && &buf == b"+PONG\r\n" {
                        return Ok(());
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err("no PONG before the deadline".into());
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

/// One connection and its unparsed input.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    proto: Protocol,
}

impl Conn {
    async fn open(addr: (&str, u16)) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            stream,
            buf: BytesMut::new(),
            proto: Protocol::Resp2,
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| format!("write failed: {e}"))
    }

    /// Read `n` reply frames: the last one parsed and all their raw bytes.
    async fn replies(&mut self, n: usize) -> Result<(Frame, Vec<u8>), String> {
        if n == 0 {
            // A command that answers nothing (CLIENT REPLY OFF): a stray reply would show up
            // as the next command's.
            return Ok((Frame::Null, Vec::new()));
        }
        let (mut frame, mut raw) = self.reply().await?;
        for _ in 1..n {
            let (f, r) = self.reply().await?;
            frame = f;
            raw.extend_from_slice(&r);
        }
        Ok((frame, raw))
    }

    /// Read exactly one reply frame: its parsed form and its raw bytes.
    async fn reply(&mut self) -> Result<(Frame, Vec<u8>), String> {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            match parse_frame(&self.buf, &Limits::default()) {
                Ok((frame, n)) => {
                    let raw = self.buf.split_to(n).to_vec();
                    return Ok((frame, raw));
                }
                Err(ParseError::Incomplete) => {}
                Err(e) => return Err(format!("unparsable reply ({e}): {}", show(&self.buf))),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout(left, self.stream.read(&mut chunk)).await {
                Err(_) => return Err(format!("no reply within {REPLY_TIMEOUT:?}")),
                Ok(Err(e)) => return Err(format!("read failed: {e}")),
                Ok(Ok(0)) => return Err("connection closed".into()),
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// Replies longer than this are shown only around their first difference.
const SHOW_MAX: usize = 240;

/// Bytes shown escaped, for failure messages.
fn show(b: &[u8]) -> String {
    show_from(b, 0)
}

/// Bytes shown escaped, at most [`SHOW_MAX`] of them from about `at` on.
fn show_from(b: &[u8], at: usize) -> String {
    if b.len() <= SHOW_MAX {
        return format!("\"{}\"", b.escape_ascii());
    }
    let start = at.saturating_sub(SHOW_MAX / 4).min(b.len());
    let end = (start + SHOW_MAX).min(b.len());
    format!(
        "({} bytes) {}\"{}\"{}",
        b.len(),
        if start > 0 { "..." } else { "" },
        b[start..end].escape_ascii(),
        if end < b.len() { "..." } else { "" }
    )
}

/// Both replies shown, long ones cut around the first byte where they differ.
fn show_pair(a: &[u8], b: &[u8]) -> (String, String) {
    let at = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    (show_from(a, at), show_from(b, at))
}

/// What to compare for one command.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Compare {
    Bytes,
    Sorted,
    ErrorOnly,
    /// The reply's type byte only (`$`, `=`, `%`, ...): for contents that differ by nature.
    TypeOnly,
}

/// One step of a script.
struct Step {
    line: usize,
    text: String,
    args: Vec<confab_protocol::Bytes>,
    inline: bool,
    /// Frames the command answers with (1 but for `!replies N`).
    replies: usize,
    compare: Compare,
    /// Set by `!resp3` / `!resp2`: the protocol both connections use from this step on.
    switch_to: Option<Protocol>,
    /// `!events`: compare the notifications so far (no command).
    events: bool,
}

fn parse_script(path: &Path, src: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut compare = Compare::Bytes;
    let mut inline = false;
    let mut replies = 1;
    for (i, raw) in src.lines().enumerate() {
        let line = i + 1;
        let text = raw.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let at = || format!("{}:{line}", path.display());
        match text {
            "!sorted" => compare = Compare::Sorted,
            "!skip-reply" => compare = Compare::ErrorOnly,
            "!type-only" => compare = Compare::TypeOnly,
            "!inline" => inline = true,
            d if d.starts_with("!replies ") => {
                replies = d["!replies ".len()..]
                    .trim()
                    .parse()
                    .ok()
                    .unwrap_or_else(|| panic!("{}: bad {d}", at()));
            }
            "!resp3" | "!resp2" => {
                let (ver, proto) = if text == "!resp3" {
                    ("3", Protocol::Resp3)
                } else {
                    ("2", Protocol::Resp2)
                };
                steps.push(Step {
                    line,
                    text: format!("HELLO {ver}"),
                    args: vec!["HELLO".into(), ver.into()],
                    inline: false,
                    replies: 1,
                    compare: Compare::ErrorOnly,
                    switch_to: Some(proto),
                    events: false,
                });
            }
            "!events" => steps.push(Step {
                line,
                text: text.to_string(),
                args: Vec::new(),
                inline: false,
                replies: 0,
                compare: Compare::Bytes,
                switch_to: None,
                events: true,
            }),
            d if d.starts_with('!') => panic!("{}: unknown directive {d}", at()),
            _ => {
                let args = split_inline(text.as_bytes())
                    .unwrap_or_else(|| panic!("{}: unbalanced quotes", at()));
                steps.push(Step {
                    line,
                    text: text.to_string(),
                    args,
                    inline: std::mem::take(&mut inline),
                    replies: std::mem::replace(&mut replies, 1),
                    compare: std::mem::replace(&mut compare, Compare::Bytes),
                    switch_to: None,
                    events: false,
                });
            }
        }
    }
    steps
}

/// Sort, recursively, every array or set whose elements are all scalars.
fn sort_frame(f: &mut Frame) {
    match f {
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            items.iter_mut().for_each(sort_frame);
            let scalar = |x: &Frame| {
                !matches!(
                    x,
                    Frame::Array(_) | Frame::Set(_) | Frame::Push(_) | Frame::Map(_)
                )
            };
            if items.iter().all(scalar) {
                items.sort_by_cached_key(|x| x.to_bytes(Protocol::Resp3).to_vec());
            }
        }
        Frame::Map(pairs) => pairs.iter_mut().for_each(|(k, v)| {
            sort_frame(k);
            sort_frame(v);
        }),
        _ => {}
    }
}

/// The bytes to compare for a reply under `compare`.
fn normalized(frame: &Frame, raw: &[u8], compare: Compare, proto: Protocol) -> Vec<u8> {
    match compare {
        Compare::Bytes => raw.to_vec(),
        Compare::Sorted => {
            let mut f = frame.clone();
            sort_frame(&mut f);
            let mut out = BytesMut::new();
            encode(&f, proto, &mut out);
            out.to_vec()
        }
        Compare::TypeOnly => format!("<a reply of type {:?}>", raw[0] as char).into_bytes(),
        Compare::ErrorOnly => {
            if frame.is_error() {
                b"<an error>".to_vec()
            } else {
                b"<not an error>".to_vec()
            }
        }
    }
}

/// The keyspace notifications `sub` received until a sentinel that `c` publishes now, as
/// `channel message` lines (or one line saying what went wrong).
async fn events_until_sentinel(c: &mut Conn, sub: &mut Conn) -> Vec<String> {
    const SENTINEL: &str = "__keyevent@99__:sentinel";
    let mut out = BytesMut::new();
    encode_command(&["PUBLISH", SENTINEL, "end"], &mut out);
    if let Err(e) = c.send(&out).await {
        return vec![format!("<{e}>")];
    }
    if let Err(e) = c.reply().await {
        return vec![format!("<{e}>")];
    }
    let mut seen = Vec::new();
    loop {
        let frame = match sub.reply().await {
            Ok((f, _)) => f,
            Err(e) => {
                seen.push(format!("<{e}>"));
                return seen;
            }
        };
        let text = |f: &Frame| match f {
            Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => format!("{other:?}"),
        };
        match &frame {
            Frame::Array(items) | Frame::Push(items) if items.len() == 4 => {
                let (channel, message) = (text(&items[2]), text(&items[3]));
                if channel == SENTINEL {
                    return seen;
                }
                seen.push(format!("{channel} {message}"));
            }
            other => seen.push(format!("<unexpected {other:?}>")),
        }
    }
}

/// Run one script against both servers; return its mismatches.
async fn run_script(path: &Path, confab: (&str, u16), redis: (&str, u16)) -> (usize, Vec<String>) {
    let src = std::fs::read_to_string(path).expect("read script");
    // Reported as `tests/diff/<name>.txt`.
    let path = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path);
    let steps = parse_script(path, &src);
    let mut failures = Vec::new();
    let mut conns = [Conn::open(confab).await, Conn::open(redis).await];
    for c in &mut conns {
        let mut out = BytesMut::new();
        encode_command(&["FLUSHALL"], &mut out);
        c.send(&out).await.expect("send FLUSHALL");
        let (_, raw) = c.reply().await.expect("FLUSHALL reply");
        assert_eq!(raw, b"+OK\r\n", "FLUSHALL before {}", path.display());
    }
    // With `!events`: a subscriber per server for the keyspace notifications.
    let mut subs = Vec::new();
    if steps.iter().any(|s| s.events) {
        for addr in [confab, redis] {
            let mut sub = Conn::open(addr).await;
            let mut out = BytesMut::new();
            encode_command(&["PSUBSCRIBE", "__key*__:*"], &mut out);
            sub.send(&out).await.expect("send PSUBSCRIBE");
            sub.reply().await.expect("PSUBSCRIBE reply");
            subs.push(sub);
        }
    }
    for step in &steps {
        if step.events {
            let here = format!("{}:{}: !events", path.display(), step.line);
            let mut seen: Vec<Vec<String>> = Vec::new();
            for (c, sub) in conns.iter_mut().zip(subs.iter_mut()) {
                seen.push(events_until_sentinel(c, sub).await);
            }
            if seen[0] != seen[1] {
                failures.push(format!(
                    "{here}\n    confab: {:?}\n    redis:  {:?}",
                    seen[0], seen[1]
                ));
            }
            continue;
        }
        let mut out = BytesMut::new();
        if step.inline {
            out.extend_from_slice(step.text.as_bytes());
            out.extend_from_slice(b"\r\n");
        } else {
            encode_command(&step.args, &mut out);
        }
        let mut got: Vec<Result<(Frame, Vec<u8>), String>> = Vec::new();
        for c in &mut conns {
            let r = match c.send(&out).await {
                Ok(()) => c.replies(step.replies).await,
                Err(e) => Err(e),
            };
            got.push(r);
        }
        let here = format!("{}:{}: {}", path.display(), step.line, step.text);
        match (&got[0], &got[1]) {
            (Ok((cf, craw)), Ok((rf, rraw))) => {
                let proto = conns[1].proto;
                let c = normalized(cf, craw, step.compare, proto);
                let r = normalized(rf, rraw, step.compare, proto);
                if c != r {
                    let (cs, rs) = show_pair(craw, rraw);
                    failures.push(format!("{here}\n    confab: {cs}\n    redis:  {rs}"));
                }
            }
            (c, r) => {
                let fmt = |x: &Result<(Frame, Vec<u8>), String>| match x {
                    Ok((_, raw)) => show(raw),
                    Err(e) => format!("<{e}>"),
                };
                failures.push(format!(
                    "{here}\n    confab: {}\n    redis:  {}\n    (script abandoned)",
                    fmt(c),
                    fmt(r)
                ));
                return (steps.len(), failures);
            }
        }
        if let Some(p) = step.switch_to {
            conns.iter_mut().for_each(|c| c.proto = p);
        }
    }
    (steps.len(), failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_match_redis_byte_for_byte() {
    let Some(version) = redis_server_version() else {
        // Written to stderr directly, not with eprintln!, so the test harness does not
        // capture it: a skipped comparison must be visible in a passing run.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: redis-server not installed; differential tests not run \
             (apt-get install redis-server)"
        );
        return;
    };
    let redis = RedisServer::start().await;
    let confab = TestServer::start().await;
    let confab_port = confab.addr.port();

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diff");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read tests/diff")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no scripts in {}", dir.display());

    let mut commands = 0;
    let mut failures = Vec::new();
    for script in &scripts {
        let (n, f) = run_script(
            script,
            ("127.0.0.1", confab_port),
            ("127.0.0.1", redis.port),
        )
        .await;
        commands += n;
        failures.extend(f);
    }
    println!(
        "differential: {} scripts, {commands} commands, {} mismatches (redis-server {version})",
        scripts.len(),
        failures.len()
    );
    confab.stop().await;
    drop(redis);
    assert!(
        failures.is_empty(),
        "{} mismatches between confab and redis-server {version} (the corpus follows 7.0.15):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
