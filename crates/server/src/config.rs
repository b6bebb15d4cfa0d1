//! The validated server configuration.
//!
//! Owns the named defaults (as constants, each matching Redis's default where Redis has the
//! setting) and [`Config::validate`]. It does not parse flags, files or environment variables:
//! the binary does that and hands over a `Config`. Only `Config` reaches the server.

use std::path::PathBuf;
use std::time::Duration;

/// Default TCP port.
pub const DEFAULT_PORT: u16 = 8080;
/// Default bind address.
pub const DEFAULT_BIND: &str = "127.0.0.1";
/// Default maximum number of simultaneous clients (Redis `maxclients`).
pub const DEFAULT_MAXCLIENTS: usize = 10_000;
/// Default idle timeout in seconds; 0 disables it (Redis `timeout`).
pub const DEFAULT_TIMEOUT_SECS: u64 = 0;
/// Default largest bulk string a client may send (Redis `proto-max-bulk-len`).
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// Default largest multibulk count (Redis rejects counts above `INT_MAX`).
pub const DEFAULT_MAX_MULTIBULK_LEN: usize = i32::MAX as usize;
/// Default longest inline command line (Redis `PROTO_INLINE_MAX_SIZE`).
pub const DEFAULT_MAX_INLINE_LEN: usize = 64 * 1024;
/// Default query buffer limit per client (Redis `client-query-buffer-limit`).
pub const DEFAULT_QUERY_BUFFER_LIMIT: usize = 1024 * 1024 * 1024;
/// Default number of databases (Redis `databases`).
pub const DEFAULT_DATABASES: usize = 16;
/// Default conversation log file, relative to the working directory.
pub const DEFAULT_CONVERSATION_LOG: &str = "conversation_log.txt";
/// Default drain deadline for graceful shutdown.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Default active-expiry sweeps per second (Redis `hz`).
pub const DEFAULT_HZ: u32 = 10;
/// Output bytes a connection may accumulate within one batch before it flushes early; this
/// bounds per-connection memory when a client pipelines without reading.
pub const DEFAULT_OUTPUT_FLUSH_THRESHOLD: usize = 64 * 1024;

/// How the conversation log file is opened at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogMode {
    /// Empty the file at start (the default).
    #[default]
    Truncate,
    /// Keep what is there and append.
    Append,
}

/// Everything the server needs to run, validated once.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to bind (informational for the banner and INFO; the caller binds).
    pub bind: String,
    /// Port (0 = any free port).
    pub port: u16,
    /// Lanes: threads serving connections (lane 0 is the runtime [`crate::run`] runs on; see
    /// the `lanes` module).
    pub threads: usize,
    /// How connections are spread over the lanes.
    pub lane_policy: crate::lanes::LanePolicy,
    /// Maximum simultaneous clients.
    pub maxclients: usize,
    /// Idle seconds before a client is closed; 0 = never.
    pub timeout_secs: u64,
    /// Password required by AUTH / HELLO AUTH, if any.
    pub requirepass: Option<String>,
    /// Largest bulk string accepted from a client.
    pub max_bulk_len: usize,
    /// Largest multibulk count accepted from a client.
    pub max_multibulk_len: usize,
    /// Longest inline command line.
    pub max_inline_len: usize,
    /// Largest query buffer a client may accumulate before it is closed.
    pub query_buffer_limit: usize,
    /// Memory limit in bytes (Redis `maxmemory`; 0 = none): past it, commands that may grow
    /// memory are refused with `-OOM` (confab evicts nothing yet: every policy acts as
    /// `noeviction`).
    pub maxmemory: u64,
    /// Number of logical databases (SELECT 0..n-1).
    pub databases: usize,
    /// Conversation log path; `None` = off.
    pub conversation_log: Option<PathBuf>,
    /// Truncate or append at start.
    pub conversation_log_mode: LogMode,
    /// Rotate the conversation log when it grows past this many bytes; `None` = never.
    pub conversation_log_max_size: Option<u64>,
    /// Drain deadline for graceful shutdown.
    pub shutdown_timeout: Duration,
    /// Active-expiry sweeps per second.
    pub hz: u32,
    /// Flush a connection's output early once a batch's replies exceed this many bytes.
    pub output_flush_threshold: usize,
    /// Output limits of pub/sub subscribers (Redis `client-output-buffer-limit pubsub`).
    pub pubsub_limits: crate::pubsub::OutputLimits,
    /// The configuration file it was read from, if any (INFO `config_file`).
    pub config_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: DEFAULT_BIND.to_string(),
            port: DEFAULT_PORT,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            maxclients: DEFAULT_MAXCLIENTS,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            requirepass: None,
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_multibulk_len: DEFAULT_MAX_MULTIBULK_LEN,
            max_inline_len: DEFAULT_MAX_INLINE_LEN,
            query_buffer_limit: DEFAULT_QUERY_BUFFER_LIMIT,
            maxmemory: 0,
            databases: DEFAULT_DATABASES,
            conversation_log: Some(PathBuf::from(DEFAULT_CONVERSATION_LOG)),
            conversation_log_mode: LogMode::Truncate,
            conversation_log_max_size: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            hz: DEFAULT_HZ,
            output_flush_threshold: DEFAULT_OUTPUT_FLUSH_THRESHOLD,
            pubsub_limits: crate::pubsub::OutputLimits::default(),
            lane_policy: Default::default(),
            config_file: None,
        }
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {field}: {message}")]
pub struct ConfigError {
    /// The setting's name, as the flag spells it.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field,
        message: message.into(),
    }
}

impl Config {
    /// A configuration for tests: no conversation log, everything else default.
    pub fn for_tests() -> Self {
        Config {
            conversation_log: None,
            port: 0,
            ..Config::default()
        }
    }

    /// Check every value once; the server trusts a validated `Config`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.threads == 0 || self.threads > 1024 {
            return Err(bad("threads", "must be between 1 and 1024"));
        }
        if self.maxclients == 0 {
            return Err(bad("maxclients", "must be at least 1"));
        }
        if self.max_bulk_len < 1024 {
            return Err(bad("proto-max-bulk-len", "must be at least 1024"));
        }
        if self.max_multibulk_len == 0 {
            return Err(bad("max-multibulk-len", "must be at least 1"));
        }
        if self.max_inline_len < 64 {
            return Err(bad("max-inline-len", "must be at least 64"));
        }
        if self.query_buffer_limit < 1024 * 1024 {
            return Err(bad("client-query-buffer-limit", "must be at least 1mb"));
        }
        if self.databases == 0 || self.databases > 1024 {
            return Err(bad("databases", "must be between 1 and 1024"));
        }
        if self.hz == 0 || self.hz > 500 {
            return Err(bad("hz", "must be between 1 and 500"));
        }
        if let Some(0) = self.conversation_log_max_size {
            return Err(bad("conversation-log-max-size", "must be greater than 0"));
        }
        if let Some(p) = &self.conversation_log {
            if p.as_os_str().is_empty() {
                return Err(bad("conversation-log", "path is empty"));
            }
        }
        if self.shutdown_timeout > Duration::from_secs(3600) {
            return Err(bad("shutdown-timeout", "must be at most 3600 seconds"));
        }
        Ok(())
    }
}

/// Parse a size like `512mb`, `64kb`, `1gb` or `1000` (bytes), as Redis's config does.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = t.strip_suffix("gb") {
        (n, 1u64 << 30)
    } else if let Some(n) = t.strip_suffix("mb") {
        (n, 1 << 20)
    } else if let Some(n) = t.strip_suffix("kb") {
        (n, 1 << 10)
    } else if let Some(n) = t.strip_suffix('g') {
        (n, 1_000_000_000)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 1_000_000)
    } else if let Some(n) = t.strip_suffix('k') {
        (n, 1_000)
    } else if let Some(n) = t.strip_suffix('b') {
        (n, 1)
    } else {
        (t.as_str(), 1)
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
        assert_eq!(Config::for_tests().validate(), Ok(()));
    }

    #[test]
    fn bad_values_are_refused() {
        let c = Config {
            maxclients: 0,
            ..Config::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "maxclients");
        let c = Config {
            conversation_log_max_size: Some(0),
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512mb"), Some(512 << 20));
        assert_eq!(parse_size("64KB"), Some(64 << 10));
        assert_eq!(parse_size("10"), Some(10));
        assert_eq!(parse_size("1k"), Some(1000));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("-1"), None);
    }
}
