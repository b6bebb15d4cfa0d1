//! Expiry end to end: a short TTL runs out as PTTL counts down, and the active sweeper
//! reclaims a hundred thousand keys that nobody reads again.
//!
//! The server's clock is the wall clock, so these tests wait for real time, always by polling
//! with a deadline. Reclamation is checked with `INFO keyspace`, which counts stored entries
//! (expired ones included until they are reclaimed), never with DBSIZE or reads, which skip
//! or lazily expire them.

mod common;

use std::time::{Duration, Instant};

use common::*;
use confab_client::{Client, Frame};
use confab_server::Config;

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

/// A field of the `db0:` line of INFO keyspace text; 0 when there is no such line.
fn db0_field(text: &str, name: &str) -> u64 {
    db_field(text, 0, name)
}

/// A field of the `db<db>:` line of INFO keyspace text; 0 when there is no such line.
fn db_field(text: &str, db: usize, name: &str) -> u64 {
    let prefix = format!("db{db}:");
    let Some(line) = text.lines().find_map(|l| l.strip_prefix(prefix.as_str())) else {
        return 0;
    };
    line.split(',')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        .parse()
        .unwrap()
}

fn keys_field(text: &str) -> u64 {
    db0_field(text, "keys")
}

/// `(keys, expires)` of db0 from INFO keyspace.
async fn db0_counts(c: &mut Client) -> (u64, u64) {
    let text = info(c, "keyspace").await;
    (db0_field(&text, "keys"), db0_field(&text, "expires"))
}

async fn expired_keys(c: &mut Client) -> u64 {
    let text = info(c, "stats").await;
    info_value(&text, "expired_keys").parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn px_50_runs_out() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    // One batch shares one clock reading, so PTTL right after SET is exactly the TTL.
    c.queue(&["SET", "short", "v", "PX", "50"]);
    c.queue(&["PTTL", "short"]);
    c.queue(&["GET", "short"]);
    c.flush().await.unwrap();
    assert_eq!(reply(&mut c).await, simple("OK"));
    let first = int(&reply(&mut c).await);
    assert!((1..=50).contains(&first), "PTTL right after PX 50: {first}");
    assert_eq!(reply(&mut c).await, bulk("v"));

    // PTTL counts down: every reading is lower than or equal to the one before, and it
    // ends at -2 (no such key).
    let mut last = first;
    let mut readings = vec![first];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let p = int(&cmd(&mut c, &["PTTL", "short"]).await);
        assert!(p <= last, "PTTL went up from {last} to {p}");
        assert!(p == -2 || p >= 0, "PTTL of a volatile key was {p}");
        if p != last {
            readings.push(p);
        }
        last = p;
        if p == -2 {
            break;
        }
        assert!(Instant::now() < deadline, "key still alive after 5s: {p}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(readings.len() >= 2, "PTTL never decreased: {readings:?}");
    assert_eq!(cmd(&mut c, &["GET", "short"]).await, Frame::Null);
    assert_eq!(cmd(&mut c, &["EXISTS", "short"]).await, Frame::Integer(0));
    assert_eq!(cmd(&mut c, &["TTL", "short"]).await, Frame::Integer(-2));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeper_reclaims_100k_untouched_keys() {
    const KEYS: u64 = 100_000;
    const BATCH: u64 = 1_000;
    let srv = TestServer::start_with(Config {
        hz: 10,
        ..Config::for_tests()
    })
    .await;
    let mut c = srv.client().await;
    // Keys that must survive the sweeps: ten without a TTL, ten with a long one.
    for i in 0..10 {
        let k = format!("keep:{i}");
        assert_eq!(cmd(&mut c, &["SET", &k, "v"]).await, simple("OK"));
        let k = format!("keep:ttl:{i}");
        assert_eq!(
            cmd(&mut c, &["SET", &k, "v", "PX", "600000"]).await,
            simple("OK")
        );
    }
    let started = Instant::now();
    // Whether INFO ever counted more keys than DBSIZE (live keys) in the same batch: proof
    // that INFO keyspace sees expired entries the sweeper has not reclaimed yet, so the
    // final count really measures the sweeper.
    let mut saw_unreclaimed = false;
    let mut i = 0;
    while i < KEYS {
        for j in i..i + BATCH {
            let key = format!("vol:{j}");
            // TTLs spread over 100..=300 ms.
            let ttl = (100 + j * 7919 % 201).to_string();
            c.queue(&["SET", key.as_str(), "x", "PX", ttl.as_str()]);
        }
        c.flush().await.unwrap();
        for _ in 0..BATCH {
            assert_eq!(reply(&mut c).await, simple("OK"));
        }
        i += BATCH;
        if i % (10 * BATCH) == 0 {
            c.queue(&["INFO", "keyspace"]);
            c.queue(&["DBSIZE"]);
            c.flush().await.unwrap();
            let Frame::Bulk(text) = reply(&mut c).await else {
                panic!("INFO did not return a bulk string");
            };
            let live = int(&reply(&mut c).await);
            let stored = keys_field(&String::from_utf8_lossy(&text));
            assert!(stored >= live as u64, "INFO keys={stored} < DBSIZE {live}");
            saw_unreclaimed |= stored > live as u64;
        }
    }
    let loaded = started.elapsed();

    // Only INFO from now on: nothing reads the volatile keys.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut counts = db0_counts(&mut c).await;
    let peak = counts.0;
    while counts != (20, 10) {
        assert!(
            Instant::now() < deadline,
            "sweeper left {counts:?} (keys, expires) after 10s; expected (20, 10)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        counts = db0_counts(&mut c).await;
    }
    let reclaimed = started.elapsed();
    assert!(
        saw_unreclaimed,
        "INFO keyspace never counted an expired key before its reclamation"
    );
    assert_eq!(expired_keys(&mut c).await, KEYS);
    // The survivors are intact.
    assert_eq!(cmd(&mut c, &["DBSIZE"]).await, Frame::Integer(20));
    assert_eq!(cmd(&mut c, &["GET", "keep:0"]).await, bulk("v"));
    let pttl = int(&cmd(&mut c, &["PTTL", "keep:ttl:9"]).await);
    assert!(pttl > 500_000, "long TTL damaged: {pttl}");
    eprintln!(
        "loaded {KEYS} keys in {loaded:?} (INFO then showed {peak}), all reclaimed after {reclaimed:?}"
    );
    srv.stop().await;
}

/// `(keys, expires)` of database `db` from INFO keyspace text.
fn db_counts(text: &str, db: usize) -> (u64, u64) {
    (db_field(text, db, "keys"), db_field(text, db, "expires"))
}

/// The sweeper skips shards it believes hold no expiring keys; every way a TTL can reach a
/// shard must make it look again: EXPIRE on a plain key, RENAME, MOVE and SWAPDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeper_finds_ttls_however_they_arrive() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    for i in 0..200 {
        let k = format!("plain:{i}");
        cmd(&mut c, &["SET", &k, "v"]).await;
        cmd(&mut c, &["PEXPIRE", &k, "1500"]).await;
    }
    for i in 0..200 {
        let k = format!("ren:{i}");
        cmd(&mut c, &["SET", &k, "v", "PX", "1500"]).await;
        cmd(&mut c, &["RENAME", &k, &format!("renamed:{i}")]).await;
    }
    for i in 0..200 {
        let k = format!("mv:{i}");
        cmd(&mut c, &["SET", &k, "v", "PX", "1500"]).await;
        cmd(&mut c, &["MOVE", &k, "2"]).await;
    }
    cmd(&mut c, &["SELECT", "3"]).await;
    for i in 0..200 {
        cmd(&mut c, &["SET", &format!("sw:{i}"), "v", "PX", "1500"]).await;
    }
    cmd(&mut c, &["SWAPDB", "3", "4"]).await;
    // The TTLs arrived (a slow machine may already have reclaimed some: hence no exact count).
    let text = info(&mut c, "keyspace").await;
    for db in [0, 2, 4] {
        assert!(
            db_counts(&text, db).1 > 0,
            "no expiring keys in db{db}: {text}"
        );
    }
    // Only INFO from now on: nothing reads the keys.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = info(&mut c, "keyspace").await;
        let left: Vec<(u64, u64)> = [0, 2, 4].iter().map(|&db| db_counts(&text, db)).collect();
        if left.iter().all(|&c| c == (0, 0)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sweeper left (keys, expires) {left:?} in db0, db2, db4 after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(expired_keys(&mut c).await, 800);
    srv.stop().await;
}

/// INFO `expired_keys` counts keys removed on access (a read, an overwrite, a DEL), not only
/// those the sweeper reclaims, as Redis counts them; CONFIG RESETSTAT zeroes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_keys_counts_expiry_on_access() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    // The sweeper runs once a second at most, so the accesses below find the keys first.
    assert_eq!(
        cmd(&mut c, &["CONFIG", "SET", "hz", "1"]).await,
        simple("OK")
    );
    for k in ["a", "b", "c", "d"] {
        c.queue(&["SET", k, "v", "PX", "20"]);
    }
    c.flush().await.unwrap();
    for _ in 0..4 {
        assert_eq!(c.read_frame().await.unwrap(), Some(simple("OK")));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while cmd(&mut c, &["PTTL", "d"]).await != Frame::Integer(-2) {
        assert!(Instant::now() < deadline, "d never expired");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(cmd(&mut c, &["GET", "a"]).await, Frame::Null);
    assert_eq!(cmd(&mut c, &["SET", "b", "new"]).await, simple("OK"));
    assert_eq!(cmd(&mut c, &["DEL", "c"]).await, Frame::Integer(0));
    assert_eq!(expired_keys(&mut c).await, 4);
    assert_eq!(cmd(&mut c, &["CONFIG", "RESETSTAT"]).await, simple("OK"));
    assert_eq!(expired_keys(&mut c).await, 0);
    srv.stop().await;
}
