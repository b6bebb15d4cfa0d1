//! The general frame parser, [`parse_frame`]: any RESP2 or RESP3 frame, as a
//! client or a log renderer sees them. It is stateless (re-parses from the start
//! of `buf` on each call). It does not own request parsing for the server; that
//! is [`crate::RequestParser`], which follows Redis's stricter request grammar.

use bytes::Bytes;

use crate::error::ParseError;
use crate::frame::Frame;
use crate::number::{parse_double, parse_i64};
use crate::Limits;

/// Deepest aggregate nesting [`parse_frame`] accepts. Deeper input is a protocol
/// error rather than a risk to the stack (parsing and dropping frames recurse).
pub const MAX_NESTING_DEPTH: usize = 256;

/// A length or integer line never needs more than this many bytes before its
/// `\r` (Redis rejects number texts of 21 bytes or more).
const MAX_NUMBER_LINE: usize = 21;

/// Upper bound on the capacity reserved up front for an aggregate; larger ones
/// grow as elements actually arrive.
const MAX_PREALLOC: usize = 1024;

/// Parses one frame from the front of `buf`.
///
/// Returns the frame and the number of bytes it occupies, [`ParseError::Incomplete`]
/// if `buf` ends inside the frame, or [`ParseError::Protocol`] for malformed
/// input: an unknown type byte, a bad or over-limit length, a non-numeric
/// integer, a missing CRLF, nesting deeper than [`MAX_NESTING_DEPTH`].
///
/// `$-1` and `_` parse to [`Frame::Null`], `*-1` to [`Frame::NullArray`], blob
/// errors (`!len`) to [`Frame::Error`]. Attributes (`|n`) are parsed and
/// discarded: the frame that follows is returned and the count covers both.
pub fn parse_frame(buf: &[u8], limits: &Limits) -> Result<(Frame, usize), ParseError> {
    let mut p = Parser {
        buf,
        pos: 0,
        limits,
    };
    let frame = p.frame(0)?;
    Ok((frame, p.pos))
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: &'a Limits,
}

fn proto(msg: &str) -> ParseError {
    ParseError::Protocol(msg.to_owned())
}

impl<'a> Parser<'a> {
    /// Parses a frame (skipping any attributes before it) at nesting `depth`.
    fn frame(&mut self, depth: usize) -> Result<Frame, ParseError> {
        loop {
            let Some(&ty) = self.buf.get(self.pos) else {
                return Err(ParseError::Incomplete);
            };
            self.pos += 1;
            let frame = match ty {
                b'+' => Frame::Simple(Bytes::copy_from_slice(self.text_line()?)),
                b'-' => Frame::Error(Bytes::copy_from_slice(self.text_line()?)),
                b':' => {
                    let line = self.number_line("invalid integer")?;
                    Frame::Integer(parse_i64(line).ok_or_else(|| proto("invalid integer"))?)
                }
                b'$' => match self.length("invalid bulk length", true, self.limits.max_bulk_len)? {
                    None => Frame::Null,
                    Some(n) => Frame::Bulk(Bytes::copy_from_slice(self.blob(n)?)),
                },
                b'!' => {
                    let n = self
                        .length("invalid bulk length", false, self.limits.max_bulk_len)?
                        .unwrap_or(0);
                    Frame::Error(Bytes::copy_from_slice(self.blob(n)?))
                }
                b'=' => {
                    let n = self
                        .length("invalid bulk length", false, self.limits.max_bulk_len)?
                        .unwrap_or(0);
                    let data = self.blob(n)?;
                    match data {
                        [a, b, c, b':', text @ ..] => Frame::Verbatim {
                            format: [*a, *b, *c],
                            text: Bytes::copy_from_slice(text),
                        },
                        _ => return Err(proto("invalid verbatim string")),
                    }
                }
                b'*' => {
                    let max = self.limits.max_multibulk_len;
                    match self.length("invalid multibulk length", true, max)? {
                        None => Frame::NullArray,
                        Some(n) => Frame::Array(self.elements(n, depth)?),
                    }
                }
                b'~' => {
                    let n = self.aggregate_len(1)?;
                    Frame::Set(self.elements(n, depth)?)
                }
                b'>' => {
                    let n = self.aggregate_len(1)?;
                    Frame::Push(self.elements(n, depth)?)
                }
                b'%' => {
                    let n = self.aggregate_len(2)?;
                    Frame::Map(self.pairs(n, depth)?)
                }
                b'|' => {
                    // An attribute annotates the next frame; parse and drop it.
                    let n = self.aggregate_len(2)?;
                    drop(self.pairs(n, depth)?);
                    continue;
                }
                b'_' => {
                    if !self.number_line("invalid null")?.is_empty() {
                        return Err(proto("invalid null"));
                    }
                    Frame::Null
                }
                b'#' => match self.number_line("invalid boolean")? {
                    b"t" => Frame::Boolean(true),
                    b"f" => Frame::Boolean(false),
                    _ => return Err(proto("invalid boolean")),
                },
                b',' => {
                    // A double line is longer than an integer line; allow 64 bytes.
                    let line = self.line(64, "invalid double")?;
                    Frame::Double(parse_double(line).ok_or_else(|| proto("invalid double"))?)
                }
                b'(' => {
                    let line = self.text_line()?;
                    let digits = line.strip_prefix(b"-").unwrap_or(line);
                    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                        return Err(proto("invalid big number"));
                    }
                    Frame::BigNumber(Bytes::copy_from_slice(line))
                }
                other => {
                    return Err(ParseError::Protocol(format!(
                        "unexpected type byte '{}'",
                        std::ascii::escape_default(other)
                    )))
                }
            };
            return Ok(frame);
        }
    }

    /// Reads `n` elements of an aggregate one level deeper.
    fn elements(&mut self, n: usize, depth: usize) -> Result<Vec<Frame>, ParseError> {
        let depth = self.deeper(depth)?;
        // Every element takes at least 3 bytes, so never reserve more than the
        // input could hold.
        let cap = n.min(MAX_PREALLOC).min((self.buf.len() - self.pos) / 3 + 1);
        let mut items = Vec::with_capacity(cap);
        for _ in 0..n {
            items.push(self.frame(depth)?);
        }
        Ok(items)
    }

    /// Reads `n` key/value pairs one level deeper.
    fn pairs(&mut self, n: usize, depth: usize) -> Result<Vec<(Frame, Frame)>, ParseError> {
        let depth = self.deeper(depth)?;
        let cap = n.min(MAX_PREALLOC).min((self.buf.len() - self.pos) / 6 + 1);
        let mut pairs = Vec::with_capacity(cap);
        for _ in 0..n {
            let k = self.frame(depth)?;
            let v = self.frame(depth)?;
            pairs.push((k, v));
        }
        Ok(pairs)
    }

    fn deeper(&self, depth: usize) -> Result<usize, ParseError> {
        if depth >= MAX_NESTING_DEPTH {
            return Err(proto("nesting too deep"));
        }
        Ok(depth + 1)
    }

    /// Reads the count line of a `~`, `>`, `%` or `|` aggregate, whose
    /// elements count `per_item` each against `max_multibulk_len`.
    fn aggregate_len(&mut self, per_item: usize) -> Result<usize, ParseError> {
        let n = self
            .length("invalid multibulk length", false, usize::MAX)?
            .unwrap_or(0);
        if n.saturating_mul(per_item) > self.limits.max_multibulk_len {
            return Err(proto("invalid multibulk length"));
        }
        Ok(n)
    }

    /// Reads a length line. `-1` is `None` when `allow_null`; other negative
    /// values and values over `max` are `err`.
    fn length(
        &mut self,
        err: &str,
        allow_null: bool,
        max: usize,
    ) -> Result<Option<usize>, ParseError> {
        let line = self.number_line(err)?;
        match parse_i64(line) {
            Some(-1) if allow_null => Ok(None),
            Some(n) => match usize::try_from(n) {
                Ok(n) if n <= max => Ok(Some(n)),
                _ => Err(proto(err)),
            },
            None => Err(proto(err)),
        }
    }

    /// Reads `n` bytes followed by CRLF.
    fn blob(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let buf = self.buf;
        let start = self.pos;
        let end = start
            .checked_add(n)
            .ok_or_else(|| proto("invalid bulk length"))?;
        if buf.len() < end.saturating_add(2) {
            // Report a bad terminator as soon as it is visible.
            if buf.len() > end && buf[end] != b'\r' {
                return Err(proto("expected CRLF after bulk data"));
            }
            return Err(ParseError::Incomplete);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(proto("expected CRLF after bulk data"));
        }
        self.pos = end + 2;
        Ok(&buf[start..end])
    }

    /// A short line holding a number or a flag.
    fn number_line(&mut self, err: &str) -> Result<&'a [u8], ParseError> {
        self.line(MAX_NUMBER_LINE, err)
    }

    /// A free-text line (`+`, `-`, `(`), bounded by `max_bulk_len`.
    fn text_line(&mut self) -> Result<&'a [u8], ParseError> {
        self.line(self.limits.max_bulk_len, "line too long")
    }

    /// Reads up to CRLF. A line with more than `max` bytes before its `\r` is
    /// `err`; a `\r` not followed by `\n` is a protocol error.
    fn line(&mut self, max: usize, err: &str) -> Result<&'a [u8], ParseError> {
        let buf = self.buf;
        let start = self.pos;
        let window_end = buf.len().min(start.saturating_add(max).saturating_add(1));
        match memchr::memchr(b'\r', &buf[start..window_end]) {
            None if window_end - start > max => Err(proto(err)),
            None => Err(ParseError::Incomplete),
            Some(i) => {
                let cr = start + i;
                match buf.get(cr + 1) {
                    None => Err(ParseError::Incomplete),
                    Some(b'\n') => {
                        self.pos = cr + 2;
                        Ok(&buf[start..cr])
                    }
                    Some(_) => Err(proto("expected '\\n' after '\\r'")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode, Protocol};
    use bytes::BytesMut;

    fn parse(b: &[u8]) -> Result<(Frame, usize), ParseError> {
        parse_frame(b, &Limits::default())
    }

    fn ok(b: &[u8]) -> Frame {
        match parse(b) {
            Ok((f, n)) => {
                assert_eq!(
                    n,
                    b.len(),
                    "consumed count for {:?}",
                    String::from_utf8_lossy(b)
                );
                // Every strict prefix is Incomplete.
                for cut in 0..b.len() {
                    assert_eq!(
                        parse(&b[..cut]),
                        Err(ParseError::Incomplete),
                        "prefix {cut} of {b:?}"
                    );
                }
                f
            }
            Err(e) => panic!("{:?}: {e:?}", String::from_utf8_lossy(b)),
        }
    }

    fn err(b: &[u8]) -> String {
        match parse(b) {
            Err(ParseError::Protocol(m)) => m,
            other => panic!(
                "{:?}: expected protocol error, got {other:?}",
                String::from_utf8_lossy(b)
            ),
        }
    }

    #[test]
    fn resp2_types() {
        assert_eq!(ok(b"+OK\r\n"), Frame::ok());
        assert_eq!(ok(b"-ERR bad thing\r\n"), Frame::error("ERR bad thing"));
        assert_eq!(ok(b":-12\r\n"), Frame::Integer(-12));
        assert_eq!(ok(b"$5\r\nhe\r\no\r\n"), Frame::bulk("he\r\no"));
        assert_eq!(ok(b"$0\r\n\r\n"), Frame::bulk(""));
        assert_eq!(ok(b"$-1\r\n"), Frame::Null);
        assert_eq!(ok(b"*-1\r\n"), Frame::NullArray);
        assert_eq!(ok(b"*0\r\n"), Frame::Array(vec![]));
        assert_eq!(
            ok(b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n"),
            Frame::Array(vec![
                Frame::bulk("a"),
                Frame::Array(vec![Frame::Integer(1)])
            ])
        );
    }

    #[test]
    fn resp3_types() {
        assert_eq!(ok(b"_\r\n"), Frame::Null);
        assert_eq!(ok(b"#t\r\n"), Frame::Boolean(true));
        assert_eq!(ok(b"#f\r\n"), Frame::Boolean(false));
        assert_eq!(ok(b",1.5\r\n"), Frame::Double(1.5));
        assert_eq!(ok(b",-inf\r\n"), Frame::Double(f64::NEG_INFINITY));
        assert!(matches!(ok(b",nan\r\n"), Frame::Double(d) if d.is_nan()));
        assert_eq!(
            ok(b"(-123\r\n"),
            Frame::BigNumber(Bytes::from_static(b"-123"))
        );
        assert_eq!(
            ok(b"=7\r\nmkd:a\r\n\r\n"),
            Frame::Verbatim {
                format: *b"mkd",
                text: Bytes::from_static(b"a\r\n")
            }
        );
        assert_eq!(ok(b"!8\r\nERR x\r\ny\r\n"), Frame::error("ERR x\r\ny"));
        assert_eq!(
            ok(b"%1\r\n+k\r\n:1\r\n"),
            Frame::Map(vec![(Frame::simple("k"), Frame::Integer(1))])
        );
        assert_eq!(ok(b"~1\r\n_\r\n"), Frame::Set(vec![Frame::Null]));
        assert_eq!(
            ok(b">2\r\n+a\r\n+b\r\n"),
            Frame::Push(vec![Frame::simple("a"), Frame::simple("b")])
        );
    }

    #[test]
    fn attributes_are_discarded() {
        assert_eq!(ok(b"|1\r\n+key\r\n+val\r\n:5\r\n"), Frame::Integer(5));
        // Nested inside an aggregate, and two in a row.
        assert_eq!(
            ok(b"*2\r\n|1\r\n+a\r\n%0\r\n+x\r\n|0\r\n|0\r\n+y\r\n"),
            Frame::Array(vec![Frame::simple("x"), Frame::simple("y")])
        );
        // An attribute alone is incomplete.
        assert_eq!(parse(b"|1\r\n+a\r\n+b\r\n"), Err(ParseError::Incomplete));
    }

    #[test]
    fn consumed_count_excludes_trailing_bytes() {
        assert_eq!(parse(b"+OK\r\n+NEXT\r\n"), Ok((Frame::ok(), 5)));
        assert_eq!(parse(b":1\r\nX"), Ok((Frame::Integer(1), 4)));
    }

    #[test]
    fn protocol_errors() {
        assert_eq!(err(b"?\r\n"), "unexpected type byte '?'");
        assert_eq!(err(b"\x00"), "unexpected type byte '\\x00'");
        assert_eq!(err(b":abc\r\n"), "invalid integer");
        assert_eq!(err(b":1\rX"), "expected '\\n' after '\\r'");
        assert_eq!(err(b"$-2\r\n"), "invalid bulk length");
        assert_eq!(err(b"$x\r\n"), "invalid bulk length");
        assert_eq!(err(b"$123456789012345678901234"), "invalid bulk length");
        assert_eq!(err(b"$1\r\nabc"), "expected CRLF after bulk data");
        assert_eq!(err(b"$1\r\nab\n"), "expected CRLF after bulk data");
        assert_eq!(err(b"*-2\r\n"), "invalid multibulk length");
        assert_eq!(err(b"~-1\r\n"), "invalid multibulk length");
        assert_eq!(err(b"#x\r\n"), "invalid boolean");
        assert_eq!(err(b"_x\r\n"), "invalid null");
        assert_eq!(err(b",abc\r\n"), "invalid double");
        assert_eq!(err(b"(12a\r\n"), "invalid big number");
        assert_eq!(err(b"(\r\n"), "invalid big number");
        assert_eq!(err(b"=2\r\nab\r\n"), "invalid verbatim string");
        assert_eq!(err(b"=5\r\ntxt-a\r\n"), "invalid verbatim string");
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits {
            max_bulk_len: 4,
            max_multibulk_len: 2,
            max_inline_len: 8,
        };
        let p = |b: &[u8]| parse_frame(b, &limits);
        assert!(p(b"$4\r\nabcd\r\n").is_ok());
        assert_eq!(
            p(b"$5\r\n"),
            Err(ParseError::protocol("invalid bulk length"))
        );
        assert_eq!(
            p(b"!5\r\n"),
            Err(ParseError::protocol("invalid bulk length"))
        );
        assert_eq!(
            p(b"*3\r\n"),
            Err(ParseError::protocol("invalid multibulk length"))
        );
        assert_eq!(
            p(b"%2\r\n"),
            Err(ParseError::protocol("invalid multibulk length"))
        );
        assert!(p(b"%1\r\n_\r\n_\r\n").is_ok());
        assert_eq!(p(b"+hello"), Err(ParseError::protocol("line too long")));
    }

    #[test]
    fn nesting_depth_is_capped() {
        let mut deep = b"*1\r\n".repeat(MAX_NESTING_DEPTH);
        deep.extend_from_slice(b":1\r\n");
        assert!(parse(&deep).is_ok());
        let mut deeper = b"*1\r\n".repeat(MAX_NESTING_DEPTH + 1);
        deeper.extend_from_slice(b":1\r\n");
        assert_eq!(
            parse(&deeper),
            Err(ParseError::protocol("nesting too deep"))
        );
    }

    #[test]
    fn every_type_round_trips_both_protocols() {
        let frames = vec![
            Frame::ok(),
            Frame::error("ERR x"),
            Frame::Integer(i64::MAX),
            Frame::bulk("b"),
            Frame::Null,
            Frame::Array(vec![Frame::Integer(1)]),
            Frame::Map(vec![(Frame::bulk("k"), Frame::bulk("v"))]),
            Frame::Set(vec![Frame::bulk("m")]),
            Frame::Double(-0.25),
            Frame::Boolean(true),
            Frame::BigNumber(Bytes::from_static(b"99999999999999999999999")),
            Frame::verbatim_txt("hi"),
            Frame::Push(vec![Frame::bulk("message")]),
        ];
        let downgraded = vec![
            Frame::ok(),
            Frame::error("ERR x"),
            Frame::Integer(i64::MAX),
            Frame::bulk("b"),
            Frame::Null,
            Frame::Array(vec![Frame::Integer(1)]),
            Frame::Array(vec![Frame::bulk("k"), Frame::bulk("v")]),
            Frame::Array(vec![Frame::bulk("m")]),
            Frame::bulk("-0.25"),
            Frame::Integer(1),
            Frame::bulk("99999999999999999999999"),
            Frame::bulk("hi"),
            Frame::Array(vec![Frame::bulk("message")]),
        ];
        for (f, d) in frames.iter().zip(&downgraded) {
            let mut out = BytesMut::new();
            encode(f, Protocol::Resp3, &mut out);
            assert_eq!(ok(&out), *f);
            let mut out = BytesMut::new();
            encode(f, Protocol::Resp2, &mut out);
            assert_eq!(ok(&out), *d);
        }
        // NullArray is "_" in RESP3, which reads back as Null.
        let mut out = BytesMut::new();
        encode(&Frame::NullArray, Protocol::Resp3, &mut out);
        assert_eq!(ok(&out), Frame::Null);
        let mut out = BytesMut::new();
        encode(&Frame::NullArray, Protocol::Resp2, &mut out);
        assert_eq!(ok(&out), Frame::NullArray);
    }
}
