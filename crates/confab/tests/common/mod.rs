//! Shared helpers of the `confab cli` tests: a real `confab server` on a free port, a fake
//! RESP server with canned replies, running the cli, and polling with deadlines.
// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use confab_protocol::{Bytes, BytesMut, Limits, RequestParser};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_confab")
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!(
            "confab-cli-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `confab server --port 0`, killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        Server::start_on(0, extra)
    }

    /// Start on `port` (0: any free port); waits for the banner.
    pub fn start_on(port: u16, extra: &[&str]) -> Server {
        let (child, addr) = spawn_with_banner(
            Command::new(bin())
                .args(["server", "--port", &port.to_string()])
                .args(["--conversation-log", "off"])
                .args(extra)
                .env_remove("CONFAB_PORT")
                .env_remove("CONFAB_CONFIG"),
        );
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        Server { child, port }
    }

    pub fn signal(&self, sig: i32) {
        signal(&self.child, sig);
    }

    /// Wait for the server process to end (after a signal).
    pub fn wait(&mut self, limit: Duration) {
        wait_exit(&mut self.child, limit);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawn a `confab server` command (stdin and stdout closed, stderr read) and wait up to 20 s
/// for its banner; returns the child and the address it listens on (the banner names the
/// port picked for `--port 0`).
pub fn spawn_with_banner(cmd: &mut Command) -> (Child, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start confab server");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(a) = line.trim().strip_prefix("listening on") {
                let _ = tx.send(a.trim().to_string());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(addr) => (child, addr),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server printed no banner");
        }
    }
}

pub fn signal(child: &Child, sig: i32) {
    // SAFETY: libc::kill only sends a signal to a child process of this test.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0);
}

/// Wait for `child` to exit, failing after `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `confab cli -p PORT ARGS...` with stdin closed; returns its output.
pub fn cli(port: u16, args: &[&str]) -> Output {
    cli_stdin(port, args, "")
}

/// `confab cli -p PORT ARGS...` with `input` on stdin.
pub fn cli_stdin(port: u16, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(bin())
        .args(["cli", "-p", &port.to_string()])
        .args(args)
        .env_remove("CONFAB_HISTORY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start confab cli");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("confab cli {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A port nobody listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Lines of a child's pipe, read on a thread, to poll with a deadline.
pub struct Lines {
    rx: std::sync::mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Lines {
    pub fn new(r: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    /// Wait until a line containing `needle` arrives; panics with what was seen otherwise.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {needle:?} within {limit:?}; saw {:?}",
                    self.seen
                ),
            }
        }
    }
}

/// A fake RESP server: answers each command with `reply(args)` (raw bytes), records them.
pub struct FakeServer {
    pub port: u16,
    pub commands: Arc<Mutex<Vec<Vec<String>>>>,
}

impl FakeServer {
    pub fn start(reply: fn(&[Bytes]) -> Vec<u8>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let log = commands.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut parser = RequestParser::new(Limits::default());
                    let mut buf = BytesMut::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        while let Ok(Some(args)) = parser.next_command(&mut buf) {
                            log.lock().unwrap().push(
                                args.iter()
                                    .map(|a| String::from_utf8_lossy(a).into_owned())
                                    .collect(),
                            );
                            if conn.write_all(&reply(&args)).is_err() {
                                return;
                            }
                        }
                        match conn.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                });
            }
        });
        FakeServer { port, commands }
    }
}

/// `confab bench MODE -p PORT ARGS...` with stdin closed and a deadline; returns its output.
pub fn bench(mode: &str, port: u16, args: &[&str]) -> Output {
    let mut child = Command::new(bin())
        .args(["bench", mode, "-p", &port.to_string()])
        .args(args)
        .env_remove("CONFAB_BENCH_AUTH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start confab bench");
    // Read the pipes on threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = wait_exit(&mut child, Duration::from_secs(60));
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// The fault a [`FaultyServer`] injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Behave.
    None,
    /// LRANGE of the first list read back swaps its elements 1 and 2.
    SwapInLrange,
    /// LRANGE of the first list read back drops its element 1.
    DropInLrange,
    /// The 3rd PUBLISH is not delivered to the first subscriber.
    DropPublish,
}

#[derive(Default)]
struct FaultyState {
    lists: std::collections::HashMap<Vec<u8>, Vec<Bytes>>,
    subscribers: Vec<(Vec<u8>, std::net::TcpStream)>,
    lranges: u64,
    publishes: u64,
}

/// A tiny stateful RESP2 server for the bench tests: RPUSH/LRANGE/LLEN/DEL on lists,
/// SUBSCRIBE/PUBLISH, PING; everything else `+OK`. It injects one [`Fault`] on purpose.
pub struct FaultyServer {
    pub port: u16,
}

fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

impl FaultyServer {
    pub fn start(fault: Fault) -> FaultyServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(FaultyState::default()));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let state = state.clone();
                std::thread::spawn(move || {
                    let mut parser = RequestParser::new(Limits::default());
                    let mut buf = BytesMut::new();
                    let mut chunk = [0u8; 16384];
                    loop {
                        while let Ok(Some(args)) = parser.next_command(&mut buf) {
                            let reply = FaultyServer::answer(&state, fault, &args, &conn);
                            if conn.write_all(&reply).is_err() {
                                return;
                            }
                        }
                        match conn.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                });
            }
        });
        FaultyServer { port }
    }

    fn answer(
        state: &Mutex<FaultyState>,
        fault: Fault,
        args: &[Bytes],
        conn: &std::net::TcpStream,
    ) -> Vec<u8> {
        let mut st = state.lock().unwrap();
        let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
        let mut out = Vec::new();
        match name.as_str() {
            "PING" => out.extend_from_slice(b"+PONG\r\n"),
            "RPUSH" => {
                let list = st.lists.entry(args[1].to_vec()).or_default();
                list.extend(args[2..].iter().cloned());
                out.extend_from_slice(format!(":{}\r\n", list.len()).as_bytes());
            }
            "LLEN" | "XLEN" => {
                let n = st.lists.get(args[1].as_ref()).map_or(0, |l| l.len());
                out.extend_from_slice(format!(":{n}\r\n").as_bytes());
            }
            "DEL" => {
                let n = usize::from(st.lists.remove(args[1].as_ref()).is_some());
                out.extend_from_slice(format!(":{n}\r\n").as_bytes());
            }
            "LRANGE" => {
                st.lranges += 1;
                let first = st.lranges == 1;
                let mut list = st.lists.get(args[1].as_ref()).cloned().unwrap_or_default();
                if first && fault == Fault::SwapInLrange && list.len() > 2 {
                    list.swap(1, 2);
                }
                if first && fault == Fault::DropInLrange && list.len() > 1 {
                    list.remove(1);
                }
                out.extend_from_slice(format!("*{}\r\n", list.len()).as_bytes());
                for v in &list {
                    bulk(&mut out, v);
                }
            }
            "SUBSCRIBE" => {
                let ch = args[1].to_vec();
                st.subscribers.push((ch.clone(), conn.try_clone().unwrap()));
                out.extend_from_slice(b"*3\r\n");
                bulk(&mut out, b"subscribe");
                bulk(&mut out, &ch);
                out.extend_from_slice(b":1\r\n");
            }
            "PUBLISH" => {
                st.publishes += 1;
                let skip_first = fault == Fault::DropPublish && st.publishes == 3;
                let mut msg = b"*3\r\n".to_vec();
                bulk(&mut msg, b"message");
                bulk(&mut msg, &args[1]);
                bulk(&mut msg, &args[2]);
                let mut n = 0;
                for (i, (ch, s)) in st.subscribers.iter_mut().enumerate() {
                    if ch.as_slice() == args[1].as_ref() && !(skip_first && i == 0) {
                        let _ = s.write_all(&msg);
                        n += 1;
                    }
                }
                out.extend_from_slice(format!(":{n}\r\n").as_bytes());
            }
            _ => out.extend_from_slice(b"+OK\r\n"),
        }
        out
    }
}
