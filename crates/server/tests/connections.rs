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

/// CLIENT LIST names the last command as Redis does (`config|get` for a subcommand, `NULL`
/// after an unknown one, a queued command inside MULTI), shows `multi=` and `ssub=`, and INFO
/// commandstats counts subcommands on their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_list_shows_last_command_and_transaction() {
    let srv = TestServer::start().await;
    let mut me = srv.client().await;
    let mut b = srv.client().await;
    let Frame::Integer(id) = cmd(&mut b, &["CLIENT", "ID"]).await else {
        panic!()
    };
    let id = id.to_string();
    async fn client_line(me: &mut confab_client::Client, id: &str) -> String {
        match cmd(me, &["CLIENT", "LIST", "ID", id]).await {
            Frame::Bulk(t) => String::from_utf8_lossy(&t).into_owned(),
            other => panic!("{other:?}"),
        }
    }
    let _ = cmd(&mut b, &["CONFIG", "GET", "timeout"]).await;
    assert!(client_line(&mut me, &id).await.contains(" cmd=config|get "));
    let _ = cmd(&mut b, &["NOSUCHCOMMAND"]).await;
    assert!(client_line(&mut me, &id).await.contains(" cmd=NULL "));
    let _ = cmd(&mut b, &["CONFIG", "NOSUCHSUB"]).await;
    assert!(client_line(&mut me, &id).await.contains(" cmd=NULL "));
    assert_eq!(cmd(&mut b, &["MULTI"]).await, simple("OK"));
    assert_eq!(cmd(&mut b, &["GET", "x"]).await, simple("QUEUED"));
    let line = client_line(&mut me, &id).await;
    assert!(
        line.contains(" flags=x ") && line.contains(" multi=1 ") && line.contains(" cmd=get "),
        "{line}"
    );
    // CLIENT SETINFO (Redis 7.2's, which confab serves) queues like any subcommand.
    assert_eq!(
        cmd(&mut b, &["CLIENT", "SETINFO", "lib-name", "lib"]).await,
        simple("QUEUED")
    );
    assert_eq!(
        cmd(&mut b, &["EXEC"]).await,
        Frame::Array(vec![Frame::Null, simple("OK")])
    );
    let line = client_line(&mut me, &id).await;
    assert!(
        line.contains(" flags=N ") && line.contains(" multi=-1 "),
        "{line}"
    );
    assert!(line.contains(" lib-name=lib "), "{line}");
    // d: a watched key changed; e: CLIENT NO-EVICT on.
    assert_eq!(cmd(&mut b, &["WATCH", "wx"]).await, simple("OK"));
    assert_eq!(cmd(&mut me, &["SET", "wx", "1"]).await, simple("OK"));
    assert_eq!(
        cmd(&mut b, &["CLIENT", "NO-EVICT", "on"]).await,
        simple("OK")
    );
    let line = client_line(&mut me, &id).await;
    assert!(line.contains(" flags=de "), "{line}");
    assert_eq!(cmd(&mut b, &["UNWATCH"]).await, simple("OK"));
    assert_eq!(
        cmd(&mut b, &["CLIENT", "NO-EVICT", "off"]).await,
        simple("OK")
    );
    let line = client_line(&mut me, &id).await;
    assert!(line.contains(" flags=N "), "{line}");
    b.queue(&["SSUBSCRIBE", "s1", "s2"]);
    b.flush().await.unwrap();
    for _ in 0..2 {
        b.read_frame_timeout(Duration::from_secs(5)).await.unwrap();
    }
    let line = client_line(&mut me, &id).await;
    assert!(
        line.contains(" flags=P ") && line.contains(" sub=0 psub=0 ssub=2 "),
        "{line}"
    );
    let Frame::Bulk(stats) = cmd(&mut me, &["INFO", "commandstats"]).await else {
        panic!()
    };
    let stats = String::from_utf8_lossy(&stats);
    assert!(stats.contains("\r\ncmdstat_config|get:calls=1,"), "{stats}");
    assert!(stats.contains("\r\ncmdstat_client|list:calls="), "{stats}");
    assert!(!stats.contains("cmdstat_config:"), "{stats}");
    srv.stop().await;
}

/// CLIENT PAUSE WRITE holds writes (and EXEC of a transaction that writes) until CLIENT
/// UNPAUSE, while reads and commands with errors are answered at once; CLIENT PAUSE ALL holds
/// everything until its time runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_pause_holds_writes_or_everything() {
    let srv = TestServer::start().await;
    let mut ctl = srv.client().await;
    let mut w = srv.client().await;
    assert_eq!(cmd(&mut w, &["SET", "k", "1"]).await, simple("OK"));
    assert_eq!(
        cmd(&mut ctl, &["CLIENT", "PAUSE", "100000", "WRITE"]).await,
        simple("OK")
    );
    assert_eq!(cmd(&mut w, &["GET", "k"]).await, Frame::Bulk("1".into()));
    assert!(matches!(cmd(&mut w, &["SET", "k"]).await, Frame::Error(_)));
    w.queue(&["SET", "k", "2"]);
    w.queue(&["GET", "k"]);
    w.flush().await.unwrap();
    assert!(
        w.read_frame_timeout(Duration::from_millis(200))
            .await
            .is_err(),
        "a write ran during CLIENT PAUSE WRITE"
    );
    let Frame::Bulk(list) = cmd(&mut ctl, &["CLIENT", "LIST"]).await else {
        panic!()
    };
    assert!(String::from_utf8_lossy(&list).contains(" flags=b "));
    // INFO counts the held client as blocked, as Redis counts its postponed clients.
    async fn blocked_clients(c: &mut confab_client::Client) -> String {
        let Frame::Bulk(info) = cmd(c, &["INFO", "clients"]).await else {
            panic!()
        };
        let info = String::from_utf8_lossy(&info).into_owned();
        info.lines()
            .find(|l| l.starts_with("blocked_clients:"))
            .unwrap_or_default()
            .to_string()
    }
    assert_eq!(blocked_clients(&mut ctl).await, "blocked_clients:1");
    assert_eq!(cmd(&mut ctl, &["GET", "k"]).await, Frame::Bulk("1".into()));
    assert_eq!(cmd(&mut ctl, &["CLIENT", "UNPAUSE"]).await, simple("OK"));
    assert_eq!(
        w.read_frame_timeout(Duration::from_secs(5)).await.unwrap(),
        Some(simple("OK"))
    );
    assert_eq!(
        w.read_frame_timeout(Duration::from_secs(5)).await.unwrap(),
        Some(Frame::Bulk("2".into()))
    );
    assert_eq!(blocked_clients(&mut ctl).await, "blocked_clients:0");

    // ALL: even a PING waits for the pause to run out.
    assert_eq!(
        cmd(&mut ctl, &["CLIENT", "PAUSE", "300", "ALL"]).await,
        simple("OK")
    );
    let started = std::time::Instant::now();
    assert_eq!(cmd(&mut w, &["PING"]).await, simple("PONG"));
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(cmd(&mut w, &["PING"]).await, simple("PONG"));
    assert_eq!(
        cmd(&mut ctl, &["CLIENT", "PAUSE", "-1"]).await,
        error("ERR timeout is negative")
    );
    srv.stop().await;
}

/// Whether the server closed `c`'s connection (a PING gets no reply but EOF or an error).
async fn client_gone(c: &mut confab_client::Client) -> bool {
    c.queue(&["PING"]);
    let _ = c.flush().await;
    matches!(
        c.read_frame_timeout(Duration::from_secs(5)).await,
        Ok(None) | Err(confab_client::Error::Io(_))
    )
}

/// CLIENT KILL TYPE picks clients by type, as CLIENT LIST TYPE shows them: a subscriber is
/// `pubsub`, not `normal`; CLIENT LIST ID lists each id given, in the order given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_kill_by_type() {
    let srv = TestServer::start().await;
    let mut me = srv.client().await;
    let mut plain = srv.client().await;
    let mut sub = srv.client().await;
    let id_of = |f: Frame| match f {
        Frame::Integer(i) => i,
        other => panic!("{other:?}"),
    };
    let plain_id = id_of(cmd(&mut plain, &["CLIENT", "ID"]).await);
    let sub_id = id_of(cmd(&mut sub, &["CLIENT", "ID"]).await);
    let _ = cmd(&mut sub, &["SUBSCRIBE", "ch"]).await;
    let list = cmd(
        &mut me,
        &[
            "CLIENT",
            "LIST",
            "ID",
            &sub_id.to_string(),
            &plain_id.to_string(),
            &sub_id.to_string(),
        ],
    )
    .await;
    let Frame::Bulk(text) = list else {
        panic!("{list:?}")
    };
    let ids: Vec<String> = String::from_utf8_lossy(&text)
        .lines()
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        [
            format!("id={sub_id}"),
            format!("id={plain_id}"),
            format!("id={sub_id}")
        ]
    );
    for t in ["master", "replica", "slave"] {
        assert_eq!(
            cmd(&mut me, &["CLIENT", "KILL", "TYPE", t]).await,
            Frame::Integer(0)
        );
    }
    assert_eq!(
        cmd(&mut me, &["CLIENT", "KILL", "TYPE", "pubsub"]).await,
        Frame::Integer(1)
    );
    assert!(client_gone(&mut sub).await, "subscriber not killed");
    assert_eq!(cmd(&mut plain, &["PING"]).await, simple("PONG"));
    assert_eq!(
        cmd(
            &mut me,
            &["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]
        )
        .await,
        Frame::Integer(1)
    );
    assert!(client_gone(&mut plain).await, "normal client not killed");
    assert_eq!(cmd(&mut me, &["PING"]).await, simple("PONG"));
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
            if seen.contains("[0 system:0]") {
                continue; // a client connecting (see monitor_shows_system_events)
            }
            ok = true;
            break;
        }
    }
    assert!(ok, "monitor saw nothing");
    assert!(seen.contains(r#""SET" "watched" "v a\"l""#), "{seen}");
    assert!(seen.contains("[0 127.0.0.1:"), "{seen}");
    let _ = c.command(&["AUTH", "secret-password"]).await;
    // (Later lines may still be the retried SETs above.)
    let line = monitor_until(&mut mon, "\"AUTH\"").await;
    assert!(!line.contains("secret-password"), "{line}");
    assert!(line.ends_with(r#""AUTH" "(redacted)""#), "{line}");
    // A secret config value is hidden even when the command fails (unknown parameter).
    let _ = c
        .command(&["CONFIG", "SET", "masterauth", "secret-two", "no-such", "x"])
        .await;
    let line = monitor_until(&mut mon, "\"CONFIG\"").await;
    assert!(!line.contains("secret-two"), "{line}");
    assert!(
        line.ends_with(r#""CONFIG" "SET" "masterauth" "(redacted)" "no-such" "x""#),
        "{line}"
    );
    // A transaction shows MULTI, then its commands as EXEC runs them, then EXEC.
    c.queue(&["MULTI"]);
    c.queue(&["SET", "tx-key", "1"]);
    c.queue(&["INCR", "tx-key"]);
    c.queue(&["EXEC"]);
    c.flush().await.unwrap();
    for _ in 0..4 {
        c.read_frame_timeout(Duration::from_secs(5)).await.unwrap();
    }
    let mut order = Vec::new();
    for want in [
        "\"MULTI\"",
        "\"SET\" \"tx-key\"",
        "\"INCR\" \"tx-key\"",
        "\"EXEC\"",
    ] {
        order.push(monitor_until(&mut mon, want).await);
    }
    assert!(order[3].ends_with("\"EXEC\""), "{order:?}");
    srv.stop().await;
}

/// Read MONITOR lines until one contains `want` (panics after 5 s with what was seen).
async fn monitor_until(mon: &mut confab_client::Client, want: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        if let Ok(Some(Frame::Simple(line))) =
            mon.read_frame_timeout(Duration::from_millis(200)).await
        {
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.contains(want) {
                return line;
            }
            seen.push(line.chars().take(120).collect::<String>());
        }
    }
    let tail = &seen[seen.len().saturating_sub(10)..];
    panic!(
        "MONITOR never showed {want:?}; saw {} lines, the last: {tail:#?}",
        seen.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_shows_system_events() {
    let srv = TestServer::start_with(Config {
        pubsub_limits: confab_server::OutputLimits {
            hard: 256 * 1024,
            soft: 0,
            soft_seconds: 0,
        },
        ..Config::for_tests()
    })
    .await;
    let mut mon = srv.client().await;
    assert_eq!(cmd(&mut mon, &["MONITOR"]).await, simple("OK"));
    let mut c = srv.client().await;
    // MONITOR registration happens after its reply: wait until it sees a command.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let _ = c.command(&["PING", "monitor-ready"]).await;
        if let Ok(Some(Frame::Simple(_))) = mon.read_frame_timeout(Duration::from_millis(100)).await
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "monitor saw nothing");
    }

    // A delivery, summarized per message.
    let mut sub = srv.client().await;
    let _ = monitor_until(&mut mon, "[0 system:0] \"Client").await; // its connect line
    cmd(&mut sub, &["SUBSCRIBE", "news"]).await;
    monitor_until(&mut mon, r#""SUBSCRIBE" "news""#).await;
    assert_eq!(
        cmd(&mut c, &["PUBLISH", "news", "hi"]).await,
        Frame::Integer(1)
    );
    monitor_until(&mut mon, r#""PUBLISH" "news" "hi""#).await;
    let line = monitor_until(&mut mon, "Delivered message on news to 1 subscriber").await;
    assert!(line.contains("[0 system:0] \""), "{line}");

    // Blocking and unblocking.
    let mut blocked = srv.client().await;
    blocked.queue(&["BLPOP", "jobs", "0"]);
    blocked.flush().await.unwrap();
    monitor_until(&mut mon, "blocked on jobs (timeout none)").await;
    cmd(&mut c, &["RPUSH", "jobs", "j1"]).await;
    monitor_until(&mut mon, "unblocked (served)").await;
    assert_eq!(
        blocked
            .read_frame_timeout(Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap(),
        Frame::Array(vec![bulk("jobs"), bulk("j1")])
    );

    // A subscriber that never reads is cut off as a slow consumer.
    let mut slow = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    slow.write_all(b"SUBSCRIBE flood\r\n").await.unwrap();
    let _ = read_raw(&mut slow, 32).await;
    let payload = "x".repeat(64 * 1024);
    let mut cut = false;
    for _ in 0..1000 {
        if cmd(&mut c, &["PUBLISH", "flood", &payload]).await == Frame::Integer(0) {
            cut = true;
            break;
        }
    }
    assert!(cut, "the slow subscriber was never cut off");
    monitor_until(&mut mon, "disconnected: slow consumer").await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_kill_ends_a_connection_stuck_writing_to_a_client_that_never_reads() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let big = "v".repeat(1024 * 1024);
    assert_eq!(cmd(&mut c, &["SET", "big", &big]).await, simple("OK"));
    let mut stuck = srv.client().await;
    let Frame::Integer(id) = cmd(&mut stuck, &["CLIENT", "ID"]).await else {
        panic!()
    };
    // 64 MB of replies that are never read: the server's writes to it block.
    for _ in 0..64 {
        stuck.queue(&["GET", "big"]);
    }
    stuck.flush().await.unwrap();
    let listed = |list: &Frame| match list {
        Frame::Bulk(b) => String::from_utf8_lossy(b).contains(&format!("id={id} ")),
        other => panic!("{other:?}"),
    };
    // Wait until the server's writes to it have stalled: the bytes written stop growing
    // (they are counted when a write completes) while most of the 64 MB is still unsent.
    let last = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
    let stalled = eventually(Duration::from_secs(10), || {
        let (addr, last) = (srv.addr, last.clone());
        async move {
            let mut c = confab_client::Client::connect(addr).await.unwrap();
            let Ok(Frame::Bulk(info)) = c.command(&["INFO", "stats"]).await else {
                return false;
            };
            let out: u64 = String::from_utf8_lossy(&info)
                .lines()
                .find_map(|l| l.strip_prefix("total_net_output_bytes:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let before = last.swap(out, std::sync::atomic::Ordering::Relaxed);
            // (Each INFO reply adds its own ~2 KB.)
            before != u64::MAX && out.saturating_sub(before) < 64 * 1024 && out < 32 * 1024 * 1024
        }
    })
    .await;
    assert!(stalled, "the server never stalled writing to the client");
    assert_eq!(
        cmd(&mut c, &["CLIENT", "KILL", "ID", &id.to_string()]).await,
        Frame::Integer(1)
    );
    let gone = eventually(Duration::from_secs(3), || {
        let addr = srv.addr;
        async move {
            let mut c = confab_client::Client::connect(addr).await.unwrap();
            !listed(&c.command(&["CLIENT", "LIST"]).await.unwrap())
        }
    })
    .await;
    assert!(gone, "a killed client stuck in a write stayed connected");
    drop(stuck);
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
    // Renames inside one pipelined batch show from the next command on (the connection
    // builds its lines' starts once per batch and again after a rename).
    let mut raw = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let batch = "CLIENT SETNAME early\r\nPING one\r\nCLIENT SETNAME late\r\nPING two\r\n";
    tokio::io::AsyncWriteExt::write_all(&mut raw, batch.as_bytes())
        .await
        .unwrap();
    let want = "+OK\r\n$3\r\none\r\n+OK\r\n$3\r\ntwo\r\n";
    assert_eq!(read_raw(&mut raw, want.len()).await, want.as_bytes());
    drop(raw);
    // EXEC of a command that answers with several frames: the reply is an array of the first
    // frames and then the rest, on the wire as in the log (never a "malformed" line).
    let mut raw = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut raw, b"MULTI\r\nSUBSCRIBE a b\r\nEXEC\r\n")
        .await
        .unwrap();
    let want = "+OK\r\n+QUEUED\r\n*1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
                *3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n";
    assert_eq!(read_raw(&mut raw, want.len()).await, want.as_bytes());
    drop(raw);
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
    for (name, line) in [
        ("-", "CLIENT SETNAME early"),
        ("early", "PING one"),
        ("early", "CLIENT SETNAME late"),
        ("late", "PING two"),
    ] {
        let found = lines
            .iter()
            .any(|l| l.contains(&format!("Client 2 ({name} 127.0.0.1:")) && l.ends_with(line));
        assert!(found, "no line {name:?} {line:?} in {log}");
    }
    assert!(
        log.contains(": [[\"subscribe\", \"a\", (integer) 1]]\n")
            && log.contains(": [\"subscribe\", \"b\", (integer) 2]\n")
            && !log.contains("malformed"),
        "{log}"
    );
    assert!(log.contains("... (1000 bytes)"), "long value not cut");
    assert!(!log.contains(&long));
    assert!(
        !log.contains("hunter2") && !log.contains("topsecret"),
        "{log}"
    );
    assert!(log.contains("AUTH (redacted)"));
    assert!(log.contains("disconnected: eof"), "{log}");
    // Unnamed and named clients' disconnect lines carry their label.
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" (- 127.0.0.1:") && l.contains(") disconnected: ")),
        "{log}"
    );
    assert!(log.contains("Client 2 (late 127.0.0.1:"), "{log}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Client 2 (late 127.0.0.1:") && l.contains(") disconnected: ")),
        "{log}"
    );
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

/// INFO stats field as a number.
async fn info_stat(c: &mut confab_client::Client, field: &str) -> u64 {
    let Frame::Bulk(t) = cmd(c, &["INFO", "stats"]).await else {
        panic!("INFO must reply a bulk string in RESP2")
    };
    String::from_utf8_lossy(&t)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO"))
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversation_log_on_a_full_disk_counts_lost_lines_and_keeps_serving() {
    // /dev/full accepts the open and fails every write with ENOSPC.
    let srv = TestServer::start_with(Config {
        conversation_log: Some("/dev/full".into()),
        ..Config::for_tests()
    })
    .await;
    let mut c = srv.client().await;
    for i in 0..100 {
        assert_eq!(
            cmd(&mut c, &["SET", &format!("k{i}"), "v"]).await,
            Frame::Simple("OK".into())
        );
    }
    let addr = srv.addr;
    let counted = eventually(Duration::from_secs(5), || async move {
        let mut c = confab_client::Client::connect(addr).await.unwrap();
        info_stat(&mut c, "conversation_log_write_errors").await > 0
            && info_stat(&mut c, "conversation_log_dropped_lines").await >= 200
    })
    .await;
    assert!(counted, "write errors and lost lines not reported in INFO");
    assert_eq!(info_stat(&mut c, "conversation_log_written_lines").await, 0);
    assert_eq!(
        cmd(&mut c, &["GET", "k99"]).await,
        Frame::Bulk("v".into()),
        "server stopped serving"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversation_log_reaches_the_file_within_a_second_and_rotates_on_line_boundaries() {
    let path = temp_log("lines");
    let srv = TestServer::start_with(Config {
        conversation_log: Some(path.clone()),
        conversation_log_max_size: Some(1000),
        ..Config::for_tests()
    })
    .await;
    let mut c = srv.client().await;
    // One pipelined batch whose lines are several times the size limit.
    for i in 0..40 {
        c.queue(&["SET", &format!("key:{i}"), "some value"]);
    }
    c.flush().await.unwrap();
    for _ in 0..40 {
        assert_eq!(
            c.read_frame().await.unwrap(),
            Some(Frame::Simple("OK".into()))
        );
    }
    cmd(&mut c, &["SET", "last", "one"]).await;
    // No flush, no shutdown: the writer's own interval puts it on disk.
    let p2 = path.clone();
    let on_disk = eventually(Duration::from_secs(2), || {
        let p2 = p2.clone();
        async move {
            std::fs::read_to_string(&p2)
                .map(|s| s.contains("SET last one"))
                .unwrap_or(false)
        }
    })
    .await;
    assert!(on_disk, "logged lines not on disk within 2 s");
    srv.stop().await;
    let mut rotated = path.clone().into_os_string();
    rotated.push(".1");
    for f in [path.clone(), rotated.into()] {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.len() <= 1000,
            "{} is {} bytes",
            f.display(),
            text.len()
        );
        assert!(text.ends_with('\n'), "{} ends mid-line", f.display());
        for l in text.lines() {
            assert!(
                l.len() > 24 && l.as_bytes()[23] == b'Z',
                "a cut line in {}: {l:?}",
                f.display()
            );
        }
    }
}

/// A shutdown finishes in-flight replies, but not forever: a client that never reads is cut
/// at `shutdown_timeout`, and the server stops, logging it as a shutdown close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_deadline_cuts_a_client_that_never_reads() {
    let path = temp_log("deadline");
    let srv = TestServer::start_with(Config {
        conversation_log: Some(path.clone()),
        shutdown_timeout: Duration::from_millis(300),
        ..Config::for_tests()
    })
    .await;
    let mut c = srv.client().await;
    let big = "x".repeat(1 << 20);
    cmd(&mut c, &["SET", "big", &big]).await;
    // 64 MB of replies that this client never reads: the server's write stalls.
    let mut stuck = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let gets = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(64);
    tokio::io::AsyncWriteExt::write_all(&mut stuck, gets.as_bytes())
        .await
        .unwrap();
    // Wait until the server has read the GETs and stalled writing their replies.
    let stalled = eventually(Duration::from_secs(5), || {
        let addr = srv.addr;
        async move {
            let mut c = confab_client::Client::connect(addr).await.unwrap();
            let Frame::Bulk(t) = c.command(&["CLIENT", "LIST"]).await.unwrap() else {
                return false;
            };
            String::from_utf8_lossy(&t).contains("cmd=get")
        }
    })
    .await;
    assert!(stalled, "the stuck client's GETs never ran");
    drop(c);
    let started = std::time::Instant::now();
    srv.stop().await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "shutdown took {took:?} with a 300 ms deadline"
    );
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(
        log.contains("Shutdown deadline passed"),
        "the deadline was never reached, so the test proves nothing: {log}"
    );
    assert!(log.contains("disconnected: shutdown"), "{log}");
    assert!(log.trim_end().ends_with("SYSTEM: Server stopped"));
    drop(stuck);
}

/// CLIENT INFO / LIST show the calling client's query buffer as Redis does: `qbuf` is the
/// whole batch read with the command (Redis keeps a batch's commands in the buffer until the
/// batch has run), `argv-mem` the running command's argument bytes; another client, idle,
/// shows 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_info_shows_the_callers_query_buffer() {
    use tokio::io::AsyncWriteExt;
    let srv = TestServer::start().await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    async fn fields(s: &mut tokio::net::TcpStream, batch: &[u8], want: usize) -> String {
        s.write_all(batch).await.unwrap();
        let got = String::from_utf8_lossy(&read_raw(s, want).await).into_owned();
        let start = got.find("qbuf=").unwrap_or_else(|| panic!("{got}"));
        let end = start + got[start..].find(" multi-mem=").unwrap();
        got[start..end].to_string()
    }
    let info = b"*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n";
    // A bulk reply of about 300 bytes: read until its end.
    let one = fields(&mut s, info, 250).await;
    assert_eq!(one, "qbuf=26 qbuf-free=0 argv-mem=10");
    let mut batch = b"*1\r\n$4\r\nPING\r\n".to_vec();
    batch.extend_from_slice(info);
    batch.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    let piped = fields(&mut s, &batch, 260).await;
    assert_eq!(piped, "qbuf=54 qbuf-free=0 argv-mem=10");
    // Seen from another client, the first is idle.
    let mut other = srv.client().await;
    let Frame::Bulk(list) = cmd(&mut other, &["CLIENT", "LIST"]).await else {
        panic!("CLIENT LIST must reply a bulk string")
    };
    let list = String::from_utf8_lossy(&list).into_owned();
    let first = list
        .lines()
        .find(|l| l.contains(" cmd=ping "))
        .expect("first client");
    assert!(first.contains(" qbuf=0 "), "{first}");
    srv.stop().await;
}

/// INFO server has Redis 7.0's fields in Redis's order (confab's `confab_version` and
/// `threads` besides), `config_file` naming the file the configuration came from.
/// INFO memory lists redis-server 7.0.15's fields in its order, and its figures add up:
/// overhead and dataset make up what is in use, a key's memory shows in the dataset.
#[tokio::test]
async fn info_memory_has_redis_fields_in_order() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let memory = |text: &str, name: &str| -> u64 { info_value(text, name).parse().unwrap() };
    let text = info(&mut c, "memory").await;
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .collect();
    let redis = "used_memory used_memory_human used_memory_rss used_memory_rss_human \
        used_memory_peak used_memory_peak_human used_memory_peak_perc used_memory_overhead \
        used_memory_startup used_memory_dataset used_memory_dataset_perc allocator_allocated \
        allocator_active allocator_resident total_system_memory total_system_memory_human \
        used_memory_lua used_memory_vm_eval used_memory_lua_human used_memory_scripts_eval \
        number_of_cached_scripts number_of_functions number_of_libraries \
        used_memory_vm_functions used_memory_vm_total used_memory_vm_total_human \
        used_memory_functions used_memory_scripts used_memory_scripts_human maxmemory \
        maxmemory_human maxmemory_policy allocator_frag_ratio allocator_frag_bytes \
        allocator_rss_ratio allocator_rss_bytes rss_overhead_ratio rss_overhead_bytes \
        mem_fragmentation_ratio mem_fragmentation_bytes mem_not_counted_for_evict \
        mem_replication_backlog mem_total_replication_buffers mem_clients_slaves \
        mem_clients_normal mem_cluster_links mem_aof_buffer mem_allocator \
        active_defrag_running lazyfree_pending_objects lazyfreed_objects";
    assert_eq!(names, redis.split_whitespace().collect::<Vec<_>>());
    let used = memory(&text, "used_memory");
    let overhead = memory(&text, "used_memory_overhead");
    let dataset = memory(&text, "used_memory_dataset");
    assert_eq!(overhead + dataset, used.max(overhead), "{text}");
    assert!(
        memory(&text, "mem_clients_normal") > 0,
        "a client is connected: {text}"
    );
    assert!(memory(&text, "used_memory_peak") >= used);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_server_has_redis_fields_in_order() {
    let srv = TestServer::start_with(Config {
        config_file: Some("/etc/confab/confab.toml".into()),
        ..Config::for_tests()
    })
    .await;
    let mut c = srv.client().await;
    let Frame::Bulk(info) = cmd(&mut c, &["INFO", "server"]).await else {
        panic!("INFO must answer a bulk string")
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    let names: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .filter(|k| *k != "confab_version" && *k != "threads")
        .collect();
    // redis-server 7.0.15's INFO server, field by field.
    let redis = "redis_version redis_git_sha1 redis_git_dirty redis_build_id redis_mode os \
                 arch_bits monotonic_clock multiplexing_api atomicvar_api gcc_version process_id \
                 process_supervised run_id tcp_port server_time_usec uptime_in_seconds \
                 uptime_in_days hz configured_hz lru_clock executable config_file \
                 io_threads_active";
    assert_eq!(names, redis.split_whitespace().collect::<Vec<_>>());
    assert!(
        info.contains("\r\nconfig_file:/etc/confab/confab.toml\r\n"),
        "{info}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_stats_has_redis_fields_in_order_and_counts_reads_and_writes() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let text = info(&mut c, "stats").await;
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .collect();
    // Redis 7.0.15's fields, in its order; confab's own follow them.
    let redis = "total_connections_received total_commands_processed instantaneous_ops_per_sec
        total_net_input_bytes total_net_output_bytes total_net_repl_input_bytes
        total_net_repl_output_bytes instantaneous_input_kbps instantaneous_output_kbps
        instantaneous_input_repl_kbps instantaneous_output_repl_kbps
        rejected_connections sync_full sync_partial_ok sync_partial_err expired_keys
        expired_stale_perc expired_time_cap_reached_count expire_cycle_cpu_milliseconds
        evicted_keys evicted_clients total_eviction_exceeded_time
        current_eviction_exceeded_time keyspace_hits keyspace_misses pubsub_channels
        pubsub_patterns pubsubshard_channels latest_fork_usec total_forks
        migrate_cached_sockets slave_expires_tracked_keys active_defrag_hits
        active_defrag_misses active_defrag_key_hits active_defrag_key_misses
        total_active_defrag_time current_active_defrag_time tracking_total_keys
        tracking_total_items tracking_total_prefixes unexpected_error_replies
        total_error_replies dump_payload_sanitizations total_reads_processed
        total_writes_processed io_threaded_reads_processed io_threaded_writes_processed
        reply_buffer_shrinks reply_buffer_expands";
    let redis: Vec<&str> = redis.split_whitespace().collect();
    assert_eq!(names[..redis.len()], redis[..], "{text}");
    let count = |text: &str, name: &str| -> u64 { info_value(text, name).parse().unwrap() };
    let (reads, writes) = (
        count(&text, "total_reads_processed"),
        count(&text, "total_writes_processed"),
    );
    for _ in 0..10 {
        assert_eq!(cmd(&mut c, &["PING"]).await, simple("PONG"));
    }
    let text = info(&mut c, "stats").await;
    // Ten requests, each read and answered on its own (the INFO before them was written
    // after its read was counted).
    assert!(
        count(&text, "total_reads_processed") >= reads + 10,
        "{text}"
    );
    assert!(
        count(&text, "total_writes_processed") >= writes + 11,
        "{text}"
    );
    assert_eq!(cmd(&mut c, &["CONFIG", "RESETSTAT"]).await, simple("OK"));
    let text = info(&mut c, "stats").await;
    // Since the reset: the read of this INFO (and any read that found nothing), the write
    // of RESETSTAT's reply.
    assert!(count(&text, "total_reads_processed") <= 3, "{text}");
    assert!(count(&text, "total_writes_processed") <= 1, "{text}");
    srv.stop().await;
}
