//! Hostile input, fed whole and one byte at a time, to both parsers: every case
//! asserts the exact outcome (commands produced, then "waiting" or the precise
//! protocol error), and random garbage must never panic and must not depend on
//! how it was chunked.

use confab_protocol::{parse_frame, Bytes, BytesMut, Frame, Limits, ParseError, RequestParser};
use proptest::prelude::*;

/// What a parser made of an input: the commands it produced, then `Ok(())` if
/// it is waiting for more bytes or the error that stopped it.
#[derive(Debug, PartialEq)]
struct Outcome {
    commands: Vec<Vec<Bytes>>,
    end: Result<(), ParseError>,
    /// Bytes still buffered when it stopped.
    left: usize,
}

fn run_chunks(chunks: &[&[u8]], limits: Limits) -> Outcome {
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::new();
    let mut commands = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.next_command(&mut buf) {
                Ok(Some(args)) => {
                    assert!(!args.is_empty(), "empty command returned");
                    commands.push(args);
                }
                Ok(None) => break,
                Err(e) => {
                    return Outcome {
                        commands,
                        end: Err(e),
                        left: buf.len(),
                    }
                }
            }
        }
    }
    Outcome {
        commands,
        end: Ok(()),
        left: buf.len(),
    }
}

/// Runs `input` whole and byte by byte; both must agree (apart from where an
/// error stops the byte-by-byte feed, so `left` is compared only when waiting).
fn request_outcome(input: &[u8]) -> Outcome {
    request_outcome_with(input, Limits::default())
}

fn request_outcome_with(input: &[u8], limits: Limits) -> Outcome {
    let whole = run_chunks(&[input], limits);
    let bytewise: Vec<&[u8]> = input.chunks(1).collect();
    let bytewise = run_chunks(&bytewise, limits);
    assert_eq!(
        whole.commands, bytewise.commands,
        "commands differ for {input:?}"
    );
    assert_eq!(whole.end, bytewise.end, "outcome differs for {input:?}");
    if whole.end.is_ok() {
        assert_eq!(whole.left, bytewise.left);
    }
    whole
}

fn cmd(args: &[&[u8]]) -> Vec<Bytes> {
    args.iter().map(|a| Bytes::copy_from_slice(a)).collect()
}

fn waiting(commands: Vec<Vec<Bytes>>, left: usize) -> Outcome {
    Outcome {
        commands,
        end: Ok(()),
        left,
    }
}

fn assert_error(input: &[u8], msg: &str) {
    let out = request_outcome(input);
    assert_eq!(
        out.end,
        Err(ParseError::protocol(msg)),
        "for {:?}",
        String::from_utf8_lossy(input)
    );
}

/// Parses `input` whole, and as growing prefixes one byte at a time: every
/// prefix before the decisive byte is Incomplete, then the result equals the
/// whole-input result.
fn frame_outcome(input: &[u8]) -> Result<(Frame, usize), ParseError> {
    let limits = Limits::default();
    let whole = parse_frame(input, &limits);
    let mut decided = None;
    for cut in 0..=input.len() {
        let r = parse_frame(&input[..cut], &limits);
        match (&decided, r) {
            (None, Err(ParseError::Incomplete)) => {}
            (None, r) => decided = Some(r),
            (Some(first), r) => assert_eq!(&r, first, "prefix {cut} of {input:?} changed its mind"),
        }
    }
    assert_eq!(
        decided.unwrap_or(Err(ParseError::Incomplete)),
        whole,
        "for {input:?}"
    );
    whole
}

fn assert_frame_error(input: &[u8], msg: &str) {
    assert_eq!(
        frame_outcome(input),
        Err(ParseError::protocol(msg)),
        "for {:?}",
        String::from_utf8_lossy(input)
    );
}

// ---- RequestParser -------------------------------------------------------

#[test]
fn negative_bulk_lengths() {
    assert_error(b"*1\r\n$-1\r\n", "invalid bulk length");
    assert_error(b"*1\r\n$-5\r\nabc\r\n", "invalid bulk length");
    assert_error(
        b"*2\r\n$1\r\na\r\n$-9223372036854775808\r\n",
        "invalid bulk length",
    );
}

#[test]
fn huge_bulk_lengths() {
    assert_error(b"*1\r\n$536870913\r\n", "invalid bulk length");
    assert_error(b"*1\r\n$9223372036854775807\r\n", "invalid bulk length");
    assert_error(b"*1\r\n$99999999999999999999\r\n", "invalid bulk length");
    assert_error(b"*1\r\n$18446744073709551616\r\n", "invalid bulk length");
    // Exactly at the limit is accepted and waits for the data.
    let out = request_outcome(b"*1\r\n$536870912\r\n");
    assert_eq!(out, waiting(vec![], 16));
}

#[test]
fn negative_and_huge_multibulk_lengths() {
    // Non-positive counts are empty commands, skipped silently.
    assert_eq!(
        request_outcome(b"*-1\r\n*0\r\n*-2147483648\r\n"),
        waiting(vec![], 0)
    );
    assert_error(b"*2147483648\r\n", "invalid multibulk length");
    assert_error(b"*9223372036854775808\r\n", "invalid multibulk length");
    assert_error(b"*-9223372036854775809\r\n", "invalid multibulk length");
    // i32::MAX is allowed and then waits for arguments.
    assert_eq!(request_outcome(b"*2147483647\r\n"), waiting(vec![], 13));
    let small = Limits {
        max_multibulk_len: 3,
        ..Limits::default()
    };
    assert_eq!(
        request_outcome_with(b"*4\r\n", small).end,
        Err(ParseError::protocol("invalid multibulk length"))
    );
}

#[test]
fn wrong_type_byte_inside_array() {
    assert_error(b"*2\r\n$3\r\nGET\r\n:1\r\n", "expected '$', got ':'");
    assert_error(b"*1\r\n*1\r\n", "expected '$', got '*'");
    assert_error(b"*1\r\n+OK\r\n", "expected '$', got '+'");
    assert_error(b"*1\r\nGET\r\n", "expected '$', got 'G'");
    // The check waits until the whole line (and one byte past '\r') is there.
    assert_eq!(request_outcome(b"*1\r\n:1\r"), waiting(vec![], 7));
}

#[test]
fn eof_mid_frame_stays_incomplete() {
    let wire = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    for cut in 0..wire.len() {
        assert_eq!(
            request_outcome(&wire[..cut]),
            waiting(vec![], cut),
            "cut at {cut}"
        );
    }
    assert_eq!(
        request_outcome(wire),
        waiting(vec![cmd(&[b"SET", b"key", b"value"])], 0)
    );
    // Inline without its newline.
    assert_eq!(request_outcome(b"SET k v"), waiting(vec![], 7));
}

#[test]
fn inline_line_past_the_limit() {
    let mut line = vec![b'x'; 64 * 1024];
    assert_eq!(request_outcome(&line), waiting(vec![], 64 * 1024));
    line.push(b'x');
    assert_error(&line, "too big inline request");
    let small = Limits {
        max_inline_len: 4,
        ..Limits::default()
    };
    // The limit holds for the whole line however it arrives (Redis applies it only while
    // no '\n' is buffered, which makes its outcome depend on read sizes).
    assert_eq!(
        run_chunks(&[b"PING\r\n"], small).end,
        Err(ParseError::protocol("too big inline request"))
    );
    let ok = Limits {
        max_inline_len: 5,
        ..Limits::default()
    };
    assert_eq!(
        run_chunks(&[b"PING\r\n"], ok),
        waiting(vec![cmd(&[b"PING"])], 0)
    );
    let bytewise: Vec<&[u8]> = b"PING\r\n".chunks(1).collect();
    assert_eq!(
        run_chunks(&bytewise, small).end,
        Err(ParseError::protocol("too big inline request"))
    );
    assert_eq!(
        request_outcome_with(b"PINGX", small).end,
        Err(ParseError::protocol("too big inline request"))
    );
}

#[test]
fn length_lines_past_the_limit() {
    let mut count = b"*".to_vec();
    count.extend(std::iter::repeat_n(b'1', 64 * 1024));
    assert_error(&count, "too big mbulk count string");
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', 64 * 1024));
    assert_error(&bulk, "too big bulk count string");
    // A long length line that does end is just an invalid number.
    let mut count = b"*".to_vec();
    count.extend(std::iter::repeat_n(b'1', 100));
    count.extend_from_slice(b"\r\n");
    assert_error(&count, "invalid multibulk length");
}

#[test]
fn unbalanced_quotes() {
    assert_error(b"SET k \"v\r\n", "unbalanced quotes in request");
    assert_error(b"SET k 'v\r\n", "unbalanced quotes in request");
    assert_error(b"SET k \"v\"x\r\n", "unbalanced quotes in request");
    assert_error(b"PING\r\nSET 'a'b\n", "unbalanced quotes in request");
    let out = request_outcome(b"PING\r\nSET 'a'b\n");
    assert_eq!(out.commands, vec![cmd(&[b"PING"])]);
}

#[test]
fn non_numeric_lengths() {
    for bad in [
        &b"*x\r\n"[..],
        b"*\r\n",
        b"* 1\r\n",
        b"*+1\r\n",
        b"*01\r\n",
        b"*-0\r\n",
        b"*1x\r\n",
        b"*1.0\r\n",
    ] {
        assert_error(bad, "invalid multibulk length");
    }
    for bad in [
        &b"$x"[..],
        b"$",
        b"$ 1",
        b"$+1",
        b"$01",
        b"$-0",
        b"$1x",
        b"$0x1",
    ] {
        let mut input = b"*1\r\n".to_vec();
        input.extend_from_slice(bad);
        input.extend_from_slice(b"\r\n");
        assert_error(&input, "invalid bulk length");
    }
}

#[test]
fn cr_without_lf() {
    // A lone '\r' at the end waits for one more byte.
    assert_eq!(request_outcome(b"*1\r"), waiting(vec![], 3));
    assert_eq!(request_outcome(b"*1\r\n$4\r"), waiting(vec![], 7));
    // Redis takes the byte after '\r' as the '\n' without checking it, and skips
    // the two bytes after bulk data likewise.
    assert_eq!(
        request_outcome(b"*1\rX$4\rYPINGAB"),
        waiting(vec![cmd(&[b"PING"])], 0)
    );
    // Inline: '\r' alone separates tokens; only '\n' ends the line.
    assert_eq!(request_outcome(b"PI\rNG\r"), waiting(vec![], 6));
    assert_eq!(
        request_outcome(b"PI\rNG\r\r\n"),
        waiting(vec![cmd(&[b"PI", b"NG"])], 0)
    );
}

#[test]
fn bulk_data_trailer_misplaced() {
    // "$3\r\nfooPING\r\n": "foo" then "NG\r\n" is read as an inline command.
    assert_eq!(
        request_outcome(b"*1\r\n$3\r\nfooPING\r\n"),
        waiting(vec![cmd(&[b"foo"]), cmd(&[b"NG"])], 0)
    );
}

#[test]
fn nul_bytes_behave_like_c_strchr() {
    // NUL inside an inline line hides its newline: Redis waits, then hits the limit.
    assert_eq!(request_outcome(b"ECHO a\x00b\r\n"), waiting(vec![], 10));
    let mut input = b"ECHO a\x00b\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'\n', 64 * 1024));
    assert_error(&input, "too big inline request");
    // NUL inside bulk data is just data.
    assert_eq!(
        request_outcome(b"*1\r\n$1\r\n\x00\r\n"),
        waiting(vec![cmd(&[b"\x00"])], 0)
    );
}

#[test]
fn zero_length_and_empty_inline() {
    assert_eq!(
        request_outcome(b"\r\n\n   \r\n*1\r\n$0\r\n\r\n"),
        waiting(vec![cmd(&[b""])], 0)
    );
}

// ---- parse_frame ---------------------------------------------------------

#[test]
fn frame_negative_and_huge_lengths() {
    assert_frame_error(b"$-2\r\n", "invalid bulk length");
    assert_frame_error(b"$536870913\r\n", "invalid bulk length");
    assert_frame_error(b"$99999999999999999999\r\n", "invalid bulk length");
    assert_frame_error(b"*-2\r\n", "invalid multibulk length");
    assert_frame_error(b"*2147483648\r\n", "invalid multibulk length");
    assert_frame_error(b"%1073741824\r\n", "invalid multibulk length");
    assert_frame_error(b"~-1\r\n", "invalid multibulk length");
    assert_frame_error(b">-1\r\n", "invalid multibulk length");
    assert_frame_error(b"!-1\r\n", "invalid bulk length");
    assert_frame_error(b"=-1\r\n", "invalid bulk length");
    assert_eq!(frame_outcome(b"$-1\r\n"), Ok((Frame::Null, 5)));
    assert_eq!(frame_outcome(b"*-1\r\n"), Ok((Frame::NullArray, 5)));
    // A huge but legal count waits for its elements without reserving for them.
    assert_eq!(
        frame_outcome(b"*2147483647\r\n"),
        Err(ParseError::Incomplete)
    );
}

#[test]
fn frame_wrong_type_bytes() {
    assert_frame_error(b"?x\r\n", "unexpected type byte '?'");
    assert_frame_error(b"*1\r\n@\r\n", "unexpected type byte '@'");
    assert_frame_error(b"\r\n", "unexpected type byte '\\r'");
    assert_frame_error(b"\xff", "unexpected type byte '\\xff'");
}

#[test]
fn frame_eof_mid_frame() {
    let wire = b"*3\r\n%1\r\n+k\r\n,1.5\r\n$3\r\na\r\n\r\n=8\r\ntxt:abcd\r\n";
    for cut in 0..wire.len() {
        assert_eq!(
            parse_frame(&wire[..cut], &Limits::default()),
            Err(ParseError::Incomplete),
            "cut {cut}"
        );
    }
    assert!(frame_outcome(wire).is_ok());
}

#[test]
fn frame_non_numeric() {
    assert_frame_error(b":12a\r\n", "invalid integer");
    assert_frame_error(b":\r\n", "invalid integer");
    assert_frame_error(b":9223372036854775808\r\n", "invalid integer");
    assert_frame_error(b"$1a\r\n", "invalid bulk length");
    assert_frame_error(b"*one\r\n", "invalid multibulk length");
    assert_frame_error(b",1.5.5\r\n", "invalid double");
    assert_frame_error(b"(1-2\r\n", "invalid big number");
    assert_frame_error(b"#yes\r\n", "invalid boolean");
    // Number lines are short; a long one fails before its end arrives.
    assert_frame_error(&[b':'; 40], "invalid integer");
}

#[test]
fn frame_cr_without_lf() {
    assert_eq!(frame_outcome(b"+OK\r"), Err(ParseError::Incomplete));
    assert_frame_error(b"+OK\rX\n", "expected '\\n' after '\\r'");
    assert_frame_error(b"$2\r\nab\rX", "expected CRLF after bulk data");
    assert_frame_error(b"$2\r\nabX", "expected CRLF after bulk data");
}

#[test]
fn frame_deep_nesting_is_refused() {
    let input = b"*1\r\n".repeat(100_000);
    assert_eq!(
        parse_frame(&input, &Limits::default()),
        Err(ParseError::protocol("nesting too deep"))
    );
    let input = b"|1\r\n".repeat(100_000);
    assert_eq!(
        parse_frame(&input, &Limits::default()),
        Err(ParseError::protocol("nesting too deep"))
    );
}

// ---- random garbage ------------------------------------------------------

/// Garbage biased towards protocol fragments so it reaches deep parser states.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..8),
        prop::sample::select(vec![
            &b"*"[..],
            b"$",
            b"\r\n",
            b"\r",
            b"\n",
            b"*1\r\n",
            b"*2\r\n",
            b"$3\r\n",
            b"$0\r\n",
            b"$-1\r\n",
            b"*-1\r\n",
            // Length text at the edges of the request parser's fast path (whole small
            // commands), which must decide exactly as the general path does.
            b"*01\r\n",
            b"*0\r\n",
            b"$01\r\n",
            b"$-0\r\n",
            b"$1\r\nx\r\n",
            b"*1\r\n$1\r\n",
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            b"$999999999\r\n",
            b"$1000000000\r\n",
            b"*65\r\n",
            b"abc",
            b"\"",
            b"'",
            b"\\",
            b"\\x4",
            b" ",
            b"\x00",
            b"%1\r\n",
            b"~1\r\n",
            b">1\r\n",
            b"|1\r\n",
            b":1\r\n",
            b",1.5\r\n",
            b"#t\r\n",
            b"_\r\n",
            b"(12\r\n",
            b"=5\r\ntxt:a\r\n",
            b"!3\r\nERR\r\n",
            b"+OK\r\n",
            b"-ERR\r\n",
        ])
        .prop_map(|s| s.to_vec()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn request_parser_garbage_never_panics_and_ignores_chunking(input in garbage()) {
        let out = request_outcome(&input);
        for c in &out.commands {
            prop_assert!(!c.is_empty());
        }
    }

    #[test]
    fn request_parser_raw_bytes(input in prop::collection::vec(any::<u8>(), 0..256)) {
        request_outcome(&input);
    }

    #[test]
    fn parse_frame_garbage_never_panics_and_is_prefix_consistent(input in garbage()) {
        if let Ok((_, n)) = frame_outcome(&input) {
            prop_assert!(n <= input.len() && n > 0);
        }
    }

    #[test]
    fn parse_frame_raw_bytes(input in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = frame_outcome(&input);
    }
}
