//! `confab bench churn`: a new TCP connection per request. Every client loops: connect (and
//! handshake), send one request of the test, read its reply, close. Latency is measured from
//! the start of the connect to the reply; one row per test of -t.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::output::Progress;
use super::report::{Report, Row, Tally};
use super::scan::{error_text, scan_reply, Scan};
use super::templates::{self, Batch, Rng};
use super::{Common, Fatal};

/// Flags of `confab bench churn`.
#[derive(Args, Debug, Clone)]
#[command(disable_help_flag = true)]
pub struct ChurnArgs {
    #[command(flatten)]
    pub common: Common,
    /// Comma-separated tests, as in `requests` (one request per connection).
    #[arg(short = 't', long = "tests", default_value = "ping_mbulk")]
    pub tests: String,
}

/// Run every test with a connection per request.
pub fn run(args: &ChurnArgs) -> Result<Report, Fatal> {
    let c = &args.common;
    let tests = templates::parse_tests(&args.tests).map_err(Fatal::usage)?;
    let data = templates::value(c.data_size);
    let limit = c.limit(10_000);
    let mut report = Report {
        settings: super::output::settings(c, limit),
        ..Report::default()
    };
    let rt = super::runtime().map_err(|e| Fatal::usage(format!("runtime: {e}")))?;
    let run_start = Instant::now();
    // Fail early (exit 2) when the server is not there.
    rt.block_on(super::requests::open(c))?;
    for test in tests {
        let cmd = templates::encode(test.name, &data);
        let issued = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicU64::new(0));
        let total = (limit.max_time().is_none()).then_some(limit.max_requests());
        let progress = Progress::start(test.name, total, done.clone(), run_start);
        let start = Instant::now();
        let deadline = limit.max_time().map(|d| start + d);
        let stats = rt.block_on(async {
            let mut tasks = Vec::new();
            for i in 0..c.clients {
                let (c, cmd, issued, done) = (c.clone(), cmd.clone(), issued.clone(), done.clone());
                let max = limit.max_requests();
                tasks.push(tokio::spawn(async move {
                    let mut st = Tally::default();
                    let mut batch = Batch::new(&cmd, 1, c.keyspace);
                    let mut rng = Rng::new(i as u64 + 1);
                    let mut buf = Vec::with_capacity(4096);
                    loop {
                        let t0 = Instant::now();
                        if deadline.is_some_and(|d| t0 >= d) {
                            break;
                        }
                        if issued.fetch_add(1, Ordering::Relaxed) >= max {
                            break;
                        }
                        batch.randomize(&mut rng, 1);
                        let mut s = match super::requests::open(&c).await {
                            Ok(s) => s,
                            Err(e) => {
                                st.lost.get_or_insert(e.0);
                                break;
                            }
                        };
                        if let Err(e) = s.write_all(batch.bytes(1)).await {
                            st.lost.get_or_insert(format!("write: {e}"));
                            break;
                        }
                        buf.clear();
                        let reply = loop {
                            match scan_reply(&buf) {
                                Scan::Complete { end, error } => break Ok((end, error)),
                                Scan::Invalid => break Err("invalid RESP".to_string()),
                                Scan::Incomplete => {}
                            }
                            match s.read_buf(&mut buf).await {
                                Ok(0) => break Err("connection closed by the server".into()),
                                Ok(_) => {}
                                Err(e) => break Err(format!("read: {e}")),
                            }
                        };
                        match reply {
                            Ok((end, error)) => {
                                st.latency.record_n(t0.elapsed().as_micros() as u64, 1);
                                st.requests += 1;
                                if error {
                                    st.errors += 1;
                                    st.first_error.get_or_insert_with(|| error_text(&buf, end));
                                }
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                st.lost.get_or_insert(e);
                                break;
                            }
                        }
                    }
                    st
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                if let Ok(st) = t.await {
                    all.push(st);
                }
            }
            all
        });
        let seconds = start.elapsed().as_secs_f64();
        report.samples.extend(progress.finish());
        let mut row = Row {
            name: test.name.to_string(),
            seconds,
            ..Row::default()
        };
        row.absorb(stats, &mut report.connection_lost);
        report.rows.push(row);
        if report.connection_lost.is_some() {
            break;
        }
    }
    Ok(report)
}
