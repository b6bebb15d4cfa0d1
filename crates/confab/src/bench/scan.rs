//! The minimal reply scanner of the hot path: finds where one complete RESP2/RESP3 reply ends
//! in a read buffer and whether it is an error, without allocating or building a `Frame`.
//! Aggregates are walked with a counter of outstanding elements, not recursion.

/// What [`scan_reply`] found at the start of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    /// A complete reply ends at `end` (exclusive); `error` when it is `-ERR` or `!blob error`.
    Complete {
        /// Offset just past the reply.
        end: usize,
        /// The reply is an error.
        error: bool,
    },
    /// More bytes are needed.
    Incomplete,
    /// Not RESP.
    Invalid,
}

/// Scan the reply starting at `buf[0]`.
#[inline]
pub fn scan_reply(buf: &[u8]) -> Scan {
    let mut pos = 0usize;
    let mut pending: u64 = 1;
    let error = matches!(buf.first(), Some(b'-') | Some(b'!'));
    while pending > 0 {
        let Some(&kind) = buf.get(pos) else {
            return Scan::Incomplete;
        };
        let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) else {
            return Scan::Incomplete;
        };
        let line_end = pos + nl + 1; // just past '\n'
        let body = &buf[pos + 1..line_end.saturating_sub(2).max(pos + 1)];
        pos = line_end;
        pending -= 1;
        match kind {
            b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {}
            b'$' | b'=' | b'!' => {
                let Some(len) = parse_len(body) else {
                    return Scan::Invalid;
                };
                if len >= 0 {
                    let need = pos + len as usize + 2;
                    if buf.len() < need {
                        return Scan::Incomplete;
                    }
                    pos = need;
                }
            }
            b'*' | b'~' | b'>' => match parse_len(body) {
                Some(n) if n > 0 => pending += n as u64,
                Some(_) => {}
                None => return Scan::Invalid,
            },
            b'%' => match parse_len(body) {
                Some(n) if n > 0 => pending += 2 * n as u64,
                Some(_) => {}
                None => return Scan::Invalid,
            },
            // An attribute map precedes the value it annotates: the value is still pending.
            b'|' => match parse_len(body) {
                Some(n) if n >= 0 => pending += 2 * n as u64 + 1,
                _ => return Scan::Invalid,
            },
            _ => return Scan::Invalid,
        }
    }
    Scan::Complete { end: pos, error }
}

/// The text of an error reply at the start of `buf` (which [`scan_reply`] found complete).
pub fn error_text(buf: &[u8], end: usize) -> String {
    let reply = &buf[..end];
    let text = if reply.first() == Some(&b'!') {
        match memchr::memchr(b'\n', reply) {
            Some(nl) => &reply[nl + 1..],
            None => reply,
        }
    } else {
        &reply[1..]
    };
    String::from_utf8_lossy(text).trim_end().to_string()
}

#[inline]
fn parse_len(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (b - b'0') as i64;
    }
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &[u8]) -> Scan {
        scan_reply(s)
    }

    #[test]
    fn simple_types() {
        assert_eq!(
            c(b"+OK\r\n"),
            Scan::Complete {
                end: 5,
                error: false
            }
        );
        assert_eq!(
            c(b"-ERR x\r\n+OK"),
            Scan::Complete {
                end: 8,
                error: true
            }
        );
        assert_eq!(
            c(b":12\r\n"),
            Scan::Complete {
                end: 5,
                error: false
            }
        );
        assert_eq!(
            c(b"$3\r\nabc\r\n"),
            Scan::Complete {
                end: 9,
                error: false
            }
        );
        assert_eq!(
            c(b"$-1\r\n"),
            Scan::Complete {
                end: 5,
                error: false
            }
        );
        assert_eq!(
            c(b"_\r\n"),
            Scan::Complete {
                end: 3,
                error: false
            }
        );
        assert_eq!(
            c(b"!3\r\nERR\r\n"),
            Scan::Complete {
                end: 9,
                error: true
            }
        );
        assert_eq!(error_text(b"!3\r\nERR\r\n", 9), "ERR");
        assert_eq!(error_text(b"-ERR x\r\n", 8), "ERR x");
    }

    #[test]
    fn aggregates_and_partials() {
        let a = b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n";
        assert_eq!(
            c(a),
            Scan::Complete {
                end: a.len(),
                error: false
            }
        );
        for cut in 0..a.len() {
            assert_eq!(c(&a[..cut]), Scan::Incomplete, "cut {cut}");
        }
        assert_eq!(
            c(b"*0\r\n"),
            Scan::Complete {
                end: 4,
                error: false
            }
        );
        assert_eq!(
            c(b"*-1\r\n"),
            Scan::Complete {
                end: 5,
                error: false
            }
        );
        let m = b"%1\r\n+a\r\n:1\r\n";
        assert_eq!(
            c(m),
            Scan::Complete {
                end: m.len(),
                error: false
            }
        );
        let attr = b"|1\r\n+k\r\n+v\r\n:5\r\n";
        assert_eq!(
            c(attr),
            Scan::Complete {
                end: attr.len(),
                error: false
            }
        );
        assert_eq!(c(b"?\r\n"), Scan::Invalid);
        assert_eq!(c(b"$x\r\n"), Scan::Invalid);
    }
}
