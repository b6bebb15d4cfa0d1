//! Connection-level behaviour: limits, idle timeout, CLIENT KILL, AUTH, MONITOR, the
//! conversation log and its redaction and rotation.

mod common;

use std::time::Duration;

use common::*;
use confab_client::Frame;
use confab_server::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxclients_refuses_one_more() {
    let srv = TestServer::start_with(Config {
        maxclients: 3,
        ..Config::for_tests()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = srv.client().await;
        assert_eq!(cmd(&mut c, &["PING"]).await, simple("PONG"));
        held.push(c);
    }
    let mut extra = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let got = read_raw(&mut extra, 100).await;
    assert_eq!(got, b"-ERR max number of clients reached\r\n");
    assert!(closed_by_server(&mut extra).await);
    // A slot frees when a client leaves.
    drop(held.pop());
    let ok = eventually(Duration::from_secs(5), || async {
        let Ok(mut c) = confab_client::Client::connect(srv.addr).await else {
            return false;
        };
        matches!(c.command(&["PING"]).await, Ok(Frame::Simple(_)))
    })
    .await;
    assert!(ok, "a freed slot was not reusable");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_closes_quiet_clients_only() {
    let srv = TestServer::start_with(Config {
        timeout_secs: 1,
        ..Config::for_tests()
    })
    .await;
    let mut idle = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let mut busy = srv.client().await;
    let started = std::time::Instant::now();
    // Keep `busy` active for longer than the timeout.
    while started.elapsed() < Duration::from_millis(1500) {
        assert_eq!(cmd(&mut busy, &["PING"]).await, simple("PONG"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(closed_by_server(&mut idle).await, "idle client not closed");
    assert_eq!(cmd(&mut busy, &["PING"]).await, simple("PONG"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_kill_and_list() {
    let srv = TestServer::start().await;
    let mut a = srv.client().await;
    let mut b = srv.client().await;
    assert_eq!(
        cmd(&mut b, &["CLIENT", "SETNAME", "victim"]).await,
        simple("OK")
    );
    let Frame::Integer(id) = cmd(&mut b, &["CLIENT", "ID"]).await else {
        panic!()
    };
    let list = cmd(&mut a, &["CLIENT", "LIST"]).await;
    let Frame::Bulk(text) = list else {
        panic!("{list:?}")
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    assert!(text.contains(&format!("id={id} ")), "{text}");
    assert!(text.contains("name=victim"), "{text}");
    assert_eq!(
        cmd(&mut a, &["CLIENT", "KILL", "ID", &id.to_string()]).await,
        Frame::Integer(1)
    );
    b.queue(&["PING"]);
    let _ = b.flush().await;
    assert!(matches!(
        b.read_frame_timeout(Duration::from_secs(5)).await,
        Ok(None) | Err(confab_client::Error::Io(_))
    ));
    assert_eq!(
        cmd(&mut a, &["CLIENT", "KILL", "127.0.0.1:1"]).await,
        error("ERR No such client")
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirepass_gates_commands() {
    let srv = TestServer::start_with(Config {
        requirepass: Some("s3cret".into()),
        ..Config::for_tests()
    })
    .await;
    let mut c = srv.client().await;
    assert_eq!(
        cmd(&mut c, &["GET", "k"]).await,
        error("NOAUTH Authentication required.")
    );
    assert_eq!(
        cmd(&mut c, &["AUTH", "wrong"]).await,
        error("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(cmd(&mut c, &["AUTH", "s3cret"]).await, simple("OK"));
    assert_eq!(cmd(&mut c, &["GET", "k"]).await, Frame::Null);
    let mut d = srv.client().await;
    let hello = cmd(
        &mut d,
        &["HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "x"],
    )
    .await;
    assert!(matches!(hello, Frame::Map(_)), "{hello:?}");
    assert_eq!(cmd(&mut d, &["CLIENT", "GETNAME"]).await, bulk("x"));
    // Unauthenticated clients get Redis's tighter framing limits.
    let mut raw = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    raw.write_all(b"*20\r\n").await.unwrap();
    assert_eq!(
        read_raw(&mut raw, 64).await,
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_streams_commands() {
    let srv = TestServer::start().await;
    let mut mon = srv.client().await;
    assert_eq!(cmd(&mut mon, &["MONITOR"]).await, simple("OK"));
    let mut c = srv.client().await;
    // MONITOR registration happens after its reply; retry until a command shows up.
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut ok = false;
    while std::time::Instant::now() < deadline {
        let _ = c.command(&["SET", "watched", "v a\"l"]).await;
        if let Ok(Some(Frame::Simple(line))) =
            mon.read_frame_timeout(Duration::from_millis(100)).await
        {
            seen = String::from_utf8_lossy(&line).into_owned();
            ok = true;
            break;
        }
    }
    assert!(ok, "monitor saw nothing");
    assert!(seen.contains(r#""SET" "watched" "v a\"l""#), "{seen}");
    assert!(seen.contains("[0 127.0.0.1:"), "{seen}");
    let _ = c.command(&["AUTH", "secret-password"]).await;
    let line = mon
        .read_frame_timeout(Duration::from_secs(5))
        .await
        .unwrap();
    let Some(Frame::Simple(line)) = line else {
        panic!("{line:?}")
    };
    let line = String::from_utf8_lossy(&line).into_owned();
    assert!(!line.contains("secret-password"), "{line}");
    srv.stop().await;
}

fn temp_log(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "confab-convlog-{}-{name}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("conv.txt")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversation_log_records_exchanges() {
    let path = temp_log("records");
    std::fs::write(&path, "old content\n").unwrap();
    let srv = TestServer::start_with(Config {
        conversation_log: Some(path.clone()),
        ..Config::for_tests()
    })
    .await;
    let mut c = srv.client().await;
    cmd(&mut c, &["HELLO", "2", "SETNAME", "cli-42"]).await;
    cmd(&mut c, &["SET", "5", "89"]).await;
    cmd(&mut c, &["GET", "5"]).await;
    let long = "x".repeat(1000);
    cmd(&mut c, &["SET", "big", &long]).await;
    cmd(&mut c, &["AUTH", "hunter2"]).await;
    cmd(&mut c, &["CONFIG", "SET", "requirepass", "topsecret"]).await;
    cmd(&mut c, &["CONFIG", "SET", "requirepass", ""]).await;
    drop(c);
    // Wait until the server has seen the close, so its reason is `eof`, not `shutdown`.
    let mut probe = srv.client().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let Frame::Bulk(t) = cmd(&mut probe, &["CLIENT", "LIST"]).await else {
            panic!("CLIENT LIST must reply a bulk string in RESP2")
        };
        if !String::from_utf8_lossy(&t).contains("name=cli-42") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "close never noticed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(probe);
    srv.stop().await;
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(!log.contains("old content"), "log not truncated at start");
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[0].contains("SYSTEM: Server launched on 127.0.0.1:"));
    assert!(log.contains("): GET 5\n"), "{log}");
    assert!(log.contains(": \"89\"\n"), "{log}");
    assert!(log.contains("Client 1 (cli-42 127.0.0.1:"), "{log}");
    assert!(log.contains("... (1000 bytes)"), "long value not cut");
    assert!(!log.contains(&long));
    assert!(
        !log.contains("hunter2") && !log.contains("topsecret"),
        "{log}"
    );
    assert!(log.contains("AUTH (redacted)"));
    assert!(log.contains("disconnected: eof"), "{log}");
    assert!(lines.last().unwrap().ends_with("SYSTEM: Server stopped"));
    for l in &lines {
        assert!(
            l.len() > 24 && l.as_bytes()[4] == b'-' && l.as_bytes()[23] == b'Z',
            "{l}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversation_log_append_and_rotation() {
    let path = temp_log("rotate");
    std::fs::write(&path, "kept line\n").unwrap();
    let srv = TestServer::start_with(Config {
        conversation_log: Some(path.clone()),
        conversation_log_mode: confab_server::LogMode::Append,
        conversation_log_max_size: Some(4096),
        ..Config::for_tests()
    })
    .await;
    let mut c = srv.client().await;
    for i in 0..200 {
        cmd(&mut c, &["SET", &format!("key:{i}"), "value"]).await;
    }
    drop(c);
    srv.stop().await;
    let mut rotated = path.clone().into_os_string();
    rotated.push(".1");
    let old = std::fs::read_to_string(&rotated).expect("rotated file exists");
    let cur = std::fs::read_to_string(&path).unwrap();
    assert!(
        cur.len() <= 4096 + 512,
        "current file too big: {}",
        cur.len()
    );
    assert!(!old.is_empty());
    assert!(cur.trim_end().ends_with("SYSTEM: Server stopped"));
}
