//! `confab bench requests`: the redis-benchmark matrix, one row per test. This module owns the
//! hot path: `--threads` event-loop threads (a tokio `current_thread` runtime each) drive the
//! connections; every connection sends a pre-encoded pipeline batch (only the random key digits
//! are rewritten), reads into one reused buffer, counts complete replies with the minimal
//! scanner, and records latency (batch write to reply arrival) once per read with a count.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::output::Progress;
use super::report::{Report, Row, Tally};
use super::scan::{error_text, scan_reply, Scan};
use super::templates::{self, Batch, Rng};
use super::{handshake_commands, Common, Fatal, Limit, SetupError};

/// Flags of `confab bench requests`.
#[derive(Args, Debug, Clone)]
#[command(disable_help_flag = true)]
pub struct RequestsArgs {
    #[command(flatten)]
    pub common: Common,
    /// Comma-separated tests (redis-benchmark's names): ping (= ping_inline,ping_mbulk), set,
    /// get, incr, lpush, rpush, lpop, rpop, sadd, hset, spop, zadd, zpopmin, lrange (= the
    /// four below), lrange_100, lrange_300, lrange_500, lrange_600, mset, xadd.
    #[arg(short = 't', long = "tests", default_value = templates::DEFAULT_TESTS)]
    pub tests: String,
}

/// Run every test of -t; one row each.
pub fn run(args: &RequestsArgs) -> Result<Report, Fatal> {
    let c = &args.common;
    let tests = templates::parse_tests(&args.tests).map_err(Fatal::usage)?;
    let data = templates::value(c.data_size);
    let limit = c.limit(100_000);
    let mut report = Report {
        settings: super::output::settings(c, limit),
        ..Report::default()
    };
    let run_start = Instant::now();
    for test in tests {
        if test.needs_list {
            fill_list(c, &data)?;
        }
        let cmd = templates::encode(test.name, &data);
        let (row, lost) = run_test(c, test.name, &cmd, limit, run_start, &mut report)?;
        report.rows.push(row);
        if let Some(l) = lost {
            report.connection_lost = Some(l);
            break;
        }
    }
    Ok(report)
}

/// Push 600 elements to `mylist` before the LRANGE tests (redis-benchmark runs an LPUSH test
/// first; here it is one uncounted `LPUSH mylist v v ...` of 600 values).
fn fill_list(c: &Common, data: &[u8]) -> Result<(), Fatal> {
    let rt = super::runtime().map_err(|e| Fatal::usage(format!("runtime: {e}")))?;
    rt.block_on(async {
        let mut client = super::connect_client(c).await?;
        let mut args: Vec<&[u8]> = vec![b"LPUSH", b"mylist"];
        args.extend(std::iter::repeat_n(data, 600));
        match client.command(&args).await {
            Ok(confab_client::Frame::Error(e)) => Err(Fatal::usage(format!(
                "LPUSH mylist (filling the list for LRANGE): {}",
                String::from_utf8_lossy(&e)
            ))),
            Ok(_) => Ok(()),
            Err(e) => Err(Fatal::lost(format!("filling mylist: {e}"))),
        }
    })
}

/// State shared by every thread of one test.
struct Shared {
    issued: AtomicU64,
    done: Arc<AtomicU64>,
    max: u64,
}

impl Shared {
    /// Claim up to `want` requests; 0 when the -n budget is spent.
    #[inline]
    fn claim(&self, want: u64) -> u64 {
        let prev = self.issued.fetch_add(want, Ordering::Relaxed);
        if prev >= self.max {
            0
        } else {
            want.min(self.max - prev)
        }
    }
}

/// Run one test with all clients; returns its row and, if a connection dropped, why.
fn run_test(
    c: &Common,
    name: &str,
    cmd: &[u8],
    limit: Limit,
    run_start: Instant,
    report: &mut Report,
) -> Result<(Row, Option<String>), Fatal> {
    let shared = Arc::new(Shared {
        issued: AtomicU64::new(0),
        done: Arc::new(AtomicU64::new(0)),
        max: limit.max_requests(),
    });
    let threads = c.threads.min(c.clients);
    let barrier = Barrier::new(threads + 1);
    let total = match limit {
        Limit::Requests(n) => Some(n),
        _ => None,
    };
    let (results, seconds, samples) = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for t in 0..threads {
            let n_clients = c.clients / threads + usize::from(t < c.clients % threads);
            let shared = shared.clone();
            let barrier = &barrier;
            handles
                .push(s.spawn(move || thread_main(c, cmd, n_clients, t, limit, shared, barrier)));
        }
        barrier.wait();
        let progress = Progress::start(name, total, shared.done.clone(), run_start);
        let start = Instant::now();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("bench thread panicked"))
            .collect();
        let seconds = start.elapsed().as_secs_f64();
        (results, seconds, progress.finish())
    });
    report.samples.extend(samples);
    let mut row = Row {
        name: name.to_string(),
        seconds,
        ..Row::default()
    };
    let mut lost = None;
    let tallies = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    row.absorb(tallies, &mut lost);
    Ok((row, lost))
}

/// One event-loop thread: connect its clients, wait for the others, run, return its stats.
fn thread_main(
    c: &Common,
    cmd: &[u8],
    n_clients: usize,
    thread_no: usize,
    limit: Limit,
    shared: Arc<Shared>,
    barrier: &Barrier,
) -> Result<Tally, SetupError> {
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            barrier.wait();
            return Err(SetupError(format!("runtime: {e}")));
        }
    };
    let local = tokio::task::LocalSet::new();
    let streams = rt.block_on(async {
        let mut v = Vec::with_capacity(n_clients);
        for _ in 0..n_clients {
            v.push(open(c).await?);
        }
        Ok::<_, SetupError>(v)
    });
    barrier.wait();
    let streams = streams?;
    let stats = Rc::new(RefCell::new(Tally::default()));
    let deadline = limit.max_time().map(|d| Instant::now() + d);
    for (i, stream) in streams.into_iter().enumerate() {
        let batch = Batch::new(cmd, c.pipeline, c.keyspace);
        let seed = ((thread_no as u64) << 32) ^ (i as u64 + 1) ^ (std::process::id() as u64) << 16;
        local.spawn_local(client_loop(
            stream,
            batch,
            c.pipeline as u64,
            shared.clone(),
            stats.clone(),
            deadline,
            seed,
        ));
    }
    rt.block_on(local);
    let st = std::mem::take(&mut *stats.borrow_mut());
    Ok(st)
}

/// Connect one raw connection and do the handshake.
pub(super) async fn open(c: &Common) -> Result<TcpStream, SetupError> {
    let addr = c.addr();
    let mut s = TcpStream::connect(&addr)
        .await
        .map_err(|e| SetupError(format!("cannot connect to {addr}: {e}")))?;
    let _ = s.set_nodelay(true);
    for cmd in handshake_commands(c) {
        let mut out = confab_protocol::BytesMut::new();
        confab_protocol::encode_command(&cmd, &mut out);
        let fail = |e: std::io::Error| SetupError(format!("handshake with {addr}: {e}"));
        s.write_all(&out).await.map_err(fail)?;
        let mut buf = Vec::with_capacity(1024);
        loop {
            match scan_reply(&buf) {
                Scan::Complete { end, error: true } => {
                    return Err(SetupError(format!(
                        "{} rejected: {}",
                        cmd[0],
                        error_text(&buf, end)
                    )))
                }
                Scan::Complete { .. } => break,
                Scan::Invalid => return Err(SetupError(format!("{addr} does not speak RESP"))),
                Scan::Incomplete => {}
            }
            if s.read_buf(&mut buf).await.map_err(fail)? == 0 {
                return Err(SetupError(format!("{addr} closed the connection")));
            }
        }
    }
    Ok(s)
}

/// One connection's loop: claim a batch, patch keys, write, read until every reply is in.
async fn client_loop(
    mut stream: TcpStream,
    mut batch: Batch,
    pipeline: u64,
    shared: Arc<Shared>,
    stats: Rc<RefCell<Tally>>,
    deadline: Option<Instant>,
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0usize;
    loop {
        let t0 = Instant::now();
        if deadline.is_some_and(|d| t0 >= d) {
            return;
        }
        let k = shared.claim(pipeline);
        if k == 0 {
            return;
        }
        batch.randomize(&mut rng, k as usize);
        if let Err(e) = stream.write_all(batch.bytes(k as usize)).await {
            stats.borrow_mut().lost.get_or_insert(format!("write: {e}"));
            return;
        }
        let mut got = 0u64;
        while got < k {
            if filled == buf.len() {
                buf.resize(buf.len() * 2, 0);
            }
            let n = match stream.read(&mut buf[filled..]).await {
                Ok(0) => {
                    stats
                        .borrow_mut()
                        .lost
                        .get_or_insert("connection closed by the server".into());
                    return;
                }
                Ok(n) => n,
                Err(e) => {
                    stats.borrow_mut().lost.get_or_insert(format!("read: {e}"));
                    return;
                }
            };
            let now = Instant::now();
            filled += n;
            let mut start = 0usize;
            let mut complete = 0u64;
            let mut st = stats.borrow_mut();
            loop {
                match scan_reply(&buf[start..filled]) {
                    Scan::Complete { end, error } => {
                        if error {
                            st.errors += 1;
                            if st.first_error.is_none() {
                                st.first_error = Some(error_text(&buf[start..], end));
                            }
                        }
                        start += end;
                        complete += 1;
                    }
                    Scan::Incomplete => break,
                    Scan::Invalid => {
                        st.lost.get_or_insert("the server sent invalid RESP".into());
                        return;
                    }
                }
            }
            if complete > 0 {
                let micros = now.duration_since(t0).as_micros() as u64;
                st.latency.record_n(micros, complete);
                st.requests += complete;
                got += complete;
            }
            drop(st);
            if start > 0 {
                buf.copy_within(start..filled, 0);
                filled -= start;
            }
        }
        shared.done.fetch_add(k, Ordering::Relaxed);
    }
}
