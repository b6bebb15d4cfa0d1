//! `confab server`: flags, environment variables and the TOML file, merged into one `Config`
//! (flags win over `CONFAB_*` environment variables, which win over the file, which wins over
//! the defaults), then the runtime, signals, banner and the server itself.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use confab_server::config::{self, parse_size};
use confab_server::{Config, LogMode, Shutdown};
use serde::Deserialize;

/// Flags of `confab server`. Every flag can also come from the environment variable named
/// in its help, or from the `--config` TOML file under the same name (e.g. `maxclients = 5`).
#[derive(Args, Debug, Default)]
pub struct ServerArgs {
    /// TOML configuration file; keys are the flag names (e.g. `port = 7000`).
    #[arg(long, env = "CONFAB_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "CONFAB_BIND", value_name = "ADDR")]
    bind: Option<String>,
    /// TCP port (0 picks a free port; the banner says which). Default 8080.
    #[arg(long, short = 'p', env = "CONFAB_PORT")]
    port: Option<u16>,
    /// Lanes: threads serving connections (lane 0 also accepts; busy lanes spread to free
    /// ones, see the README). Default: the number of cores.
    #[arg(long, env = "CONFAB_THREADS")]
    threads: Option<usize>,
    /// Most clients connected at once; one more gets `-ERR max number of clients reached`. Default 10000.
    #[arg(long, env = "CONFAB_MAXCLIENTS")]
    maxclients: Option<usize>,
    /// Close clients idle this many seconds (0 = never). Default 0.
    #[arg(long, env = "CONFAB_TIMEOUT", value_name = "SECS")]
    timeout: Option<u64>,
    /// Require this password (AUTH / HELLO AUTH default <password>).
    #[arg(long, env = "CONFAB_REQUIREPASS", value_name = "PASSWORD")]
    requirepass: Option<String>,
    /// Largest bulk string a client may send (e.g. 512mb). Default 512mb.
    #[arg(long, env = "CONFAB_PROTO_MAX_BULK_LEN", value_name = "SIZE")]
    proto_max_bulk_len: Option<String>,
    /// Largest number of elements in one command. Default 2147483647.
    #[arg(long, env = "CONFAB_MAX_MULTIBULK_LEN")]
    max_multibulk_len: Option<usize>,
    /// Longest inline command line (e.g. 64kb). Default 64kb.
    #[arg(long, env = "CONFAB_MAX_INLINE_LEN", value_name = "SIZE")]
    max_inline_len: Option<String>,
    /// Largest unprocessed input one client may accumulate (e.g. 1gb). Default 1gb.
    #[arg(long, env = "CONFAB_CLIENT_QUERY_BUFFER_LIMIT", value_name = "SIZE")]
    client_query_buffer_limit: Option<String>,
    /// Memory limit (e.g. 100mb; 0 = none): past it, commands that may grow memory get
    /// `-OOM`, as Redis's `noeviction` policy (confab evicts nothing yet). Default 0.
    #[arg(long, env = "CONFAB_MAXMEMORY", value_name = "SIZE")]
    maxmemory: Option<String>,
    /// Number of databases (SELECT 0..N-1). Default 16.
    #[arg(long, env = "CONFAB_DATABASES")]
    databases: Option<usize>,
    /// Conversation log file, or `off`. Default conversation_log.txt in the working directory.
    #[arg(long, env = "CONFAB_CONVERSATION_LOG", value_name = "PATH|off")]
    conversation_log: Option<String>,
    /// `truncate` (empty it at start, the default) or `append`.
    #[arg(long, env = "CONFAB_CONVERSATION_LOG_MODE", value_name = "MODE")]
    conversation_log_mode: Option<String>,
    /// Rotate the conversation log to PATH.1 when it passes this size (e.g. 100mb).
    #[arg(long, env = "CONFAB_CONVERSATION_LOG_MAX_SIZE", value_name = "SIZE")]
    conversation_log_max_size: Option<String>,
    /// Seconds to let connections drain at shutdown before closing them. Default 5.
    #[arg(long, env = "CONFAB_SHUTDOWN_TIMEOUT", value_name = "SECS")]
    shutdown_timeout: Option<f64>,
    /// Active expiry cycles per second (1-500). Default 10.
    #[arg(long, env = "CONFAB_HZ")]
    hz: Option<u32>,
    /// Pub/sub subscriber output limits, "HARD SOFT SECONDS" as Redis's
    /// `client-output-buffer-limit pubsub` (0 disables a limit). Default "32mb 8mb 60".
    #[arg(
        long,
        env = "CONFAB_PUBSUB_OUTPUT_LIMIT",
        value_name = "HARD SOFT SECS"
    )]
    pubsub_output_limit: Option<String>,
    /// Diagnostic log level on stderr: error, warn, info, debug, trace. Default info.
    #[arg(long, env = "CONFAB_LOG_LEVEL", value_name = "LEVEL")]
    log_level: Option<String>,
}

/// The same settings as read from the TOML file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    bind: Option<String>,
    port: Option<u16>,
    threads: Option<usize>,
    maxclients: Option<usize>,
    timeout: Option<u64>,
    requirepass: Option<String>,
    proto_max_bulk_len: Option<String>,
    max_multibulk_len: Option<usize>,
    max_inline_len: Option<String>,
    client_query_buffer_limit: Option<String>,
    maxmemory: Option<String>,
    databases: Option<usize>,
    conversation_log: Option<String>,
    conversation_log_mode: Option<String>,
    conversation_log_max_size: Option<String>,
    shutdown_timeout: Option<f64>,
    hz: Option<u32>,
    pubsub_output_limit: Option<String>,
    log_level: Option<String>,
}

fn size(name: &str, v: &str) -> anyhow::Result<usize> {
    parse_size(v)
        .and_then(|n| usize::try_from(n).ok())
        .with_context(|| format!("{name}: '{v}' is not a size (examples: 1000, 64kb, 512mb, 1gb)"))
}

/// `"32mb 8mb 60"` → hard, soft, soft seconds.
fn parse_output_limit(v: &str) -> anyhow::Result<confab_server::OutputLimits> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    let [hard, soft, secs] = parts[..] else {
        bail!("pubsub-output-limit: '{v}' must be three values: HARD SOFT SECONDS (e.g. \"32mb 8mb 60\")");
    };
    Ok(confab_server::OutputLimits {
        hard: size("pubsub-output-limit", hard)?,
        soft: size("pubsub-output-limit", soft)?,
        soft_seconds: secs
            .parse()
            .with_context(|| format!("pubsub-output-limit: '{secs}' is not a number of seconds"))?,
    })
}

/// Merge flags/env over the file over defaults, and validate.
fn build_config(args: &ServerArgs) -> anyhow::Result<(Config, String)> {
    let file: FileConfig = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("parsing config file {}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let mut c = Config {
        config_file: args
            .config
            .as_ref()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
        ..Config::default()
    };
    macro_rules! pick {
        ($field:ident) => {
            args.$field.clone().or(file.$field.clone())
        };
    }
    if let Some(v) = pick!(bind) {
        c.bind = v;
    }
    if let Some(v) = pick!(port) {
        c.port = v;
    }
    if let Some(v) = pick!(threads) {
        c.threads = v;
    }
    if let Some(v) = pick!(maxclients) {
        c.maxclients = v;
    }
    if let Some(v) = pick!(timeout) {
        c.timeout_secs = v;
    }
    if let Some(v) = pick!(requirepass) {
        c.requirepass = (!v.is_empty()).then_some(v);
    }
    if let Some(v) = pick!(proto_max_bulk_len) {
        c.max_bulk_len = size("proto-max-bulk-len", &v)?;
    }
    if let Some(v) = pick!(max_multibulk_len) {
        c.max_multibulk_len = v;
    }
    if let Some(v) = pick!(max_inline_len) {
        c.max_inline_len = size("max-inline-len", &v)?;
    }
    if let Some(v) = pick!(client_query_buffer_limit) {
        c.query_buffer_limit = size("client-query-buffer-limit", &v)?;
    }
    if let Some(v) = pick!(maxmemory) {
        c.maxmemory = parse_size(&v)
            .with_context(|| format!("maxmemory: '{v}' is not a size (examples: 0, 100mb, 2gb)"))?;
    }
    if let Some(v) = pick!(databases) {
        c.databases = v;
    }
    if let Some(v) = pick!(conversation_log) {
        c.conversation_log = if v.eq_ignore_ascii_case("off") {
            None
        } else {
            Some(PathBuf::from(v))
        };
    }
    if let Some(v) = pick!(conversation_log_mode) {
        c.conversation_log_mode = match v.to_ascii_lowercase().as_str() {
            "truncate" => LogMode::Truncate,
            "append" => LogMode::Append,
            _ => bail!("conversation-log-mode: '{v}' must be 'truncate' or 'append'"),
        };
    }
    if let Some(v) = pick!(conversation_log_max_size) {
        c.conversation_log_max_size = Some(size("conversation-log-max-size", &v)? as u64);
    }
    if let Some(v) = pick!(shutdown_timeout) {
        if !(v.is_finite() && v >= 0.0) {
            bail!("shutdown-timeout: '{v}' must be a number of seconds >= 0");
        }
        c.shutdown_timeout = Duration::from_secs_f64(v.min(1e6));
    }
    if let Some(v) = pick!(hz) {
        c.hz = v;
    }
    if let Some(v) = pick!(pubsub_output_limit) {
        c.pubsub_limits = parse_output_limit(&v)?;
    }
    let level = pick!(log_level).unwrap_or_else(|| "info".into());
    if !matches!(
        level.to_ascii_lowercase().as_str(),
        "error" | "warn" | "info" | "debug" | "trace"
    ) {
        bail!("log-level: '{level}' must be one of error, warn, info, debug, trace");
    }
    c.validate()?;
    Ok((c, level))
}

/// Run `confab server`; returns the process exit code.
pub fn run(args: ServerArgs) -> i32 {
    let (config, level) = match build_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("confab server: {e:#}");
            return 2;
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(format!("{level},confab_server={level}"))
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match confab_server::runtime_builder().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("confab server: cannot start the runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("confab server: {e:#}");
            1
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = format!("{}:{}", config.bind, config.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let shutdown = Shutdown::new();
    banner(&config, local);
    spawn_signal_watchers(shutdown.clone());
    confab_server::run(listener, config, shutdown)
        .await
        .context("server failed")
}

fn banner(c: &Config, local: std::net::SocketAddr) {
    let log = match &c.conversation_log {
        None => "off".to_string(),
        Some(p) => format!(
            "{} ({})",
            p.display(),
            match c.conversation_log_mode {
                LogMode::Truncate => "truncated at start",
                LogMode::Append => "appending",
            }
        ),
    };
    eprintln!("confab {} server", confab_server::VERSION);
    eprintln!("  listening on      {local}");
    eprintln!("  threads           {}", c.threads);
    eprintln!("  conversation log  {log}");
    eprintln!(
        "  limits            maxclients {}, timeout {}s, bulk {} bytes, inline {} bytes, query buffer {} bytes, maxmemory {}",
        c.maxclients,
        c.timeout_secs,
        c.max_bulk_len,
        c.max_inline_len,
        c.query_buffer_limit,
        if c.maxmemory == 0 {
            "none".to_string()
        } else {
            format!("{} bytes", c.maxmemory)
        }
    );
    eprintln!(
        "  auth              {}",
        if c.requirepass.is_some() {
            "password required"
        } else {
            "none"
        }
    );
    if std::io::stdin().is_terminal() {
        eprintln!("  stop with Ctrl+C, SIGTERM, SHUTDOWN, or q + Enter");
    } else {
        eprintln!("  stop with Ctrl+C, SIGTERM or SHUTDOWN");
    }
    let _ = config::DEFAULT_PORT;
}

/// Ctrl+C (twice exits at once), SIGTERM, and `q` + Enter when stdin is a terminal.
fn spawn_signal_watchers(shutdown: Shutdown) {
    let s = shutdown.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "confab: Ctrl+C received, shutting down (press Ctrl+C again to exit at once)"
            );
            s.trigger("SIGINT");
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("confab: second Ctrl+C, exiting now");
                std::process::exit(130);
            }
        }
    });
    #[cfg(unix)]
    {
        let s = shutdown.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            if let Ok(mut term) = signal(SignalKind::terminate()) {
                if term.recv().await.is_some() {
                    eprintln!("confab: SIGTERM received, shutting down");
                    s.trigger("SIGTERM");
                }
            }
        });
    }
    if std::io::stdin().is_terminal() {
        std::thread::spawn(move || {
            let mut line = String::new();
            loop {
                line.clear();
                match std::io::stdin().read_line(&mut line) {
                    Ok(0) | Err(_) => return, // stdin closed: keep serving
                    Ok(_) if line.trim().eq_ignore_ascii_case("q") => {
                        eprintln!("confab: q received, shutting down");
                        shutdown.trigger("q at the server terminal");
                        return;
                    }
                    Ok(_) => {}
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file() {
        let dir = std::env::temp_dir().join(format!("confab-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(
            &path,
            "port = 7000\nmaxclients = 5\nconversation-log = \"off\"\n",
        )
        .unwrap();
        let args = ServerArgs {
            config: Some(path.clone()),
            port: Some(7001),
            ..Default::default()
        };
        let (c, _) = build_config(&args).unwrap();
        assert_eq!(c.port, 7001);
        assert_eq!(c.maxclients, 5);
        assert!(c.conversation_log.is_none());
        std::fs::write(&path, "bogus = 1\n").unwrap();
        assert!(build_config(&args).is_err());
    }

    #[test]
    fn bad_values_refused() {
        let args = ServerArgs {
            maxclients: Some(0),
            ..Default::default()
        };
        assert!(build_config(&args).is_err());
        let args = ServerArgs {
            proto_max_bulk_len: Some("lots".into()),
            ..Default::default()
        };
        assert!(build_config(&args).is_err());
        let args = ServerArgs {
            conversation_log_mode: Some("rotate".into()),
            ..Default::default()
        };
        assert!(build_config(&args).is_err());
        let args = ServerArgs {
            pubsub_output_limit: Some("32mb 8mb".into()),
            ..Default::default()
        };
        assert!(build_config(&args).is_err());
        let args = ServerArgs {
            pubsub_output_limit: Some("1mb 0 0".into()),
            ..Default::default()
        };
        let (c, _) = build_config(&args).unwrap();
        assert_eq!(c.pubsub_limits.hard, 1 << 20);
        assert_eq!(c.pubsub_limits.soft, 0);
    }
}
