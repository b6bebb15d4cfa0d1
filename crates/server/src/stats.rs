//! Server-wide counters for INFO (stats and commandstats sections).
//!
//! Plain relaxed atomics: each is an independent counter, read only for reporting, so no
//! ordering between them is needed.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Per-command counters (INFO commandstats).
#[derive(Default)]
pub(crate) struct CommandStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

/// Counters shown by INFO.
#[derive(Default)]
pub(crate) struct Stats {
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

impl Stats {
    pub(crate) fn new(commands: usize) -> Self {
        Stats {
            commands: (0..commands).map(|_| CommandStat::default()).collect(),
            ..Default::default()
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }
}
