//! Blocking list pops as work queues: FIFO service, no loss, timeouts, unblocking, shutdown.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use confab_client::{Client, Frame};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_served_in_arrival_order_one_per_element() {
    let srv = TestServer::start().await;
    let mut waiters = Vec::new();
    for i in 0..3 {
        let mut c = srv.client().await;
        send(&mut c, &["BLPOP", "q", "0"]).await;
        wait_blocked(&srv, i + 1).await;
        waiters.push(c);
    }
    let mut p = srv.client().await;
    // Two elements serve exactly the first two waiters, in arrival order.
    assert_eq!(
        cmd(&mut p, &["RPUSH", "q", "a", "b"]).await,
        Frame::Integer(2)
    );
    assert_eq!(
        reply(&mut waiters[0]).await,
        Frame::Array(vec![bulk("q"), bulk("a")])
    );
    assert_eq!(
        reply(&mut waiters[1]).await,
        Frame::Array(vec![bulk("q"), bulk("b")])
    );
    wait_blocked(&srv, 1).await;
    assert!(waiters[2]
        .read_frame_timeout(Duration::from_millis(100))
        .await
        .is_err());
    assert_eq!(cmd(&mut p, &["LLEN", "q"]).await, Frame::Integer(0));
    assert_eq!(cmd(&mut p, &["LPUSH", "q", "c"]).await, Frame::Integer(1));
    assert_eq!(
        reply(&mut waiters[2]).await,
        Frame::Array(vec![bulk("q"), bulk("c")])
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_producers_twenty_consumers_move_200k_items() {
    const PRODUCERS: usize = 20;
    const CONSUMERS: usize = 20;
    const PER_PRODUCER: usize = 10_000;
    let srv = TestServer::start().await;
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let addr = srv.addr;
            tokio::spawn(async move {
                let mut c = Client::connect(addr).await.unwrap();
                let mut got = Vec::new();
                loop {
                    let f = c.command(&["BLPOP", "jobs", "done", "0"]).await.unwrap();
                    let Frame::Array(v) = f else { panic!("{f:?}") };
                    let (Frame::Bulk(k), Frame::Bulk(item)) = (&v[0], &v[1]) else {
                        panic!()
                    };
                    if &k[..] == b"done" {
                        return got;
                    }
                    got.push(String::from_utf8(item.to_vec()).unwrap());
                }
            })
        })
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let addr = srv.addr;
            tokio::spawn(async move {
                let mut c = Client::connect(addr).await.unwrap();
                for chunk in 0..PER_PRODUCER / 100 {
                    for i in chunk * 100..(chunk + 1) * 100 {
                        c.queue(&["RPUSH", "jobs", &format!("{p}:{i}")]);
                    }
                    c.flush().await.unwrap();
                    for _ in 0..100 {
                        assert!(matches!(
                            c.read_frame().await.unwrap(),
                            Some(Frame::Integer(_))
                        ));
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    // Wait until the queue drains, then tell every consumer to stop.
    let mut ctl = srv.client().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while cmd(&mut ctl, &["LLEN", "jobs"]).await != Frame::Integer(0) {
        assert!(Instant::now() < deadline, "queue never drained");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stops: Vec<String> = (0..CONSUMERS).map(|i| format!("stop{i}")).collect();
    let mut args = vec!["RPUSH", "done"];
    args.extend(stops.iter().map(String::as_str));
    cmd(&mut ctl, &args).await;
    let mut seen = HashSet::new();
    let mut total = 0;
    for c in consumers {
        let got = c.await.unwrap();
        // Each producer's items reach any one consumer in push order.
        let mut last = vec![None::<usize>; PRODUCERS];
        for item in &got {
            let (p, i) = item.split_once(':').unwrap();
            let (p, i): (usize, usize) = (p.parse().unwrap(), i.parse().unwrap());
            assert!(last[p].is_none_or(|l| l < i), "reordered within a producer");
            last[p] = Some(i);
            assert!(seen.insert(item.clone()), "duplicate {item}");
        }
        total += got.len();
    }
    assert_eq!(total, PRODUCERS * PER_PRODUCER, "items lost");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnected_waiter_is_forgotten_at_once() {
    let srv = TestServer::start().await;
    let mut gone = srv.client().await;
    send(&mut gone, &["BLPOP", "q", "0"]).await;
    wait_blocked(&srv, 1).await;
    let mut stays = srv.client().await;
    send(&mut stays, &["BRPOP", "q", "0"]).await;
    wait_blocked(&srv, 2).await;
    drop(gone);
    wait_blocked(&srv, 1).await;
    let mut p = srv.client().await;
    cmd(&mut p, &["RPUSH", "q", "x"]).await;
    assert_eq!(
        reply(&mut stays).await,
        Frame::Array(vec![bulk("q"), bulk("x")])
    );
    assert_eq!(cmd(&mut p, &["EXISTS", "q"]).await, Frame::Integer(0));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_multi_unblock_and_moves() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let started = Instant::now();
    assert_eq!(
        cmd(&mut c, &["BLPOP", "none", "0.1"]).await,
        Frame::NullArray
    );
    assert!(started.elapsed() >= Duration::from_millis(90));
    // Inside MULTI a blocking pop does not block.
    cmd(&mut c, &["MULTI"]).await;
    cmd(&mut c, &["BLPOP", "none", "0"]).await;
    assert_eq!(
        cmd(&mut c, &["EXEC"]).await,
        Frame::Array(vec![Frame::NullArray])
    );
    // CLIENT UNBLOCK, as a timeout and as an error.
    let Frame::Integer(id) = cmd(&mut c, &["CLIENT", "ID"]).await else {
        panic!()
    };
    send(&mut c, &["BLPOP", "none", "0"]).await;
    wait_blocked(&srv, 1).await;
    let mut admin = srv.client().await;
    assert_eq!(
        cmd(&mut admin, &["CLIENT", "UNBLOCK", &id.to_string()]).await,
        Frame::Integer(1)
    );
    assert_eq!(reply(&mut c).await, Frame::NullArray);
    send(&mut c, &["BLPOP", "none", "0"]).await;
    wait_blocked(&srv, 1).await;
    cmd(&mut admin, &["CLIENT", "UNBLOCK", &id.to_string(), "ERROR"]).await;
    assert_eq!(
        reply(&mut c).await,
        error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    );
    assert_eq!(
        cmd(&mut admin, &["CLIENT", "UNBLOCK", &id.to_string()]).await,
        Frame::Integer(0)
    );
    // BLMOVE: the element lands in the destination, the waiter gets it.
    send(&mut c, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]).await;
    wait_blocked(&srv, 1).await;
    cmd(&mut admin, &["RPUSH", "src", "job"]).await;
    assert_eq!(reply(&mut c).await, bulk("job"));
    assert_eq!(
        cmd(&mut admin, &["LRANGE", "dst", "0", "-1"]).await,
        Frame::Array(vec![bulk("job")])
    );
    // Commands pipelined behind a blocked one run after it, in order.
    send(&mut c, &["BLPOP", "later", "0"]).await;
    send(&mut c, &["PING"]).await;
    wait_blocked(&srv, 1).await;
    cmd(&mut admin, &["RPUSH", "later", "v"]).await;
    assert_eq!(
        reply(&mut c).await,
        Frame::Array(vec![bulk("later"), bulk("v")])
    );
    assert_eq!(reply(&mut c).await, simple("PONG"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_blocked_clients() {
    let srv = TestServer::start().await;
    let mut c2 = srv.client().await;
    send(&mut c2, &["BLPOP", "q", "0"]).await;
    let mut c3 = srv.client().await;
    c3.hello(3, None).await.unwrap();
    send(&mut c3, &["BLPOP", "q", "0"]).await;
    wait_blocked(&srv, 2).await;
    srv.shutdown.trigger("test");
    assert_eq!(
        c3.read_frame_timeout(Duration::from_secs(5)).await.unwrap(),
        Some(Frame::Push(vec![bulk("shutdown"), bulk("test")]))
    );
    assert!(matches!(
        c2.read_frame_timeout(Duration::from_secs(5)).await,
        Ok(None) | Err(confab_client::Error::Io(_))
    ));
    tokio::time::timeout(Duration::from_secs(10), srv.join)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// A list or stream that arrives at a key by RENAME, RENAMENX, MOVE, COPY or SWAPDB serves
/// the clients blocked on that key, as when Redis's `dbAdd` signals the key; a string does
/// not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_arriving_by_rename_move_copy_or_swapdb_wake_their_waiters() {
    let srv = TestServer::start().await;
    let mut p = srv.client().await;
    let mut b = srv.client().await;
    let popped = |key: &str, item: &str| Frame::Array(vec![bulk(key), bulk(item)]);

    // RENAME: the waiter gets the first element, the rest stays.
    send(&mut b, &["BLPOP", "dst", "0"]).await;
    wait_blocked(&srv, 1).await;
    // (CLIENT LIST shows the waiter with flag b, and p without.)
    let Frame::Bulk(list) = cmd(&mut p, &["CLIENT", "LIST"]).await else {
        panic!()
    };
    let list = String::from_utf8_lossy(&list).into_owned();
    assert_eq!(list.matches(" flags=b ").count(), 1, "{list}");
    assert!(list.contains(" flags=N "), "{list}");
    assert_eq!(cmd(&mut p, &["SET", "str", "v"]).await, simple("OK"));
    assert_eq!(cmd(&mut p, &["RENAME", "str", "dst"]).await, simple("OK"));
    assert_eq!(cmd(&mut p, &["DEL", "dst"]).await, Frame::Integer(1));
    assert_eq!(
        cmd(&mut p, &["RPUSH", "src", "x", "y"]).await,
        Frame::Integer(2)
    );
    assert_eq!(cmd(&mut p, &["RENAME", "src", "dst"]).await, simple("OK"));
    assert_eq!(reply(&mut b).await, popped("dst", "x"));
    assert_eq!(
        cmd(&mut p, &["LRANGE", "dst", "0", "-1"]).await,
        Frame::Array(vec![bulk("y")])
    );

    // RENAMENX
    send(&mut b, &["BLPOP", "nx", "0"]).await;
    wait_blocked(&srv, 1).await;
    assert_eq!(cmd(&mut p, &["RPUSH", "src", "n"]).await, Frame::Integer(1));
    assert_eq!(
        cmd(&mut p, &["RENAMENX", "src", "nx"]).await,
        Frame::Integer(1)
    );
    assert_eq!(reply(&mut b).await, popped("nx", "n"));

    // COPY
    send(&mut b, &["BLPOP", "cp", "0"]).await;
    wait_blocked(&srv, 1).await;
    assert_eq!(cmd(&mut p, &["COPY", "dst", "cp"]).await, Frame::Integer(1));
    assert_eq!(reply(&mut b).await, popped("cp", "y"));

    // MOVE into the database the waiter is in.
    assert_eq!(cmd(&mut b, &["SELECT", "3"]).await, simple("OK"));
    send(&mut b, &["BLPOP", "mv", "0"]).await;
    wait_blocked(&srv, 1).await;
    assert_eq!(cmd(&mut p, &["RPUSH", "mv", "m"]).await, Frame::Integer(1));
    assert_eq!(cmd(&mut p, &["MOVE", "mv", "3"]).await, Frame::Integer(1));
    assert_eq!(reply(&mut b).await, popped("mv", "m"));

    // SWAPDB: database 1 holds the list; the waiter is in database 0.
    assert_eq!(cmd(&mut b, &["SELECT", "0"]).await, simple("OK"));
    send(&mut b, &["BLPOP", "sw", "0"]).await;
    wait_blocked(&srv, 1).await;
    assert_eq!(cmd(&mut p, &["SELECT", "1"]).await, simple("OK"));
    assert_eq!(
        cmd(&mut p, &["RPUSH", "sw", "in1"]).await,
        Frame::Integer(1)
    );
    assert_eq!(cmd(&mut p, &["SWAPDB", "0", "1"]).await, simple("OK"));
    assert_eq!(reply(&mut b).await, popped("sw", "in1"));
    assert_eq!(cmd(&mut p, &["SELECT", "0"]).await, simple("OK"));

    // A stream renamed into a key an XREAD waits on.
    assert!(matches!(
        cmd(&mut p, &["XADD", "s0", "1-0", "f", "v"]).await,
        Frame::Bulk(_)
    ));
    send(&mut b, &["XREAD", "BLOCK", "0", "STREAMS", "s1", "0"]).await;
    wait_blocked(&srv, 1).await;
    assert_eq!(cmd(&mut p, &["RENAME", "s0", "s1"]).await, simple("OK"));
    let Frame::Array(streams) = reply(&mut b).await else {
        panic!()
    };
    assert_eq!(streams.len(), 1);
    wait_blocked(&srv, 0).await;
    srv.stop().await;
}

/// A blocked BRPOPLPUSH / BLMOVE whose destination holds another type gets WRONGTYPE and the
/// element goes to the next client blocked on the source, as in Redis; errors handed to
/// blocked clients (that one, CLIENT UNBLOCK ... ERROR) count in INFO errorstats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_refused_by_its_destination_serves_the_next_waiter() {
    let srv = TestServer::start().await;
    let mut p = srv.client().await;
    assert_eq!(cmd(&mut p, &["CONFIG", "RESETSTAT"]).await, simple("OK"));
    assert_eq!(
        cmd(&mut p, &["SET", "target1", "nolist"]).await,
        simple("OK")
    );
    let mut a = srv.client().await;
    let mut b = srv.client().await;
    send(&mut a, &["BRPOPLPUSH", "blist", "target1", "0"]).await;
    wait_blocked(&srv, 1).await;
    send(
        &mut b,
        &["BLMOVE", "blist", "target2", "RIGHT", "LEFT", "0"],
    )
    .await;
    wait_blocked(&srv, 2).await;
    assert_eq!(
        cmd(&mut p, &["LPUSH", "blist", "foo"]).await,
        Frame::Integer(1)
    );
    assert_eq!(
        reply(&mut a).await,
        error("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(reply(&mut b).await, bulk("foo"));
    assert_eq!(
        cmd(&mut p, &["LRANGE", "target2", "0", "-1"]).await,
        Frame::Array(vec![bulk("foo")])
    );
    assert_eq!(cmd(&mut p, &["LLEN", "blist"]).await, Frame::Integer(0));

    let Frame::Integer(id) = cmd(&mut a, &["CLIENT", "ID"]).await else {
        panic!()
    };
    send(&mut a, &["BLPOP", "list1", "0"]).await;
    wait_blocked(&srv, 1).await;
    assert_eq!(
        cmd(&mut p, &["CLIENT", "UNBLOCK", &id.to_string(), "ERROR"]).await,
        Frame::Integer(1)
    );
    assert_eq!(
        reply(&mut a).await,
        error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    );
    let Frame::Bulk(stats) = cmd(&mut p, &["INFO", "all"]).await else {
        panic!()
    };
    let stats = String::from_utf8_lossy(&stats);
    assert!(
        stats.contains("\r\nerrorstat_UNBLOCKED:count=1\r\n"),
        "{stats}"
    );
    assert!(
        stats.contains("\r\nerrorstat_WRONGTYPE:count=1\r\n"),
        "{stats}"
    );
    assert!(stats.contains("\r\ntotal_error_replies:2\r\n"), "{stats}");
    let blpop = stats
        .lines()
        .find(|l| l.starts_with("cmdstat_blpop:"))
        .unwrap_or_else(|| panic!("{stats}"));
    assert!(blpop.ends_with(",failed_calls=1"), "{blpop}");
    srv.stop().await;
}

/// WAIT asks for acknowledgements no replica will give: it waits out its timeout and answers
/// 0, and WAIT with timeout 0 waits until CLIENT UNBLOCK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_without_replicas_times_out_with_zero() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let started = Instant::now();
    assert_eq!(cmd(&mut c, &["WAIT", "1", "100"]).await, Frame::Integer(0));
    assert!(started.elapsed() >= Duration::from_millis(90));
    assert_eq!(cmd(&mut c, &["WAIT", "0", "0"]).await, Frame::Integer(0));
    let Frame::Integer(id) = cmd(&mut c, &["CLIENT", "ID"]).await else {
        panic!()
    };
    send(&mut c, &["WAIT", "1", "0"]).await;
    wait_blocked(&srv, 1).await;
    let mut p = srv.client().await;
    assert_eq!(
        cmd(&mut p, &["CLIENT", "UNBLOCK", &id.to_string()]).await,
        Frame::Integer(1)
    );
    assert_eq!(reply(&mut c).await, Frame::Integer(0));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorted_set_pops_wait_for_members_in_arrival_order() {
    let srv = TestServer::start().await;
    // A waiter per form: BZPOPMIN, BZPOPMAX, BZMPOP ... COUNT 2, all on `z`.
    let mut min = srv.client().await;
    send(&mut min, &["BZPOPMIN", "other", "z", "0"]).await;
    wait_blocked(&srv, 1).await;
    let mut max = srv.client().await;
    send(&mut max, &["BZPOPMAX", "z", "0"]).await;
    wait_blocked(&srv, 2).await;
    let mut multi = srv.client().await;
    send(&mut multi, &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "2"]).await;
    wait_blocked(&srv, 3).await;
    // A list on the same key name is not for them.
    let mut p = srv.client().await;
    assert_eq!(cmd(&mut p, &["LPUSH", "z", "x"]).await, Frame::Integer(1));
    assert!(min
        .read_frame_timeout(Duration::from_millis(50))
        .await
        .is_err());
    assert_eq!(cmd(&mut p, &["DEL", "z"]).await, Frame::Integer(1));
    // Five members: the first waiter takes the lowest, the second the highest, the third
    // the two lowest left; one stays.
    assert_eq!(
        cmd(
            &mut p,
            &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]
        )
        .await,
        Frame::Integer(5)
    );
    assert_eq!(
        reply(&mut min).await,
        Frame::Array(vec![bulk("z"), bulk("a"), bulk("1")])
    );
    assert_eq!(
        reply(&mut max).await,
        Frame::Array(vec![bulk("z"), bulk("e"), bulk("5")])
    );
    assert_eq!(
        reply(&mut multi).await,
        Frame::Array(vec![
            bulk("z"),
            Frame::Array(vec![
                Frame::Array(vec![bulk("b"), bulk("2")]),
                Frame::Array(vec![bulk("c"), bulk("3")]),
            ]),
        ])
    );
    assert_eq!(
        cmd(&mut p, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]).await,
        Frame::Array(vec![bulk("d"), bulk("4")])
    );
    // A zset stored by ZUNIONSTORE wakes a waiter too; a timeout answers a null array.
    let mut w = srv.client().await;
    send(&mut w, &["BZPOPMIN", "u", "0"]).await;
    wait_blocked(&srv, 1).await;
    assert_eq!(
        cmd(&mut p, &["ZUNIONSTORE", "u", "1", "z"]).await,
        Frame::Integer(1)
    );
    assert_eq!(
        reply(&mut w).await,
        Frame::Array(vec![bulk("u"), bulk("d"), bulk("4")])
    );
    assert_eq!(
        cmd(&mut w, &["BZPOPMAX", "u", "0.05"]).await,
        Frame::NullArray
    );
    srv.stop().await;
}
