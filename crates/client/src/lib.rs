//! The confab client library: an async RESP2/RESP3 connection.
//!
//! Used by the integration tests now and by `confab cli` and `confab bench` later. It owns a
//! TCP stream with a read buffer, encodes commands with `confab-protocol`, and decodes every
//! frame type (pushes included). It does not reconnect or pool: callers decide that.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

use std::time::Duration;

use bytes::BytesMut;
use confab_protocol::{encode_command, parse_frame, Limits, ParseError};
pub use confab_protocol::{Frame, Protocol};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The server sent bytes that are not RESP.
    #[error("protocol error: {0}")]
    Protocol(ParseError),
    /// The server closed the connection.
    #[error("connection closed by server")]
    Closed,
    /// No reply within the deadline.
    #[error("timed out waiting for the server")]
    Timeout,
}

/// One connection to a RESP server.
pub struct Client {
    stream: TcpStream,
    rbuf: BytesMut,
    wbuf: BytesMut,
    limits: Limits,
}

impl Client {
    /// Connect (TCP_NODELAY on).
    pub async fn connect(addr: impl ToSocketAddrs) -> Result<Client, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            rbuf: BytesMut::with_capacity(16 * 1024),
            wbuf: BytesMut::with_capacity(16 * 1024),
            limits: Limits::default(),
        })
    }

    /// Queue a command without sending it (for pipelines); [`Client::flush`] sends.
    pub fn queue<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        encode_command(args, &mut self.wbuf);
    }

    /// Send everything queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf).await?;
            self.wbuf.clear();
        }
        Ok(())
    }

    /// Send raw bytes as they are (for tests of hostile input and inline commands).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// Read one frame; `Ok(None)` on a clean close between frames.
    ///
    /// Cancel-safe: dropping the future (e.g. in `tokio::select!`) loses no bytes, so a caller
    /// can wait for "a frame or something else" and call again later.
    pub async fn read_frame(&mut self) -> Result<Option<Frame>, Error> {
        loop {
            if !self.rbuf.is_empty() {
                match parse_frame(&self.rbuf, &self.limits) {
                    Ok((frame, used)) => {
                        let _ = self.rbuf.split_to(used);
                        return Ok(Some(frame));
                    }
                    Err(ParseError::Incomplete) => {}
                    Err(e) => return Err(Error::Protocol(e)),
                }
            }
            self.rbuf.reserve(16 * 1024);
            if self.stream.read_buf(&mut self.rbuf).await? == 0 {
                return if self.rbuf.is_empty() {
                    Ok(None)
                } else {
                    Err(Error::Closed)
                };
            }
        }
    }

    /// Read one frame, failing with [`Error::Timeout`] after `limit`.
    pub async fn read_frame_timeout(&mut self, limit: Duration) -> Result<Option<Frame>, Error> {
        tokio::time::timeout(limit, self.read_frame())
            .await
            .map_err(|_| Error::Timeout)?
    }

    /// Send one command and read its reply (pushes that arrive first are skipped).
    pub async fn command<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Frame, Error> {
        self.queue(args);
        self.flush().await?;
        loop {
            match self.read_frame().await? {
                Some(Frame::Push(_)) => continue,
                Some(f) => return Ok(f),
                None => return Err(Error::Closed),
            }
        }
    }

    /// HELLO with a protocol version and optional client name.
    pub async fn hello(&mut self, proto: u8, name: Option<&str>) -> Result<Frame, Error> {
        let mut args = vec!["HELLO".to_string(), proto.to_string()];
        if let Some(n) = name {
            args.push("SETNAME".into());
            args.push(n.into());
        }
        self.command(&args).await
    }

    /// The underlying socket's peer address.
    pub fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.stream.peer_addr()
    }

    /// The underlying socket's local address (what the server shows as `addr=`).
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.stream.local_addr()
    }
}
