//! Fuzz target `parse`: feeds arbitrary bytes to `parse_frame` and to
//! `RequestParser` (whole, one byte at a time, and in data-derived chunks) and
//! checks: no panic; chunking does not change the outcome; every parsed frame
//! re-encodes and re-parses to itself; every parsed command re-encodes with
//! `encode_command` and parses back identically.
#![no_main]

use confab_protocol::{
    encode, encode_command, parse_frame, split_inline, Bytes, BytesMut, Frame, Limits,
    ParseError, Protocol, RequestParser,
};
use libfuzzer_sys::fuzz_target;

/// Commands produced, then `None` if waiting for more or the stopping error.
type Outcome = (Vec<Vec<Bytes>>, Option<ParseError>);

fn run(chunks: &[&[u8]], limits: Limits) -> Outcome {
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::new();
    let mut cmds = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.next_command(&mut buf) {
                Ok(Some(args)) => {
                    assert!(!args.is_empty());
                    cmds.push(args);
                }
                Ok(None) => break,
                Err(e) => return (cmds, Some(e)),
            }
        }
        if let Some(want) = parser.bytes_wanted() {
            assert!(want > buf.len());
        }
    }
    (cmds, None)
}

/// NaN-aware structural equality.
fn same(a: &Frame, b: &Frame) -> bool {
    match (a, b) {
        (Frame::Double(x), Frame::Double(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Frame::Array(x), Frame::Array(y))
        | (Frame::Set(x), Frame::Set(y))
        | (Frame::Push(x), Frame::Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Frame::Map(x), Frame::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
        }
        _ => a == b,
    }
}

fn check_frame(data: &[u8]) {
    let limits = Limits::default();
    let Ok((frame, n)) = parse_frame(data, &limits) else {
        return;
    };
    assert!(n > 0 && n <= data.len());
    assert_eq!(parse_frame(&data[..n - 1], &limits), Err(ParseError::Incomplete));
    for proto in [Protocol::Resp3, Protocol::Resp2] {
        let mut wire = BytesMut::new();
        encode(&frame, proto, &mut wire);
        let (again, m) = parse_frame(&wire, &limits).expect("re-encoded frame parses");
        assert_eq!(m, wire.len());
        // Re-encoding what was re-parsed is a fixed point.
        let mut wire2 = BytesMut::new();
        encode(&again, proto, &mut wire2);
        assert_eq!(wire, wire2);
        if proto == Protocol::Resp3 && !contains_null_array(&frame) && !has_crlf_line(&frame) {
            assert!(same(&again, &frame), "{frame:?} -> {again:?}");
        }
    }
}

/// `NullArray` reads back as `Null` from RESP3.
fn contains_null_array(f: &Frame) -> bool {
    match f {
        Frame::NullArray => true,
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => v.iter().any(contains_null_array),
        Frame::Map(v) => v
            .iter()
            .any(|(k, x)| contains_null_array(k) || contains_null_array(x)),
        _ => false,
    }
}

/// Blob errors may hold CR/LF and `+`/`-` lines may hold a bare LF; the
/// encoder writes those bytes as spaces.
fn has_crlf_line(f: &Frame) -> bool {
    match f {
        Frame::Error(b) | Frame::Simple(b) => b.iter().any(|&c| c == b'\r' || c == b'\n'),
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => v.iter().any(has_crlf_line),
        Frame::Map(v) => v.iter().any(|(k, x)| has_crlf_line(k) || has_crlf_line(x)),
        _ => false,
    }
}

fn check_requests(data: &[u8]) {
    let limits = Limits::default();
    let whole = run(&[data], limits);
    let bytewise: Vec<&[u8]> = data.chunks(1).collect();
    // Data-derived chunk sizes.
    let mut chunks = Vec::new();
    let mut rest = data;
    let mut seed = data.first().copied().unwrap_or(7) as usize;
    while !rest.is_empty() {
        seed = seed.wrapping_mul(31).wrapping_add(17);
        let take = (seed % 13 + 1).min(rest.len());
        chunks.push(&rest[..take]);
        rest = &rest[take..];
    }
    // Chunking only matters past the inline limit (Redis's rule, too).
    if data.len() <= limits.max_inline_len {
        assert_eq!(run(&bytewise, limits), whole);
        assert_eq!(run(&chunks, limits), whole);
    }
    for cmd in &whole.0 {
        let mut wire = BytesMut::new();
        encode_command(cmd, &mut wire);
        let mut parser = RequestParser::new(limits);
        let mut buf = wire.clone();
        let back = parser.next_command(&mut buf).expect("re-encoded command parses");
        assert_eq!(back.as_ref(), Some(cmd));
        assert!(buf.is_empty());
        let (frame, n) = parse_frame(&wire, &limits).expect("command is a frame");
        assert_eq!(n, wire.len());
        assert_eq!(frame, Frame::Array(cmd.iter().cloned().map(Frame::Bulk).collect()));
    }
    // Tight limits exercise every limit path; only absence of panics matters.
    let tight = Limits {
        max_bulk_len: 8,
        max_multibulk_len: 3,
        max_inline_len: 16,
    };
    let _ = run(&[data], tight);
    let _ = run(&chunks, tight);
    let _ = parse_frame(data, &tight);
}

fuzz_target!(|data: &[u8]| {
    check_frame(data);
    check_requests(data);
    for line in data.split(|&c| c == b'\n') {
        let _ = split_inline(line);
    }
});
