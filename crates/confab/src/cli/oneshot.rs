//! The non-interactive modes: one command from the command line (with `-r` repeats every
//! `-i` seconds), or one command per line of stdin. Exit code 1 if any reply was an error.

use std::time::Duration;

use bytes::Bytes;
use confab_protocol::split_inline;
use tokio::io::AsyncBufReadExt;

use super::session::{Options, Outcome, Session};
use super::{CliArgs, EXIT_ERROR_REPLY, EXIT_OK, EXIT_USAGE};

async fn connect(opts: Options) -> Result<Session, i32> {
    Session::connect(opts).await.map_err(|e| {
        eprintln!("confab cli: {e}");
        EXIT_USAGE
    })
}

fn code(failed: bool) -> i32 {
    if failed {
        EXIT_ERROR_REPLY
    } else {
        EXIT_OK
    }
}

/// `confab cli [flags] COMMAND ARGS...`
pub async fn run_once(opts: Options, args: &CliArgs) -> i32 {
    let mut s = match connect(opts).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let cmd: Vec<Bytes> = args
        .command
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    let mut failed = false;
    let mut done = 0i64;
    loop {
        failed |= s.run_command(&cmd).await == Outcome::ErrorReply;
        done += 1;
        if args.repeat > 0 && done >= args.repeat {
            break;
        }
        if args.interval > 0.0 {
            s.idle(Duration::from_secs_f64(args.interval)).await;
        }
    }
    code(failed)
}

/// Commands read from stdin, one a line, split with redis-cli's quoting rules.
pub async fn run_stdin(opts: Options) -> i32 {
    let mut s = match connect(opts).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut failed = false;
    loop {
        let line = match lines.next_line().await {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => {
                eprintln!("confab cli: reading stdin: {e}");
                return EXIT_USAGE;
            }
        };
        match split_inline(line.as_bytes()) {
            None => {
                eprintln!("Invalid argument(s): {line}");
                failed = true;
            }
            Some(words) if words.is_empty() => {}
            Some(words) => failed |= s.run_command(&words).await == Outcome::ErrorReply,
        }
    }
    code(failed)
}
