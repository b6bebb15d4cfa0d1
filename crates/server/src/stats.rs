//! Server-wide counters for INFO (stats, commandstats and errorstats sections).
//!
//! DESIGN. Counters are striped: each thread adds to its own cache-line-aligned [`Stripe`]
//! (picked once per thread), and INFO sums the stripes. Two worker threads counting every
//! command on one shared counter would bounce that cache line between cores on every request.
//! Relaxed atomics: each counter is independent and only read for reporting.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Per-command counters (INFO commandstats).
#[derive(Default)]
pub(crate) struct CommandStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

/// One thread's share of the counters.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct Stripe {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub protocol_errors: AtomicU64,
    pub total_error_replies: AtomicU64,
    /// Reads from clients' sockets attempted, and writes to them (INFO
    /// `total_reads_processed`, `total_writes_processed`: Redis counts each call of its read
    /// and write handlers).
    pub reads_processed: AtomicU64,
    pub writes_processed: AtomicU64,
    /// Microseconds the active expiry sweeper spent in its passes (INFO
    /// `expire_cycle_cpu_milliseconds`, as Redis times its expire cycle).
    pub expire_cycle_us: AtomicU64,
    /// One slot per command of the dispatch table, indexed by its `idx`.
    pub commands: Box<[CommandStat]>,
    /// Error replies by prefix (INFO errorstats). Locked only to count an error reply.
    errors: parking_lot::Mutex<BTreeMap<Box<[u8]>, u64>>,
}

/// Counters shown by INFO.
pub(crate) struct Stats {
    stripes: Box<[Stripe]>,
}

/// Stripes: more than the worker threads of any sensible configuration on this class of
/// machine; threads beyond that share stripes, which is still correct.
const STRIPES: usize = 16;

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_STRIPE: usize = NEXT_STRIPE.fetch_add(1, Relaxed) % STRIPES;
}

impl Stats {
    pub(crate) fn new(commands: usize) -> Self {
        Stats {
            stripes: (0..STRIPES)
                .map(|_| Stripe {
                    commands: (0..commands).map(|_| CommandStat::default()).collect(),
                    ..Default::default()
                })
                .collect(),
        }
    }

    /// This thread's stripe, to add to.
    pub(crate) fn local(&self) -> &Stripe {
        &self.stripes[MY_STRIPE.with(|i| *i)]
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// Count an error reply (`total_error_replies` and its prefix in INFO errorstats).
    pub(crate) fn error_reply(&self, message: &[u8]) {
        let stripe = self.local();
        Self::add(&stripe.total_error_replies, 1);
        let prefix = error_prefix(message);
        let mut errors = stripe.errors.lock();
        match errors.get_mut(prefix) {
            Some(n) => *n += 1,
            None => {
                errors.insert(prefix.into(), 1);
            }
        }
    }

    /// Error replies by prefix, over all stripes, in byte order (as Redis lists them).
    pub(crate) fn errors(&self) -> BTreeMap<Box<[u8]>, u64> {
        let mut all: BTreeMap<Box<[u8]>, u64> = BTreeMap::new();
        for s in self.stripes.iter() {
            for (prefix, n) in s.errors.lock().iter() {
                *all.entry(prefix.clone()).or_default() += n;
            }
        }
        all
    }

    /// Sum of one counter over all stripes.
    pub(crate) fn total(&self, f: impl Fn(&Stripe) -> &AtomicU64) -> u64 {
        self.stripes.iter().map(|s| f(s).load(Relaxed)).sum()
    }

    /// Sum of one command counter over all stripes.
    pub(crate) fn command_total(&self, idx: usize, f: impl Fn(&CommandStat) -> &AtomicU64) -> u64 {
        self.stripes
            .iter()
            .map(|s| f(&s.commands[idx]).load(Relaxed))
            .sum()
    }

    /// Commands processed so far, over all stripes.
    pub(crate) fn commands_total(&self) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.commands_processed.load(Relaxed))
            .sum()
    }

    /// CONFIG RESETSTAT.
    pub(crate) fn reset(&self) {
        for s in self.stripes.iter() {
            for c in [
                &s.connections_received,
                &s.commands_processed,
                &s.rejected_connections,
                &s.keyspace_hits,
                &s.keyspace_misses,
                &s.net_input_bytes,
                &s.net_output_bytes,
                &s.protocol_errors,
                &s.total_error_replies,
                &s.reads_processed,
                &s.writes_processed,
                &s.expire_cycle_us,
            ] {
                c.store(0, Relaxed);
            }
            s.errors.lock().clear();
            for c in s.commands.iter() {
                for x in [&c.calls, &c.usec, &c.rejected, &c.failed] {
                    x.store(0, Relaxed);
                }
            }
        }
    }
}

/// An error reply's prefix as Redis counts it: the word before the first space when that
/// space is among the first 31 bytes, else `ERR`.
fn error_prefix(message: &[u8]) -> &[u8] {
    match memchr::memchr(b' ', &message[..message.len().min(31)]) {
        Some(i) => &message[..i],
        None => b"ERR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_counted_by_prefix() {
        assert_eq!(
            error_prefix(b"WRONGTYPE Operation against a key"),
            b"WRONGTYPE"
        );
        assert_eq!(error_prefix(b"ERR unknown command"), b"ERR");
        assert_eq!(error_prefix(b"NOSPACEHERE"), b"ERR");
        assert_eq!(error_prefix(b"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG x"), b"ERR");
        let stats = Stats::new(1);
        stats.error_reply(b"WRONGTYPE x");
        stats.error_reply(b"ERR y");
        stats.error_reply(b"ERR z");
        let errors = stats.errors();
        let listed: Vec<(&[u8], u64)> = errors.iter().map(|(k, v)| (&k[..], *v)).collect();
        assert_eq!(listed, [(&b"ERR"[..], 2), (&b"WRONGTYPE"[..], 1)]);
        assert_eq!(stats.total(|s| &s.total_error_replies), 3);
        stats.reset();
        assert!(stats.errors().is_empty());
    }
}

/// Samples kept per instantaneous metric (Redis's `STATS_METRIC_SAMPLES`).
const METRIC_SAMPLES: usize = 16;

/// Which instantaneous metric (INFO's `instantaneous_ops_per_sec`, `instantaneous_input_kbps`,
/// `instantaneous_output_kbps`).
#[derive(Clone, Copy)]
pub(crate) enum Metric {
    Ops = 0,
    NetInput = 1,
    NetOutput = 2,
}

/// Redis's instantaneous metrics: every 100 ms the sampler records each counter's rate per
/// second since the previous sample; INFO shows the mean of the last [`METRIC_SAMPLES`].
#[derive(Default)]
pub(crate) struct InstantMetrics {
    inner: parking_lot::Mutex<InstantInner>,
}

#[derive(Default)]
struct InstantInner {
    last_ms: u64,
    last: [u64; 3],
    samples: [[u64; METRIC_SAMPLES]; 3],
    idx: usize,
}

impl InstantMetrics {
    /// Record the counters' readings at `now_ms` (Redis's `trackInstantaneousMetric`).
    pub(crate) fn sample(&self, now_ms: u64, readings: [u64; 3]) {
        let mut m = self.inner.lock();
        if m.last_ms != 0 {
            let t = now_ms.saturating_sub(m.last_ms);
            let idx = m.idx;
            for (i, reading) in readings.iter().enumerate() {
                let delta = reading.saturating_sub(m.last[i]);
                m.samples[i][idx] = (delta * 1000).checked_div(t).unwrap_or(0);
            }
            m.idx = (idx + 1) % METRIC_SAMPLES;
        }
        m.last_ms = now_ms;
        m.last = readings;
    }

    /// The mean rate per second over the kept samples (Redis's `getInstantaneousMetric`).
    pub(crate) fn get(&self, metric: Metric) -> u64 {
        let m = self.inner.lock();
        m.samples[metric as usize].iter().sum::<u64>() / METRIC_SAMPLES as u64
    }
}
