//! `confab bench requests`: JSON counts match the server's INFO commandstats, pipelines with a
//! partial last batch, error replies are counted and shown, the SVG plot, usage errors.

mod common;

use common::{bench, cli, closed_port, stderr, stdout, FakeServer, Server, TempDir};

fn calls(info: &str, cmd: &str) -> u64 {
    let prefix = format!("cmdstat_{cmd}:calls=");
    let line = info
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {info}"));
    line[prefix.len()..]
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn json_counts_match_commandstats() {
    let srv = Server::start(&[]);
    let out = bench(
        "requests",
        srv.port,
        &[
            "-t", "set,get", "-n", "3001", "-c", "7", "-P", "4", "-r", "1000", "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tests = doc["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 2);
    assert_eq!(tests[0]["name"], "SET");
    assert_eq!(tests[1]["name"], "GET");
    let info = stdout(&cli(srv.port, &["--raw", "INFO", "commandstats"]));
    for (t, cmd) in tests.iter().zip(["set", "get"]) {
        assert_eq!(t["requests"], 3001);
        assert_eq!(t["errors"], 0);
        assert_eq!(t["requests"].as_u64().unwrap(), calls(&info, cmd), "{cmd}");
        assert!(t["rps"].as_f64().unwrap() > 0.0);
        let l = &t["latency_ms"];
        assert!(l["p50"].as_f64().unwrap() <= l["p99"].as_f64().unwrap());
        assert!(l["p99"].as_f64().unwrap() <= l["max"].as_f64().unwrap());
    }
    // Random keys were used: many distinct keys exist.
    let size = stdout(&cli(srv.port, &["DBSIZE"]));
    let n: u64 = size
        .trim()
        .trim_start_matches("(integer) ")
        .parse()
        .unwrap();
    assert!(n > 500 && n <= 1000, "{size}");
    assert_eq!(doc["settings"]["pipeline"], 4);
}

#[test]
fn table_and_duration_mode_and_mset() {
    let srv = Server::start(&[]);
    let out = bench(
        "requests",
        srv.port,
        &["-t", "ping,mset,lrange_100", "--duration", "0.3", "-c", "5"],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let header = text.lines().next().unwrap();
    for col in [
        "requests", "errors", "rps", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms",
    ] {
        assert!(header.contains(col), "{header}");
    }
    for name in ["PING_INLINE", "PING_MBULK", "MSET", "LRANGE_100"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {text}"));
        let requests: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(requests > 0, "{line}");
    }
    let info = stdout(&cli(srv.port, &["--raw", "INFO", "commandstats"]));
    let mset_row: u64 = text
        .lines()
        .find(|l| l.starts_with("MSET"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(calls(&info, "mset"), mset_row);
    assert_eq!(calls(&info, "lpush"), 1, "one LPUSH fills mylist");
    // MSET sets 10 keys each: with no -r they are all the same literal key.
    assert_eq!(
        stdout(&cli(srv.port, &["EXISTS", "key:__rand_int__"])).trim(),
        "(integer) 1"
    );
}

#[test]
fn error_replies_are_counted_and_shown() {
    let fake = FakeServer::start(|_| b"-ERR not today\r\n".to_vec());
    let out = bench(
        "requests",
        fake.port,
        &["-t", "set", "-n", "200", "-c", "3"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let line = text.lines().find(|l| l.starts_with("SET")).unwrap();
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!((cols[1], cols[2]), ("200", "200"), "{line}");
    assert!(
        stderr(&out).contains("SET: 200 error replies; first: ERR not today"),
        "{}",
        stderr(&out)
    );
    let out = bench("requests", fake.port, &["-t", "get", "-n", "10", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["tests"][0]["errors"], 10);
    assert_eq!(doc["tests"][0]["first_error"], "ERR not today");
}

#[test]
fn plot_is_svg_with_both_series() {
    let srv = Server::start(&[]);
    let dir = TempDir::new("bench-plot");
    let path = dir.path("run.svg");
    let out = bench(
        "requests",
        srv.port,
        &[
            "-t",
            "set,get",
            "-n",
            "2000",
            "--plot",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"));
    for needle in [
        r#"class="series latency" data-test="SET""#,
        r#"class="series latency" data-test="GET""#,
        r#"class="series throughput" data-test="SET""#,
        "latency distribution",
        "throughput over time",
    ] {
        assert!(svg.contains(needle), "{needle} missing");
    }
    // Rough well-formedness: every opened element is closed.
    let opens = svg.matches('<').count();
    let self_closed = svg.matches("/>").count();
    let closes = svg.matches("</").count();
    assert_eq!(opens, 2 * closes + self_closed, "unbalanced tags");
    let points = svg
        .split(r#"data-test="SET" points=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(points.split(' ').count() >= 2, "{points}");
}

#[test]
fn usage_errors_exit_2() {
    let out = bench("requests", closed_port(), &["-t", "set", "-n", "10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot connect"), "{}", stderr(&out));
    let out = bench("requests", closed_port(), &["-t", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown test"), "{}", stderr(&out));
    let out = bench("requests", closed_port(), &["-c", "0"]);
    assert_eq!(out.status.code(), Some(2));
}
