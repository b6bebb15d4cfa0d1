//! The interactive prompt. rustyline reads lines on this (blocking) thread; the connection
//! lives in a tokio task ([`Session::serve`]) that runs the commands sent to it and, between
//! them, watches the socket, so a server shutdown is reported (exit 3) at once rather than at
//! the next keypress. Local commands: `help [command|@group]`, `exit`, `quit`, `clear`.

use std::path::PathBuf;
use std::sync::Arc;

use confab_protocol::split_inline;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

use super::docs::CommandTable;
use super::helper::CliHelper;
use super::session::{Options, Request, Session};
use super::{term, CliArgs, EXIT_OK, EXIT_USAGE};

/// `--history-file`, `CONFAB_HISTORY`, else `~/.confab_history`; `None` if there is no home.
fn history_path(args: &CliArgs) -> Option<PathBuf> {
    if let Some(p) = &args.history_file {
        return (!p.as_os_str().is_empty()).then(|| p.clone());
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".confab_history"))
}

fn prompt(addr: &str, db: i64) -> String {
    if db == 0 {
        format!("confab {addr}> ")
    } else {
        format!("confab {addr}[{db}]> ")
    }
}

/// Run the prompt until exit/quit/Ctrl+D/Ctrl+C; returns the exit code.
pub fn run(rt: Runtime, opts: Options, args: &CliArgs) -> i32 {
    let addr = opts.addr();
    let mut session = match rt.block_on(Session::connect(opts)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("confab cli: {e}");
            return EXIT_USAGE;
        }
    };
    let table = rt
        .block_on(session.command_docs())
        .and_then(|f| CommandTable::from_reply(&f))
        .unwrap_or_else(CommandTable::builtin);
    let table = Arc::new(table);
    let mut db = session.db;

    let config = Config::builder()
        .max_history_size(1000)
        .and_then(|c| c.history_ignore_dups(true))
        .map(|c| c.completion_type(CompletionType::Circular).build());
    let mut editor: Editor<CliHelper, FileHistory> = match config.and_then(Editor::with_config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("confab cli: cannot set up the terminal: {e}");
            return EXIT_USAGE;
        }
    };
    editor.set_helper(Some(CliHelper::new(table.clone())));
    let history = history_path(args);
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }

    term::save();
    let (tx, rx) = mpsc::channel::<Request>(1);
    rt.spawn(session.serve(rx));

    loop {
        let line = match editor.readline(&prompt(&addr, db)) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) | Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("confab cli: {e}");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line.as_str());
        if let Some(h) = &history {
            if let Err(e) = editor.save_history(h) {
                eprintln!("confab cli: cannot save history to {}: {e}", h.display());
            }
        }
        let Some(words) = split_inline(line.as_bytes()) else {
            println!("Invalid argument(s)");
            continue;
        };
        let Some(first) = words.first() else { continue };
        let first = String::from_utf8_lossy(first).to_lowercase();
        match first.as_str() {
            "exit" | "quit" => break,
            "help" => {
                let topic: Vec<String> = words[1..]
                    .iter()
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect();
                print!("{}", table.help(&topic));
                continue;
            }
            "clear" => {
                let _ = editor.clear_screen();
                continue;
            }
            _ => {}
        }
        let (done, wait) = oneshot::channel();
        if tx.blocking_send(Request { args: words, done }).is_err() {
            break;
        }
        match wait.blocking_recv() {
            Ok(new_db) => db = new_db,
            Err(_) => break,
        }
    }
    EXIT_OK
}
