//! Glob-style pattern matching with Redis's rules (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET).
//!
//! `*` any run, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` classes, `\x` escapes. Matching is on
//! bytes, never UTF-8. An unterminated `[` class ends at the end of the pattern, as in Redis.
//! A `*` that fails to match at every later position stops the whole search early (Redis's
//! `skipLongerMatches`), which keeps pathological patterns linear-ish.

/// Whether `string` matches the glob `pattern`.
pub(crate) fn matches(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, nocase, &mut skip_longer, 0)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Recursion depth guard: a pattern made of thousands of `*a` pieces could otherwise exhaust
/// the stack; Redis 7.2 added the same kind of cap.
const MAX_DEPTH: u32 = 1000;

fn match_impl(pat: &[u8], string: &[u8], nocase: bool, skip_longer: &mut bool, depth: u32) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let at = |v: &[u8], i: usize| -> u8 { v.get(i).copied().unwrap_or(0) };
    let (mut p, mut s) = (0usize, 0usize);
    while p < pat.len() && s < string.len() {
        match pat[p] {
            b'*' => {
                while p + 1 < pat.len() && pat[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pat.len() {
                    return true;
                }
                while s < string.len() {
                    if match_impl(&pat[p + 1..], &string[s..], nocase, skip_longer, depth + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s += 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s += 1;
            }
            b'[' => {
                p += 1;
                let not = at(pat, p) == b'^';
                if not {
                    p += 1;
                }
                let c = string[s];
                let mut matched = false;
                loop {
                    if at(pat, p) == b'\\' && pat.len() - p >= 2 {
                        p += 1;
                        if pat[p] == c {
                            matched = true;
                        }
                    } else if p >= pat.len() {
                        // Unterminated class: step back so the `p += 1` below lands at the end.
                        p -= 1;
                        break;
                    } else if pat[p] == b']' {
                        break;
                    } else if pat.len() - p >= 3 && pat[p + 1] == b'-' {
                        let (mut start, mut end, mut ch) = (pat[p], pat[p + 2], c);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = start.to_ascii_lowercase();
                            end = end.to_ascii_lowercase();
                            ch = ch.to_ascii_lowercase();
                        }
                        p += 2;
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    } else if eq(pat[p], c, nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s += 1;
            }
            b'\\' if pat.len() - p >= 2 => {
                p += 1;
                if !eq(pat[p], string[s], nocase) {
                    return false;
                }
                s += 1;
            }
            other => {
                if !eq(other, string[s], nocase) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == string.len() {
            while p < pat.len() && pat[p] == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pat.len() && s == string.len()
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn m(p: &str, s: &str) -> bool {
        matches(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn basics() {
        // As in Redis, a lone "*" does not match the empty string (callers special-case "*").
        assert!(!m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hello"));
        assert!(m("user:*:name", "user:42:name"));
        assert!(!m("user:*:name", "user:42:age"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(!m("", "a"));
        assert!(m("", ""));
        assert!(!m("a", ""));
    }

    #[test]
    fn unterminated_class_and_nocase() {
        assert!(m("[abc", "a"));
        assert!(!m("[abc", "d"));
        assert!(matches(b"HELLO*", b"hello world", true));
        assert!(!matches(b"HELLO*", b"hello world", false));
    }

    #[test]
    fn pathological_pattern_terminates() {
        let pat = "a*".repeat(5000) + "b";
        let s = "a".repeat(5000);
        assert!(!m(&pat, &s));
    }
}
