//! Hostile clients: garbage, bad lengths, wrong type bytes, EOF mid-frame, oversized inline
//! lines, unbalanced quotes, a thousand abrupt disconnects, a byte-at-a-time trickle, a client
//! that pipelines without reading, and HTTP requests.
//!
//! Every case checks the exact bytes Redis 7 would send (where it sends any), that the
//! connection is closed when Redis closes it, and afterwards that the server is alive and
//! serves a fresh client normally, with the confab client and with the `redis` crate.
//! Memory is checked through the test process's own VmRSS, since the server runs in-process.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use confab_client::{Client, Frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A tiny deterministic RNG (xorshift64), so garbage is reproducible from its seed.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Encode a command as a RESP multibulk.
fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Unique suffix for the keys each liveness check writes.
static PROBE: AtomicU64 = AtomicU64::new(0);

/// The server answers a new client normally: PING, SET/GET with the confab client, and
/// SET/GET with the `redis` crate.
async fn assert_serves(srv: &TestServer) {
    let n = PROBE.fetch_add(1, Ordering::Relaxed);
    let mut c = tokio::time::timeout(Duration::from_secs(5), srv.client())
        .await
        .expect("could not connect within 5s");
    assert_eq!(cmd(&mut c, &["PING"]).await, simple("PONG"));
    let key = format!("alive:{n}");
    let val = format!("value-{n}");
    assert_eq!(cmd(&mut c, &["SET", &key, &val]).await, simple("OK"));
    assert_eq!(cmd(&mut c, &["GET", &key]).await, bulk(&val));

    let check = async {
        let mut con = srv.redis().await;
        let rkey = format!("alive:redis:{n}");
        let _: () = redis::cmd("SET")
            .arg(&rkey)
            .arg(&val)
            .query_async(&mut con)
            .await
            .unwrap();
        let got: String = redis::cmd("GET")
            .arg(&rkey)
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(got, val);
        let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
        assert_eq!(pong, "PONG");
    };
    tokio::time::timeout(Duration::from_secs(10), check)
        .await
        .expect("redis crate client not served within 10s");
}

/// Write `wire`, expect exactly `want` back, then the server's close.
async fn expect_reply_then_close(srv: &TestServer, wire: &[u8], want: &[u8]) {
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(wire).await.unwrap();
    // Asking for more than `want` returns early only because the server closed.
    let got = read_raw(&mut s, want.len() + 64).await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(want),
        "reply to {:?}",
        String::from_utf8_lossy(wire)
    );
    assert!(
        closed_by_server(&mut s).await,
        "connection not closed after {:?}",
        String::from_utf8_lossy(wire)
    );
}

/// `connected_clients` from INFO clients (the asking client included).
async fn connected_clients(c: &mut Client) -> usize {
    info_field(c, "clients", "connected_clients")
        .await
        .parse()
        .unwrap()
}

/// Poll INFO clients on `c` until `connected_clients` is `want` or `limit` passes; returns the
/// last value seen.
async fn wait_for_clients(c: &mut Client, want: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let n = connected_clients(c).await;
        if n == want || Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn info_field(c: &mut Client, section: &str, field: &str) -> String {
    info_value(&info(c, section).await, field).to_string()
}

/// Resident memory of this process (the server runs inside it), in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kb * 1024
}

/// RESP-flavoured garbage: lengths (negative, huge, ordinary), type bytes, CRLFs, quotes and
/// command words, so the parser's multibulk and inline paths both see nonsense.
fn token_soup(rng: &mut XorShift, len: usize) -> Vec<u8> {
    // No command here can stop, flush or reconfigure the server.
    const WORDS: &[&[u8]] = &[
        b"GET", b"SET", b"PING", b"ECHO", b"INCR", b"MGET", b"DEL", b"EXISTS", b"MULTI", b"EXEC",
        b"k", b"v", b"\"", b"'", b"\\x", b" ", b"\t", b"\0",
    ];
    let mut out = Vec::with_capacity(len + 32);
    while out.len() < len {
        match rng.below(10) {
            0 => out.push(b'*'),
            1 => out.push(b'$'),
            2 => out.push(b'-'),
            3 => {
                let n = match rng.below(4) {
                    0 => rng.next() % 10,
                    1 => rng.next() % 100_000,
                    2 => rng.next(),
                    _ => 536_870_912 + rng.next() % 10,
                };
                out.extend_from_slice(n.to_string().as_bytes());
            }
            4 | 5 => out.extend_from_slice(b"\r\n"),
            6 => out.push(if rng.below(2) == 0 { b'\r' } else { b'\n' }),
            7 | 8 => out.extend_from_slice(WORDS[rng.below(WORDS.len())]),
            _ => out.push(rng.next() as u8),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_garbage_never_kills_the_server() {
    let srv = TestServer::start().await;
    let mut tasks = Vec::new();
    for i in 0..48u64 {
        let addr = srv.addr;
        tasks.push(tokio::spawn(async move {
            let seed = 0x9e37_79b9_7f4a_7c15 ^ (i * 0x1000_0001);
            let mut rng = XorShift::new(seed);
            let size = 4096 + rng.below(8192);
            let garbage: Vec<u8> = match i % 4 {
                // Uniform random bytes (mostly the inline path).
                0 => (0..size).map(|_| rng.next() as u8).collect(),
                // Random bytes behind a multibulk start.
                1 => {
                    let mut g = b"*3\r\n$3\r\nSET\r\n".to_vec();
                    g.extend((0..size).map(|_| rng.next() as u8));
                    g
                }
                2 => token_soup(&mut rng, size),
                // Lines of random lowercase words: thousands of unknown commands and wrong
                // arities, all answered, none closing the connection.
                _ => {
                    let mut g = Vec::with_capacity(size + 16);
                    while g.len() < size {
                        let len = 1 + rng.below(8);
                        g.extend((0..len).map(|_| b'a' + rng.below(26) as u8));
                        g.extend_from_slice(match rng.below(4) {
                            0 => b"\r\n",
                            1 => b"\n",
                            _ => b" ",
                        });
                    }
                    g
                }
            };
            let mut s = TcpStream::connect(addr).await.unwrap();
            // Irregular pieces, so frames are split at every kind of boundary.
            let mut rest = &garbage[..];
            while !rest.is_empty() {
                let n = (1 + rng.below(1500)).min(rest.len());
                // The server may close early on a protocol error: then writes fail.
                if s.write_all(&rest[..n]).await.is_err() {
                    break;
                }
                rest = &rest[n..];
            }
            // After our EOF the server must close, whatever state the garbage left it in.
            let _ = s.shutdown().await;
            assert!(
                closed_by_server(&mut s).await,
                "garbage connection {i} (seed {seed:#x}) was not closed after EOF"
            );
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = srv.client().await;
    let errors: u64 = info_field(&mut c, "stats", "protocol_errors")
        .await
        .parse()
        .unwrap();
    assert!(errors > 0, "garbage produced no protocol error at all");
    // Every garbage connection is gone; only `c` is left.
    let n = wait_for_clients(&mut c, 1, Duration::from_secs(5)).await;
    assert_eq!(n, 1, "garbage connections were not all released");
    assert_serves(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lengths_get_redis_errors_then_close() {
    let srv = TestServer::start().await;
    let bulk_err: &[u8] = b"-ERR Protocol error: invalid bulk length\r\n";
    let mbulk_err: &[u8] = b"-ERR Protocol error: invalid multibulk length\r\n";
    let cases: &[(&[u8], &[u8])] = &[
        (b"*1\r\n$-5\r\n", bulk_err),
        (b"*2\r\n$3\r\nGET\r\n$-1\r\n", bulk_err),
        (b"*1\r\n$99999999999\r\n", bulk_err),
        // One past the default proto-max-bulk-len (512 MB).
        (b"*1\r\n$536870913\r\n", bulk_err),
        (b"*1\r\n$99999999999999999999999\r\n", bulk_err),
        (b"*99999999999\r\n", mbulk_err),
        (b"*2147483648\r\n", mbulk_err),
        (b"*x\r\n", mbulk_err),
    ];
    for (wire, want) in cases {
        expect_reply_then_close(&srv, wire, want).await;
    }
    // Commands before the bad frame are answered first, in the same connection.
    let mut wire = resp(&[b"PING"]);
    wire.extend_from_slice(b"*1\r\n$-5\r\n");
    let mut want = b"+PONG\r\n".to_vec();
    want.extend_from_slice(bulk_err);
    expect_reply_then_close(&srv, &wire, &want).await;
    // Like Redis, a negative multibulk count is an empty command, not an error.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"*-5\r\n*0\r\n*1\r\n$4\r\nPING\r\n")
        .await
        .unwrap();
    assert_eq!(read_raw(&mut s, 7).await, b"+PONG\r\n");
    assert_serves(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_type_byte_in_array() {
    let srv = TestServer::start().await;
    expect_reply_then_close(
        &srv,
        b"*1\r\n:5\r\n",
        b"-ERR Protocol error: expected '$', got ':'\r\n",
    )
    .await;
    // The second argument is the bad one.
    expect_reply_then_close(
        &srv,
        b"*2\r\n$4\r\nECHO\r\n+hi\r\n",
        b"-ERR Protocol error: expected '$', got '+'\r\n",
    )
    .await;
    assert_serves(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eof_mid_frame() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    let baseline = connected_clients(&mut admin).await;
    // SET eof:k with a 10-byte value of which only 3 bytes arrive.
    let partial: &[u8] = b"*3\r\n$3\r\nSET\r\n$5\r\neof:k\r\n$10\r\nabc";

    // Dropped abruptly.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(partial).await.unwrap();
    drop(s);

    // Half-closed: the server must notice the EOF and close its side, without a reply.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(partial).await.unwrap();
    s.shutdown().await.unwrap();
    assert_eq!(read_raw(&mut s, 1).await, b"", "reply to a half-sent frame");
    assert!(closed_by_server(&mut s).await);

    // EOF in the middle of a length line and of an inline line.
    for wire in [&b"*2\r\n$3"[..], b"*12", b"GET eof:"] {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        s.write_all(wire).await.unwrap();
        s.shutdown().await.unwrap();
        assert_eq!(read_raw(&mut s, 1).await, b"");
        assert!(closed_by_server(&mut s).await);
    }

    // The half-sent SET never ran.
    assert_eq!(cmd(&mut admin, &["GET", "eof:k"]).await, Frame::Null);
    let n = wait_for_clients(&mut admin, baseline, Duration::from_secs(5)).await;
    assert_eq!(n, baseline, "mid-frame EOF connections were not released");
    assert_serves(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_line_past_the_limit() {
    let srv = TestServer::start().await;
    // A long line just under the limit is a normal command.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let arg = vec![b'x'; 60_000];
    let mut line = b"ECHO ".to_vec();
    line.extend_from_slice(&arg);
    line.extend_from_slice(b"\r\n");
    s.write_all(&line).await.unwrap();
    let want = [b"$60000\r\n".to_vec(), arg, b"\r\n".to_vec()].concat();
    assert_eq!(read_raw(&mut s, want.len()).await, want);

    // Exactly 64 KB without a newline: still waiting, no reply.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(&vec![b'a'; 64 * 1024]).await.unwrap();
    let mut one = [0u8; 1];
    let quiet = tokio::time::timeout(Duration::from_millis(200), s.read(&mut one)).await;
    assert!(quiet.is_err(), "reply or close at exactly 64 KB: {quiet:?}");
    // One byte more is too big.
    s.write_all(b"a").await.unwrap();
    let want: &[u8] = b"-ERR Protocol error: too big inline request\r\n";
    assert_eq!(read_raw(&mut s, want.len() + 64).await, want);
    assert!(closed_by_server(&mut s).await);

    // A newline far beyond the limit (1 MB, more than any read can take in at once) does
    // not rescue the line.
    let mut wire = vec![b'b'; 1024 * 1024];
    wire.extend_from_slice(b"\r\n");
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    // The server may close before it has read everything; the reply must still come.
    let _ = s.write_all(&wire).await;
    let got = read_raw(&mut s, want.len() + 64).await;
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    assert!(closed_by_server(&mut s).await);

    assert_serves(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_line_of_100kb_in_one_write_is_too_big() {
    let srv = TestServer::start().await;
    let mut wire = vec![b'b'; 100 * 1024];
    wire.extend_from_slice(b"\r\n");
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let _ = s.write_all(&wire).await;
    let want: &[u8] = b"-ERR Protocol error: too big inline request\r\n";
    let got = read_raw(&mut s, want.len() + 64).await;
    assert_eq!(
        String::from_utf8_lossy(&got[..got.len().min(80)]),
        String::from_utf8_lossy(want)
    );
    assert!(closed_by_server(&mut s).await);
    assert_serves(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbalanced_quotes() {
    let srv = TestServer::start().await;
    let want: &[u8] = b"-ERR Protocol error: unbalanced quotes in request\r\n";
    for wire in [
        &b"SET k \"abc\r\n"[..],
        b"SET k 'abc\r\n",
        b"ECHO \"a\"b\r\n",
        b"ECHO \"\\\"\r\n",
    ] {
        expect_reply_then_close(&srv, wire, want).await;
    }
    // Replies to the good lines before it come first; the bad line's SET never runs.
    let wire = b"SET q 1\r\nSET q \"2\r\nSET q 3\r\n";
    let mut want2 = b"+OK\r\n".to_vec();
    want2.extend_from_slice(want);
    expect_reply_then_close(&srv, wire, &want2).await;
    let mut c = srv.client().await;
    assert_eq!(cmd(&mut c, &["GET", "q"]).await, bulk("1"));
    assert_serves(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_abrupt_connections() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    let baseline = connected_clients(&mut admin).await;
    let started = Instant::now();
    let mut socks = Vec::with_capacity(1000);
    for i in 0..1000usize {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        let wire: &[u8] = match i % 10 {
            // Half a command.
            0 | 1 => b"*3\r\n$3\r\nSET\r\n$8\r\nabrupt:k\r\n$5\r\nva",
            // A whole command whose reply is never read.
            2 | 3 => b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n",
            // Half an inline command.
            4 => b"GET abr",
            // A claimed 512 MB bulk that never comes.
            5 => b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\nxxxx",
            _ => b"",
        };
        if !wire.is_empty() {
            s.write_all(wire).await.unwrap();
        }
        if i % 2 == 0 {
            // Reset instead of FIN. A zero linger aborts at once, so the drop never blocks.
            #[allow(deprecated)]
            s.set_linger(Some(Duration::ZERO)).unwrap();
        }
        socks.push(s);
    }
    let n = wait_for_clients(&mut admin, baseline + 1000, Duration::from_secs(10)).await;
    assert_eq!(n, baseline + 1000, "not all 1000 connections were accepted");
    drop(socks);
    let n = wait_for_clients(&mut admin, baseline, Duration::from_secs(10)).await;
    assert_eq!(
        n, baseline,
        "connected_clients did not return to the baseline"
    );
    // The half-sent SET never ran.
    assert_eq!(
        cmd(&mut admin, &["EXISTS", "abrupt:k"]).await,
        Frame::Integer(0)
    );
    assert_serves(&srv).await;
    eprintln!("1000 connections in and out in {:?}", started.elapsed());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_at_a_time_client_does_not_block_others() {
    let srv = TestServer::start().await;
    let mut wire = resp(&[b"SET", b"slow:k", b"slow value"]);
    wire.extend_from_slice(b"GET slow:k\r\n");
    let total = wire.len();
    let addr = srv.addr;
    let slow = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        let (last, body) = wire.split_last().unwrap();
        for &b in body {
            s.write_all(&[b]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        // Two complete commands are in, the second lacks its final '\n': the SET's reply
        // must have arrived, and nothing for the GET yet.
        let want_set: &[u8] = b"+OK\r\n";
        assert_eq!(read_raw(&mut s, want_set.len()).await, want_set);
        let mut one = [0u8; 1];
        let quiet = tokio::time::timeout(Duration::from_millis(100), s.read(&mut one)).await;
        assert!(quiet.is_err(), "reply before the line was complete");
        s.write_all(&[*last]).await.unwrap();
        let want_get: &[u8] = b"$10\r\nslow value\r\n";
        assert_eq!(read_raw(&mut s, want_get.len()).await, want_get);
        s
    });
    // Meanwhile another client is served promptly, over and over.
    let mut c = srv.client().await;
    let mut served = 0;
    let mut worst = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !slow.is_finished() {
        assert!(Instant::now() < deadline, "slow client never finished");
        let t = Instant::now();
        assert_eq!(cmd(&mut c, &["PING"]).await, simple("PONG"));
        worst = worst.max(t.elapsed());
        served += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _s = slow.await.unwrap();
    assert!(
        served >= 10,
        "only {served} PINGs while {total} bytes trickled in"
    );
    assert!(worst < Duration::from_secs(1), "a PING took {worst:?}");
    assert_serves(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelining_without_reading_keeps_memory_bounded() {
    const MAX_BYTES: u64 = 1 << 30;
    const MAX_TIME: Duration = Duration::from_secs(5);
    const STALL: Duration = Duration::from_millis(500);
    const RSS_LIMIT: u64 = 200 * 1024 * 1024;

    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    assert_eq!(
        cmd(&mut c, &["SET", "hog:k", "0123456789abcdef"]).await,
        simple("OK")
    );
    let rss_before = rss_bytes();
    let chunk: Vec<u8> = resp(&[b"GET", b"hog:k"]).repeat(4096);
    let addr = srv.addr;
    let hog = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        let mut written = 0u64;
        let mut stalled = false;
        while written < MAX_BYTES && started.elapsed() < MAX_TIME {
            match tokio::time::timeout(STALL, s.write_all(&chunk)).await {
                Ok(Ok(())) => written += chunk.len() as u64,
                Ok(Err(e)) => panic!("server dropped the pipelining client: {e}"),
                Err(_) => {
                    stalled = true;
                    break;
                }
            }
        }
        // Keep the connection (with its unread replies) open until the caller drops it.
        (s, written, stalled)
    });
    let mut served = 0u32;
    let mut after_hog = 0u32;
    let mut worst = Duration::ZERO;
    let mut rss_peak = rss_before;
    let deadline = Instant::now() + Duration::from_secs(30);
    // Serve another client during the flood and for a while after the hog stopped writing.
    while after_hog < 20 {
        assert!(Instant::now() < deadline, "hog test ran too long");
        if hog.is_finished() {
            after_hog += 1;
        }
        let t = Instant::now();
        let key = format!("hog:other:{served}");
        assert_eq!(cmd(&mut c, &["SET", &key, "v"]).await, simple("OK"));
        assert_eq!(cmd(&mut c, &["GET", &key]).await, bulk("v"));
        worst = worst.max(t.elapsed());
        served += 1;
        rss_peak = rss_peak.max(rss_bytes());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (hog_sock, written, stalled) = hog.await.unwrap();
    rss_peak = rss_peak.max(rss_bytes());
    let grew = rss_peak.saturating_sub(rss_before);
    eprintln!(
        "hog wrote {} MB ({}), rss grew {} MB, {served} round trips, worst {worst:?}",
        written >> 20,
        if stalled { "stalled" } else { "limit reached" },
        grew >> 20
    );
    assert!(
        grew < RSS_LIMIT,
        "RSS grew by {} MB while a client pipelined {} MB without reading",
        grew >> 20,
        written >> 20
    );
    assert!(
        worst < Duration::from_secs(2),
        "a round trip took {worst:?}"
    );

    // Dropping the hog (the server is blocked writing to it) frees its connection.
    let baseline = connected_clients(&mut c).await - 1;
    drop(hog_sock);
    let n = wait_for_clients(&mut c, baseline, Duration::from_secs(10)).await;
    assert_eq!(
        n, baseline,
        "the pipelining client's connection was not released"
    );
    assert_serves(&srv).await;
    srv.stop().await;
}

/// Write `first`, read exactly `want_first`, then write `second` and expect the server to
/// close without sending anything more.
async fn reply_then_silent_close(srv: &TestServer, first: &[u8], want_first: &[u8], second: &[u8]) {
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(first).await.unwrap();
    assert_eq!(read_raw(&mut s, want_first.len()).await, want_first);
    s.write_all(second).await.unwrap();
    // Asking for one byte returns early only because the server closed.
    assert_eq!(read_raw(&mut s, 1).await, b"", "reply to {second:?}");
    assert!(closed_by_server(&mut s).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_requests_are_refused() {
    let srv = TestServer::start().await;
    // Redis runs `GET / HTTP/1.1` as an inline GET (wrong arity), then closes at `Host:`
    // without a word.
    reply_then_silent_close(
        &srv,
        b"GET / HTTP/1.1\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
        b"Host: x\r\n\r\n",
    )
    .await;
    reply_then_silent_close(&srv, b"PING\r\n", b"+PONG\r\n", b"POST / HTTP/1.1\r\n").await;
    // POST or `Host:` as the first line: closed at once, with no reply at all.
    expect_reply_then_close(
        &srv,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nPING",
        b"",
    )
    .await;
    expect_reply_then_close(&srv, b"Host: x\r\n", b"").await;
    // A whole GET request in one write is closed too (whether the GET line's error reply
    // goes out first is `http_request_in_one_write_gets_no_reply`).
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let got = read_raw(&mut s, 1024).await;
    assert!(
        b"-ERR wrong number of arguments for 'get' command\r\n".starts_with(&got),
        "unexpected reply {:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(closed_by_server(&mut s).await);
    assert_serves(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_request_in_one_write_gets_no_reply() {
    let srv = TestServer::start().await;
    expect_reply_then_close(&srv, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"").await;
    expect_reply_then_close(&srv, b"PING\r\nPOST /\r\nPING\r\n", b"").await;
    assert_serves(&srv).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_negative_random_counts_are_refused() {
    // Before the bound, SRANDMEMBER s -1000000000000 asked for 8 TB at once and the
    // allocation failure aborted the whole server.
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    cmd(&mut c, &["SADD", "s", "a"]).await;
    cmd(&mut c, &["HSET", "h", "f", "v"]).await;
    cmd(&mut c, &["ZADD", "z", "1", "m"]).await;
    for count in ["-1000000000000", "-9223372036854775807", "-10000001"] {
        for args in [
            vec!["SRANDMEMBER", "s", count],
            vec!["HRANDFIELD", "h", count],
            vec!["ZRANDMEMBER", "z", count],
            vec!["ZRANDMEMBER", "z", count, "WITHSCORES"],
        ] {
            let got = cmd(&mut c, &args).await;
            assert!(
                matches!(&got, Frame::Error(e) if e.starts_with(b"ERR value is out of range")),
                "{args:?} answered {got:?}"
            );
        }
    }
    // Counts within the bound and a missing key (an empty reply, as Redis) are fine.
    match cmd(&mut c, &["SRANDMEMBER", "s", "-100000"]).await {
        Frame::Array(v) => assert_eq!(v.len(), 100_000),
        other => panic!("SRANDMEMBER -100000 answered {other:?}"),
    }
    assert_eq!(
        cmd(&mut c, &["ZRANDMEMBER", "missing", "-1000000000000"]).await,
        Frame::Array(vec![])
    );
    assert_serves(&srv).await;
    srv.stop().await;
}
