//! Server-wide counters for INFO (stats and commandstats sections).
//!
//! DESIGN. Counters are striped: each thread adds to its own cache-line-aligned [`Stripe`]
//! (picked once per thread), and INFO sums the stripes. Two worker threads counting every
//! command on one shared counter would bounce that cache line between cores on every request.
//! Relaxed atomics: each counter is independent and only read for reporting.

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
    pub expired_keys: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub protocol_errors: AtomicU64,
    pub total_error_replies: AtomicU64,
    /// One slot per command of the dispatch table, indexed by its `idx`.
    pub commands: Box<[CommandStat]>,
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

    /// CONFIG RESETSTAT.
    pub(crate) fn reset(&self) {
        for s in self.stripes.iter() {
            for c in [
                &s.connections_received,
                &s.commands_processed,
                &s.rejected_connections,
                &s.expired_keys,
                &s.keyspace_hits,
                &s.keyspace_misses,
                &s.net_input_bytes,
                &s.net_output_bytes,
                &s.protocol_errors,
                &s.total_error_replies,
            ] {
                c.store(0, Relaxed);
            }
            for c in s.commands.iter() {
                for x in [&c.calls, &c.usec, &c.rejected, &c.failed] {
                    x.store(0, Relaxed);
                }
            }
        }
    }
}
