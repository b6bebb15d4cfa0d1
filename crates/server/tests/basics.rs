//! End-to-end basics: PING/GET/SET over raw RESP, inline commands, and a real client.

mod common;

use common::*;
use confab_client::Frame;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_get_set_raw_bytes() {
    let srv = TestServer::start().await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n89\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$3\r\nGET\r\n$4\r\nnone\r\n")
        .await
        .unwrap();
    let want = b"+PONG\r\n+OK\r\n$2\r\n89\r\n$-1\r\n";
    assert_eq!(read_raw(&mut s, want.len()).await, want);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_commands_with_quotes() {
    let srv = TestServer::start().await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"PING\r\nSET k \"quoted value\"\r\nGET k\nSET x 'it''s'\r\n")
        .await
        .unwrap();
    // A closing quote followed by a non-space is unbalanced, as in Redis: error, then close.
    let want: &[u8] = b"+PONG\r\n+OK\r\n$12\r\nquoted value\r\n-ERR Protocol error: unbalanced quotes in request\r\n";
    assert_eq!(read_raw(&mut s, want.len()).await, want);
    assert!(closed_by_server(&mut s).await);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_crate_client_works() {
    let srv = TestServer::start().await;
    let mut con = srv.redis().await;
    let _: () = redis::cmd("SET")
        .arg("greeting")
        .arg("hello")
        .query_async(&mut con)
        .await
        .unwrap();
    let v: String = redis::cmd("GET")
        .arg("greeting")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(v, "hello");
    let n: i64 = redis::cmd("INCRBY")
        .arg("counter")
        .arg(5)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(n, 5);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_keep_the_connection() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    assert_eq!(
        cmd(&mut c, &["NOPE", "a"]).await,
        error("ERR unknown command 'NOPE', with args beginning with: 'a' ")
    );
    assert_eq!(
        cmd(&mut c, &["GET"]).await,
        error("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(
        cmd(&mut c, &["SET", "k", "v", "EX", "x"]).await,
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(cmd(&mut c, &["PING"]).await, simple("PONG"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3_hello_and_types() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let hello = c.hello(3, Some("tester")).await.unwrap();
    let Frame::Map(pairs) = hello else {
        panic!("HELLO 3 must reply a map, got {hello:?}")
    };
    assert!(pairs.contains(&(bulk("proto"), Frame::Integer(3))));
    assert_eq!(cmd(&mut c, &["GET", "missing"]).await, Frame::Null);
    assert_eq!(cmd(&mut c, &["CLIENT", "GETNAME"]).await, bulk("tester"));
    srv.stop().await;
}

/// redis-cli works unchanged (CI installs it; skipped with a message where it is missing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cli_smoke() {
    if std::process::Command::new("redis-cli")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: redis-cli not installed");
        return;
    }
    let srv = TestServer::start().await;
    let port = srv.addr.port().to_string();
    let run = move |args: &[&str]| {
        let out = std::process::Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (set, get, incr, docs, r3) = tokio::task::spawn_blocking(move || {
        (
            run(&["SET", "k", "hello world"]),
            run(&["GET", "k"]),
            run(&["INCRBY", "n", "41"]),
            run(&["COMMAND", "DOCS", "get"]),
            run(&["-3", "HELLO", "3"]),
        )
    })
    .await
    .unwrap();
    assert_eq!(set.trim(), "OK");
    assert_eq!(get.trim(), "hello world");
    assert_eq!(incr.trim(), "41");
    assert!(docs.contains("Get the value of a key"), "{docs}");
    assert!(r3.contains("proto") && r3.contains('3'), "{r3}");
    srv.stop().await;
}

/// MEMORY USAGE estimates what a key holds: it grows with the value, counts every element
/// of a collection with `SAMPLES 0`, and extrapolates from the first few by default (as
/// Redis samples 5), so a list whose first elements are short is under-counted by default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_usage_follows_the_data() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let usage = |f: Frame| match f {
        Frame::Integer(n) => n,
        other => panic!("MEMORY USAGE replied {other:?}"),
    };
    cmd(&mut c, &["SET", "small", "1"]).await;
    let big = "x".repeat(10_000);
    cmd(&mut c, &["SET", "big", &big]).await;
    let small = usage(cmd(&mut c, &["MEMORY", "USAGE", "small"]).await);
    let big_n = usage(cmd(&mut c, &["MEMORY", "USAGE", "big"]).await);
    assert!(small > 0 && small < 200, "{small}");
    assert!((10_000..10_400).contains(&big_n), "{big_n}");
    // A TTL adds its index entry.
    cmd(&mut c, &["EXPIRE", "small", "100"]).await;
    assert!(usage(cmd(&mut c, &["MEMORY", "USAGE", "small"]).await) > small);

    let long = "y".repeat(200);
    let mut push = vec!["RPUSH", "l", "a", "b", "c", "d", "e"];
    push.extend(std::iter::repeat_n(long.as_str(), 95));
    cmd(&mut c, &push).await;
    let sampled = usage(cmd(&mut c, &["MEMORY", "USAGE", "l"]).await);
    let all = usage(cmd(&mut c, &["MEMORY", "USAGE", "l", "SAMPLES", "0"]).await);
    assert!(all > 95 * 200, "{all}");
    assert!(
        sampled < all / 4,
        "default sampling saw only short elements: {sampled} {all}"
    );

    for (t, args) in [
        ("hash", vec!["HSET", "h", "f", &long]),
        ("set", vec!["SADD", "s", &long]),
        ("stream", vec!["XADD", "x", "*", "f", &long]),
    ] {
        cmd(&mut c, &args).await;
        let key = args[1];
        let n = usage(cmd(&mut c, &["MEMORY", "USAGE", key]).await);
        assert!(n > 200 && n < 2_000, "{t}: {n}");
    }
    assert_eq!(
        cmd(&mut c, &["MEMORY", "USAGE", "missing"]).await,
        Frame::Null
    );
    srv.stop().await;
}

/// INFO's sections come in Redis 7.0's order (default and `all`), errorstats counts error
/// replies by prefix until CONFIG RESETSTAT, and the replication section says what client
/// libraries look for (`role:master`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_sections_errorstats_and_replication() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let info = |f: Frame| match f {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("{other:?}"),
    };
    let headers = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("# "))
            .map(|l| l[2..].to_string())
            .collect()
    };
    let default = info(cmd(&mut c, &["INFO"]).await);
    assert_eq!(
        headers(&default),
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Modules",
            "Errorstats",
            "Cluster",
            "Keyspace"
        ]
    );
    let all = info(cmd(&mut c, &["INFO", "all"]).await);
    assert_eq!(
        headers(&all),
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Modules",
            "Commandstats",
            "Errorstats",
            "Cluster",
            "Keyspace"
        ]
    );
    let run_id = default
        .lines()
        .find_map(|l| l.strip_prefix("run_id:"))
        .expect("run_id");
    assert!(run_id.len() == 40 && run_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(default.contains("\r\nrole:master\r\nconnected_slaves:0\r\n"));
    assert!(default.contains("\r\ncluster_enabled:0\r\n"));
    assert!(default.contains("\r\nused_cpu_user:"));
    // pub/sub counts in INFO stats
    let mut sub = srv.client().await;
    sub.queue(&["SUBSCRIBE", "c1", "c2"]);
    sub.queue(&["PSUBSCRIBE", "p*"]);
    sub.queue(&["SSUBSCRIBE", "s1"]);
    sub.flush().await.unwrap();
    for _ in 0..4 {
        sub.read_frame_timeout(std::time::Duration::from_secs(5))
            .await
            .unwrap();
    }
    let stats = info(cmd(&mut c, &["INFO", "stats"]).await);
    assert!(
        stats.contains("\r\npubsub_channels:2\r\npubsub_patterns:1\r\npubsubshard_channels:1\r\n"),
        "{stats}"
    );
    drop(sub);

    // Two ERR replies (arity, unknown command) and one WRONGTYPE.
    assert!(matches!(cmd(&mut c, &["GET"]).await, Frame::Error(_)));
    assert!(matches!(
        cmd(&mut c, &["NOSUCHCOMMAND"]).await,
        Frame::Error(_)
    ));
    assert_eq!(cmd(&mut c, &["SET", "s", "v"]).await, simple("OK"));
    assert!(matches!(
        cmd(&mut c, &["LPUSH", "s", "x"]).await,
        Frame::Error(_)
    ));
    let errors = info(cmd(&mut c, &["INFO", "errorstats"]).await);
    assert_eq!(
        errors,
        "# Errorstats\r\nerrorstat_ERR:count=2\r\nerrorstat_WRONGTYPE:count=1\r\n"
    );
    assert!(info(cmd(&mut c, &["INFO", "stats"]).await).contains("\r\ntotal_error_replies:3\r\n"));
    assert_eq!(cmd(&mut c, &["CONFIG", "RESETSTAT"]).await, simple("OK"));
    assert_eq!(
        info(cmd(&mut c, &["INFO", "errorstats"]).await),
        "# Errorstats\r\n"
    );
    // avg_ttl: the mean time to live of the keys that have one, in milliseconds.
    for (k, ms) in [("t1", "100000"), ("t2", "300000")] {
        assert_eq!(cmd(&mut c, &["SET", k, "v", "PX", ms]).await, simple("OK"));
    }
    let keyspace = info(cmd(&mut c, &["INFO", "keyspace"]).await);
    let avg: u64 = keyspace
        .split("avg_ttl=")
        .nth(1)
        .and_then(|r| r.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("{keyspace}"));
    assert!((190_000..=200_000).contains(&avg), "{keyspace}");
    assert!(keyspace.contains("db0:keys=3,expires=2,"), "{keyspace}");
    srv.stop().await;
}

/// SLOWLOG keeps the commands slower than `slowlog-log-slower-than`, newest first, with Redis's
/// cuts (32 arguments, 128 bytes each) and secrets redacted; `slowlog-max-len` bounds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowlog_records_slow_commands() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    assert_eq!(
        cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).await,
        simple("OK")
    );
    assert_eq!(cmd(&mut c, &["SLOWLOG", "RESET"]).await, simple("OK"));
    let long = "x".repeat(200);
    assert_eq!(cmd(&mut c, &["SET", "k", &long]).await, simple("OK"));
    let many: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
    let mut del = vec!["DEL"];
    del.extend(many.iter().map(String::as_str));
    assert_eq!(cmd(&mut c, &del).await, Frame::Integer(0));
    let _ = cmd(&mut c, &["AUTH", "hunter2"]).await;
    let Frame::Array(entries) = cmd(&mut c, &["SLOWLOG", "GET", "-1"]).await else {
        panic!()
    };
    // Newest first: AUTH, DEL, SET, then CONFIG SET and SLOWLOG RESET.
    let args_of = |e: &Frame| match e {
        Frame::Array(f) => match &f[3] {
            Frame::Array(a) => a
                .iter()
                .map(|x| match x {
                    Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(args_of(&entries[0]), ["AUTH", "(redacted)"]);
    let del_args = args_of(&entries[1]);
    assert_eq!(del_args.len(), 32);
    assert_eq!(del_args[31], "... (10 more arguments)");
    let set_args = args_of(&entries[2]);
    assert_eq!(
        set_args[2],
        format!("{}... (72 more bytes)", "x".repeat(128))
    );
    let Frame::Integer(n) = cmd(&mut c, &["SLOWLOG", "LEN"]).await else {
        panic!()
    };
    assert!(n >= 5, "{n}");
    assert_eq!(
        cmd(&mut c, &["CONFIG", "SET", "slowlog-max-len", "2"]).await,
        simple("OK")
    );
    assert_eq!(cmd(&mut c, &["SLOWLOG", "LEN"]).await, Frame::Integer(2));
    assert_eq!(
        cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]).await,
        simple("OK")
    );
    assert_eq!(cmd(&mut c, &["SLOWLOG", "RESET"]).await, simple("OK"));
    assert_eq!(cmd(&mut c, &["PING"]).await, simple("PONG"));
    assert_eq!(cmd(&mut c, &["SLOWLOG", "LEN"]).await, Frame::Integer(0));
    srv.stop().await;
}

/// INFO's instantaneous rates follow the traffic (sampled every 100 ms, averaged over the
/// last 16 samples as Redis does) and fall back once it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_instantaneous_rates_follow_traffic() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let field = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("no {name} in INFO"))
            .trim()
            .parse()
            .unwrap()
    };
    let stats = |f: Frame| match f {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("{other:?}"),
    };
    // Busy: pipelined PINGs until the rate shows, within a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let busy = loop {
        for _ in 0..20 {
            for _ in 0..100 {
                send(&mut c, &["PING"]).await;
            }
            for _ in 0..100 {
                reply(&mut c).await;
            }
        }
        let text = stats(cmd(&mut c, &["INFO", "stats"]).await);
        if field(&text, "instantaneous_ops_per_sec") > 0.0 || std::time::Instant::now() > deadline {
            break text;
        }
    };
    assert!(field(&busy, "instantaneous_ops_per_sec") > 0.0, "{busy}");
    assert!(field(&busy, "instantaneous_input_kbps") > 0.0, "{busy}");
    assert!(field(&busy, "instantaneous_output_kbps") > 0.0, "{busy}");
    // Idle: the rate falls to what the polling itself sends (an INFO every 300 ms is about
    // 3 commands a second over the 1.6 s window).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = stats(cmd(&mut c, &["INFO", "stats"]).await);
        if field(&text, "instantaneous_ops_per_sec") <= 10.0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {text}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    srv.stop().await;
}

/// UNLINK hands a big value (Redis's free effort above 64: a hashtable set of 100 members)
/// to the lazy-free thread and frees a small one at once; FLUSHALL ASYNC frees the keys in
/// the background, counted one per key; INFO memory shows it as Redis does, and CONFIG
/// RESETSTAT zeroes `lazyfreed_objects`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlink_and_flush_async_free_in_the_background() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    async fn lazyfreed(c: &mut confab_client::Client) -> (u64, u64) {
        let Frame::Bulk(info) = cmd(c, &["INFO", "memory"]).await else {
            panic!("INFO must answer a bulk string")
        };
        let info = String::from_utf8_lossy(&info).into_owned();
        let field = |name: &str| -> u64 {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {info}"))
        };
        (
            field("lazyfree_pending_objects:"),
            field("lazyfreed_objects:"),
        )
    }
    let members: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
    let mut sadd = vec!["SADD", "big"];
    sadd.extend(members.iter().map(String::as_str));
    assert_eq!(cmd(&mut c, &sadd).await, Frame::Integer(100));
    assert_eq!(
        cmd(&mut c, &["SADD", "small", "a", "b"]).await,
        Frame::Integer(2)
    );
    assert_eq!(
        cmd(&mut c, &["UNLINK", "small", "big", "missing"]).await,
        Frame::Integer(2)
    );
    /// Polls until the counters read `want` (or 5 s pass); the last reading.
    async fn settled(c: &mut confab_client::Client, want: (u64, u64)) -> (u64, u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let got = lazyfreed(c).await;
            if got == want || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert_eq!(settled(&mut c, (0, 1)).await, (0, 1), "after UNLINK");
    assert_eq!(
        cmd(&mut c, &["EXISTS", "big", "small"]).await,
        Frame::Integer(0)
    );
    for i in 0..30 {
        cmd(&mut c, &["SET", &format!("k{i}"), "v"]).await;
    }
    assert_eq!(cmd(&mut c, &["FLUSHALL", "ASYNC"]).await, simple("OK"));
    assert_eq!(cmd(&mut c, &["DBSIZE"]).await, Frame::Integer(0));
    assert_eq!(
        settled(&mut c, (0, 31)).await,
        (0, 31),
        "after FLUSHALL ASYNC"
    );
    // A synchronous flush and DEL free at once.
    cmd(&mut c, &sadd).await;
    cmd(&mut c, &["DEL", "big"]).await;
    cmd(&mut c, &["SET", "k", "v"]).await;
    cmd(&mut c, &["FLUSHALL"]).await;
    assert_eq!(lazyfreed(&mut c).await, (0, 31));
    assert_eq!(cmd(&mut c, &["CONFIG", "RESETSTAT"]).await, simple("OK"));
    assert_eq!(lazyfreed(&mut c).await, (0, 0));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxmemory_aborts_a_transaction_that_would_grow_memory() {
    // (Without the binary's counting allocator, used memory is the resident set: a limit
    // of 1 byte is always passed.)
    let srv = TestServer::start().await;
    let mut a = srv.client().await;
    let mut b = srv.client().await;
    let mut limit = async |bytes: &str| {
        assert_eq!(
            cmd(&mut b, &["CONFIG", "SET", "maxmemory", bytes]).await,
            simple("OK")
        );
    };
    assert_eq!(cmd(&mut a, &["MULTI"]).await, simple("OK"));
    assert_eq!(cmd(&mut a, &["SET", "k", "v"]).await, simple("QUEUED"));
    assert_eq!(cmd(&mut a, &["GET", "k"]).await, simple("QUEUED"));
    // The limit comes while the transaction is queued: EXEC, which would write, is refused.
    limit("1").await;
    assert_eq!(
        cmd(&mut a, &["EXEC"]).await,
        error("EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.")
    );
    assert_eq!(cmd(&mut a, &["EXISTS", "k"]).await, Frame::Integer(0));
    // A transaction of reads queued before the limit still runs.
    limit("0").await;
    assert_eq!(cmd(&mut a, &["MULTI"]).await, simple("OK"));
    assert_eq!(cmd(&mut a, &["GET", "k"]).await, simple("QUEUED"));
    limit("1").await;
    assert_eq!(
        cmd(&mut a, &["EXEC"]).await,
        Frame::Array(vec![Frame::Null])
    );
    limit("0").await;
    assert_eq!(cmd(&mut a, &["SET", "k", "v"]).await, simple("OK"));
    srv.stop().await;
}
