//! Inline-command splitting with Redis's `sdssplitargs` rules. Owns only the
//! tokenizer; finding the end of the line and the length limit belong to
//! [`crate::RequestParser`].
//!
//! Rules: tokens are separated by whitespace. Outside quotes a token ends at
//! space, tab, CR or LF (C `isspace` also skips VT and FF *between* tokens).
//! `"double quotes"` understand `\n \r \t \b \a \xHH` and `\` before any other
//! byte stands for that byte; `'single quotes'` understand only `\'`. A closing
//! quote must be followed by whitespace or the end of the line, and an unclosed
//! quote is an error. Quoted and unquoted parts may be glued (`a"b c"` is one
//! token `ab c`). As in C, a NUL byte ends the line.

use bytes::Bytes;

/// One token: either a contiguous range of the input (zero-copy possible) or
/// bytes that had to be rebuilt because of quotes or escapes.
pub(crate) enum Token {
    Span(usize, usize),
    Owned(Vec<u8>),
}

/// Splits an inline command line using Redis's rules; `None` when quotes are
/// unbalanced (or a closing quote is followed by something other than
/// whitespace). A blank line gives an empty vector.
pub fn split_inline(line: &[u8]) -> Option<Vec<Bytes>> {
    let mut out = Vec::new();
    let ok = tokenize(line, |t| {
        out.push(match t {
            Token::Span(s, e) => Bytes::copy_from_slice(&line[s..e]),
            Token::Owned(v) => Bytes::from(v),
        })
    });
    ok.then_some(out)
}

/// C `isspace` in the "C" locale.
#[inline]
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[inline]
fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A token being built: a span of the input until a byte is appended that is
/// not the next input byte, then an owned copy.
struct Builder<'a> {
    line: &'a [u8],
    start: usize,
    end: usize,
    owned: Option<Vec<u8>>,
}

impl<'a> Builder<'a> {
    fn new(line: &'a [u8]) -> Self {
        Builder {
            line,
            start: 0,
            end: 0,
            owned: None,
        }
    }

    /// Appends the input byte at index `i`.
    #[inline]
    fn push_at(&mut self, i: usize) {
        if self.owned.is_none() {
            if self.start == self.end {
                self.start = i;
                self.end = i + 1;
                return;
            }
            if self.end == i {
                self.end += 1;
                return;
            }
        }
        self.push_byte(self.line[i]);
    }

    /// Appends a byte that is not simply the next input byte.
    #[inline]
    fn push_byte(&mut self, b: u8) {
        let line = self.line;
        let (start, end) = (self.start, self.end);
        self.owned
            .get_or_insert_with(|| line[start..end].to_vec())
            .push(b);
    }

    fn finish(self) -> Token {
        match self.owned {
            Some(v) => Token::Owned(v),
            None => Token::Span(self.start, self.end),
        }
    }
}

/// The part of `line` the tokenizer reads: as in C, a NUL ends it.
pub(crate) fn up_to_nul(line: &[u8]) -> &[u8] {
    match memchr::memchr(0, line) {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Splits a line without quotes (nor NUL) into `(start, end)` spans, with the same rules as
/// [`tokenize`] (which calls it for such lines): the common inline command (`PING`,
/// `GET key`) needs none of the quote machinery.
pub(crate) fn plain_spans(line: &[u8], mut emit: impl FnMut(usize, usize)) {
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return;
        }
        let start = p;
        while p < line.len() && !matches!(line[p], b' ' | b'\n' | b'\r' | b'\t') {
            p += 1;
        }
        emit(start, p);
    }
}

/// Whether [`plain_spans`] applies to `line` (already cut at a NUL).
pub(crate) fn is_plain(line: &[u8]) -> bool {
    memchr::memchr2(b'"', b'\'', line).is_none()
}

/// Runs the tokenizer over `line`, calling `emit` for each token in order.
/// Returns false on unbalanced quotes (tokens already emitted are then moot).
pub(crate) fn tokenize(line: &[u8], mut emit: impl FnMut(Token)) -> bool {
    let line = up_to_nul(line);
    if is_plain(line) {
        plain_spans(line, |s, e| emit(Token::Span(s, e)));
        return true;
    }
    tokenize_general(line, emit)
}

/// The whole `sdssplitargs` state machine, quotes and escapes included, over a line already
/// cut at a NUL (the request parser calls it once it has found the line needs it).
pub(crate) fn tokenize_general(line: &[u8], mut emit: impl FnMut(Token)) -> bool {
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return true;
        }
        let mut tok = Builder::new(line);
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            let c = at(p);
            let mut done = false;
            if in_dq {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(at(p + 2)), hex_val(at(p + 3))) {
                        tok.push_byte(h * 16 + l);
                        p += 3;
                    } else {
                        // `\x` without two hex digits is an escaped `x`.
                        p += 1;
                        tok.push_byte(b'x');
                    }
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    tok.push_byte(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    let next = at(p + 1);
                    if next != 0 && !is_space(next) {
                        return false;
                    }
                    done = true;
                } else if c == 0 {
                    return false;
                } else {
                    tok.push_at(p);
                }
            } else if in_sq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    tok.push_byte(b'\'');
                } else if c == b'\'' {
                    let next = at(p + 1);
                    if next != 0 && !is_space(next) {
                        return false;
                    }
                    done = true;
                } else if c == 0 {
                    return false;
                } else {
                    tok.push_at(p);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    _ => tok.push_at(p),
                }
            }
            if p < line.len() {
                p += 1;
            }
            if done {
                break;
            }
        }
        emit(tok.finish());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The quote-free fast path splits exactly as the general state machine does.
        #[test]
        fn plain_spans_match_the_general_tokenizer(
            line in proptest::collection::vec(
                prop::sample::select(vec![b'a', b'b', b' ', b'\t', b'\r', b'\n', 0x0b, 0x0c, b'\\', b'x']),
                0..40,
            )
        ) {
            let mut fast = Vec::new();
            plain_spans(&line, |s, e| fast.push((s, e)));
            let mut general = Vec::new();
            let balanced = tokenize_general(&line, |t| match t {
                Token::Span(s, e) => general.push((s, e)),
                Token::Owned(_) => panic!("no token needs rewriting without quotes"),
            });
            prop_assert!(balanced);
            prop_assert_eq!(fast, general);
        }
    }

    fn split(s: &[u8]) -> Option<Vec<Vec<u8>>> {
        split_inline(s).map(|v| v.into_iter().map(|b| b.to_vec()).collect())
    }

    fn toks(v: &[&[u8]]) -> Option<Vec<Vec<u8>>> {
        Some(v.iter().map(|t| t.to_vec()).collect())
    }

    #[test]
    fn plain_words() {
        assert_eq!(split(b"SET key value"), toks(&[b"SET", b"key", b"value"]));
        assert_eq!(split(b"  PING \t "), toks(&[b"PING"]));
        assert_eq!(split(b""), toks(&[]));
        assert_eq!(split(b" \t\x0b\x0c "), toks(&[]));
        assert_eq!(split(b"a\rb"), toks(&[b"a", b"b"]));
        // VT and FF separate tokens only between tokens, not inside one.
        assert_eq!(split(b"a\x0bb"), toks(&[b"a\x0bb"]));
        assert_eq!(split(b"\xff\xfe x"), toks(&[b"\xff\xfe", b"x"]));
    }

    #[test]
    fn double_quotes_and_escapes() {
        assert_eq!(split(b"SET \"a b\" c"), toks(&[b"SET", b"a b", b"c"]));
        assert_eq!(split(b"\"\""), toks(&[b""]));
        assert_eq!(
            split(br#""\n\r\t\b\a\\\"\q""#),
            toks(&[b"\n\r\t\x08\x07\\\"q"])
        );
        assert_eq!(split(br#""\x41\x7a\xFF""#), toks(&[b"Az\xff"]));
        assert_eq!(split(br#""\x4""#), toks(&[b"x4"]));
        assert_eq!(split(br#""\xZZ""#), toks(&[b"xZZ"]));
        assert_eq!(split(b"a\"b c\"d"), None);
        assert_eq!(split(b"a\"b c\" d"), toks(&[b"ab c", b"d"]));
        assert_eq!(split(b"\"a\"\x0bb"), toks(&[b"a", b"b"]));
    }

    #[test]
    fn single_quotes() {
        assert_eq!(split(b"'a b' c"), toks(&[b"a b", b"c"]));
        assert_eq!(split(br"'it\'s' '\n'"), toks(&[b"it's", b"\\n"]));
        assert_eq!(split(b"''"), toks(&[b""]));
        assert_eq!(split(b"'a'b"), None);
    }

    #[test]
    fn unbalanced_quotes() {
        assert_eq!(split(b"\"abc"), None);
        assert_eq!(split(b"'abc"), None);
        assert_eq!(split(b"\"abc\\"), None);
        assert_eq!(split(b"\"abc\\\""), None);
        assert_eq!(split(b"x \"a\"b"), None);
    }

    #[test]
    fn nul_ends_the_line() {
        assert_eq!(split(b"a b\x00c d"), toks(&[b"a", b"b"]));
        assert_eq!(split(b"\"a\x00\""), None);
    }

    #[test]
    fn spans_are_used_when_no_rewriting_is_needed() {
        let mut kinds = Vec::new();
        assert!(tokenize(b"ab \"cd\" 'e\\'f' \"g\\n\"", |t| kinds
            .push(matches!(t, Token::Span(..)))));
        assert_eq!(kinds, vec![true, true, false, false]);
    }
}
