//! One connection as the cli uses it: TCP connect and the HELLO handshake (with the AUTH /
//! RESP2 fallback for servers without HELLO), running a command and printing its reply,
//! subscribe mode, watching an idle connection for the shutdown push or a drop, and what
//! happens then (exit 3, or `--reconnect`). Every exchange also goes to the `--log` file.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use confab_client::{Client, Frame};
use tokio::sync::{mpsc, oneshot};

use super::log::CliLog;
use super::render::{render, OutputMode};
use super::{term, CliArgs, EXIT_OK, EXIT_SERVER_GONE};

/// Longest wait for the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// First and largest pause between reconnection attempts.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Connection settings taken from the flags.
#[derive(Clone, Debug)]
pub struct Options {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
    pub db: i64,
    pub proto: u8,
    pub name: String,
    pub mode: OutputMode,
    pub reconnect: bool,
    pub log: Option<PathBuf>,
}

impl Options {
    pub fn from_args(a: &CliArgs) -> Options {
        Options {
            host: a.host.clone(),
            port: a.port,
            user: a.user.clone(),
            password: a.password.clone(),
            db: a.db,
            proto: if a.resp2 { 2 } else { 3 },
            name: a
                .name
                .clone()
                .unwrap_or_else(|| format!("cli-{}", std::process::id())),
            mode: if a.raw {
                OutputMode::Raw
            } else if a.json {
                OutputMode::Json
            } else {
                OutputMode::Human
            },
            reconnect: a.reconnect,
            log: a.log.clone(),
        }
    }

    /// `host:port`, as the prompt and the messages show it.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Why there is no usable connection.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("could not connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("could not connect to {addr}: timed out")]
    Timeout { addr: String },
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("SELECT {db} failed: {msg}")]
    Select { db: i64, msg: String },
    #[error("connection to {addr} lost during the handshake")]
    Lost { addr: String },
    #[error("cannot open the log {path}: {source}")]
    Log {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The server went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The server announced its shutdown (push `shutdown <reason>`).
    Shutdown,
    /// The connection closed or failed without an announcement.
    Lost,
}

/// What one command gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    ErrorReply,
}

/// A command from the prompt thread; `done` gets the database number after it ran.
pub struct Request {
    pub args: Vec<Bytes>,
    pub done: oneshot::Sender<i64>,
}

/// The live connection plus what the handshake learned.
pub struct Session {
    client: Client,
    opts: Options,
    /// Database currently selected (the prompt shows it).
    pub db: i64,
    id: u64,
    label: String,
    log: Option<CliLog>,
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn eq_ic(a: &[u8], s: &str) -> bool {
    a.eq_ignore_ascii_case(s.as_bytes())
}

/// `shutdown <reason>` as a push, or as a RESP2 array when `allow_array` (subscribed RESP2
/// clients get it that way; an idle connection gets nothing else unasked).
fn is_shutdown(f: &Frame, allow_array: bool) -> bool {
    let items = match f {
        Frame::Push(items) => items,
        Frame::Array(items) if allow_array => items,
        _ => return false,
    };
    items.len() == 2 && matches!(&items[0], Frame::Bulk(n) if eq_ic(n, "shutdown"))
}

/// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE: replies keep coming after them.
pub fn is_subscribe(name: &[u8]) -> bool {
    ["subscribe", "psubscribe", "ssubscribe"]
        .iter()
        .any(|s| eq_ic(name, s))
}

async fn connect_tcp(opts: &Options) -> Result<Client, ConnectError> {
    let addr = opts.addr();
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        Client::connect((opts.host.as_str(), opts.port)),
    )
    .await
    {
        Err(_) => Err(ConnectError::Timeout { addr }),
        Ok(Ok(c)) => Ok(c),
        Ok(Err(confab_client::Error::Io(source))) => Err(ConnectError::Connect { addr, source }),
        Ok(Err(e)) => Err(ConnectError::Connect {
            addr,
            source: std::io::Error::other(e.to_string()),
        }),
    }
}

/// Write to stdout now (replies, pushes).
fn emit(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// A status line on stderr that may arrive while the prompt has the terminal in raw mode.
fn announce(text: &str) {
    let mut err = std::io::stderr().lock();
    if term::is_saved() {
        let _ = write!(err, "\r\n{text}\r\n");
    } else {
        let _ = writeln!(err, "{text}");
    }
    let _ = err.flush();
}

impl Session {
    /// Connect, open the log and shake hands.
    pub async fn connect(opts: Options) -> Result<Session, ConnectError> {
        let log = match &opts.log {
            Some(path) => Some(CliLog::open(path).map_err(|source| ConnectError::Log {
                path: path.clone(),
                source,
            })?),
            None => None,
        };
        let client = connect_tcp(&opts).await?;
        let mut s = Session {
            client,
            db: opts.db,
            opts,
            id: 0,
            label: String::new(),
            log,
        };
        s.handshake().await?;
        Ok(s)
    }

    /// HELLO <proto> [AUTH user pass] SETNAME <name>; on an old server (HELLO refused for any
    /// reason but a wrong password) AUTH and CLIENT SETNAME on plain RESP2. Then SELECT.
    async fn handshake(&mut self) -> Result<(), ConnectError> {
        let addr = self.opts.addr();
        let lost = |_| ConnectError::Lost { addr: addr.clone() };
        let local = self
            .client
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".into());
        self.label = format!("{} {local}", self.opts.name);
        self.id = 0;
        let auth: Option<Vec<Bytes>> = self.opts.password.as_ref().map(|p| {
            vec![
                b(self.opts.user.as_deref().unwrap_or("default")),
                b(p.as_str()),
            ]
        });
        let mut hello = vec![b("HELLO"), b(&self.opts.proto.to_string())];
        if let Some(a) = &auth {
            hello.push(b("AUTH"));
            hello.extend(a.iter().cloned());
        }
        hello.extend([b("SETNAME"), b(&self.opts.name)]);
        match self.exchange(&hello, true).await.map_err(lost)? {
            Frame::Error(e) if e.starts_with(b"WRONGPASS") => {
                return Err(ConnectError::Auth(String::from_utf8_lossy(&e).into_owned()))
            }
            Frame::Error(e) => {
                self.log_system(&format!(
                    "HELLO refused ({}); falling back to AUTH on RESP2",
                    String::from_utf8_lossy(&e)
                ));
                if let Some(a) = &auth {
                    let mut cmd = vec![b("AUTH")];
                    if self.opts.user.is_some() {
                        cmd.push(a[0].clone());
                    }
                    cmd.push(a[1].clone());
                    if let Frame::Error(e) = self.exchange(&cmd, true).await.map_err(lost)? {
                        return Err(ConnectError::Auth(String::from_utf8_lossy(&e).into_owned()));
                    }
                }
                let setname = [b("CLIENT"), b("SETNAME"), b(&self.opts.name)];
                self.exchange(&setname, true).await.map_err(lost)?;
                if let Frame::Integer(id) = self
                    .exchange(&[b("CLIENT"), b("ID")], true)
                    .await
                    .map_err(lost)?
                {
                    self.id = id as u64;
                }
            }
            Frame::Map(pairs) => {
                for (k, v) in pairs {
                    if matches!(&k, Frame::Bulk(k) if &k[..] == b"id") {
                        self.id = v.as_integer().unwrap_or(0) as u64;
                    }
                }
            }
            Frame::Array(flat) => {
                for kv in flat.chunks(2) {
                    if let [Frame::Bulk(k), v] = kv {
                        if &k[..] == b"id" {
                            self.id = v.as_integer().unwrap_or(0) as u64;
                        }
                    }
                }
            }
            _ => {}
        }
        self.db = 0;
        if self.opts.db != 0 {
            let db = self.opts.db;
            let select = [b("SELECT"), b(&db.to_string())];
            if let Frame::Error(e) = self.exchange(&select, true).await.map_err(lost)? {
                return Err(ConnectError::Select {
                    db,
                    msg: String::from_utf8_lossy(&e).into_owned(),
                });
            }
            self.db = db;
        }
        Ok(())
    }

    fn log_system(&mut self, text: &str) {
        if let Some(l) = &mut self.log {
            l.system(text);
        }
    }

    fn log_reply(&mut self, f: &Frame) {
        if let Some(l) = &mut self.log {
            l.reply(self.id, f);
        }
    }

    fn log_command(&mut self, args: &[Bytes]) {
        if let Some(l) = &mut self.log {
            l.command(self.id, &self.label, args);
        }
    }

    /// Send one command and read its reply. Pushes that arrive first are printed (and the
    /// shutdown push ends the exchange with [`Event::Shutdown`]).
    async fn exchange(&mut self, args: &[Bytes], log: bool) -> Result<Frame, Event> {
        if log {
            self.log_command(args);
        }
        self.client.queue(args);
        if self.client.flush().await.is_err() {
            return Err(Event::Lost);
        }
        loop {
            match self.client.read_frame().await {
                Ok(Some(f)) if is_shutdown(&f, false) => {
                    self.log_reply(&f);
                    return Err(Event::Shutdown);
                }
                Ok(Some(f @ Frame::Push(_))) => {
                    self.log_reply(&f);
                    emit(&render(&f, self.opts.mode));
                }
                Ok(Some(f)) => {
                    if log {
                        self.log_reply(&f);
                    }
                    return Ok(f);
                }
                Ok(None) | Err(_) => return Err(Event::Lost),
            }
        }
    }

    /// Ask for COMMAND DOCS (not logged: the user did not type it).
    pub async fn command_docs(&mut self) -> Option<Frame> {
        match self.exchange(&[b("COMMAND"), b("DOCS")], false).await {
            Ok(f) if !f.is_error() => Some(f),
            _ => None,
        }
    }

    /// Run one command typed by the user and print its reply. Subscribe commands do not
    /// return unless the server refuses them.
    pub async fn run_command(&mut self, args: &[Bytes]) -> Outcome {
        if args.is_empty() {
            return Outcome::Ok;
        }
        if is_subscribe(&args[0]) {
            return self.subscribe(args).await;
        }
        match self.exchange(args, true).await {
            Ok(f) => {
                emit(&render(&f, self.opts.mode));
                if f.is_error() {
                    return Outcome::ErrorReply;
                }
                if eq_ic(&args[0], "select") && args.len() == 2 {
                    if let Some(n) = std::str::from_utf8(&args[1])
                        .ok()
                        .and_then(|s| s.parse().ok())
                    {
                        self.db = n;
                    }
                }
                Outcome::Ok
            }
            Err(ev) => {
                self.on_event(ev).await;
                // Reconnected: the command's fate is unknown.
                announce("(the command may not have run: the connection was re-established)");
                Outcome::ErrorReply
            }
        }
    }

    /// Subscribe mode: print every message as it arrives until Ctrl+C (exit 0) or the server
    /// goes away. Returns only when the subscribe command itself is refused.
    async fn subscribe(&mut self, args: &[Bytes]) -> Outcome {
        // Registered now, before the command goes out: `tokio::signal::ctrl_c()` registers only
        // when first polled, and `select!` may poll the read first, so a Ctrl+C right after
        // the subscribe reply printed could still find SIGINT's default action (the test
        // `subscribe_mode_ctrl_c_exits_0` caught that race: the cli died by the signal).
        let mut ctrl_c =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("confab cli: cannot handle Ctrl+C: {e}");
                    return Outcome::ErrorReply;
                }
            };
        let mut first = true;
        let mut send = true;
        loop {
            if send {
                send = false;
                self.log_command(args);
                self.client.queue(args);
                if self.client.flush().await.is_err() {
                    self.on_event(Event::Lost).await;
                    send = true;
                    continue;
                }
            }
            tokio::select! {
                _ = ctrl_c.recv() => {
                    self.log_system("cli interrupted (Ctrl+C) in subscribe mode");
                    std::process::exit(EXIT_OK);
                }
                r = self.client.read_frame() => match r {
                    Ok(Some(f)) if is_shutdown(&f, true) => {
                        self.log_reply(&f);
                        self.on_event(Event::Shutdown).await;
                        send = true;
                    }
                    Ok(Some(f)) => {
                        self.log_reply(&f);
                        if first && f.is_error() {
                            emit(&render(&f, self.opts.mode));
                            return Outcome::ErrorReply;
                        }
                        if first && self.opts.mode == OutputMode::Human {
                            emit(b"Reading messages... (press Ctrl-C to quit)\n");
                        }
                        first = false;
                        emit(&render(&f, self.opts.mode));
                    }
                    Ok(None) | Err(_) => {
                        self.on_event(Event::Lost).await;
                        send = true;
                    }
                }
            }
        }
    }

    /// Wait on an idle connection: print unasked frames; return when the server goes away.
    pub async fn watch(&mut self) -> Event {
        loop {
            match self.client.read_frame().await {
                Ok(Some(f)) if is_shutdown(&f, true) => {
                    self.log_reply(&f);
                    return Event::Shutdown;
                }
                Ok(Some(f)) => {
                    self.log_reply(&f);
                    let text = render(&f, self.opts.mode);
                    if term::is_saved() {
                        let s = String::from_utf8_lossy(&text).replace('\n', "\r\n");
                        emit(s.as_bytes());
                    } else {
                        emit(&text);
                    }
                }
                Ok(None) | Err(_) => return Event::Lost,
            }
        }
    }

    /// Sleep `d`, watching the connection meanwhile (for `-i`).
    pub async fn idle(&mut self, d: Duration) {
        let sleep = tokio::time::sleep(d);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return,
                ev = self.watch() => self.on_event(ev).await,
            }
        }
    }

    /// The server went away: say so and exit 3, or with `--reconnect` retry until it is back.
    pub async fn on_event(&mut self, ev: Event) {
        let addr = self.opts.addr();
        let msg = match ev {
            Event::Shutdown => format!("server at {addr} is shutting down"),
            Event::Lost => "connection lost".to_string(),
        };
        self.log_system(&msg);
        if !self.opts.reconnect {
            term::restore();
            announce(&msg);
            std::process::exit(EXIT_SERVER_GONE);
        }
        announce(&format!("{msg}; reconnecting to {addr} (--reconnect)..."));
        let mut pause = BACKOFF_START;
        loop {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(BACKOFF_MAX);
            let Ok(client) = connect_tcp(&self.opts).await else {
                continue;
            };
            self.client = client;
            if self.handshake().await.is_ok() {
                break;
            }
        }
        self.log_system(&format!("reconnected to {addr}"));
        announce(&format!("reconnected to {addr}"));
    }

    /// Serve the prompt thread: run its commands one at a time and, between them, watch the
    /// connection so a shutdown is reported at once, not at the next keypress.
    pub async fn serve(mut self, mut rx: mpsc::Receiver<Request>) {
        loop {
            tokio::select! {
                req = rx.recv() => match req {
                    Some(req) => {
                        self.run_command(&req.args).await;
                        let _ = req.done.send(self.db);
                    }
                    None => return,
                },
                ev = self.watch() => self.on_event(ev).await,
            }
        }
    }
}
