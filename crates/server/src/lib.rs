//! The confab server library.
//!
//! Owns everything that runs inside `confab server`: the accept loop ([`run`]), one task per
//! connection ([`connection`]), the sharded keyspace ([`db`]), the command families ([`cmd`]),
//! the conversation log ([`convlog`]) and graceful shutdown ([`Shutdown`]). It does not parse
//! flags or bind sockets: the binary builds a [`Config`], binds a listener and calls [`run`].
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub(crate) mod arena;
pub(crate) mod blocking;
pub(crate) mod clients;
pub(crate) mod cmd;
pub mod config;
pub(crate) mod connection;
pub mod convlog;
pub(crate) mod db;
pub(crate) mod glob;
pub(crate) mod lanes;
pub(crate) mod lazyfree;
pub(crate) mod notify;
pub(crate) mod pubsub;
pub(crate) mod server;
pub mod shutdown;
pub(crate) mod stats;

pub use config::{Config, ConfigError, LogMode};
pub use lanes::LanePolicy;
pub use pubsub::OutputLimits;
pub use server::run;
pub use shutdown::Shutdown;

/// The runtime the server is meant to run on: lane 0 (see the `lanes` module), a tokio
/// current-thread runtime, whose park hooks measure how busy the lane is (for the balancer)
/// and write the pub/sub deliveries the lane deferred when it runs out of work (as Redis
/// writes its clients once per event-loop turn; see the `pubsub` module). [`run`] starts the
/// other lanes (`Config::threads`) itself. A current-thread runtime runs the tasks a poll of
/// the sockets woke in the order the events came, as Redis serves its clients (tokio's
/// multi-thread scheduler runs the last one woken first). [`run`] works on any tokio runtime;
/// without these hooks, subscribers are woken at once instead and connections never move
/// between lanes.
pub fn runtime_builder() -> tokio::runtime::Builder {
    lanes::lane_runtime(Default::default())
}

/// The Redis version confab reports to clients (HELLO, INFO), so client libraries enable the
/// features confab implements.
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";

/// confab's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
