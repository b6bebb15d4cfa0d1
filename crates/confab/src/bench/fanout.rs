//! `confab bench fanout`: P publishers and S subscribers on one channel `fanout:<run-id>`.
//! Every payload is `<publisher>:<seq>:<send µs>:` padded to -d bytes, the send time taken
//! from one clock shared by all tasks of the process. Publishers PUBLISH (pipelined with -P) at
//! `--rate` messages/sec each, or as fast as possible; subscribers check per-publisher order
//! and record the end-to-end latency. Reports a PUBLISH row and a `deliveries` row (rps =
//! deliveries/sec), and checks every subscriber got every message once, in per-publisher
//! order (exit 4 otherwise).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use confab_client::{Client, Frame};
use serde_json::json;

use super::histogram::Latency;
use super::output::Progress;
use super::report::{Check, Report, Row, Tally};
use super::{connect_client, Common, Fatal};

/// Flags of `confab bench fanout`.
#[derive(Args, Debug, Clone)]
#[command(disable_help_flag = true)]
pub struct FanoutArgs {
    #[command(flatten)]
    pub common: Common,
    /// Number of publishers.
    #[arg(long, value_name = "P", default_value_t = 1)]
    pub publishers: usize,
    /// Number of subscribers.
    #[arg(long, value_name = "S", default_value_t = 10)]
    pub subscribers: usize,
    /// Messages per second per publisher (0: as fast as possible).
    #[arg(long, value_name = "MSGS", default_value_t = 0.0)]
    pub rate: f64,
    /// Seconds to wait for missing deliveries after the publishers finished.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub drain: f64,
}

/// What one subscriber saw.
#[derive(Default, Clone)]
struct SubStats {
    received: u64,
    next: Vec<u64>,
    missing: u64,
    out_of_order: u64,
    first_problem: Option<String>,
    latency: Latency,
    last_at: Option<Instant>,
}

impl SubStats {
    fn on_message(&mut self, p: usize, seq: u64) {
        self.received += 1;
        let Some(next) = self.next.get_mut(p) else {
            return;
        };
        if seq == *next {
            *next += 1;
        } else if seq > *next {
            self.missing += seq - *next;
            if self.first_problem.is_none() {
                self.first_problem =
                    Some(format!("publisher {p}: expected seq {}, got {seq}", *next));
            }
            *next = seq + 1;
        } else {
            self.out_of_order += 1;
            if self.first_problem.is_none() {
                self.first_problem = Some(format!("publisher {p}: seq {seq} after {}", *next - 1));
            }
        }
    }
}

fn payload(p: usize, seq: u64, micros: u64, size: usize) -> Vec<u8> {
    let mut v = format!("{p}:{seq}:{micros}:").into_bytes();
    while v.len() < size {
        v.push(b'x');
    }
    v
}

fn parse_payload(b: &[u8]) -> Option<(usize, u64, u64)> {
    let s = std::str::from_utf8(b).ok()?;
    let mut it = s.split(':');
    Some((
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    ))
}

/// The message payload of a pub/sub push (`message`, channel, payload), RESP2 or RESP3.
fn message_of(f: &Frame) -> Option<&[u8]> {
    let items = match f {
        Frame::Push(v) | Frame::Array(v) => v,
        _ => return None,
    };
    match (items.first(), items.get(2)) {
        (Some(Frame::Bulk(kind)), Some(Frame::Bulk(data))) if kind.as_ref() == b"message" => {
            Some(data)
        }
        _ => None,
    }
}

/// Run publishers and subscribers, then check deliveries.
pub fn run(args: &FanoutArgs) -> Result<Report, Fatal> {
    let c = args.common.clone();
    if args.publishers == 0 || args.subscribers == 0 {
        return Err(Fatal::usage(
            "--publishers and --subscribers must be at least 1",
        ));
    }
    if !args.rate.is_finite() || args.rate < 0.0 || !args.drain.is_finite() || args.drain < 0.0 {
        return Err(Fatal::usage(
            "--rate and --drain must be non-negative numbers",
        ));
    }
    let limit = c.limit(10_000);
    let per_pub = limit.max_requests();
    let max_time = limit.max_time();
    let run_id = super::run_id();
    let channel = format!("fanout:{run_id}");
    let mut report = Report {
        settings: super::output::settings(&c, limit),
        ..Report::default()
    };
    report.settings.extend([
        ("publishers".to_string(), json!(args.publishers)),
        ("subscribers".to_string(), json!(args.subscribers)),
        ("rate".to_string(), json!(args.rate)),
        ("channel".to_string(), json!(channel)),
    ]);
    let rt = super::runtime().map_err(|e| Fatal::usage(format!("runtime: {e}")))?;
    let clock = Instant::now();
    let now_us = move || clock.elapsed().as_micros() as u64;
    let delivered = Arc::new(AtomicU64::new(0));
    let subs: Vec<Arc<Mutex<SubStats>>> = (0..args.subscribers)
        .map(|_| {
            Arc::new(Mutex::new(SubStats {
                next: vec![0; args.publishers],
                ..SubStats::default()
            }))
        })
        .collect();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let result = rt.block_on(async {
        // Subscribers first, each confirmed before any message is published.
        let mut sub_tasks = Vec::new();
        for st in &subs {
            let mut client: Client = connect_client(&c).await?;
            client.queue(&["SUBSCRIBE", channel.as_str()]);
            client
                .flush()
                .await
                .map_err(|e| Fatal::lost(format!("SUBSCRIBE: {e}")))?;
            match client.read_frame_timeout(Duration::from_secs(10)).await {
                Ok(Some(Frame::Push(_) | Frame::Array(_))) => {}
                other => return Err(Fatal::usage(format!("SUBSCRIBE {channel}: {other:?}"))),
            }
            let (st, delivered, mut stop) = (st.clone(), delivered.clone(), stop_rx.clone());
            sub_tasks.push(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        f = client.read_frame() => match f {
                            Ok(Some(f)) => {
                                let Some((p, seq, sent)) = message_of(&f).and_then(parse_payload) else { continue };
                                let now = now_us();
                                let mut s = st.lock().expect("subscriber stats");
                                s.on_message(p, seq);
                                s.latency.record_n(now.saturating_sub(sent), 1);
                                s.last_at = Some(Instant::now());
                                delivered.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(None) | Err(_) => return Some("subscriber connection lost".to_string()),
                        },
                        _ = stop.changed() => return None,
                    }
                }
            }));
        }
        let run_start = Instant::now();
        let published = Arc::new(AtomicU64::new(0));
        let progress = Progress::start("PUBLISH", None, delivered.clone(), run_start);
        let mut pub_tasks = Vec::new();
        for p in 0..args.publishers {
            let (c, channel, published) = (c.clone(), channel.clone(), published.clone());
            let rate = args.rate;
            pub_tasks.push(tokio::spawn(async move {
                let mut st = Tally::default(); // `requests` counts the PUBLISHes sent
                let mut client = match connect_client(&c).await {
                    Ok(cl) => cl,
                    Err(e) => { st.lost = Some(e.0); return st; }
                };
                let start = Instant::now();
                while st.requests < per_pub && max_time.is_none_or(|d| start.elapsed() < d) {
                    let k = (c.pipeline as u64).min(per_pub - st.requests);
                    if rate > 0.0 {
                        let due = start + Duration::from_secs_f64(st.requests as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let t0 = Instant::now();
                    for j in 0..k {
                        let body = payload(p, st.requests + j, now_us(), c.data_size);
                        client.queue(&[b"PUBLISH".as_slice(), channel.as_bytes(), &body]);
                    }
                    if let Err(e) = client.flush().await { st.lost = Some(e.to_string()); return st; }
                    for _ in 0..k {
                        match client.read_frame().await {
                            Ok(Some(Frame::Error(e))) => {
                                st.errors += 1;
                                st.first_error.get_or_insert_with(|| String::from_utf8_lossy(&e).into_owned());
                            }
                            Ok(Some(_)) => {}
                            Ok(None) => { st.lost = Some("connection closed by the server".into()); return st; }
                            Err(e) => { st.lost = Some(e.to_string()); return st; }
                        }
                    }
                    st.latency.record_n(t0.elapsed().as_micros() as u64, k);
                    st.requests += k;
                    published.fetch_add(k, Ordering::Relaxed);
                }
                st
            }));
        }
        let mut pubs = Vec::new();
        for t in pub_tasks {
            pubs.push(t.await.expect("publisher panicked"));
        }
        let publish_secs = run_start.elapsed().as_secs_f64();
        // Wait for the deliveries (or for them to stop coming).
        let expected = published.load(Ordering::Relaxed) * args.subscribers as u64;
        let drain = Duration::from_secs_f64(args.drain);
        let mut last = (delivered.load(Ordering::Relaxed), Instant::now());
        loop {
            let n = delivered.load(Ordering::Relaxed);
            if n >= expected {
                break;
            }
            if n != last.0 {
                last = (n, Instant::now());
            } else if last.1.elapsed() >= drain {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop_tx.send(true);
        let mut sub_lost = None;
        for t in sub_tasks {
            if let Ok(Some(e)) = t.await {
                sub_lost.get_or_insert(e);
            }
        }
        Ok::<_, Fatal>((pubs, publish_secs, run_start, progress.finish(), sub_lost))
    });
    let (pubs, publish_secs, run_start, samples, sub_lost) = result?;
    report.samples = samples;
    let mut row = Row {
        name: "PUBLISH".into(),
        seconds: publish_secs,
        ..Row::default()
    };
    let sent_per_pub: Vec<u64> = pubs.iter().map(|st| st.requests).collect();
    row.absorb(pubs, &mut report.connection_lost);
    if report.connection_lost.is_none() {
        report.connection_lost = sub_lost;
    }
    let total_sent: u64 = sent_per_pub.iter().sum();
    let mut deliveries = Row {
        name: "deliveries".into(),
        ..Row::default()
    };
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    let (mut missing, mut ooo) = (0u64, 0u64);
    let mut last_at = run_start;
    for (i, st) in subs.iter().enumerate() {
        let s = st.lock().expect("subscriber stats").clone();
        deliveries.latency.merge(&s.latency);
        deliveries.requests += s.received;
        if let Some(t) = s.last_at {
            last_at = last_at.max(t);
        }
        // Messages never seen at the end of each publisher's sequence are missing too.
        let tail: u64 = s
            .next
            .iter()
            .zip(&sent_per_pub)
            .map(|(n, sent)| sent.saturating_sub(*n))
            .sum();
        let sub_missing = s.missing + tail;
        missing += sub_missing;
        ooo += s.out_of_order;
        if sub_missing > 0 || s.out_of_order > 0 || s.received != total_sent {
            let first = s
                .first_problem
                .clone()
                .unwrap_or_else(|| "messages missing at the end".into());
            lines.push(format!(
                "subscriber {i}: received {} of {total_sent}; missing {sub_missing}, out of order or duplicate {}; first: {first}",
                s.received, s.out_of_order
            ));
            bad.push(json!({"subscriber": i, "received": s.received, "missing": sub_missing, "out_of_order": s.out_of_order, "first_problem": first}));
        }
    }
    deliveries.seconds = last_at
        .duration_since(run_start)
        .as_secs_f64()
        .max(publish_secs);
    deliveries.extra.push((
        "expected".into(),
        json!(total_sent * args.subscribers as u64),
    ));
    report.rows.push(row);
    report.rows.push(deliveries);
    lines.insert(0, format!(
        "{} publishers x {} subscribers: published {total_sent}, {} subscribers complete and in order; missing {missing}, out of order {ooo}",
        args.publishers, args.subscribers, args.subscribers - bad.len()
    ));
    report.checks.push(Check {
        name: "fanout".into(),
        ok: bad.is_empty(),
        lines,
        details: json!({"published": total_sent, "subscribers": args.subscribers, "missing": missing, "out_of_order": ooo, "bad": bad}),
    });
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_tracking() {
        let mut s = SubStats {
            next: vec![0, 0],
            ..SubStats::default()
        };
        for (p, q) in [(0, 0), (1, 0), (0, 1), (0, 3), (1, 1), (0, 2)] {
            s.on_message(p, q);
        }
        assert_eq!((s.missing, s.out_of_order, s.received), (1, 1, 6));
        assert_eq!(parse_payload(b"3:17:99:xxx"), Some((3, 17, 99)));
    }
}
