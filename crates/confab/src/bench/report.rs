//! The results of a run, independent of how they are printed: one [`Row`] per test (requests,
//! errors, seconds, latency histogram, first error), the per-second throughput samples, the
//! verification checks of the modes that read data back, and the exit code they imply.

use serde_json::Value;

use super::histogram::Latency;

/// What one connection (or sender) counted during a test; [`Row::absorb`] merges them.
#[derive(Default)]
pub struct Tally {
    /// Per-request latency.
    pub latency: Latency,
    /// Requests that got a reply (errors included).
    pub requests: u64,
    /// Replies that were errors.
    pub errors: u64,
    /// The first error reply's text.
    pub first_error: Option<String>,
    /// Why the connection was lost, if it was.
    pub lost: Option<String>,
}

/// The result of one test (one row of the table).
#[derive(Default)]
pub struct Row {
    /// Test name, e.g. `SET` or `LRANGE_100`.
    pub name: String,
    /// Requests that got a reply (errors included).
    pub requests: u64,
    /// Replies that were errors.
    pub errors: u64,
    /// Wall-clock seconds of the test.
    pub seconds: f64,
    /// Per-request latency.
    pub latency: Latency,
    /// The first error reply's text.
    pub first_error: Option<String>,
    /// Mode-specific figures (e.g. deliveries for fanout), shown after the table and in JSON.
    pub extra: Vec<(String, Value)>,
}

impl Row {
    /// Add every connection's tally to this row; the first lost connection's reason goes to
    /// `lost` unless one is already there.
    pub fn absorb(&mut self, tallies: impl IntoIterator<Item = Tally>, lost: &mut Option<String>) {
        for t in tallies {
            self.latency.merge(&t.latency);
            self.requests += t.requests;
            self.errors += t.errors;
            if self.first_error.is_none() {
                self.first_error = t.first_error;
            }
            if lost.is_none() {
                *lost = t.lost;
            }
        }
    }

    /// Requests per second.
    pub fn rps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// One per-second throughput sample.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Seconds since the start of the run (end of the sampled interval).
    pub t: f64,
    /// Requests per second during the interval.
    pub rps: f64,
    /// The test that was running.
    pub test: String,
}

/// A read-back verification (sequences, stream, fanout).
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Human-readable findings, one per line.
    pub lines: Vec<String>,
    /// The same findings for JSON.
    pub details: Value,
}

/// Everything a run produced.
#[derive(Default)]
pub struct Report {
    /// One row per test.
    pub rows: Vec<Row>,
    /// Throughput over time.
    pub samples: Vec<Sample>,
    /// Verifications.
    pub checks: Vec<Check>,
    /// Set when a connection was lost mid-run.
    pub connection_lost: Option<String>,
    /// Mode settings echoed in JSON (clients, pipeline, ...).
    pub settings: Vec<(String, Value)>,
}

impl Report {
    /// The exit code the results imply (see the module docs of `bench`).
    pub fn exit_code(&self) -> i32 {
        if self.checks.iter().any(|c| !c.ok) {
            super::EXIT_VERIFY_FAILED
        } else if self.connection_lost.is_some() {
            super::EXIT_CONNECTION_LOST
        } else if self.rows.iter().any(|r| r.errors > 0) {
            super::EXIT_ERROR_REPLIES
        } else {
            super::EXIT_OK
        }
    }
}
