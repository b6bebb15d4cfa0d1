//! Shared test helpers: start a server in-process on port 0, talk to it with raw bytes and
//! with real clients, poll with deadlines (never bare sleeps).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use confab_client::{Client, Frame};
use confab_protocol::{encode_command, parse_frame, Limits, ParseError};
use confab_server::{Config, Shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// A running in-process server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub shutdown: Shutdown,
    pub join: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(Config::for_tests()).await
    }

    pub async fn start_with(config: Config) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = Shutdown::new();
        let join = tokio::spawn(confab_server::run(listener, config, shutdown.clone()));
        TestServer {
            addr,
            shutdown,
            join,
        }
    }

    /// A server on its production runtime ([`confab_server::runtime_builder`], lane 0, plus the
    /// other lanes `run` starts)
    /// on a thread of its own, so the runtime's hooks are part of the test. The runtime ends
    /// with the server ([`TestServer::stop`], or when the test process exits).
    pub async fn start_on_server_runtime(config: Config) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let rt = confab_server::runtime_builder().build().unwrap();
            let r = rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                confab_server::run(listener, config, stop).await
            });
            let _ = tx.send(r);
        });
        let join = tokio::spawn(async move {
            rx.await
                .unwrap_or_else(|_| Err(std::io::Error::other("server thread panicked")))
        });
        TestServer {
            addr,
            shutdown,
            join,
        }
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await.unwrap()
    }

    pub fn redis_url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        self.shutdown.trigger("test");
        tokio::time::timeout(Duration::from_secs(10), self.join)
            .await
            .expect("server did not stop in time")
            .unwrap()
            .unwrap();
    }
}

/// Send a command, return the reply.
pub async fn cmd(c: &mut Client, args: &[&str]) -> Frame {
    tokio::time::timeout(Duration::from_secs(10), c.command(args))
        .await
        .expect("no reply within 10s")
        .unwrap()
}

pub fn bulk(s: &str) -> Frame {
    Frame::Bulk(bytes::Bytes::copy_from_slice(s.as_bytes()))
}

pub fn simple(s: &str) -> Frame {
    Frame::Simple(bytes::Bytes::copy_from_slice(s.as_bytes()))
}

pub fn error(s: &str) -> Frame {
    Frame::Error(bytes::Bytes::copy_from_slice(s.as_bytes()))
}

/// INFO `section`'s text.
pub async fn info(c: &mut Client, section: &str) -> String {
    let Frame::Bulk(text) = cmd(c, &["INFO", section]).await else {
        panic!("INFO did not return a bulk string");
    };
    String::from_utf8(text.to_vec()).unwrap()
}

/// The value of `field` in INFO text; panics if it is not there.
pub fn info_value<'a>(text: &'a str, field: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in INFO: {text}"))
}

/// Poll `f` until it returns true or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        if f().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Read raw bytes until `want` bytes arrived or the connection closed or 5 s passed.
pub async fn read_raw(stream: &mut tokio::net::TcpStream, want: usize) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 4096];
    while out.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Whether the server closed `stream` (EOF or reset) within 5 s, draining any data.
pub async fn closed_by_server(stream: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Poll INFO until `blocked_clients` equals `n` (10 s deadline).
pub async fn wait_blocked(srv: &TestServer, n: usize) {
    let mut c = srv.client().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Frame::Bulk(t) = cmd(&mut c, &["INFO", "clients"]).await {
            if String::from_utf8_lossy(&t).contains(&format!("blocked_clients:{n}\r\n")) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "never saw {n} blocked clients");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Send a command without waiting for its reply.
pub async fn send(c: &mut Client, args: &[&str]) {
    c.queue(args);
    c.flush().await.unwrap();
}

/// The next reply (10 s deadline); panics if the connection closed.
pub async fn reply(c: &mut Client) -> Frame {
    c.read_frame_timeout(Duration::from_secs(10))
        .await
        .unwrap()
        .expect("connection closed")
}

/// A connection that sends commands and returns each reply's raw bytes.
pub struct Raw {
    pub stream: TcpStream,
    pub buf: BytesMut,
}

impl Raw {
    pub async fn connect(srv: &TestServer) -> Raw {
        Raw::connect_to(&srv.addr.to_string()).await
    }

    pub async fn connect_to(addr: &str) -> Raw {
        Raw {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: BytesMut::new(),
        }
    }

    /// Send one command and read its reply's bytes.
    pub async fn call<A: AsRef<[u8]> + std::fmt::Debug>(&mut self, args: &[A]) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_command(args, &mut out);
        self.stream.write_all(&out).await.unwrap();
        loop {
            match parse_frame(&self.buf, &Limits::default()) {
                Ok((_, n)) => return self.buf.split_to(n).to_vec(),
                Err(ParseError::Incomplete) => {}
                Err(e) => panic!("unparsable reply to {args:?}: {e}"),
            }
            let mut chunk = [0u8; 8192];
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
                .await
                .expect("no reply within 10s")
                .unwrap();
            assert!(n > 0, "connection closed after {args:?}");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Run `steps` in order, each reply compared byte for byte.
    pub async fn script(&mut self, steps: &[(&[&str], &str)]) {
        for (args, want) in steps {
            let got = self.call(args).await;
            assert_eq!(
                String::from_utf8_lossy(&got),
                *want,
                "reply to {args:?} differs"
            );
        }
    }

    /// Switch protocol (the reply carries the connection id, so only its type is checked).
    pub async fn hello(&mut self, version: u8) {
        let got = self.call(&["HELLO", &version.to_string()]).await;
        assert!(
            matches!(got[0], b'%' | b'*'),
            "{}",
            String::from_utf8_lossy(&got)
        );
    }
}
