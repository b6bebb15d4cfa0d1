//! The binary's configuration sources and its terminal stop key, end to end.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{spawn_with_banner as start, TempDir};

fn stop(mut child: std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn flags_beat_env_beat_file() {
    let dir = TempDir::new("precedence");
    let file = dir.path("confab.toml");
    // The file asks for port 1, which this unprivileged-or-not test never gets to bind,
    // because the environment overrides it with 0 (any free port).
    std::fs::write(
        &file,
        "port = 1\nconversation-log = \"off\"\nmaxclients = 7\n",
    )
    .unwrap();
    let (child, addr) = start(
        Command::new(env!("CARGO_BIN_EXE_confab"))
            .args(["server", "--config"])
            .arg(&file)
            .env("CONFAB_PORT", "0"),
    );
    assert!(
        !addr.ends_with(":1"),
        "env did not override the file: {addr}"
    );
    // CONFIG GET shows the file's maxclients (nothing overrode it).
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", addr.rsplit(':').next().unwrap()])
        .args(["CONFIG", "GET", "maxclients"])
        .output();
    if let Ok(out) = out {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("maxclients") && text.contains('7'), "{text}");
    }
    stop(child);
    // A flag beats the environment.
    let (child, addr) = start(
        Command::new(env!("CARGO_BIN_EXE_confab"))
            .args(["server", "--port", "0", "--conversation-log", "off"])
            .env("CONFAB_PORT", "1"),
    );
    assert!(!addr.ends_with(":1"), "flag did not override env: {addr}");
    stop(child);
    // A bad file value is refused at start with a clear message and exit code 2.
    std::fs::write(&file, "port = \"eighty\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["server", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("confab.toml"));
}

/// `q` + Enter on the server's terminal stops it gracefully. A pseudo-terminal comes from
/// util-linux `script`; skipped where that is missing.
#[test]
fn q_enter_on_a_terminal_stops_the_server() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: `script` (util-linux) not installed; cannot make a terminal");
        return;
    }
    let dir = TempDir::new("q");
    let log = dir.path("conv.txt");
    let inner = format!(
        "{} server --port 0 --conversation-log {}",
        env!("CARGO_BIN_EXE_confab"),
        log.display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &inner, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).expect("no banner on the terminal");
        if line.contains("q + Enter") {
            break;
        }
    }
    child.stdin.as_mut().unwrap().write_all(b"q\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "q + Enter did not stop the server"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("Shutdown requested (q at the server terminal)"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("SYSTEM: Server stopped"));
}
