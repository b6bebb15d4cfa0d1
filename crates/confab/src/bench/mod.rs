//! `confab bench`: the load generator. This module owns the flags shared by every mode
//! ([`Common`]), the mode subcommands ([`BenchArgs`]), the exit codes, and the connection
//! handshake (HELLO / AUTH) used by all modes. Each mode lives in its own submodule; the
//! latency histogram, the result rows, the output (table, JSON, progress bar) and the SVG plot
//! too.
//!
//! Exit codes: 0 success, 1 the server answered at least one error reply, 2 bad usage or no
//! connection (refused, authentication failed), 3 a connection was lost during the run,
//! 4 a verification failed (loss, duplicate or reordering in `sequences`, `stream`, `fanout`).

mod churn;
mod fanout;
mod histogram;
mod output;
mod plot;
mod report;
mod requests;
mod scan;
mod sequences;
mod stream;
mod templates;

use std::time::Duration;

use clap::{ArgAction, Args, Subcommand};
use confab_client::{Client, Frame};

/// Everything went well.
pub const EXIT_OK: i32 = 0;
/// The server answered at least one request with an error (counted in the `errors` column).
pub const EXIT_ERROR_REPLIES: i32 = 1;
/// Bad flags, or the server could not be reached or refused the credentials.
pub const EXIT_USAGE: i32 = 2;
/// A connection was lost (closed or reset by the server) during the run.
pub const EXIT_CONNECTION_LOST: i32 = 3;
/// The read-back check failed: a message was lost, duplicated or reordered.
pub const EXIT_VERIFY_FAILED: i32 = 4;

/// Flags of `confab bench`: one subcommand per mode.
#[derive(Args, Debug, Clone)]
#[command(after_long_help = AFTER_HELP, after_help = AFTER_HELP)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub mode: Mode,
}

/// The benchmark modes.
#[derive(Subcommand, Debug, Clone)]
pub enum Mode {
    /// The redis-benchmark matrix: one result row per test of -t (same commands as redis-benchmark).
    Requests(requests::RequestsArgs),
    /// A new TCP connection per request (connect, command, reply, close).
    Churn(churn::ChurnArgs),
    /// S parallel ordered sequences of RPUSH, read back and checked for loss and reordering.
    Sequences(sequences::SequencesArgs),
    /// A fleet of chatty clients: each sends a message every --interval; counts are checked.
    Stream(stream::StreamArgs),
    /// P publishers, S subscribers: delivery rate, end-to-end latency, per-publisher order.
    Fanout(fanout::FanoutArgs),
}

/// Flags every mode takes (modelled on redis-benchmark; `-h` is the host, help is `--help`).
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Server host name or address.
    #[arg(short = 'h', long = "host", default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(short = 'p', long = "port", default_value_t = 8080)]
    pub port: u16,
    /// Number of parallel connections (clients).
    #[arg(short = 'c', long = "clients", default_value_t = 50)]
    pub clients: usize,
    /// Event-loop threads; each drives its share of the connections (redis-benchmark: 1).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Run each test for this many seconds (fractions allowed) instead of -n requests.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Total number of requests (per test); the default depends on the mode.
    #[arg(short = 'n', long = "requests", value_name = "N")]
    pub requests: Option<u64>,
    /// Value / payload size in bytes.
    #[arg(short = 'd', long = "data-size", default_value_t = 3)]
    pub data_size: usize,
    /// Use random keys in 0..KEYSPACE for the `__rand_int__` part of key names (as
    /// redis-benchmark -r). Without it every request uses the same literal key.
    #[arg(short = 'r', long = "keyspace", value_name = "KEYSPACE")]
    pub keyspace: Option<u64>,
    /// Pipeline this many requests per round trip.
    #[arg(short = 'P', long = "pipeline", default_value_t = 1)]
    pub pipeline: usize,
    /// Speak RESP2 (the default; no HELLO is sent).
    #[arg(short = '2', conflicts_with = "resp3")]
    pub resp2: bool,
    /// Speak RESP3 (HELLO 3 on every connection).
    #[arg(short = '3')]
    pub resp3: bool,
    /// Password (AUTH, or HELLO ... AUTH with -3).
    #[arg(
        short = 'a',
        long = "pass",
        value_name = "PASSWORD",
        env = "CONFAB_BENCH_AUTH"
    )]
    pub password: Option<String>,
    /// ACL user name for AUTH (default: `default`). Needs -a.
    #[arg(long = "user", value_name = "USERNAME")]
    pub user: Option<String>,
    /// Print one JSON document on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Write an SVG with the latency distribution and the throughput over time.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<std::path::PathBuf>,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

impl Common {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Check the numbers that must be positive; `Err` is the message for the user.
    pub fn validate(&self) -> Result<(), String> {
        if self.clients == 0 || self.threads == 0 || self.pipeline == 0 {
            return Err("-c, --threads and -P must be at least 1".into());
        }
        if let Some(d) = self.duration {
            if !d.is_finite() || d <= 0.0 {
                return Err("--duration must be a positive number of seconds".into());
            }
        }
        if self.keyspace == Some(0) || self.requests == Some(0) {
            return Err("-r and -n must be at least 1".into());
        }
        Ok(())
    }

    /// The run length: a duration, or a request count (`default_n` when -n is absent).
    pub fn limit(&self, default_n: u64) -> Limit {
        match (self.duration, self.requests) {
            (Some(d), None) => Limit::Duration(Duration::from_secs_f64(d)),
            (Some(d), Some(n)) => Limit::Both(Duration::from_secs_f64(d), n),
            (None, Some(n)) => Limit::Requests(n),
            (None, None) => Limit::Requests(default_n),
        }
    }
}

/// How long a test runs.
#[derive(Clone, Copy, Debug)]
pub enum Limit {
    /// A fixed number of requests.
    Requests(u64),
    /// A fixed time.
    Duration(Duration),
    /// Whichever comes first.
    Both(Duration, u64),
}

impl Limit {
    /// The request cap (u64::MAX for a pure duration).
    pub fn max_requests(self) -> u64 {
        match self {
            Limit::Requests(n) | Limit::Both(_, n) => n,
            Limit::Duration(_) => u64::MAX,
        }
    }

    /// The time cap, if any.
    pub fn max_time(self) -> Option<Duration> {
        match self {
            Limit::Duration(d) | Limit::Both(d, _) => Some(d),
            Limit::Requests(_) => None,
        }
    }
}

/// A connection that failed to start: refused, or the handshake was rejected.
#[derive(Debug)]
pub struct SetupError(pub String);

/// Connect and do the handshake (`HELLO 3 [AUTH ..]` with -3, `AUTH` with -a), as a
/// [`Client`] (used by the modes where per-request cost does not matter).
pub async fn connect_client(c: &Common) -> Result<Client, SetupError> {
    let mut client = Client::connect(c.addr())
        .await
        .map_err(|e| SetupError(format!("cannot connect to {}: {e}", c.addr())))?;
    for cmd in handshake_commands(c) {
        match client.command(&cmd).await {
            Ok(Frame::Error(e)) => {
                return Err(SetupError(format!(
                    "{} rejected: {}",
                    cmd[0],
                    String::from_utf8_lossy(&e)
                )))
            }
            Ok(_) => {}
            Err(e) => return Err(SetupError(format!("handshake with {}: {e}", c.addr()))),
        }
    }
    Ok(client)
}

/// The commands sent right after connecting: `HELLO 3 [AUTH user pass]` with -3, else
/// `AUTH [user] pass` when a password is given, else nothing.
pub fn handshake_commands(c: &Common) -> Vec<Vec<String>> {
    let user = c.user.clone().unwrap_or_else(|| "default".into());
    if c.resp3 {
        let mut hello = vec!["HELLO".to_string(), "3".into()];
        if let Some(p) = &c.password {
            hello.extend(["AUTH".into(), user, p.clone()]);
        }
        vec![hello]
    } else if let Some(p) = &c.password {
        if c.user.is_some() {
            vec![vec!["AUTH".into(), user, p.clone()]]
        } else {
            vec![vec!["AUTH".into(), p.clone()]]
        }
    } else {
        Vec::new()
    }
}

/// A fresh run id for key names (`seq:<run-id>:<s>`): pid and clock, so concurrent runs differ.
pub fn run_id() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{}-{}", std::process::id(), t % 100_000_000)
}

/// A tokio runtime for one event-loop thread.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

const AFTER_HELP: &str = "\
Modes (each takes -h -p -c --threads --duration|-n -d -r -P -2|-3 -a --json --plot):
  confab bench requests -t ping,set,get -c 50 -P 16 -n 100000
  confab bench churn -t ping -c 20 --duration 3
  confab bench sequences --sequences 10 --messages 1000 [--churn]
  confab bench stream -c 100 --interval 50 --duration 5 [--payload-file F] [--target rpush]
  confab bench fanout --publishers 2 --subscribers 20 --rate 1000 --duration 3

Output: a progress bar on stderr when it is a terminal; a table (rps, p50/p90/p99/p99.9/max
latency in ms, errors) on stdout, or one JSON document with --json.

Exit codes:
  0  success
  1  the server answered at least one error reply (counted in the errors column)
  2  usage error, connection refused, or authentication rejected
  3  a connection was lost during the run
  4  verification failed: a message was lost, duplicated or reordered";

/// Run `confab bench`; returns the process exit code.
pub fn run(args: BenchArgs) -> i32 {
    let (common, name) = match &args.mode {
        Mode::Requests(a) => (&a.common, "requests"),
        Mode::Churn(a) => (&a.common, "churn"),
        Mode::Sequences(a) => (&a.common, "sequences"),
        Mode::Stream(a) => (&a.common, "stream"),
        Mode::Fanout(a) => (&a.common, "fanout"),
    };
    if let Err(e) = common.validate() {
        eprintln!("confab bench {name}: {e}");
        return EXIT_USAGE;
    }
    let result = match &args.mode {
        Mode::Requests(a) => requests::run(a),
        Mode::Churn(a) => churn::run(a),
        Mode::Sequences(a) => sequences::run(a),
        Mode::Stream(a) => stream::run(a),
        Mode::Fanout(a) => fanout::run(a),
    };
    match result {
        Ok(report) => output::finish(name, common, &report),
        Err(e) => {
            eprintln!("confab bench {name}: {}", e.message);
            e.code
        }
    }
}

/// A run that could not produce a report.
#[derive(Debug)]
pub struct Fatal {
    /// The exit code.
    pub code: i32,
    /// What to print.
    pub message: String,
}

impl Fatal {
    /// A usage / connection failure (exit 2).
    pub fn usage(message: impl Into<String>) -> Fatal {
        Fatal {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// A connection lost mid-run (exit 3).
    pub fn lost(message: impl Into<String>) -> Fatal {
        Fatal {
            code: EXIT_CONNECTION_LOST,
            message: message.into(),
        }
    }
}

impl From<SetupError> for Fatal {
    fn from(e: SetupError) -> Fatal {
        Fatal::usage(e.0)
    }
}
