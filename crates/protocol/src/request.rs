//! The server-side request parser, [`RequestParser`]: multibulk (`*N\r\n$len\r\n...`)
//! and inline commands, with Redis 7.0's limits and error texts. It owns the
//! parse state of one connection's input; it does not own the read buffer, the
//! query-buffer size limit, or what happens after an error (the caller replies
//! `-ERR Protocol error: ...` and closes).
//!
//! DESIGN: Redis parses a big command incrementally (`processMultibulkBuffer`
//! keeps `multibulklen`/`bulklen` across reads). This parser does the same, but
//! leaves the caller's buffer untouched until the whole command is present: it
//! records each argument as an offset into the buffer, and on completion splits
//! the command off once (`split_to` + `freeze`) and hands out zero-copy slices.
//! The caller must therefore only *append* to the buffer between calls that
//! returned `Ok(None)` (or call [`RequestParser::reset`]).
//!
//! Redis quirks kept on purpose, so clients see identical behaviour: the byte
//! after a length line's `\r` and the two bytes after bulk data are skipped
//! without being checked; a `\n` ends an inline line wherever it is; an inline
//! line is only limited while no `\n` has arrived; and because Redis finds line
//! ends with C `strchr`, a NUL byte before the end of an inline line or a length
//! line hides that end, so the parser keeps waiting until the size limit turns
//! it into "too big ... " (bulk *data* is length-counted and may hold NULs).

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ParseError;
use crate::inline::{is_plain, plain_spans, tokenize_general, up_to_nul, Token};
use crate::number::parse_i64;
use crate::Limits;

/// Initial argument-vector capacity cap, like Redis's `min(multibulklen, 1024)`.
const MAX_ARGS_PREALLOC: usize = 1024;
/// Offset-vector capacity kept between commands; more is freed.
const SPANS_KEEP_CAPACITY: usize = 4 * MAX_ARGS_PREALLOC;
/// Redis's limits for a client that still has to authenticate.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
const UNAUTH_MAX_BULK: i64 = 16384;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between commands: the next byte decides inline or multibulk.
    Start,
    /// Waiting for the `\n` that ends an inline line.
    Inline,
    /// Waiting for the `*N` line.
    Count,
    /// Reading `remaining` bulk arguments.
    Args,
}

/// Result of one step over the buffer.
enum Step {
    NeedMore,
    /// An empty command of this many bytes, to be skipped.
    Empty(usize),
    /// A command, its arguments pushed to the caller's vector.
    Command,
}

/// Stateful parser for the commands a client sends, one per connection.
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    /// Apply Redis's tighter unauthenticated limits (`*` > 10, `$` > 16384).
    auth_required: bool,
    state: State,
    /// Offset in the buffer up to which the current command has been parsed.
    pos: usize,
    /// Offset where the next search for a line end resumes; no line end lies
    /// in `pos..scan`, and always `pos <= scan`.
    scan: usize,
    /// Bulk arguments still to read (state `Args`).
    remaining: usize,
    /// Length of the bulk whose header has been read but whose data has not.
    bulk_len: Option<usize>,
    /// `(offset, len)` of each argument read so far; reused across commands.
    spans: Vec<(usize, usize)>,
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            auth_required: false,
            state: State::Start,
            pos: 0,
            scan: 0,
            remaining: 0,
            bulk_len: None,
            spans: Vec::new(),
        }
    }

    /// The limits this parser enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// While `required` is true, apply Redis's limits for clients that have not
    /// authenticated yet: more than 10 arguments is "unauthenticated multibulk
    /// length", a bulk over 16384 bytes is "unauthenticated bulk length".
    pub fn set_auth_required(&mut self, required: bool) {
        self.auth_required = required;
    }

    /// Forgets any partially parsed command (for a caller that discards its buffer).
    pub fn reset(&mut self) {
        self.state = State::Start;
        self.pos = 0;
        self.scan = 0;
        self.remaining = 0;
        self.bulk_len = None;
        if self.spans.capacity() > SPANS_KEEP_CAPACITY {
            // Don't keep a huge command's offsets alive for the connection's life.
            self.spans = Vec::new();
        } else {
            self.spans.clear();
        }
    }

    /// Parses one command from the front of `buf`.
    ///
    /// On success the command's bytes are removed from `buf` and returned as
    /// zero-copy argument slices (`args.len() >= 1`). `Ok(None)` means more bytes
    /// are needed; `buf` is then untouched apart from having lost any empty
    /// commands (`*0`, `*-1`, blank inline lines), which are skipped as Redis
    /// does. Between an `Ok(None)` and the next call the caller may only append
    /// to `buf`.
    ///
    /// Errors are Redis 7.0's: "too big inline request", "unbalanced quotes in
    /// request", "too big mbulk count string", "invalid multibulk length",
    /// "too big bulk count string", "expected '$', got 'X'", "invalid bulk
    /// length" (and the unauthenticated variants, see
    /// [`RequestParser::set_auth_required`]). After an error the connection is
    /// to be closed; the parser's state is unspecified.
    pub fn next_command(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ParseError> {
        let mut args = Vec::new();
        Ok(self.next_command_into(buf, &mut args)?.then_some(args))
    }

    /// [`RequestParser::next_command`] into `args` (emptied first): true when a command was
    /// parsed into it. A server parsing many commands reuses one vector instead of
    /// allocating one per command.
    pub fn next_command_into(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
    ) -> Result<bool, ParseError> {
        args.clear();
        if self.state == State::Start && !self.auth_required {
            if let Some(end) = self.whole_small_command(buf) {
                let chunk = buf.split_to(end).freeze();
                args.extend(
                    self.spans
                        .iter()
                        .map(|&(start, len)| chunk.slice(start..start + len)),
                );
                self.spans.clear();
                return Ok(true);
            }
        }
        if self.scan > buf.len() {
            // The caller shrank the buffer mid-command, breaking the contract;
            // start over rather than index out of bounds.
            self.reset();
        }
        loop {
            if self.state == State::Start {
                let Some(&first) = buf.first() else {
                    return Ok(false);
                };
                self.state = if first == b'*' {
                    State::Count
                } else {
                    State::Inline
                };
                self.pos = 0;
                self.scan = 0;
            }
            let step = match self.state {
                State::Inline => self.inline(buf, args)?,
                _ => self.multibulk(buf, args)?,
            };
            match step {
                Step::NeedMore => return Ok(false),
                Step::Empty(n) => {
                    buf.advance(n);
                    self.reset();
                }
                Step::Command => {
                    self.reset();
                    return Ok(true);
                }
            }
        }
    }

    /// Total length `buf` must reach before the parser can make progress, when
    /// known (a bulk argument whose header has been read); `None` otherwise.
    /// Callers can reserve `wanted - buf.len()` to read a big argument without
    /// repeated reallocation.
    pub fn bytes_wanted(&self) -> Option<usize> {
        match (self.state, self.bulk_len) {
            (State::Args, Some(n)) => Some(self.pos + n + 2),
            _ => None,
        }
    }

    fn inline(&mut self, buf: &mut BytesMut, args: &mut Vec<Bytes>) -> Result<Step, ParseError> {
        let found = memchr::memchr2(b'\n', 0, &buf[self.scan..]).map(|i| self.scan + i);
        let newline = match found {
            Some(i) if buf[i] == b'\n' => i,
            _ => {
                if buf.len() > self.limits.max_inline_len {
                    return Err(ParseError::protocol("too big inline request"));
                }
                // Stop at a NUL for good (C strchr never looks past it).
                self.scan = found.unwrap_or(buf.len());
                return Ok(Step::NeedMore);
            }
        };
        // The limit holds for the whole line, however the bytes were split into reads
        // (Redis applies it only while no newline is buffered, so its outcome for lines
        // just over the limit depends on read sizes; this is the deterministic version).
        if newline > self.limits.max_inline_len {
            return Err(ParseError::protocol("too big inline request"));
        }
        let line_end = if newline > 0 && buf[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        let line = up_to_nul(&buf[..line_end]);
        if is_plain(line) {
            // No quotes: the arguments are spans of the line (kept in `spans`, reused).
            let spans = &mut self.spans;
            spans.clear();
            plain_spans(line, |s, e| spans.push((s, e - s)));
            if spans.is_empty() {
                return Ok(Step::Empty(newline + 1));
            }
            let chunk = buf.split_to(newline + 1).freeze();
            args.extend(spans.iter().map(|&(s, len)| chunk.slice(s..s + len)));
            return Ok(Step::Command);
        }
        let mut tokens = Vec::new();
        if !tokenize_general(line, |t| tokens.push(t)) {
            return Err(ParseError::protocol("unbalanced quotes in request"));
        }
        if tokens.is_empty() {
            return Ok(Step::Empty(newline + 1));
        }
        let chunk = buf.split_to(newline + 1).freeze();
        args.extend(tokens.into_iter().map(|t| match t {
            Token::Span(s, e) => chunk.slice(s..e),
            Token::Owned(v) => Bytes::from(v),
        }));
        Ok(Step::Command)
    }

    fn multibulk(&mut self, buf: &mut BytesMut, args: &mut Vec<Bytes>) -> Result<Step, ParseError> {
        if self.state == State::Count {
            let Some(cr) = self.find_cr(buf) else {
                if buf.len() > self.limits.max_inline_len {
                    return Err(ParseError::protocol("too big mbulk count string"));
                }
                return Ok(Step::NeedMore);
            };
            // The first byte is '*' (that is how State::Count was chosen).
            let digits = buf.get(1..cr).unwrap_or_default();
            let count = match parse_i64(digits) {
                Some(n) if n <= self.limits.max_multibulk_len.try_into().unwrap_or(i64::MAX) => n,
                _ => return Err(ParseError::protocol("invalid multibulk length")),
            };
            if count > UNAUTH_MAX_MULTIBULK && self.auth_required {
                return Err(ParseError::protocol("unauthenticated multibulk length"));
            }
            // Like Redis, the byte after '\r' is taken to be '\n' unchecked.
            self.pos = cr + 2;
            self.scan = self.pos;
            let Ok(count @ 1..) = usize::try_from(count) else {
                return Ok(Step::Empty(self.pos));
            };
            self.remaining = count;
            self.spans.clear();
            self.spans.reserve(count.min(MAX_ARGS_PREALLOC));
            self.bulk_len = None;
            self.state = State::Args;
        }

        while self.remaining > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let Some(cr) = self.find_cr(buf) else {
                        if buf.len() - self.pos > self.limits.max_inline_len {
                            return Err(ParseError::protocol("too big bulk count string"));
                        }
                        return Ok(Step::NeedMore);
                    };
                    let line = buf.get(self.pos..cr).unwrap_or_default();
                    let ty = line.first().copied().unwrap_or(b'\r');
                    if ty != b'$' {
                        return Err(ParseError::Protocol(format!(
                            "expected '$', got '{}'",
                            char::from(ty)
                        )));
                    }
                    let len = match parse_i64(&line[1..]) {
                        Some(n) if n >= 0 => n,
                        _ => return Err(ParseError::protocol("invalid bulk length")),
                    };
                    let len = match usize::try_from(len) {
                        Ok(n) if n <= self.limits.max_bulk_len => n,
                        _ => return Err(ParseError::protocol("invalid bulk length")),
                    };
                    if len as u64 > UNAUTH_MAX_BULK as u64 && self.auth_required {
                        return Err(ParseError::protocol("unauthenticated bulk length"));
                    }
                    self.pos = cr + 2;
                    self.scan = self.pos;
                    self.bulk_len = Some(len);
                    len
                }
            };
            if buf.len() - self.pos < len + 2 {
                return Ok(Step::NeedMore);
            }
            // Like Redis, the two bytes after the data are skipped unchecked.
            self.spans.push((self.pos, len));
            self.pos += len + 2;
            self.scan = self.pos;
            self.bulk_len = None;
            self.remaining -= 1;
        }

        let chunk = buf.split_to(self.pos).freeze();
        args.extend(
            self.spans
                .iter()
                .map(|&(start, len)| chunk.slice(start..start + len)),
        );
        Ok(Step::Command)
    }

    /// The fast path: a whole multibulk command of at most [`QUICK_MAX_ARGS`] arguments, each
    /// length line plain digits, already in `buf` (as nearly every command is). Parsed in one
    /// pass without the incremental state; its argument spans are left in `self.spans` and
    /// the command's length is returned. Anything else (a partial command, an empty one,
    /// odd number text, a limit reached: whatever may need an error) returns `None` and goes
    /// the general way, which decides it exactly as before.
    #[inline]
    fn whole_small_command(&mut self, buf: &[u8]) -> Option<usize> {
        if buf.first() != Some(&b'*') {
            return None;
        }
        let mut pos = 1;
        let count = plain_length(buf, &mut pos)?;
        if count == 0 || count > QUICK_MAX_ARGS || count > self.limits.max_multibulk_len {
            return None;
        }
        self.spans.clear();
        for _ in 0..count {
            if buf.get(pos) != Some(&b'$') {
                return None;
            }
            pos += 1;
            let len = plain_length(buf, &mut pos)?;
            if len > self.limits.max_bulk_len {
                return None;
            }
            // (Like Redis, the two bytes after the data are skipped unchecked.)
            let end = pos + len + 2;
            if end > buf.len() {
                return None;
            }
            self.spans.push((pos, len));
            pos = end;
        }
        Some(pos)
    }

    /// Finds the `\r` ending the line that starts at `self.pos`, provided at
    /// least one byte follows it (Redis's "buffer should also contain \n").
    /// Remembers how far it looked so a slow trickle is not re-scanned. Like C
    /// `strchr`, a NUL byte ends the search unsuccessfully, for good.
    #[inline]
    fn find_cr(&mut self, buf: &[u8]) -> Option<usize> {
        let from = self.scan;
        let hay = &buf[from..];
        // Length lines are short: a plain loop beats memchr's setup for them.
        let quick = hay.len().min(16);
        let found = match hay[..quick].iter().position(|&c| c == b'\r' || c == 0) {
            Some(i) => Some(i),
            None => memchr::memchr2(b'\r', 0, &hay[quick..]).map(|i| i + quick),
        };
        match found {
            Some(i) => {
                let cr = from + i;
                // A NUL hides any later '\r' for good; a '\r' needs one more
                // byte after it. Either way, resume the search right here.
                if buf[cr] == 0 || cr + 2 > buf.len() {
                    self.scan = cr;
                    None
                } else {
                    Some(cr)
                }
            }
            None => {
                self.scan = buf.len();
                None
            }
        }
    }
}

/// Commands with more arguments than this take the general path.
const QUICK_MAX_ARGS: usize = 64;

/// The length at `buf[*pos..]` for the fast path: 1 to 9 decimal digits without a leading
/// zero (or `0` itself), then `\r` and one more byte (taken to be `\n` unchecked, as Redis
/// does); `*pos` moves past them. `None` for anything else, which the general path decides.
#[inline]
fn plain_length(buf: &[u8], pos: &mut usize) -> Option<usize> {
    let mut i = *pos;
    let mut n = usize::from(buf.get(i)?.wrapping_sub(b'0'));
    if n > 9 {
        return None;
    }
    loop {
        i += 1;
        let c = *buf.get(i)?;
        if c == b'\r' {
            break;
        }
        let d = c.wrapping_sub(b'0');
        if d > 9 || n == 0 || i - *pos >= 9 {
            return None;
        }
        n = n * 10 + usize::from(d);
    }
    if i + 1 >= buf.len() {
        return None;
    }
    *pos = i + 2;
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> RequestParser {
        RequestParser::new(Limits::default())
    }

    fn strs(args: &[Bytes]) -> Vec<&[u8]> {
        args.iter().map(|a| &a[..]).collect()
    }

    fn proto_err(msg: &str) -> Result<Option<Vec<Bytes>>, ParseError> {
        Err(ParseError::protocol(msg))
    }

    #[test]
    fn multibulk_whole() {
        let mut p = parser();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"[..]);
        let a = p.next_command(&mut buf).unwrap().unwrap();
        assert_eq!(strs(&a), vec![&b"GET"[..], b"k"]);
        let a = p.next_command(&mut buf).unwrap().unwrap();
        assert_eq!(strs(&a), vec![&b"PING"[..]]);
        assert_eq!(p.next_command(&mut buf), Ok(None));
        assert!(buf.is_empty());
    }

    #[test]
    fn one_vector_for_many_commands() {
        let mut p = parser();
        let mut buf =
            BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING x y\r\n*1\r\n$4\r\nPI"[..]);
        let mut args = Vec::new();
        assert_eq!(p.next_command_into(&mut buf, &mut args), Ok(true));
        assert_eq!(strs(&args), vec![&b"GET"[..], b"k"]);
        assert_eq!(p.next_command_into(&mut buf, &mut args), Ok(true));
        assert_eq!(strs(&args), vec![&b"PING"[..], b"x", b"y"]);
        assert_eq!(p.next_command_into(&mut buf, &mut args), Ok(false));
        assert!(args.is_empty(), "a partial command leaves nothing behind");
        buf.extend_from_slice(b"NG\r\n");
        assert_eq!(p.next_command_into(&mut buf, &mut args), Ok(true));
        assert_eq!(strs(&args), vec![&b"PING"[..]]);
    }

    #[test]
    fn multibulk_byte_by_byte() {
        let wire = b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$5\r\na\r\nbc\r\n";
        let mut p = parser();
        let mut buf = BytesMut::new();
        let mut got = None;
        for (i, &b) in wire.iter().enumerate() {
            buf.extend_from_slice(&[b]);
            match p.next_command(&mut buf).unwrap() {
                Some(a) => {
                    assert_eq!(i, wire.len() - 1, "complete too early");
                    got = Some(a);
                }
                None => assert_eq!(buf.len(), i + 1, "buffer must stay untouched"),
            }
        }
        assert_eq!(strs(&got.unwrap()), vec![&b"SET"[..], b"", b"a\r\nbc"]);
        assert!(buf.is_empty());
    }

    #[test]
    fn bytes_wanted_reports_big_bulk() {
        let mut p = parser();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$100\r\nxx"[..]);
        assert_eq!(p.bytes_wanted(), None);
        assert_eq!(p.next_command(&mut buf), Ok(None));
        // 13 header bytes + "$100\r\n" (6) + 100 + CRLF
        assert_eq!(p.bytes_wanted(), Some(13 + 6 + 102));
        buf.extend_from_slice(&[b'x'; 100]);
        let a = p.next_command(&mut buf).unwrap().unwrap();
        assert_eq!(a[1].len(), 100);
        assert_eq!(p.bytes_wanted(), None);
    }

    #[test]
    fn args_are_zero_copy_slices() {
        let mut p = parser();
        let mut buf = BytesMut::from(&b"*1\r\n$5\r\nhello\r\n"[..]);
        let base = buf.as_ptr() as usize;
        let a = p.next_command(&mut buf).unwrap().unwrap();
        assert_eq!(a[0].as_ptr() as usize, base + 8);
    }

    #[test]
    fn fast_path_takes_whole_small_commands_only() {
        let quick = |input: &[u8]| parser().whole_small_command(input);
        let get = b"*2\r\n$3\r\nGET\r\n$16\r\nkey:000000012345\r\n";
        assert_eq!(quick(get), Some(get.len()));
        // A second command after it is not part of it.
        assert_eq!(quick(&[&get[..], b"*1\r\n"].concat()), Some(get.len()));
        assert_eq!(quick(b"*1\r\n$0\r\n\r\n"), Some(10));
        for general in [
            &get[..get.len() - 1],    // partial
            b"*0\r\n",                // empty
            b"*01\r\n$1\r\nx\r\n",    // leading zero
            b"*1\r\n$01\r\nx\r\n",    // leading zero
            b"*1\r\n$-1\r\n",         // negative
            b"*1\r\n:1\r\n",          // not a bulk
            b"*1\r\n$1000000000\r\n", // ten digits
            b"*1\r\n$1\r",            // no byte after the CR yet
            b"*65\r\n",               // too many arguments
            b"PING\r\n",              // inline
        ] {
            assert_eq!(
                quick(general),
                None,
                "{:?}",
                String::from_utf8_lossy(general)
            );
        }
        let mut p = RequestParser::new(Limits {
            max_bulk_len: 2,
            ..Limits::default()
        });
        assert_eq!(p.whole_small_command(b"*1\r\n$3\r\nabc\r\n"), None);
        let mut p = parser();
        p.set_auth_required(true);
        let mut buf = BytesMut::from(&get[..]);
        assert_eq!(p.next_command(&mut buf).unwrap().unwrap().len(), 2);
    }

    #[test]
    fn empty_commands_are_skipped() {
        let mut p = parser();
        let mut buf =
            BytesMut::from(&b"*0\r\n*-1\r\n*-7\r\n\r\n  \r\n\n*1\r\n$1\r\nx\r\n*0\r\n"[..]);
        let a = p.next_command(&mut buf).unwrap().unwrap();
        assert_eq!(strs(&a), vec![&b"x"[..]]);
        assert_eq!(p.next_command(&mut buf), Ok(None));
        assert!(buf.is_empty());
        // Skipped even when the following command is incomplete.
        let mut buf = BytesMut::from(&b"*0\r\n*1\r\n$1"[..]);
        assert_eq!(p.next_command(&mut buf), Ok(None));
        assert_eq!(&buf[..], b"*1\r\n$1");
    }

    #[test]
    fn inline_commands() {
        let mut p = parser();
        let mut buf = BytesMut::from(&b"SET k \"a b\"\r\nPING\nECHO 'x'\r"[..]);
        let a = p.next_command(&mut buf).unwrap().unwrap();
        assert_eq!(strs(&a), vec![&b"SET"[..], b"k", b"a b"]);
        let a = p.next_command(&mut buf).unwrap().unwrap();
        assert_eq!(strs(&a), vec![&b"PING"[..]]);
        assert_eq!(p.next_command(&mut buf), Ok(None));
        buf.extend_from_slice(b"\n");
        let a = p.next_command(&mut buf).unwrap().unwrap();
        assert_eq!(strs(&a), vec![&b"ECHO"[..], b"x"]);
        assert!(buf.is_empty());
    }

    #[test]
    fn inline_errors() {
        let mut p = parser();
        let mut buf = BytesMut::from(&b"SET \"k\r\n"[..]);
        assert_eq!(
            p.next_command(&mut buf),
            proto_err("unbalanced quotes in request")
        );
        let mut p = parser();
        let mut buf = BytesMut::from(&vec![b'a'; 64 * 1024][..]);
        assert_eq!(p.next_command(&mut buf), Ok(None));
        buf.extend_from_slice(b"a");
        assert_eq!(
            p.next_command(&mut buf),
            proto_err("too big inline request")
        );
    }

    #[test]
    fn multibulk_errors() {
        let cases: &[(&[u8], &str)] = &[
            (b"*x\r\n", "invalid multibulk length"),
            (b"*\r\n", "invalid multibulk length"),
            (b"*2147483648\r\n", "invalid multibulk length"),
            (b"*01\r\n", "invalid multibulk length"),
            (b"*1\r\n:1\r\n", "expected '$', got ':'"),
            (b"*1\r\n\r\n", "expected '$', got '\r'"),
            (b"*1\r\n$-1\r\n", "invalid bulk length"),
            (b"*1\r\n$x\r\n", "invalid bulk length"),
            (b"*1\r\n$536870913\r\n", "invalid bulk length"),
            (b"*1\r\n$\r\n", "invalid bulk length"),
        ];
        for (wire, msg) in cases {
            let mut p = parser();
            let mut buf = BytesMut::from(*wire);
            assert_eq!(
                p.next_command(&mut buf),
                proto_err(msg),
                "{:?}",
                String::from_utf8_lossy(wire)
            );
        }
        let mut p = parser();
        let mut buf = BytesMut::from(&vec![b'1'; 64 * 1024][..]);
        buf[0] = b'*';
        buf.extend_from_slice(b"1");
        assert_eq!(
            p.next_command(&mut buf),
            proto_err("too big mbulk count string")
        );
        let mut p = parser();
        let mut buf = BytesMut::from(&b"*1\r\n$"[..]);
        buf.extend_from_slice(&vec![b'1'; 64 * 1024]);
        assert_eq!(
            p.next_command(&mut buf),
            proto_err("too big bulk count string")
        );
    }

    #[test]
    fn redis_skips_bytes_after_cr_and_data_unchecked() {
        let mut p = parser();
        let mut buf = BytesMut::from(&b"*1\rX$3\rYfooAB"[..]);
        let a = p.next_command(&mut buf).unwrap().unwrap();
        assert_eq!(strs(&a), vec![&b"foo"[..]]);
    }

    #[test]
    fn unauthenticated_limits() {
        let mut p = parser();
        p.set_auth_required(true);
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        assert_eq!(
            p.next_command(&mut buf),
            proto_err("unauthenticated multibulk length")
        );
        let mut p = parser();
        p.set_auth_required(true);
        let mut buf = BytesMut::from(&b"*1\r\n$16385\r\n"[..]);
        assert_eq!(
            p.next_command(&mut buf),
            proto_err("unauthenticated bulk length")
        );
        let mut p = parser();
        p.set_auth_required(true);
        let mut buf = BytesMut::from(&b"*10\r\n$16384\r\n"[..]);
        assert_eq!(p.next_command(&mut buf), Ok(None));
    }

    #[test]
    fn custom_limits() {
        let limits = Limits {
            max_bulk_len: 3,
            max_multibulk_len: 2,
            max_inline_len: 8,
        };
        let mut p = RequestParser::new(limits);
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nabc\r\n$3\r\ndef\r\n"[..]);
        assert!(p.next_command(&mut buf).unwrap().is_some());
        let mut buf = BytesMut::from(&b"*3\r\n"[..]);
        assert_eq!(
            p.next_command(&mut buf),
            proto_err("invalid multibulk length")
        );
        let mut p = RequestParser::new(limits);
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\n"[..]);
        assert_eq!(p.next_command(&mut buf), proto_err("invalid bulk length"));
        let mut p = RequestParser::new(limits);
        let mut buf = BytesMut::from(&b"PING PING"[..]);
        assert_eq!(
            p.next_command(&mut buf),
            proto_err("too big inline request")
        );
        assert_eq!(p.limits().max_inline_len, 8);
    }

    #[test]
    fn nul_hides_line_end_like_strchr() {
        let mut p = parser();
        let mut buf = BytesMut::from(&b"ECHO a\x00b\r\nPING\r\n"[..]);
        assert_eq!(p.next_command(&mut buf), Ok(None));
        buf.extend_from_slice(&vec![b'\n'; 64 * 1024]);
        assert_eq!(
            p.next_command(&mut buf),
            proto_err("too big inline request")
        );
        let mut p = parser();
        let mut buf = BytesMut::from(&b"*1\r\n$3\x00\r\nabc\r\n"[..]);
        assert_eq!(p.next_command(&mut buf), Ok(None));
        let mut p = parser();
        let mut buf = BytesMut::from(&b"*\x00\r\n"[..]);
        assert_eq!(p.next_command(&mut buf), Ok(None));
        // NULs inside bulk data are fine.
        let mut p = parser();
        let mut buf = BytesMut::from(&b"*1\r\n$3\r\n\x00\x00\x00\r\n"[..]);
        let a = p.next_command(&mut buf).unwrap().unwrap();
        assert_eq!(strs(&a), vec![&b"\x00\x00\x00"[..]]);
    }

    #[test]
    fn non_ascii_type_byte_keeps_raw_byte_in_reply() {
        let mut p = parser();
        let mut buf = BytesMut::from(&b"*1\r\n\xff\r\n"[..]);
        let e = p.next_command(&mut buf).unwrap_err();
        assert_eq!(
            &e.to_frame().to_bytes(crate::Protocol::Resp2)[..],
            b"-ERR Protocol error: expected '$', got '\xff'\r\n"
        );
    }

    #[test]
    fn shrunk_buffer_restarts_instead_of_panicking() {
        let mut p = parser();
        let mut buf = BytesMut::from(&b"*2\r\n$100\r\nabc"[..]);
        assert_eq!(p.next_command(&mut buf), Ok(None));
        buf.clear();
        buf.extend_from_slice(b"PING\r\n");
        assert_eq!(
            strs(&p.next_command(&mut buf).unwrap().unwrap()),
            vec![&b"PING"[..]]
        );
    }

    #[test]
    fn reset_forgets_partial_command() {
        let mut p = parser();
        let mut buf = BytesMut::from(&b"*2\r\n$1\r\na\r\n"[..]);
        assert_eq!(p.next_command(&mut buf), Ok(None));
        p.reset();
        let mut buf = BytesMut::from(&b"PING\r\n"[..]);
        assert_eq!(
            strs(&p.next_command(&mut buf).unwrap().unwrap()),
            vec![&b"PING"[..]]
        );
    }
}
