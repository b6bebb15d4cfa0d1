//! `confab bench churn`, `stream` and `fanout` against the real server, and fanout against a
//! server that loses a delivery.

mod common;

use common::{bench, cli, stderr, stdout, Fault, FaultyServer, Server};

#[test]
fn churn_opens_a_connection_per_request() {
    let srv = Server::start(&[]);
    let out = bench(
        "churn",
        srv.port,
        &["-t", "set", "-n", "300", "-c", "4", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["tests"][0]["name"], "SET");
    assert_eq!(doc["tests"][0]["requests"], 300);
    let info = stdout(&cli(srv.port, &["--raw", "INFO", "stats"]));
    let conns: u64 = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("total_connections_received:"))
        .unwrap_or_else(|| panic!("{info}"))
        .trim()
        .parse()
        .unwrap();
    // 300 requests + the probe connection + the cli itself.
    assert!(conns >= 301, "{conns}");
}

#[test]
fn stream_fleet_counts_match() {
    let srv = Server::start(&[]);
    for target in ["xadd", "rpush"] {
        let out = bench(
            "stream",
            srv.port,
            &[
                "-c",
                "8",
                "--interval",
                "20",
                "--duration",
                "0.5",
                "-d",
                "32",
                "--target",
                target,
            ],
        );
        let text = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{target}: {text}{}",
            stderr(&out)
        );
        assert!(text.contains("check stream: OK"), "{text}");
        let sent: u64 = text
            .lines()
            .find_map(|l| l.split("sent = ").nth(1))
            .unwrap()
            .parse()
            .unwrap();
        // 8 clients x 0.5 s / 20 ms = about 200 messages.
        assert!((100..=220).contains(&sent), "{text}");
        assert!(
            text.contains(&format!("accepted {sent}, stored {sent}")),
            "{text}"
        );
    }
    // The keys were cleaned up.
    assert_eq!(stdout(&cli(srv.port, &["DBSIZE"])).trim(), "(integer) 0");
}

#[test]
fn fanout_delivers_everything_in_order() {
    let srv = Server::start(&[]);
    let out = bench(
        "fanout",
        srv.port,
        &[
            "--publishers",
            "2",
            "--subscribers",
            "4",
            "-n",
            "500",
            "-P",
            "8",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["tests"][0]["name"], "PUBLISH");
    assert_eq!(doc["tests"][0]["requests"], 1000);
    assert_eq!(doc["tests"][1]["name"], "deliveries");
    assert_eq!(doc["tests"][1]["requests"], 4000);
    assert!(doc["tests"][1]["latency_ms"]["max"].as_f64().unwrap() > 0.0);
    assert_eq!(doc["checks"][0]["ok"], true);
    // RESP3 pushes and a paced rate work too.
    let out = bench(
        "fanout",
        srv.port,
        &[
            "-3",
            "--subscribers",
            "2",
            "--rate",
            "400",
            "--duration",
            "0.5",
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("check fanout: OK"), "{text}");
}

#[test]
fn fanout_detects_a_lost_delivery() {
    let srv = FaultyServer::start(Fault::DropPublish);
    let out = bench(
        "fanout",
        srv.port,
        &["--subscribers", "3", "-n", "20", "--drain", "0.3"],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{text}{}", stderr(&out));
    assert!(text.contains("check fanout: FAILED"), "{text}");
    assert!(
        text.contains("subscriber 0: received 19 of 20; missing 1"),
        "{text}"
    );
    assert!(
        text.contains("publisher 0: expected seq 2, got 3"),
        "{text}"
    );
}
