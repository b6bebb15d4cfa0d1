//! The binary's graceful shutdown, end to end: start `confab server`, keep clients busy, send
//! a signal, and check the exit code, the replies, the RESP3 notice and the conversation log.

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{signal, spawn_with_banner, wait_exit, TempDir};
use confab_client::{Client, Frame};

struct Server {
    child: Child,
    addr: String,
    log: std::path::PathBuf,
    _dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(log_on: bool, extra: &[&str]) -> Server {
    let dir = TempDir::new("shutdown");
    let log = dir.path("conv.txt");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_confab"));
    cmd.args(["server", "--port", "0", "--conversation-log"]);
    if log_on {
        cmd.arg(&log);
    } else {
        cmd.arg("off");
    }
    let (child, addr) = spawn_with_banner(
        cmd.args(extra)
            .env_remove("CONFAB_PORT")
            .env_remove("CONFAB_CONFIG"),
    );
    Server {
        child,
        addr,
        log,
        _dir: dir,
    }
}

/// Keep pipelining INCRs until the server closes; return the counter values received.
async fn busy(addr: String, key: String) -> Vec<i64> {
    let mut c = Client::connect(addr).await.unwrap();
    let mut got = Vec::new();
    'outer: for _ in 0..100_000 {
        for _ in 0..50 {
            c.queue(&["INCR", key.as_str()]);
        }
        if c.flush().await.is_err() {
            break;
        }
        for _ in 0..50 {
            match c.read_frame().await {
                Ok(Some(Frame::Integer(n))) => got.push(n),
                Ok(Some(other)) => panic!("unexpected reply {other:?}"),
                // Closed by the server at a frame boundary: fine. A partial frame would be
                // Err(Closed) / Err(Protocol) and fail below.
                Ok(None) => break 'outer,
                Err(confab_client::Error::Io(_)) => break 'outer,
                Err(e) => panic!("reply cut mid-frame: {e}"),
            }
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_drains_notifies_and_exits_zero() {
    let mut srv = start(true, &[]);
    // A RESP3 client idling, and one that is a subscriber-like listener.
    let mut resp3 = Client::connect(srv.addr.clone()).await.unwrap();
    let hello = resp3.hello(3, Some("listener")).await.unwrap();
    assert!(matches!(hello, Frame::Map(_)));
    // Busy RESP2 clients.
    let workers: Vec<_> = (0..4)
        .map(|i| tokio::spawn(busy(srv.addr.clone(), format!("counter:{i}"))))
        .collect();
    // Let them get going: poll until the counters move.
    let mut probe = Client::connect(srv.addr.clone()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Frame::Bulk(b) = probe.command(&["GET", "counter:3"]).await.unwrap() {
            if std::str::from_utf8(&b).unwrap().parse::<i64>().unwrap() > 1000 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "workers never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    signal(&srv.child, libc::SIGINT);

    // The RESP3 client gets the shutdown push, then the close.
    let push = resp3
        .read_frame_timeout(Duration::from_secs(10))
        .await
        .unwrap();
    match push {
        Some(Frame::Push(items)) => {
            assert_eq!(items[0], Frame::Bulk("shutdown".into()));
            assert_eq!(items[1], Frame::Bulk("SIGINT".into()));
        }
        other => panic!("expected a shutdown push, got {other:?}"),
    }
    assert!(matches!(
        resp3.read_frame_timeout(Duration::from_secs(10)).await,
        Ok(None) | Err(confab_client::Error::Io(_))
    ));

    // Every reply a worker received is whole and in order: consecutive counter values.
    for w in workers {
        let got = w.await.unwrap();
        assert!(got.len() > 100, "worker barely ran: {}", got.len());
        for pair in got.windows(2) {
            assert_eq!(pair[1], pair[0] + 1, "a reply was lost or reordered");
        }
    }

    let status = wait_exit(&mut srv.child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "graceful shutdown must exit 0");

    let log = std::fs::read_to_string(&srv.log).unwrap();
    let last = log.lines().last().unwrap_or_default();
    assert!(
        last.ends_with("SYSTEM: Server stopped"),
        "last line: {last}"
    );
    assert!(log.contains("SYSTEM: Shutdown requested (SIGINT)"));
    assert!(
        log.contains("(listener 127.0.0.1:"),
        "named client in the log"
    );
    let closed = log
        .lines()
        .filter(|l| l.contains("disconnected: shutdown"))
        .count();
    assert!(
        closed >= 5,
        "every client closed with reason shutdown: {closed}"
    );
    // Every command logged has its reply logged (the log was flushed whole).
    let cmds = log
        .lines()
        .filter(|l| l.contains(" Client ") && l.contains("): "))
        .count();
    let replies = log.lines().filter(|l| l.contains(" Server -> ")).count();
    assert!(cmds > 1000);
    assert_eq!(cmds, replies);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_closed_stdin() {
    // stdin is /dev/null (closed for reading): the server must keep serving.
    let mut srv = start(true, &["--conversation-log-mode", "append"]);
    let mut c = Client::connect(srv.addr.clone()).await.unwrap();
    assert_eq!(
        c.command(&["PING"]).await.unwrap(),
        Frame::Simple("PONG".into())
    );
    assert!(
        srv.child.try_wait().unwrap().is_none(),
        "closed stdin stopped the server"
    );
    signal(&srv.child, libc::SIGTERM);
    let status = wait_exit(&mut srv.child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    let log = std::fs::read_to_string(&srv.log).unwrap();
    assert!(log.contains("Shutdown requested (SIGTERM)"));
    assert!(log.trim_end().ends_with("SYSTEM: Server stopped"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_command_exits_zero() {
    let mut srv = start(false, &[]);
    let mut c = Client::connect(srv.addr.clone()).await.unwrap();
    c.queue(&["SHUTDOWN"]);
    c.flush().await.unwrap();
    // SHUTDOWN has no reply on success: the connection just closes.
    assert!(matches!(
        c.read_frame_timeout(Duration::from_secs(10)).await,
        Ok(None) | Err(confab_client::Error::Io(_))
    ));
    let status = wait_exit(&mut srv.child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn bad_flags_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["server", "--maxclients", "0", "--conversation-log", "off"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("maxclients"), "{err}");
    let help = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["server", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--bind",
        "--port",
        "--threads",
        "--maxclients",
        "--timeout",
        "--requirepass",
        "--conversation-log",
        "--conversation-log-mode",
        "--conversation-log-max-size",
        "--shutdown-timeout",
        "--config",
        "--log-level",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
}
