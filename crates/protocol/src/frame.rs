//! The protocol-neutral [`Frame`] value: every RESP2 and RESP3 reply type, plus
//! small constructors. It does not own encoding ([`crate::encode`]) or parsing
//! ([`crate::parse_frame`]).

use bytes::{Bytes, BytesMut};

use crate::Protocol;

/// One RESP value. Commands build these without caring about the protocol
/// version; [`crate::encode`] downgrades RESP3-only types for RESP2 clients.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `+OK`: a status line. Must not contain `\r` or `\n` (the encoder turns
    /// them into spaces).
    Simple(Bytes),
    /// `-ERR msg`: stored without the leading `-` and the CRLF, e.g. `b"ERR foo"`.
    /// Blob errors (`!len`) parse into this too.
    Error(Bytes),
    /// `:123`
    Integer(i64),
    /// `$len` binary-safe string.
    Bulk(Bytes),
    /// RESP3 `_`; RESP2 `$-1`. The parser maps `$-1` and `_` here.
    Null,
    /// RESP3 `_`; RESP2 `*-1`. The parser maps `*-1` here.
    NullArray,
    /// `*n` array.
    Array(Vec<Frame>),
    /// `%n` map; RESP2: a flat array of `2n` elements.
    Map(Vec<(Frame, Frame)>),
    /// `~n` set; RESP2: an array.
    Set(Vec<Frame>),
    /// `,` double; RESP2: a bulk string of the same text (C `%.17g`,
    /// `inf`, `-inf`, `nan`).
    Double(f64),
    /// `#t` / `#f`; RESP2: integer 1 / 0.
    Boolean(bool),
    /// `(` big number (decimal digits, optional leading `-`); RESP2: bulk string.
    BigNumber(Bytes),
    /// `=len\r\nfmt:text`; RESP2: a bulk string of `text` only.
    Verbatim {
        /// Three-byte format, e.g. `*b"txt"` or `*b"mkd"`.
        format: [u8; 3],
        /// The text after `fmt:`.
        text: Bytes,
    },
    /// `>n` out-of-band push (pub/sub messages); RESP2: an array.
    Push(Vec<Frame>),
    /// One complete reply already encoded, written as is. Only for shapes that are the same
    /// in RESP2 and RESP3 (arrays of bulk strings and integers): a server builds a large
    /// reply (a stream range) straight into bytes instead of allocating a frame per element.
    /// The parser never produces it; [`Frame::decode_raw`] turns it back into frames.
    Raw(Bytes),
}

impl Frame {
    /// The frames a [`Frame::Raw`] encodes (an error frame if the bytes are not one whole
    /// RESP reply, which is a bug in whoever built it).
    pub fn decode_raw(raw: &[u8]) -> Frame {
        match crate::parse_frame(raw, &crate::Limits::default()) {
            Ok((f, n)) if n == raw.len() => f,
            _ => Frame::Error(Bytes::from_static(b"ERR malformed raw reply")),
        }
    }

    /// `+OK`
    pub fn ok() -> Frame {
        Frame::Simple(Bytes::from_static(b"OK"))
    }

    /// `+PONG`
    pub fn pong() -> Frame {
        Frame::Simple(Bytes::from_static(b"PONG"))
    }

    /// `+QUEUED`
    pub fn queued() -> Frame {
        Frame::Simple(Bytes::from_static(b"QUEUED"))
    }

    /// A status line, e.g. `Frame::simple("OK")`.
    pub fn simple(s: impl Into<Bytes>) -> Frame {
        Frame::Simple(s.into())
    }

    /// An error reply; pass the full text including the code, e.g. `"ERR syntax error"`.
    pub fn error(msg: impl Into<Bytes>) -> Frame {
        Frame::Error(msg.into())
    }

    /// A bulk string.
    pub fn bulk(b: impl Into<Bytes>) -> Frame {
        Frame::Bulk(b.into())
    }

    /// A bulk string copied from a slice.
    pub fn bulk_from_slice(b: &[u8]) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(b))
    }

    /// An integer reply.
    pub fn integer(n: i64) -> Frame {
        Frame::Integer(n)
    }

    /// An array of frames.
    pub fn array(items: impl IntoIterator<Item = Frame>) -> Frame {
        Frame::Array(items.into_iter().collect())
    }

    /// An array of bulk strings, e.g. a command's arguments.
    pub fn bulk_array<I, B>(items: I) -> Frame
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        Frame::Array(items.into_iter().map(|b| Frame::Bulk(b.into())).collect())
    }

    /// A verbatim string with format `txt`.
    pub fn verbatim_txt(text: impl Into<Bytes>) -> Frame {
        Frame::Verbatim {
            format: *b"txt",
            text: text.into(),
        }
    }

    /// True for [`Frame::Error`].
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }

    /// True for [`Frame::Null`] and [`Frame::NullArray`].
    pub fn is_null(&self) -> bool {
        matches!(self, Frame::Null | Frame::NullArray)
    }

    /// The bytes of a string-like frame (simple, error, bulk, big number,
    /// verbatim text), or `None`.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Frame::Simple(b) | Frame::Error(b) | Frame::Bulk(b) | Frame::BigNumber(b) => Some(b),
            Frame::Verbatim { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The value of an integer frame, or `None`.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Frame::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// The encoding of this frame for `proto`, in a fresh buffer.
    pub fn to_bytes(&self, proto: Protocol) -> BytesMut {
        let mut out = BytesMut::new();
        crate::encode(self, proto, &mut out);
        out
    }
}

impl From<i64> for Frame {
    fn from(n: i64) -> Frame {
        Frame::Integer(n)
    }
}

impl From<bool> for Frame {
    fn from(b: bool) -> Frame {
        Frame::Boolean(b)
    }
}

impl From<f64> for Frame {
    fn from(d: f64) -> Frame {
        Frame::Double(d)
    }
}

impl From<Bytes> for Frame {
    /// A bulk string.
    fn from(b: Bytes) -> Frame {
        Frame::Bulk(b)
    }
}

impl From<Vec<Frame>> for Frame {
    /// An array.
    fn from(v: Vec<Frame>) -> Frame {
        Frame::Array(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_frames_are_written_as_is_and_decode_back() {
        let inner = Frame::Array(vec![Frame::bulk("1-1"), Frame::bulk_array(["a", "b"])]);
        let mut enc = BytesMut::new();
        crate::encode(&inner, Protocol::Resp2, &mut enc);
        let raw = Frame::Raw(enc.clone().freeze());
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            let mut a = BytesMut::new();
            crate::encode(
                &Frame::Array(vec![raw.clone(), Frame::Integer(1)]),
                proto,
                &mut a,
            );
            let mut b = BytesMut::new();
            crate::encode(
                &Frame::Array(vec![inner.clone(), Frame::Integer(1)]),
                proto,
                &mut b,
            );
            assert_eq!(a, b);
        }
        assert_eq!(Frame::decode_raw(&enc), inner);
        assert!(matches!(
            Frame::decode_raw(b"*2\r\n$1\r\na\r\n"),
            Frame::Error(_)
        ));
        assert!(matches!(
            Frame::decode_raw(b"+OK\r\n+OK\r\n"),
            Frame::Error(_)
        ));
    }

    #[test]
    fn constructors_build_expected_variants() {
        assert_eq!(Frame::ok(), Frame::Simple(Bytes::from_static(b"OK")));
        assert_eq!(Frame::pong(), Frame::Simple(Bytes::from_static(b"PONG")));
        assert_eq!(
            Frame::queued(),
            Frame::Simple(Bytes::from_static(b"QUEUED"))
        );
        assert_eq!(
            Frame::error("ERR x"),
            Frame::Error(Bytes::from_static(b"ERR x"))
        );
        assert_eq!(Frame::bulk("v"), Frame::Bulk(Bytes::from_static(b"v")));
        assert_eq!(Frame::bulk_from_slice(b"v"), Frame::bulk("v"));
        assert_eq!(Frame::integer(7), Frame::Integer(7));
        assert_eq!(
            Frame::bulk_array(["a", "b"]),
            Frame::Array(vec![Frame::bulk("a"), Frame::bulk("b")])
        );
        assert_eq!(
            Frame::array(vec![Frame::Null]),
            Frame::Array(vec![Frame::Null])
        );
        assert_eq!(
            Frame::verbatim_txt("hi"),
            Frame::Verbatim {
                format: *b"txt",
                text: Bytes::from_static(b"hi")
            }
        );
        assert_eq!(Frame::from(3i64), Frame::Integer(3));
        assert_eq!(Frame::from(true), Frame::Boolean(true));
        assert_eq!(Frame::from(1.5f64), Frame::Double(1.5));
        assert_eq!(Frame::from(Bytes::from_static(b"x")), Frame::bulk("x"));
        assert_eq!(
            Frame::from(vec![Frame::Null]),
            Frame::Array(vec![Frame::Null])
        );
    }

    #[test]
    fn accessors() {
        assert!(Frame::error("ERR").is_error());
        assert!(!Frame::ok().is_error());
        assert!(Frame::Null.is_null() && Frame::NullArray.is_null());
        assert!(!Frame::Integer(0).is_null());
        assert_eq!(Frame::bulk("a").as_bytes().map(|b| &b[..]), Some(&b"a"[..]));
        assert_eq!(
            Frame::verbatim_txt("t").as_bytes().map(|b| &b[..]),
            Some(&b"t"[..])
        );
        assert_eq!(Frame::Integer(1).as_bytes(), None);
        assert_eq!(Frame::Integer(9).as_integer(), Some(9));
        assert_eq!(Frame::ok().as_integer(), None);
        assert_eq!(&Frame::ok().to_bytes(Protocol::Resp2)[..], b"+OK\r\n");
    }
}
