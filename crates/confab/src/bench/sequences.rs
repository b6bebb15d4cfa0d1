//! `confab bench sequences`: S parallel ordered sequences. Sequence `s` RPUSHes M numbered
//! messages (`00000000`, `00000001`, ... padded to -d bytes) in order into `seq:<run-id>:<s>`,
//! over one connection (pipelined with -P) or a new connection per message (`--churn`). Then
//! every list is read back with LRANGE and checked: complete, no duplicates, in order (FIFO per
//! sender). Any gap, duplicate or reordering fails the run with exit code 4 and a diagnosis
//! (first bad index, counts of missing / duplicate / out-of-order elements). The lists are
//! deleted afterwards.

use std::time::Instant;

use clap::Args;
use confab_client::Frame;
use serde_json::json;

use super::histogram::Latency;
use super::output::Progress;
use super::report::{Check, Report, Row, Tally};
use super::{connect_client, Common, Fatal};

/// Flags of `confab bench sequences`.
#[derive(Args, Debug, Clone)]
#[command(disable_help_flag = true)]
pub struct SequencesArgs {
    #[command(flatten)]
    pub common: Common,
    /// Number of parallel sequences (senders).
    #[arg(long = "sequences", value_name = "S", default_value_t = 10)]
    pub sequences: usize,
    /// Messages per sequence.
    #[arg(long = "messages", value_name = "M", default_value_t = 1000)]
    pub messages: u64,
    /// A new connection per message instead of one per sequence.
    #[arg(long)]
    pub churn: bool,
}

/// What the read-back of one sequence found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Finding {
    /// Elements in the list.
    pub received: u64,
    /// Numbers 0..M that are absent.
    pub missing: u64,
    /// Extra copies of numbers already seen.
    pub duplicates: u64,
    /// Positions whose number is smaller than the one before (a reordering).
    pub out_of_order: u64,
    /// Elements that are not a message of this run.
    pub foreign: u64,
    /// First position whose element is not the expected number, with what was found there.
    pub first_bad: Option<(u64, Option<u64>)>,
}

impl Finding {
    /// No gap, duplicate, reordering or foreign element.
    pub fn clean(&self) -> bool {
        self.missing == 0 && self.duplicates == 0 && self.out_of_order == 0 && self.foreign == 0
    }
}

/// Check a read-back list of message numbers against `0..m` in order.
pub fn analyse(values: &[Option<u64>], m: u64) -> Finding {
    let mut f = Finding {
        received: values.len() as u64,
        ..Finding::default()
    };
    let mut seen = vec![false; m as usize];
    let mut prev: Option<u64> = None;
    for (pos, v) in values.iter().enumerate() {
        if f.first_bad.is_none() && *v != Some(pos as u64) {
            f.first_bad = Some((pos as u64, *v));
        }
        match *v {
            Some(n) if n < m => {
                if std::mem::replace(&mut seen[n as usize], true) {
                    f.duplicates += 1;
                }
                if prev.is_some_and(|p| n < p) {
                    f.out_of_order += 1;
                }
                prev = Some(n);
            }
            _ => f.foreign += 1,
        }
    }
    f.missing = seen.iter().filter(|s| !**s).count() as u64;
    if f.first_bad.is_none() && f.received < m {
        f.first_bad = Some((f.received, None));
    }
    f
}

fn element(i: u64, size: usize) -> Vec<u8> {
    let mut v = format!("{i:08}").into_bytes();
    while v.len() < size {
        v.push(b'.');
    }
    v
}

fn number(b: &[u8]) -> Option<u64> {
    let digits: &[u8] = match b.iter().position(|c| !c.is_ascii_digit()) {
        Some(p) => &b[..p],
        None => b,
    };
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Send the sequences, read them back, check them.
pub fn run(args: &SequencesArgs) -> Result<Report, Fatal> {
    let c = args.common.clone();
    if args.sequences == 0 || args.messages == 0 {
        return Err(Fatal::usage(
            "--sequences and --messages must be at least 1",
        ));
    }
    let rt = super::runtime().map_err(|e| Fatal::usage(format!("runtime: {e}")))?;
    let run_id = super::run_id();
    let keys: Vec<String> = (0..args.sequences)
        .map(|s| format!("seq:{run_id}:{s}"))
        .collect();
    let mut report = Report {
        settings: super::output::settings(&c, c.limit(args.messages)),
        ..Report::default()
    };
    report.settings.extend([
        ("sequences".to_string(), json!(args.sequences)),
        ("messages".to_string(), json!(args.messages)),
        ("churn".to_string(), json!(args.churn)),
        ("run_id".to_string(), json!(run_id)),
    ]);
    // Fail early (exit 2) when the server is not there.
    rt.block_on(connect_client(&c))?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let run_start = Instant::now();
    let progress = Progress::start(
        "RPUSH",
        Some(args.messages * args.sequences as u64),
        done.clone(),
        run_start,
    );
    let stats: Vec<Tally> = rt.block_on(async {
        let mut tasks = Vec::new();
        for key in &keys {
            let (c, key, done) = (c.clone(), key.clone(), done.clone());
            let (m, churn) = (args.messages, args.churn);
            tasks.push(tokio::spawn(async move {
                send(&c, &key, m, churn, &done).await
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("sender task panicked"));
        }
        out
    });
    let seconds = run_start.elapsed().as_secs_f64();
    report.samples.extend(progress.finish());
    let mut row = Row {
        name: "RPUSH".into(),
        seconds,
        ..Row::default()
    };
    row.absorb(stats, &mut report.connection_lost);
    report.rows.push(row);
    let check = rt.block_on(verify(&c, &keys, args.messages))?;
    report.checks.push(check);
    Ok(report)
}

async fn send(
    c: &Common,
    key: &str,
    m: u64,
    churn: bool,
    done: &std::sync::atomic::AtomicU64,
) -> Tally {
    let mut st = Tally {
        latency: Latency::new(),
        requests: 0,
        errors: 0,
        first_error: None,
        lost: None,
    };
    let mut client = None;
    let mut i = 0u64;
    while i < m {
        let k = if churn {
            1
        } else {
            (c.pipeline as u64).min(m - i)
        };
        if client.is_none() || churn {
            match connect_client(c).await {
                Ok(cl) => client = Some(cl),
                Err(e) => {
                    st.lost = Some(e.0);
                    return st;
                }
            }
        }
        let cl = client.as_mut().expect("connected above");
        let t0 = Instant::now();
        for j in i..i + k {
            cl.queue(&[
                b"RPUSH".as_slice(),
                key.as_bytes(),
                &element(j, c.data_size),
            ]);
        }
        if let Err(e) = cl.flush().await {
            st.lost = Some(format!("write: {e}"));
            return st;
        }
        for _ in 0..k {
            match cl.read_frame().await {
                Ok(Some(Frame::Error(e))) => {
                    st.errors += 1;
                    st.first_error
                        .get_or_insert_with(|| String::from_utf8_lossy(&e).into_owned());
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    st.lost = Some("connection closed by the server".into());
                    return st;
                }
                Err(e) => {
                    st.lost = Some(e.to_string());
                    return st;
                }
            }
            st.requests += 1;
            st.latency.record_n(t0.elapsed().as_micros() as u64, 1);
        }
        done.fetch_add(k, std::sync::atomic::Ordering::Relaxed);
        i += k;
    }
    st
}

async fn verify(c: &Common, keys: &[String], m: u64) -> Result<Check, Fatal> {
    let mut client = connect_client(c).await?;
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    let (mut missing, mut dups, mut ooo, mut foreign) = (0u64, 0u64, 0u64, 0u64);
    for (s, key) in keys.iter().enumerate() {
        let reply = client
            .command(&["LRANGE", key.as_str(), "0", "-1"])
            .await
            .map_err(|e| Fatal::lost(format!("LRANGE {key}: {e}")))?;
        let values: Vec<Option<u64>> = match reply {
            Frame::Array(items) | Frame::Set(items) => items
                .iter()
                .map(|f| match f {
                    Frame::Bulk(b) => number(b),
                    _ => None,
                })
                .collect(),
            Frame::Error(e) => {
                return Err(Fatal::lost(format!(
                    "LRANGE {key}: {}",
                    String::from_utf8_lossy(&e)
                )))
            }
            _ => Vec::new(),
        };
        let f = analyse(&values, m);
        let _ = client.command(&["DEL", key.as_str()]).await;
        missing += f.missing;
        dups += f.duplicates;
        ooo += f.out_of_order;
        foreign += f.foreign;
        if !f.clean() {
            let first = match f.first_bad {
                Some((pos, Some(v))) => {
                    format!("first bad index {pos} (expected {pos}, found {v})")
                }
                Some((pos, None)) => {
                    format!("first bad index {pos} (expected {pos}, found nothing)")
                }
                None => "no bad index".into(),
            };
            lines.push(format!(
                "sequence {s} ({key}): {} of {m} elements; {first}; missing {}, duplicate {}, out of order {}, foreign {}",
                f.received, f.missing, f.duplicates, f.out_of_order, f.foreign
            ));
            bad.push(json!({
                "sequence": s, "key": key, "received": f.received,
                "first_bad_index": f.first_bad.map(|b| b.0),
                "missing": f.missing, "duplicates": f.duplicates,
                "out_of_order": f.out_of_order, "foreign": f.foreign,
            }));
        }
    }
    let ok = bad.is_empty();
    lines.insert(
        0,
        format!(
            "{} sequences x {m} messages: {} clean; missing {missing}, duplicate {dups}, out of order {ooo}, foreign {foreign}",
            keys.len(),
            keys.len() - bad.len()
        ),
    );
    Ok(Check {
        name: "sequences".into(),
        ok,
        lines,
        details: json!({
            "sequences": keys.len(), "messages": m, "missing": missing,
            "duplicates": dups, "out_of_order": ooo, "foreign": foreign, "bad": bad,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(v: &[u64]) -> Vec<Option<u64>> {
        v.iter().map(|&n| Some(n)).collect()
    }

    #[test]
    fn clean_swap_drop_dup() {
        assert!(analyse(&some(&[0, 1, 2, 3]), 4).clean());
        let swap = analyse(&some(&[0, 2, 1, 3]), 4);
        assert_eq!((swap.out_of_order, swap.missing), (1, 0));
        assert_eq!(swap.first_bad, Some((1, Some(2))));
        let drop = analyse(&some(&[0, 1, 3]), 4);
        assert_eq!((drop.missing, drop.out_of_order), (1, 0));
        assert_eq!(drop.first_bad, Some((2, Some(3))));
        let dup = analyse(&some(&[0, 1, 1, 2, 3]), 4);
        assert_eq!(dup.duplicates, 1);
        let short = analyse(&some(&[0, 1]), 4);
        assert_eq!(short.first_bad, Some((2, None)));
        assert_eq!(number(b"00000042..."), Some(42));
    }
}
