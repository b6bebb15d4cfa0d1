//! Lanes: connections moving between the threads that serve them keep everything they had.
//!
//! The server runs with `LanePolicy::Rotate` (every connection is asked to move to the next
//! lane every few milliseconds, new connections go round the lanes), so each client below
//! crosses lanes many times while it works: mid-pipeline, inside MULTI, with half a command
//! sent, in another database. Each test checks `connections_moved` grew, so none passes
//! without moves happening.
mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use confab_client::Frame;
use confab_server::{Config, LanePolicy};

fn rotating() -> Config {
    Config {
        threads: 3,
        lane_policy: LanePolicy::Rotate,
        ..Config::for_tests()
    }
}

async fn moves(srv: &TestServer) -> u64 {
    lanes_field(srv, "connections_moved").await
}

/// A counter of INFO lanes.
async fn lanes_field(srv: &TestServer, name: &str) -> u64 {
    let mut c = srv.client().await;
    let Frame::Bulk(t) = cmd(&mut c, &["INFO", "lanes"]).await else {
        panic!("INFO lanes is not a bulk string");
    };
    let text = String::from_utf8_lossy(&t).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// Wait until at least `n` more moves than `since` happened.
async fn wait_moves(srv: &TestServer, since: u64, n: u64) {
    assert!(
        eventually(Duration::from_secs(10), || async {
            moves(srv).await >= since + n
        })
        .await,
        "connections did not move"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_from_many_clients_lose_nothing_while_moving() {
    let srv = TestServer::start_with(rotating()).await;
    let before = moves(&srv).await;
    let mut tasks = Vec::new();
    for k in 0..8 {
        let mut c = srv.client().await;
        tasks.push(tokio::spawn(async move {
            let own = format!("own:{k}");
            let mut next = 1i64;
            for _round in 0..150 {
                for _ in 0..10 {
                    c.queue(&["INCR", own.as_str()]);
                    c.queue(&["INCR", "shared"]);
                }
                c.flush().await.unwrap();
                for _ in 0..10 {
                    assert_eq!(reply(&mut c).await, Frame::Integer(next), "client {k}");
                    next += 1;
                    assert!(matches!(reply(&mut c).await, Frame::Integer(_)));
                }
                // Let the balancer mark the connection between rounds.
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = srv.client().await;
    assert_eq!(cmd(&mut c, &["GET", "shared"]).await, bulk("12000"));
    wait_moves(&srv, before, 8).await;
    srv.stop().await;
}

/// A RESP3 subscriber: it never moves, so the moves its INFO shows are the others'.
async fn observer(srv: &TestServer) -> confab_client::Client {
    let mut o = srv.client().await;
    o.hello(3, None).await.unwrap();
    send(&mut o, &["SUBSCRIBE", "lanes-observer"]).await;
    assert!(matches!(reply(&mut o).await, Frame::Push(_)));
    o
}

async fn observed_moves(o: &mut confab_client::Client) -> u64 {
    let text = match cmd(o, &["INFO", "lanes"]).await {
        Frame::Bulk(t) | Frame::Verbatim { text: t, .. } => String::from_utf8_lossy(&t).to_string(),
        f => panic!("INFO lanes: {f:?}"),
    };
    text.lines()
        .find_map(|l| l.strip_prefix("connections_moved:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no connections_moved in {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_survives_moves_mid_transaction_and_mid_frame() {
    let srv = TestServer::start_with(rotating()).await;
    let mut o = observer(&srv).await;
    let mut c = srv.client().await;
    assert_eq!(
        cmd(&mut c, &["CLIENT", "SETNAME", "mover"]).await,
        simple("OK")
    );
    assert_eq!(cmd(&mut c, &["SELECT", "5"]).await, simple("OK"));
    assert_eq!(cmd(&mut c, &["MULTI"]).await, simple("OK"));
    assert_eq!(cmd(&mut c, &["SET", "in5", "v"]).await, simple("QUEUED"));

    // A command sent a byte at a time: the connection moves between bytes (only `c` can
    // move: the observer is a subscriber).
    let value = "x".repeat(3000);
    let mut frame = bytes::BytesMut::new();
    confab_protocol::encode_command(&["SET", "second", value.as_str()], &mut frame);
    let start = observed_moves(&mut o).await;
    let mut sent = 0;
    while sent < frame.len() - 1 && observed_moves(&mut o).await < start + 3 {
        c.send_raw(&frame[sent..sent + 1]).await.unwrap();
        sent += 1;
    }
    assert!(
        observed_moves(&mut o).await >= start + 3,
        "the connection did not move while its command arrived ({sent} bytes)"
    );
    c.send_raw(&frame[sent..]).await.unwrap();
    assert_eq!(reply(&mut c).await, simple("QUEUED"));
    let Frame::Array(replies) = cmd(&mut c, &["EXEC"]).await else {
        panic!("EXEC did not run")
    };
    assert_eq!(replies, vec![simple("OK"), simple("OK")]);
    assert_eq!(cmd(&mut c, &["GET", "in5"]).await, bulk("v"));
    assert_eq!(
        cmd(&mut c, &["STRLEN", "second"]).await,
        Frame::Integer(3000)
    );
    assert_eq!(
        cmd(&mut c, &["CLIENT", "GETNAME"]).await,
        Frame::Bulk(Bytes::from_static(b"mover"))
    );
    assert_eq!(cmd(&mut c, &["SELECT", "0"]).await, simple("OK"));
    assert_eq!(cmd(&mut c, &["EXISTS", "in5"]).await, Frame::Integer(0));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_and_blocked_clients_are_served_across_lanes() {
    let srv = TestServer::start_with(rotating()).await;
    let mut o = observer(&srv).await;
    let mut sub = srv.client().await;
    send(&mut sub, &["SUBSCRIBE", "lanes-test"]).await;
    assert!(matches!(reply(&mut sub).await, Frame::Array(_)));
    // A client blocked on a list stays put and is woken by a pusher that keeps moving.
    let mut blocked = srv.client().await;
    send(&mut blocked, &["BLPOP", "jobs", "0"]).await;
    wait_blocked(&srv, 1).await;
    let start = observed_moves(&mut o).await;
    let mut publisher = srv.client().await;
    let mut n = 0;
    while observed_moves(&mut o).await < start + 5 {
        n += 1;
        assert_eq!(
            cmd(&mut publisher, &["PUBLISH", "lanes-test", &n.to_string()]).await,
            Frame::Integer(1)
        );
        assert!(n < 100_000, "the publisher never moved");
    }
    assert_eq!(
        cmd(&mut publisher, &["RPUSH", "jobs", "j1"]).await,
        Frame::Integer(1)
    );
    assert_eq!(
        reply(&mut blocked).await,
        Frame::Array(vec![bulk("jobs"), bulk("j1")])
    );
    // Every message arrived, in order.
    for i in 1..=n {
        match reply(&mut sub).await {
            Frame::Array(items) => assert_eq!(items[2], bulk(&i.to_string())),
            other => panic!("unexpected {other:?}"),
        }
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_stay_on_lane_0_without_busy_figures() {
    // The default policy on a runtime without the server's park hooks never moves anything.
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    for i in 0..200 {
        assert_eq!(
            cmd(&mut c, &["SET", "k", &i.to_string()]).await,
            simple("OK")
        );
    }
    let Frame::Bulk(t) = cmd(&mut c, &["INFO", "lanes"]).await else {
        panic!()
    };
    let text = String::from_utf8_lossy(&t).to_string();
    assert!(text.contains("lane_policy:adaptive\r\n"), "{text}");
    assert!(text.contains("connections_moved:0\r\n"), "{text}");
    assert!(text.contains("lane0:clients=1,"), "{text}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_from_two_connections_run_in_the_order_they_arrived() {
    // Redis's test "BRPOPLPUSH does not affect WATCH while still blocked": EXEC is sent,
    // then (without waiting for its reply) LPUSH on another connection serves the blocked
    // BRPOPLPUSH, which writes the watched key. EXEC arrived first, so it must run first
    // and succeed. On tokio's multi-thread scheduler the task woken last ran first (its
    // LIFO slot) and EXEC was aborted about 40% of the time; lane 0 is a current-thread
    // runtime, which serves sockets in the order their events came.
    let srv = TestServer::start_on_server_runtime(Config::for_tests()).await;
    let mut r = srv.client().await;
    for round in 0..100 {
        cmd(&mut r, &["DEL", "src", "dst"]).await;
        cmd(&mut r, &["SET", "somekey", "somevalue"]).await;
        let mut blocked = srv.client().await;
        let mut watching = srv.client().await;
        send(&mut blocked, &["BRPOPLPUSH", "src", "dst", "0"]).await;
        wait_blocked(&srv, 1).await;
        assert_eq!(cmd(&mut watching, &["WATCH", "dst"]).await, simple("OK"));
        assert_eq!(cmd(&mut watching, &["MULTI"]).await, simple("OK"));
        assert_eq!(
            cmd(&mut watching, &["GET", "somekey"]).await,
            simple("QUEUED")
        );
        send(&mut watching, &["EXEC"]).await;
        cmd(&mut r, &["LPUSH", "src", "element"]).await;
        assert_eq!(
            reply(&mut watching).await,
            Frame::Array(vec![bulk("somevalue")]),
            "round {round}: EXEC ran after the LPUSH that arrived after it"
        );
        assert_eq!(reply(&mut blocked).await, bulk("element"));
    }
    srv.stop().await;
}

/// Stop the clients counting on keys `own:<k>` and check each key holds its client's last
/// count (what the client's task returned).
async fn stop_and_check_counters(
    srv: &TestServer,
    stop: &std::sync::atomic::AtomicBool,
    tasks: Vec<tokio::task::JoinHandle<i64>>,
) {
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut c = srv.client().await;
    for (k, t) in tasks.into_iter().enumerate() {
        let n = t.await.unwrap();
        assert_eq!(
            cmd(&mut c, &["GET", &format!("own:{k}")]).await,
            bulk(&n.to_string())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_held_to_the_end_of_a_busy_turn_arrive_whole_and_in_order() {
    // Many clients pipelining at once make the lane's turns busy: each batch's replies then
    // wait for the end of the turn (`flushes_deferred`). Every client checks every reply.
    let srv = TestServer::start_on_server_runtime(Config::for_tests()).await;
    let before = lanes_field(&srv, "flushes_deferred").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for k in 0..40 {
        let mut c = srv.client().await;
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let own = format!("own:{k}");
            let mut next = 1i64;
            let mut rounds = 0;
            while rounds < 20 || !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..16 {
                    c.queue(&["INCR", own.as_str()]);
                    c.queue(&["GET", own.as_str()]);
                }
                c.flush().await.unwrap();
                for _ in 0..16 {
                    assert_eq!(reply(&mut c).await, Frame::Integer(next), "client {k}");
                    assert_eq!(reply(&mut c).await, bulk(&next.to_string()), "client {k}");
                    next += 1;
                }
                rounds += 1;
                assert!(
                    rounds < 5_000,
                    "client {k}: no deferred flush after 5,000 rounds"
                );
            }
            next - 1
        }));
    }
    let deferred = eventually(Duration::from_secs(20), || async {
        lanes_field(&srv, "flushes_deferred").await > before
    })
    .await;
    stop_and_check_counters(&srv, &stop, tasks).await;
    assert!(deferred, "no batch waited for the end of a busy turn");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_naps_under_many_clients_and_never_for_a_lone_one() {
    // A lone client in lock-step with the server must never wait for a nap: it would only
    // add to every round trip. Forty clients at pipeline 1 make the lane run out of work
    // between requests arriving back to back, and there it naps (`naps`); every reply is
    // still each client's own and in order.
    let srv = TestServer::start_on_server_runtime(Config::for_tests()).await;
    let mut lone = srv.client().await;
    for i in 1..=3_000i64 {
        assert_eq!(cmd(&mut lone, &["INCR", "lone"]).await, Frame::Integer(i));
    }
    assert_eq!(
        lanes_field(&srv, "naps").await,
        0,
        "a lone client met a nap"
    );

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for k in 0..40 {
        let mut c = srv.client().await;
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let own = format!("own:{k}");
            let mut next = 1i64;
            while next <= 100 || !stop.load(std::sync::atomic::Ordering::Relaxed) {
                assert_eq!(
                    cmd(&mut c, &["INCR", own.as_str()]).await,
                    Frame::Integer(next),
                    "client {k}"
                );
                next += 1;
                assert!(
                    next < 1_000_000,
                    "client {k}: no nap after a million requests"
                );
            }
            next - 1
        }));
    }
    let napped = eventually(Duration::from_secs(20), || async {
        lanes_field(&srv, "naps").await > 0
    })
    .await;
    stop_and_check_counters(&srv, &stop, tasks).await;
    assert!(
        napped,
        "forty clients at pipeline 1 never made the lane nap"
    );
    srv.stop().await;
}
