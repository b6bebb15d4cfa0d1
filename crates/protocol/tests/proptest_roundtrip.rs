//! Property tests: every frame survives encode → parse in RESP3, reads back as
//! its documented downgrade in RESP2, and commands survive encode_command →
//! RequestParser whole and in arbitrary chunks. Also inline quoting → split_inline.

use confab_protocol::{
    encode, encode_command, format_double, parse_frame, split_inline, Bytes, BytesMut, Frame,
    Limits, ParseError, Protocol, RequestParser,
};
use proptest::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

/// Text for line-type frames: any byte but CR and LF.
fn line(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |c| *c != b'\r' && *c != b'\n'),
        0..max,
    )
    .prop_map(Bytes::from)
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::NAN),
        Just(0.0),
        Just(-0.0),
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64 / 64.0),
    ]
}

fn big_number() -> impl Strategy<Value = Bytes> {
    (any::<bool>(), "[0-9]{1,60}").prop_map(|(neg, digits)| {
        let s = if neg { format!("-{digits}") } else { digits };
        Bytes::from(s)
    })
}

fn leaf() -> impl Strategy<Value = Frame> {
    prop_oneof![
        line(24).prop_map(Frame::Simple),
        line(24).prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        bytes(48).prop_map(Frame::Bulk),
        Just(Frame::Null),
        Just(Frame::NullArray),
        double().prop_map(Frame::Double),
        any::<bool>().prop_map(Frame::Boolean),
        big_number().prop_map(Frame::BigNumber),
        (any::<[u8; 3]>(), bytes(32)).prop_map(|(format, text)| Frame::Verbatim { format, text }),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            prop::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Frame::Map),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            prop::collection::vec(inner, 0..6).prop_map(Frame::Push),
        ]
    })
}

/// Structural equality where NaN equals NaN and doubles compare bitwise
/// otherwise (so `-0.0` and `0.0` differ).
fn same(a: &Frame, b: &Frame) -> bool {
    use Frame::*;
    match (a, b) {
        (Double(x), Double(y)) => (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits(),
        (Array(x), Array(y)) | (Set(x), Set(y)) | (Push(x), Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Map(x), Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
        }
        _ => a == b,
    }
}

/// What a RESP3 encoding reads back as: only `NullArray` changes (to `Null`).
fn resp3_readback(f: &Frame) -> Frame {
    match f {
        Frame::NullArray => Frame::Null,
        Frame::Array(v) => Frame::Array(v.iter().map(resp3_readback).collect()),
        Frame::Set(v) => Frame::Set(v.iter().map(resp3_readback).collect()),
        Frame::Push(v) => Frame::Push(v.iter().map(resp3_readback).collect()),
        Frame::Map(v) => Frame::Map(
            v.iter()
                .map(|(k, x)| (resp3_readback(k), resp3_readback(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The documented RESP2 downgrade.
fn resp2_downgrade(f: &Frame) -> Frame {
    match f {
        Frame::Map(v) => Frame::Array(
            v.iter()
                .flat_map(|(k, x)| [resp2_downgrade(k), resp2_downgrade(x)])
                .collect(),
        ),
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
            Frame::Array(v.iter().map(resp2_downgrade).collect())
        }
        Frame::Double(d) => Frame::Bulk(format_double(*d).into()),
        Frame::Boolean(b) => Frame::Integer(i64::from(*b)),
        Frame::BigNumber(n) => Frame::Bulk(n.clone()),
        Frame::Verbatim { text, .. } => Frame::Bulk(text.clone()),
        other => other.clone(),
    }
}

fn encoded(f: &Frame, p: Protocol) -> BytesMut {
    let mut out = BytesMut::new();
    encode(f, p, &mut out);
    out
}

/// Feeds `chunks` to a RequestParser, collecting every command.
fn feed_chunks(chunks: &[&[u8]]) -> Result<Vec<Vec<Bytes>>, ParseError> {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut cmds = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(args) = parser.next_command(&mut buf)? {
            cmds.push(args);
        }
    }
    assert!(buf.is_empty(), "leftover bytes: {:?}", &buf[..]);
    Ok(cmds)
}

/// Cuts `wire` at the given (unsorted, possibly out-of-range) points.
fn split_at_points<'a>(wire: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (wire.len() + 1)).collect();
    cuts.push(0);
    cuts.push(wire.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2).map(|w| &wire[w[0]..w[1]]).collect()
}

/// Quotes `arg` for an inline line the way redis-cli's `sdscatrepr` does.
fn quote(arg: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in arg {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x07 => s.push_str("\\a"),
            0x08 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(char::from(c)),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn resp3_round_trip(f in frame()) {
        let wire = encoded(&f, Protocol::Resp3);
        let (back, n) = parse_frame(&wire, &Limits::default()).expect("parse");
        prop_assert_eq!(n, wire.len());
        let want = resp3_readback(&f);
        prop_assert!(same(&back, &want), "{:?} != {:?}", back, want);
    }

    #[test]
    fn resp2_round_trip_is_the_downgrade(f in frame()) {
        let wire = encoded(&f, Protocol::Resp2);
        let (back, n) = parse_frame(&wire, &Limits::default()).expect("parse");
        prop_assert_eq!(n, wire.len());
        let want = resp2_downgrade(&f);
        prop_assert!(same(&back, &want), "{:?} != {:?}", back, want);
        // A RESP2 encoding never uses a RESP3-only type byte at a frame start.
        let again = encoded(&back, Protocol::Resp2);
        prop_assert_eq!(&again[..], &wire[..]);
    }

    #[test]
    fn prefixes_are_incomplete_and_suffix_is_not_consumed(f in frame(), cut in any::<usize>(), p3 in any::<bool>()) {
        let proto = if p3 { Protocol::Resp3 } else { Protocol::Resp2 };
        let wire = encoded(&f, proto);
        let cut = cut % wire.len();
        prop_assert_eq!(parse_frame(&wire[..cut], &Limits::default()), Err(ParseError::Incomplete));
        let mut two = wire.clone();
        two.extend_from_slice(b"+NEXT\r\n");
        let (_, n) = parse_frame(&two, &Limits::default()).expect("parse");
        prop_assert_eq!(n, wire.len());
    }

    #[test]
    fn commands_round_trip_whole_and_chunked(
        cmds in prop::collection::vec(prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..8), 1..5),
        points in prop::collection::vec(any::<usize>(), 0..24),
    ) {
        let mut wire = BytesMut::new();
        for c in &cmds {
            encode_command(c, &mut wire);
        }
        let want: Vec<Vec<Bytes>> = cmds
            .iter()
            .map(|c| c.iter().map(|a| Bytes::copy_from_slice(a)).collect())
            .collect();
        prop_assert_eq!(&feed_chunks(&[&wire[..]]).expect("whole"), &want);
        prop_assert_eq!(&feed_chunks(&split_at_points(&wire, &points)).expect("chunked"), &want);
        let bytewise: Vec<&[u8]> = wire.chunks(1).collect();
        prop_assert_eq!(&feed_chunks(&bytewise).expect("bytewise"), &want);
    }

    #[test]
    fn big_args_round_trip_in_chunks(len in 0usize..200_000, points in prop::collection::vec(any::<usize>(), 0..8)) {
        let arg: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut wire = BytesMut::new();
        encode_command(&[&b"SET"[..], b"k", &arg], &mut wire);
        let cmds = feed_chunks(&split_at_points(&wire, &points)).expect("chunked");
        prop_assert_eq!(cmds.len(), 1);
        prop_assert_eq!(&cmds[0][2][..], &arg[..]);
    }

    #[test]
    fn quoted_inline_args_round_trip(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 1..6)) {
        let line: Vec<String> = args.iter().map(|a| quote(a)).collect();
        let line = line.join(" ");
        let got = split_inline(line.as_bytes()).expect("balanced");
        let got: Vec<Vec<u8>> = got.iter().map(|b| b.to_vec()).collect();
        prop_assert_eq!(&got, &args);
        // The same line through the request parser, CRLF and LF terminated.
        for end in ["\r\n", "\n"] {
            let wire = format!("{line}{end}");
            let cmds = feed_chunks(&[wire.as_bytes()]).expect("inline");
            let cmd: Vec<Vec<u8>> = cmds[0].iter().map(|b| b.to_vec()).collect();
            prop_assert_eq!(&cmd, &args);
        }
    }

    #[test]
    fn plain_inline_words_round_trip(words in prop::collection::vec("[!#-&(-~]{1,12}", 1..6), sep in "[ \t]{1,3}") {
        let line = words.join(&sep);
        let got = split_inline(line.as_bytes()).expect("balanced");
        let got: Vec<String> = got.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
        prop_assert_eq!(got, words);
    }
}
