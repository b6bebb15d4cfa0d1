//! Concurrency: many clients on one counter, multi-key reads racing multi-key writes, WATCH
//! aborts, and EXEC atomicity as other clients see it.
//!
//! Each test bounds its work by iteration counts and an overall deadline, and checks that the
//! racing sides really overlapped, so a pass means the race was actually run.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use confab_client::{Client, Frame};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Read one reply, failing the test after 10 s or on a close.
async fn reply(c: &mut Client) -> Frame {
    c.read_frame_timeout(Duration::from_secs(10))
        .await
        .expect("no reply")
        .expect("connection closed")
}

fn int(f: &Frame) -> i64 {
    match f {
        Frame::Integer(n) => *n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

/// Encode a command as a RESP multibulk.
fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_incr_one_key() {
    const CLIENTS: usize = 50;
    const PER_CLIENT: usize = 10_000;
    const BATCH: usize = 100;
    let srv = TestServer::start().await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let mut c = srv.client().await;
        tasks.push(tokio::spawn(async move {
            let mut last = 0;
            for _ in 0..PER_CLIENT / BATCH {
                for _ in 0..BATCH {
                    c.queue(&["INCR", "counter"]);
                }
                c.flush().await.unwrap();
                for _ in 0..BATCH {
                    let n = int(&reply(&mut c).await);
                    // Other clients interleave, but this client's own increments are ordered.
                    assert!(n > last, "INCR went from {last} to {n}");
                    last = n;
                }
            }
            last
        }));
    }
    let mut highest = 0;
    for t in tasks {
        let last = tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("INCR clients did not finish in 60s")
            .unwrap();
        highest = highest.max(last);
    }
    let total = (CLIENTS * PER_CLIENT) as i64;
    assert_eq!(highest, total, "the last INCR did not return the total");
    let mut c = srv.client().await;
    assert_eq!(cmd(&mut c, &["GET", "counter"]).await, bulk("500000"));
    eprintln!(
        "{total} INCRs from {CLIENTS} clients in {:?}",
        started.elapsed()
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mset_mget_never_torn() {
    const WRITERS: u64 = 4;
    const READERS: usize = 4;
    const WRITES: u64 = 2_000;
    const MAX_READS: usize = 20_000;
    let keys: Vec<String> = (1..=10).map(|i| format!("k{i}")).collect();
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let mut mset: Vec<&str> = vec!["MSET"];
    for k in &keys {
        mset.extend([k.as_str(), "init"]);
    }
    assert_eq!(cmd(&mut c, &mset).await, simple("OK"));

    let writing = Arc::new(AtomicBool::new(true));
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let mut c = srv.client().await;
        let keys = keys.clone();
        let writing = writing.clone();
        readers.push(tokio::spawn(async move {
            let mut args = vec!["MGET"];
            args.extend(keys.iter().map(String::as_str));
            let mut reads = 0;
            let mut seen = std::collections::HashSet::new();
            while writing.load(Ordering::Acquire) && reads < MAX_READS {
                let Frame::Array(items) = cmd(&mut c, &args).await else {
                    panic!("MGET did not return an array");
                };
                let vals: Vec<String> = items.iter().map(text).collect();
                assert!(
                    vals.iter().all(|v| *v == vals[0]),
                    "torn MSET seen by MGET: {vals:?}"
                );
                seen.insert(vals[0].clone());
                reads += 1;
            }
            seen.len()
        }));
    }
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let mut c = srv.client().await;
        let keys = keys.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..WRITES {
                let v = format!("w{w}-{i}");
                let mut args = vec!["MSET"];
                for k in &keys {
                    args.extend([k.as_str(), v.as_str()]);
                }
                assert_eq!(cmd(&mut c, &args).await, simple("OK"));
            }
        }));
    }
    for w in writers {
        tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .expect("writers did not finish in 60s")
            .unwrap();
    }
    writing.store(false, Ordering::Release);
    let mut distinct = 0;
    for r in readers {
        distinct += r.await.unwrap();
    }
    eprintln!("MGET readers saw {distinct} distinct values in total");
    // The readers must have watched the values change, or nothing was tested.
    assert!(
        distinct > 2 * READERS,
        "readers saw only {distinct} distinct values in total"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_aborts_exec_when_key_touched() {
    let srv = TestServer::start().await;
    let mut other = srv.client().await;
    let mut tx = TcpStream::connect(srv.addr).await.unwrap();

    // Touched between WATCH and MULTI: EXEC returns the RESP2 null array.
    tx.write_all(&resp(&["WATCH", "w"])).await.unwrap();
    assert_eq!(read_raw(&mut tx, 5).await, b"+OK\r\n");
    assert_eq!(cmd(&mut other, &["SET", "w", "theirs"]).await, simple("OK"));
    let mut wire = resp(&["MULTI"]);
    wire.extend(resp(&["SET", "w", "mine"]));
    wire.extend(resp(&["EXEC"]));
    tx.write_all(&wire).await.unwrap();
    let want: &[u8] = b"+OK\r\n+QUEUED\r\n*-1\r\n";
    assert_eq!(read_raw(&mut tx, want.len()).await, want);
    assert_eq!(cmd(&mut other, &["GET", "w"]).await, bulk("theirs"));

    // Touched while the transaction is queued (same value, still a touch).
    tx.write_all(
        &[
            resp(&["WATCH", "w"]),
            resp(&["MULTI"]),
            resp(&["INCR", "n"]),
        ]
        .concat(),
    )
    .await
    .unwrap();
    let want: &[u8] = b"+OK\r\n+OK\r\n+QUEUED\r\n";
    assert_eq!(read_raw(&mut tx, want.len()).await, want);
    assert_eq!(cmd(&mut other, &["SET", "w", "theirs"]).await, simple("OK"));
    tx.write_all(&resp(&["EXEC"])).await.unwrap();
    assert_eq!(read_raw(&mut tx, 5).await, b"*-1\r\n");
    assert_eq!(cmd(&mut other, &["EXISTS", "n"]).await, Frame::Integer(0));

    // Untouched: EXEC runs. (Watches end with every EXEC, so the earlier touches are gone.)
    let mut wire = resp(&["WATCH", "w"]);
    wire.extend(resp(&["MULTI"]));
    wire.extend(resp(&["SET", "w", "mine"]));
    wire.extend(resp(&["INCR", "n"]));
    wire.extend(resp(&["EXEC"]));
    tx.write_all(&wire).await.unwrap();
    let want: &[u8] = b"+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:1\r\n";
    assert_eq!(read_raw(&mut tx, want.len()).await, want);
    assert_eq!(cmd(&mut other, &["GET", "w"]).await, bulk("mine"));

    // A touch of an unrelated key does not abort.
    tx.write_all(
        &[
            resp(&["WATCH", "w"]),
            resp(&["MULTI"]),
            resp(&["INCR", "n"]),
        ]
        .concat(),
    )
    .await
    .unwrap();
    let want: &[u8] = b"+OK\r\n+OK\r\n+QUEUED\r\n";
    assert_eq!(read_raw(&mut tx, want.len()).await, want);
    assert_eq!(
        cmd(&mut other, &["SET", "unrelated", "x"]).await,
        simple("OK")
    );
    tx.write_all(&resp(&["EXEC"])).await.unwrap();
    let want: &[u8] = b"*1\r\n:2\r\n";
    assert_eq!(read_raw(&mut tx, want.len()).await, want);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_is_atomic_to_other_readers() {
    const TXS: i64 = 3_000;
    const READERS: usize = 2;
    const MAX_READS: usize = 50_000;
    // Four keys, so at least two of them almost surely live in different shards.
    const KEYS: [&str; 4] = ["a", "b", "c", "d"];
    let srv = TestServer::start().await;
    let writing = Arc::new(AtomicBool::new(true));
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let mut c = srv.client().await;
        let writing = writing.clone();
        readers.push(tokio::spawn(async move {
            let mut args = vec!["MGET"];
            args.extend(KEYS);
            let (mut reads, mut mid) = (0, 0);
            while writing.load(Ordering::Acquire) && reads < MAX_READS {
                let Frame::Array(items) = cmd(&mut c, &args).await else {
                    panic!("MGET did not return an array");
                };
                let vals: Vec<Option<String>> = items
                    .iter()
                    .map(|f| match f {
                        Frame::Null => None,
                        f => Some(text(f)),
                    })
                    .collect();
                assert!(
                    vals.iter().all(|v| *v == vals[0]),
                    "saw the middle of a transaction: {vals:?}"
                );
                if vals[0].as_deref().is_some_and(|v| v != TXS.to_string()) {
                    mid += 1;
                }
                reads += 1;
            }
            mid
        }));
    }
    let mut c = srv.client().await;
    for i in 1..=TXS {
        c.queue(&["MULTI"]);
        for k in KEYS {
            c.queue(&["INCR", k]);
        }
        c.queue(&["EXEC"]);
        c.flush().await.unwrap();
        assert_eq!(reply(&mut c).await, simple("OK"));
        for _ in KEYS {
            assert_eq!(reply(&mut c).await, simple("QUEUED"));
        }
        assert_eq!(
            reply(&mut c).await,
            Frame::Array(vec![Frame::Integer(i); KEYS.len()])
        );
    }
    writing.store(false, Ordering::Release);
    let mut mid = 0;
    for r in readers {
        mid += tokio::time::timeout(Duration::from_secs(30), r)
            .await
            .expect("readers did not stop")
            .unwrap();
    }
    eprintln!("{mid} MGETs ran between transactions");
    // The readers must have read while transactions were running.
    assert!(mid > 0, "no read overlapped the transactions");
    srv.stop().await;
}

/// INFO queued in a transaction that holds a key's shard: its keyspace section used to lock
/// that shard again and the lane's thread waited on itself, stalling every connection it
/// served. EXEC now holds every shard for INFO, and INFO reads them through its locks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_inside_a_transaction_answers_and_the_server_goes_on() {
    let srv = TestServer::start_on_server_runtime(confab_server::Config::for_tests()).await;
    let mut tx = srv.client().await;
    let mut other = srv.client().await;
    assert_eq!(cmd(&mut tx, &["WATCH", "w"]).await, simple("OK"));
    assert_eq!(cmd(&mut tx, &["MULTI"]).await, simple("OK"));
    assert_eq!(cmd(&mut tx, &["SET", "a", "1"]).await, simple("QUEUED"));
    assert_eq!(cmd(&mut tx, &["INFO", "keyspace"]).await, simple("QUEUED"));
    assert_eq!(cmd(&mut tx, &["INFO"]).await, simple("QUEUED"));
    let Frame::Array(replies) = cmd(&mut tx, &["EXEC"]).await else {
        panic!("EXEC did not answer with an array");
    };
    assert_eq!(replies[0], simple("OK"));
    for info in &replies[1..] {
        assert!(
            text(info).contains("db0:keys=1,expires=0"),
            "INFO in EXEC: {info:?}"
        );
    }
    assert_eq!(cmd(&mut other, &["PING"]).await, simple("PONG"));
    srv.stop().await;
}

/// Every command in the table, queued after a SET between WATCH and EXEC (so the
/// transaction holds shards), with a few argument shapes: EXEC answers and another client is
/// served after each. A command that locks a shard the transaction holds stalls the server
/// here (INFO did). Commands that end, pause or take over the connection are left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_inside_exec_leaves_the_server_serving() {
    let srv = TestServer::start_on_server_runtime(confab_server::Config::for_tests()).await;
    let mut probe = srv.client().await;
    let Frame::Array(names) = cmd(&mut probe, &["COMMAND", "LIST"]).await else {
        panic!("COMMAND LIST did not answer with an array");
    };
    let names: Vec<String> = names.iter().map(text).collect();
    assert!(names.len() > 200, "only {} commands listed", names.len());
    let skip = [
        "shutdown",
        "monitor",
        "quit",
        "reset",
        "client|pause",
        "client|kill",
        "hello",
        "auth",
    ];
    let shapes: &[&[&str]] = &[&[], &["k"], &["k", "v"], &["k", "0", "1"], &["k", "k2"]];
    let mut ran = 0;
    for name in names.iter().filter(|n| !skip.contains(&n.as_str())) {
        for shape in shapes {
            let mut queued: Vec<&str> = name.split('|').collect();
            queued.extend_from_slice(shape);
            let mut tx = TcpStream::connect(srv.addr).await.unwrap();
            let wire = [
                resp(&["SET", "k", "1"]),
                resp(&["WATCH", "k", "k2"]),
                resp(&["MULTI"]),
                resp(&["SET", "k", "2"]),
                resp(&queued),
                resp(&["EXEC"]),
            ]
            .concat();
            tx.write_all(&wire).await.unwrap();
            // Something comes back (the replies up to EXEC's, or an error and a close).
            assert!(
                !read_raw(&mut tx, 1).await.is_empty(),
                "no reply to a transaction with {queued:?}"
            );
            drop(tx);
            let pong = tokio::time::timeout(Duration::from_secs(5), probe.command(&["PING"]))
                .await
                .unwrap_or_else(|_| panic!("server stalled after EXEC with {queued:?}"));
            assert_eq!(pong.unwrap(), simple("PONG"), "after {queued:?}");
            ran += 1;
        }
    }
    assert!(ran > 1000, "only {ran} transactions ran");
    srv.stop().await;
}
