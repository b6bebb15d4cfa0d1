//! `confab cli`: the interactive client. This module owns the flags ([`CliArgs`]), the exit
//! codes and the choice of mode (one-shot, stdin pipe, interactive prompt); the modes, the
//! connection, rendering, command docs and the conversation log live in the submodules.
//!
//! Exit codes: 0 success, 1 an error reply (one-shot and pipe modes), 2 bad usage or no
//! connection (refused, authentication failed), 3 the server shut down or the connection was
//! lost while the cli was running.

mod docs;
mod helper;
mod log;
mod oneshot;
mod render;
mod repl;
mod session;
mod term;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{ArgAction, Args};

/// Everything went well.
pub const EXIT_OK: i32 = 0;
/// At least one reply was an error.
pub const EXIT_ERROR_REPLY: i32 = 1;
/// Bad flags, or the server could not be reached or refused the credentials.
pub const EXIT_USAGE: i32 = 2;
/// The server announced shutdown or the connection dropped.
pub const EXIT_SERVER_GONE: i32 = 3;

/// Flags of `confab cli`, modelled on redis-cli's (`-h` is the host, so help is `--help` only).
#[derive(Args, Debug, Clone)]
#[command(
    disable_help_flag = true,
    after_long_help = AFTER_HELP,
    after_help = AFTER_HELP
)]
pub struct CliArgs {
    /// Server host name or address.
    #[arg(short = 'h', long = "host", default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(short = 'p', long = "port", default_value_t = 8080)]
    pub port: u16,
    /// Password: sent with HELLO ... AUTH (or AUTH on servers without HELLO).
    #[arg(
        short = 'a',
        long = "pass",
        value_name = "PASSWORD",
        env = "CONFAB_CLI_AUTH"
    )]
    pub password: Option<String>,
    /// ACL user name for AUTH (default: `default`). Needs -a.
    #[arg(long = "user", value_name = "USERNAME")]
    pub user: Option<String>,
    /// Database number (SELECT after connecting).
    #[arg(short = 'n', value_name = "DB", default_value_t = 0)]
    pub db: i64,
    /// Use RESP2 (HELLO 2). Shutdown is then only seen as a closed connection.
    #[arg(short = '2', conflicts_with = "resp3")]
    pub resp2: bool,
    /// Use RESP3 (HELLO 3), the default: maps, sets, doubles, and the shutdown push.
    #[arg(short = '3')]
    pub resp3: bool,
    /// Run the one-shot command this many times (-1: forever).
    #[arg(
        short = 'r',
        value_name = "COUNT",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub repeat: i64,
    /// Seconds to wait between repeats (-r), fractions allowed (e.g. 0.1).
    #[arg(short = 'i', value_name = "SECONDS", default_value_t = 0.0)]
    pub interval: f64,
    /// Client name set with HELLO ... SETNAME. Default: cli-<pid>.
    #[arg(long = "name")]
    pub name: Option<String>,
    /// Print bare values, one per line, as `redis-cli --raw`.
    #[arg(long, conflicts_with = "json")]
    pub raw: bool,
    /// Print each reply as one JSON value on one line (see the type mapping below).
    #[arg(long)]
    pub json: bool,
    /// History file of the interactive prompt. Default: ~/.confab_history.
    #[arg(long = "history-file", value_name = "FILE", env = "CONFAB_HISTORY")]
    pub history_file: Option<PathBuf>,
    /// Append every command, reply and event to FILE, in the server's conversation-log format.
    #[arg(long = "log", value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// When the server goes away, keep retrying (with backoff) instead of exiting with 3.
    #[arg(long)]
    pub reconnect: bool,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// The command to run once (one-shot mode). Without it: the prompt, or commands read
    /// line by line from stdin when stdin is not a terminal.
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        num_args = 0..
    )]
    pub command: Vec<String>,
}

const AFTER_HELP: &str = "\
Modes:
  confab cli SET k v           one-shot: run the command, print the reply, exit
  confab cli                   interactive prompt (history, Tab completion, hints, `help`)
  printf 'PING\\nGET k\\n' | confab cli
                               pipe: one command per stdin line (redis-cli quoting rules)
  After SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE messages are printed as they arrive until Ctrl+C.

Exit codes:
  0  success (also Ctrl+C in subscribe mode, exit/quit/Ctrl+D at the prompt)
  1  a reply was an error (one-shot and pipe modes)
  2  usage error, connection refused, or authentication rejected
  3  the server announced shutdown or the connection was lost (without --reconnect)

Output:
  default  redis-cli's format, even when stdout is not a terminal ((integer) 5, \"str\", 1) ...)
  --raw    bare values one per line, as redis-cli --raw
  --json   one JSON value per reply: bulk/simple/verbatim strings -> string (invalid UTF-8
           replaced), integer -> number, double -> number (\"inf\", \"-inf\", \"nan\" as strings),
           big number -> string of digits, boolean -> true/false, nil -> null,
           array/set/push -> array, map -> object (non-string keys written as their text),
           error -> {\"error\": \"ERR ...\"}";

/// Run `confab cli`; returns the process exit code.
pub fn run(args: CliArgs) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("confab cli: cannot start the runtime: {e}");
            return EXIT_USAGE;
        }
    };
    if args.repeat == 0 || !args.interval.is_finite() || args.interval < 0.0 {
        eprintln!("confab cli: -r must not be 0 and -i must be a non-negative number");
        return EXIT_USAGE;
    }
    let opts = session::Options::from_args(&args);
    if !args.command.is_empty() {
        rt.block_on(oneshot::run_once(opts, &args))
    } else if std::io::stdin().is_terminal() {
        repl::run(rt, opts, &args)
    } else {
        rt.block_on(oneshot::run_stdin(opts))
    }
}
