//! RESP2/RESP3 wire protocol for confab: the [`Frame`] value type, the reply
//! encoder ([`encode`], [`encode_command`]), the general frame parser
//! ([`parse_frame`]) and the server-side request parser ([`RequestParser`],
//! [`split_inline`]).
//!
//! This crate owns bytes-on-the-wire only. It does not own sockets, buffering
//! policy (query-buffer limits, read sizes), command semantics, or the choice of
//! protocol version (the connection records what `HELLO` negotiated and passes it
//! to [`encode`]).
//!
//! DESIGN: replies are built as protocol-neutral [`Frame`]s and downgraded to
//! RESP2 in exactly one place, [`encode`]. Requests are parsed by a stateful
//! [`RequestParser`] that mirrors Redis 7.0's `processMultibulkBuffer` /
//! `processInlineBuffer` (same limits, same error texts) but never re-scans a
//! partially received command and hands out zero-copy [`Bytes`] arguments.
//!
//! ```
//! use confab_protocol::{encode, encode_command, BytesMut, Frame, Limits, Protocol, RequestParser};
//!
//! // Server side: parse a pipelined request...
//! let mut input = BytesMut::new();
//! encode_command(&["SET", "key", "value"], &mut input);
//! input.extend_from_slice(b"PING\r\n");
//! let mut parser = RequestParser::new(Limits::default());
//! let set = parser.next_command(&mut input)?.expect("complete");
//! assert_eq!(set, ["SET", "key", "value"]);
//! let ping = parser.next_command(&mut input)?.expect("complete");
//! assert_eq!(ping, ["PING"]);
//! assert_eq!(parser.next_command(&mut input)?, None);
//!
//! // ...and reply in the client's protocol version.
//! let mut out = BytesMut::new();
//! encode(&Frame::Boolean(true), Protocol::Resp2, &mut out);
//! encode(&Frame::Boolean(true), Protocol::Resp3, &mut out);
//! assert_eq!(&out[..], b":1\r\n#t\r\n");
//! # Ok::<(), confab_protocol::ParseError>(())
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod encode;
mod error;
mod frame;
mod inline;
mod number;
mod parse;
mod request;

pub use bytes::{Bytes, BytesMut};

pub use encode::{encode, encode_array_len, encode_bulk, encode_command};
pub use error::ParseError;
pub use frame::Frame;
pub use inline::split_inline;
pub use number::{format_double, parse_i64};
pub use parse::{parse_frame, MAX_NESTING_DEPTH};
pub use request::RequestParser;

/// RESP protocol version negotiated by HELLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, the default for every new connection.
    #[default]
    Resp2,
    /// RESP3, selected by `HELLO 3`.
    Resp3,
}

/// Default for [`Limits::max_bulk_len`]: 512 MiB, Redis's `proto-max-bulk-len`.
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// Default for [`Limits::max_multibulk_len`]: Redis rejects counts above `INT_MAX`.
pub const DEFAULT_MAX_MULTIBULK_LEN: usize = i32::MAX as usize;
/// Default for [`Limits::max_inline_len`]: Redis's `PROTO_INLINE_MAX_SIZE` (64 KiB).
pub const DEFAULT_MAX_INLINE_LEN: usize = 64 * 1024;

/// Size limits enforced by the parsers *before* anything is buffered for a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted bulk string length (Redis `proto-max-bulk-len`).
    pub max_bulk_len: usize,
    /// Largest accepted element count of an array (or of a map/set/push for
    /// [`parse_frame`]; a map of `n` pairs counts as `2n`).
    pub max_multibulk_len: usize,
    /// Longest inline command line, and longest run of bytes the request parser
    /// will buffer while looking for the `\r` that ends a length line.
    pub max_inline_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_multibulk_len: DEFAULT_MAX_MULTIBULK_LEN,
            max_inline_len: DEFAULT_MAX_INLINE_LEN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_match_redis() {
        let l = Limits::default();
        assert_eq!(l.max_bulk_len, 536_870_912);
        assert_eq!(l.max_multibulk_len, 2_147_483_647);
        assert_eq!(l.max_inline_len, 65_536);
    }

    #[test]
    fn default_protocol_is_resp2() {
        assert_eq!(Protocol::default(), Protocol::Resp2);
    }
}
