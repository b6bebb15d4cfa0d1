//! Pub/sub: fan-out, ordering, slow consumers, RESP3 pushes and the shutdown notice.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use confab_client::{Client, Frame};
use confab_server::{Config, OutputLimits};

async fn subscriber(srv: &TestServer, channels: &[&str]) -> Client {
    let mut c = srv.client().await;
    let mut args = vec!["SUBSCRIBE"];
    args.extend_from_slice(channels);
    c.queue(&args);
    c.flush().await.unwrap();
    for _ in channels {
        let f = c.read_frame_timeout(Duration::from_secs(5)).await.unwrap();
        assert!(
            matches!(f, Some(Frame::Array(_)) | Some(Frame::Push(_))),
            "{f:?}"
        );
    }
    c
}

fn message_payload(f: Frame) -> Bytes {
    match f {
        Frame::Array(mut v) | Frame::Push(mut v) if v.len() == 3 => match v.pop() {
            Some(Frame::Bulk(b)) => b,
            other => panic!("bad message payload {other:?}"),
        },
        other => panic!("not a message: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_subscribers_get_every_message_in_publisher_order() {
    let srv = TestServer::start().await;
    every_message_in_publisher_order(&srv, 100, 10_000, 100).await;
    srv.stop().await;
}

/// On the server's runtime a few subscribers are written when a worker runs out of work,
/// straight to their sockets, instead of being woken (see `pubsub`): publishers one request
/// at a time and pipelined, each publisher's messages in order, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn few_subscribers_on_the_server_runtime_get_every_message_in_order() {
    let srv = TestServer::start_on_server_runtime(Config::for_tests()).await;
    every_message_in_publisher_order(&srv, 3, 3_000, 1).await;
    every_message_in_publisher_order(&srv, 3, 10_000, 100).await;
    every_message_in_publisher_order(&srv, 6, 2_000, 10).await;
    every_message_in_publisher_order(&srv, 40, 500, 1).await;
    srv.stop().await;
}

/// `subs` subscribers of one channel, four publishers each sending `per_publisher` messages
/// in pipelined chunks of `chunk`: every subscriber gets every message, each publisher's in
/// order.
async fn every_message_in_publisher_order(
    srv: &TestServer,
    subs: usize,
    per_publisher: usize,
    chunk: usize,
) {
    const PUBLISHERS: usize = 4;
    // A channel of its own, so earlier subscribers still closing do not count.
    let channel = format!("fanout-{subs}-{chunk}");
    let mut subscribers = Vec::new();
    for _ in 0..subs {
        subscribers.push(subscriber(srv, &[&channel]).await);
    }
    let mut probe = srv.client().await;
    assert_eq!(
        cmd(&mut probe, &["PUBSUB", "NUMSUB", &channel]).await,
        Frame::Array(vec![bulk(&channel), Frame::Integer(subs as i64)])
    );
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                let mut next = [0usize; PUBLISHERS];
                for _ in 0..PUBLISHERS * per_publisher {
                    let f = c
                        .read_frame_timeout(Duration::from_secs(30))
                        .await
                        .unwrap()
                        .expect("subscriber closed early");
                    let p = message_payload(f);
                    let text = std::str::from_utf8(&p).unwrap();
                    let (who, n) = text.split_once(':').unwrap();
                    let (who, n): (usize, usize) = (who.parse().unwrap(), n.parse().unwrap());
                    assert_eq!(n, next[who], "publisher {who}'s messages out of order");
                    next[who] += 1;
                }
                next
            })
        })
        .collect();
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let addr = srv.addr;
            let channel = channel.clone();
            tokio::spawn(async move {
                let mut c = Client::connect(addr).await.unwrap();
                for n in 0..per_publisher / chunk {
                    for i in n * chunk..(n + 1) * chunk {
                        c.queue(&["PUBLISH", &channel, &format!("{p}:{i}")]);
                    }
                    c.flush().await.unwrap();
                    for _ in 0..chunk {
                        let r = c.read_frame().await.unwrap().unwrap();
                        assert_eq!(r, Frame::Integer(subs as i64), "receiver count");
                    }
                }
            })
        })
        .collect();
    for p in publishers {
        p.await.unwrap();
    }
    for r in readers {
        assert_eq!(r.await.unwrap(), [per_publisher; PUBLISHERS]);
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn slow_consumer_config() -> Config {
    Config {
        pubsub_limits: OutputLimits {
            hard: 4 * 1024 * 1024,
            soft: 1024 * 1024,
            soft_seconds: 60,
        },
        ..Config::for_tests()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_subscriber_is_cut_off_others_keep_receiving() {
    let srv = TestServer::start_with(slow_consumer_config()).await;
    // CONFIG GET shows the limits in Redis's form; CONFIG SET takes them back unchanged only.
    let mut c = srv.client().await;
    let limits = "normal 0 0 0 slave 0 0 0 pubsub 4194304 1048576 60";
    assert_eq!(
        cmd(&mut c, &["CONFIG", "GET", "client-output-buffer-limit"]).await,
        Frame::Array(vec![bulk("client-output-buffer-limit"), bulk(limits)])
    );
    assert_eq!(
        cmd(
            &mut c,
            &["CONFIG", "SET", "client-output-buffer-limit", limits]
        )
        .await,
        simple("OK")
    );
    assert!(matches!(
        cmd(
            &mut c,
            &[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "pubsub 1 1 1"
            ]
        )
        .await,
        Frame::Error(_)
    ));
    drop(c);
    slow_subscriber_cut_off(srv).await;
}

/// On the server's runtime the slow subscriber's socket fills while its deliveries are
/// written directly; the rest must go through its queue, where the limit applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_subscriber_is_cut_off_on_the_server_runtime() {
    let srv = TestServer::start_on_server_runtime(slow_consumer_config()).await;
    slow_subscriber_cut_off(srv).await;
}

async fn slow_subscriber_cut_off(srv: TestServer) {
    // The slow one subscribes and never reads again.
    let mut slow = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    slow.write_all(b"SUBSCRIBE big\r\n").await.unwrap();
    let _ = read_raw(&mut slow, 30).await;
    let mut good = subscriber(&srv, &["big"]).await;
    let before = rss_kib();
    let payload = "x".repeat(64 * 1024);
    let mut publisher = srv.client().await;
    let total = 1000; // 64 MB in all, 16x the hard limit
                      // The publisher stays at most 8 messages (512 KB) ahead of the good subscriber, so only
                      // the slow one can pass the limits, however loaded the machine running the tests is.
    let window = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    let reader_window = window.clone();
    let reader = tokio::spawn(async move {
        for _ in 0..total {
            let f = good
                .read_frame_timeout(Duration::from_secs(30))
                .await
                .unwrap()
                .expect("the good subscriber was disconnected");
            assert_eq!(message_payload(f).len(), 64 * 1024);
            reader_window.add_permits(1);
        }
    });
    let mut receivers_last = 0;
    for _ in 0..total {
        window.acquire().await.unwrap().forget();
        let Frame::Integer(n) = cmd(&mut publisher, &["PUBLISH", "big", &payload]).await else {
            panic!()
        };
        receivers_last = n;
    }
    reader.await.unwrap();
    assert_eq!(
        receivers_last, 1,
        "slow subscriber still counted as a receiver"
    );
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 200 * 1024, "server memory grew {grown} KiB");
    assert!(
        closed_by_server(&mut slow).await,
        "slow subscriber not disconnected"
    );
    assert_eq!(
        cmd(&mut publisher, &["PUBSUB", "NUMSUB", "big"]).await,
        Frame::Array(vec![bulk("big"), Frame::Integer(0)])
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3_pushes_interleave_with_replies() {
    resp3_interleaving(TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3_pushes_interleave_with_replies_on_the_server_runtime() {
    resp3_interleaving(TestServer::start_on_server_runtime(Config::for_tests()).await).await;
}

async fn resp3_interleaving(srv: TestServer) {
    let mut c = srv.client().await;
    c.hello(3, None).await.unwrap();
    c.queue(&["SUBSCRIBE", "ch"]);
    c.flush().await.unwrap();
    assert_eq!(
        c.read_frame().await.unwrap(),
        Some(Frame::Push(vec![
            bulk("subscribe"),
            bulk("ch"),
            Frame::Integer(1)
        ]))
    );
    // RESP3 allows ordinary commands while subscribed.
    let mut p = srv.client().await;
    assert_eq!(
        cmd(&mut p, &["PUBLISH", "ch", "one"]).await,
        Frame::Integer(1)
    );
    c.queue(&["SET", "k", "v"]);
    c.flush().await.unwrap();
    let mut saw_push = false;
    let mut saw_ok = false;
    for _ in 0..2 {
        match c.read_frame_timeout(Duration::from_secs(5)).await.unwrap() {
            Some(Frame::Push(v)) => {
                assert_eq!(v, vec![bulk("message"), bulk("ch"), bulk("one")]);
                saw_push = true;
            }
            Some(Frame::Simple(s)) if s == "OK" => saw_ok = true,
            other => panic!("{other:?}"),
        }
    }
    assert!(saw_push && saw_ok);
    // Pattern subscriptions get pmessage pushes.
    c.queue(&["PSUBSCRIBE", "c*"]);
    c.flush().await.unwrap();
    assert_eq!(
        c.read_frame().await.unwrap(),
        Some(Frame::Push(vec![
            bulk("psubscribe"),
            bulk("c*"),
            Frame::Integer(2)
        ]))
    );
    assert_eq!(
        cmd(&mut p, &["PUBLISH", "ch", "two"]).await,
        Frame::Integer(2)
    );
    let mut kinds = Vec::new();
    for _ in 0..2 {
        if let Some(Frame::Push(v)) = c.read_frame_timeout(Duration::from_secs(5)).await.unwrap() {
            kinds.push(v[0].clone());
        }
    }
    kinds.sort_by_key(|f| format!("{f:?}"));
    assert_eq!(kinds, vec![bulk("message"), bulk("pmessage")]);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_notice_reaches_subscribers() {
    let srv = TestServer::start().await;
    let mut r2 = subscriber(&srv, &["news"]).await;
    let mut r3 = srv.client().await;
    r3.hello(3, None).await.unwrap();
    r3.queue(&["SUBSCRIBE", "news"]);
    r3.flush().await.unwrap();
    r3.read_frame().await.unwrap();
    srv.shutdown.trigger("test shutdown");
    let started = Instant::now();
    assert_eq!(
        r2.read_frame_timeout(Duration::from_secs(5)).await.unwrap(),
        Some(Frame::Array(vec![bulk("shutdown"), bulk("test shutdown")]))
    );
    assert_eq!(
        r3.read_frame_timeout(Duration::from_secs(5)).await.unwrap(),
        Some(Frame::Push(vec![bulk("shutdown"), bulk("test shutdown")]))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    tokio::time::timeout(Duration::from_secs(10), srv.join)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// On the server's runtime an idle subscriber's socket is written by publishers' workers and
/// taken back whenever the subscriber sends a command. A RESP3 subscriber that keeps PINGing
/// while four publishers flood it must see every frame whole, every publisher's messages in
/// order and every PONG in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3_subscriber_commands_interleave_with_direct_writes() {
    const PUBLISHERS: usize = 4;
    const PER_PUBLISHER: usize = 5_000;
    let srv = TestServer::start_on_server_runtime(Config::for_tests()).await;
    let mut sub = srv.client().await;
    sub.hello(3, None).await.unwrap();
    sub.queue(&["SUBSCRIBE", "st"]);
    sub.flush().await.unwrap();
    assert!(matches!(
        sub.read_frame().await.unwrap(),
        Some(Frame::Push(_))
    ));
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let addr = srv.addr;
            // Three publish one message at a time, one in pipelined batches of 50.
            let chunk = if p == 0 { 50 } else { 1 };
            tokio::spawn(async move {
                let mut c = Client::connect(addr).await.unwrap();
                for n in 0..PER_PUBLISHER / chunk {
                    for i in n * chunk..(n + 1) * chunk {
                        let payload = format!("{p}:{i}:{}", "x".repeat(i % 200));
                        c.queue(&["PUBLISH", "st", &payload]);
                    }
                    c.flush().await.unwrap();
                    for _ in 0..chunk {
                        c.read_frame().await.unwrap().unwrap();
                    }
                }
            })
        })
        .collect();
    let (mut pings, mut pongs, mut got) = (0usize, 0usize, 0usize);
    let mut next = [0usize; PUBLISHERS];
    while got < PUBLISHERS * PER_PUBLISHER || pongs < pings {
        if pings - pongs < 3 && got < PUBLISHERS * PER_PUBLISHER {
            sub.queue(&["PING", &format!("p{pings}")]);
            sub.flush().await.unwrap();
            pings += 1;
        }
        match sub
            .read_frame_timeout(Duration::from_secs(30))
            .await
            .unwrap()
        {
            Some(Frame::Push(v)) => {
                let Some(Frame::Bulk(payload)) = v.get(2) else {
                    panic!("not a message: {v:?}")
                };
                let text = std::str::from_utf8(payload).unwrap();
                let mut parts = text.split(':');
                let who: usize = parts.next().unwrap().parse().unwrap();
                let n: usize = parts.next().unwrap().parse().unwrap();
                assert_eq!(n, next[who], "publisher {who}'s messages out of order");
                assert_eq!(parts.next().unwrap().len(), n % 200, "message cut");
                next[who] += 1;
                got += 1;
            }
            Some(Frame::Bulk(b)) => {
                assert_eq!(&b[..], format!("p{pongs}").as_bytes(), "PONGs out of order");
                pongs += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    for p in publishers {
        p.await.unwrap();
    }
    assert_eq!(next, [PER_PUBLISHER; PUBLISHERS]);
    assert!(pings > 100, "only {pings} PINGs interleaved");
    srv.stop().await;
}

/// On the server's runtime a direct write that the subscriber's socket takes only part of
/// leaves the rest to the subscriber's connection. A subscriber that reads nothing while
/// 12.8 MB are published (more than the socket buffers hold) then gets every byte in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_subscriber_gets_every_byte_on_the_server_runtime() {
    let srv = TestServer::start_on_server_runtime(Config::for_tests()).await;
    let mut sub = subscriber(&srv, &["lag"]).await;
    let mut publisher = srv.client().await;
    let payload = |i: usize| {
        format!(
            "{i:04}{}",
            ((b'a' + (i % 26) as u8) as char)
                .to_string()
                .repeat(64 * 1024)
        )
    };
    for i in 0..200 {
        assert_eq!(
            cmd(&mut publisher, &["PUBLISH", "lag", &payload(i)]).await,
            Frame::Integer(1)
        );
    }
    for i in 0..200 {
        let f = sub
            .read_frame_timeout(Duration::from_secs(30))
            .await
            .unwrap()
            .expect("subscriber closed early");
        assert!(
            message_payload(f) == payload(i).as_bytes(),
            "message {i} differs"
        );
    }
    srv.stop().await;
}

/// CLIENT LIST shows a subscriber's queued deliveries as `omem` (and in `tot-mem`): the one
/// that stopped reading has megabytes queued once its socket is full; one that reads has
/// none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_list_shows_a_lagging_subscribers_output() {
    let srv = TestServer::start_with(Config {
        pubsub_limits: OutputLimits {
            hard: 256 * 1024 * 1024,
            soft: 0,
            soft_seconds: 0,
        },
        ..Config::for_tests()
    })
    .await;
    let mut slow = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    slow.write_all(b"SUBSCRIBE big\r\n").await.unwrap();
    let _ = read_raw(&mut slow, 30).await;
    let mut publisher = srv.client().await;
    let payload = "x".repeat(64 * 1024);
    // 32 MB: more than the loopback socket's buffers hold.
    for _ in 0..512 {
        cmd(&mut publisher, &["PUBLISH", "big", &payload]).await;
    }
    let omem = |list: &str| -> u64 {
        let line = list
            .lines()
            .find(|l| l.contains(" sub=1 "))
            .expect("subscriber");
        let field = |name: &str| -> u64 {
            line.split(' ')
                .find_map(|f| f.strip_prefix(name))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {line}"))
        };
        assert_eq!(field("tot-mem="), field("omem="), "{line}");
        field("omem=")
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let Frame::Bulk(list) = cmd(&mut publisher, &["CLIENT", "LIST", "TYPE", "pubsub"]).await
        else {
            panic!("CLIENT LIST must reply a bulk string")
        };
        let queued = omem(&String::from_utf8_lossy(&list));
        if queued > 1024 * 1024 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "omem {queued} after 32 MB to a subscriber that does not read"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A subscriber that reads everything has nothing queued.
    drop(slow);
    let mut reader = subscriber(&srv, &["small"]).await;
    cmd(&mut publisher, &["PUBLISH", "small", "hi"]).await;
    let f = reader
        .read_frame_timeout(Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&message_payload(f)[..], b"hi");
    let Frame::Bulk(list) = cmd(&mut publisher, &["CLIENT", "LIST", "TYPE", "pubsub"]).await else {
        panic!()
    };
    let list = String::from_utf8_lossy(&list).into_owned();
    assert!(
        list.lines().any(|l| l.contains(" sub=1 ")
            && l.contains(" omem=0 ")
            && l.contains(" cmd=subscribe ")),
        "{list}"
    );
    srv.stop().await;
}
