//! The real interactive prompt, driven in tmux: a command and its reply, history (Up arrow,
//! the history file), Tab completion, argument hints, `help`, and leaving with code 3 at
//! once when the server shuts down or dies, at the prompt and in subscribe mode. Skipped
//! (with a message) when tmux is not installed.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// One tmux server on a private socket, running the cli in a 200x50 window.
struct Tmux {
    socket: String,
    exit_file: PathBuf,
    stty_file: PathBuf,
    _dir: TempDir,
}

fn tmux_installed() -> bool {
    Command::new("tmux").arg("-V").output().is_ok()
}

impl Tmux {
    /// Run `confab cli -p PORT ARGS...`; when it ends its exit code goes to a file (and the
    /// terminal settings, to check they were restored) and the pane stays for capture.
    fn start(port: u16, args: &str, dir: TempDir) -> Tmux {
        Tmux::start_env(port, "", args, dir)
    }

    /// Like [`Tmux::start`] with `env` (e.g. `VAR=value`) in front of the command.
    fn start_env(port: u16, env: &str, args: &str, dir: TempDir) -> Tmux {
        let socket = format!(
            "confab-test-{}-{}",
            std::process::id(),
            dir.0.file_name().unwrap().to_string_lossy()
        );
        let exit_file = dir.path("exit");
        let stty_file = dir.path("stty");
        let cmd = format!(
            "{env} {} cli -p {port} {args}; echo $? > {}; stty -a > {}; sleep 60",
            bin(),
            exit_file.display(),
            stty_file.display()
        );
        let st = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", "main", "-x", "200", "-y", "50", &cmd])
            .env_remove("CONFAB_HISTORY")
            .status()
            .unwrap();
        assert!(st.success());
        Tmux {
            socket,
            exit_file,
            stty_file,
            _dir: dir,
        }
    }

    fn send(&self, keys: &[&str]) {
        let st = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "main"])
            .args(keys)
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Type literal text (no key names).
    fn type_text(&self, text: &str) {
        self.send(&["-l", text]);
    }

    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "main"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The last non-empty line of the screen.
    fn last_line(&self) -> String {
        self.capture()
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim_end()
            .to_string()
    }

    /// Poll the screen until `pred` holds.
    fn wait(&self, what: &str, limit: Duration, pred: impl Fn(&Tmux) -> bool) {
        let deadline = Instant::now() + limit;
        while !pred(self) {
            if Instant::now() >= deadline {
                panic!("waited for {what}; screen:\n{}", self.capture());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_screen(&self, needle: &str) {
        self.wait(needle, Duration::from_secs(10), |t| {
            t.capture().contains(needle)
        });
    }

    fn wait_last_line(&self, want: &str) {
        self.wait(
            &format!("last line {want:?}"),
            Duration::from_secs(10),
            |t| t.last_line() == want,
        );
    }

    /// The cli's exit code, once it has exited (within `limit`).
    fn exit_code(&self, limit: Duration) -> i32 {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(s) = std::fs::read_to_string(&self.exit_file) {
                if s.ends_with('\n') {
                    return s.trim().parse().unwrap();
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "cli did not exit within {limit:?}; screen:\n{}",
                    self.capture()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// After exit: the terminal is back in canonical mode with echo.
    fn assert_terminal_restored(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(s) = std::fs::read_to_string(&self.stty_file) {
                if s.contains("icanon") {
                    let words: Vec<&str> = s.split_whitespace().collect();
                    assert!(words.contains(&"icanon") && words.contains(&"echo"), "{s}");
                    return;
                }
            }
            assert!(Instant::now() < deadline, "no stty output");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn prompt_history_completion_hints_and_help() {
    if !tmux_installed() {
        println!("SKIPPED: tmux not installed");
        return;
    }
    let srv = Server::start(&[]);
    let dir = TempDir::new("tmux-prompt");
    let history = dir.path("history");
    let t = Tmux::start(
        srv.port,
        &format!("--history-file {}", history.display()),
        dir,
    );
    let prompt = format!("confab 127.0.0.1:{}>", srv.port);
    t.wait_last_line(&prompt);

    t.type_text("SET greeting \"hello world\"");
    t.send(&["Enter"]);
    t.wait_screen("\nOK\n");
    t.type_text("GET greeting");
    t.send(&["Enter"]);
    t.wait_screen("\"hello world\"");
    t.wait_last_line(&prompt);

    // Up recalls the previous command.
    t.send(&["Up"]);
    t.wait("history recall", Duration::from_secs(10), |t| {
        t.last_line().starts_with(&format!("{prompt} GET greeting"))
    });
    t.send(&["C-u"]);
    t.wait_last_line(&prompt);

    // Tab completes a command name (the hint for its key follows).
    t.type_text("HGETA");
    t.send(&["Tab"]);
    t.wait("completion", Duration::from_secs(10), |t| {
        t.last_line().starts_with(&format!("{prompt} HGETALL"))
    });
    t.send(&["C-u"]);
    t.wait_last_line(&prompt);

    // A hint shows the arguments still to type.
    t.type_text("SET k ");
    t.wait_last_line(&format!(
        "{prompt} SET k value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"
    ));
    t.send(&["C-u"]);
    t.wait_last_line(&prompt);

    t.type_text("help");
    t.send(&["Enter"]);
    t.wait_screen("\"help <command>\" for help on <command>");

    // help <command> from COMMAND DOCS.
    t.type_text("help hgetall");
    t.send(&["Enter"]);
    t.wait_screen("summary: Get all the fields and values in a hash");
    t.wait_screen("group: hash");

    // A nested reply keeps redis-cli's layout on the screen too.
    t.type_text("XADD s 1-1 f v");
    t.send(&["Enter"]);
    t.wait_screen("\"1-1\"");
    t.type_text("XRANGE s - +");
    t.send(&["Enter"]);
    t.wait_screen("1) 1) \"1-1\"\n   2) 1) \"f\"\n      2) \"v\"");

    t.type_text("exit");
    t.send(&["Enter"]);
    assert_eq!(t.exit_code(Duration::from_secs(5)), 0);
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("GET greeting"), "{saved}");
    assert!(saved.contains("XRANGE s - +"), "{saved}");
}

/// Ctrl+C on the server: the idle prompt prints the line and exits 3 within a second,
/// without a keypress, and leaves the terminal as it found it.
#[test]
fn prompt_reports_shutdown_at_once() {
    if !tmux_installed() {
        println!("SKIPPED: tmux not installed");
        return;
    }
    let mut srv = Server::start(&[]);
    let dir = TempDir::new("tmux-shutdown");
    // The history file named by CONFAB_HISTORY keeps what was typed, even after exit 3.
    let hist = dir.path("h");
    let t = Tmux::start_env(
        srv.port,
        &format!("CONFAB_HISTORY={}", hist.display()),
        "",
        dir,
    );
    let prompt = format!("confab 127.0.0.1:{}>", srv.port);
    t.wait_last_line(&prompt);
    t.type_text("PING");
    t.send(&["Enter"]);
    t.wait_screen("PONG");
    // Half-typed input must not delay the report.
    t.type_text("GET hal");
    t.wait_last_line(&format!("{prompt} GET hal"));
    let start = Instant::now();
    srv.signal(libc::SIGINT);
    assert_eq!(t.exit_code(Duration::from_secs(1)), 3);
    assert!(start.elapsed() < Duration::from_secs(1));
    t.wait_screen(&format!(
        "server at 127.0.0.1:{} is shutting down",
        srv.port
    ));
    t.assert_terminal_restored();
    srv.wait(Duration::from_secs(10));
}

#[test]
fn prompt_reports_a_killed_server() {
    if !tmux_installed() {
        println!("SKIPPED: tmux not installed");
        return;
    }
    let srv = Server::start(&[]);
    let dir = TempDir::new("tmux-kill");
    let hist = dir.path("h");
    let t = Tmux::start(srv.port, &format!("--history-file {}", hist.display()), dir);
    t.wait_last_line(&format!("confab 127.0.0.1:{}>", srv.port));
    let start = Instant::now();
    srv.signal(libc::SIGKILL);
    assert_eq!(t.exit_code(Duration::from_secs(1)), 3);
    assert!(start.elapsed() < Duration::from_secs(1));
    t.wait_screen("connection lost");
    t.assert_terminal_restored();
}

/// SUBSCRIBE typed at the prompt: messages appear as they arrive, and the server's Ctrl+C
/// ends the cli with 3 within a second.
#[test]
fn subscribe_at_the_prompt() {
    if !tmux_installed() {
        println!("SKIPPED: tmux not installed");
        return;
    }
    let mut srv = Server::start(&[]);
    let dir = TempDir::new("tmux-sub");
    let hist = dir.path("h");
    let t = Tmux::start(srv.port, &format!("--history-file {}", hist.display()), dir);
    t.wait_last_line(&format!("confab 127.0.0.1:{}>", srv.port));
    t.type_text("SUBSCRIBE news");
    t.send(&["Enter"]);
    t.wait_screen("Reading messages... (press Ctrl-C to quit)");
    t.wait_screen("3) (integer) 1");
    let out = cli(srv.port, &["PUBLISH", "news", "fresh"]);
    assert_eq!(stdout(&out), "(integer) 1\n");
    t.wait_screen("1) \"message\"\n2) \"news\"\n3) \"fresh\"");
    let start = Instant::now();
    srv.signal(libc::SIGINT);
    assert_eq!(t.exit_code(Duration::from_secs(1)), 3);
    assert!(start.elapsed() < Duration::from_secs(1));
    t.wait_screen("is shutting down");
    srv.wait(Duration::from_secs(10));
}

/// --reconnect at the prompt: the loss is reported once, the prompt stays, and commands work
/// again once a server listens on the port.
#[test]
fn prompt_reconnects() {
    if !tmux_installed() {
        println!("SKIPPED: tmux not installed");
        return;
    }
    let srv = Server::start(&[]);
    let port = srv.port;
    let dir = TempDir::new("tmux-reconnect");
    let hist = dir.path("h");
    let t = Tmux::start(
        port,
        &format!("--reconnect --history-file {}", hist.display()),
        dir,
    );
    t.wait_last_line(&format!("confab 127.0.0.1:{port}>"));
    srv.signal(libc::SIGKILL);
    drop(srv);
    t.wait_screen("connection lost; reconnecting to 127.0.0.1:");
    let _srv2 = Server::start_on(port, &[]);
    t.wait_screen(&format!("reconnected to 127.0.0.1:{port}"));
    t.type_text("ECHO back");
    t.send(&["Enter"]);
    t.wait_screen("\"back\"");
    assert_eq!(t.capture().matches("reconnecting").count(), 1);
    t.type_text("quit");
    t.send(&["Enter"]);
    assert_eq!(t.exit_code(Duration::from_secs(5)), 0);
}
