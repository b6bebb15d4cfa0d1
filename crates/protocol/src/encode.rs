//! The reply encoder: [`encode`] writes a [`Frame`] for RESP2 or RESP3 and is
//! the one place where RESP3-only types are downgraded for RESP2 clients
//! (mirroring Redis's `addReplyNull`, `addReplyMapLen`, `addReplyBool`,
//! `addReplyDouble`, `addReplyVerbatim`, `addReplyBigNum`).
//! [`encode_command`] writes a request. Nothing here does I/O.

use bytes::{BufMut, BytesMut};

use crate::frame::Frame;
use crate::number::{write_double, DOUBLE_BUF};
use crate::Protocol;

const CRLF: &[u8] = b"\r\n";

/// Appends the wire encoding of `frame` for `proto` to `out`.
///
/// RESP2 downgrades (nested frames too): `Null` → `$-1`, `NullArray` → `*-1`,
/// `Map` → flat array of `2n`, `Set`/`Push` → array, `Double` → bulk string of
/// its `%.17g` text, `Boolean` → `:1`/`:0`, `BigNumber` → bulk string,
/// `Verbatim` → bulk string of the text only.
///
/// Line-type payloads (`Simple`, `Error`, `BigNumber`) cannot carry CR or LF on
/// the wire; any such byte is written as a space, as Redis does for errors.
pub fn encode(frame: &Frame, proto: Protocol, out: &mut BytesMut) {
    let resp3 = proto == Protocol::Resp3;
    match frame {
        Frame::Simple(s) => put_line(out, b'+', s),
        Frame::Error(s) => put_line(out, b'-', s),
        Frame::Integer(n) => put_integer(out, *n),
        Frame::Bulk(b) => put_bulk(out, b),
        Frame::Raw(r) => out.extend_from_slice(r),
        Frame::Null => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
        Frame::NullArray => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"*-1\r\n" }),
        Frame::Array(items) => {
            put_len(out, b'*', items.len());
            for f in items {
                encode(f, proto, out);
            }
        }
        Frame::Map(pairs) => {
            if resp3 {
                put_len(out, b'%', pairs.len());
            } else {
                put_len(out, b'*', pairs.len().saturating_mul(2));
            }
            for (k, v) in pairs {
                encode(k, proto, out);
                encode(v, proto, out);
            }
        }
        Frame::Set(items) => {
            put_len(out, if resp3 { b'~' } else { b'*' }, items.len());
            for f in items {
                encode(f, proto, out);
            }
        }
        Frame::Push(items) => {
            put_len(out, if resp3 { b'>' } else { b'*' }, items.len());
            for f in items {
                encode(f, proto, out);
            }
        }
        Frame::Double(d) => {
            let mut buf = [0u8; DOUBLE_BUF];
            let n = write_double(*d, &mut buf);
            if resp3 {
                out.reserve(n + 3);
                out.put_u8(b',');
                out.extend_from_slice(&buf[..n]);
                out.extend_from_slice(CRLF);
            } else {
                put_bulk(out, &buf[..n]);
            }
        }
        Frame::Boolean(b) => out.extend_from_slice(match (resp3, b) {
            (true, true) => b"#t\r\n",
            (true, false) => b"#f\r\n",
            (false, true) => b":1\r\n",
            (false, false) => b":0\r\n",
        }),
        Frame::BigNumber(n) => {
            if resp3 {
                put_line(out, b'(', n);
            } else {
                put_bulk(out, n);
            }
        }
        Frame::Verbatim { format, text } => {
            if resp3 {
                put_len(out, b'=', text.len() + 4);
                out.reserve(text.len() + 6);
                out.extend_from_slice(format);
                out.put_u8(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(CRLF);
            } else {
                put_bulk(out, text);
            }
        }
    }
}

/// Appends `*N\r\n$len\r\narg\r\n...` for a command with arguments `args`.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut BytesMut) {
    let payload: usize = args.iter().map(|a| a.as_ref().len() + 16).sum();
    out.reserve(payload + 16);
    put_len(out, b'*', args.len());
    for a in args {
        put_bulk(out, a.as_ref());
    }
}

/// Appends an array header `*N\r\n` (the same in RESP2 and RESP3): with [`encode_bulk`], the
/// pieces of a reply built straight into bytes for [`Frame::Raw`].
pub fn encode_array_len(out: &mut BytesMut, n: usize) {
    put_len(out, b'*', n);
}

/// Appends a bulk string `$len\r\n<b>\r\n` (the same in RESP2 and RESP3).
pub fn encode_bulk(out: &mut BytesMut, b: &[u8]) {
    put_bulk(out, b);
}

/// `<prefix><n>\r\n`
#[inline]
fn put_len(out: &mut BytesMut, prefix: u8, n: usize) {
    let mut buf = itoa::Buffer::new();
    let s = buf.format(n).as_bytes();
    out.reserve(s.len() + 3);
    out.put_u8(prefix);
    out.extend_from_slice(s);
    out.extend_from_slice(CRLF);
}

#[inline]
fn put_integer(out: &mut BytesMut, n: i64) {
    let mut buf = itoa::Buffer::new();
    let s = buf.format(n).as_bytes();
    out.reserve(s.len() + 3);
    out.put_u8(b':');
    out.extend_from_slice(s);
    out.extend_from_slice(CRLF);
}

#[inline]
fn put_bulk(out: &mut BytesMut, b: &[u8]) {
    let mut buf = itoa::Buffer::new();
    let s = buf.format(b.len()).as_bytes();
    out.reserve(s.len() + b.len() + 5);
    out.put_u8(b'$');
    out.extend_from_slice(s);
    out.extend_from_slice(CRLF);
    out.extend_from_slice(b);
    out.extend_from_slice(CRLF);
}

/// `<prefix><s>\r\n`, with any CR/LF inside `s` written as a space so the
/// line cannot end early or inject a second reply.
#[inline]
fn put_line(out: &mut BytesMut, prefix: u8, s: &[u8]) {
    out.reserve(s.len() + 3);
    out.put_u8(prefix);
    if memchr::memchr2(b'\r', b'\n', s).is_none() {
        out.extend_from_slice(s);
    } else {
        for &c in s {
            out.put_u8(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
    }
    out.extend_from_slice(CRLF);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn enc(f: &Frame, p: Protocol) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(f, p, &mut out);
        out.to_vec()
    }

    /// Checks the RESP3 and RESP2 encodings of `f`.
    fn check(f: Frame, resp3: &[u8], resp2: &[u8]) {
        assert_eq!(
            enc(&f, Protocol::Resp3),
            resp3,
            "RESP3 {f:?}: {:?}",
            String::from_utf8_lossy(&enc(&f, Protocol::Resp3))
        );
        assert_eq!(
            enc(&f, Protocol::Resp2),
            resp2,
            "RESP2 {f:?}: {:?}",
            String::from_utf8_lossy(&enc(&f, Protocol::Resp2))
        );
    }

    #[test]
    fn scalar_types() {
        check(Frame::ok(), b"+OK\r\n", b"+OK\r\n");
        check(Frame::simple(""), b"+\r\n", b"+\r\n");
        check(Frame::error("ERR x y"), b"-ERR x y\r\n", b"-ERR x y\r\n");
        check(Frame::Integer(0), b":0\r\n", b":0\r\n");
        check(Frame::Integer(-42), b":-42\r\n", b":-42\r\n");
        check(
            Frame::Integer(i64::MIN),
            b":-9223372036854775808\r\n",
            b":-9223372036854775808\r\n",
        );
        check(Frame::bulk(""), b"$0\r\n\r\n", b"$0\r\n\r\n");
        check(
            Frame::bulk("a\r\nb"),
            b"$4\r\na\r\nb\r\n",
            b"$4\r\na\r\nb\r\n",
        );
    }

    #[test]
    fn nulls_downgrade() {
        check(Frame::Null, b"_\r\n", b"$-1\r\n");
        check(Frame::NullArray, b"_\r\n", b"*-1\r\n");
    }

    #[test]
    fn resp3_scalars_downgrade() {
        check(Frame::Double(1.5), b",1.5\r\n", b"$3\r\n1.5\r\n");
        check(
            Frame::Double(0.1),
            b",0.10000000000000001\r\n",
            b"$19\r\n0.10000000000000001\r\n",
        );
        check(Frame::Double(f64::INFINITY), b",inf\r\n", b"$3\r\ninf\r\n");
        check(
            Frame::Double(f64::NEG_INFINITY),
            b",-inf\r\n",
            b"$4\r\n-inf\r\n",
        );
        check(Frame::Double(f64::NAN), b",nan\r\n", b"$3\r\nnan\r\n");
        check(Frame::Boolean(true), b"#t\r\n", b":1\r\n");
        check(Frame::Boolean(false), b"#f\r\n", b":0\r\n");
        check(
            Frame::BigNumber(Bytes::from_static(b"-123456789012345678901234567890")),
            b"(-123456789012345678901234567890\r\n",
            b"$31\r\n-123456789012345678901234567890\r\n",
        );
        check(
            Frame::verbatim_txt("Some string"),
            b"=15\r\ntxt:Some string\r\n",
            b"$11\r\nSome string\r\n",
        );
        check(
            Frame::Verbatim {
                format: *b"mkd",
                text: Bytes::new(),
            },
            b"=4\r\nmkd:\r\n",
            b"$0\r\n\r\n",
        );
    }

    #[test]
    fn aggregates_downgrade() {
        check(Frame::Array(vec![]), b"*0\r\n", b"*0\r\n");
        check(
            Frame::Array(vec![Frame::bulk("a"), Frame::Integer(1)]),
            b"*2\r\n$1\r\na\r\n:1\r\n",
            b"*2\r\n$1\r\na\r\n:1\r\n",
        );
        check(
            Frame::Map(vec![(Frame::bulk("k"), Frame::Boolean(true))]),
            b"%1\r\n$1\r\nk\r\n#t\r\n",
            b"*2\r\n$1\r\nk\r\n:1\r\n",
        );
        check(Frame::Map(vec![]), b"%0\r\n", b"*0\r\n");
        check(
            Frame::Set(vec![Frame::Null, Frame::Double(2.0)]),
            b"~2\r\n_\r\n,2\r\n",
            b"*2\r\n$-1\r\n$1\r\n2\r\n",
        );
        check(
            Frame::Push(vec![Frame::bulk("message"), Frame::NullArray]),
            b">2\r\n$7\r\nmessage\r\n_\r\n",
            b"*2\r\n$7\r\nmessage\r\n*-1\r\n",
        );
        // Nested downgrade.
        check(
            Frame::Array(vec![Frame::Map(vec![(
                Frame::simple("x"),
                Frame::Set(vec![Frame::Boolean(false)]),
            )])]),
            b"*1\r\n%1\r\n+x\r\n~1\r\n#f\r\n",
            b"*1\r\n*2\r\n+x\r\n*1\r\n:0\r\n",
        );
    }

    #[test]
    fn line_payloads_cannot_inject_crlf() {
        check(
            Frame::error("ERR a\r\nb"),
            b"-ERR a  b\r\n",
            b"-ERR a  b\r\n",
        );
        check(Frame::simple("x\ny"), b"+x y\r\n", b"+x y\r\n");
        check(
            Frame::BigNumber(Bytes::from_static(b"1\r2")),
            b"(1 2\r\n",
            b"$3\r\n1\r2\r\n",
        );
    }

    #[test]
    fn encode_command_writes_multibulk() {
        let mut out = BytesMut::new();
        encode_command(&["SET", "k", ""], &mut out);
        assert_eq!(&out[..], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        let mut out = BytesMut::new();
        encode_command::<&[u8]>(&[], &mut out);
        assert_eq!(&out[..], b"*0\r\n");
        let mut out = BytesMut::from(&b"prefix"[..]);
        encode_command(&[vec![0u8, 255]], &mut out);
        assert_eq!(&out[..], b"prefix*1\r\n$2\r\n\x00\xff\r\n");
    }
}
