//! `confab cli` without a terminal: one-shot commands, every reply type in the three output
//! modes, exit codes, stdin pipes, the handshake (name, db, auth, HELLO fallback), --log, and
//! what happens when the server goes away during subscribe mode.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use confab_protocol::Bytes;

fn ok(o: &std::process::Output) -> String {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    stdout(o)
}

#[test]
fn every_reply_type_renders_like_redis_cli() {
    let srv = Server::start(&[]);
    let p = srv.port;
    assert_eq!(ok(&cli(p, &["SET", "k", "v"])), "OK\n");
    assert_eq!(ok(&cli(p, &["GET", "k"])), "\"v\"\n");
    assert_eq!(ok(&cli(p, &["SET", "q", "a\"b\\c\n\x01"])), "OK\n");
    assert_eq!(ok(&cli(p, &["GET", "q"])), "\"a\\\"b\\\\c\\n\\x01\"\n");
    assert_eq!(ok(&cli(p, &["GET", "missing"])), "(nil)\n");
    assert_eq!(ok(&cli(p, &["INCRBY", "n", "5"])), "(integer) 5\n");
    assert_eq!(ok(&cli(p, &["INCRBYFLOAT", "f", "1.5"])), "\"1.5\"\n");
    assert_eq!(ok(&cli(p, &["RPUSH", "l", "a", "b"])), "(integer) 2\n");
    assert_eq!(
        ok(&cli(p, &["LRANGE", "l", "0", "-1"])),
        "1) \"a\"\n2) \"b\"\n"
    );
    assert_eq!(
        ok(&cli(p, &["LRANGE", "nope", "0", "-1"])),
        "(empty array)\n"
    );
    // Nested arrays: a stream entry is [id, [field, value]].
    ok(&cli(p, &["XADD", "s", "1-1", "f", "v"]));
    assert_eq!(
        ok(&cli(p, &["XRANGE", "s", "-", "+"])),
        "1) 1) \"1-1\"\n   2) 1) \"f\"\n      2) \"v\"\n"
    );
    // RESP3 (the default): map and set (doubles: see the fake server test below).
    ok(&cli(p, &["HSET", "h", "f1", "v1", "f2", "v2"]));
    assert_eq!(
        ok(&cli(p, &["HGETALL", "h"])),
        "1# \"f1\" => \"v1\"\n2# \"f2\" => \"v2\"\n"
    );
    assert_eq!(ok(&cli(p, &["HGETALL", "nope"])), "(empty hash)\n");
    ok(&cli(p, &["SADD", "set", "m"]));
    assert_eq!(ok(&cli(p, &["SMEMBERS", "set"])), "1~ \"m\"\n");
    assert_eq!(ok(&cli(p, &["SMEMBERS", "nope"])), "(empty set)\n");
    // RESP2 with -2: the same replies flattened.
    assert_eq!(
        ok(&cli(p, &["-2", "HGETALL", "h"])),
        "1) \"f1\"\n2) \"v1\"\n3) \"f2\"\n4) \"v2\"\n"
    );
    // Errors: exit 1.
    let e = cli(p, &["NOSUCHCMD"]);
    assert_eq!(e.status.code(), Some(1));
    assert!(
        stdout(&e).starts_with("(error) ERR unknown command 'NOSUCHCMD'"),
        "{}",
        stdout(&e)
    );
}

#[test]
fn raw_and_json_modes() {
    let srv = Server::start(&[]);
    let p = srv.port;
    ok(&cli(p, &["HSET", "h", "a", "1", "b", "x y"]));
    assert_eq!(ok(&cli(p, &["--raw", "HGETALL", "h"])), "a 1\nb x y\n");
    assert_eq!(
        ok(&cli(p, &["--raw", "-2", "HGETALL", "h"])),
        "a\n1\nb\nx y\n"
    );
    assert_eq!(ok(&cli(p, &["--raw", "GET", "nope"])), "\n");
    assert_eq!(ok(&cli(p, &["--raw", "HLEN", "h"])), "2\n");
    let e = cli(p, &["--raw", "NOSUCHCMD"]);
    assert_eq!(e.status.code(), Some(1));
    assert!(stdout(&e).starts_with("ERR unknown command") && stdout(&e).ends_with("\n\n"));

    assert_eq!(
        ok(&cli(p, &["--json", "HGETALL", "h"])),
        "{\"a\":\"1\",\"b\":\"x y\"}\n"
    );
    assert_eq!(ok(&cli(p, &["--json", "GET", "nope"])), "null\n");
    assert_eq!(ok(&cli(p, &["--json", "HLEN", "h"])), "2\n");
    assert_eq!(
        ok(&cli(p, &["--json", "HMGET", "h", "a", "zz"])),
        "[\"1\",null]\n"
    );
    let e = cli(p, &["--json", "NOSUCHCMD"]);
    assert_eq!(e.status.code(), Some(1));
    assert!(stdout(&e).starts_with("{\"error\":\"ERR unknown command"));
}

/// Byte-for-byte against redis-cli talking to the same server, where redis-cli is installed.
#[test]
fn same_bytes_as_redis_cli() {
    if Command::new("redis-cli").arg("--version").output().is_err() {
        println!("SKIPPED: redis-cli not installed");
        return;
    }
    let srv = Server::start(&[]);
    let p = srv.port.to_string();
    let setup: &[&[&str]] = &[
        &["RPUSH", "l", "a", "b\tc", "d\"e"],
        &["HSET", "h", "f1", "v1", "f2", "\u{e9}"],
        &["SADD", "s", "x"],
        &["INCRBYFLOAT", "fl", "1.5"],
        &["XADD", "st", "1-1", "f", "v", "g", "w"],
        &["XADD", "st", "2-1", "f", "v2"],
    ];
    for c in setup {
        ok(&cli(srv.port, c));
    }
    let cases: &[&[&str]] = &[
        &["PING"],
        &["GET", "nope"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "nope", "0", "-1"],
        &["HGETALL", "h"],
        &["HGETALL", "nope"],
        &["SMEMBERS", "s"],
        &["SMEMBERS", "nope"],
        &["HMGET", "h", "f1", "nope"],
        &["GET", "fl"],
        &["TYPE", "l"],
        &["XRANGE", "st", "-", "+"],
        &["XREAD", "STREAMS", "st", "0"],
        &["LLEN", "l"],
        &["NOSUCHCMD", "x"],
        &["HELLO", "3"],
    ];
    for proto in ["-2", "-3"] {
        for mode in ["--no-raw", "--raw"] {
            for c in cases {
                let theirs = Command::new("redis-cli")
                    .args(["-p", &p, proto, mode])
                    .args(*c)
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                let mut ours_args = vec![proto];
                if mode == "--raw" {
                    ours_args.push("--raw");
                }
                ours_args.extend_from_slice(c);
                let ours = cli(srv.port, &ours_args);
                let (t, o) = (stdout(&theirs), stdout(&ours));
                if c[0] == "HELLO" {
                    // Only the connection id differs.
                    let strip = |s: &str| {
                        s.lines()
                            .filter(|l| !l.contains("id") && !l.chars().all(|c| c.is_ascii_digit()))
                            .collect::<Vec<_>>()
                            .join("\n")
                    };
                    assert_eq!(strip(&o), strip(&t), "{proto} {mode} {c:?}");
                } else {
                    assert_eq!(o, t, "{proto} {mode} {c:?}");
                }
            }
        }
    }
}

/// RESP3 types the server never sends (boolean, big number, verbatim, push, nested maps)
/// come from a fake server.
#[test]
fn resp3_only_types_from_a_fake_server() {
    fn reply(args: &[Bytes]) -> Vec<u8> {
        let name = String::from_utf8_lossy(&args[0]).to_uppercase();
        match name.as_str() {
            "HELLO" => b"%1\r\n$2\r\nid\r\n:9\r\n".to_vec(),
            "T" => b"#t\r\n".to_vec(),
            "F" => b"#f\r\n".to_vec(),
            "D" => b",1.5\r\n".to_vec(),
            "BIG" => b"(3492890328409238509324850943850943825024385\r\n".to_vec(),
            "VERB" => b"=15\r\ntxt:Some string\r\n".to_vec(),
            "PUSHED" => b">2\r\n$1\r\na\r\n$1\r\nb\r\n+OK\r\n".to_vec(),
            "NESTED" => {
                b"%2\r\n$1\r\na\r\n*2\r\n:1\r\n:2\r\n$1\r\nb\r\n%1\r\n$1\r\nc\r\n,-inf\r\n".to_vec()
            }
            _ => b"+OK\r\n".to_vec(),
        }
    }
    let fake = FakeServer::start(reply);
    let p = fake.port;
    assert_eq!(ok(&cli(p, &["T"])), "(true)\n");
    assert_eq!(ok(&cli(p, &["F"])), "(false)\n");
    assert_eq!(ok(&cli(p, &["--raw", "T"])), "(true)\n");
    assert_eq!(ok(&cli(p, &["--json", "F"])), "false\n");
    assert_eq!(ok(&cli(p, &["D"])), "(double) 1.5\n");
    assert_eq!(ok(&cli(p, &["--raw", "D"])), "1.5\n");
    assert_eq!(ok(&cli(p, &["--json", "D"])), "1.5\n");
    assert_eq!(
        ok(&cli(p, &["BIG"])),
        "(big number) 3492890328409238509324850943850943825024385\n"
    );
    assert_eq!(
        ok(&cli(p, &["--json", "BIG"])),
        "\"3492890328409238509324850943850943825024385\"\n"
    );
    assert_eq!(ok(&cli(p, &["VERB"])), "Some string\n");
    assert_eq!(ok(&cli(p, &["PUSHED"])), "1) \"a\"\n2) \"b\"\nOK\n");
    assert_eq!(
        ok(&cli(p, &["NESTED"])),
        "1# \"a\" => \n   1) (integer) 1\n   2) (integer) 2\n2# \"b\" => 1# \"c\" => (double) -inf\n"
    );
    assert_eq!(
        ok(&cli(p, &["--json", "NESTED"])),
        "{\"a\":[1,2],\"b\":{\"c\":\"-inf\"}}\n"
    );
}

#[test]
fn usage_and_connection_errors_exit_2() {
    let bad = Command::new(bin())
        .args(["cli", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let bad = Command::new(bin())
        .args(["cli", "-r", "0", "PING"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let refused = cli(closed_port(), &["PING"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("could not connect to 127.0.0.1:"),
        "{}",
        stderr(&refused)
    );
    let help = Command::new(bin())
        .args(["cli", "--help"])
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    let text = stdout(&help);
    for needle in [
        "Exit codes:",
        "--raw",
        "--json",
        "-h, --host",
        "--reconnect",
    ] {
        assert!(text.contains(needle), "help lacks {needle}: {text}");
    }
}

#[test]
fn stdin_pipe_runs_each_line() {
    let srv = Server::start(&[]);
    let out = cli_stdin(srv.port, &[], "SET k \"two words\"\n\nGET k\nPING\n");
    assert_eq!(ok(&out), "OK\n\"two words\"\nPONG\n");
    let out = cli_stdin(srv.port, &[], "PING\nNOSUCHCMD\nGET k\n");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.starts_with("PONG\n(error) ERR unknown command"),
        "{text}"
    );
    assert!(text.ends_with("\"two words\"\n"), "{text}");
    let out = cli_stdin(srv.port, &[], "GET \"unbalanced\n");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn repeat_and_interval() {
    let srv = Server::start(&[]);
    let start = Instant::now();
    let out = cli(srv.port, &["-r", "3", "-i", "0.1", "INCR", "c"]);
    assert_eq!(ok(&out), "(integer) 1\n(integer) 2\n(integer) 3\n");
    assert!(start.elapsed() >= Duration::from_millis(200));
}

#[test]
fn handshake_names_selects_and_authenticates() {
    let srv = Server::start(&["--requirepass", "sekret"]);
    let p = srv.port;
    // Default name cli-<pid>, visible in CLIENT LIST.
    let child = Command::new(bin())
        .args([
            "cli",
            "-p",
            &p.to_string(),
            "-a",
            "sekret",
            "CLIENT",
            "LIST",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(
        ok(&out).contains(&format!("name=cli-{pid} ")),
        "{}",
        stdout(&out)
    );
    let out = cli(
        p,
        &[
            "-h",
            "127.0.0.1",
            "-a",
            "sekret",
            "--name",
            "mine",
            "CLIENT",
            "LIST",
        ],
    );
    assert!(ok(&out).contains("name=mine "));
    // -n selects the database.
    ok(&cli(p, &["-a", "sekret", "-n", "3", "SET", "x", "in3"]));
    assert_eq!(
        ok(&cli(p, &["-a", "sekret", "-n", "3", "GET", "x"])),
        "\"in3\"\n"
    );
    assert_eq!(ok(&cli(p, &["-a", "sekret", "GET", "x"])), "(nil)\n");
    // --user with the default user works too.
    assert_eq!(
        ok(&cli(p, &["--user", "default", "-a", "sekret", "PING"])),
        "PONG\n"
    );
    // A wrong password is a connection failure; none at all gets NOAUTH replies.
    let bad = cli(p, &["-a", "wrong", "PING"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("WRONGPASS"), "{}", stderr(&bad));
    let none = cli(p, &["PING"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        stdout(&none).starts_with("(error) NOAUTH"),
        "{}",
        stdout(&none)
    );
}

/// A server without HELLO: the cli falls back to AUTH + CLIENT SETNAME on RESP2.
#[test]
fn falls_back_when_hello_is_refused() {
    fn reply(args: &[Bytes]) -> Vec<u8> {
        match String::from_utf8_lossy(&args[0]).to_uppercase().as_str() {
            "HELLO" => b"-ERR unknown command 'HELLO'\r\n".to_vec(),
            "CLIENT" if args.len() > 1 && &args[1][..] == b"ID" => b":42\r\n".to_vec(),
            "GET" => b"$2\r\nhi\r\n".to_vec(),
            _ => b"+OK\r\n".to_vec(),
        }
    }
    let fake = FakeServer::start(reply);
    let dir = TempDir::new("fallback");
    let log = dir.path("cli.log");
    let out = cli(
        fake.port,
        &[
            "-a",
            "pw",
            "--name",
            "old",
            "--log",
            log.to_str().unwrap(),
            "GET",
            "k",
        ],
    );
    assert_eq!(ok(&out), "\"hi\"\n");
    let cmds = fake.commands.lock().unwrap().clone();
    assert_eq!(cmds[0][0], "HELLO");
    assert_eq!(cmds[1], ["AUTH", "pw"]);
    assert_eq!(cmds[2], ["CLIENT", "SETNAME", "old"]);
    assert_eq!(cmds.last().unwrap(), &["GET", "k"]);
    // The log never shows the password and uses the id from CLIENT ID.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("pw"), "{text}");
    assert!(text.contains("Client 42 (old 127.0.0.1:"), "{text}");
    assert!(text.contains("Server -> 42: \"hi\""), "{text}");
}

#[test]
fn log_uses_the_server_format() {
    let srv = Server::start(&[]);
    let dir = TempDir::new("log");
    let log = dir.path("conv.txt");
    let l = log.to_str().unwrap();
    ok(&cli(
        srv.port,
        &["--log", l, "--name", "logger", "SET", "k", "v"],
    ));
    ok(&cli(
        srv.port,
        &["--log", l, "--name", "logger", "GET", "k"],
    ));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // HELLO, its reply, SET, OK, HELLO, reply, GET, "v".
    assert_eq!(lines.len(), 8, "{text}");
    for l in &lines {
        // 2026-11-23T07:41:35.123Z
        let ts = l.split(' ').next().unwrap();
        assert!(
            ts.len() == 24 && ts.ends_with('Z') && &ts[10..11] == "T",
            "{l}"
        );
    }
    assert!(lines[2].contains(" Client ") && lines[2].contains(" (logger 127.0.0.1:"));
    assert!(lines[2].ends_with("): SET k v"), "{}", lines[2]);
    assert!(lines[3].contains(" Server -> ") && lines[3].ends_with(": OK"));
    assert!(lines[7].ends_with(": \"v\""), "{}", lines[7]);
}

fn spawn_cli(port: u16, args: &[&str]) -> std::process::Child {
    Command::new(bin())
        .args(["cli", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn publish(port: u16, channel: &str, msg: &str) {
    let out = cli(port, &["PUBLISH", channel, msg]);
    assert_eq!(ok(&out), "(integer) 1\n");
}

/// Subscribe mode prints messages as they arrive and leaves with code 3 within a second of
/// the server's Ctrl+C, in RESP3 (shutdown push) and RESP2 (the same notice as an array).
#[test]
fn subscribe_mode_reports_shutdown() {
    for proto in ["-3", "-2"] {
        let mut srv = Server::start(&[]);
        let dir = TempDir::new("sublog");
        let log = dir.path("log");
        let l = log.to_str().unwrap();
        let mut child = spawn_cli(srv.port, &[proto, "--log", l, "SUBSCRIBE", "news"]);
        let mut out = Lines::new(child.stdout.take().unwrap());
        let mut err = Lines::new(child.stderr.take().unwrap());
        out.wait_for("Reading messages", Duration::from_secs(10));
        out.wait_for("3) (integer) 1", Duration::from_secs(10));
        publish(srv.port, "news", "hello there");
        out.wait_for("1) \"message\"", Duration::from_secs(10));
        out.wait_for("2) \"news\"", Duration::from_secs(10));
        out.wait_for("3) \"hello there\"", Duration::from_secs(10));
        let t = Instant::now();
        srv.signal(libc::SIGINT);
        let st = wait_exit(&mut child, Duration::from_secs(1));
        assert_eq!(st.code(), Some(3), "{proto}");
        let line = err.wait_for("shutting down", Duration::from_secs(1));
        assert_eq!(
            line,
            format!("server at 127.0.0.1:{} is shutting down", srv.port)
        );
        assert!(t.elapsed() < Duration::from_secs(1));
        // The log has the subscription, the message, the push and the event.
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("): SUBSCRIBE news\n"), "{text}");
        assert!(
            text.contains(": [\"message\", \"news\", \"hello there\"]\n"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                " SYSTEM: server at 127.0.0.1:{} is shutting down\n",
                srv.port
            )),
            "{text}"
        );
        srv.wait(Duration::from_secs(10));
    }
}

#[test]
fn subscribe_mode_reports_a_killed_server() {
    let srv = Server::start(&[]);
    let mut child = spawn_cli(srv.port, &["PSUBSCRIBE", "n*"]);
    let mut out = Lines::new(child.stdout.take().unwrap());
    let mut err = Lines::new(child.stderr.take().unwrap());
    out.wait_for("3) (integer) 1", Duration::from_secs(10));
    srv.signal(libc::SIGKILL);
    let st = wait_exit(&mut child, Duration::from_secs(1));
    assert_eq!(st.code(), Some(3));
    err.wait_for("connection lost", Duration::from_secs(1));
}

/// Ctrl+C ends subscribe mode with 0.
#[test]
fn subscribe_mode_ctrl_c_exits_0() {
    let srv = Server::start(&[]);
    let mut child = spawn_cli(srv.port, &["SSUBSCRIBE", "shard"]);
    let mut out = Lines::new(child.stdout.take().unwrap());
    out.wait_for("3) (integer) 1", Duration::from_secs(10));
    signal(&child, libc::SIGINT);
    let st = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(st.code(), Some(0));
}

/// --reconnect: the subscriber says once that it lost the server, comes back when a server
/// listens on the port again, subscribes again and keeps printing messages.
#[test]
fn reconnect_resubscribes() {
    let mut srv = Server::start(&[]);
    let port = srv.port;
    let mut child = spawn_cli(port, &["--reconnect", "SUBSCRIBE", "news"]);
    let mut out = Lines::new(child.stdout.take().unwrap());
    let mut err = Lines::new(child.stderr.take().unwrap());
    out.wait_for("3) (integer) 1", Duration::from_secs(10));
    srv.signal(libc::SIGINT);
    srv.wait(Duration::from_secs(10));
    err.wait_for("reconnecting", Duration::from_secs(5));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited despite --reconnect"
    );
    let srv2 = Server::start_on(port, &[]);
    err.wait_for("reconnected", Duration::from_secs(10));
    // Wait until the new subscription is in place, then publish.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = cli(srv2.port, &["PUBSUB", "NUMSUB", "news"]);
        if stdout(&n).contains("(integer) 1") {
            break;
        }
        assert!(Instant::now() < deadline, "no resubscription");
        std::thread::sleep(Duration::from_millis(20));
    }
    publish(srv2.port, "news", "again");
    out.wait_for("3) \"again\"", Duration::from_secs(10));
    assert_eq!(
        err.seen
            .iter()
            .filter(|l| l.contains("reconnecting"))
            .count(),
        1,
        "{:?}",
        err.seen
    );
    let _ = child.kill();
    let _ = child.wait();
}
