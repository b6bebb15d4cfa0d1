//! Keyspace notifications beyond what the differential script (`tests/diff/notifications.txt`)
//! can show: keys reclaimed by the sweeper without being touched, a blocked client served by
//! another client's push, RESP3 pushes, and nothing at all while notifications are off.
mod common;

use std::time::Duration;

use common::*;
use confab_client::{Client, Frame};

/// A RESP2 connection subscribed to every keyspace and keyevent channel.
async fn listener(srv: &TestServer) -> Client {
    let mut sub = srv.client().await;
    send(&mut sub, &["PSUBSCRIBE", "__key*__:*"]).await;
    assert!(matches!(reply(&mut sub).await, Frame::Array(_)));
    sub
}

/// The next pmessage as `channel message`.
async fn next_event(sub: &mut Client) -> String {
    match reply(sub).await {
        Frame::Array(items) | Frame::Push(items) if items.len() == 4 => {
            let text = |f: &Frame| match f {
                Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => format!("{other:?}"),
            };
            format!("{} {}", text(&items[2]), text(&items[3]))
        }
        other => panic!("not a pmessage: {other:?}"),
    }
}

/// Publish a sentinel that the listener's pattern matches, and collect what came before it.
async fn events_until_sentinel(c: &mut Client, sub: &mut Client) -> Vec<String> {
    cmd(c, &["PUBLISH", "__keyevent@9__:sentinel", "end"]).await;
    let mut seen = Vec::new();
    loop {
        let e = next_event(sub).await;
        if e.starts_with("__keyevent@9__:sentinel") {
            return seen;
        }
        seen.push(e);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_reports_keys_that_expired_untouched() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    assert_eq!(
        cmd(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Ex"]).await,
        simple("OK")
    );
    let mut sub = listener(&srv).await;
    for i in 0..20 {
        let key = format!("ttl:{i}");
        assert_eq!(
            cmd(&mut c, &["SET", &key, "v", "PX", "30"]).await,
            simple("OK")
        );
    }
    // Nobody touches the keys: the active sweeper reclaims them and says so.
    let mut expired = Vec::new();
    for _ in 0..20 {
        expired.push(next_event(&mut sub).await);
    }
    expired.sort();
    let mut want: Vec<String> = (0..20)
        .map(|i| format!("__keyevent@0__:expired ttl:{i}"))
        .collect();
    want.sort();
    assert_eq!(expired, want);
    assert_eq!(cmd(&mut c, &["DBSIZE"]).await, Frame::Integer(0));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_serves_a_blocked_client_reports_the_push_then_the_pop() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    cmd(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]).await;
    let mut sub = listener(&srv).await;
    let mut waiter = srv.client().await;
    send(&mut waiter, &["BLPOP", "queue", "0"]).await;
    wait_blocked(&srv, 1).await;
    assert_eq!(
        cmd(&mut c, &["RPUSH", "queue", "job"]).await,
        Frame::Integer(1)
    );
    assert_eq!(
        reply(&mut waiter).await,
        Frame::Array(vec![bulk("queue"), bulk("job")])
    );
    // As Redis: the pushing command's events, then the blocked client's pop and the
    // deletion of the list it emptied.
    assert_eq!(
        events_until_sentinel(&mut c, &mut sub).await,
        [
            "__keyspace@0__:queue rpush",
            "__keyevent@0__:rpush queue",
            "__keyspace@0__:queue lpop",
            "__keyevent@0__:lpop queue",
            "__keyspace@0__:queue del",
            "__keyevent@0__:del queue",
        ]
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3_subscribers_get_pushes_and_nothing_is_sent_while_off() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let mut sub = srv.client().await;
    sub.hello(3, None).await.unwrap();
    send(
        &mut sub,
        &["SUBSCRIBE", "__keyevent@0__:set", "__keyevent@9__:sentinel"],
    )
    .await;
    assert!(matches!(reply(&mut sub).await, Frame::Push(_)));
    assert!(matches!(reply(&mut sub).await, Frame::Push(_)));
    // Off (the default): a SET publishes nothing.
    assert_eq!(
        cmd(&mut c, &["CONFIG", "GET", "notify-keyspace-events"]).await,
        Frame::Array(vec![bulk("notify-keyspace-events"), bulk("")])
    );
    cmd(&mut c, &["SET", "quiet", "v"]).await;
    cmd(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "E$"]).await;
    cmd(&mut c, &["SET", "loud", "v"]).await;
    cmd(&mut c, &["PUBLISH", "__keyevent@9__:sentinel", "end"]).await;
    let msg = |f: Frame| match f {
        Frame::Push(items) => items,
        other => panic!("not a push: {other:?}"),
    };
    let first = msg(reply(&mut sub).await);
    assert_eq!(first[1], bulk("__keyevent@0__:set"));
    assert_eq!(first[2], bulk("loud"));
    let second =
        msg(
            tokio::time::timeout(Duration::from_secs(10), async { reply(&mut sub).await })
                .await
                .unwrap(),
        );
    assert_eq!(second[1], bulk("__keyevent@9__:sentinel"));
    srv.stop().await;
}
